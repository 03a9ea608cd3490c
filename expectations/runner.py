"""Runs a GX suite against a warehouse table and reduces the result to passed / failed / errored.

Decisions (see ARCHITECTURE.md): an ephemeral GX 1.x context, no dagster-ge. DuckDB tables are
validated through a DataFrame batch because GX's SQL route reports false failures on DuckDB
schemas other than `main`; Postgres through a table asset so the work stays in the database.
An expectation that raised is an *errored* validation, never a *failed* one: "we could not
look" and "the data is bad" call for different people.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from orchestration.warehouse import Warehouse

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from expectations.suites import SUITES  # noqa: E402

Status = Literal["passed", "failed", "errored"]


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str
    column: str | None
    observed: Any
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ValidationOutcome:
    suite: str
    target: str
    status: Status
    evaluated: int
    failures: list[ExpectationFailure]
    error: str | None = None
    row_count: int | None = None

    @property
    def success(self) -> bool:
        return self.status == "passed"

    def to_metadata(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "target": self.target,
            "status": self.status,
            "expectations_evaluated": self.evaluated,
            "expectations_failed": len(self.failures),
            "failures": [asdict(f) for f in self.failures],
            "row_count": self.row_count,
            "error": self.error,
        }


def validate_table(warehouse: Warehouse, suite: str, schema: str, table: str) -> ValidationOutcome:
    if suite not in SUITES:
        raise ValueError(f"unknown GX suite {suite!r}; known: {sorted(SUITES)}")
    target = f"{schema}.{table}"
    try:
        if not warehouse.table_exists(schema, table):
            return _errored(suite, target, f"table {target} does not exist in {warehouse.display}")
        row_count = int(warehouse.query(f'select count(*) from "{schema}"."{table}"')[0][0])
        result = _run(warehouse, suite, schema, table)
    except Exception as exc:  # the contract could not be evaluated: report, don't judge the data
        return _errored(suite, target, _one_line(exc, warehouse))
    return _reduce(suite, target, result, row_count)


def _run(warehouse: Warehouse, suite_name: str, schema: str, table: str) -> Any:
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    name = f"leadloop_{uuid.uuid4().hex[:8]}"
    if warehouse.is_duckdb:
        frame = warehouse.query_df(f'select * from "{schema}"."{table}"')
        asset = context.data_sources.add_pandas(name).add_dataframe_asset(name=table)
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    else:
        source = context.data_sources.add_postgres(name, connection_string=warehouse.sqlalchemy_url)
        asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
        batch = asset.add_batch_definition_whole_table("all").get_batch()
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=SUITES[suite_name]()))
    return batch.validate(suite)


def _reduce(suite: str, target: str, result: Any, row_count: int) -> ValidationOutcome:
    failures, errors = [], []
    for item in result.results:
        config = item.expectation_config
        exception = item.exception_info or {}
        if exception.get("raised_exception"):
            errors.append(f"{config.type}: {str(exception.get('exception_message', '')).splitlines()[0:1]}")
            continue
        if item.success:
            continue
        detail = item.result or {}
        failures.append(
            ExpectationFailure(
                expectation=config.type,
                column=config.kwargs.get("column"),
                observed=_jsonable(detail.get("observed_value")),
                unexpected_count=detail.get("unexpected_count"),
                sample=[_jsonable(v) for v in (detail.get("partial_unexpected_list") or [])[:5]],
            )
        )
    evaluated = len(result.results)
    if errors:
        return ValidationOutcome(suite, target, "errored", evaluated, failures, "; ".join(errors), row_count)
    return ValidationOutcome(suite, target, "failed" if failures else "passed", evaluated, failures, None, row_count)


def _errored(suite: str, target: str, error: str) -> ValidationOutcome:
    return ValidationOutcome(suite, target, "errored", 0, [], error, None)


def _one_line(exc: Exception, warehouse: Warehouse) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if warehouse.password:
        text = text.replace(warehouse.password, "***")
    return f"{type(exc).__name__}: {text}"[:500]


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)
