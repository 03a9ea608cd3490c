"""Routing at scale: how people are routed (by rule, with the classifier's help, to the queue),
the fallback classifier's accuracy, owner stability across simulated days and load balance.

The routing models (seeds, int_routing_territories, int_crm_users, int_routing_roster,
lead_routing: the real SQL) run with dbt on DuckDB over subjects taken from a generated world's
leads, one person per lead, treated as new inbound leads without a CRM owner so that every
person is dealt by round robin (an owned lead keeps its owner, which would measure nothing).
A person whose lead names no industry is classified by the shipped offline model. 10% of the
people arrive over 10 simulated days (1% a day) while 5% a day change score; stability is the
share of people already routed who keep their owner from one day to the next.

Usage: python bench/routing.py [--leads N]   (prints one JSON line)
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from harness import generate  # noqa: E402

from silver.routing.classifier import TextRecord  # noqa: E402
from silver.routing.offline import DEFAULT_MODEL, OfflineTextClassifier  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DAYS = 10
MIN_CONFIDENCE = 0.6  # dbt var routing_min_confidence
SCORED_AS_OF = pd.Timestamp("2026-12-01 12:00:00")


def leads(world: Path) -> pd.DataFrame:
    conn = sqlite3.connect(world / "salesforce.sqlite")
    try:
        return pd.read_sql_query(
            'select "Id" as lead_id, "Company" as company, "Email" as email, "Title" as title, '
            '"Industry" as industry, "NumberOfEmployees" as employees, "Country" as country '
            'from "Lead" order by "Id"',
            conn,
        )
    finally:
        conn.close()


def users(world: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(world / "salesforce.sqlite")
    try:
        return conn.execute('select "Id", lower("Email") from "User" where "IsActive" = 1').fetchall()
    finally:
        conn.close()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def subjects(frame: pd.DataFrame, classifier: OfflineTextClassifier) -> pd.DataFrame:
    domains = frame["email"].fillna("").str.strip().str.lower().str.rpartition("@")[2]
    missing = frame["industry"].isna()
    guesses = classifier.predict(
        [
            TextRecord(company=_text(c), email_domain=_text(d), title=_text(t))
            for c, d, t in zip(
                frame.loc[missing, "company"], domains[missing], frame.loc[missing, "title"], strict=True
            )
        ]
    )
    label = pd.Series([g.label for g in guesses], index=frame.index[missing], dtype=object)
    confidence = pd.Series([g.confidence for g in guesses], index=frame.index[missing], dtype=float)
    confident = confidence >= MIN_CONFIDENCE
    rng = np.random.default_rng(7)
    score = rng.integers(0, 100, len(frame))
    return pd.DataFrame(
        {
            "person_id": frame["lead_id"],
            "grade": np.select([score >= 70, score >= 50, score >= 30], ["A", "B", "C"], "D"),
            "score": score,
            "is_mql": score >= 60,
            "mql_at": pd.Series(np.where(score >= 60, SCORED_AS_OF, pd.NaT), dtype="datetime64[us]"),
            "scored_as_of": pd.Series([SCORED_AS_OF] * len(frame), dtype="datetime64[us]"),
            "country": frame["country"].where(frame["country"].str.len() == 2),
            "industry": frame["industry"].where(~missing, label.where(confident)),
            "industry_source": np.where(
                ~missing, "crm", np.where(confident.reindex(frame.index, fill_value=False), "classifier", None)
            ),
            "industry_confidence": confidence.reindex(frame.index),
            "industry_model_version": np.where(missing, classifier.model_version, None),
            "number_of_employees": frame["employees"].astype(float),
            "company_domain": domains.where(domains != ""),
            "crm_owner_id": None,
            "crm_owner_email": None,
            "crm_owner_source": None,
            "account_owner_email": None,
        }
    )


def dbt(database: Path, target: Path, *args: str) -> None:
    env = {**os.environ, "LEADLOOP_WAREHOUSE_URL": f"duckdb:///{database}"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("leadloop")), "dbt", *args, "--target-path", str(target), "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        generate(world, args.leads)
        frame = leads(world)
        classifier = OfflineTextClassifier.load()
        people = subjects(frame, classifier)
        database, target = Path(tmp) / "routing.duckdb", Path(tmp) / "target"
        rng = np.random.default_rng(11)
        arrivals = rng.random(len(people)) < 0.10
        day_of_arrival = np.where(arrivals, rng.integers(1, DAYS + 1, len(people)), 0)
        with duckdb.connect(str(database)) as conn:
            conn.execute("create schema silver")
            conn.register("crm_users", pd.DataFrame(users(world), columns=["user_id", "email"]).assign(is_active=True))
            conn.execute("create table silver.stg_salesforce__users as select * from crm_users")
            conn.execute(
                "create table silver.stg_hubspot__owners as "
                "select 'h' || user_id as owner_id, email, false as is_archived from crm_users"
            )
            conn.register("day0", people[day_of_arrival == 0])
            conn.execute("create table silver.int_routing_subjects as select * from day0")
            # lead_routing's post-hook drops people no longer scored: everyone here is scored.
            conn.execute("create schema gold")
            conn.execute("create view gold.lead_scores as select person_id from silver.int_routing_subjects")
        started = time.perf_counter()
        dbt(database, target, "seed", "--select", "path:seeds/routing")
        dbt(
            database,
            target,
            "run",
            "--select",
            "int_crm_users",
            "int_routing_roster",
            "int_routing_territories",
            "lead_routing",
        )
        first_run_s = time.perf_counter() - started
        with duckdb.connect(str(database)) as conn:
            routed = conn.sql(
                "select routing_method, industry_source, team, owner_email, queue from gold.lead_routing"
            ).df()
        stability: list[float] = []
        day_seconds: list[float] = []
        with duckdb.connect(str(database)) as conn:
            previous = conn.sql(
                "select person_id, coalesce(owner_email, 'queue:' || queue) as assignee from gold.lead_routing"
            ).df()
        for day in range(1, DAYS + 1):
            with duckdb.connect(str(database)) as conn:
                conn.register("new", people[day_of_arrival == day])
                conn.execute("insert into silver.int_routing_subjects select * from new")
                conn.register(
                    "changed",
                    conn.sql("select person_id from silver.int_routing_subjects")
                    .df()
                    .sample(frac=0.05, random_state=day),
                )
                conn.execute(
                    "update silver.int_routing_subjects set score = (score + 17) % 100, "
                    "scored_as_of = scored_as_of + interval 1 day where person_id in (select person_id from changed)"
                )
            started = time.perf_counter()
            dbt(database, target, "run", "--select", "lead_routing")
            day_seconds.append(time.perf_counter() - started)
            with duckdb.connect(str(database)) as conn:
                today = conn.sql(
                    "select person_id, coalesce(owner_email, 'queue:' || queue) as assignee from gold.lead_routing"
                ).df()
            both = previous.merge(today, on="person_id", suffixes=("_before", "_after"))
            stability.append(float((both["assignee_before"] == both["assignee_after"]).mean()))
            previous = today
        with duckdb.connect(str(database)) as conn:
            loads = conn.sql(
                "select team, max(n) * 1.0 / min(n) as ratio, sum(n) as people from ("
                "select team, owner_email, count(*) as n from gold.lead_routing "
                "where routing_method in ('round_robin', 'sticky') group by team, owner_email) group by team"
            ).fetchall()
    queue = routed["routing_method"].eq("queue")
    by_classifier = ~queue & routed["industry_source"].eq("classifier")
    labelled = frame["industry"].notna()
    held_in = json.loads(DEFAULT_MODEL.with_name("industry_model_metrics.json").read_text())
    print(
        json.dumps(
            {
                "leads": args.leads,
                "people_day0": len(routed),
                "share_routed_by_rule": round(float((~queue & ~by_classifier).mean()), 4),
                "share_routed_with_classifier": round(float(by_classifier.mean()), 4),
                "share_to_queue": round(float(queue.mean()), 4),
                "queues_top": routed.loc[queue, "queue"].value_counts().head(3).to_dict(),
                "classifier_held_out_accuracy": held_in["accuracy"],
                "classifier_held_out_accuracy_when_confident": held_in["accuracy_when_confident"],
                "classifier_accuracy_bench_world_first_5000": round(
                    float(
                        np.mean(
                            [
                                g.label == truth
                                for g, truth in zip(
                                    classifier.predict(
                                        [
                                            TextRecord(
                                                company=_text(c),
                                                email_domain=_text((_text(e) or "").lower().rpartition("@")[2]),
                                                title=_text(t),
                                            )
                                            for c, e, t in frame.loc[labelled, ["company", "email", "title"]]
                                            .head(5000)
                                            .itertuples(index=False)
                                        ]
                                    ),
                                    frame.loc[labelled, "industry"].head(5000),
                                    strict=True,
                                )
                            ]
                        )
                    ),
                    4,
                ),
                "owner_stability_min_day": round(min(stability), 5),
                "owner_stability_mean": round(float(np.mean(stability)), 5),
                "load_max_over_min_by_team": {team: round(float(r), 3) for team, r, _ in sorted(loads)},
                "first_run_s": round(first_run_s, 1),
                "daily_run_s_median": round(float(np.median(day_seconds)), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
