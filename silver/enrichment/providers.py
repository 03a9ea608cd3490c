"""Where firmographics come from. A provider answers one domain at a time: a `Firmographics`,
None when it does not know the company, or `ProviderError` when it could not answer."""

import csv
import io
from dataclasses import dataclass
from typing import Protocol

import fsspec


@dataclass(frozen=True)
class Firmographics:
    company_name: str | None
    industry: str | None
    employees: int | None
    annual_revenue: float | None
    country: str | None


class ProviderError(RuntimeError):
    """The provider failed to answer (outage, quota, malformed reply): try again later."""


class FirmographicsProvider(Protocol):
    name: str

    def lookup(self, domain: str) -> Firmographics | None: ...


class ReferenceFileProvider:
    """Firmographics from a CSV (`domain, company_name, industry, employees, annual_revenue,
    country`) at any fsspec URL: the vendor file the simulated world provides, or a purchased
    list. Read once, on first lookup."""

    name = "reference_file"

    def __init__(self, url: str) -> None:
        self.url = url
        self._rows: dict[str, Firmographics] | None = None

    def lookup(self, domain: str) -> Firmographics | None:
        if self._rows is None:
            self._rows = self._load()
        return self._rows.get(domain.lower())

    def _load(self) -> dict[str, Firmographics]:
        try:
            with fsspec.open(self.url, "rb") as handle:
                text = handle.read().decode("utf-8-sig")
        except (OSError, ValueError) as exc:
            raise ProviderError(f"cannot read the firmographics file: {type(exc).__name__}") from None
        rows = {}
        for row in csv.DictReader(io.StringIO(text)):
            rows[row["domain"].strip().lower()] = Firmographics(
                company_name=row.get("company_name") or None,
                industry=row.get("industry") or None,
                employees=int(row["employees"]) if row.get("employees") else None,
                annual_revenue=float(row["annual_revenue"]) if row.get("annual_revenue") else None,
                country=row.get("country") or None,
            )
        return rows
