"""USPS Intelligent Mail barcode (IMb, USPS-B-3200) codec.

Direct-mail partner files identify a mail piece in one of three ways: the 65-bar barcode string
(F/A/D/T), the 20-digit tracking code with optional routing ZIP digits, or the tracking code split
into its fields. `normalize` maps all three onto one `IMb` value so that the pipeline can join on
the tracking code regardless of how a partner happened to print it.

Encoding failures carry the return codes of the USPS reference encoder ("09"–"13") because the
published test set is expressed in them and partner error reports quote them. Decoding failures
carry codes of their own (`bars_*`), since the reference encoder never decodes.

All tables are derived once at import (some 20 ms) so that a single encode or decode is a
handful of integer operations and table look-ups rather than a bit-by-bit walk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["IMb", "IMbError", "decode", "encode", "from_fields", "normalize"]

TRACKING_LENGTH = 20
ROUTING_LENGTHS = (0, 5, 9, 11)
BAR_COUNT = 65

# Offsets that make the 0/5/9/11-digit routing codes occupy disjoint ranges of one integer, so
# the routing length survives the trip through the binary value.
_ROUTING_OFFSET = {0: 0, 5: 1, 9: 100_001, 11: 1_000_100_001}
_ROUTING_LIMIT_5 = 100_000
_ROUTING_LIMIT_9 = 1_000_100_000
_ROUTING_LIMIT_11 = 101_000_100_000

_CHARS = 10
_CHAR_BITS = 13
_CHAR_MASK = (1 << _CHAR_BITS) - 1
_CODEWORD_A_LIMIT = 659  # codeword A only ever carries values below this; +659 flags FCS bit 10
_CODEWORD_J_LIMIT = 636
_CODEWORD_RADIX = 1365
_FIVE_OF_13_COUNT = 1287
_TWO_OF_13_COUNT = 78

_CRC_POLY = 0xF35
_CRC_INIT = 0x7FF
_CRC_BYTES = 13
_CRC_SKIPPED_BITS = 2  # the binary value is 102 bits, so the top two bits of byte 0 are not covered

# Bar-to-character mapping (USPS-B-3200 Table 22), bar 1 (leftmost) first: each entry names the
# character and bit that raise the descender, then the character and bit that raise the ascender.
# Every entry is pinned by the published test set: each of the 130 bar halves agrees with exactly
# one (character, bit) across all 4014 valid cases.
_BAR_TABLE = (
    "H2E3 B10A0 J12C8 F5G11 I9D1 A1F12 C5B8 E4J11 G3I10 D9H6 F11B4 I5C12 J10A2 "
    "H1G7 D6E9 A3I6 G4C7 B1J9 H10F2 E0D8 G2A4 I11B0 J8D12 C6H7 F1E10 B12G9 "
    "H3I0 F8J7 E6C10 D4A5 I4F7 H11B9 G0J6 A6E8 C1D2 F9I12 E11G1 J5H4 D3B2 "
    "A7C0 B3E1 G10D5 I7J4 C11F6 A8H12 E2I1 F10D0 J3A9 G5C4 H8B7 F0E5 C3A10 "
    "G12J2 D11B6 I8H9 F4A11 B5C2 J1E12 I3G6 H0D7 E7H5 A12B11 C9J0 G8F3 D10I2"
)

# A bar is two independent bits: descender (1) and ascender (2). Tracker=0, full=3.
_LETTERS = "TDAF"
# bytes.translate runs in C with a flat table, several times faster than str.translate's dict.
_BARS_TO_DIGITS = bytes.maketrans(_LETTERS.encode(), b"0123")
_VALUES_TO_BARS = bytes.maketrans(bytes(range(4)), _LETTERS.encode())
_BAR_BYTES = _LETTERS.encode()

SEPARATOR = r"[\s\-_./]"  # what may stand between a barcode's digits (one character)
_SEPARATORS = re.compile(SEPARATOR + "+")
_NORMALIZE_DIGIT_LENGTHS = tuple(TRACKING_LENGTH + n for n in ROUTING_LENGTHS)


class IMbError(ValueError):
    """A barcode, tracking code or routing code that cannot be encoded or decoded.

    `code` lets callers route rejects without parsing messages: "09" bad tracking length,
    "10" non-numeric tracking, "11" second barcode-ID digit above 4, "12" bad routing length,
    "13" non-numeric routing (the USPS reference encoder's codes); "mailer_id" a mailer ID whose
    length disagrees with its leading digit; "format" a value `normalize` cannot classify;
    "bars_length", "bars_letters", "bars_codeword", "bars_crc", "bars_range" for bar strings
    that are not a well-formed, intact IMb.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[IMbError], tuple[str, str]]:
        # Rejects cross process boundaries (multiprocess executors); the default pickling would
        # call __init__ with the formatted text only and fail.
        return type(self), (self.code, self.message)


