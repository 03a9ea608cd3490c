"""Parsing the next batches of files on other cores while the loader handles this one.

Arrow's readers and compute kernels, numpy and calamine do their work without holding the GIL,
so threads are enough to keep every core busy; the order of results is the order of the
batches, which is what first-wins deduplication needs.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Batch = TypeVar("Batch")
Result = TypeVar("Result")


def parse_ahead(
    parse: Callable[[Batch], Result], batches: Iterable[Batch], workers: int | None = None
) -> Iterator[tuple[Batch, Result]]:
    """(batch, parse(batch)) in batch order, with up to `workers` batches parsed ahead.

    Batches are drawn lazily, so at most `workers + 1` are held in memory at once.
    """
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="leadloop-parse") as pool:
        window: deque[tuple[Batch, Future[Result]]] = deque()
        for batch in batches:
            window.append((batch, pool.submit(parse, batch)))
            if len(window) > workers:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()
