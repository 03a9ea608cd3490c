"""Shared test data writers (tests import them as `tests.support`)."""

from __future__ import annotations

from typing import Any

from warehouse import Warehouse

LeadScoreRow = tuple[Any, ...]  # (lead_id, score, grade, reasons, rules_matched)


def write_lead_scores(warehouse: Warehouse, rows: list[LeadScoreRow]) -> None:
    """Replaces gold.lead_scores with `rows`, shaped as the dbt mart builds it."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.lead_scores")
        cur.execute(
            "create table gold.lead_scores (lead_id varchar, score integer, grade varchar, reasons varchar, "
            "rules_matched integer)"
        )
        if rows:
            cur.executemany(warehouse.adapt_sql("insert into gold.lead_scores values (?, ?, ?, ?, ?)"), rows)
