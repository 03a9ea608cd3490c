"""How a load lives with Python's cyclic garbage collector.

A load allocates millions of short-lived containers (SQLAlchemy's row tuples, the dicts of a
JSON page, dlt's per-item bookkeeping) that reference counting frees on its own: few are
ever part of a cycle (though the few can hold big buffers, which is why the threshold below is
only raised so far). The cyclic collector still counts them, and at its defaults (a young
collection every 700 net allocations, an older one every 10 of those) a 646,399-row product
database load ran 1,697 young, 154 middle and 13 full collections: 0.6 s of a 3.3 s load
(`gc.callbacks` timing the 1M-lead bench world).
"""

from __future__ import annotations

import atexit
import functools
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Young collections during a load: one per this many net allocations instead of 700. Higher
# buys little more and lets cycles that hold big buffers wait: at 100,000 the Salesforce bench's
# peak RSS rose from 1,475 to 1,902 MB (its CSV pages wait in cycles); at 10,000 it was 1,489 MB.
LOAD_YOUNG_THRESHOLD = 10_000

_lock = threading.Lock()
_loads_running = 0
_threshold_before: tuple[int, int, int] = gc.get_threshold()


@functools.cache
def freeze_startup_heap() -> None:
    """Moves what the process holds by its first pipeline (every imported module of Dagster, dlt,
    SQLAlchemy, pyarrow: some 180,000 objects) out of the cyclic collector's sight, once.

    Those objects live as long as the process, yet each full collection walks them all again:
    60 to 170 ms on this machine, several times per run. That was about a quarter of an
    incremental product load and the largest part of its run-to-run spread. What a run
    allocates afterwards is still collected as usual. (The pattern is the one the `gc.freeze`
    documentation gives for a server's start-up.) They are handed back at exit, so the
    interpreter's last collection still finalizes them.
    """
    gc.freeze()
    atexit.register(gc.unfreeze)


@contextmanager
def spaced_young_collections() -> Iterator[None]:
    """Collects young objects every `LOAD_YOUNG_THRESHOLD` allocations while a load runs, and
    puts the process's own thresholds back when the last of any overlapping loads ends.

    With the collector's defaults, the product database's full load measured 3.26-3.59 s
    (medians of three); at 10,000, 2.89 s; at 100,000, 2.80-2.90 s; with the collector off,
    2.78 s. Off would leave cycles unbounded for as long as a load runs (minutes, for a CRM), so
    the threshold is only raised, and only as far as memory allows.
    """
    global _loads_running, _threshold_before
    with _lock:
        if _loads_running == 0:
            _threshold_before = gc.get_threshold()
            gc.set_threshold(LOAD_YOUNG_THRESHOLD, *_threshold_before[1:])
        _loads_running += 1
    try:
        yield
    finally:
        with _lock:
            _loads_running -= 1
            if _loads_running == 0:
                gc.set_threshold(*_threshold_before)