@dataclass(frozen=True)
class IMb:
    """A validated tracking code plus routing digits; constructing one enforces the USPS rules."""

    tracking: str
    routing: str = ""

    def __post_init__(self) -> None:
        _validate(self.tracking, self.routing)

    @classmethod
    def _trusted(cls, tracking: str, routing: str) -> IMb:
        """Skip re-validation for values the decoder has just built from a CRC-checked barcode."""
        instance = object.__new__(cls)
        object.__setattr__(instance, "tracking", tracking)
        object.__setattr__(instance, "routing", routing)
        return instance

    @property
    def barcode_id(self) -> str:
        return self.tracking[:2]

    @property
    def service_type(self) -> str:
        return self.tracking[2:5]

    @property
    def mailer_id(self) -> str:
        # A leading 9 marks the 9-digit mailer IDs; everyone else got 6 digits and a longer serial.
        return self.tracking[5:14] if self.tracking[5] == "9" else self.tracking[5:11]

    @property
    def serial_number(self) -> str:
        return self.tracking[14:] if self.tracking[5] == "9" else self.tracking[11:]

    @property
    def bars(self) -> str:
        return _encode_valid(self.tracking, self.routing)


def _non_digits(value: str) -> str:
    """The offending characters, each once, so error messages can name them; "" when all ASCII digits."""
    if value.isascii() and value.isdigit():
        return ""
    return "".join(dict.fromkeys(ch for ch in value if not ("0" <= ch <= "9")))


def _validate(tracking: str, routing: str) -> None:
    """Check in the USPS reference encoder's order, so multi-fault inputs report the same code."""
    if not isinstance(tracking, str) or not isinstance(routing, str):
        raise TypeError("tracking and routing must be str; integers would lose leading zeros")
    if len(tracking) != TRACKING_LENGTH:
        raise IMbError("09", f"tracking code must be {TRACKING_LENGTH} digits, got {len(tracking)} characters")
    bad = _non_digits(tracking)
    if bad:
        raise IMbError("10", f"tracking code contains non-digit characters: {bad!r}")
    if tracking[1] > "4":
        raise IMbError("11", f"second barcode-ID digit must be 0-4, got {tracking[1]!r}")
    if len(routing) not in ROUTING_LENGTHS:
        raise IMbError("12", f"routing code must be 0, 5, 9 or 11 digits, got {len(routing)} characters")
    bad = _non_digits(routing)
    if bad:
        raise IMbError("13", f"routing code contains non-digit characters: {bad!r}")


# --- tables ---------------------------------------------------------------------------------


def _reverse13(value: int) -> int:
    out = 0
    for _ in range(_CHAR_BITS):
        out = (out << 1) | (value & 1)
        value >>= 1
    return out


def _n_of_13_table(n: int, length: int) -> list[int]:
    """The spec's n-of-13 character table: mirror pairs from the front, palindromes from the back.

    The order is normative (codeword i maps to entry i), which is why it is rebuilt exactly as the
    spec describes rather than in any convenient order.
    """
    table = [0] * length
    lower, upper = 0, length - 1
    for value in range(1 << _CHAR_BITS):
        if value.bit_count() != n:
            continue
        reverse = _reverse13(value)
        if reverse < value:
            continue
        if reverse == value:
            table[upper] = value
            upper -= 1
        else:
            table[lower] = value
            table[lower + 1] = reverse
            lower += 2
    assert lower == upper + 1, "n-of-13 table not filled exactly"
    return table


_CODEWORD_TO_CHAR = _n_of_13_table(5, _FIVE_OF_13_COUNT) + _n_of_13_table(2, _TWO_OF_13_COUNT)

# 13-bit character -> codeword + 2048 * (character was inverted to carry an FCS bit), or -1.
_CHAR_TO_CODEWORD = [-1] * (1 << _CHAR_BITS)
for _cw, _ch in enumerate(_CODEWORD_TO_CHAR):
    _CHAR_TO_CODEWORD[_ch] = _cw
    _CHAR_TO_CODEWORD[_ch ^ _CHAR_MASK] = _cw | 2048


def _crc_bitwise(value: int) -> int:
    """Reference 11-bit frame check sequence; used only to derive the fast tables."""
    fcs = _CRC_INIT
    for index, byte in enumerate(value.to_bytes(_CRC_BYTES, "big")):
        skipped = _CRC_SKIPPED_BITS if index == 0 else 0
        shifted = byte << (3 + skipped)  # aligns the first bit to be consumed with bit 10 of the register
        for _ in range(8 - skipped):
            fcs = ((fcs << 1) ^ _CRC_POLY if (fcs ^ shifted) & 0x400 else fcs << 1) & 0x7FF
            shifted <<= 1
    return fcs


