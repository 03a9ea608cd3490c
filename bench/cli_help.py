"""Wall time of `leadloop --help` and of each subcommand's help, printed as JSON.

The help is the first thing a newcomer runs; when the CLI imported Dagster and dbt before
parsing its arguments it took 7-13 s. The budget is 1 s. Each figure is the median of several
runs of the installed console script in a fresh process, as a user would start it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

LEADLOOP = str(Path(sys.executable).with_name("leadloop"))
COMMANDS = ("", "generate", "sandbox", "demo", "dev", "erase", "sync", "dbt", "report")
RUNS = 5
BUDGET_SECONDS = 1.0


def seconds(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([LEADLOOP, *args, "--help"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    medians = {}
    for command in COMMANDS:
        args = [command] if command else []
        medians[command or "leadloop"] = round(statistics.median(seconds(args) for _ in range(RUNS)), 3)
    slowest = max(medians.values())
    print(
        json.dumps(
            {
                "benchmark": "cli_help",
                "runs_per_command": RUNS,
                "median_seconds": medians,
                "slowest_seconds": slowest,
                "budget_seconds": BUDGET_SECONDS,
                "within_budget": slowest <= BUDGET_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
