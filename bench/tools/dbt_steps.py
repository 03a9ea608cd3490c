"""Times the loop's three dbt steps alone on a copy of a kept warehouse: an A/B of a dbt change
without a whole loop (issue 24).

Each step runs what Dagster's step runs (orchestration/assets/dbt.py: the same selection, the
step's source tests, `buildable` indirect selection, no unit tests) as plain `dbt build`, in
the steps' order, on a fresh copy of the warehouse, so a before and an after start from the
same data. dbt here starts cold (no fork server, no kept partial parse), so compare `elapsed`
(dbt's own, from its first node), `node_seconds` and `cpu_seconds`, not `wall`. The machine
is shared: the load average is printed with the figures.

Usage: python bench/tools/dbt_steps.py WAREHOUSE.duckdb COPY.duckdb LABEL
       (WAREHOUSE: e.g. the one `bench/lead_loop.py --keep DIR` leaves in DIR; COPY is
       overwritten; each step's run_results.json is kept in /tmp/dbt_steps/LABEL-<step>/)
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from orchestration.assets.dbt import (  # noqa: E402
    DBT_PROJECT_DIR,
    PIPELINE_BUILD_ARGS,
    STEP_NAMES,
    dbt_steps,
    prepare_manifest,
    source_test_steps,
)
from warehouse import Warehouse  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    base, copy, label = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    shutil.copyfile(base, copy)
    warehouse = Warehouse.from_url(f"duckdb:///{copy.resolve()}")
    env = {**os.environ, **warehouse.dbt_env(), "DBT_INDIRECT_SELECTION": "buildable"}
    manifest = json.loads(prepare_manifest().read_text())
    tests = source_test_steps(manifest)
    by_step = dbt_steps(manifest)
    steps = {}
    for step in STEP_NAMES:
        names = by_step[step] + sorted(manifest["nodes"][test]["name"] for test, s in tests.items() if s == step)
        target = Path("/tmp/dbt_steps") / f"{label}-{step}"
        shutil.rmtree(target, ignore_errors=True)
        command = [str(Path(sys.executable).with_name("dbt")), "build", *PIPELINE_BUILD_ARGS]
        command += ["--select", " ".join(names), "--target-path", str(target), "--quiet"]
        command += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        cpu, started = cpu_seconds(), time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        if done.returncode:
            sys.exit(f"{step} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        results = json.loads((target / "run_results.json").read_text())
        kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for node in results["results"]:
            kind = kinds[node["unique_id"].split(".")[0]]
            kind[0] += 1
            kind[1] = round(kind[1] + node["execution_time"], 2)
        steps[step] = {
            "wall": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "elapsed": round(results["elapsed_time"], 2),
            "nodes": len(results["results"]),
            "node_seconds": round(sum(node["execution_time"] for node in results["results"]), 2),
            "by_kind": dict(kinds),
        }
    totals = {field: round(sum(s[field] for s in steps.values()), 2) for field in ("wall", "cpu_seconds", "elapsed")}
    totals["node_seconds"] = round(sum(s["node_seconds"] for s in steps.values()), 2)
    load = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps({"label": label, **totals, "load_average": load, "steps": steps}))


if __name__ == "__main__":
    main()
