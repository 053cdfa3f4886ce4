"""Where a training step's time goes: each op of xlc's compiled step timed alone, sorted.

Builds the step of ``bench_train.py`` (``cnn`` or ``mlp``), runs it a few times, then takes
the biggest compiled function, infers every op's concrete shapes from the run's inputs, and
compiles each op (except constants) as a function of its own, fed random inputs of those
shapes.  Each op is timed over ``--rounds`` rounds (median).  Fusion is lost (every op reads
and writes whole buffers), so the sum is an upper bound of the step; the ranking is what
guides the work::

    PYTHONPATH=. python benchmarks/profile_step.py [cnn|mlp] [--top 25] [--rounds 9] [--only conv]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_train as B  # noqa: E402

import xlc.runtime.executable as E  # noqa: E402
from xlc.ir.builder import Builder  # noqa: E402
from xlc.ir.core import Func, Value  # noqa: E402
from xlc.ir.opdef import get_opdef  # noqa: E402
from xlc.ir.types import TensorType  # noqa: E402

_SHOWN_ATTRS = ("transpose_a", "transpose_b", "axes", "strides", "padding", "ksize")


def _step(kind: str) -> Any:
    if kind == "cnn":
        params, (x, y) = B._conv_params(), B._data(64, (28, 28, 1))
    else:
        params, (x, y) = B._dense_params([784, 512, 512, 10]), B._data(128, (784,))
    step, _, first_s = B.xlc_model(kind, params, x, y)
    print(f"first step {first_s:.2f} s")
    ts = []
    for _ in range(10):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    print(f"step median {statistics.median(ts) * 1e3:.2f} ms")
    return step


def _biggest_executable() -> tuple[Any, dict[Value, tuple[int, ...]]]:
    """The compiled function with the most ops, and the concrete shape of each of its values."""
    exes = [o for o in gc.get_objects() if isinstance(o, E.Executable)]
    big = max(exes, key=lambda e: len(e.func.body.ops))
    plan_key = next(iter(big._plans))
    shapes: dict[Value, tuple[int, ...]] = dict(zip(big.func.args, plan_key))
    for op in big.func.body.ops:
        if op.name == "return":
            break
        res = get_opdef(op.name).infer([TensorType(shapes[v], v.dtype) for v in op.operands], op.attrs)
        for r, t in zip(op.results, res):
            shapes[r] = t.shape
    return big, shapes


def _random_input(v: Value, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if v.dtype.is_floating:
        return rng.random(shape).astype(v.dtype.np_dtype)
    return np.ones(shape, v.dtype.np_dtype)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", nargs="?", default="cnn", choices=("cnn", "mlp"))
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--only", default="", help="profile only ops whose name contains this")
    args = ap.parse_args()
    step = _step(args.kind)  # noqa: F841  (keeps the session and its executables alive)
    big, shapes = _biggest_executable()
    rng = np.random.default_rng(0)
    rows = []
    for op in big.func.body.ops:
        if op.name in ("return", "constant") or args.only not in op.name:
            continue
        f = Func("one", [TensorType(shapes[v], v.dtype) for v in op.operands])
        b = Builder(f.body)
        b.ret(*b.create(op.name, f.args, op.attrs).results)
        try:
            exe = E.compile_func(f, E.CompileOptions(pipeline=""))
        except Exception as e:  # an op that cannot stand alone: say so and go on
            print(f"skip {op.name}: {e}")
            continue
        ins = [_random_input(v, shapes[v], rng) for v in op.operands]
        exe.run(ins)
        t0 = time.perf_counter()
        exe.run(ins)
        n = max(1, min(50, int(0.02 / max(time.perf_counter() - t0, 1e-6))))
        tt = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            for _ in range(n):
                exe.run(ins)
            tt.append((time.perf_counter() - t) / n)
        attrs = {k: v for k, v in op.attrs.items() if k in _SHOWN_ATTRS}
        rows.append((statistics.median(tt) * 1e3, op.name, [shapes[v] for v in op.operands], attrs))
    rows.sort(key=lambda r: r[0], reverse=True)
    print(f"sum of isolated ops {sum(r[0] for r in rows):.2f} ms ({len(rows)} ops)")
    for ms, name, operand_shapes, attrs in rows[: args.top]:
        print(f"{ms:8.3f} ms  {name:24s} {operand_shapes} {attrs}")


if __name__ == "__main__":
    main()
