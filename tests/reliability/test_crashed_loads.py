"""A load (first or incremental) killed inside dlt's load step, then run again, leaves bronze as
an uninterrupted load would: no duplicate row, no lost row, in the tables and their quarantines
(issue 25).

Each trial SIGKILLs the load at a seeded moment of the load step (`crash_harness.MOMENTS`),
re-runs it as the next Dagster run would, and compares every bronze table, row by row, with an
uninterrupted load of the same world. The CI setting is small (2-3 trials per source and
warehouse); `bench/crash_first_load.py` runs the larger one.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from tests.reliability.crash_harness import FreshTarget, bronze_rows, compare, load, run_killed, seeded_kill

# The moments most likely to go wrong, then seeded ones.
PARTNER_TRIALS = [("job_committed", 1), ("after_loads_row", 1), seeded_kill(3)]
SALESFORCE_TRIALS = [("job_committed", 2), seeded_kill(11)]
WEB_EVENTS_TRIALS = [("job_committed", 2), ("job_committed", 3)]
HUBSPOT_TRIALS = [("job_committed", 2), seeded_kill(5)]  # owners is `replace`: emptied and reloaded too
PRODUCT_TRIALS = [("job_committed", 1), seeded_kill(8)]
INCREMENTAL_TRIALS = [("job_committed", 1), ("job_done", 2)]


def assert_same_rows(got: dict[str, collections.Counter], want: dict[str, collections.Counter], trial: Any) -> None:
    assert set(got) == set(want), trial
    for table, counts in compare(got, want).items():
        assert counts == {"duplicated": 0, "lost": 0, "extra": 0}, f"{trial} {table}"


def _trials(
    fresh_target: FreshTarget, spec: dict[str, Any], dataset: str, trials: list[tuple[str, int]]
) -> tuple[dict[str, collections.Counter], int]:
    """An uninterrupted load (the reference), then the trials, each from an empty dataset; returns
    the reference and how many trials were killed as planned."""
    clean = fresh_target(dataset, "clean")
    load({**spec, "warehouse": clean.url})
    reference = bronze_rows(clean, dataset)
    killed = 0
    for i, (moment, nth) in enumerate(trials):
        target = fresh_target(dataset, f"trial-{i}")
        trial_spec = {**spec, "warehouse": target.url}
        killed += run_killed(trial_spec, moment, nth)
        load(trial_spec)  # the next run
        assert_same_rows(bronze_rows(target, dataset), reference, (moment, nth))
    return reference, killed


def test_a_killed_first_partner_load_reruns_to_the_same_rows(fresh_target: FreshTarget, drops: Path) -> None:
    spec = {"source": "partners", "folder": str(drops / "partners")}
    reference, killed = _trials(fresh_target, spec, "bronze_partners", PARTNER_TRIALS)
    assert sum(reference["mailed_records"].values()) > 0
    assert killed >= 2  # the two fixed moments always happen in a first load


def test_a_killed_first_salesforce_load_reruns_to_the_same_rows(
    fresh_target: FreshTarget, salesforce_sandbox: Any
) -> None:
    spec = {
        "source": "salesforce",
        "salesforce": {
            "instance_url": salesforce_sandbox.instance_url,
            "token": salesforce_sandbox.token,
            "ca_path": str(salesforce_sandbox.ca_path),
        },
    }
    reference, killed = _trials(fresh_target, spec, "bronze_salesforce", SALESFORCE_TRIALS)
    assert sum(reference["lead"].values()) > 0
    assert killed >= 1


def test_a_killed_first_web_events_load_reruns_to_the_same_rows(fresh_target: FreshTarget, world_dir: Path) -> None:
    spec = {"source": "web_events", "folder": str(world_dir / "landing")}
    reference, killed = _trials(fresh_target, spec, "bronze_web_events", WEB_EVENTS_TRIALS)
    assert sum(reference["events"].values()) > 0
    assert killed == len(WEB_EVENTS_TRIALS)


def test_a_killed_first_hubspot_load_reruns_to_the_same_rows(fresh_target: FreshTarget, hubspot_sandbox: Any) -> None:
    spec = {"source": "hubspot", "hubspot": {"url": hubspot_sandbox.url, "token": hubspot_sandbox.token}}
    reference, killed = _trials(fresh_target, spec, "bronze_hubspot", HUBSPOT_TRIALS)
    assert sum(reference["contacts"].values()) > 0 and sum(reference["owners"].values()) > 0
    assert killed >= 1


def test_a_killed_first_product_load_reruns_to_the_same_rows(fresh_target: FreshTarget, world_dir: Path) -> None:
    from ingestion.product_db import product_db_url

    spec = {"source": "product", "url": product_db_url(world_dir)}
    reference, killed = _trials(fresh_target, spec, "bronze_product", PRODUCT_TRIALS)
    assert sum(sum(rows.values()) for rows in reference.values()) > 0
    assert killed >= 1


def test_a_killed_incremental_partner_load_reruns_to_the_same_rows(
    fresh_target: FreshTarget, drops: Path, tmp_path: Path
) -> None:
    """The redo also holds after a first load: the merge tables are left as they are, the cursor
    state goes back to the last completed load, and the new day's files are read again."""
    import shutil

    from sandbox.advance import advance_world

    later = tmp_path / "later"
    shutil.copytree(drops, later)
    advance_world(later, days=1)
    before = {"source": "partners", "folder": str(drops / "partners")}
    after = {"source": "partners", "folder": str(later / "partners")}

    clean = fresh_target("bronze_partners", "clean")
    load({**before, "warehouse": clean.url})
    load({**after, "warehouse": clean.url})
    reference = bronze_rows(clean, "bronze_partners")
    for i, (moment, nth) in enumerate(INCREMENTAL_TRIALS):
        target = fresh_target("bronze_partners", f"trial-{i}")
        load({**before, "warehouse": target.url})
        assert run_killed({**after, "warehouse": target.url}, moment, nth)
        load({**after, "warehouse": target.url})
        assert_same_rows(bronze_rows(target, "bronze_partners"), reference, (moment, nth))
