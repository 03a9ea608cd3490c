"""Great Expectations contracts (expectations/contracts.yaml) as Dagster asset checks.

One plain `@asset_check` per contract. A contract of severity `error` feeds a sync: its check is
*blocking*, so a failure stops everything downstream in the run, and the sync assets refuse to
send on their own (orchestration/assets/syncs.py) when its latest evaluation is not a current
pass. A contract that could not run at all (missing table, refused connection, a broken suite)
fails the check's step with the error, rather than claiming the data is bad.
"""

from collections.abc import Iterable

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    Failure,
    asset_check,
)

from expectations.config import Contract, load_contracts
from expectations.runner import validate_contract
from orchestration.resources import WarehouseResource


def asset_key(contract: Contract) -> AssetKey:
    return AssetKey([contract.schema, contract.table])


def check_name(contract: Contract) -> str:
    return f"gx_{contract.suite}_contract"


def check_key(contract: Contract) -> AssetCheckKey:
    return AssetCheckKey(asset_key(contract), check_name(contract))


def _description(contract: Contract) -> str:
    kind = "blocking (ERROR): feeds a sync" if contract.blocking else "warning (WARN): feeds no sync"
    return (
        f"[{kind}] Contract `{contract.suite}` on {contract.target}. {contract.description} "
        f"Every expectation in plain words: docs/contracts/{contract.suite}.md."
    )


def build_contract_check(contract: Contract) -> AssetChecksDefinition:
    @asset_check(
        asset=asset_key(contract),
        name=check_name(contract),
        blocking=contract.blocking,
        description=_description(contract),
        metadata={"severity": "ERROR" if contract.blocking else "WARN", "contract": contract.suite},
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        outcome = validate_contract(warehouse.get(), contract.suite, record=True)
        if outcome.status == "errored":
            raise Failure(description=outcome.headline, metadata=outcome.to_metadata())
        if outcome.failures:
            context.log.warning(outcome.headline)
        # An ERROR result fails the blocking gate; failures that are all warnings are shown as such.
        severity = AssetCheckSeverity.ERROR if outcome.blocking_failures else AssetCheckSeverity.WARN
        return AssetCheckResult(passed=not outcome.failures, severity=severity, metadata=outcome.to_metadata())

    return _check


def build_contract_checks(asset_keys: Iterable[AssetKey] | None = None) -> list[AssetChecksDefinition]:
    """A check per contract; an `optional` contract only once its table's asset is in the graph
    (`asset_keys`), so contracts for tables still being built can be declared ahead of them."""
    known = None if asset_keys is None else set(asset_keys)
    return [
        build_contract_check(contract)
        for contract in load_contracts().values()
        if not contract.optional or (known is not None and asset_key(contract) in known)
    ]
