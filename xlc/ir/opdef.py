"""Op definitions: the one place each op kind is described.

An :class:`OpDef` holds an op's attributes (with defaults), its type rule, its numpy
reference, its traits and a slot for its gradient rule.  The IR layer defines the
mechanism and the registry; :mod:`xlc.ops` fills it.  Lowerings live in each backend,
in tables keyed by the op's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.types import TensorType

REQUIRED = object()  # marks an attribute without a default

# Traits an op may carry.
ELEMENTWISE = "elementwise"  # result[i] depends on operands[i] only (after broadcasting)
COMMUTATIVE = "commutative"  # binary op with f(a, b) == f(b, a)
SIDE_EFFECT = "side_effect"  # never folded, CSE'd or removed
RANDOM = "random"  # output drawn from the counter-based generator; CSE only with equal seeds
TERMINATOR = "terminator"  # ends a block (return, yield)
NO_FOLD = "no_fold"  # never constant-folded (output too large to inline, say)

TypeRule = Callable[[Sequence[TensorType], Mapping[str, Any]], Sequence[TensorType]]
Reference = Callable[..., Any]  # (*arrays, **attrs) -> array or tuple of arrays
GradRule = Callable[..., Any]


@dataclass(frozen=True)
class Attr:
    """One attribute of an op: its kind (for checking) and default (``REQUIRED`` if none).

    kinds: "int", "float", "bool", "str", "dtype", "ints", "floats", "shape" (ints, -1
    allowed), "array" (numpy array), "any".
    """

    kind: str
    default: Any = REQUIRED


@dataclass
class OpDef:
    """Everything xlc knows about an op kind, except how each backend lowers it.

    ``num_operands`` is an int, or None for variadic ops.  ``type_rule`` maps operand
    types and attributes to result types, raising :class:`ShapeError` with a sentence a
    user understands; it must accept ``None`` dims.  ``reference`` is the numpy
    semantics: called as ``reference(*arrays, **attrs)``; it returns one array, or a
    tuple of arrays for multi-result ops.
    """

    name: str
    num_operands: int | None
    type_rule: TypeRule
    reference: Reference
    attrs: Mapping[str, Attr] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    grad: GradRule | None = None
    doc: str = ""

    def has(self, trait: str) -> bool:
        return trait in self.traits

    def complete_attrs(self, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """The attributes with defaults filled in; errors for unknown or missing ones."""
        unknown = set(attrs) - set(self.attrs)
        if unknown:
            raise ShapeError(f"op '{self.name}' has no attribute {', '.join(sorted(unknown))}")
        out = {}
        for k, spec in self.attrs.items():
            if k in attrs:
                out[k] = attrs[k]
            elif spec.default is REQUIRED:
                raise ShapeError(f"op '{self.name}' needs attribute '{k}'")
            else:
                out[k] = spec.default
        return out

    def infer(self, operand_types: Sequence[TensorType], attrs: Mapping[str, Any]) -> list[TensorType]:
        """Result types for these operands; checks the operand count first."""
        if self.num_operands is not None and len(operand_types) != self.num_operands:
            raise ShapeError(f"op '{self.name}' takes {self.num_operands} operands, got {len(operand_types)}")
        return list(self.type_rule(operand_types, attrs))

    def evaluate(self, arrays: Sequence[np.ndarray], attrs: Mapping[str, Any]) -> list[np.ndarray]:
        """Run the numpy reference; always returns a list of arrays."""
        out = self.reference(*arrays, **attrs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        return [np.asarray(o) for o in outs]


_REGISTRY: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    if opdef.name in _REGISTRY:
        raise ValueError(f"op '{opdef.name}' is defined twice")
    _REGISTRY[opdef.name] = opdef
    return opdef


def get_opdef(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ShapeError(f"unknown op '{name}'") from None


def has_opdef(name: str) -> bool:
    return name in _REGISTRY


def all_opdefs() -> list[OpDef]:
    return sorted(_REGISTRY.values(), key=lambda d: d.name)
