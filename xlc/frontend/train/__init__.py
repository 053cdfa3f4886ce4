"""``tf.train``: optimizers, the global step, and checkpoints (Saver)."""

from __future__ import annotations

from xlc.frontend.train.learning_rate_decay import exponential_decay, piecewise_constant
from xlc.frontend.train.optimizer import Optimizer
from xlc.frontend.train.optimizers import (
    AdagradOptimizer,
    AdamOptimizer,
    FtrlOptimizer,
    GradientDescentOptimizer,
    MomentumOptimizer,
    RMSPropOptimizer,
)
from xlc.frontend.train.checkpoint_format import CheckpointState
from xlc.frontend.train.saver import (
    Saver,
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_variable,
)
from xlc.frontend.train.training_util import (
    create_global_step,
    get_global_step,
    get_or_create_global_step,
    global_step,
)

__all__ = [
    "AdagradOptimizer", "AdamOptimizer", "CheckpointState", "FtrlOptimizer", "GradientDescentOptimizer",
    "MomentumOptimizer", "Optimizer", "RMSPropOptimizer", "Saver", "checkpoint_exists", "create_global_step",
    "get_checkpoint_state", "get_global_step", "get_or_create_global_step", "global_step", "latest_checkpoint",
    "list_variables", "load_variable", "exponential_decay", "piecewise_constant",
]
