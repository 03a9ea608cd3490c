"""The peak resident set of each phase of an identity run.

Identity holds the most memory of any step in the lead loop, and its peak moved with every change
to it (the records read, standardizing, the in-memory DuckDB at its floor, the last run's pairs,
clustering, the tables written). The step's peak alone does not say which phase to shrink; this
says, on every run, in the asset's metadata (`peak_rss_mb`), at no cost a run would notice: one
read of `/proc/self/statm` every `INTERVAL` seconds, from a thread that sleeps in between.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from warehouse.duckdb_limits import resident_bytes

INTERVAL = 0.05  # seconds between samples; DuckDB and Arrow hold a peak for longer than this
_MB = 2**20  # as every peak the project reports (a KiB count over 1024)


class PhasePeaks:
    """Samples the process's resident set and keeps, per phase, the highest it saw."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.current = ""  # outside every phase: not sampled
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="identity-phase-memory", daemon=True)

    def sample(self) -> None:
        phase = self.current
        if not phase:
            return
        held = resident_bytes()
        if held > self.peaks.get(phase, 0):
            self.peaks[phase] = held

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def peaks_mb(self) -> dict[str, int]:
        """Each phase's peak in MB, in the order the phases began."""
        return {phase: round(held / _MB) for phase, held in self.peaks.items()}


_active: PhasePeaks | None = None


@contextmanager
def tracking(interval: float = INTERVAL) -> Iterator[PhasePeaks]:
    """Tracks phases (`phase`) entered in this process until the block ends."""
    global _active
    peaks = PhasePeaks(interval)
    outer, _active = _active, peaks
    peaks._thread.start()
    try:
        yield peaks
    finally:
        peaks._stop.set()
        peaks._thread.join()
        _active = outer


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Names what runs in the block (nested in the enclosing phase, `outer/inner`) for the peaks
    of the tracking in progress; without one, does nothing."""
    peaks = _active
    if peaks is None:
        yield
        return
    outer = peaks.current
    peaks.current = f"{outer}/{name}" if outer else name
    peaks.sample()
    try:
        yield
    finally:
        peaks.sample()
        peaks.current = outer
