"""xlc beside numpy, PyTorch, JAX and TensorFlow (whichever are installed), in one run.

Workloads (float32, random normal data, identical inputs for every framework):
  fused    relu(x*1.5+0.5)*sigmoid(x) over 16M elements (xlc: Session.run with the feed)
  matmul   1024x1024 @ 1024x1024
  mlp-b1   MLP forward 784-512-512-10 (ReLU) at batch 1
  mlp-b128 the same at batch 128
  run      Session.run(a+b) on two fed scalars: the per-run overhead
  eager-add, eager-matmul   one eager op (2x2 add, 10x10 matmul): eager per-op overhead

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_core.py [--quick] [--only NAME]
Prints one table per workload: median per call and time relative to xlc (> 1: xlc is faster).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import Workload, optional_import, report, time_workload  # noqa: E402

import xlc  # noqa: E402

torch = optional_import("torch")
jax = optional_import("jax")
jnp = optional_import("jax.numpy")
tf = optional_import("tensorflow")

RNG = np.random.default_rng(0)


def _close(name: str, results: dict[str, np.ndarray], rtol: float = 1e-3) -> None:
    """All frameworks must agree before their times mean anything."""
    ref = results.get("numpy", next(iter(results.values())))
    for k, v in results.items():
        if not np.allclose(np.asarray(v), ref, rtol=rtol, atol=rtol):
            raise SystemExit(f"{name}: {k} disagrees with the reference (max diff "
                             f"{np.max(np.abs(np.asarray(v) - ref))})")


def fused(n: int) -> Workload:
    x = RNG.standard_normal(n).astype(np.float32)
    w = Workload(f"relu(x*1.5+0.5)*sigmoid(x), {n / 2**20:.0f}M float32", "ms")
    g = xlc.Graph()
    with g.as_default():
        px = xlc.placeholder(xlc.float32, [None])
        y = xlc.nn.relu(px * 1.5 + 0.5) * xlc.sigmoid(px)
    sess = xlc.Session(graph=g)
    w.runners["xlc"] = lambda: sess.run(y, {px: x})
    w.runners["numpy"] = lambda: np.maximum(x * 1.5 + 0.5, 0) * (1 / (1 + np.exp(-x)))
    if torch is not None:
        tx = torch.from_numpy(x)
        w.runners["torch eager"] = lambda: torch.relu(tx * 1.5 + 0.5) * torch.sigmoid(tx)
    if jax is not None:
        jf = jax.jit(lambda v: jax.nn.relu(v * 1.5 + 0.5) * jax.nn.sigmoid(v))
        jx = jnp.asarray(x)
        w.runners["jax.jit"] = lambda: jf(jx).block_until_ready()
    if tf is not None:
        tf_fn = tf.function(lambda v: tf.nn.relu(v * 1.5 + 0.5) * tf.sigmoid(v), jit_compile=True)
        tx2 = tf.constant(x)
        w.runners["TF2+XLA"] = lambda: tf_fn(tx2).numpy()
        w.runners["TF1 Session"] = _tf1(lambda t1, p: t1.nn.relu(p * 1.5 + 0.5) * t1.sigmoid(p), [x])
    _close(w.name, {k: np.asarray(f()) for k, f in w.runners.items()})
    return w


def _tf1(build, feeds: list[np.ndarray]):
    """A TF1 compat graph with placeholders fed from numpy, like xlc's Session."""
    t1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        ps = [t1.placeholder(tf.float32, [None] * f.ndim) for f in feeds]
        out = build(t1, *ps)
    s = t1.Session(graph=g)
    fd = dict(zip(ps, feeds))
    return lambda: s.run(out, fd)


def matmul(n: int) -> Workload:
    a = RNG.standard_normal((n, n)).astype(np.float32)
    b = RNG.standard_normal((n, n)).astype(np.float32)
    w = Workload(f"matmul {n}x{n}x{n} float32", "ms", flops=2.0 * n**3)
    g = xlc.Graph()
    with g.as_default():
        pa, pb = xlc.placeholder(xlc.float32, [n, n]), xlc.placeholder(xlc.float32, [n, n])
        c = xlc.matmul(pa, pb)
    sess = xlc.Session(graph=g)
    w.runners["xlc"] = lambda: sess.run(c, {pa: a, pb: b})
    w.runners["numpy"] = lambda: a @ b
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        w.runners["torch eager"] = lambda: ta @ tb
    if jax is not None:
        jf = jax.jit(jnp.matmul)
        ja, jb = jnp.asarray(a), jnp.asarray(b)
        w.runners["jax.jit"] = lambda: jf(ja, jb).block_until_ready()
    if tf is not None:
        w.runners["TF1 Session"] = _tf1(lambda t1, p, q: t1.matmul(p, q), [a, b])
    _close(w.name, {k: np.asarray(f()) for k, f in w.runners.items()}, rtol=1e-2)
    return w