def _crc_tables() -> tuple[int, list[list[int]]]:
    """Split the CRC into a constant plus one 256-entry table per byte position.

    The CRC is affine in its input bits, so crc(v) = crc(0) ^ XOR over bytes of a per-position
    contribution; that turns 102 shift-and-test steps into 13 look-ups.
    """
    base = _crc_bitwise(0)
    tables = []
    for position in range(_CRC_BYTES):
        shift = 8 * (_CRC_BYTES - 1 - position)
        single = [_crc_bitwise(1 << (shift + bit)) ^ base for bit in range(8)]
        table = [0] * 256
        for byte in range(1, 256):
            low = (byte & -byte).bit_length() - 1
            table[byte] = table[byte & (byte - 1)] ^ single[low]
        tables.append(table)
    return base, tables


_CRC_BASE, _CRC_TABLES = _crc_tables()


def _crc(value: int) -> int:
    fcs = _CRC_BASE
    for table, byte in zip(_CRC_TABLES, value.to_bytes(_CRC_BYTES, "big"), strict=True):
        fcs ^= table[byte]
    return fcs


def _parse_bar_table() -> list[tuple[int, int, int, int]]:
    """Kept in the spec's letter notation above so it can be proofread against the document."""
    entries = []
    for entry in _BAR_TABLE.split():
        match = re.fullmatch(r"([A-J])(\d+)([A-J])(\d+)", entry)
        assert match, entry
        desc_char, desc_bit, asc_char, asc_bit = match.groups()
        entries.append((ord(desc_char) - 65, int(desc_bit), ord(asc_char) - 65, int(asc_bit)))
    assert len(entries) == BAR_COUNT
    return entries


def _bar_tables() -> tuple[list[list[int]], list[list[int]]]:
    """Byte-chunk tables for the (bit-permutation) map between characters and bars.

    Characters are packed 13 bits each (A lowest) into one 130-bit integer. Bars are packed one
    byte each (bar 1 highest) for encoding, so `to_bytes` + `translate` yields the letters in
    order, and two bits each (base 4, bar 1 highest) for decoding, so `int(s, 4)` reads them
    directly. Because the map only moves bits, OR-ing per-byte contributions replaces 130
    single-bit moves with 17 look-ups.
    """
    packed_bits = _CHARS * _CHAR_BITS  # 130 on both sides
    chunks = (packed_bits + 7) // 8
    # (char bit index in the packed characters, bar index, 1 = descender / 2 = ascender)
    links: list[tuple[int, int, int]] = []
    for bar, (desc_char, desc_bit, asc_char, asc_bit) in enumerate(_parse_bar_table()):
        links.append((desc_char * _CHAR_BITS + desc_bit, bar, 1))
        links.append((asc_char * _CHAR_BITS + asc_bit, bar, 2))
    assert len({link[0] for link in links}) == packed_bits, "each character bit drives exactly one bar"

    chars_to_byte_bit = {}  # packed char bit -> bit in the byte-per-bar packing
    base4_bit_to_chars = {}  # bit in the base-4-packed bars -> packed char bit
    for char_bit, bar, kind in links:
        chars_to_byte_bit[char_bit] = 8 * (BAR_COUNT - 1 - bar) + (kind - 1)
        base4_bit_to_chars[2 * (BAR_COUNT - 1 - bar) + (kind - 1)] = char_bit

    def chunk_tables(bit_map: dict[int, int]) -> list[list[int]]:
        tables = []
        for chunk in range(chunks):
            single = [1 << bit_map[8 * chunk + bit] if 8 * chunk + bit in bit_map else 0 for bit in range(8)]
            table = [0] * 256
            for byte in range(1, 256):
                low = (byte & -byte).bit_length() - 1
                table[byte] = table[byte & (byte - 1)] | single[low]
            tables.append(table)
        return tables

    return chunk_tables(chars_to_byte_bit), chunk_tables(base4_bit_to_chars)


_CHARS_TO_BARS, _BARS_TO_CHARS = _bar_tables()


def _permute(value: int, tables: list[list[int]]) -> int:
    out = 0
    for table, byte in zip(tables, value.to_bytes(len(tables), "little"), strict=True):
        out |= table[byte]
    return out


