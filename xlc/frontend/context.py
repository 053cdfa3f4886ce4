"""Whether ops run now (eager) or are added to a graph: one thread-local switch.

``enable_eager_execution()`` turns eager on for the program (as TF 1.x: call it once, at
start-up). Tracing (``@xlc.function``) and ``Graph.as_default()`` inside eager code build
graphs: they enter :func:`graph_mode`, which switches eager off for the current thread
until the block ends.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

_EAGER_ENABLED = False  # the program-wide setting
_local = threading.local()


def enable_eager_execution(config: object = None, device_policy: object = None,
                           execution_mode: object = None) -> None:
    """Make ops run immediately (TF 1.x's ``tf.enable_eager_execution``)."""
    global _EAGER_ENABLED
    _EAGER_ENABLED = True


def disable_eager_execution() -> None:
    global _EAGER_ENABLED
    _EAGER_ENABLED = False


def executing_eagerly() -> bool:
    """True when ops run now: eager is enabled and no graph is being built on this thread."""
    return _EAGER_ENABLED and not getattr(_local, "graph_depth", 0)


@contextlib.contextmanager
def graph_mode() -> Iterator[None]:
    """Build graphs in this block even when eager execution is enabled."""
    _local.graph_depth = getattr(_local, "graph_depth", 0) + 1
    try:
        yield
    finally:
        _local.graph_depth -= 1
