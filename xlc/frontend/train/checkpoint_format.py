"""Checkpoint files: safetensors data files and TF's ``checkpoint`` state file, written atomically.

A checkpoint is one safetensors file (``<prefix>.safetensors``) mapping variable names
to arrays, with the metadata ``{"format": "xlc.checkpoint", "version": "1"}``.
safetensors is a header plus raw bytes: loading it runs no code (unlike pickle), and
other tools (PyTorch, JAX) read it.  bfloat16 is stored as safetensors' ``BF16``.

Every file here is written to a temporary file in the same directory, flushed,
fsynced, and moved over the destination with ``os.replace``: a reader (or a restart
after a crash) sees either the old file or the complete new one, never a half file.

The state file ``checkpoint`` is TF's text format, paths relative to its directory::

    model_checkpoint_path: "model.ckpt-100"
    all_model_checkpoint_paths: "model.ckpt-90"
    all_model_checkpoint_paths: "model.ckpt-100"
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Mapping

import ml_dtypes
import numpy as np
import safetensors
import safetensors.numpy

from xlc.errors import DataLossError, InvalidArgumentError, NotFoundError

SUFFIX = ".safetensors"
FORMAT_METADATA = {"format": "xlc.checkpoint", "version": "1"}
STATE_FILENAME = "checkpoint"

# safetensors' dtype tokens -> numpy (safetensors.numpy's own table lacks BF16)
_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8), "I16": np.dtype(np.int16),
    "U16": np.dtype(np.uint16), "I32": np.dtype(np.int32), "U32": np.dtype(np.uint32),
    "I64": np.dtype(np.int64), "U64": np.dtype(np.uint64), "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16), "F32": np.dtype(np.float32), "F64": np.dtype(np.float64),
}


def data_path(prefix: str) -> str:
    """The data file of the checkpoint ``prefix`` (a path given with the suffix is kept)."""
    return prefix if prefix.endswith(SUFFIX) else prefix + SUFFIX


def checkpoint_exists(prefix: str) -> bool:
    return os.path.isfile(data_path(prefix))


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either the old file or all of ``data``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)  # make the rename itself durable


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_checkpoint(prefix: str, tensors: Mapping[str, np.ndarray]) -> str:
    """Write ``tensors`` atomically to ``prefix``'s data file; returns that file's path."""
    arrays = {name: np.asarray(a, order="C") for name, a in tensors.items()}  # keeps 0-d (ascontiguousarray would not)
    for name, a in arrays.items():
        if a.dtype not in _DTYPES.values():
            raise InvalidArgumentError(None, None, f"Cannot save variable '{name}' of dtype {a.dtype}: "
                                                   "checkpoints hold numeric and bool tensors only")
    path = data_path(prefix)
    atomic_write(path, safetensors.numpy.save(arrays, metadata=dict(FORMAT_METADATA)))
    return path


def read_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    """Every tensor in ``prefix``'s data file (NotFoundError if none; DataLossError if unreadable)."""
    path = data_path(prefix)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFoundError(None, None, f"Checkpoint '{prefix}' not found: no file {path}") from None
    try:
        entries = safetensors.deserialize(raw)
    except Exception as e:  # safetensors raises its own SafetensorError for a bad header
        raise DataLossError(None, None, f"Unable to read checkpoint file {path}: {e}") from None
    out: dict[str, np.ndarray] = {}
    for name, info in entries:
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise DataLossError(None, None, f"Checkpoint file {path}: tensor '{name}' has dtype {info['dtype']}, "
                                            "which xlc cannot load")
        out[name] = np.frombuffer(info["data"], dtype=dt).reshape(info["shape"]).copy()
    return out


# --- the state file ----------------------------------------------------------------------------
@dataclass
class CheckpointState:
    """TF's CheckpointState: the latest checkpoint and all kept ones (oldest first), as full paths."""

    model_checkpoint_path: str
    all_model_checkpoint_paths: list[str] = field(default_factory=list)


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_LINE = re.compile(r'^\s*(\w+)\s*:\s*"((?:[^"\\]|\\.)*)"\s*$')


def write_state(directory: str, latest: str, all_paths: list[str], filename: str = STATE_FILENAME) -> None:
    """Atomically write the state file; paths inside ``directory`` are stored relative to it."""

    def rel(p: str) -> str:
        return os.path.basename(p) if os.path.dirname(os.path.abspath(p)) == os.path.abspath(directory) else p

    lines = [f"model_checkpoint_path: {_quote(rel(latest))}"]
    lines += [f"all_model_checkpoint_paths: {_quote(rel(p))}" for p in all_paths]
    atomic_write(os.path.join(directory, filename), ("\n".join(lines) + "\n").encode())


def read_state(directory: str, filename: str = STATE_FILENAME) -> CheckpointState | None:
    """The state file of ``directory`` with paths made full, or None if there is none."""
    try:
        with open(os.path.join(directory, filename), encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    latest = None
    all_paths: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            raise DataLossError(None, None, f"{os.path.join(directory, filename)}:{n}: cannot parse {line!r}")
        value = re.sub(r"\\(.)", r"\1", m.group(2))
        full = value if os.path.isabs(value) else os.path.join(directory, value)
        if m.group(1) == "model_checkpoint_path":
            latest = full
        elif m.group(1) == "all_model_checkpoint_paths":
            all_paths.append(full)
    if latest is None:
        return None
    return CheckpointState(latest, all_paths)


__all__ = ["CheckpointState", "atomic_write", "checkpoint_exists", "data_path", "read_checkpoint", "read_state",
           "write_checkpoint", "write_state"]
