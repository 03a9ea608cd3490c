"""The IMb codec against the USPS reference set, plus the decoding and normalizing we add on top.

The 5000 published USPS cases are the only authority on bar output and on which return code wins
when an input has several faults, so they are loaded in full; a missing file is a failure, not a
skip, because without it nothing here proves the bars are right.
"""

from __future__ import annotations

import csv
import pickle
from functools import cache
from pathlib import Path

import pytest

from ingestion import imb
from ingestion.imb import IMb, IMbError, decode, encode, from_fields, normalize

VECTOR_FILE = Path(__file__).resolve().parents[1] / "data" / "imb_vectors.tsv"

# USPS-B-3200 worked example: one tracking code under each routing length.
SPEC_TRACKING = "01234567094987654321"
SPEC_EXAMPLES = {
    "": "ATTFATTDTTADTAATTDTDTATTDAFDDFADFDFTFFFFFTATFAAAATDFFTDAADFTFDTDT",
    "01234": "DTTAFADDTTFTDTFTFDTDDADADAFADFATDDFTAAAFDTTADFAAATDFDTDFADDDTDFFT",
    "012345678": "ADFTTAFDTTTTFATTADTAAATFTFTATDAAAFDDADATATDTDTTDFDTDATADADTDFFTFA",
    "01234567891": "AADTFFDFTDADTAADAATFDTDDAAADDTDTTDAFADADDDTFFFDDTTTADFAAADFTDAADA",
}


def _vector_path() -> Path:
    """The reference set ships with the tests (tests/data/README.md names its source)."""
    path = VECTOR_FILE
    if not path.is_file():
        pytest.fail(f"USPS IMb test vectors missing at {path}: they are part of the repository")
    return path


