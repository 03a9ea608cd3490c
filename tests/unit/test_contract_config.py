"""contracts.yaml is the one place contracts live: bad config is one clear line, and the pages in
docs/contracts/ are exactly what the config says (a stale page fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from expectations.config import CONFIG_PATH, ContractConfigError, parse_contracts
from expectations.docs import DOCS_DIR, render, stale_pages, write_pages


def test_every_page_in_docs_contracts_is_current() -> None:
    assert stale_pages() == [], "run `python -m expectations.docs` and commit docs/contracts/"


def test_a_changed_bound_makes_its_page_stale(tmp_path: Path) -> None:
    write_pages(tmp_path)
    assert stale_pages(tmp_path) == []
    page = tmp_path / "salesforce_lead_scores.md"
    assert "`score` is between 0 and 100. (blocking)" in page.read_text()
    page.write_text(page.read_text().replace("between 0 and 100", "between 0 and 1000"))
    (tmp_path / "gone.md").write_text("a contract that no longer exists")
    assert stale_pages(tmp_path) == ["gone.md", "salesforce_lead_scores.md"]


def test_pages_say_each_expectation_in_plain_words() -> None:
    document = yaml.safe_load(CONFIG_PATH.read_text())
    contract = parse_contracts(document)["bronze_partners__mailed_records"]
    text = render(contract)
    assert "No two rows share a `imb_tracking`. (blocking)" in text
    assert "Every non-empty `imb_tracking` is a 20-digit Intelligent Mail barcode tracking code." in text
    assert "no fewer than 50% and no more than 20 times the rows" in text
    assert (DOCS_DIR / "bronze_partners__mailed_records.md").read_text() == text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "fatal"}, "contract 'lead_scores': severity must be error or warn, not 'fatal'"),
        ({"table": "lead_scores"}, "contract 'lead_scores': table must be schema.table"),
        ({"key": "nope"}, "contract 'lead_scores': key 'nope' is not one of its columns"),
        ({"colums": {}}, "contract 'lead_scores': unknown key(s) ['colums']"),
        ({"columns": {"score": {"format": "phone"}}}, "column 'score': format must be one of"),
    ],
)
def test_a_bad_contract_is_one_clear_line(change: dict, message: str) -> None:
    document = yaml.safe_load(CONFIG_PATH.read_text())
    document["contracts"]["lead_scores"].update(change)
    if "columns" in change:
        document["contracts"]["lead_scores"]["key"] = None
    with pytest.raises(ContractConfigError) as raised:
        parse_contracts(document)
    assert message in str(raised.value) and "\n" not in str(raised.value)
