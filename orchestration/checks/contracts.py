"""Great Expectations contracts as blocking Dagster asset checks.

A failed contract stops everything downstream in the run, so a broken source pauses the syncs
instead of pushing wrong scores. A suite that could not run at all (missing table, refused
connection) fails the check's step with the error, rather than claiming the data is bad.
"""

from dataclasses import dataclass

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    Failure,
    asset_check,
)

from expectations.runner import validate_table
from orchestration.resources import WarehouseResource


@dataclass(frozen=True)
class Contract:
    suite: str
    schema: str
    table: str

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey([self.schema, self.table])


CONTRACTS: tuple[Contract, ...] = (
    Contract(suite="salesforce_lead_scores", schema="gold", table="salesforce_lead_scores"),
)


def build_contract_check(contract: Contract) -> AssetChecksDefinition:
    @asset_check(
        asset=contract.asset_key,
        name=f"gx_{contract.suite}_contract",
        blocking=True,
        description=f"Great Expectations suite `{contract.suite}` on {contract.schema}.{contract.table}.",
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        outcome = validate_table(warehouse.get(), contract.suite, contract.schema, contract.table)
        if outcome.status == "errored":
            raise Failure(
                description=f"GX suite {contract.suite} could not run: {outcome.error}",
                metadata=outcome.to_metadata(),
            )
        if not outcome.success:
            context.log.warning(
                "GX suite %s failed on %s.%s: %d expectation(s)",
                contract.suite,
                contract.schema,
                contract.table,
                len(outcome.failures),
            )
        return AssetCheckResult(
            passed=outcome.success, severity=AssetCheckSeverity.ERROR, metadata=outcome.to_metadata()
        )

    return _check


def build_contract_checks() -> list[AssetChecksDefinition]:
    return [build_contract_check(contract) for contract in CONTRACTS]
