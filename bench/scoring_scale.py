"""Scoring at scale: the dbt models from silver to gold.lead_scores on 100k and 1M people (DuckDB),
and the propensity session on the same warehouse. Prints one JSON line per size.

Generating, loading and resolving a 1M-lead world takes far longer than scoring it, so the
scaled warehouse is made from a scored one (the demo's, or `--base`): every bronze and silver
table (rules seeds and caches excepted) is copied k times with each copy's keys made distinct
(ids, record keys, emails), so people, their records and events keep the base world's shape and
every join matches within its copy only. Then gold is rebuilt from scratch:
`dbt run --select +lead_scores --full-refresh` (staging views, identity and scoring
intermediates, the history and the scores), timed as a whole, dbt start-up included, with its
slowest nodes and dbt's peak RSS; then the scoring models' data tests (`dbt test`). The same logic
as one hand-written DuckDB query (bench/scoring_handwritten.py) is timed on the same data and its
rows asserted equal to dbt's; the ratio is printed. Last, a propensity session, its holdout
metrics, and on the same holdout the AUC of the generator's true propensity (`world/truth/`) and
the ceiling the model's own features allow (`observable_ceiling`): the gap between those two no
model on silver/gold can close.
`lead_scores_md5` hashes the whole table, to show a change to the models kept every score.

Usage: python bench/scoring_scale.py [--sizes 100000,1000000] [--base data/warehouse.duckdb]
(`make demo` first makes the base.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import peak_rss_mb  # noqa: E402
from bench.scoring_handwritten import LEAD_SCORES_SQL  # noqa: E402
from orchestration.assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR  # noqa: E402
from scoring.propensity import run_propensity  # noqa: E402
from warehouse import Warehouse  # noqa: E402

SEEDS = {p.stem for p in (DBT_PROJECT_DIR / "seeds").glob("*.csv")}
# Keyed by company domain, not by person: one copy serves every replica.
SHARED = {"enrichment_cache"}
KEY_NAMES = {"id", "record_key", "linked_record_key", "imb_tracking"}
OFFSET = 1_000_000_000
# The models from the golden record to the score: what the scoring step of a run builds.
SCORING_MODELS = (
    "int_scoring_subjects", "int_scoring_context", "int_person_engagement_events", "int_person_engagement_matches",
    "int_person_fit_attributes", "int_person_fit_matches", "int_person_scores", "lead_score_history", "lead_scores",
)  # fmt: skip


def _is_key(name: str) -> bool:
    return name in KEY_NAMES or name.endswith("_id") or name.endswith("_ids")


def _text_key(column: str, k: int) -> str:
    """A text id made distinct per copy: digits shift by k * 1e9 (as integer ids do, so a HubSpot
    id stored as text in one table and as a number in another still joins), others get `~k`."""
    return (
        f"case when regexp_full_match({column}, '[0-9]{{1,12}}') "
        f"then cast(cast({column} as bigint) + {k * OFFSET} as varchar) else {column} || '~{k}' end"
    )


def _expression(name: str, kind: str, k: int) -> str:
    quoted = f'"{name}"'
    if k == 0:
        return quoted
    if "email" in name and kind == "VARCHAR":
        return f"replace({quoted}, '@', '-r{k}@')"
    if not _is_key(name):
        return quoted
    if kind in {"INTEGER", "BIGINT"}:
        return f"cast({quoted} as bigint) + {k * OFFSET}"
    if kind != "VARCHAR":
        return quoted
    if name in {"record_key", "linked_record_key"}:  # "<source>:<id>"
        rest = f"substr({quoted}, strpos({quoted}, ':') + 1)"
        return f"split_part({quoted}, ':', 1) || ':' || ({_text_key(rest, k)})"
    return _text_key(quoted, k)


def scale_up(path: Path, copies: int) -> None:
    """Every bronze/silver table of the DuckDB file at `path`, `copies` times, keys distinct."""
    with duckdb.connect(str(path)) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "and (table_schema like 'bronze%' or table_schema in ('silver', 'privacy'))"
        ).fetchall()
        for schema, table in tables:
            if table in SEEDS or table in SHARED or table.startswith("_dlt"):
                continue
            columns = conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            copies_sql = " union all ".join(
                f"select {', '.join(_expression(n, t, k) + f' as {chr(34)}{n}{chr(34)}' for n, t in columns)} "
                f'from "{schema}"."{table}"'
                for k in range(copies)
            )
            conn.execute(f'create table "{schema}"."{table}__scaled" as {copies_sql}')
            conn.execute(f'drop table "{schema}"."{table}"')
            conn.execute(f'alter table "{schema}"."{table}__scaled" rename to "{table}"')
        conn.execute("drop schema if exists gold cascade")


def dbt_invocation(warehouse: Warehouse, target: Path, *args: str) -> tuple[float, list[dict[str, Any]]]:
    """Wall seconds of one dbt invocation (start-up included) and its nodes' timings. dbt's own
    threads are the profile's (one model at a time), as in the loop: DuckDB already spreads one
    query over both cores, and two large models side by side share them and one memory limit
    (at 1M, `--threads 2` took 58.2 s where one model at a time took 53.7 s; the scoring models
    52.4 s against 28.2 s)."""
    command = [DBT_EXECUTABLE, *args]
    command += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(target)]
    started = time.perf_counter()
    result = subprocess.run(command, env={**os.environ, **warehouse.dbt_env()}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"dbt failed:\n{result.stdout[-3000:]}")
    nodes = json.loads((target / "run_results.json").read_text())["results"]
    return seconds, nodes


def slowest(nodes: list[dict[str, Any]], n: int = 8) -> dict[str, float]:
    ranked = sorted(nodes, key=lambda node: -node["execution_time"])[:n]
    # model.leadloop.<name>, test.leadloop.<name>.<hash>
    return {node["unique_id"].split(".")[2][:80]: round(node["execution_time"], 1) for node in ranked}


def children_peak_rss_mb() -> int:
    """The largest resident set of any finished child process: here dbt's (DuckDB runs in it)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def table_hash(path: Path, table: str) -> str:
    """One md5 over every row and column of `table`, ordered by person: equal hashes, equal tables."""
    with duckdb.connect(str(path), read_only=True) as conn:
        columns = [r[0] for r in conn.execute(f"select * from {table} limit 0").description]
        row = " || '|' || ".join(f"coalesce(cast(\"{c}\" as varchar), '∅')" for c in columns)
        (digest,) = conn.execute(f"select md5(string_agg({row}, chr(10) order by person_id)) from {table}").fetchone()
    return digest


