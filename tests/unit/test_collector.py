"""Loads space the cyclic collector's young collections, and give the process its own back."""

import gc
import threading
from pathlib import Path

import pytest

from ingestion.collector import LOAD_YOUNG_THRESHOLD, spaced_young_collections
from ingestion.pipelines import load_pipeline
from warehouse import Warehouse


@pytest.fixture
def own_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(900, 11, 12)
    yield (900, 11, 12)
    gc.set_threshold(*before)


def _young_collections_while(allocate) -> int:  # type: ignore[no-untyped-def]
    counted = [0]

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 0:
            counted[0] += 1

    gc.callbacks.append(count)
    try:
        allocate()
    finally:
        gc.callbacks.remove(count)
    return counted[0]


def test_a_load_collects_young_objects_ten_times_less_often(own_thresholds) -> None:
    def rows() -> list[tuple[int, str]]:
        return [(n, str(n)) for n in range(200_000)]  # what a row fetch allocates

    outside = _young_collections_while(rows)
    with spaced_young_collections():
        assert gc.get_threshold() == (LOAD_YOUNG_THRESHOLD, 11, 12)
        inside = _young_collections_while(rows)
    assert gc.get_threshold() == own_thresholds
    assert outside > 150  # 200,000 tuples / 900
    assert inside < 30  # 200,000 / 10,000


def test_overlapping_loads_give_the_thresholds_back_when_the_last_one_ends(own_thresholds) -> None:
    first_inside, second_may_end = threading.Event(), threading.Event()

    def second_load() -> None:
        with spaced_young_collections():
            first_inside.set()
            second_may_end.wait(5)

    thread = threading.Thread(target=second_load)
    with spaced_young_collections():
        thread.start()
        assert first_inside.wait(5)
    assert gc.get_threshold()[0] == LOAD_YOUNG_THRESHOLD  # the second load still runs
    second_may_end.set()
    thread.join(5)
    assert gc.get_threshold() == own_thresholds


def test_the_bronze_load_runs_with_spaced_collections_and_ends_without_them(tmp_path: Path, own_thresholds) -> None:
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/warehouse.duckdb")
    with load_pipeline("collector", warehouse):
        assert gc.get_threshold()[0] == LOAD_YOUNG_THRESHOLD
    assert gc.get_threshold() == own_thresholds
