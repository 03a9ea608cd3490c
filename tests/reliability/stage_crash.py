"""Kills a stage after the loads (the identity asset, a dbt step, a CRM sync) at a seeded moment.

Each stage runs in a child forked from `crash_harness`'s fork server, as the lead loop runs it:
identity through `run_identity` (the asset's body), a dbt step through Dagster (the step's own
multi-asset: `dbt build` of its models and tests, through the dbt fork server), a sync through
`run_sync` with the destination the sync asset builds. The child leads a process group of its
own, so a kill takes dbt and the dbt fork server with it, as when a node is lost.

Where it dies:
- `statement`: before the k-th SQL statement the stage sends through `Warehouse.connect`
  (the identity tables, the bronze rows an erasure deletes, the sync state);
- `http`: after the k-th write call to the CRM came back, before its outcome is recorded (the
  window in which the CRM holds what the warehouse does not know);
- `timer`: so many seconds after the stage started (dbt, whose statements run in its own
  process).

An uninterrupted run of the stage reports how many statements and CRM writes it made and how
long it took, so a seed can pick any of them (`seeded_kill`). Only the child's hooks decide
when it dies; they count and pass every call through. The test (`test_crashed_stages.py`) and
the benchmark (`bench/crash_stages.py`) share this module.
"""

from __future__ import annotations

import collections
import json
import os
import random
import shutil
import signal
import sqlite3
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.reliability.crash_harness import _FORKS, REPO

KILLS = ("statement", "http", "timer")
# Columns that hold the wall clock of the run that wrote them, so two uninterrupted runs differ
# there too; left out of the comparison. `sync_runs` is a log of runs (a killed run is one more
# row, `abandoned`): the tests check it on its own.
VOLATILE_COLUMNS = frozenset(
    {"synced_at", "requested_at", "first_failed_at", "last_failed_at", "hours_since_last_load"}
)
LOGS = frozenset({"reverse_etl.sync_runs"})


@dataclass(frozen=True)
class Kill:
    kind: str  # one of KILLS
    at: float  # the k-th statement or CRM write (1-based), or seconds after the start

    def __str__(self) -> str:
        return f"{self.kind}#{self.at:g}"


def seeded_kill(stage: str, seed: int, counts: dict[str, float]) -> Kill:
    """Trial `seed`'s kill, anywhere in what an uninterrupted run of `stage` did (`counts`)."""
    rng = random.Random(f"{stage}:{seed}")
    if stage == "dbt":
        return Kill("timer", round(rng.uniform(0.05, 0.95) * counts["seconds"], 2))
    kinds = [kind for kind in ("statement", "http") if counts.get(kind)]
    kind = rng.choice(kinds)
    return Kill(kind, rng.randint(1, int(counts[kind])))


def run_stage(spec: dict[str, Any], kill: Kill | None = None, env: dict[str, str] | None = None) -> dict[str, float]:
    """Runs the stage in a child; returns what it counted, or {} when `kill` ended it (a kill
    the run never reached lets it finish, and it reports its counts)."""
    with tempfile.TemporaryDirectory(prefix="stage-crash-") as folder:
        report, errors = Path(folder) / "report.json", Path(folder) / "errors.txt"
        ready = _FORKS.Event()
        child = _FORKS.Process(
            target=_child,
            args=(spec, kill, {**os.environ, **(env or {})}, str(report), str(errors), ready),
        )
        child.start()
        try:
            if not ready.wait(timeout=120):
                raise RuntimeError(f"stage child did not start: {spec['stage']}")
            if kill is not None and kill.kind == "timer":
                child.join(timeout=kill.at)
                if child.exitcode is None:
                    os.killpg(child.pid, signal.SIGKILL)
            child.join(timeout=600)
        finally:
            if child.exitcode is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.join()
        if child.exitcode == -signal.SIGKILL:
            return {}
        if child.exitcode != 0:
            detail = errors.read_text()[-4000:] if errors.exists() else ""
            raise RuntimeError(f"stage child failed ({child.exitcode}) {spec['stage']} {kill}:\n{detail}")
        return json.loads(report.read_text())