def handwritten_seconds(warehouse: Warehouse) -> float:
    """The same scoring as one hand-written DuckDB query (bench/scoring_handwritten.py), with the
    same DuckDB limits as dbt; asserts its rows equal dbt's gold.lead_scores."""
    with warehouse.connect() as conn:
        conn.execute("create schema if not exists bench")
        started = time.perf_counter()
        conn.execute(f"create or replace table bench.lead_scores as {LEAD_SCORES_SQL}")
        seconds = time.perf_counter() - started
        columns = ", ".join(r[0] for r in conn.execute("select * from gold.lead_scores limit 0").description)
        (differ,) = conn.execute(
            f"select count(*) from ((select {columns} from gold.lead_scores except all "
            f"select {columns} from bench.lead_scores) union all (select {columns} from bench.lead_scores "
            f"except all select {columns} from gold.lead_scores))"
        ).fetchone()
        conn.execute("drop schema bench cascade")
    if differ:
        raise SystemExit(f"the hand-written query differs from dbt's gold.lead_scores in {differ} rows")
    return seconds


def truth_propensity(warehouse: Warehouse, truth_dir: Path) -> dict[str, float]:
    """person_id -> the generator's true propensity (truth/*.csv), through each person's CRM
    records; a scaled copy's ids map back to the base world's (numeric ids shifted by k * 1e9,
    text ids suffixed `~k`). A person holding records of several true people gets their mean."""
    truth = pd.concat(
        [
            pd.read_csv(truth_dir / name, usecols=[key, "propensity"], dtype={key: str}).rename(columns={key: "id"})
            for name, key in (
                ("leads.csv", "lead_id"),
                ("contacts.csv", "contact_id"),
                ("hubspot_contacts.csv", "contact_id"),
            )
        ]  # fmt: skip
    ).drop_duplicates("id")
    records = warehouse.read_arrow(
        "select person_id, source_id from silver.identity_records "
        "where source in ('salesforce_lead', 'salesforce_contact', 'hubspot_contact')"
    ).to_pandas()
    numeric = records["source_id"].str.fullmatch(r"[0-9]{1,12}")
    records["id"] = records["source_id"].str.replace(r"~[0-9]+$", "", regex=True)
    records.loc[numeric, "id"] = (records.loc[numeric, "source_id"].astype("int64") % OFFSET).astype(str)
    joined = records.merge(truth, on="id")
    return joined.groupby("person_id")["propensity"].mean().to_dict()


