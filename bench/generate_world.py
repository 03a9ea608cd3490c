"""Benchmark: generating the world. Prints one JSON object.

Usage: python bench/generate_world.py [--leads N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from sandbox.generator import generate_world


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = generate_world(Path(tmp) / "world", leads=args.leads, seed=args.seed)
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "benchmark": "generate_world",
                "leads": args.leads,
                "seconds": round(seconds, 2),
                "leads_per_s": round(args.leads / seconds),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "summary": summary,
            }
        )
    )


if __name__ == "__main__":
    main()
