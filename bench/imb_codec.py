"""Throughput of the IMb codec over the USPS reference cases, printed as JSON.

Partner files arrive in batches of millions of pieces, so per-call cost decides whether barcode
normalization can stay inline in ingestion; this measures it on the published valid cases.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path

from ingestion.imb import decode, encode

REPO_ROOT = Path(__file__).resolve().parents[1]

MIN_SECONDS = 1.0


VECTORS = REPO_ROOT / "tests" / "data" / "imb_vectors.tsv"  # USPS's published cases; see tests/data/README.md


def _rate(run: Callable[[], None], items: int) -> float:
    """Best of several timed rounds, each long enough that timer noise does not matter."""
    best = float("inf")
    rounds = 0
    started = time.perf_counter()
    while rounds < 3 or time.perf_counter() - started < MIN_SECONDS:
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
        rounds += 1
    return items / best


def main() -> None:
    with VECTORS.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if r["return_code"] == "00"]
    pairs = [(r["tracking"], r["routing"]) for r in rows]
    bars = [r["bars"] for r in rows]

    def encode_all() -> None:
        for tracking, routing in pairs:
            encode(tracking, routing)

    def decode_all() -> None:
        for text in bars:
            decode(text)

    print(
        json.dumps(
            {
                "encode_per_s": round(_rate(encode_all, len(pairs))),
                "decode_per_s": round(_rate(decode_all, len(bars))),
            }
        )
    )


if __name__ == "__main__":
    main()