@cache
def _load_rows(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = tuple(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows


@pytest.fixture(scope="module")
def rows() -> tuple[dict[str, str], ...]:
    loaded = _load_rows(_vector_path())
    assert len(loaded) == 5000, f"expected the 5000 USPS cases, found {len(loaded)}"
    return loaded


@pytest.fixture(scope="module")
def ok_rows(rows: tuple[dict[str, str], ...]) -> list[dict[str, str]]:
    return [row for row in rows if row["return_code"] == "00"]


def test_every_valid_vector_encodes_to_the_published_bars(ok_rows: list[dict[str, str]]) -> None:
    wrong = [row["case"] for row in ok_rows if encode(row["tracking"], row["routing"]) != row["bars"]]
    assert not wrong, f"{len(wrong)} cases encode differently, first: {wrong[:10]}"


def test_every_valid_vector_decodes_back(ok_rows: list[dict[str, str]]) -> None:
    wrong = []
    for row in ok_rows:
        decoded = decode(row["bars"])
        if (decoded.tracking, decoded.routing) != (row["tracking"], row["routing"]):
            wrong.append(row["case"])
    assert not wrong, f"{len(wrong)} cases decode differently, first: {wrong[:10]}"


def test_every_invalid_vector_is_rejected_with_its_return_code(rows: tuple[dict[str, str], ...]) -> None:
    invalid = [row for row in rows if row["return_code"] != "00"]
    assert {row["return_code"] for row in invalid} == {"09", "10", "11", "12", "13"}
    subject = {"09": "tracking", "10": "tracking", "11": "barcode-ID", "12": "routing", "13": "routing"}
    wrong = []
    for row in invalid:
        with pytest.raises(IMbError) as caught:
            encode(row["tracking"], row["routing"])
        error = caught.value
        if error.code != row["return_code"] or subject[error.code] not in str(error):
            wrong.append((row["case"], row["return_code"], error.code, str(error)))
    assert not wrong, f"{len(wrong)} cases rejected wrongly, first: {wrong[:5]}"


@pytest.mark.parametrize(("routing", "bars"), SPEC_EXAMPLES.items())
def test_spec_worked_example(routing: str, bars: str, rows: tuple[dict[str, str], ...]) -> None:
    assert encode(SPEC_TRACKING, routing) == bars
    assert decode(bars) == IMb(SPEC_TRACKING, routing)
    assert any(row["tracking"] == SPEC_TRACKING and row["routing"] == routing for row in rows)


def test_fields_of_the_spec_example() -> None:
    code = IMb(SPEC_TRACKING, "01234567891")
    assert (code.barcode_id, code.service_type, code.mailer_id, code.serial_number) == (
        "01",
        "234",
        "567094",
        "987654321",
    )
    assert code.bars == SPEC_EXAMPLES["01234567891"]


def test_nine_digit_mailer_id_takes_a_six_digit_serial() -> None:
    code = IMb("00040912345678123456")
    assert (code.mailer_id, code.serial_number) == ("912345678", "123456")
    assert from_fields("00", "040", "912345678", "123456") == code


def test_single_flipped_bar_is_rejected(ok_rows: list[dict[str, str]]) -> None:
    sample = ok_rows[:: max(1, len(ok_rows) // 200)][:200]
    positions = (0, 1, 12, 25, 32, 40, 51, 63, 64)
    accepted = []
    for row in sample:
        bars = row["bars"]
        for position in positions:
            for letter in "FADT".replace(bars[position], ""):
                damaged = bars[:position] + letter + bars[position + 1 :]
                try:
                    decode(damaged)
                except IMbError as error:
                    assert error.code in {"bars_codeword", "bars_crc"}, error
                else:
                    accepted.append((row["case"], position, letter))
    assert len(sample) == 200
    assert not accepted, f"damaged barcodes decoded: {accepted[:5]}"


def _render(codewords: list[int], fcs: int) -> str:
    """Build bars from arbitrary codewords and FCS, to forge barcodes no encoder would emit."""
    chars = []
    for index, codeword in enumerate(codewords):
        char = imb._CODEWORD_TO_CHAR[codeword]
        chars.append(char ^ 0x1FFF if fcs >> index & 1 else char)
    letters = []
    for desc_char, desc_bit, asc_char, asc_bit in imb._parse_bar_table():
        letters.append("TDAF"[(chars[desc_char] >> desc_bit & 1) | (chars[asc_char] >> asc_bit & 1) << 1])
    return "".join(letters)


def _codewords(value: int) -> tuple[list[int], int]:
    fcs = imb._crc(value)
    value, j = divmod(value, 636)
    codewords = [0] * 10
    codewords[9] = 2 * j
    for index in range(8, 0, -1):
        value, codewords[index] = divmod(value, 1365)
    codewords[0] = value + (659 if fcs & 0x400 else 0)
    return codewords, fcs


def test_forged_renderer_matches_encoder() -> None:
    # Spec example without routing: the binary value is just the tracking digits (2nd in base 5).
    value = (0 * 5 + 1) * 10**18 + int(SPEC_TRACKING[2:])
    assert _render(*_codewords(value)) == SPEC_EXAMPLES[""]


def test_valid_characters_with_a_wrong_crc_are_rejected() -> None:
    value = (0 * 5 + 1) * 10**18 + int(SPEC_TRACKING[2:])
    codewords, fcs = _codewords(value)
    codewords[4] = (codewords[4] + 1) % 1365
    with pytest.raises(IMbError) as caught:
        decode(_render(codewords, fcs))
    assert caught.value.code == "bars_crc"


def test_upside_down_orientation_bit_is_rejected() -> None:
    codewords, fcs = _codewords(12345)
    codewords[9] += 1
    with pytest.raises(IMbError) as caught:
        decode(_render(codewords, fcs))
    assert caught.value.code == "bars_codeword"


def test_intact_barcode_beyond_any_routing_code_is_rejected() -> None:
    largest = 659 * 1365**8 * 636 - 1  # every codeword at its ceiling: past the largest 11-digit ZIP
    with pytest.raises(IMbError) as caught:
        decode(_render(*_codewords(largest)))
    assert caught.value.code == "bars_range"


@pytest.mark.parametrize(
    ("bars", "code"),
    [
        ("", "bars_length"),
        (SPEC_EXAMPLES[""][:-1], "bars_length"),
        (SPEC_EXAMPLES[""] + "T", "bars_length"),
        ("X" + SPEC_EXAMPLES[""][1:], "bars_letters"),
        ("1" + SPEC_EXAMPLES[""][1:], "bars_letters"),
    ],
)
def test_malformed_bar_strings(bars: str, code: str) -> None:
    with pytest.raises(IMbError) as caught:
        decode(bars)
    assert caught.value.code == code


def test_decode_accepts_lower_case_and_surrounding_whitespace() -> None:
    assert decode(f" \t{SPEC_EXAMPLES['01234'].lower()}\n") == IMb(SPEC_TRACKING, "01234")


def test_encode_trims_surrounding_whitespace_like_the_reference_encoder() -> None:
    assert encode(f" {SPEC_TRACKING}\n", " 01234 ") == SPEC_EXAMPLES["01234"]


def test_integers_are_refused_rather_than_losing_leading_zeros() -> None:
    with pytest.raises(TypeError):
        encode(int(SPEC_TRACKING))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        from_fields("01", "234", 567094, "987654321")  # type: ignore[arg-type]


def test_errors_survive_pickling_across_processes() -> None:
    with pytest.raises(IMbError) as caught:
        encode("0123456709498765432X")
    restored = pickle.loads(pickle.dumps(caught.value))
    assert (restored.code, str(restored)) == ("10", str(caught.value))


def test_imb_constructor_validates() -> None:
    with pytest.raises(IMbError) as caught:
        IMb("01234567094987654321", "1234")
    assert caught.value.code == "12"
    with pytest.raises(IMbError) as caught:
        IMb("05234567094987654321")
    assert caught.value.code == "11"


def test_from_fields_round_trips_the_spec_example() -> None:
    code = from_fields("01", "234", "567094", "987654321", "01234567891")
    assert code == IMb(SPEC_TRACKING, "01234567891")
    assert code.bars == SPEC_EXAMPLES["01234567891"]


@pytest.mark.parametrize(
    ("fields", "code", "names"),
    [
        (("1", "234", "567094", "987654321"), "09", "barcode_id"),
        (("01", "2x4", "567094", "987654321"), "10", "service_type"),
        (("01", "234", "5670941", "987654321"), "09", "mailer_id"),
        (("01", "234", "567094", "98765432"), "09", "serial_number"),
        (("01", "234", "912345678", "987654321"), "09", "serial_number"),
        (("01", "234", "967094", "987654321"), "mailer_id", "mailer_id"),
        (("01", "234", "812345678", "123456"), "mailer_id", "mailer_id"),
        (("07", "234", "567094", "987654321"), "11", "barcode-ID"),
    ],
)
def test_from_fields_rejects_inconsistent_fields(fields: tuple[str, ...], code: str, names: str) -> None:
    with pytest.raises(IMbError) as caught:
        from_fields(*fields)
    assert caught.value.code == code
    assert names in str(caught.value)


@pytest.mark.parametrize(
    ("value", "routing"),
    [
        (SPEC_EXAMPLES["012345678"], "012345678"),
        ("  " + SPEC_EXAMPLES["012345678"].lower() + " ", "012345678"),
        (" ".join(SPEC_EXAMPLES["01234"][i : i + 5] for i in range(0, 65, 5)), "01234"),
        (SPEC_TRACKING, ""),
        (SPEC_TRACKING + "01234567891", "01234567891"),
        (f"{SPEC_TRACKING} 01234-5678", "012345678"),
        (" 0123 4567 0949 8765 4321  01234 ", "01234"),
        ("01-234-567094-987654321", ""),
        ("01 234 567094 987654321 / 01234-5678-91", "01234567891"),
        ("01_234_567094_987654321.01234", "01234"),
    ],
)
def test_normalize_accepts_all_three_encodings(value: str, routing: str) -> None:
    assert normalize(value) == IMb(SPEC_TRACKING, routing)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "format"),
        (" - ", "format"),
        ("01234567094987654321X", "format"),
        ("0123456709498765432", "09"),
        ("01234567094987654321 0123", "12"),
        ("01234567094987654321 012345678901", "12"),
        ("09234567094987654321", "11"),
        ("FADT", "bars_length"),
        (SPEC_EXAMPLES[""][:-1] + ("F" if SPEC_EXAMPLES[""][-1] != "F" else "A"), "bars_codeword"),
    ],
)
def test_normalize_rejects_undecodable_values(value: str, code: str) -> None:
    with pytest.raises(IMbError) as caught:
        normalize(value)
    assert caught.value.code == code


def test_normalize_agrees_with_the_vectors(ok_rows: list[dict[str, str]]) -> None:
    for row in ok_rows[::50]:
        expected = IMb(row["tracking"], row["routing"])
        assert normalize(row["bars"]) == expected
        assert normalize(f"{row['tracking']}-{row['routing']}") == expected
        fields = (expected.barcode_id, expected.service_type, expected.mailer_id, expected.serial_number)
        assert from_fields(*fields, row["routing"]) == expected


def test_the_column_decoder_agrees_with_the_codec_on_every_vector_and_every_kind_of_damage(
    ok_rows: list[dict[str, str]],
) -> None:
    """`decode_column` (numpy, for whole partner files) must decode exactly what `decode` does
    and refuse exactly what it refuses: flipped bars, a wrong CRC, an odd codeword J, a value
    past any routing code, wrong lengths and letters, nulls."""
    import pyarrow as pa

    from ingestion.imb_column import decode_column

    damaged = [row["bars"][:7] + "FADT".replace(row["bars"][7], "")[0] + row["bars"][8:] for row in ok_rows[:300]]
    crc_codewords, crc_fcs = _codewords((0 * 5 + 1) * 10**18 + int(SPEC_TRACKING[2:]))
    crc_codewords[4] = (crc_codewords[4] + 1) % 1365
    odd_codewords, odd_fcs = _codewords(12345)
    odd_codewords[9] += 1
    forged = [
        _render(crc_codewords, crc_fcs),
        _render(odd_codewords, odd_fcs),
        _render(*_codewords(659 * 1365**8 * 636 - 1)),
        _render(*_codewords(0)),
    ]
    odd_shapes = [
        f" \t{SPEC_EXAMPLES['01234'].lower()}\n",
        SPEC_EXAMPLES[""][:-1],
        "X" + SPEC_EXAMPLES[""][1:],
        "",
        None,
    ]
    values = [row["bars"] for row in ok_rows] + damaged + forged + list(SPEC_EXAMPLES.values()) + odd_shapes

    tracking, routing = decode_column(pa.array(values, pa.string()))

    expected = []
    for value in values:
        try:
            decoded = decode(value)  # type: ignore[arg-type]
        except (IMbError, TypeError):
            expected.append((None, None))
        else:
            expected.append((decoded.tracking, decoded.routing))
    assert list(zip(tracking.to_pylist(), routing.to_pylist(), strict=True)) == expected
    assert sum(t is not None for t, _ in expected) > len(ok_rows)  # the valid ones, plus the spec's