def _codeword_bar_tables() -> tuple[list[list[int]], list[int]]:
    """Per character position: codeword -> its bars' contribution, plus the all-bits contribution.

    Collapses character lookup and bar placement into one look-up per character. Inverting a
    character (to carry an FCS bit) flips exactly its own bars' bits, so XOR with the all-bits
    contribution covers the inverted form without doubling the table.
    """
    low_bits = 7  # split each 13-bit character 7 + 6 so the per-position tables stay tiny
    tables, full = [], []
    for index in range(_CHARS):
        bit_bars = [_permute(1 << (index * _CHAR_BITS + bit), _CHARS_TO_BARS) for bit in range(_CHAR_BITS)]
        low = [0] * (1 << low_bits)
        for value in range(1, 1 << low_bits):
            low[value] = low[value & (value - 1)] | bit_bars[(value & -value).bit_length() - 1]
        high = [0] * (1 << (_CHAR_BITS - low_bits))
        for value in range(1, 1 << (_CHAR_BITS - low_bits)):
            high[value] = high[value & (value - 1)] | bit_bars[low_bits + (value & -value).bit_length() - 1]
        tables.append([low[char & 0x7F] | high[char >> low_bits] for char in _CODEWORD_TO_CHAR])
        full.append(low[-1] | high[-1])
    return tables, full


_CODEWORD_BARS, _CHAR_BARS_ALL = _codeword_bar_tables()


# --- encoding -------------------------------------------------------------------------------


def _encode_valid(tracking: str, routing: str) -> str:
    value = _ROUTING_OFFSET[len(routing)] + (int(routing) if routing else 0)
    value = ((value * 10 + ord(tracking[0]) - 48) * 5 + ord(tracking[1]) - 48) * 10**18 + int(tracking[2:])
    fcs = _crc(value)

    value, cw_j = divmod(value, _CODEWORD_J_LIMIT)
    codewords = [0] * _CHARS
    codewords[9] = cw_j * 2  # doubling J leaves its low bit free, which fixes the reading orientation
    for index in range(8, 0, -1):
        value, codewords[index] = divmod(value, _CODEWORD_RADIX)
    codewords[0] = value + (_CODEWORD_A_LIMIT if fcs & 0x400 else 0)

    packed = 0
    for index in range(_CHARS):
        packed |= _CODEWORD_BARS[index][codewords[index]]
        if fcs >> index & 1:
            packed ^= _CHAR_BARS_ALL[index]
    return packed.to_bytes(BAR_COUNT, "big").translate(_VALUES_TO_BARS).decode("ascii")


def encode(tracking: str, routing: str = "") -> str:
    """Return the 65-letter bar string (F/A/D/T) for a tracking code and optional routing ZIP.

    Surrounding whitespace is trimmed first, as the USPS reference encoder does; everything else
    that is not exactly right raises `IMbError` with the reference encoder's return code.
    """
    if not isinstance(tracking, str) or not isinstance(routing, str):
        raise TypeError("tracking and routing must be str; integers would lose leading zeros")
    tracking, routing = tracking.strip(), routing.strip()
    _validate(tracking, routing)
    return _encode_valid(tracking, routing)


# --- decoding -------------------------------------------------------------------------------


def _only_bar_letters(text: str) -> bool:
    return text.isascii() and not text.encode("ascii").translate(None, _BAR_BYTES)


