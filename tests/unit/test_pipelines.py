"""The bronze pipeline factory's process-wide set-up."""

import gc
from pathlib import Path

from ingestion.pipelines import bronze_dataset, make_pipeline
from orchestration.warehouse import Warehouse


def test_the_first_pipeline_freezes_the_startup_heap_and_later_ones_do_not(tmp_path: Path) -> None:
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/warehouse.duckdb")
    pipeline = make_pipeline("first", warehouse)
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert pipeline.dataset_name == bronze_dataset("first")

    made_after = [[n] for n in range(1_000)]  # tracked objects a second freeze would take too
    make_pipeline("second", warehouse)
    assert gc.get_freeze_count() < frozen + len(made_after)
    assert gc.is_tracked(made_after[0])
