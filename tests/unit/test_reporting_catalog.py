"""The app's own report queries obey the rule it enforces on users (one SELECT on gold), and its
charts scale bars to the data and never let a label become markup."""

import re

import pytest
from sqlglot import exp

from reporting.catalog import REPORTS
from reporting.charts import bar_chart
from reporting.sql_guard import checked_query


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_every_report_reads_gold_only(dialect):
    for report in REPORTS:
        statement = checked_query(report.sql, dialect)
        assert {table.db for table in statement.find_all(exp.Table)} == {"gold"}, report.name


def test_bars_scale_to_the_largest_value_and_labels_stay_text():
    svg = bar_chart("t", ["<script>alert(1)</script>", "b", "c"], [50, 100, None])
    widths = [float(w) for w in re.findall(r'class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert widths[1] == 420.0 and widths[0] == 210.0 and widths[2] == 0.0
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("–") >= 1  # the missing value is shown as missing, not as zero
