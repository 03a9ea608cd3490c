"""Kills a bronze load inside dlt's load step, at a seeded moment, from a child process.

The child runs one load the way Dagster does (`ingestion.pipelines.load_pipeline`) and sends
itself SIGKILL at the k-th passage of one of the load step's moments: nothing is cleaned up, no
`finally` runs, as when the OOM killer or a lost node ends a run.
The moments are the places where an interrupted load can go wrong:

- `job_started`: a job was handed to the warehouse and has not run;
- `job_committed`: the warehouse committed a job and dlt has not yet noted it (the window in
  which dlt's retry loads the job a second time: issue 25's duplicates);
- `job_done`: dlt is about to move a committed job to `completed_jobs`;
- `before_loads_row`: every job is done, `_dlt_loads` not yet written;
- `after_loads_row`: `_dlt_loads` written, the package not yet archived.

dlt's internals are hooked only in the child, to decide *when* it dies; none of our code is
replaced. The test and the benchmark (`bench/crash_first_load.py`) share this module.

Children are forked by multiprocessing's fork server, which imports dlt and the sources once:
a fresh interpreter per trial spent 2-3 CPU-s on imports before its load started. The fork
server is a single-threaded process of its own, so nothing of the test process (its sandbox
threads, its connections) is copied into a child.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import random
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# `fresh_target(dataset, run)` (the fixture in conftest): a warehouse with `dataset` empty.
FreshTarget = Callable[[str, str], Any]
MOMENTS = ("job_started", "job_committed", "job_done", "before_loads_row", "after_loads_row")
REPO = Path(__file__).resolve().parents[2]
# What every child would import: loaded once, in the fork server.
PRELOAD = [
    "dlt",
    "pyarrow",
    "duckdb",
    "psycopg2",
    "ingestion.pipelines",
    "ingestion.partner_files",
    "ingestion.salesforce",
    "ingestion.hubspot",
    "ingestion.web_events",
    "ingestion.product_db",
    # the later stages' kill trials (tests/reliability/stage_crash.py)
    "silver.identity.run",
    "reverse_etl.executor",
    "reverse_etl.destinations.salesforce",
    "dagster",
    "orchestration.assets.dbt",
    "tests.reliability.stage_crash",
]
_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload([__name__, *PRELOAD])


def seeded_kill(seed: int) -> tuple[str, int]:
    """The moment and its passage (1-based) at which trial `seed` dies."""
    rng = random.Random(seed)
    moment = rng.choice(MOMENTS)
    nth = 1 if moment in ("before_loads_row", "after_loads_row") else rng.randint(1, 4)
    return moment, nth


def run_killed(spec: dict[str, Any], moment: str, nth: int, env: dict[str, str] | None = None) -> bool:
    """Runs the load in a child that kills itself at (`moment`, `nth`); True if it died that way,
    False if the load finished first (fewer than `nth` passages)."""
    with tempfile.NamedTemporaryFile(prefix="crash-child-", suffix=".txt") as errors:
        child = _FORKS.Process(
            target=_child, args=({**spec, "moment": moment, "nth": nth}, {**os.environ, **(env or {})}, errors.name)
        )
        child.start()
        child.join(timeout=300)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise RuntimeError(f"crash child did not finish within 300 s: {moment} #{nth}")
        if child.exitcode == -signal.SIGKILL:
            return True
        if child.exitcode != 0:
            raise RuntimeError(f"crash child failed ({child.exitcode}):\n{Path(errors.name).read_text()[-4000:]}")
    return False


def _child(spec: dict[str, Any], environ: dict[str, str], errors: str) -> None:
    """In the forked child: the test's environment and working directory, the kill armed, one
    load. A failure's traceback goes to `errors` for the parent's message."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(REPO)
    try:
        _arm(spec["moment"], spec["nth"])
        load(spec)
    except BaseException:
        Path(errors).write_text(traceback.format_exc())
        raise