def _child(
    spec: dict[str, Any], kill: Kill | None, environ: dict[str, str], report: str, errors: str, ready: Any
) -> None:
    os.setpgid(0, 0)  # dbt and its fork server join this group; a kill ends all of them
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(REPO)
    try:
        counts = _arm(kill)
        ready.set()
        started = time.monotonic()
        STAGES[spec["stage"]](spec)
        counts["seconds"] = round(time.monotonic() - started, 3)
        Path(report).write_text(json.dumps(dict(counts)))
    except BaseException:
        Path(errors).write_text(traceback.format_exc())
        raise


def _arm(kill: Kill | None) -> collections.Counter[str]:
    """Counts the stage's statements and CRM writes; kills the group at `kill`'s."""
    import requests

    from warehouse import switch

    counts: collections.Counter[str] = collections.Counter()

    def tick(kind: str) -> None:
        counts[kind] += 1
        if kill is not None and kill.kind == kind and counts[kind] == kill.at:
            os.killpg(0, signal.SIGKILL)

    connect = switch.Warehouse.connect

    @contextmanager
    def counted(self: Any) -> Any:
        with connect(self) as conn:
            yield _Counting(conn, lambda: tick("statement"))

    switch.Warehouse.connect = counted  # type: ignore[method-assign]
    send = requests.Session.send

    def sent(self: Any, request: Any, **kwargs: Any) -> Any:
        response = send(self, request, **kwargs)
        if request.method != "GET":
            tick("http")
        return response

    requests.Session.send = sent  # type: ignore[method-assign]
    return counts


class _Counting:
    """A DB-API connection or cursor that counts each statement before passing it on."""

    def __init__(self, inner: Any, tick: Any) -> None:
        self._inner, self._tick = inner, tick

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def cursor(self, *args: Any, **kwargs: Any) -> _Counting:
        return _Counting(self._inner.cursor(*args, **kwargs), self._tick)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._tick()
        return self._inner.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._tick()
        return self._inner.executemany(*args, **kwargs)

    def copy_expert(self, *args: Any, **kwargs: Any) -> Any:
        self._tick()
        return self._inner.copy_expert(*args, **kwargs)


# ---------------------------------------------------------------- the stages, as the loop runs them


def _identity(spec: dict[str, Any]) -> None:
    from silver.identity.run import run_identity
    from warehouse import Warehouse

    run_identity(Warehouse.from_url(spec["warehouse"]), spec["landing"])


def _dbt(spec: dict[str, Any]) -> None:
    """The Dagster step named `spec["step"]`: its dbt multi-asset, with its dbt tests."""
    from dagster import DagsterInstance, materialize

    from orchestration.assets.dbt import build_dbt_assets, dbt_resource
    from orchestration.resources import WarehouseResource

    (step,) = [a for a in build_dbt_assets() if a.op.name == spec["step"]]
    result = materialize(
        [step],
        resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(url=spec["warehouse"])},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    if not result.success:
        raise RuntimeError(f"dbt step {spec['step']} failed")


def _sync(spec: dict[str, Any]) -> None:
    from ingestion.crm_clients import salesforce_client
    from reverse_etl.destinations.salesforce import SalesforceDestination
    from reverse_etl.executor import run_sync
    from reverse_etl.spec import load_spec
    from warehouse import Warehouse

    sf = spec["salesforce"]
    client = salesforce_client(sf["instance_url"], sf["token"], sf["ca_path"])
    destination = SalesforceDestination(client, bulk_poll_wait=0)  # as the sync asset builds it
    run_sync(load_spec(spec["sync"]), Warehouse.from_url(spec["warehouse"]), destination)


STAGES = {"identity": _identity, "dbt": _dbt, "sync": _sync}


# ---------------------------------------------------------------- copies to run trials on


@contextmanager
def copies(template: Any, folder: Path) -> Iterator[Any]:
    """`copy(name, of=template)`: a new warehouse holding what `of` holds now."""
    with ExitStack() as stack:

        def copy(name: str, of: Any = template) -> Any:
            from tests.support import copy_postgres_database, postgres_database
            from warehouse import Warehouse

            if of.is_duckdb:
                assert of.path is not None
                target = folder / f"{name}.duckdb"
                for suffix in ("", ".wal"):
                    if Path(f"{of.path}{suffix}").exists():
                        shutil.copyfile(f"{of.path}{suffix}", f"{target}{suffix}")
                return Warehouse.from_url(f"duckdb:///{target}")
            warehouse = stack.enter_context(postgres_database("leadloop_crash"))
            copy_postgres_database(of, warehouse)
            return warehouse

        yield copy


