"""Timing harness shared by the benchmark scripts: interleaved rounds, medians, ratios.

The machine is shared and its clock drifts, so every framework of a workload is timed in
the same process, round-robin: each round times a batch of calls of each framework in
turn; the reported figure is the median over rounds of the per-call time.
"""

from __future__ import annotations

import importlib
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


def optional_import(name: str) -> object | None:
    """A peer framework's module, or None where it is not installed (benchmarks skip it)."""
    if name == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@dataclass
class Workload:
    name: str
    unit: str = "ms"  # "ms" or "us"
    runners: dict[str, Callable[[], object]] = field(default_factory=dict)
    flops: float | None = None  # per call, to print GFLOP/s


def _calls_per_round(fn: Callable[[], object], budget_s: float) -> int:
    t = time.perf_counter()
    fn()
    dt = max(time.perf_counter() - t, 1e-7)
    return max(1, min(2000, int(budget_s / dt)))


def time_workload(w: Workload, rounds: int = 7, budget_s: float = 0.05, warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each runner."""
    for fn in w.runners.values():
        for _ in range(warmup):
            fn()
    counts = {k: _calls_per_round(fn, budget_s) for k, fn in w.runners.items()}
    samples: dict[str, list[float]] = {k: [] for k in w.runners}
    for _ in range(rounds):
        for k, fn in w.runners.items():
            n = counts[k]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            samples[k].append((time.perf_counter() - t) / n)
    return {k: statistics.median(v) for k, v in samples.items()}


def report(w: Workload, medians: dict[str, float], baseline: str = "xlc") -> str:
    scale = 1e3 if w.unit == "ms" else 1e6
    base = medians.get(baseline)
    lines = [f"## {w.name}"]
    lines.append(f"| framework | median ({w.unit}) | {'GFLOP/s | ' if w.flops else ''}time / xlc's |")
    lines.append("|---|---|" + ("---|" if w.flops else "") + "---|")
    for k, t in sorted(medians.items(), key=lambda kv: kv[1]):
        gf = f" {w.flops / t / 1e9:.0f} |" if w.flops else ""
        ratio = f"{t / base:.2f}" if base else "-"
        lines.append(f"| {k} | {t * scale:.3f} |{gf} {ratio} |")
    return "\n".join(lines)
