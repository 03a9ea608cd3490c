"""Evaluates a contract (contracts.yaml) against a warehouse table: passed / failed / errored.

Decisions (see ARCHITECTURE.md): an ephemeral GX 1.x context per validation, no dagster-ge.
DuckDB tables are validated through a pandas DataFrame batch because GX's SQL route reports
false failures on DuckDB schemas other than `main`; Postgres tables through a SQL table asset so
the work stays in the database. Large DuckDB tables are *sampled deterministically*: above
`sample_above_rows` the DataFrame holds only the rows whose key hashes into the sample (the same
rows every run). A sample cannot prove a column unique, so then uniqueness is counted in SQL over
the whole table; row count, distribution and freshness never use the sample either (guards.py).

A validation that could not look at the data (missing table, refused connection, an expectation
that raised) is *errored*, never *failed*. A required column that is missing or retyped is a
*failure* of the contract, naming the column: the source broke its promise, and the platform
could still look.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import uuid
import warnings
from dataclasses import replace
from typing import Any

from expectations import history
from expectations.config import Contract, Severity, load_contracts, load_settings
from expectations.guards import duplicate_values, evaluate_guards, fingerprint, quote
from expectations.outcome import ExpectationFailure, Status, ValidationOutcome, mask_value
from expectations.session import Session, session
from expectations.suites import contract_expectations
from warehouse import Warehouse

__all__ = ["ExpectationFailure", "ValidationOutcome", "validate_contract", "validate_table"]

SAMPLE_SIZE = 5
MAX_TEXT = 200  # a sample value or error is metadata shown in the Dagster UI, not a data dump
MAX_ERROR = 500

# GX logs every metric it could not compute at WARNING/ERROR with tracebacks; those are
# reduced to one line in the outcome, so the raw logs would only repeat them noisily.
logging.getLogger("great_expectations").setLevel(logging.CRITICAL)


def validate_contract(warehouse: Warehouse, suite: str, *, record: bool = False) -> ValidationOutcome:
    """Validate the contract's own table. `record=True` (the Dagster check) keeps the measured
    profile as the next baseline when nothing blocking failed."""
    contract = _contract(suite)
    return validate_table(warehouse, suite, warehouse.schema(contract.schema), contract.table, record=record)


def validate_table(
    warehouse: Warehouse, suite: str, schema: str, table: str, *, record: bool = False
) -> ValidationOutcome:
    """Validate `schema.table` against the named contract; never raises for warehouse or GX trouble.

    An unknown suite name raises ValueError: that is a bug in the caller, not a state of the data.
    """
    contract = _contract(suite)
    target = f"{schema}.{table}"
    row_count: int | None = None
    try:
        if warehouse.is_duckdb and warehouse.path is not None and not warehouse.path.exists():
            # Checked first because connecting would create an empty warehouse file as a side effect.
            missing = f"table {target} does not exist: there is no warehouse file at {warehouse.display}"
            return _errored(suite, target, missing)
        with session(warehouse) as db:
            if not db.table_exists(schema, table):
                return _errored(suite, target, f"table {target} does not exist in {warehouse.display}")
            baseline = history.previous(db, suite)
            content = fingerprint(db, contract, schema, table)
            if baseline is not None and baseline.fingerprint == content:
                return ValidationOutcome(suite, target, "passed", 0, [], None, baseline.row_count, unchanged=True)
            facts = evaluate_guards(db, _retarget(contract, schema, table), baseline)
            row_count = facts.profile.row_count
            gx = _run_gx(warehouse, db, contract, schema, table, facts.columns, row_count)
        gx_failures, gx_evaluated, errors, sampled = gx
    except Exception as exc:  # the contract could not be evaluated: report it, don't judge the data
        return _errored(suite, target, _one_line(exc, warehouse), row_count)
    evaluated = facts.evaluated + gx_evaluated
    failures = facts.failures + gx_failures
    if errors:
        error = "; ".join(_redact(e, warehouse) for e in errors)[:MAX_ERROR]
        return ValidationOutcome(suite, target, "errored", evaluated, failures, error, row_count, sampled)
    status: Status = "failed" if failures else "passed"
    outcome = ValidationOutcome(suite, target, status, evaluated, failures, None, row_count, sampled)
    if record and outcome.success and (schema, table) == (warehouse.schema(contract.schema), contract.table):
        kept = content if status == "passed" else None  # a pass with warnings is re-checked every time
        history.record(warehouse, suite, replace(facts.profile, fingerprint=kept))
    return outcome


def _contract(suite: str) -> Contract:
    contracts = load_contracts()
    if suite not in contracts:
        raise ValueError(f"unknown GX suite {suite!r}; known suites: {sorted(contracts)}")
    return contracts[suite]


def _retarget(contract: Contract, schema: str, table: str) -> Contract:
    return replace(contract, schema=schema, table=table)


def _run_gx(
    warehouse: Warehouse,
    db: Session,
    contract: Contract,
    schema: str,
    table: str,
    columns: dict[str, str],
    row_count: int,
) -> tuple[list[ExpectationFailure], int, list[str], int | None]:
    pairs = contract_expectations(contract, present_columns=columns)
    if not pairs:
        return [], 0, [], None
    severities: dict[tuple[str, str | None], Severity] = {}
    for expectation, severity in pairs:
        key = (expectation.expectation_type, getattr(expectation, "column", None))
        severities[key] = "error" if "error" in (severity, severities.get(key)) else severity
    settings = load_settings()
    sample = warehouse.is_duckdb and row_count > int(settings["sample_above_rows"]) and contract.key in columns
    sql_side: list[ExpectationFailure] = []
    if sample:
        # A sample cannot prove a column unique: that one is counted over the whole table in SQL.
        unique = [(e, sev) for e, sev in pairs if e.expectation_type == "expect_column_values_to_be_unique"]
        pairs = [pair for pair in pairs if pair not in unique]
        for expectation, severity in unique:
            sql_side += duplicate_values(db, schema, table, expectation.column, severity)
    expectations = [expectation for expectation, _ in pairs]
    sampled = None
    if warehouse.is_duckdb:
        needed = list(dict.fromkeys(getattr(e, "column", None) for e in expectations))
        relation = f"{quote(schema)}.{quote(table)}"
        select = ", ".join(quote(c) for c in needed if c)
        if sample:
            buckets = max(1, math.ceil(row_count / int(settings["sample_rows"])))
            key = quote(str(contract.key))
            frame = db.query_df(f"select {select} from {relation} where hash({key}) % {buckets} = 0")
            sampled = len(frame)
        else:
            frame = db.query_df(f"select {select} from {relation}")
        result = _validate_dataframe(contract.suite, table, frame, expectations)
    else:
        result = _validate_postgres_table(warehouse, contract.suite, schema, table, expectations)
    failures, errors = _reduce(result, severities)
    return sql_side + failures, len(result.results) + len(sql_side), errors, sampled


def _context() -> Any:
    """A fresh in-memory context: nothing on disk to drift, nothing shared between runs.

    GX is imported here, not at module level, so loading the Dagster code location does not
    pay its multi-second import; only a process that actually validates does.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # tqdm bars would interleave with Dagster's captured stderr on every check.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _suite(context: Any, suite: str, expectations: list[Any]) -> Any:
    import great_expectations as gx

    return context.suites.add(gx.ExpectationSuite(name=suite, expectations=expectations))


