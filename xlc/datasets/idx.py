"""Reading IDX files, the format the MNIST data ships in (``train-images-idx3-ubyte[.gz]``).

An IDX file is: two zero bytes, a type code byte, a rank byte, then ``rank`` big-endian
uint32 dims, then the elements big-endian in row-major order.  Files may be gzipped
(detected by their magic bytes, not their name).  Bad files raise DataLossError naming
the file and what is wrong with it; a missing file raises NotFoundError.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from xlc.errors import DataLossError, NotFoundError

__all__ = ["MNIST_FILES", "find_idx_file", "read_idx", "write_idx"]

# type code -> big-endian numpy dtype of the elements
_IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

# The four MNIST files by role, under their canonical names (without .gz).
MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFoundError(None, None, f"IDX file not found: {path}") from None
    if raw[:2] == b"\x1f\x8b":  # gzip magic: decompress whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataLossError(None, None, f"{path}: corrupt gzip data ({e})") from None
    return raw


def read_idx(path: str) -> np.ndarray:
    """The array stored in the IDX file ``path`` (gzipped or not), in native byte order.

    Raises DataLossError if the header is malformed or the file holds fewer or more
    bytes than its dims call for.
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataLossError(None, None, f"{path}: not an IDX file (only {len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataLossError(None, None, f"{path}: not an IDX file (magic number starts with "
                                        f"{raw[0]:#04x} {raw[1]:#04x}, expected 0x00 0x00)")
    code, rank = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DataLossError(None, None, f"{path}: unknown IDX element type code {code:#04x}")
    header = 4 + 4 * rank
    if len(raw) < header:
        raise DataLossError(None, None, f"{path}: truncated IDX header (rank {rank} needs {header} bytes, "
                                        f"file has {len(raw)})")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=rank, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataLossError(None, None, f"{path}: IDX dims {list(dims)} need {expected} bytes of data, "
                                        f"the file has {len(raw) - header}")
    data = np.frombuffer(raw, dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def find_idx_file(directory: str, name: str) -> str | None:
    """The path of ``name`` or ``name.gz`` in ``directory``, or None if neither exists."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def write_idx(path: str, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in .gz); for tests and tools."""
    arr = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    code = codes.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"IDX cannot store dtype {arr.dtype}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    body = header + arr.astype(np.dtype(_IDX_DTYPES[code])).tobytes()
    if path.endswith(".gz"):
        body = gzip.compress(body)
    with open(path, "wb") as f:
        f.write(body)