def base_person(person_id: pd.Series) -> pd.Series:
    """The base world's person a scaled copy's person is (text ids carry `~k`, see `_text_key`)."""
    return person_id.str.replace(r"~[0-9]+$", "", regex=True)


def observable_ceiling(people: pd.DataFrame, truth: dict[str, float], folds: int = 5) -> pd.Series:
    """Per person, the best estimate of the true propensity the model's own features allow:
    E[truth | features], learned by gradient boosting on the truth itself (not on 0/1 outcomes,
    so far fewer people pin it down) and cross-fitted, each person predicted by a model that
    never saw them or a copy of them. Its AUC is the ceiling any model on these features can
    reach: what the truth knows beyond it (who is in market when their engagement does not show
    it, the noise term) no feature from silver or gold carries. Trained on the base world's
    people only (a scaled copy repeats them exactly), then mapped to every copy."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    from scoring.propensity_features import feature_columns

    features = feature_columns(people)
    frame = people[people["person_id"].isin(truth.keys())].assign(base=lambda f: base_person(f["person_id"]))
    # One row per base person: the mean truth over their copies (equal unless a copy merged others).
    distinct = frame.groupby("base", sort=True).agg({**{c: "first" for c in features}, "person_id": "first"})
    distinct["truth"] = frame.assign(truth=frame["person_id"].map(truth)).groupby("base", sort=True)["truth"].mean()
    estimate = pd.Series(0.0, index=distinct.index)
    for train_rows, test_rows in KFold(n_splits=folds, shuffle=True, random_state=0).split(distinct):
        model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, min_samples_leaf=40, random_state=0)
        model.fit(distinct.iloc[train_rows][features], distinct.iloc[train_rows]["truth"])
        estimate.iloc[test_rows] = model.predict(distinct.iloc[test_rows][features])
    return frame.set_index("person_id")["base"].map(estimate)


def propensity_figures(warehouse: Warehouse, truth_dir: Path) -> dict[str, Any]:
    """The published model's holdout metrics, and on the holdout people the generator knows the
    truth of: the model's AUC, the true propensity's AUC and the rule score's AUC, side by side."""
    import numpy as np

    from scoring.propensity_features import read_people
    from scoring.propensity_model import evaluate, time_split

    started = time.perf_counter()
    run = run_propensity(warehouse)
    seconds = time.perf_counter() - started
    people = read_people(warehouse)
    _, holdout = time_split(people)
    truth = truth_propensity(warehouse, truth_dir)
    ceiling = observable_ceiling(people, truth)
    known = holdout[holdout["person_id"].isin(truth.keys())]
    predicted = warehouse.read_arrow("select person_id, propensity_probability from gold.lead_propensity").to_pandas()
    known = known.merge(predicted, on="person_id")
    outcome = known["converted"].to_numpy()
    model_auc = evaluate(outcome, known["propensity_probability"].to_numpy(float)) if run.published else {}
    true = evaluate(outcome, np.array([truth[p] for p in known["person_id"]]))
    rule = evaluate(outcome, known["score"].to_numpy(float))
    best = evaluate(outcome, known["person_id"].map(ceiling).to_numpy(float))
    metrics = run.metrics
    return {
        "propensity_seconds": round(seconds, 1),
        "propensity_published": run.published,
        "propensity_reason": run.reason,
        "training_rows": metrics.get("training_rows"),
        "positives": metrics.get("positives"),
        "holdout_rows": metrics.get("holdout_rows"),
        "propensity_auc": metrics.get("auc"),
        "propensity_top_decile_lift": metrics.get("top_decile_lift"),
        "propensity_ece": metrics.get("ece"),
        "rule_score_auc": metrics.get("rule_score_auc"),
        "holdout_with_truth": len(known),
        "holdout_with_truth_positives": int(outcome.sum()),
        "on_truth_holdout": {
            "model_auc": model_auc.get("auc"),
            "true_propensity_auc": true["auc"],
            "true_propensity_top_decile_lift": true["top_decile_lift"],
            "rule_score_auc": rule["auc"],
            # The most any model on these features could reach (observable_ceiling).
            "observable_ceiling_auc": best["auc"],
            "model_gap_to_true": round(true["auc"] - model_auc["auc"], 4) if model_auc else None,
            "observable_gap_to_true": round(true["auc"] - best["auc"], 4),
        },
        "targets": {"auc_within_true": 0.02, "top_decile_lift_min": 2.5, "ece_max": 0.05},
    }


