"""Eager tests run with eager execution on (and off again afterwards), from a fresh default graph."""

from __future__ import annotations

from typing import Iterator

import pytest

import xlc as tf
from xlc.frontend import context
from xlc.frontend import graph as graph_mod
from xlc.frontend.eager.execute import ACTIVE_TAPES


@pytest.fixture(autouse=True)
def eager_mode() -> Iterator[None]:
    graph_mod._session_stack.clear()
    graph_mod._graph_stack.clear()
    tf.reset_default_graph()
    tf.enable_eager_execution()
    try:
        yield
    finally:
        context.disable_eager_execution()
        ACTIVE_TAPES.clear()
        graph_mod._graph_stack.clear()
