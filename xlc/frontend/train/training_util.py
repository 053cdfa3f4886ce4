"""The global step: ``tf.train.get_or_create_global_step`` and friends (TF1 semantics).

The global step is an int64 scalar Variable named ``global_step``, not trainable, in
the ``GLOBAL_VARIABLES`` and ``GLOBAL_STEP`` collections.  Optimizers increment it by
one per ``apply_gradients`` when it is passed to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xlc.ir.types import int32, int64
from xlc.frontend.graph import Graph, GraphKeys, Tensor, get_default_graph
from xlc.frontend.variables import Variable


def get_global_step(graph: Graph | None = None) -> Variable | Tensor | None:
    """The graph's global step: the one in the GLOBAL_STEP collection, else ``global_step:0``, else None.

    ValueError if the collection holds more than one, or the found tensor is not an
    integer scalar (TF's contract).
    """
    g = graph if graph is not None else get_default_graph()
    found = g.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) > 1:
        raise ValueError(f"Multiple tensors in global_step collection: {found}")
    if found:
        step: Any = found[0]
    else:
        try:
            step = g.get_tensor_by_name("global_step:0")
        except KeyError:
            return None
    if step.dtype not in (int32, int64) or step.shape.ndims != 0:
        raise TypeError(f"Existing \"global_step\" does not have integer type: {step.dtype.name} "
                        f"or is not a scalar: shape {step.shape}")
    return step


def create_global_step(graph: Graph | None = None) -> Variable:
    """A new global step variable (starting at 0); ValueError if the graph already has one."""
    g = graph if graph is not None else get_default_graph()
    if get_global_step(g) is not None:
        raise ValueError("\"global_step\" already exists.")
    with g.as_default(), g.name_scope(None), g.control_dependencies(None):
        return Variable(np.int64(0), trainable=False, name="global_step",
                        collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph: Graph | None = None) -> Variable | Tensor:
    """The graph's global step, created if it has none."""
    g = graph if graph is not None else get_default_graph()
    step = get_global_step(g)
    return step if step is not None else create_global_step(g)


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The global step's current value as a Python int (``tf.train.global_step``)."""
    return int(sess.run(global_step_tensor))


__all__ = ["create_global_step", "get_global_step", "get_or_create_global_step", "global_step"]
