"""Ground-truth files that grow by simulated day."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

_TAIL_BYTES = 65_536  # enough to hold a file's last row


def merge_day_rows(
    path: Path,
    header: Sequence[str],
    day: date,
    rows: list[list[str]],
    sort_key: Callable[[list[str]], tuple],
) -> None:
    """Replace `day`'s rows (column 0 is the day) and keep other days', so a rerun is idempotent
    and days accumulate. `sort_key` orders by the day first.

    A day later than every day in the file is appended: rewriting the whole file each simulated
    day made advancing a world by many days quadratic (a 1M-lead world's partner truth holds
    some 800,000 rows by day 99)."""
    last = _last_day(path)
    if last is not None and last < day.isoformat():
        with open(path, "a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(sorted(rows, key=sort_key))
        return
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


def _last_day(path: Path) -> str | None:
    """Column 0 of the file's last row when it is an ISO day, else None (no file, only a header,
    or a tail that does not read as one row)."""
    if not path.exists():
        return None
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - _TAIL_BYTES))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = tail.rstrip("\r\n").rsplit("\n", 1)
    row = next(csv.reader(io.StringIO(lines[-1])), [])
    if not row:
        return None
    try:
        return date.fromisoformat(row[0]).isoformat()
    except ValueError:
        return None
