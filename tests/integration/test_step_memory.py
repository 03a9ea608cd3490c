"""A step's garbage is gone before the next step starts (orchestration/step_memory.py).

Automatic collection is off in the test, so a reference cycle is freed only by the hook's own
collection; with it on, whether one came between the steps would be up to Python's thresholds.
"""

from __future__ import annotations

import gc

import pyarrow as pa
from dagster import Definitions, asset, define_asset_job, in_process_executor

from orchestration.build import LEAD_LOOP_JOB, build_definitions
from orchestration.step_memory import HOOKS

TABLE_BYTES = 8_000_000  # a million int64s


def _run(hooks: set) -> int:
    """Arrow bytes still allocated when the second step starts, over what the test began with."""
    seen: dict[str, int] = {}

    @asset
    def leaves_a_cycle() -> None:
        holder: dict[str, object] = {"table": pa.table({"n": pa.array(range(1_000_000), pa.int64())})}
        holder["self"] = holder  # only a collection frees it once the step lets go

    @asset(deps=[leaves_a_cycle])
    def next_step() -> None:
        seen["allocated"] = pa.total_allocated_bytes()

    job = define_asset_job("two_steps", hooks=hooks)
    defs = Definitions(assets=[leaves_a_cycle, next_step], jobs=[job], executor=in_process_executor)
    gc.collect()
    baseline = pa.total_allocated_bytes()
    gc.disable()
    try:
        assert defs.resolve_job_def("two_steps").execute_in_process().success
    finally:
        gc.enable()
        gc.collect()
    return seen["allocated"] - baseline


def test_the_hook_frees_a_steps_cyclic_garbage_before_the_next_step():
    assert _run(HOOKS) < TABLE_BYTES // 8


def test_without_the_hook_the_cycle_outlives_its_step():
    """The control: the same job without the hook still holds the table when the next step
    starts, so the test above shows the hook's doing."""
    assert _run(set()) >= TABLE_BYTES


def test_the_lead_loop_job_runs_the_hook_after_every_step(duckdb_warehouse):
    job = build_definitions(duckdb_warehouse).resolve_job_def(LEAD_LOOP_JOB)
    assert set(job.hook_defs) >= HOOKS
