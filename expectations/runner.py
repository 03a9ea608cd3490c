"""Runs a GX suite against a warehouse table and reduces the result to passed / failed / errored.

Decisions (see ARCHITECTURE.md): an ephemeral GX 1.x context per validation, no dagster-ge.
DuckDB tables are validated through a pandas DataFrame batch because GX's SQL route reports
false failures on DuckDB schemas other than `main`; Postgres tables through a SQL table asset so
the work stays in the database. A validation that could not look at the data (missing table,
refused connection, an expectation that raised) is *errored*, never *failed*: "we could not
look" pages whoever owns the platform, "the data is bad" pages whoever owns the source.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from expectations.suites import SUITES  # also switches GX analytics off before GX is imported
from warehouse import Warehouse

Status = Literal["passed", "failed", "errored"]

SAMPLE_SIZE = 5
MAX_TEXT = 200  # a sample value or error is metadata shown in the Dagster UI, not a data dump
MAX_ERROR = 500

# GX logs every metric it could not compute at WARNING/ERROR with tracebacks; those are
# reduced to one line in the outcome, so the raw logs would only repeat them noisily.
logging.getLogger("great_expectations").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation the data did not meet, small enough to travel as Dagster metadata."""

    expectation: str
    column: str | None
    observed: Any
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)

    @property
    def summary(self) -> str:
        where = f"({self.column})" if self.column else ""
        if self.unexpected_count is not None:
            return f"{self.expectation}{where}: {self.unexpected_count} unexpected, e.g. {self.sample}"
        return f"{self.expectation}{where}: observed {self.observed!r}"


@dataclass(frozen=True)
class ValidationOutcome:
    """What the asset check reports; `status` keeps "could not run" apart from "data is bad"."""

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
        """Plain JSON values only, so Dagster can store them and the UI can render them."""
        return {
            "suite": self.suite,
            "target": self.target,
            "status": self.status,
            "expectations_evaluated": self.evaluated,
            "expectations_failed": len(self.failures),
            "failures": [{**asdict(f), "summary": f.summary} for f in self.failures],
            "row_count": self.row_count,
            "error": self.error,
        }


def validate_table(warehouse: Warehouse, suite: str, schema: str, table: str) -> ValidationOutcome:
    """Validate `schema.table` against the named suite; never raises for warehouse or GX trouble.

    An unknown suite name raises ValueError: that is a bug in the caller, not a state of the data.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown GX suite {suite!r}; known suites: {sorted(SUITES)}")
    target = f"{schema}.{table}"
    row_count: int | None = None
    try:
        missing = _why_missing(warehouse, schema, table)
        if missing:
            return _errored(suite, target, missing)
        relation = f"{_quote(schema)}.{_quote(table)}"
        if warehouse.is_duckdb:
            frame = warehouse.query_df(f"select * from {relation}")
            row_count = len(frame)
            result = _validate_dataframe(suite, table, frame)
        else:
            row_count = int(warehouse.query(f"select count(*) from {relation}")[0][0])
            result = _validate_postgres_table(warehouse, suite, schema, table)
    except Exception as exc:  # the contract could not be evaluated: report it, don't judge the data
        return _errored(suite, target, _one_line(exc, warehouse), row_count)
    return _reduce(suite, target, result, row_count, warehouse)


# ---------------------------------------------------------------------------------- GX runs
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


def _suite(context: Any, suite: str) -> Any:
    import great_expectations as gx

    return context.suites.add(gx.ExpectationSuite(name=suite, expectations=SUITES[suite]()))


def _validate_dataframe(suite: str, table: str, frame: Any) -> Any:
    context = _context()
    name = f"leadloop_{uuid.uuid4().hex[:8]}"
    asset = context.data_sources.add_pandas(name).add_dataframe_asset(name=table)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(_suite(context, suite))


def _validate_postgres_table(warehouse: Warehouse, suite: str, schema: str, table: str) -> Any:
    context = _context()
    name = f"leadloop_{uuid.uuid4().hex[:8]}"
    source = context.data_sources.add_postgres(name, connection_string=warehouse.sqlalchemy_url)
    with warnings.catch_warnings():
        # GX 1.14+ deprecates schema_name in favour of a search_path in the connection string;
        # the explicit schema is the documented project decision and keeps one URL per warehouse.
        warnings.filterwarnings("ignore", message="`schema_name` is deprecated", category=DeprecationWarning)
        asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    return batch.validate(_suite(context, suite))


# ---------------------------------------------------------------------------------- reduction
def _reduce(suite: str, target: str, result: Any, row_count: int | None, warehouse: Warehouse) -> ValidationOutcome:
    failures: list[ExpectationFailure] = []
    errors: list[str] = []
    for item in result.results:
        config = item.expectation_config
        column = config.kwargs.get("column")
        raised = _raised_message(item.exception_info)
        if raised is not None:
            where = f"({column})" if column else ""
            errors.append(f"{config.type}{where} raised: {_redact(raised, warehouse)}")
            continue
        if item.success:
            continue
        detail = item.result or {}
        unexpected = detail.get("unexpected_count")
        failures.append(
            ExpectationFailure(
                expectation=config.type,
                column=column,
                observed=_jsonable(detail.get("observed_value")),
                unexpected_count=int(unexpected) if unexpected is not None else None,
                sample=[_jsonable(v) for v in (detail.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]],
            )
        )
    evaluated = len(result.results)
    if errors:
        error = "; ".join(errors)[:MAX_ERROR]
        return ValidationOutcome(suite, target, "errored", evaluated, failures, error, row_count)
    if not result.success and not failures:
        error = "GX reported the suite unsuccessful without naming a failed expectation"
        return ValidationOutcome(suite, target, "errored", evaluated, [], error, row_count)
    status: Status = "failed" if failures else "passed"
    return ValidationOutcome(suite, target, status, evaluated, failures, None, row_count)


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
def _why_missing(warehouse: Warehouse, schema: str, table: str) -> str | None:
    if warehouse.is_duckdb and warehouse.path is not None and not warehouse.path.exists():
        # Checked first because connecting would create an empty warehouse file as a side effect.
        return f"table {schema}.{table} does not exist: there is no warehouse file at {warehouse.display}"
    if not warehouse.table_exists(schema, table):
        return f"table {schema}.{table} does not exist in {warehouse.display}"
    return None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


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
