"""TensorBoard's own readers, loaded without TensorFlow (its stub is enough to parse event files)."""

from __future__ import annotations

import sys
import types

import pytest

# TensorBoard uses TensorFlow when it can import it; the module "tensorboard.compat.notf" tells it
# not to (the hook TensorBoard's own builds use), which keeps these tests fast and TF-free.
sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing import event_accumulator, event_file_loader  # noqa: E402

EventAccumulator = event_accumulator.EventAccumulator
EventFileLoader = event_file_loader.LegacyEventFileLoader  # yields the Events as written (no migration)


def accumulate(logdir: str) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance={event_accumulator.HISTOGRAMS: 0,
                                                       event_accumulator.SCALARS: 0})
    acc.Reload()
    return acc
