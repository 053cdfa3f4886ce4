"""The op registry's contents: importing this package defines every op.

Each module defines one family with :func:`xlc.ir.opdef.register`; look an op up with
:func:`xlc.ir.opdef.get_opdef`.
"""

from __future__ import annotations

from xlc.ops import (  # noqa: F401  (registration side effects)
    creation,
    elementwise,
    grad_ops,
    gradients,
    gradients_shape,
    indexing,
    linalg,
    nn,
    conv,
    nn_gradients,
    random,
    reduce,
    shape,
    structural,
)
