"""A run with nothing new costs almost nothing: the loop's steps after ingestion run only when
something they are built from changed since every one of them last succeeded.

Why not Dagster's own skipping alone: a step whose asset yields no output makes Dagster skip
every step that reads it, and a step with several upstream assets is skipped as soon as *one*
of them yielded nothing (`ActiveExecution._should_skip_step`; only op fan-in waits for all).
The bronze loads are five steps feeding one staging step, so a load that found nothing new
would skip staging even when another source changed. So the decision is made once, by the
first step after the loads (`dbt_staging`, which every later step depends on): it fingerprints
what the rest of the loop is built from, and when that fingerprint is the one every gated step
last succeeded on, it yields nothing and Dagster skips everything downstream natively (the
run's log says "Skipping step … due to skipped dependencies", and each staging asset gets an
observation with the reason).

What the fingerprint covers (`input_fingerprint`): the content of every bronze table (`_dlt_*`
bookkeeping columns left out, so a reload of identical rows or a `replace` resource that
returned the same rows is no change), the erasure registry and the erasure files waiting in the
landing zone, the code and rules the later steps run (dbt project, silver/scoring Python,
sync specs, contracts) and the settings they read (scoring vars, identity and classifier
settings). Hashing a table whose row count and newest dlt load id are as last time is skipped:
its hash from last time is reused.

State lives in the warehouse (`orchestration.step_inputs`), not in Dagster's instance: the
warehouse is what the steps built, so a copied or restored warehouse carries its state, and a
fresh one starts with a full run. Each gated step records, when it succeeded with nothing left
to retry (no rejected sync record, no enrichment provider error), the fingerprint of the run
that started it; a failed or partly done step keeps the next run from skipping, so failures are
retried even when nothing new arrived. A run tagged `leadloop/full_run=true` (`leadloop demo
--full`, or the tag in the launchpad) never skips.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warehouse import Warehouse

SCHEMA = "orchestration"
TABLE = "step_inputs"
STATE = f"{SCHEMA}.{TABLE}"
CURRENT = "_current"  # the fingerprint the latest deciding step computed, with its per-table parts
FULL_RUN_TAG = "leadloop/full_run"

# The steps gated by the fingerprint, by the name they record under. The syncs are added by name.
GATED_STEPS = ("dbt_staging", "dbt_people", "dbt_scoring", "identity", "enrichment", "routing", "propensity")
# Settings the gated steps read. Secrets are left out (a hash of a key is still about the key),
# and so are paths (a copied warehouse in another folder is the same data).
SETTINGS_PREFIXES = ("LEADLOOP_VAR_", "LEADLOOP_IDENTITY_")
SETTINGS = ("LEADLOOP_DEFAULT_COUNTRY", "LEADLOOP_CLASSIFIER_URL", "LEADLOOP_CLASSIFIER_MODEL")
ROOT = Path(__file__).resolve().parents[1]
OTHER_PARTS = ("erasure files", "code", "settings")  # the fingerprint's parts that are not tables
# The code and rules downstream of the loads, as (folder, glob).
CODE = (
    ("dbt_project", "dbt_project.yml"),
    ("dbt_project/models", "**/*"),
    ("dbt_project/seeds", "**/*"),
    ("dbt_project/macros", "**/*"),
    ("dbt_project/tests", "**/*"),
    ("silver", "**/*.py"),
    ("silver", "**/*.json"),
    ("scoring", "**/*.py"),
    ("reverse_etl/specs", "*"),
    ("expectations", "contracts.yaml"),
)


def is_full_run(tags: Mapping[str, str]) -> bool:
    return str(tags.get(FULL_RUN_TAG, "")).lower() in {"1", "true", "yes"}


def sync_step(spec_name: str) -> str:
    return f"sync:{spec_name}"


def gated_steps() -> tuple[str, ...]:
    from reverse_etl.spec import all_specs

    return (*GATED_STEPS, *(sync_step(spec.name) for spec in all_specs()))


@dataclass(frozen=True)
class Inputs:
    """The fingerprint of everything after the loads, and its parts (for the reason line)."""

    fingerprint: str
    parts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateDecision:
    skip: bool
    reason: str  # one line: why the loop's later steps run or are skipped
    fingerprint: str
    unchanged_since_run: str | None = None


class _Reads:
    """Queries on one open connection: a decision reads a few dozen small results, and opening
    the warehouse for each (DuckDB checkpoints on every close) would cost more than the reads."""

    def __init__(self, warehouse: Warehouse, conn: Any) -> None:
        self.warehouse, self.cur = warehouse, conn.cursor()
        self.is_duckdb = warehouse.is_duckdb

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        self.cur.execute(self.warehouse.adapt_sql(sql), params or [])
        return self.cur.fetchall() if self.cur.description else []


def _ensure_table(reads: _Reads) -> None:
    reads.query(f"create schema if not exists {reads.warehouse.schema(SCHEMA)}")
    reads.query(
        f"create table if not exists {reads.warehouse.relation(STATE)} "
        "(step varchar primary key, fingerprint varchar not null, parts varchar, run_id varchar, recorded_at timestamp)"
    )


def recorded(warehouse: Warehouse) -> dict[str, tuple[str, str | None, str | None]]:
    """step -> (fingerprint, parts as JSON, run id), as last recorded."""
    if not warehouse.table_exists(warehouse.schema(SCHEMA), TABLE):
        return {}
    with warehouse.connect() as conn:
        return _recorded(_Reads(warehouse, conn))


def _recorded(reads: _Reads) -> dict[str, tuple[str, str | None, str | None]]:
    rows = reads.query(f"select step, fingerprint, parts, run_id from {reads.warehouse.relation(STATE)}")
    return {step: (fp, parts, run_id) for step, fp, parts, run_id in rows}


def decide(warehouse: Warehouse, landing_url: str | None, *, run_id: str, forced: bool) -> GateDecision:
    """Whether the steps after the loads may be skipped in this run, and why. When they run,
    this run's fingerprint becomes the one the gated steps record on success."""
    with warehouse.connect() as conn:
        return _decide(_Reads(warehouse, conn), landing_url, run_id=run_id, forced=forced)