def _validate_dataframe(suite: str, table: str, frame: Any, expectations: list[Any]) -> Any:
    context = _context()
    name = f"leadloop_{uuid.uuid4().hex[:8]}"
    asset = context.data_sources.add_pandas(name).add_dataframe_asset(name=table)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(_suite(context, suite, expectations))


def _validate_postgres_table(warehouse: Warehouse, suite: str, schema: str, table: str, expectations: list[Any]) -> Any:
    context = _context()
    name = f"leadloop_{uuid.uuid4().hex[:8]}"
    source = context.data_sources.add_postgres(name, connection_string=warehouse.sqlalchemy_url)
    with warnings.catch_warnings():
        # GX 1.14+ deprecates schema_name in favour of a search_path in the connection string;
        # the explicit schema is the documented project decision and keeps one URL per warehouse.
        warnings.filterwarnings("ignore", message="`schema_name` is deprecated", category=DeprecationWarning)
        asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    return batch.validate(_suite(context, suite, expectations))


# ---------------------------------------------------------------------------------- reduction
def _reduce(
    result: Any, severities: dict[tuple[str, str | None], Severity]
) -> tuple[list[ExpectationFailure], list[str]]:
    failures: list[ExpectationFailure] = []
    errors: list[str] = []
    for item in result.results:
        config = item.expectation_config
        column = config.kwargs.get("column")
        raised = _raised_message(item.exception_info)
        if raised is not None:
            where = f"({column})" if column else ""
            errors.append(f"{config.type}{where} raised: {raised}")
            continue
        if item.success:
            continue
        detail = item.result or {}
        unexpected = detail.get("unexpected_count")
        sample = (detail.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
        failures.append(
            ExpectationFailure(
                expectation=config.type,
                column=column,
                observed=mask_value(_jsonable(detail.get("observed_value")), column),
                unexpected_count=int(unexpected) if unexpected is not None else None,
                sample=[mask_value(_jsonable(v), column) for v in sample],
                severity=severities.get((config.type, column), "error"),
            )
        )
    if not result.success and not failures and not errors:
        errors.append("GX reported the suite unsuccessful without naming a failed expectation")
    return failures, errors


def _raised_message(exception_info: Any) -> str | None:
    """The first exception GX caught while computing an expectation, or None.

    GX 1.x reports it in two shapes: flat (`{"raised_exception": ...}`) when the expectation
    itself raised, and keyed by metric id when a metric it needs raised (e.g. a missing column).
    Missing the second shape would turn a broken schema into a "data failed" verdict.
    """
    if not isinstance(exception_info, dict):
        return None
    candidates = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in candidates:
        if isinstance(info, dict) and str(info.get("raised_exception")).lower() == "true":
            message = str(info.get("exception_message") or "").strip()
            return message.splitlines()[0] if message else "an exception without a message"
    return None


# ---------------------------------------------------------------------------------- helpers
def _errored(suite: str, target: str, error: str, row_count: int | None = None) -> ValidationOutcome:
    return ValidationOutcome(suite, target, "errored", 0, [], error, row_count)


def _one_line(exc: BaseException, warehouse: Warehouse) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {_redact(text, warehouse)}"[:MAX_ERROR]


def _redact(text: str, warehouse: Warehouse) -> str:
    """Error text from drivers and GX may echo the connection string; metadata is widely read."""
    text = text.replace(warehouse.sqlalchemy_url, warehouse.display).replace(warehouse.url, warehouse.display)
    if warehouse.password:
        text = text.replace(warehouse.password, "***")
    return text


def _jsonable(value: Any) -> Any:
    """Numpy scalars, NaN and long strings out, so metadata serialises and stays short."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        text = str(value)
        return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
    return value
