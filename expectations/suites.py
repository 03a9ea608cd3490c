"""GX suites built from contracts.yaml: the value-level expectations of each contract.

Each call returns fresh expectation objects rather than a module-level list: GX binds an
expectation to the suite it is added to, so sharing instances between validations (or between
threads in one Dagster process) would leak state from one run into the next. GX is imported
inside the functions: importing it takes seconds, and this module is imported whenever Dagster
loads the code location, long before (or without) any check running.

Table-level rules (required columns and types, row count against history, freshness, score
distribution and its number of distinct scores) are not GX expectations here: they are SQL
aggregates over the whole table in `expectations.guards`, so they stay exact when a large DuckDB
table is validated on a sample.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from expectations.config import FORMATS, ColumnRule, Contract, Severity

# Set before GX is first imported anywhere in the package: it reads the variable when a context
# is created, and a validation inside a pipeline run has no business phoning home.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

if TYPE_CHECKING:
    import great_expectations.expectations as gxe

GRADES = ("A", "B", "C", "D")
COUNTRY_SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "country_codes.csv"


@cache
def iso_countries() -> tuple[str, ...]:
    """Every ISO 3166 alpha-2 code: the regions libphonenumber knows (the project already reads
    phones with it, and a phone's country becomes a record's country), plus the dbt seed's.

    Not the seed alone: it lists the countries scoring cares about, while a record may rightly
    come from any country (a +1 876 phone is Jamaica's)."""
    import phonenumbers

    with COUNTRY_SEED.open(encoding="utf-8", newline="") as handle:
        seed = {row["alpha2"] for row in csv.DictReader(handle)}
    return tuple(sorted(seed | set(phonenumbers.SUPPORTED_REGIONS)))


def column_expectations(rule: ColumnRule, contract: Contract) -> list[tuple[gxe.Expectation, Severity]]:
    """The GX expectations one column rule stands for, each with the severity it fails with."""
    import great_expectations.expectations as gxe

    severity = contract.severity_of(rule.severity)
    mostly = {"mostly": rule.mostly} if rule.mostly < 1 else {}
    out: list[gxe.Expectation] = []
    if rule.not_null:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=rule.name))
    if rule.unique:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=rule.name))
    if rule.format:
        out.append(gxe.ExpectColumnValuesToMatchRegex(column=rule.name, regex=FORMATS[rule.format], **mostly))
        if rule.format == "iso_country":
            out.append(gxe.ExpectColumnValuesToBeInSet(column=rule.name, value_set=list(iso_countries()), **mostly))
    if rule.accepted is not None:
        out.append(gxe.ExpectColumnValuesToBeInSet(column=rule.name, value_set=list(rule.accepted), **mostly))
    if rule.min is not None or rule.max is not None:
        out.append(gxe.ExpectColumnValuesToBeBetween(column=rule.name, min_value=rule.min, max_value=rule.max))
    return [(e, severity) for e in out]


def contract_expectations(
    contract: Contract, present_columns: Iterable[str] | None = None
) -> list[tuple[gxe.Expectation, Severity]]:
    """Every GX expectation of the contract; a column the table lacks is left out (the schema
    guard reports it as missing, so it fails the contract instead of erroring GX)."""
    present = None if present_columns is None else set(present_columns)
    out: list[tuple[gxe.Expectation, Severity]] = []
    for rule in contract.columns:
        if present is None or rule.name in present:
            out.extend(column_expectations(rule, contract))
    return out


def needed_columns(contract: Contract) -> list[str]:
    """The columns the GX part reads: a DataFrame of only these is cheaper to fetch and check."""
    return [rule.name for rule in contract.columns if column_expectations_needed(rule)]


def column_expectations_needed(rule: ColumnRule) -> bool:
    return (
        rule.not_null
        or rule.unique
        or bool(rule.format)
        or rule.accepted is not None
        or (rule.min is not None or rule.max is not None)
    )
