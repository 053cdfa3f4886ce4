"""TFRecord framing with masked CRC32C, the container of TensorBoard event files.

Each record is::

    uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

CRC32C is the Castagnoli CRC (reflected polynomial 0x82F63B78); the mask rotates it
right by 15 bits and adds 0xa282ead8, so that a CRC of data containing CRCs stays
well distributed (TF's ``crc32c::Mask``).
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

from xlc.errors import DataLossError


def _table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc32c(data: bytes) -> int:
    """CRC32C of ``data`` (crc32c(b"123456789") == 0xE3069283)."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def encode_record(data: bytes) -> bytes:
    """One framed record holding ``data``."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def read_records(f: BinaryIO) -> Iterator[bytes]:
    """The records of a TFRecord stream, checking both CRCs (DataLossError on corruption)."""
    while True:
        header = f.read(8)
        if not header:
            return
        if len(header) < 8:
            raise DataLossError(None, None, "truncated record header")
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", f.read(4))
        if hcrc != masked_crc32c(header):
            raise DataLossError(None, None, "corrupted record: length checksum mismatch")
        data = f.read(length)
        tail = f.read(4)
        if len(data) < length or len(tail) < 4:
            raise DataLossError(None, None, "truncated record")
        if struct.unpack("<I", tail)[0] != masked_crc32c(data):
            raise DataLossError(None, None, "corrupted record: data checksum mismatch")
        yield data


__all__ = ["crc32c", "encode_record", "masked_crc32c", "read_records"]
