"""The IMb bar decoder over a whole column, in numpy.

`ingestion.imb.decode` takes some 6 µs per barcode in Python; a partner that prints every piece
as 65 bars would spend most of its load there. This module runs the same steps on all rows at
once: bar states → characters (one matrix product with the spec's bar table), characters →
codewords (one table look-up), codewords → the 102-bit binary value in four 32-bit limbs, the
frame check sequence by per-byte tables, and the value back to decimal digits by long division.

It only ever says "this row decodes to …" or "this row does not": a row that does not (damaged,
misread, not bars at all) comes back null, and the caller asks the scalar codec for the reason.
The two agree on every shared USPS vector and on damaged barcodes (tests/unit/test_imb.py).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import imb

_BARS = imb.BAR_COUNT
_SLICE = 8192  # barcodes decoded at once
_LIMB = np.uint64(32)
_LIMB_MASK = np.uint64(0xFFFFFFFF)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    state = np.full(256, 255, dtype=np.uint8)  # letter byte → bar state (descender 1, ascender 2)
    for value, letter in enumerate(imb._LETTERS):
        state[ord(letter)] = value
    # Row b: what bar b's descender raises; row 65 + b: its ascender. Each is one character bit,
    # so a matrix product sums (ORs) every character's 13 bits; float32 holds them exactly.
    weights = np.zeros((2 * _BARS, imb._CHARS), dtype=np.float32)
    for bar, (desc_char, desc_bit, asc_char, asc_bit) in enumerate(imb._parse_bar_table()):
        weights[bar, desc_char] = 1 << desc_bit
        weights[_BARS + bar, asc_char] = 1 << asc_bit
    codeword = np.array(imb._CHAR_TO_CODEWORD, dtype=np.int64)
    crc = np.array(imb._CRC_TABLES, dtype=np.int64)
    return state, weights, codeword, crc


_STATE, _WEIGHTS, _CODEWORD, _CRC = _tables()


def decode_column(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Tracking and routing codes of the 65-bar values in `values` (routing "" when the barcode
    carries none); both null where a value is not an intact barcode."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    shaped = pc.fill_null(pc.match_substring_regex(text, f"^[{imb._LETTERS}]{{{_BARS}}}$"), False)
    rows = np.flatnonzero(shaped.to_numpy(zero_copy_only=False))
    if len(rows):
        bars = text.take(pa.array(rows))
        offsets = np.frombuffer(bars.buffers()[1], dtype=np.int32)[bars.offset : bars.offset + len(rows) + 1]
        start, end = int(offsets[0]), int(offsets[-1])  # 65 ASCII letters each, back to back
        letters = np.frombuffer(bars.buffers()[2], dtype=np.uint8)[start:end].reshape(len(rows), _BARS)
        # In slices: the scratch arrays of a slice are reused memory, the whole column's would
        # be fresh pages to fault in.
        parts = [_decode(_STATE[letters[i : i + _SLICE]]) for i in range(0, len(rows), _SLICE)]
        ok = np.concatenate([part[0] for part in parts])
        tracks = pa.concat_arrays([part[1] for part in parts])
        routes = pa.concat_arrays([part[2] for part in parts])
        keep = pa.array(ok)
        at = pa.array(rows[ok])
        return _scatter(tracks.filter(keep), at, len(values)), _scatter(routes.filter(keep), at, len(values))
    return pa.nulls(len(values), pa.string()), pa.nulls(len(values), pa.string())


def _scatter(values: pa.Array, at: pa.Array, length: int) -> pa.Array:
    """An array of `length` nulls with `values` placed at the (ascending) positions `at`."""
    positions = np.full(length, -1, dtype=np.int64)
    positions[at.to_numpy()] = np.arange(len(at))
    return values.take(pa.array(positions, mask=positions < 0))


def _decode(states: np.ndarray) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Bar states (rows × 65) → which rows are intact, and their tracking and routing codes."""
    bits = np.concatenate([states & 1, states >> 1], axis=1).astype(np.float32)
    chars = (bits @ _WEIGHTS).astype(np.int64)
    entries = _CODEWORD[chars]
    ok = (entries >= 0).all(axis=1)
    entries = np.where(entries < 0, 0, entries)
    codewords = entries & 2047
    fcs = ((entries >> 11) << np.arange(imb._CHARS)).sum(axis=1)
    cw_a, cw_j = codewords[:, 0].copy(), codewords[:, 9]
    ok &= (cw_j & 1) == 0  # J is always even: an odd one is a barcode read upside down
    high = cw_a >= imb._CODEWORD_A_LIMIT
    cw_a[high] -= imb._CODEWORD_A_LIMIT
    fcs |= high.astype(np.int64) << 10
    ok &= (cw_a < imb._CODEWORD_A_LIMIT) & (cw_j // 2 < imb._CODEWORD_J_LIMIT)

    limbs = np.zeros((4, len(states)), dtype=np.uint64)  # the binary value, least significant first
    limbs[0] = cw_a
    for index in range(1, 9):
        _multiply_add(limbs, imb._CODEWORD_RADIX, codewords[:, index])
    _multiply_add(limbs, imb._CODEWORD_J_LIMIT, cw_j // 2)
    ok &= _crc(limbs) == fcs

    low = _divide(limbs, 10**9)
    tail = _divide(limbs, 10**9) * np.uint64(10**9) + low
    value = limbs[0] | (limbs[1] << _LIMB)  # below 2**43 once 18 digits are divided off
    value, second = np.divmod(value, np.uint64(5))
    value, first = np.divmod(value, np.uint64(10))
    ok &= value <= imb._ROUTING_LIMIT_11
    tracking = pc.binary_join_element_wise(_digits(first * np.uint64(10) + second, 2), _digits(tail, 18), "")
    return ok, tracking, _routing(value)


def _digits(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")


def _routing(value: np.ndarray) -> pa.Array:
    """The routing value's ZIP digits: its range says how many (0, 5, 9 or 11)."""
    digits = pa.array(np.full(len(value), "", dtype=object), pa.string())
    for length, limit in ((11, imb._ROUTING_LIMIT_11), (9, imb._ROUTING_LIMIT_9), (5, imb._ROUTING_LIMIT_5)):
        offset = np.uint64(imb._ROUTING_OFFSET[length])
        chosen = pa.array((value >= offset) & (value <= np.uint64(limit)) & (value > 0))
        digits = pc.if_else(chosen, _digits(value - np.minimum(value, offset), length), digits)
    return digits


def _multiply_add(limbs: np.ndarray, factor: int, addend: np.ndarray) -> None:
    carry = addend.astype(np.uint64)
    for index in range(len(limbs)):
        product = limbs[index] * np.uint64(factor) + carry  # < 2**43: no overflow
        limbs[index] = product & _LIMB_MASK
        carry = product >> _LIMB


def _divide(limbs: np.ndarray, divisor: int) -> np.ndarray:
    """Divides the limbs in place by `divisor` (< 2**32); returns the remainders."""
    remainder = np.zeros(limbs.shape[1], dtype=np.uint64)
    for index in range(len(limbs) - 1, -1, -1):
        current = (remainder << _LIMB) | limbs[index]  # < 2**64 since remainder < divisor < 2**32
        limbs[index], remainder = np.divmod(current, np.uint64(divisor))
    return remainder


def _crc(limbs: np.ndarray) -> np.ndarray:
    """The 11-bit frame check sequence of each 102-bit value, from its 13 big-endian bytes."""
    fcs = np.full(limbs.shape[1], imb._CRC_BASE, dtype=np.int64)
    for position in range(imb._CRC_BYTES):
        shift = 8 * (imb._CRC_BYTES - 1 - position)
        byte = (limbs[shift // 32] >> np.uint64(shift % 32)) & np.uint64(0xFF)
        fcs ^= _CRC[position][byte.astype(np.int64)]
    return fcs
