"""Overlapping download and parsing: fetch the next page while the caller works on this one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def prefetched(pages: Iterator[T]) -> Iterator[T]:
    """Yields `pages` one ahead: the next page's request runs in a worker thread while the
    caller turns the current one into Arrow. Waiting on a socket releases the GIL, so the two
    overlap; at most two pages are held in memory."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
        pending = pool.submit(next, pages, None)
        while True:
            page = pending.result()
            if page is None:
                return
            pending = pool.submit(next, pages, None)
            yield page
