"""Adding a partner is a config file: a new dialect parses without code, and a broken config
says which file and field."""

from __future__ import annotations

import json

import pytest

from ingestion.imb import encode
from ingestion.partner_files.config import PartnerConfigError, load_partner_configs
from ingestion.partner_files.parse import parse_file

NEW_PARTNER = """
partner: pipepost
files: "pipepost/{kind}-*.txt"
format: csv
delimiter: "|"
encoding: utf-16
date_format: "%Y%m%d"
datetime_format: "%Y%m%d%H%M"
barcode: [BARS]
columns:
  last_name: NAME_LAST
  mailed_on: DROPPED
"""


def test_a_new_partner_dialect_needs_only_a_config(tmp_path):
    (tmp_path / "pipepost.yaml").write_text(NEW_PARTNER)
    [config] = load_partner_configs(tmp_path)
    assert config.kind_of("pipepost/mailed-20261101.txt") == "mailed"
    bars = encode("00270123456200800001", "987654321")
    text = f"NAME_LAST|DROPPED|BARS\nSmith|20261101|{bars}\nJones|2026-11-01|{bars}\nLee|20261101|{bars[:-1]}A\n"
    table, rejected = parse_file(text.encode("utf-16"), "pipepost/mailed-20261101.txt", config, "mailed")
    assert table.column("imb_tracking").to_pylist() == ["00270123456200800001"]
    assert table.column("imb_routing").to_pylist() == ["987654321"]
    assert table.column("partner").to_pylist() == ["pipepost"]
    assert [(r.row_number, r.reason.split(":")[0]) for r in rejected] == [
        (2, "unparseable date in mailed_on"),
        (3, "undecodable barcode"),
    ]


def test_a_broken_config_names_its_file_and_field(tmp_path):
    (tmp_path / "broken.yaml").write_text("partner: broken\nformat: csv\n")
    with pytest.raises(PartnerConfigError, match=r"broken.yaml: missing required field 'files'"):
        load_partner_configs(tmp_path)


def test_the_shipped_configs_cover_the_four_partners():
    assert {c.partner for c in load_partner_configs()} == {"northmail", "eastprint", "southpost", "westdirect"}


@pytest.mark.parametrize("ragged", [False, True])
def test_blank_rows_are_skipped_and_a_ragged_row_is_read_not_lost(tmp_path, ragged):
    """Row numbers count a file's non-blank data rows, whichever reader reads the file (Arrow's,
    or Python's when a row's cell count is off); a short row's missing cells are empty."""
    (tmp_path / "pipepost.yaml").write_text(NEW_PARTNER)
    [config] = load_partner_configs(tmp_path)
    bars = encode("00270123456200800001", "987654321")
    other = encode("00270123456200800002")
    short = "Short|20261101" if ragged else f"Short|20261101|{encode('00270123456200800003')}"
    text = f"NAME_LAST|DROPPED|BARS\nSmith|20261101|{bars}\n\n||\n{short}\nLee|20261102|{other}\n"
    table, rejected = parse_file(text.encode("utf-16"), "pipepost/mailed-20261101.txt", config, "mailed")
    rows = {r["row_number"]: (r["last_name"], r["imb_tracking"]) for r in table.to_pylist()}
    assert rows[1] == ("Smith", "00270123456200800001") and rows[3] == ("Lee", "00270123456200800002")
    if ragged:
        assert [(r.row_number, r.reason, json.loads(r.raw_payload)) for r in rejected] == [
            (2, "missing required field barcode", {"NAME_LAST": "Short", "DROPPED": "20261101", "BARS": None})
        ]
    else:
        assert not rejected and rows[2][0] == "Short"


def test_barcode_digits_may_be_written_with_any_separator_the_codec_accepts(tmp_path):
    """Dashes, spaces, underscores, dots and slashes between the digits, mixed in one file with
    plain digits and bars; a value that is none of these is still quarantined."""
    (tmp_path / "pipepost.yaml").write_text(NEW_PARTNER)
    [config] = load_partner_configs(tmp_path)
    written = [
        "01234567094987654321",
        "01234567094987654321-01234",
        "01 234 567094 987654321 / 01234-5678-91",
        "01_234_567094_987654321.01234",
        encode("01234567094987654321", "987654321"),
        "01-234-567094-98765432X",
    ]
    text = "NAME_LAST|DROPPED|BARS\n" + "".join(f"Row{i}|20261101|{b}\n" for i, b in enumerate(written))
    table, rejected = parse_file(text.encode("utf-16"), "pipepost/mailed-20261101.txt", config, "mailed")
    assert table.column("imb_tracking").to_pylist() == ["01234567094987654321"] * 5
    assert table.column("imb_routing").to_pylist() == [None, "01234", "01234567891", "01234", "987654321"]
    assert [(r.row_number, r.reason.split(":")[0]) for r in rejected] == [(6, "undecodable barcode")]