def crm_copy(world_dir: Path, folder: Path) -> Path:
    """A copy of the Salesforce sandbox's state (consistent: the store runs in WAL mode)."""
    folder.mkdir(parents=True)
    source, target = sqlite3.connect(world_dir / "salesforce.sqlite"), sqlite3.connect(folder / "salesforce.sqlite")
    with target:
        source.backup(target)
    source.close()
    target.close()
    return folder


# ---------------------------------------------------------------- what a run leaves


def warehouse_rows(warehouse: Any, schemas: Iterable[str]) -> dict[str, collections.Counter[tuple[Any, ...]]]:
    """Every table and view of `schemas` (`schema.table` → its rows as a multiset, values as
    text), wall-clock columns and run logs left out: what two uninterrupted runs agree on."""
    out: dict[str, collections.Counter[tuple[Any, ...]]] = {}
    with warehouse.connect() as conn:  # one connection: a DuckDB file opened per table costs seconds
        cur = conn.cursor()
        for schema in schemas:
            cur.execute(
                warehouse.adapt_sql(
                    "select table_name, column_name from information_schema.columns where table_schema = ? "
                    "order by table_name, column_name"
                ),
                [schema],
            )
            columns: dict[str, list[str]] = {}
            for table, column in cur.fetchall():
                columns.setdefault(table, [])
                if not column.startswith("_dlt") and column not in VOLATILE_COLUMNS:
                    columns[table].append(column)
            for table, names in sorted(columns.items()):
                if table.startswith("_dlt") or f"{schema}.{table}" in LOGS:
                    continue
                select = ", ".join(f'cast("{c}" as varchar)' for c in names) or "1"
                cur.execute(f'select {select} from "{schema}"."{table}"')
                out[f"{schema}.{table}"] = collections.Counter(tuple(row) for row in cur.fetchall())
    return out


def schemas_of(warehouse: Any, prefixes: Iterable[str]) -> list[str]:
    """The warehouse's schemas named `prefix` or `prefix_…` (bronze → every bronze dataset)."""
    names = [row[0] for row in warehouse.query("select distinct table_schema from information_schema.tables")]
    return sorted(n for n in names if any(n == p or n.startswith(f"{p}_") for p in prefixes))


def crm_rows(sf: Any) -> dict[str, collections.Counter[tuple[Any, ...]]]:
    """What the syncs write in the org: Leadloop's fields on every Lead and Contact, and the
    Tasks keyed by an action (a duplicate task shows as a count of 2)."""
    fields = "Lead_Score__c, Lead_Grade__c, Lead_Score_Reasons__c"
    out = {}
    for obj in ("Lead", "Contact"):
        records = sf.query_all(f"SELECT Id, {fields} FROM {obj}")["records"]
        out[obj] = collections.Counter(
            (r["Id"], r["Lead_Score__c"], r["Lead_Grade__c"], r["Lead_Score_Reasons__c"]) for r in records
        )
    tasks = sf.query_all(
        "SELECT Leadloop_Task_Key__c, WhoId, Subject, Status FROM Task WHERE Leadloop_Task_Key__c != null"
    )["records"]
    out["Task"] = collections.Counter((r["Leadloop_Task_Key__c"], r["WhoId"], r["Subject"], r["Status"]) for r in tasks)
    return out


def differences(got: dict[str, collections.Counter], want: dict[str, collections.Counter]) -> dict[str, dict[str, int]]:
    """Per table (or CRM object) that differs: rows beyond their first copy (duplicates), rows
    `want` has and `got` lacks (lost), and rows only `got` has (wrong: an old value kept, a
    leftover table, a duplicate). Tables that agree are left out."""
    out = {}
    for table in sorted(set(got) | set(want)):
        have, should = got.get(table, collections.Counter()), want.get(table, collections.Counter())
        counts = {
            "duplicates": sum(n - 1 for n in have.values() if n > 1) - sum(n - 1 for n in should.values() if n > 1),
            "lost": sum((should - have).values()),
            "wrong": sum((have - should).values()),
        }
        if table not in want or table not in got:
            counts["wrong"] += 1  # a table one run left and the other did not
        if any(counts.values()):
            out[table] = counts
    return out