def bronze_rows(warehouse: Any, dataset: str) -> dict[str, collections.Counter[tuple[Any, ...]]]:
    """Every table of `dataset` (dlt's own aside) as a multiset of rows, values as text, so a
    duplicate shows as a count of 2."""
    tables = [
        row[0]
        for row in warehouse.query("select table_name from information_schema.tables where table_schema = ?", [dataset])
        if not row[0].startswith("_dlt")
    ]
    out = {}
    for table in tables:
        columns = [
            row[0]
            for row in warehouse.query(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by column_name",
                [dataset, table],
            )
            if not row[0].startswith("_dlt")
        ]
        select = ", ".join(f'cast("{c}" as varchar)' for c in columns)
        out[table] = collections.Counter(
            tuple(row) for row in warehouse.query(f'select {select} from "{dataset}"."{table}"')
        )
    return out


def compare(got: dict[str, collections.Counter], want: dict[str, collections.Counter]) -> dict[str, dict[str, int]]:
    """Per table of either: rows beyond their first copy (duplicated), rows `want` has and `got`
    lacks (lost), and rows `got` has beyond `want` (extra; duplicates included)."""
    out = {}
    for table in sorted(set(got) | set(want)):
        have, should = got.get(table, collections.Counter()), want.get(table, collections.Counter())
        out[table] = {
            "duplicated": sum(n - 1 for n in have.values() if n > 1),
            "lost": sum((should - have).values()),
            "extra": sum((have - should).values()),
        }
    return out


def load(spec: dict[str, Any]) -> None:
    """One load of the spec's source into its warehouse, as the bronze asset runs it. With
    `"redo": False` in the spec, as it ran before half-done loads were redone: the bare dlt
    pipeline, which resumes the interrupted package (the benchmark's baseline)."""
    from ingestion.pipelines import load_pipeline, make_pipeline
    from warehouse import Warehouse

    warehouse = Warehouse.from_url(spec["warehouse"])
    if spec.get("redo", True):
        with load_pipeline(spec["source"], warehouse) as pipeline:
            pipeline.run(_source(spec)).raise_on_failed_jobs()
    else:
        make_pipeline(spec["source"], warehouse).run(_source(spec)).raise_on_failed_jobs()


def _source(spec: dict[str, Any]) -> Any:
    if spec["source"] == "partners":
        from ingestion.partner_files import partner_files_source

        return partner_files_source(spec["folder"])
    if spec["source"] == "product":
        from ingestion.product_db import product_db_source

        return product_db_source(spec["url"])
    if spec["source"] == "hubspot":
        from ingestion.crm_clients import hubspot_client
        from ingestion.hubspot import hubspot_source

        hs = spec["hubspot"]
        return hubspot_source(client_factory=lambda: hubspot_client(hs["url"], hs["token"]))
    if spec["source"] == "web_events":
        from ingestion.web_events import web_events_source

        return web_events_source(spec["folder"])
    if spec["source"] == "salesforce":
        from ingestion.crm_clients import salesforce_client
        from ingestion.salesforce import salesforce_source

        sf = spec["salesforce"]
        return salesforce_source(
            client_factory=lambda: salesforce_client(sf["instance_url"], sf["token"], sf["ca_path"]),
            bulk_poll_seconds=0,
        )
    raise ValueError(f"unknown source {spec['source']!r}")


def _arm(moment: str, nth: int) -> None:
    """Makes the `nth` passage of `moment` kill this process."""
    from dlt.common.storages.load_package import PackageStorage
    from dlt.destinations.job_client_impl import SqlJobClientBase
    from dlt.load.load import Load

    passages = 0
    lock = threading.Lock()

    def die_on_nth() -> None:
        nonlocal passages
        with lock:
            passages += 1
            if passages == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    def before(owner: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def hooked(*args: Any, **kwargs: Any) -> Any:
            die_on_nth()
            return original(*args, **kwargs)

        setattr(owner, name, hooked)

    def after(owner: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def hooked(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            die_on_nth()
            return result

        setattr(owner, name, hooked)

    {
        "job_started": lambda: before(Load, "submit_job"),
        "job_committed": lambda: before(PackageStorage, "save_pending_transition"),
        "job_done": lambda: before(PackageStorage, "complete_job"),
        "before_loads_row": lambda: before(SqlJobClientBase, "complete_load"),
        "after_loads_row": lambda: after(SqlJobClientBase, "complete_load"),
    }[moment]()
