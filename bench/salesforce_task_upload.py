"""Benchmark: the Salesforce sandbox applying one Bulk API 2.0 upsert of Tasks into a large org
(issue 24: a day at 1M leads uploads 17k Tasks, the first day 178k, into an org of 545k).

Times the sandbox's own work only (its Bulk job's processing, in this process: no HTTP, no
client) on a copy of an org's state file, so a change to how the sandbox stores records is
measured where the loop's wall clock cannot separate it from the client's share. Each Task
carries a new key of `Leadloop_Task_Key__c`, so every row is a create, as on a day.

Usage: python bench/salesforce_task_upload.py ORG.sqlite [--tasks N]
       (ORG: `world/salesforce.sqlite` of a world, e.g. one `bench/lead_loop.py --keep DIR`
       left; it is copied, never written)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.salesforce.server import SalesforceApi  # noqa: E402
from sandbox.salesforce.store import Store  # noqa: E402


def upload_seconds(org: Path, tasks: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(dir=org.parent) as tmp:
        copy = Path(tmp) / "salesforce.sqlite"
        shutil.copy(org, copy)
        store = Store(copy)
        try:
            (existing,) = store.conn.execute('select count(*) from "Task"').fetchone()
            api = SalesforceApi(store, "bench-token", daily_api_limit=10**9, page_size=2000)
            job = api.bulk._create(
                "ingest",
                {"object": "Task", "operation": "upsert", "externalIdFieldName": "Leadloop_Task_Key__c"},
            )
            body = io.StringIO()
            writer = csv.writer(body, lineterminator="\n")
            writer.writerow(["Subject", "Status", "Priority", "Leadloop_Task_Key__c"])
            writer.writerows([f"Call back {n}", "Not Started", "Normal", f"bench-{n}"] for n in range(tasks))
            api.bulk._upload(job, body.getvalue().encode())
            started = time.perf_counter()
            api.bulk._set_state(job, "UploadComplete")
            seconds = time.perf_counter() - started
        finally:
            store.close()
    return {
        "benchmark": "salesforce_task_upload",
        "tasks_in_org": int(existing),
        "tasks_uploaded": tasks,
        "created": len(job.successes),
        "failed": len(job.failures),
        "seconds": round(seconds, 2),
        "tasks_per_s": round(tasks / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("org", type=Path, help="a world's salesforce.sqlite")
    parser.add_argument("--tasks", type=int, default=17_218, help="Tasks in the job (default: a day at 1M leads)")
    args = parser.parse_args()
    print(json.dumps(upload_seconds(args.org, args.tasks)))


if __name__ == "__main__":
    main()
