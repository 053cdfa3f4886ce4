"""The one family of exceptions xlc raises, under TensorFlow 1.x's names.

Every error derives from :class:`XlcError`.  Runtime failures are :class:`OpError`
subclasses with TensorFlow's constructor ``(node_def, op, message)`` so that code
written against ``tf.errors`` catches them unchanged.  Graph-construction errors
(bad shapes, bad attributes) are :class:`ShapeError`/``ValueError`` as in TF.
"""

from __future__ import annotations

from typing import Any


class XlcError(Exception):
    """Base of every exception xlc raises on purpose."""


class OpError(XlcError):
    """A failure while running an op (TF's ``tf.errors.OpError``)."""

    error_code = 2

    def __init__(self, node_def: Any, op: Any, message: str, *args: Any) -> None:
        super().__init__(message)
        self.node_def = node_def
        self.op = op
        self.message = message

    def __str__(self) -> str:
        return self.message


class CancelledError(OpError):
    error_code = 1


class UnknownError(OpError):
    error_code = 2


class InvalidArgumentError(OpError):
    error_code = 3


class DeadlineExceededError(OpError):
    error_code = 4


class NotFoundError(OpError):
    error_code = 5


class AlreadyExistsError(OpError):
    error_code = 6


class PermissionDeniedError(OpError):
    error_code = 7


class ResourceExhaustedError(OpError):
    error_code = 8


class FailedPreconditionError(OpError):
    error_code = 9


class AbortedError(OpError):
    error_code = 10


class OutOfRangeError(OpError):
    error_code = 11


class UnimplementedError(OpError):
    error_code = 12


class InternalError(OpError):
    error_code = 13


class UnavailableError(OpError):
    error_code = 14


class DataLossError(OpError):
    error_code = 15


class ShapeError(XlcError, ValueError):
    """Operands whose shapes, dtypes or attributes an op cannot accept (TF raises ValueError)."""


class IRParseError(XlcError):
    """Text that is not valid xlc IR; the message shows the line with a caret."""


class VerificationError(XlcError):
    """IR that breaks an invariant (SSA, types, attributes); the message shows the op."""


class CompileError(XlcError):
    """A backend could not compile a function (an op without a lowering, say)."""


class DTypeError(XlcError, TypeError):
    """A value of the wrong type or dtype: operands an op cannot combine, a value that cannot be a
    tensor (TF raises TypeError)."""


class UsageError(XlcError, ValueError):
    """An argument with an invalid value: an unknown name, a bad option (TF raises ValueError)."""