def mlp(batch: int) -> Workload:
    sizes = [784, 512, 512, 10]
    ws = [(RNG.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32) for i, o in zip(sizes, sizes[1:])]
    bs = [(RNG.standard_normal(o) * 0.1).astype(np.float32) for o in sizes[1:]]
    x = RNG.standard_normal((batch, 784)).astype(np.float32)
    w = Workload(f"MLP forward 784-512-512-10, batch {batch}", "us")
    g = xlc.Graph()
    with g.as_default():
        px = xlc.placeholder(xlc.float32, [None, 784])
        h = px
        for k, (wk, bk) in enumerate(zip(ws, bs)):
            h = xlc.matmul(h, xlc.Variable(wk)) + xlc.Variable(bk)
            if k < 2:
                h = xlc.nn.relu(h)
        init = xlc.global_variables_initializer()
    sess = xlc.Session(graph=g)
    sess.run(init)
    w.runners["xlc"] = lambda: sess.run(h, {px: x})

    def np_mlp() -> np.ndarray:
        a = x
        for k, (wk, bk) in enumerate(zip(ws, bs)):
            a = a @ wk + bk
            if k < 2:
                a = np.maximum(a, 0)
        return a

    w.runners["numpy"] = np_mlp
    if torch is not None:
        tw = [torch.from_numpy(v) for v in ws]
        tb = [torch.from_numpy(v) for v in bs]
        tx = torch.from_numpy(x)

        def t_mlp():
            with torch.no_grad():
                a = tx
                for k in range(3):
                    a = torch.addmm(tb[k], a, tw[k])
                    if k < 2:
                        a = torch.relu(a)
                return a

        w.runners["torch eager"] = t_mlp
    if jax is not None:
        jw, jb = [jnp.asarray(v) for v in ws], [jnp.asarray(v) for v in bs]

        @jax.jit
        def j_mlp(a):
            for k in range(3):
                a = a @ jw[k] + jb[k]
                if k < 2:
                    a = jax.nn.relu(a)
            return a

        jx = jnp.asarray(x)
        w.runners["jax.jit"] = lambda: j_mlp(jx).block_until_ready()
    if tf is not None:
        def build(t1, p):
            a = p
            for k in range(3):
                a = t1.matmul(a, tf.constant(ws[k])) + tf.constant(bs[k])
                if k < 2:
                    a = t1.nn.relu(a)
            return a

        w.runners["TF1 Session"] = _tf1(build, [x])
    _close(w.name, {k: np.asarray(f()) for k, f in w.runners.items()}, rtol=1e-3)
    return w


def run_overhead() -> Workload:
    w = Workload("Session.run(a + b) on fed scalars", "us")
    g = xlc.Graph()
    with g.as_default():
        a, b = xlc.placeholder(xlc.float32, []), xlc.placeholder(xlc.float32, [])
        c = a + b
    sess = xlc.Session(graph=g)
    w.runners["xlc"] = lambda: sess.run(c, {a: 1.0, b: 2.0})
    if tf is not None:
        t1 = tf.compat.v1
        tg = tf.Graph()
        with tg.as_default():
            ta, tb = t1.placeholder(tf.float32, []), t1.placeholder(tf.float32, [])
            tc = ta + tb
        ts = t1.Session(graph=tg)
        w.runners["TF1 Session"] = lambda: ts.run(tc, {ta: 1.0, tb: 2.0})
    return w


def eager_op(kind: str) -> Workload:
    """Per-op overhead of eager execution: one tiny op, its result a new tensor (xlc eager stays on after)."""
    xlc.enable_eager_execution()  # graph workloads build inside Graph.as_default(), which stays graph mode
    if kind == "add":
        w = Workload("eager a + b, 2x2 float32 (per-op overhead)", "us")
        x, y = RNG.standard_normal((2, 2)).astype(np.float32), RNG.standard_normal((2, 2)).astype(np.float32)

        def op(p, q):
            return p + q
    else:
        w = Workload("eager matmul, 10x10 float32 (per-op overhead)", "us")
        x, y = RNG.standard_normal((10, 10)).astype(np.float32), RNG.standard_normal((10, 10)).astype(np.float32)

        def op(p, q):
            return p @ q
    xa, xb = xlc.constant(x), xlc.constant(y)
    w.runners["xlc"] = lambda: op(xa, xb)
    w.runners["numpy"] = lambda: op(x, y)
    if torch is not None:
        ta, tb = torch.from_numpy(x), torch.from_numpy(y)
        w.runners["torch eager"] = lambda: op(ta, tb)
    if tf is not None:
        fa, fb = tf.constant(x), tf.constant(y)
        w.runners["TF2 eager"] = lambda: op(fa, fb)
    _close(w.name, {k: np.asarray(f()) for k, f in w.runners.items()}, rtol=1e-4)
    return w


WORKLOADS = {
    "fused": lambda q: fused(1 << (20 if q else 24)),
    "matmul": lambda q: matmul(256 if q else 1024),
    "mlp-b1": lambda q: mlp(1),
    "mlp-b128": lambda q: mlp(128),
    "run": lambda q: run_overhead(),
    "eager-add": lambda q: eager_op("add"),
    "eager-matmul": lambda q: eager_op("matmul"),
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and few rounds (a smoke test)")
    ap.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="run only these workloads")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    peers = [n for n, m in (("torch", torch), ("jax", jax), ("tensorflow", tf)) if m is not None]
    print(f"# xlc {xlc.__version__} benchmarks; peers installed: {', '.join(peers) or 'none (numpy only)'}\n")
    for name in args.only or list(WORKLOADS):
        w = WORKLOADS[name](args.quick)
        med = time_workload(w, rounds=3 if args.quick else args.rounds, budget_s=0.01 if args.quick else 0.1)
        print(report(w, med), "\n", flush=True)


if __name__ == "__main__":
    main()