def _decide(reads: _Reads, landing_url: str | None, *, run_id: str, forced: bool) -> GateDecision:
    _ensure_table(reads)
    state = _recorded(reads)
    current = state.get(CURRENT)
    previous_parts = json.loads(current[1]) if current and current[1] else {}
    inputs = input_fingerprint(reads, landing_url, previous_parts)
    behind = [step for step in gated_steps() if state.get(step, ("",))[0] != inputs.fingerprint]
    if not forced and not behind:
        since = state[GATED_STEPS[0]][2]
        reason = (
            f"nothing new since run {since}: bronze content, erasure requests, code and settings unchanged, "
            "and every later step succeeded on them; staging and everything after it skipped"
        )
        return GateDecision(True, reason, inputs.fingerprint, since)
    if forced:
        reason = f"full run forced (tag {FULL_RUN_TAG})"
    else:
        before = _content(previous_parts)
        changed = sorted(k for k, v in _content(inputs.parts).items() if before.get(k) != v)
        if changed:
            reason = f"inputs changed: {_listed(changed)}"
        else:
            reason = f"not every later step succeeded on the current inputs: {_listed(behind)}"
    reads.query(
        f"insert into {reads.warehouse.relation(STATE)} (step, fingerprint, parts, run_id, recorded_at) "
        "values (?, ?, ?, ?, ?) "
        "on conflict (step) do update set fingerprint = excluded.fingerprint, parts = excluded.parts, "
        "run_id = excluded.run_id, recorded_at = excluded.recorded_at",
        [CURRENT, inputs.fingerprint, json.dumps(inputs.parts, sort_keys=True), run_id, _now()],
    )
    return GateDecision(False, reason, inputs.fingerprint)


def record_success(warehouse: Warehouse, step: str, run_id: str) -> None:
    """`step` succeeded, with nothing left to retry, on the inputs the latest decision saw."""
    with warehouse.connect() as conn:
        reads = _Reads(warehouse, conn)
        _ensure_table(reads)
        reads.query(
            f"insert into {reads.warehouse.relation(STATE)} (step, fingerprint, parts, run_id, recorded_at) "
            f"select ?, fingerprint, null, ?, ? from {reads.warehouse.relation(STATE)} where step = ? "
            "on conflict (step) do update set fingerprint = excluded.fingerprint, run_id = excluded.run_id, "
            "recorded_at = excluded.recorded_at",
            [step, run_id, _now(), CURRENT],
        )


