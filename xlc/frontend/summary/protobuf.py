"""The protobuf wire format, just what event files need: encode fields, and decode for inspection.

A message is the concatenation of its fields; a field is a key (``number << 3 | wire
type``) then its value: a varint (type 0), 8 little-endian bytes (type 1), a length
and bytes (type 2: strings, nested messages, packed repeated numbers), or 4 bytes
(type 5).  Writing it here keeps protobuf out of xlc's runtime dependencies.
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def varint(n: int) -> bytes:
    """Base-128 little-endian varint; negative numbers as their 64-bit two's complement (proto int64)."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def int_field(number: int, value: int, always: bool = False) -> bytes:
    """An int32/int64/uint64/enum/bool field (omitted when 0, proto3's default, unless ``always``)."""
    return _key(number, VARINT) + varint(int(value)) if value or always else b""


def double_field(number: int, value: float, always: bool = False) -> bytes:
    """A double field; omitted when 0.0 unless ``always`` (a oneof member must be written to be set)."""
    return _key(number, FIXED64) + struct.pack("<d", value) if value != 0.0 or always else b""


def float_field(number: int, value: float, always: bool = False) -> bytes:
    return _key(number, FIXED32) + struct.pack("<f", value) if value != 0.0 or always else b""


def bytes_field(number: int, value: bytes | str, always: bool = False) -> bytes:
    """A string/bytes/message field (omitted when empty, unless ``always``: an empty message that must be present)."""
    data = value.encode() if isinstance(value, str) else bytes(value)
    if not data and not always:
        return b""
    return _key(number, LENGTH) + varint(len(data)) + data


def packed_doubles(number: int, values: Iterable[float]) -> bytes:
    vals = list(values)
    return bytes_field(number, struct.pack(f"<{len(vals)}d", *vals)) if vals else b""


def packed_floats(number: int, values: Iterable[float]) -> bytes:
    vals = list(values)
    return bytes_field(number, struct.pack(f"<{len(vals)}f", *vals)) if vals else b""


def packed_varints(number: int, values: Iterable[int]) -> bytes:
    data = b"".join(varint(int(v)) for v in values)
    return bytes_field(number, data) if data else b""


# --- decoding (tests and tools read back what was written) ---------------------------------------
def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(number, wire_type, value)`` for each field of a message: ints for types 0/1/5, bytes for 2."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _read_varint(data, pos)
        elif wire == FIXED64:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == FIXED32:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        elif wire == LENGTH:
            n, pos = _read_varint(data, pos)
            value, pos = bytes(data[pos:pos + n]), pos + n
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated message")
        yield number, wire, value


__all__ = ["bytes_field", "double_field", "fields", "float_field", "int_field", "packed_doubles", "packed_floats",
           "packed_varints", "varint"]
