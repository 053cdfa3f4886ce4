"""Dead-code elimination: ops whose results nobody uses are dropped.

Kept always: TERMINATOR and SIDE_EFFECT ops, and ops with a region that holds one (a
``while`` whose body assigns a variable, say).  Func arguments are never removed: the
signature is the contract with the caller.  Nested blocks are cleaned too; their
terminators are roots, and their uses of enclosing values keep those alive.
"""

from __future__ import annotations

from xlc.ir.core import Block, Func, Module, Op, Value
from xlc.ir.opdef import SIDE_EFFECT, TERMINATOR, get_opdef
from xlc.passes.manager import register_pass
from xlc.passes.rewrite import Rewriter, map_funcs, rewrite_func


def has_side_effect(op: Op) -> bool:
    """Whether removing ``op`` could change behaviour even when its results are unused."""
    opdef = get_opdef(op.name)
    if opdef.has(SIDE_EFFECT) or opdef.has(TERMINATOR):
        return True
    return any(has_side_effect(inner) for r in op.regions for inner in r.ops)


def live_ops(block: Block, used: set[Value] | None = None) -> set[Op]:
    """The ops of ``block`` and its nested blocks that must stay (a backward walk).

    ``used`` collects every value a live op reads, including enclosing-scope values
    read from nested blocks.
    """
    used = set() if used is None else used
    live: set[Op] = set()
    for op in reversed(block.ops):
        if has_side_effect(op) or any(r in used for r in op.results):
            live.add(op)
            for region in op.regions:
                # The region's terminator (a yield) is a root there.
                live |= live_ops(region, used)
            used.update(op.operands)
    return live


def dce_func(func: Func) -> Func:
    """``func`` without its dead ops."""
    live = live_ops(func.body)

    def keep_as_is(op: Op, operands: list[Value], rw: Rewriter) -> None:
        return None

    return rewrite_func(func, keep_as_is, drop=lambda op: op not in live)


def dce(module: Module) -> Module:
    """The ``dce`` pass (see the module docstring)."""
    return map_funcs(module, dce_func)


register_pass("dce", dce, "remove ops whose results are unused and that have no side effects")