def forget(warehouse: Warehouse, step: str) -> None:
    """`step` ran but left work to retry: the next run must not skip it."""
    with warehouse.connect() as conn:
        reads = _Reads(warehouse, conn)
        _ensure_table(reads)
        reads.query(f"delete from {reads.warehouse.relation(STATE)} where step = ?", [step])


def input_fingerprint(warehouse: _Reads, landing_url: str | None, previous: Mapping[str, Any]) -> Inputs:
    parts: dict[str, Any] = {}
    for relation, columns in _watched_tables(warehouse).items():
        parts[relation] = _table_part(warehouse, relation, columns, previous.get(relation))
    parts["erasure files"] = _erasure_files(landing_url)
    parts["code"] = _code_hash()
    parts["settings"] = _settings_hash(os.environ)
    digest = hashlib.sha256(json.dumps(_content(parts), sort_keys=True).encode()).hexdigest()
    return Inputs(digest, parts)


def _content(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The parts without the newest dlt load id: a reload of the same rows is no change."""
    return {name: part if name in OTHER_PARTS else [part[0], part[2]] for name, part in parts.items()}


def _watched_tables(warehouse: _Reads) -> dict[str, list[str]]:
    """Every bronze table (not dlt's own, not its staging datasets) and the erasure registry,
    with their columns."""
    rows = warehouse.query(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns c "
        "join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where t.table_type = 'BASE TABLE' and ((c.table_schema like ? and c.table_schema not like '%staging') "
        "or (c.table_schema = ?)) order by c.table_schema, c.table_name, c.ordinal_position",
        [warehouse.warehouse.schema("bronze") + "%", warehouse.warehouse.schema("privacy")],
    )
    tables: dict[str, list[str]] = {}
    for schema, table, column in rows:
        if not table.startswith("_dlt"):
            tables.setdefault(f"{schema}.{table}", []).append(column)
    return tables


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _table_part(warehouse: _Reads, relation: str, columns: list[str], previous: Any) -> list[Any]:
    """[row count, newest dlt load id, content hash]; the content is hashed again only when the
    count or the load id moved (or there is none to compare with)."""
    schema, table = relation.split(".", 1)
    name = f"{_q(schema)}.{_q(table)}"
    newest = "max(_dlt_load_id)" if "_dlt_load_id" in columns else "null"
    count, load_id = warehouse.query(f"select count(*), {newest} from {name}")[0]
    quick = [int(count), None if load_id is None else str(load_id)]
    if load_id is not None and isinstance(previous, list) and previous[:2] == quick:
        return previous
    data = [c for c in columns if not c.startswith("_dlt_")]
    if not data:
        return [*quick, None]
    listed = ", ".join(_q(c) for c in data)
    if warehouse.is_duckdb:
        sql = f"select coalesce(sum(hash({listed})::hugeint), 0) from {name}"
    else:
        sql = f"select coalesce(sum(hashtext(row({listed})::text)::bigint), 0) from {name}"
    return [*quick, str(warehouse.query(sql)[0][0])]


def _erasure_files(landing_url: str | None) -> list[Any]:
    if not landing_url:
        return []
    import fsspec

    from silver.erasure import DROP_FOLDER

    fs, root = fsspec.core.url_to_fs(landing_url)
    found = []
    for path in sorted(fs.glob(f"{root.rstrip('/')}/{DROP_FOLDER}/*.csv")):
        found.append([path.rsplit("/", 1)[-1], fs.size(path)])
    return found


def _code_hash() -> str:
    digest = hashlib.sha256()
    for folder, pattern in CODE:
        base = ROOT / folder
        for path in sorted(base.glob(pattern)) if base.exists() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _settings_hash(environ: Mapping[str, str]) -> str:
    chosen = sorted(
        (name, value) for name, value in environ.items() if name.startswith(SETTINGS_PREFIXES) or name in SETTINGS
    )
    return hashlib.sha256(json.dumps(chosen).encode()).hexdigest()[:16]


def _listed(names: Iterable[str], most: int = 6) -> str:
    names = list(names)
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
