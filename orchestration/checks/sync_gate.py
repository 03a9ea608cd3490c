"""A sync cannot step around its source's contract.

A blocking check only blocks within the run that evaluates it: materializing the sync asset
alone (one click in the UI) would otherwise send whatever gold holds. So before a sync sends,
each blocking contract on its source table must have a *current pass*: the latest evaluation
of its check passed (or failed only on warnings) and is newer than the source's latest
materialization. When it is not (failed, errored, never ran, or older than the data), the sync
evaluates the contract itself on the table it is about to read, and refuses to send unless that
passes. The data about to be sent is what is judged, so data fixed outside Dagster is not
refused forever because of a stale failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetCheckSeverity, DagsterInstance

from expectations.config import Contract, contracts_for
from expectations.runner import validate_contract
from orchestration.checks.contracts import asset_key, check_key
from warehouse import Warehouse


@dataclass(frozen=True)
class GateDecision:
    allowed: bool
    line: str  # one line for the log or the refusal
    evaluated_here: tuple[str, ...] = ()


def _current_pass(instance: DagsterInstance, contract: Contract) -> bool:
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    key = check_key(contract)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key]).get(key)
    if record is None or record.event is None or record.evaluation is None:
        return False
    evaluation = record.evaluation
    if record.status == AssetCheckExecutionRecordStatus.FAILED:
        if evaluation.passed is False and evaluation.severity == AssetCheckSeverity.ERROR:
            return False
    elif record.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
        return False
    materialization = instance.get_latest_materialization_event(asset_key(contract))
    return materialization is None or record.event.timestamp >= materialization.timestamp


def gate(instance: DagsterInstance | None, warehouse: Warehouse, sync: str, schema: str, table: str) -> GateDecision:
    """Whether `sync` may send from `schema.table`, and why, in one line. Without a Dagster
    instance (`leadloop sync`) there is no check history to trust: every contract is evaluated."""
    evaluated: list[str] = []
    for contract in contracts_for(schema, table):
        if not contract.blocking or (instance is not None and _current_pass(instance, contract)):
            continue
        outcome = validate_contract(warehouse, contract.suite)
        evaluated.append(contract.suite)
        if not outcome.success:
            line = f"{sync} refused to send: {outcome.headline}"
            return GateDecision(False, line, tuple(evaluated))
    how = f"evaluated here: {', '.join(evaluated)}" if evaluated else "latest checks passed after the last update"
    return GateDecision(True, f"{sync}: source {schema}.{table} meets its contracts ({how})", tuple(evaluated))
