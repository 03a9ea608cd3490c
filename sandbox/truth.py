"""Ground-truth files that grow by simulated day."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path


def merge_day_rows(
    path: Path,
    header: Sequence[str],
    day: date,
    rows: list[list[str]],
    sort_key: Callable[[list[str]], tuple],
) -> None:
    """Replace `day`'s rows (column 0 is the day) and keep other days', so a rerun is idempotent
    and days accumulate."""
    kept: list[list[str]] = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            kept = [row for row in reader if row and row[0] != day.isoformat()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(sorted(kept + rows, key=sort_key))
