"""Every function test starts from a fresh default graph, no default session, and graph mode."""

from __future__ import annotations

from typing import Iterator

import pytest

import xlc as tf
from xlc.frontend import context
from xlc.frontend import graph as graph_mod


@pytest.fixture(autouse=True)
def fresh_graph() -> Iterator[None]:
    graph_mod._session_stack.clear()
    graph_mod._graph_stack.clear()
    tf.reset_default_graph()
    yield
    context.disable_eager_execution()
    graph_mod._session_stack.clear()
    graph_mod._graph_stack.clear()


@pytest.fixture
def eager() -> Iterator[None]:
    context.enable_eager_execution()
    yield
    context.disable_eager_execution()
