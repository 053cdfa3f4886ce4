"""The pass registry and the pass manager.

A pass is a named function ``fn(module, **options) -> Module``: it takes verified IR and
returns verified IR (a new Module; the input is not modified).  Passes are registered
under kebab-case names and run by pipelines written as strings, so the CLI and tests can
run any sequence::

    fold,cse,dce
    fold{max-elements=4096},simplify{signed-zeros=false},dce

Options are the pass function's keyword-only parameters, written in kebab-case; values
are ``true``/``false``, ints, floats or bare strings.  Named pipelines
(:data:`PIPELINES`, e.g. ``default``) expand when they are the whole pipeline string.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from xlc.errors import VerificationError, XlcError
from xlc.ir.core import Module
from xlc.ir.verifier import verify_module

PassFn = Callable[..., Module]

DEFAULT_PIPELINE = "fold,simplify,cse,dce"
"""What ``xlc compile`` and the runtime run before code generation."""

PIPELINES: dict[str, str] = {"default": DEFAULT_PIPELINE, "none": ""}
"""Pipelines known by name; the name must be the whole pipeline string."""

_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_STEP = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*(?:\{(.*)\})?\s*$", re.S)


class PipelineError(XlcError, ValueError):
    """A pipeline string that names an unknown pass or option, or does not parse."""


class UnknownPassError(PipelineError):
    """A pipeline names a pass that is not registered."""


@dataclass(frozen=True)
class Pass:
    """A registered pass: its name, function and one-line description.

    ``options`` maps each option's kebab-case name to its default value.
    """

    name: str
    fn: PassFn
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)


_PASSES: dict[str, Pass] = {}


def _options_of(fn: PassFn) -> dict[str, Any]:
    """The keyword-only parameters of a pass function (its options) and their defaults."""
    out = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            if p.default is inspect.Parameter.empty:
                raise ValueError(f"pass option '{p.name}' of {fn.__name__} needs a default")
            out[p.name.replace("_", "-")] = p.default
    return out


def register_pass(name: str, fn: PassFn, description: str = "") -> Pass:
    """Register ``fn`` as the pass ``name`` (kebab-case, unique); returns the :class:`Pass`."""
    if not _KEBAB.match(name):
        raise ValueError(f"pass name '{name}' is not kebab-case (like 'fold' or 'buffer-plan')")
    if name in _PASSES or name in PIPELINES:
        raise ValueError(f"pass '{name}' is registered twice")
    p = Pass(name, fn, description, _options_of(fn))
    _PASSES[name] = p
    return p


def get_pass(name: str) -> Pass:
    """The registered pass called ``name``; :class:`UnknownPassError` lists the known ones."""
    try:
        return _PASSES[name]
    except KeyError:
        raise UnknownPassError(f"unknown pass '{name}' (known passes: {', '.join(sorted(_PASSES))})") from None


def all_passes() -> list[Pass]:
    """Every registered pass, sorted by name."""
    return [_PASSES[n] for n in sorted(_PASSES)]


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _split_steps(pipeline: str) -> list[str]:
    """Split at commas outside braces."""
    steps, depth, cur = [], 0, []
    for ch in pipeline:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise PipelineError(f"unbalanced '}}' in pipeline '{pipeline}'")
        if ch == "," and depth == 0:
            steps.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise PipelineError(f"unbalanced '{{' in pipeline '{pipeline}'")
    steps.append("".join(cur))
    return steps


def parse_pipeline(pipeline: str) -> list[tuple[Pass, dict[str, Any]]]:
    """The passes and options a pipeline string names (see the module docstring)."""
    pipeline = PIPELINES.get(pipeline.strip(), pipeline)
    if not pipeline.strip():
        return []
    out = []
    for step in _split_steps(pipeline):
        m = _STEP.match(step)
        if not m:
            raise PipelineError(f"cannot parse pipeline step '{step.strip()}' in '{pipeline}'")
        p = get_pass(m.group(1))
        opts: dict[str, Any] = {}
        for item in (m.group(2) or "").split():
            key, eq, val = item.partition("=")
            if key not in p.options:
                known = ", ".join(sorted(p.options)) or "none"
                raise PipelineError(f"pass '{p.name}' has no option '{key}' (its options: {known})")
            if not eq:  # a bare option name turns a flag on
                val = "true"
            value = _parse_value(val)
            default = p.options[key]
            if isinstance(default, bool) and not isinstance(value, bool):
                raise PipelineError(f"option '{key}' of pass '{p.name}' is true or false, not '{val}'")
            if isinstance(default, int) and not isinstance(default, bool) and type(value) is not int:
                raise PipelineError(f"option '{key}' of pass '{p.name}' is an integer, not '{val}'")
            opts[key.replace("-", "_")] = value
        out.append((p, opts))
    return out


class PassManager:
    """Runs a sequence of passes over a Module.

    With ``verify_each`` the input is verified first and the output of every pass after
    it; a failure names the pass that broke the IR.
    """

    def __init__(self, pipeline: str | Sequence[str] = DEFAULT_PIPELINE, verify_each: bool = False) -> None:
        text = pipeline if isinstance(pipeline, str) else ",".join(pipeline)
        self.pipeline = text
        self.steps = parse_pipeline(text)
        self.verify_each = verify_each

    @property
    def pass_names(self) -> list[str]:
        return [p.name for p, _ in self.steps]

    def run(self, module: Module) -> Module:
        """The module after every pass; the input module is not modified."""
        if self.verify_each:
            _verify(module, "before the first pass")
        for p, opts in self.steps:
            module = p.fn(module, **opts)
            if self.verify_each:
                _verify(module, f"after pass '{p.name}'")
        return module


def _verify(module: Module, when: str) -> None:
    try:
        verify_module(module)
    except VerificationError as e:
        raise VerificationError(f"invalid IR {when}: {e}") from e


def run_pipeline(module: Module, pipeline: str | Sequence[str] = DEFAULT_PIPELINE,
                 verify_each: bool = False) -> Module:
    """Run ``pipeline`` (a string like ``"fold,cse,dce"``, or a named pipeline) over ``module``."""
    return PassManager(pipeline, verify_each).run(module)
