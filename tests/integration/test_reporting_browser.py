"""The reporting app in a real browser (Playwright driving Debian's chromium), on each
warehouse: a report's chart renders, an ad-hoc query returns rows, and a DROP TABLE, an UPDATE
and a second statement are refused on the page while the data stays as it was."""

from collections.abc import Iterator

import pytest

from reporting.background import running_app
from reporting.readonly import for_reading
from tests.support import CHROMIUM, CHROMIUM_ARGS
from warehouse import Warehouse

VERSIONS = [("A", 400, 20, 0.05), ("B", 400, 36, 0.09)]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def seed(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute(
            "create table gold.direct_mail_mailer_ab_test "
            "(mailer_version varchar, pieces_mailed integer, responses integer, response_rate double precision)"
        )
        cur.executemany(
            warehouse.adapt_sql("insert into gold.direct_mail_mailer_ab_test values (?, ?, ?, ?)"), VERSIONS
        )


def test_chart_query_and_refusals_in_the_browser(warehouse, browser, monkeypatch):
    monkeypatch.delenv("LEADLOOP_REPORT_PASSWORD", raising=False)
    seed(warehouse)
    with running_app(for_reading(warehouse, timeout_seconds=5)) as base:
        page = browser.new_page()
        page.goto(f"{base}/reports/mailer_ab_test")
        bars = page.locator("svg.chart rect.bar")
        assert bars.count() == 2
        widths = [float(bars.nth(i).get_attribute("width")) for i in range(2)]
        assert 0 < widths[0] < widths[1]  # B's rate is higher: a longer bar
        assert bars.nth(1).bounding_box()["width"] > 0  # drawn, not only in the markup

        page.goto(f"{base}/query")
        page.fill("#sql", "select mailer_version, responses from direct_mail_mailer_ab_test order by mailer_version")
        page.click("#run")
        assert page.inner_text("#row-count") == "2 rows"
        assert page.locator("#results tbody tr").all_inner_texts() == ["A\t20", "B\t36"]

        for statement, reason in (
            ("DROP TABLE gold.direct_mail_mailer_ab_test", "this is DROP"),
            ("UPDATE gold.direct_mail_mailer_ab_test SET responses = 0", "this is UPDATE"),
            ("select 1; delete from gold.direct_mail_mailer_ab_test", "One statement at a time"),
        ):
            page.fill("#sql", statement)
            page.click("#run")
            assert reason in page.inner_text("#refused")
            assert page.locator("#results").count() == 0
        page.close()

    rows = warehouse.query("select mailer_version, pieces_mailed, responses from gold.direct_mail_mailer_ab_test")
    assert sorted(rows) == [(v, n, r) for v, n, r, _ in VERSIONS]