def decode(bars: str) -> IMb:
    """Recover tracking and routing codes from a bar string, rejecting anything not intact.

    Every single-bar misread changes the bit count of a character and so fails the codeword check;
    the 11-bit CRC catches the rest. No error correction is attempted: a damaged barcode should
    surface as a reject rather than be silently repaired into someone else's mail piece.
    """
    if not isinstance(bars, str):
        raise TypeError("bars must be str")
    text = bars.strip().upper()
    if len(text) != BAR_COUNT:
        raise IMbError("bars_length", f"barcode must have {BAR_COUNT} bars, got {len(text)}")
    raw = text.encode("ascii") if text.isascii() else b"?"
    if raw.translate(None, _BAR_BYTES):
        bad = "".join(dict.fromkeys(ch for ch in text if ch not in _LETTERS))
        raise IMbError("bars_letters", f"barcode may only contain F, A, D, T; found {bad!r}")

    packed = _permute(int(raw.translate(_BARS_TO_DIGITS), 4), _BARS_TO_CHARS)
    codewords = [0] * _CHARS
    fcs = 0
    for index in range(_CHARS):
        entry = _CHAR_TO_CODEWORD[packed & _CHAR_MASK]
        packed >>= _CHAR_BITS
        if entry < 0:
            raise IMbError("bars_codeword", f"character {'ABCDEFGHIJ'[index]} is not a valid IMb character")
        if entry & 2048:
            fcs |= 1 << index
        codewords[index] = entry & 2047

    cw_a, cw_j = codewords[0], codewords[9]
    if cw_j & 1:
        raise IMbError("bars_codeword", "codeword J is odd: barcode is damaged or read upside down")
    if cw_a >= _CODEWORD_A_LIMIT:
        cw_a -= _CODEWORD_A_LIMIT
        fcs |= 0x400
    if cw_a >= _CODEWORD_A_LIMIT or cw_j // 2 >= _CODEWORD_J_LIMIT:
        raise IMbError("bars_codeword", "codeword A or J is out of range")

    value = cw_a
    for index in range(1, 9):
        value = value * _CODEWORD_RADIX + codewords[index]
    value = value * _CODEWORD_J_LIMIT + cw_j // 2
    if _crc(value) != fcs:
        raise IMbError("bars_crc", "frame check sequence mismatch: barcode is damaged or misread")

    value, tail = divmod(value, 10**18)
    value, second = divmod(value, 5)
    value, first = divmod(value, 10)
    tracking = f"{first}{second}{tail:018d}"
    if value == 0:
        routing = ""
    elif value <= _ROUTING_LIMIT_5:
        routing = f"{value - _ROUTING_OFFSET[5]:05d}"
    elif value <= _ROUTING_LIMIT_9:
        routing = f"{value - _ROUTING_OFFSET[9]:09d}"
    elif value <= _ROUTING_LIMIT_11:
        routing = f"{value - _ROUTING_OFFSET[11]:011d}"
    else:
        raise IMbError("bars_range", "routing value beyond any 11-digit ZIP: not produced by a valid encoder")
    return IMb._trusted(tracking, routing)


# --- other encodings ------------------------------------------------------------------------


def _field(name: str, value: str, lengths: tuple[int, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str; integers would lose leading zeros")
    value = value.strip()
    if len(value) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise IMbError("09", f"{name} must be {expected} digits, got {len(value)} characters")
    bad = _non_digits(value)
    if bad:
        raise IMbError("10", f"{name} contains non-digit characters: {bad!r}")
    return value


def from_fields(barcode_id: str, service_type: str, mailer_id: str, serial_number: str, routing: str = "") -> IMb:
    """Assemble an `IMb` from the tracking code's fields, as some partner files carry them.

    The mailer ID's length is implied by its leading digit once it sits inside the tracking code,
    so a 6-digit ID starting with 9 (or a 9-digit one that does not) would silently come back split
    differently; both are rejected rather than reinterpreted.
    """
    barcode_id = _field("barcode_id", barcode_id, (2,))
    service_type = _field("service_type", service_type, (3,))
    mailer_id = _field("mailer_id", mailer_id, (6, 9))
    serial_length = 15 - len(mailer_id)
    serial_number = _field(f"serial_number (with a {len(mailer_id)}-digit mailer_id)", serial_number, (serial_length,))
    if (len(mailer_id) == 9) != mailer_id.startswith("9"):
        raise IMbError(
            "mailer_id",
            f"mailer_id {mailer_id!r}: 9-digit mailer IDs start with 9 and 6-digit ones never do",
        )
    if not isinstance(routing, str):
        raise TypeError("routing must be str; integers would lose leading zeros")
    return IMb(barcode_id + service_type + mailer_id + serial_number, routing.strip())


def normalize(value: str) -> IMb:
    """Map whatever a partner file holds — bars, digits, or dash-separated fields — to one `IMb`.

    Separators (whitespace, '-', '_', '.', '/') are dropped, so split fields and ZIP+4 notation
    need no special handling: the digits are simply read as tracking (first 20) plus routing.
    """
    if not isinstance(value, str):
        raise TypeError("value must be str")
    compact = _SEPARATORS.sub("", value)
    if not compact:
        raise IMbError("format", "empty value: expected a 65-bar barcode or 20-31 digits")
    if _only_bar_letters(compact.upper()):
        return decode(compact)
    bad = _non_digits(compact)
    if bad:
        raise IMbError("format", f"not a barcode or digit string; unexpected characters {bad!r}")
    if len(compact) < TRACKING_LENGTH:
        raise IMbError("09", f"expected at least {TRACKING_LENGTH} tracking digits, got {len(compact)}")
    if len(compact) not in _NORMALIZE_DIGIT_LENGTHS:
        raise IMbError(
            "12",
            f"{len(compact)} digits leave {len(compact) - TRACKING_LENGTH} routing digits; expected 0, 5, 9 or 11",
        )
    return IMb(compact[:TRACKING_LENGTH], compact[TRACKING_LENGTH:])
