"""Shared test data writers (tests import them as `tests.support`)."""

from __future__ import annotations

from typing import Any

from warehouse import Warehouse

LeadScoreRow = tuple[Any, ...]  # (lead_id, score, grade, reasons, rules_matched)


def write_lead_scores(warehouse: Warehouse, rows: list[LeadScoreRow]) -> None:
    """Replaces gold.salesforce_lead_scores (what the lead sync reads) with `rows`, in the mart's
    synced columns."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.salesforce_lead_scores")
        cur.execute(
            "create table gold.salesforce_lead_scores (lead_id varchar, score integer, grade varchar, reasons varchar, "
            "rules_matched integer)"
        )
        if rows:
            cur.executemany(warehouse.adapt_sql("insert into gold.salesforce_lead_scores values (?, ?, ?, ?, ?)"), rows)