def bench(base: Path, size: int, propensity: bool) -> dict[str, Any]:
    with duckdb.connect(str(base), read_only=True) as conn:
        (people,) = conn.execute("select count(*) from gold.lead_scores").fetchone()
    copies = max(1, round(size / people))
    truth_dir = base.parent / "world" / "truth"
    with tempfile.TemporaryDirectory(dir=os.environ.get("LEADLOOP_BENCH_TMP")) as tmp:
        path = Path(tmp) / "scaled.duckdb"
        shutil.copy(base, path)
        started = time.perf_counter()
        scale_up(path, copies)
        scale_seconds = time.perf_counter() - started
        warehouse = Warehouse.from_url(f"duckdb:///{path}")
        run_args = ("run", "--select", "+lead_scores", "--full-refresh")
        seconds, nodes = dbt_invocation(warehouse, Path(tmp) / "target", *run_args)
        dbt_rss = children_peak_rss_mb()
        # Progress on stderr: at 1M a run takes long enough that a partial figure is worth keeping.
        print(json.dumps({"people": size, "dbt_seconds": round(seconds, 1), "dbt_peak_rss_mb": dbt_rss,
                          "slowest": slowest(nodes)}), file=sys.stderr, flush=True)  # fmt: skip
        scoring_nodes = [n for n in nodes if n["unique_id"].split(".")[-1] in SCORING_MODELS]
        test_seconds, tests = dbt_invocation(
            warehouse,
            Path(tmp) / "target-test",
            "test",
            "--select",
            *SCORING_MODELS,
            "--exclude-resource-type",
            "unit_test",
            "--indirect-selection",
            "cautious",
        )
        (scored,) = warehouse.query("select count(*) from gold.lead_scores")[0]
        digest = table_hash(path, "gold.lead_scores")
        by_hand = handwritten_seconds(warehouse)
        figures = propensity_figures(warehouse, truth_dir) if propensity and truth_dir.is_dir() else {}
    limits = warehouse.duckdb_limits()
    return {
        "benchmark": "scoring",
        "warehouse": "duckdb",
        "people": int(scored),
        "base_people": int(people),
        "copies": copies,
        "duckdb_memory_limit": limits.memory_limit,
        "duckdb_threads": limits.threads,
        "dbt_silver_to_lead_scores_seconds": round(seconds, 1),
        "dbt_scoring_models_seconds": round(sum(n["execution_time"] for n in scoring_nodes), 1),
        "dbt_slowest_models": slowest(nodes),
        "dbt_scoring_tests_seconds": round(test_seconds, 1),
        "dbt_slowest_tests": slowest(tests, 5),
        "handwritten_query_seconds": round(by_hand, 1),
        "ratio_dbt_to_handwritten": round(seconds / by_hand, 1),
        "ratio_dbt_scoring_models_to_handwritten": round(sum(n["execution_time"] for n in scoring_nodes) / by_hand, 1),
        "handwritten_equals_dbt": True,
        "lead_scores_md5": digest,
        "people_per_s": round(scored / seconds),
        "target_seconds_at_1m": 60,
        **figures,
        "scaling_seconds": round(scale_seconds, 1),
        "dbt_peak_rss_mb": dbt_rss,
        "bench_peak_rss_mb": peak_rss_mb(),
        # Shared machine: other sessions' load changes every figure above; the load says how much.
        "machine": {"cpus": os.cpu_count(), "load_average_1_5_15m_at_end": [round(v, 1) for v in os.getloadavg()]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--base", default="data/warehouse.duckdb", help="a scored DuckDB warehouse (make demo)")
    parser.add_argument("--no-propensity", action="store_true", help="skip the propensity session")
    args = parser.parse_args()
    base = Path(args.base)
    if not base.is_file():
        raise SystemExit(f"no scored warehouse at {base}: run `make demo` first or pass --base")
    for size in (int(s) for s in re.split(r"[,\s]+", args.sizes) if s):
        print(json.dumps(bench(base, size, not args.no_propensity)), flush=True)


if __name__ == "__main__":
    main()
