"""Session configuration (TF1's ConfigProto and friends) and device-spec strings.

The protobuf classes of TF are plain objects here: they accept the keyword arguments
tutorials pass (``ConfigProto(log_device_placement=True, gpu_options=GPUOptions(
allow_growth=True))``) and keep them as attributes; xlc uses only the ones it
documents and ignores the rest, so scripts that set them still run.
"""

from __future__ import annotations

import re
from typing import Any

_FIELDS = ("job", "replica", "task", "device_type", "device_index")
_PART = re.compile(r"^(job|replica|task|device|cpu|gpu|CPU|GPU):?(.*)$")


class _Proto:
    """A keyword-argument bag that reads unknown fields as None (protobuf-like)."""

    _defaults: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        for k, v in self._defaults.items():
            setattr(self, k, v() if callable(v) else v)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class GPUOptions(_Proto):
    _defaults = {"allow_growth": False, "per_process_gpu_memory_fraction": 0.0, "visible_device_list": ""}


class GraphOptions(_Proto):
    pass


class OptimizerOptions(_Proto):
    ON_1 = 1
    L1 = 1
    OFF = -1


class ConfigProto(_Proto):
    """Session options; xlc honours ``log_device_placement`` (and accepts the rest)."""

    _defaults = {"log_device_placement": False, "allow_soft_placement": False, "device_count": dict,
                 "intra_op_parallelism_threads": 0, "inter_op_parallelism_threads": 0,
                 "gpu_options": GPUOptions}


class RunOptions(_Proto):
    NO_TRACE = 0
    SOFTWARE_TRACE = 1
    HARDWARE_TRACE = 2
    FULL_TRACE = 3
    _defaults = {"trace_level": 0}


class RunMetadata(_Proto):
    pass


def _parse(spec: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in spec.strip().split("/"):
        if not part:
            continue
        m = _PART.match(part)
        if m is None:
            raise ValueError(f"Unknown attribute: '{part}' in '{spec}'")
        key, rest = m.group(1), m.group(2)
        if key in ("job",):
            out["job"] = rest
        elif key in ("replica", "task"):
            out[key] = int(rest)
        elif key == "device":  # device:CPU:0 or device:GPU:*
            dtype, _, index = rest.partition(":")
            out["device_type"] = dtype.upper()
            if index and index != "*":
                out["device_index"] = int(index)
        else:  # cpu:0 / gpu:1 (old style)
            out["device_type"] = key.upper()
            if rest and rest != "*":
                out["device_index"] = int(rest)
    return out


def _format(fields: dict[str, Any]) -> str:
    s = ""
    for k in ("job", "replica", "task"):
        if k in fields:
            s += f"/{k}:{fields[k]}"
    if "device_type" in fields:
        s += f"/device:{fields['device_type']}:{fields.get('device_index', '*')}"
    return s


def canonical_device(spec: Any) -> str:
    """A device string in TF's canonical form: "/cpu:0" and "/device:CPU:0" give "/device:CPU:0".

    Accepts a string, None or an object with ``to_string()`` (a DeviceSpec); "" means none.
    """
    if spec is None:
        return ""
    if not isinstance(spec, str):
        spec = spec.to_string() if hasattr(spec, "to_string") else str(spec)
    return _format(_parse(spec))


def merge_device(outer: str, inner: str) -> str:
    """The device an op gets inside nested scopes: the inner spec's fields override the outer's."""
    fields = _parse(outer)
    fields.update(_parse(inner))
    return _format(fields)


def full_device_name(spec: str) -> str:
    """The fully specified device an op runs on, for logs: today always a CPU of localhost.

    GPU placement arrives with the GPU backend; until then ops asking for a GPU run on
    the CPU (soft placement), as TF does with ``allow_soft_placement=True``.
    """
    fields = {"job": "localhost", "replica": 0, "task": 0, "device_type": "CPU", "device_index": 0}
    parsed = _parse(spec)
    for k in ("job", "replica", "task"):
        if k in parsed:
            fields[k] = parsed[k]
    return _format(fields)
