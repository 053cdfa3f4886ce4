"""conv2d, its backward ops and max_pool_grad (xlc, compiled) against PyTorch on the MNIST CNN's shapes.

The CNN of the training demo: conv 5x5 1->32 and conv 5x5 32->64 (SAME, stride 1) on a
batch of 64, 2x2 max pooling.  For each op, xlc's compiled function and PyTorch's
(``torch.nn.functional.conv2d`` / ``aten.convolution_backward`` /
``aten.max_pool2d_with_indices_backward`` in NCHW, its native layout; the pooling indices
are computed once, outside the timing) are timed in one process, alternating round by round;
medians are reported.
Both sides use the same number of threads (``--threads``, default: all CPUs)::

    PYTHONPATH=. python benchmarks/bench_conv.py [--rounds 9] [--threads 2]

Until the runtime pools its buffers, every call's output is a fresh numpy array, and glibc
hands large freed blocks back to the OS, so each call would also pay the page faults of its
output (several ms for a few MB in this VM).  The script re-runs itself with glibc told to
keep freed memory mapped, so the figures are the ops' own cost (``--keep-faults`` measures
with the faults).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Workload, report, time_workload  # noqa: E402

import xlc.ops  # noqa: E402,F401
from xlc.ir.builder import Builder  # noqa: E402
from xlc.ir.core import Func  # noqa: E402
from xlc.ir.types import TensorType, float32  # noqa: E402
from xlc.runtime import compile_func  # noqa: E402

try:
    import torch
except ImportError:  # the xlc side still runs
    torch = None

# (name, x shape NHWC, filter HWIO)
LAYERS = [("conv1 5x5 1->32 28x28", (64, 28, 28, 1), (5, 5, 1, 32)),
          ("conv2 5x5 32->64 14x14", (64, 14, 14, 32), (5, 5, 32, 64))]
ATTRS = {"strides": (1, 1), "padding": "SAME", "dilations": (1, 1)}


def _xlc(name: str, inputs: list[np.ndarray], attrs: dict[str, Any]) -> Callable[[], object]:
    filter_at = {"conv2d": 1, "conv2d_backprop_input": 0}.get(name, -1)  # the batch of activations is '?'
    f = Func("bench", [TensorType(x.shape if k == filter_at else (None,) + x.shape[1:], float32)
                       for k, x in enumerate(inputs)])
    b = Builder(f.body)
    b.ret(b.emit(name, *f.args, **attrs))
    exe = compile_func(f)
    return lambda: exe.run(inputs)


def workloads(rng: np.random.Generator) -> list[Workload]:
    out = []
    for label, xs, ws in LAYERS:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        dy = rng.standard_normal(xs[:3] + ws[3:]).astype(np.float32)
        flops = 2.0 * np.prod(dy.shape) * ws[0] * ws[1] * ws[2]
        fwd = Workload(f"{label}: forward", flops=flops)
        fwd.runners["xlc"] = _xlc("conv2d", [x, w], ATTRS)
        din = Workload(f"{label}: input gradient", flops=flops)
        din.runners["xlc"] = _xlc("conv2d_backprop_input", [w, dy], {**ATTRS, "input_size": xs[1:3]})
        dfl = Workload(f"{label}: filter gradient", flops=flops)
        dfl.runners["xlc"] = _xlc("conv2d_backprop_filter", [x, dy], {**ATTRS, "filter_size": ws[:2]})
        if torch is not None:
            tx = torch.tensor(x).permute(0, 3, 1, 2).contiguous()
            tw = torch.tensor(w).permute(3, 2, 0, 1).contiguous()
            tdy = torch.tensor(dy).permute(0, 3, 1, 2).contiguous()
            pad = (ws[0] // 2, ws[1] // 2)

            def t_fwd(tx: Any = tx, tw: Any = tw, pad: Any = pad) -> object:
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, padding=pad)

            def t_bwd(mask: list[bool], tx: Any = tx, tw: Any = tw, tdy: Any = tdy, pad: Any = pad) -> object:
                with torch.no_grad():
                    return torch.ops.aten.convolution_backward(tdy, tx, tw, None, [1, 1], list(pad), [1, 1], False,
                                                               [0, 0], 1, mask)

            fwd.runners["torch"] = t_fwd
            din.runners["torch"] = lambda: t_bwd([True, False, False])
            dfl.runners["torch"] = lambda: t_bwd([False, True, False])
        out += [fwd, din, dfl]
    for xs in ((64, 28, 28, 32), (64, 14, 14, 64)):
        out.append(_pool_grad_workload(rng, xs))
    return out


def _pool_grad_workload(rng: np.random.Generator, xs: tuple[int, ...]) -> Workload:
    x = rng.standard_normal(xs).astype(np.float32)
    dy = rng.standard_normal((xs[0], xs[1] // 2, xs[2] // 2, xs[3])).astype(np.float32)
    w = Workload(f"max_pool_grad 2x2 {xs[1]}x{xs[2]}x{xs[3]}")
    attrs = {"ksize": (2, 2), "strides": (2, 2), "padding": "SAME"}
    f = Func("bench", [TensorType((None,) + a.shape[1:], float32) for a in (x, dy)])
    b = Builder(f.body)
    b.ret(b.emit("max_pool_grad", *f.args, **attrs))
    exe = compile_func(f)
    w.runners["xlc"] = lambda: exe.run([x, dy])
    if torch is not None:
        tx = torch.tensor(x).permute(0, 3, 1, 2).contiguous()
        tdy = torch.tensor(dy).permute(0, 3, 1, 2).contiguous()
        _, idx = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)

        def t_pool_grad() -> object:
            return torch.ops.aten.max_pool2d_with_indices_backward(tdy, tx, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)

        w.runners["torch"] = t_pool_grad
    return w


_KEEP_MAPPED = {"MALLOC_TRIM_THRESHOLD_": "4000000000", "MALLOC_MMAP_THRESHOLD_": "4000000000"}


def main() -> None:
    if "--keep-faults" not in sys.argv and any(os.environ.get(k) != v for k, v in _KEEP_MAPPED.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **_KEEP_MAPPED})
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep-faults", action="store_true", help="leave glibc's malloc settings alone")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all CPUs, as xlc)")
    args = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    rng = np.random.default_rng(0)
    for w in workloads(rng):
        print(report(w, time_workload(w, rounds=args.rounds)))
        print()


if __name__ == "__main__":
    main()
