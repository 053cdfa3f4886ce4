"""xlc: a TensorFlow-1.x-style framework that is a compiler underneath.

``import xlc as tf`` gives TF1's names: graphs, placeholders, variables, sessions,
the op functions, dtypes and ``errors``.  This module only gathers names; each
lives in the module that defines it.
"""

from __future__ import annotations

from xlc import errors
from xlc.ir.types import (
    DType,
    as_dtype,
    bfloat16,
    float16,
    float32,
    float64,
    int8,
    int32,
    int64,
    string,
    uint8,
)
from xlc.ir.types import bool_ as bool  # noqa: A001  (TF's name: tf.bool)
from xlc.frontend import nn_ops as nn
from xlc.frontend import summary, train
from xlc.frontend import layers
from xlc.frontend.array_ops import *  # noqa: F401,F403
from xlc.frontend.config import ConfigProto, GPUOptions, GraphOptions, OptimizerOptions, RunMetadata, RunOptions
from xlc.frontend.function import function, jit
from xlc.frontend.function_spec import TensorSpec
from xlc.frontend.gradients import gradients, stop_gradient
from xlc.frontend.graph import (
    Graph,
    GraphKeys,
    Operation,
    Tensor,
    add_to_collection,
    add_to_collections,
    control_dependencies,
    device,
    get_collection,
    get_collection_ref,
    get_default_graph,
    get_default_session,
    get_seed,
    name_scope,
    register_tensor_conversion_function,
    reset_default_graph,
    set_random_seed,
)
from xlc.frontend.op_builder import constant, convert_to_tensor, group, no_op, placeholder, placeholder_with_default
from xlc.frontend.initializers import (
    constant_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from xlc.frontend.math_ops import *  # noqa: F401,F403
from xlc.frontend.random_ops import *  # noqa: F401,F403
from xlc.frontend.session import InteractiveSession, Session
from xlc.frontend.tensor_shape import Dimension, TensorShape
from xlc.frontend.variables import (
    AUTO_REUSE,
    Variable,
    VariableScope,
    all_variables,
    get_variable,
    get_variable_scope,
    global_variables,
    global_variables_initializer,
    initialize_all_variables,
    initialize_variables,
    local_variables,
    local_variables_initializer,
    trainable_variables,
    variable_scope,
    variables_initializer,
)

# eager execution (importing xlc.frontend.eager.variables plugs eager dispatch and variables in)
from xlc.frontend.context import enable_eager_execution, executing_eagerly
from xlc.frontend.eager import execute as _eager_execute  # noqa: F401  (registers the dispatch)
from xlc.frontend.eager import variables as _eager_variables  # noqa: F401  (registers EagerVariable)
from xlc.frontend.eager.custom_gradient import custom_gradient
from xlc.frontend.eager.tape import GradientTape
from xlc import contrib
from xlc import eager

__version__ = "0.1.0"

half = float16
double = float64
newaxis = None
