"""Sensors: a file landing starts only what it feeds, and a failed run tells someone.

A partner drop, a day of web events or an erasure request should not wait for the nightly cron,
and should not reload every CRM either: each landing folder requests just the assets that read
it (what is downstream follows by the automation conditions). A failed run is logged always and
posted to a Slack-compatible webhook when `LEADLOOP_ALERT_WEBHOOK_URL` is set.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

import requests
from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from orchestration.assets.identity import identity_resolution
from orchestration.resources import LandingZoneResource

logger = logging.getLogger("leadloop.alerts")
WEBHOOK_ENV = "LEADLOOP_ALERT_WEBHOOK_URL"
ERASURE_FOLDER = "erasure"  # silver/erasure.py reads <landing>/erasure/*.csv


def landed_files(url: str) -> dict[str, float]:
    """Every file under `url` (any fsspec URL) with its modification time, or {} if it is absent."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    if not fs.exists(root):
        return {}
    found: dict[str, float] = {}
    for path, info in fs.find(root, detail=True).items():
        stamp = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or 0
        found[path] = stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp)
    return found


def new_files(found: dict[str, float], cursor: str | None) -> tuple[list[str], str]:
    """Files newer than the cursor (the newest modification time already handled), and the new
    cursor. With no cursor yet (a sensor just turned on) nothing is new: the sensor watches from
    now, and what landed before loads on the sources cron, not as a surprise run at start-up."""
    newest = max(found.values(), default=0.0)
    if cursor is None:
        return [], str(newest)
    seen = float(cursor)
    fresh = sorted(path for path, stamp in found.items() if stamp > seen)
    return fresh, str(max(newest, seen))


def landing_sensor(
    name: str, folder: Callable[[LandingZoneResource], str], targets: AssetSelection
) -> SensorDefinition:
    """A sensor that requests `targets` when a file lands in (or changes under) `folder`."""

    @sensor(
        name=name,
        asset_selection=targets,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description=f"New files in the landing folder start {name.removesuffix('_sensor')}: only what reads them.",
    )
    def _sensor(context: SensorEvaluationContext, landing: LandingZoneResource) -> SensorResult:
        fresh, cursor = new_files(landed_files(folder(landing)), context.cursor)
        if not fresh:
            return SensorResult(skip_reason=SkipReason("no new files"), cursor=cursor)
        # The newest file names the request: the same drop never starts two runs.
        return SensorResult(run_requests=[RunRequest(run_key=f"{name}:{cursor}")], cursor=cursor)

    return _sensor


def _bronze(source: str) -> AssetSelection:
    return AssetSelection.groups(f"bronze_{source}")


def build_landing_sensors() -> list[SensorDefinition]:
    return [
        landing_sensor("partner_drops_sensor", lambda landing: landing.partner_drops(), _bronze("partners")),
        landing_sensor(
            "web_events_sensor",
            lambda landing: f"{landing.events().rstrip('/')}/web_events",
            _bronze("web_events"),
        ),
        # Erasure requests are registered by identity resolution, which then leaves the people out.
        landing_sensor(
            "erasure_requests_sensor",
            lambda landing: f"{landing.events().rstrip('/')}/{ERASURE_FOLDER}",
            AssetSelection.assets(identity_resolution),
        ),
    ]


def failure_message(context: RunFailureSensorContext) -> str:
    """One line: which job, which run, the failure's first line (no record values)."""
    run = context.dagster_run
    error = (context.failure_event.message or "").strip().splitlines()
    return f"Leadloop run failed: job {run.job_name}, run {run.run_id[:8]}: {error[0] if error else 'no message'}"


def post_alert(url: str, text: str) -> None:
    """Slack's incoming-webhook body ({"text": …}), which Teams, Mattermost and others accept too."""
    response = requests.post(
        url, data=json.dumps({"text": text}), headers={"Content-Type": "application/json"}, timeout=10
    )
    response.raise_for_status()


@run_failure_sensor(
    name="run_failure_alert",
    monitor_all_code_locations=False,
    default_status=DefaultSensorStatus.RUNNING,
    description=f"Logs every failed run; posts it to ${WEBHOOK_ENV} when set.",
)
def run_failure_alert(context: RunFailureSensorContext) -> None:
    text = failure_message(context)
    logger.error(text)
    context.log.error(text)
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        try:
            post_alert(url, text)
        except requests.RequestException as exc:  # an alert that cannot be sent must not hide the failure
            context.log.warning(f"alert webhook failed: {type(exc).__name__}")


def build_sensors() -> list[Any]:
    return [*build_landing_sensors(), run_failure_alert]
