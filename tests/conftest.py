"""Every test starts from a fresh default graph and no default session."""

from __future__ import annotations

import pytest

import xlc as tf
from xlc.frontend import graph as graph_mod


@pytest.fixture(autouse=True)
def fresh_graph() -> None:
    graph_mod._session_stack.clear()
    graph_mod._graph_stack.clear()
    tf.reset_default_graph()
    yield
    graph_mod._session_stack.clear()
    graph_mod._graph_stack.clear()
