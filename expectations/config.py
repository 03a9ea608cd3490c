"""The data contracts as one reviewed file (`contracts.yaml`), read into typed rules.

Bounds and severities live in YAML rather than in code so that loosening a threshold is a
one-line, visible change that the generated contract pages (docs/contracts/) explain. A config
that does not make sense raises `ContractConfigError` with one line naming the contract and the
key, because a contract that silently ignores a typo'd rule is a contract that checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

Severity = Literal["error", "warn"]
CONFIG_PATH = Path(__file__).with_name("contracts.yaml")

TYPE_FAMILIES = ("string", "integer", "number", "boolean", "timestamp", "date", "json")
FORMATS: dict[str, str] = {
    # Deliberately simple: one @, something before it, a dotted domain after it, no spaces.
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    # ITU E.164: a plus, a country code not starting with 0, at most 15 digits in all.
    "e164": r"^\+[1-9][0-9]{6,14}$",
    # Two upper-case letters; the accepted codes are ISO 3166's (see suites.iso_countries).
    "iso_country": r"^[A-Z]{2}$",
    # The canonical USPS Intelligent Mail barcode tracking code: exactly 20 digits.
    "imb": r"^[0-9]{20}$",
}


class ContractConfigError(ValueError):
    """contracts.yaml says something that cannot be turned into a contract."""


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: str | None = None
    required: bool = True
    not_null: bool = False
    unique: bool = False
    format: str | None = None
    accepted: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    mostly: float = 1.0
    severity: Severity | None = None  # None: the contract's


@dataclass(frozen=True)
class RowCountRule:
    """The load's size against the previous accepted one: a source that suddenly sends a
    fraction of its usual rows (or ten times them) stops the line."""

    min_rows: int = 1
    min_ratio: float | None = None
    max_ratio: float | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class FreshnessRule:
    column: str
    max_age_days: float
    severity: Severity = "warn"


@dataclass(frozen=True)
class DistributionRule:
    """Guards against a bug that keeps every score in range but wrong (e.g. all zeros)."""

    score_column: str
    grade_column: str
    grades: tuple[str, ...]
    max_mean_shift: float
    max_share_shift: float
    min_distinct_scores: int = 2
    min_rows: int = 20  # below this a distribution says nothing
    severity: Severity | None = None


@dataclass(frozen=True)
class ExclusionRule:
    """No row of this table may point at a row of another that matches `where`: e.g. no action
    for a person who opted out. Checked in SQL (`column in (select match from table where …)`)."""

    column: str
    table: str
    match: str
    where: str
    why: str
    severity: Severity | None = None
    # True: a missing `table` excludes nothing (silver's erasure list exists once identity has
    # run, and gold cannot be built before it); False: a missing table errors the check.
    optional_table: bool = False


@dataclass(frozen=True)
class Contract:
    suite: str
    schema: str
    table: str
    severity: Severity
    description: str
    key: str | None = None
    optional: bool = False  # only checked once the table's asset exists (tables other work adds)
    columns: tuple[ColumnRule, ...] = ()
    row_count: RowCountRule | None = None
    freshness: FreshnessRule | None = None
    distribution: DistributionRule | None = None
    excludes: tuple[ExclusionRule, ...] = ()

    @property
    def target(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def blocking(self) -> bool:
        """An ERROR contract feeds a sync: its failure must stop everything downstream."""
        return self.severity == "error"

    def severity_of(self, rule_severity: Severity | None) -> Severity:
        return rule_severity or self.severity


def _fail(where: str, message: str) -> ContractConfigError:
    return ContractConfigError(f"contracts.yaml: {where}: {message}")


def _severity(where: str, value: Any, default: Severity | None) -> Severity | None:
    if value is None:
        return default
    if value not in ("error", "warn"):
        raise _fail(where, f"severity must be error or warn, not {value!r}")
    return value


def _known(where: str, raw: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _column(where: str, name: str, raw: dict[str, Any] | None) -> ColumnRule:
    raw = raw or {}
    allowed = {"type", "required", "not_null", "unique", "format", "accepted", "min", "max", "mostly", "severity"}
    _known(where, raw, allowed)
    if raw.get("type") is not None and raw["type"] not in TYPE_FAMILIES:
        raise _fail(where, f"type must be one of {list(TYPE_FAMILIES)}, not {raw['type']!r}")
    if raw.get("format") is not None and raw["format"] not in FORMATS:
        raise _fail(where, f"format must be one of {sorted(FORMATS)}, not {raw['format']!r}")
    mostly = float(raw.get("mostly", 1.0))
    if not 0 < mostly <= 1:
        raise _fail(where, f"mostly must be in (0, 1], not {mostly}")
    accepted = raw.get("accepted")
    return ColumnRule(
        name=name,
        type=raw.get("type"),
        required=bool(raw.get("required", True)),
        not_null=bool(raw.get("not_null", False)),
        unique=bool(raw.get("unique", False)),
        format=raw.get("format"),
        accepted=tuple(accepted) if accepted is not None else None,
        min=raw.get("min"),
        max=raw.get("max"),
        mostly=mostly,
        severity=_severity(where, raw.get("severity"), None),
    )


def _contract(suite: str, raw: dict[str, Any], defaults: dict[str, Any]) -> Contract:
    where = f"contract {suite!r}"
    allowed = {"table", "severity", "description", "key", "optional", "columns", "row_count", "freshness"}
    allowed |= {"distribution", "excludes"}
    _known(where, raw, allowed)
    table = str(raw.get("table", ""))
    if table.count(".") != 1:
        raise _fail(where, f"table must be schema.table, not {table!r}")
    schema, name = table.split(".")
    severity = _severity(where, raw.get("severity"), None)
    if severity is None:
        raise _fail(where, "severity is required (error for anything that feeds a sync, warn otherwise)")
    columns = tuple(_column(f"{where} column {col!r}", col, spec) for col, spec in (raw.get("columns") or {}).items())
    key = raw.get("key")
    if key is not None and key not in {c.name for c in columns}:
        raise _fail(where, f"key {key!r} is not one of its columns")

    row_count = None
    if "row_count" in raw:
        rc = {**defaults.get("row_count", {}), **(raw["row_count"] or {})}
        _known(f"{where} row_count", rc, {"min_rows", "min_ratio", "max_ratio", "severity"})
        row_count = RowCountRule(
            min_rows=int(rc.get("min_rows", 1)),
            min_ratio=rc.get("min_ratio"),
            max_ratio=rc.get("max_ratio"),
            severity=_severity(f"{where} row_count", rc.get("severity"), None),
        )
    freshness = None
    if raw.get("freshness"):
        fr = {**defaults.get("freshness", {}), **raw["freshness"]}
        _known(f"{where} freshness", fr, {"column", "max_age_days", "severity"})
        if "column" not in fr or "max_age_days" not in fr:
            raise _fail(f"{where} freshness", "needs column and max_age_days")
        freshness = FreshnessRule(
            column=fr["column"],
            max_age_days=float(fr["max_age_days"]),
            severity=_severity(f"{where} freshness", fr.get("severity"), "warn") or "warn",
        )
    distribution = None
    if "distribution" in raw:
        di = {**defaults.get("distribution", {}), **raw["distribution"]}
        allowed_di = {
            "score_column",
            "grade_column",
            "grades",
            "max_mean_shift",
            "max_share_shift",
            "min_distinct_scores",
            "min_rows",
            "severity",
        }
        _known(f"{where} distribution", di, allowed_di)
        try:
            distribution = DistributionRule(
                score_column=di["score_column"],
                grade_column=di["grade_column"],
                grades=tuple(di["grades"]),
                max_mean_shift=float(di["max_mean_shift"]),
                max_share_shift=float(di["max_share_shift"]),
                min_distinct_scores=int(di.get("min_distinct_scores", 2)),
                min_rows=int(di.get("min_rows", 20)),
                severity=_severity(f"{where} distribution", di.get("severity"), None),
            )
        except KeyError as exc:
            raise _fail(f"{where} distribution", f"missing {exc.args[0]}") from None
    excludes = []
    for i, ex in enumerate(raw.get("excludes") or []):
        at = f"{where} excludes[{i}]"
        if not isinstance(ex, dict):
            raise _fail(at, "expected a mapping")
        _known(at, ex, {"column", "table", "match", "where", "why", "severity", "optional_table"})
        missing = [k for k in ("column", "table", "match", "where", "why") if not ex.get(k)]
        if missing:
            raise _fail(at, f"missing {missing}")
        if str(ex["table"]).count(".") != 1:
            raise _fail(at, f"table must be schema.table, not {ex['table']!r}")
        excludes.append(
            ExclusionRule(
                column=ex["column"],
                table=ex["table"],
                match=ex["match"],
                where=ex["where"],
                why=ex["why"],
                severity=_severity(at, ex.get("severity"), None),
                optional_table=bool(ex.get("optional_table", False)),
            )
        )
    return Contract(
        suite=suite,
        schema=schema,
        table=name,
        severity=severity,
        description=str(raw.get("description", "")).strip(),
        key=key,
        optional=bool(raw.get("optional", False)),
        columns=columns,
        row_count=row_count,
        freshness=freshness,
        distribution=distribution,
        excludes=tuple(excludes),
    )


def parse_contracts(document: Any) -> dict[str, Contract]:
    """Turn the YAML document into contracts keyed by suite name, or raise one clear line."""
    if not isinstance(document, dict) or not isinstance(document.get("contracts"), dict):
        raise ContractConfigError("contracts.yaml: expected a mapping with a `contracts:` section")
    defaults = document.get("defaults") or {}
    contracts = {}
    for suite, raw in document["contracts"].items():
        if not isinstance(raw, dict):
            raise _fail(f"contract {suite!r}", "expected a mapping")
        contracts[suite] = _contract(suite, raw, defaults)
    return contracts


@cache
def load_settings(path: Path = CONFIG_PATH) -> dict[str, Any]:
    """The `settings:` section (sampling threshold), with defaults."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {"sample_above_rows": 250_000, "sample_rows": 100_000, **(document.get("settings") or {})}


@cache
def load_contracts(path: Path = CONFIG_PATH) -> dict[str, Contract]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise ContractConfigError(f"{path.name}: {first}") from None
    return parse_contracts(document)


def contracts_for(schema: str, table: str) -> list[Contract]:
    return [c for c in load_contracts().values() if (c.schema, c.table) == (schema, table)]
