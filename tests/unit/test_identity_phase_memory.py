"""The identity step's memory by phase: a phase that holds more shows a higher peak, phases nest
by name, and outside a tracking nothing is sampled."""

import time

from silver.identity import phase_memory
from silver.identity.phase_memory import phase, tracking

HELD = 200 * 10**6


def test_the_phase_that_holds_more_has_the_higher_peak():
    with tracking(interval=0.01) as peaks:
        with phase("small"):
            time.sleep(0.05)
        with phase("large"):
            held = bytearray(HELD)  # zero-filled: every page touched, so resident
            with phase("inner"):
                time.sleep(0.05)
        del held  # after the phase's last sample
    found = peaks.peaks_mb()
    assert list(found) == ["small", "large", "large/inner"]
    assert found["large"] - found["small"] >= 0.9 * HELD / 2**20
    assert found["large/inner"] >= found["small"] + 0.9 * HELD / 2**20
    assert not peaks._thread.is_alive() and phase_memory._active is None


def test_without_tracking_a_phase_records_nothing():
    outside = phase_memory.PhasePeaks()
    with phase("alone"):
        pass
    assert outside.peaks == {} and phase_memory._active is None
