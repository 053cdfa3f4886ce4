"""Training steps: xlc beside PyTorch, JAX and TensorFlow (whichever are installed), in one run.

Workloads (float32, plain SGD with learning rate 0.01, softmax cross-entropy, identical
initial weights and data for every framework; the first step's loss must agree):
  mlp   784-512-512-10 (ReLU), batch 128
  cnn   conv 5x5 1->32 SAME + ReLU + max-pool 2, conv 5x5 32->64 SAME + ReLU + max-pool 2,
        dense 3136->1024 ReLU, dense 1024->10; batch 64, 28x28x1 input

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train.py [--only mlp]
Also prints the time of xlc's first step (graph lowering and compilation included).
"xlc @function" is the same step written as one ``@xlc.function`` (forward, ``xlc.gradients``
and the SGD assignments inside the traced function), called with numpy arrays.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import Workload, optional_import, report, time_workload  # noqa: E402

import xlc  # noqa: E402

torch = optional_import("torch")
F = optional_import("torch.nn.functional")
jax = optional_import("jax")
jnp = optional_import("jax.numpy")
tf = optional_import("tensorflow")

LR = 0.01
RNG = np.random.default_rng(0)


def _dense_params(sizes: list[int]) -> list[np.ndarray]:
    out = []
    for i, o in zip(sizes, sizes[1:]):
        out += [(RNG.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(np.float32), np.zeros(o, np.float32)]
    return out


def _conv_params() -> list[np.ndarray]:
    c1 = (RNG.standard_normal((5, 5, 1, 32)) * np.sqrt(2 / 25)).astype(np.float32)
    c2 = (RNG.standard_normal((5, 5, 32, 64)) * np.sqrt(2 / 800)).astype(np.float32)
    return [c1, np.zeros(32, np.float32), c2, np.zeros(64, np.float32)] + _dense_params([3136, 1024, 10])


def _data(batch: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    x = RNG.random((batch, *shape), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, batch)]
    return x, y


# ---- model definitions, one per framework, same math ---------------------------------------
def tf1_loss(m, kind: str, vs: list, x, y):
    """The model's mean cross-entropy written once against TF1's API: ``m`` is xlc or tensorflow
    (xlc takes TF1 code unchanged, so the xlc and TF1 runners share this text)."""
    h = x
    k = 0
    if kind == "cnn":
        for _ in range(2):
            h = m.nn.relu(m.nn.conv2d(h, vs[k], [1, 1, 1, 1], "SAME") + vs[k + 1])
            h = m.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
            k += 2
        h = m.reshape(h, [-1, 3136])
    while k < len(vs):
        h = m.matmul(h, vs[k]) + vs[k + 1]
        if k + 2 < len(vs):
            h = m.nn.relu(h)
        k += 2
    return m.reduce_mean(m.nn.softmax_cross_entropy_with_logits(labels=y, logits=h))


def xlc_model(kind: str, params: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    g = xlc.Graph()
    with g.as_default():
        px = xlc.placeholder(xlc.float32, [None, *x.shape[1:]])
        py = xlc.placeholder(xlc.float32, [None, 10])
        vs = [xlc.Variable(p) for p in params]
        loss = tf1_loss(xlc, kind, vs, px, py)
        train = xlc.train.GradientDescentOptimizer(LR).minimize(loss)
        init = xlc.global_variables_initializer()
    sess = xlc.Session(graph=g)
    sess.run(init)
    t = time.perf_counter()
    first = sess.run([loss, train], {px: x, py: y})[0]
    first_s = time.perf_counter() - t
    return (lambda: sess.run(train, {px: x, py: y})), float(first), first_s


def xlc_function_model(kind: str, params: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    """The step as an @xlc.function: traced once, then one native call per step (variables in a session)."""
    g = xlc.Graph()
    with g.as_default():
        vs = [xlc.Variable(p) for p in params]
        init = xlc.global_variables_initializer()
    sess = xlc.Session(graph=g)
    sess.run(init)

    @xlc.function
    def train_step(xb, yb):
        loss = tf1_loss(xlc, kind, vs, xb, yb)
        for v, grad in zip(vs, xlc.gradients(loss, vs)):
            v.assign_sub(LR * grad)
        return loss

    def run() -> float:
        with g.as_default(), sess.as_default():
            return train_step(x, y)

    t = time.perf_counter()
    first = run()
    first_s = time.perf_counter() - t
    assert train_step.trace_count == 1
    return run, float(first), first_s


def torch_model(kind: str, params: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    ps = []
    for p in params:
        t = torch.tensor(p.transpose(3, 2, 0, 1).copy() if p.ndim == 4 else p.copy(), requires_grad=True)
        ps.append(t)
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if x.ndim == 4 else x)
    ty = torch.from_numpy(y)
    opt = torch.optim.SGD(ps, lr=LR)

    def step() -> float:
        h = tx
        k = 0
        if kind == "cnn":
            for _ in range(2):
                h = F.max_pool2d(F.relu(F.conv2d(h, ps[k], ps[k + 1], padding=2)), 2)
                k += 2
            h = h.permute(0, 2, 3, 1).reshape(-1, 3136)  # NHWC flattening, as the others
        while k < len(ps):
            h = h @ ps[k] + ps[k + 1]
            if k + 2 < len(ps):
                h = F.relu(h)
            k += 2
        loss = torch.mean(torch.sum(-ty * F.log_softmax(h, dim=1), dim=1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, step()


def jax_model(kind: str, params: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    def loss_fn(ps, xb, yb):
        h = xb
        k = 0
        if kind == "cnn":
            for _ in range(2):
                h = jax.lax.conv_general_dilated(h, ps[k], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
                h = jax.nn.relu(h + ps[k + 1])
                h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "SAME")
                k += 2
            h = h.reshape(-1, 3136)
        while k < len(ps):
            h = h @ ps[k] + ps[k + 1]
            if k + 2 < len(ps):
                h = jax.nn.relu(h)
            k += 2
        return jnp.mean(jnp.sum(-yb * jax.nn.log_softmax(h), axis=1))

    @jax.jit
    def step(ps, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(ps, xb, yb)
        return [p - LR * g for p, g in zip(ps, grads)], loss

    state = {"ps": [jnp.asarray(p) for p in params]}
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    def run() -> float:
        state["ps"], loss = step(state["ps"], jx, jy)
        loss.block_until_ready()
        return loss

    return run, float(run())


def tf1_model(kind: str, params: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    t1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        px = t1.placeholder(tf.float32, [None, *x.shape[1:]])
        py = t1.placeholder(tf.float32, [None, 10])
        vs = [t1.Variable(p) for p in params]
        loss = tf1_loss(tf, kind, vs, px, py)
        train = t1.train.GradientDescentOptimizer(LR).minimize(loss)
        init = t1.global_variables_initializer()
    sess = t1.Session(graph=g)
    sess.run(init)
    first = sess.run([loss, train], {px: x, py: y})[0]
    return (lambda: sess.run(train, {px: x, py: y})), float(first)


def workload(kind: str) -> tuple[Workload, float]:
    if kind == "mlp":
        params, (x, y) = _dense_params([784, 512, 512, 10]), _data(128, (784,))
        w = Workload("MLP 784-512-512-10 SGD step, batch 128", "ms")
    else:
        params, (x, y) = _conv_params(), _data(64, (28, 28, 1))
        w = Workload("CNN (tutorial) SGD step, batch 64", "ms")
    step, first, first_s = xlc_model(kind, params, x, y)
    w.runners["xlc"] = step
    losses = {"xlc": first}
    w.runners["xlc @function"], losses["xlc @function"], fn_first_s = xlc_function_model(kind, params, x, y)
    peers = (("torch eager", torch_model, torch), ("jax.jit", jax_model, jax), ("TF1 Session", tf1_model, tf))
    for name, build, mod in peers:
        if mod is not None:
            w.runners[name], losses[name] = build(kind, params, x, y)
    ref = losses["xlc"]
    for name, loss in losses.items():
        if not np.isclose(loss, ref, rtol=1e-3):
            raise SystemExit(f"{w.name}: first-step loss of {name} is {loss}, xlc's is {ref}")
    print(f"first-step loss {ref:.5f} agrees across {', '.join(losses)}; xlc's first step took {first_s:.3f} s "
          f"(@function: {fn_first_s:.3f} s, tracing included)")
    return w, first_s


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=["mlp", "cnn"])
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    for kind in args.only or ["mlp", "cnn"]:
        w, _ = workload(kind)
        print(report(w, time_workload(w, rounds=args.rounds, budget_s=0.2)), "\n", flush=True)


if __name__ == "__main__":
    main()
