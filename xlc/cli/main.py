"""The ``xlc`` command: show each compilation stage, run models on .npy inputs.

::

    xlc opt FILE.xir [--passes P] [--verify-each] [-o OUT]        IR after a pass pipeline
    xlc compile FILE.xir --emit {ir,llvm,asm,obj} [--func F] [-o OUT]
    xlc run FILE.xir [--func F] --input NAME=PATH.npy ... [--output-dir DIR]
    xlc dump SCRIPT.py [--passes P] [-o OUT]                      IR of the graph a script builds,
                                                                  then of each xlc.function it traced
    xlc passes                                                    the registered passes
    xlc --version

Contract: a user error (unreadable file, bad IR, unknown pass, bad input) exits with
status 1 and one message on stderr (parse and verifier errors add the IR they point at),
never a traceback.  Command-line syntax errors exit with 2 (argparse's usage message).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import runpy
import sys
import traceback
from typing import Sequence

import llvmlite
import llvmlite.binding as llvm
import numpy as np

import xlc
from xlc.backends import cpu
from xlc.errors import XlcError
from xlc.frontend.function import record_traces
from xlc.frontend.graph import get_default_graph, reset_default_graph
from xlc.frontend.lowering import graph_to_module
from xlc.ir.core import Func, Module
from xlc.ir.parser import parse_module
from xlc.ir.printer import print_func, print_module
from xlc.ir.verifier import verify_module
from xlc.passes import DEFAULT_PIPELINE, all_passes, run_pipeline
from xlc.runtime import compile_func

EMITTERS = {"llvm": cpu.emit_llvm_ir, "asm": cpu.emit_asm, "obj": cpu.emit_object}


class CliError(XlcError):
    """A mistake in how xlc was invoked (a missing file, a bad --input)."""


# -- helpers --------------------------------------------------------------------------------


def version_text() -> str:
    """xlc's, llvmlite's and LLVM's versions, one per line."""
    try:
        ours = importlib.metadata.version("xlc")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        ours = getattr(xlc, "__version__", "unknown")
    llvm_version = ".".join(str(p) for p in llvm.llvm_version_info)
    return f"xlc {ours}\nllvmlite {llvmlite.__version__}\nLLVM {llvm_version}"


def read_module(path: str) -> Module:
    """Parse and verify an IR file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    module = parse_module(text, path)
    verify_module(module)
    return module


def select_func(module: Module, name: str | None, where: str) -> Func:
    """The func called ``name``, or the only func when no name is given."""
    names = ", ".join(f"@{n}" for n in module.funcs) or "none"
    if name is not None:
        name = name.lstrip("@")
        if name not in module.funcs:
            raise CliError(f"{where} has no func @{name} (funcs: {names})")
        return module[name]
    if len(module.funcs) != 1:
        raise CliError(f"{where} has {len(module.funcs)} funcs ({names}); choose one with --func")
    return next(iter(module))


def write_output(data: str | bytes, path: str | None) -> None:
    """Write to ``path``, or to stdout when no path is given (text only)."""
    if path is None or path == "-":
        if isinstance(data, bytes):
            raise CliError("binary output needs a file: give one with -o")
        sys.stdout.write(data if data.endswith("\n") or not data else data + "\n")
        return
    try:
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
    except OSError as e:
        raise CliError(f"cannot write {path}: {e.strerror or e}") from None


def arg_names(func: Func) -> list[str]:
    """The names ``--input`` uses: each argument's name hint, else ``arg<i>`` as printed."""
    return [a.name_hint or f"arg{i}" for i, a in enumerate(func.args)]


def load_inputs(func: Func, specs: Sequence[str]) -> list[np.ndarray]:
    """The arrays for ``func``'s arguments from ``NAME=PATH.npy`` specs, checked against its types."""
    names = arg_names(func)
    given: dict[str, str] = {}
    for spec in specs:
        name, eq, path = spec.partition("=")
        name = name.lstrip("%")
        if not eq or not name or not path:
            raise CliError(f"--input '{spec}' is not NAME=PATH.npy")
        if name not in names:
            raise CliError(f"@{func.name} has no argument '{name}' (arguments: {', '.join(names) or 'none'})")
        if name in given:
            raise CliError(f"argument '{name}' is given twice")
        given[name] = path
    for name, arg in zip(names, func.args):
        if name not in given:
            raise CliError(f"missing input for argument '{name}' of @{func.name} ({arg.type}); "
                           f"pass --input {name}=FILE.npy")
    arrays = []
    for name, arg in zip(names, func.args):
        path = given[name]
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CliError(f"cannot read input '{name}' from {path}: {e}") from None
        if not isinstance(x, np.ndarray):
            raise CliError(f"input '{name}' from {path} is not a single array (.npy)")
        want = arg.type
        if not want.is_compatible_with(x.shape):
            raise CliError(f"input '{name}' has shape {tuple(x.shape)}, but argument '{name}' of @{func.name} "
                           f"is {want}")
        dst = want.dtype.np_dtype
        if x.dtype != dst:
            # Widening or same-kind conversions (float64 data for an f32 argument) are what
            # a user means; anything else (floats into ints) is refused.
            if not np.can_cast(x.dtype, dst, "same_kind"):
                raise CliError(f"input '{name}' has dtype {x.dtype}, but argument '{name}' of @{func.name} "
                               f"is {want}")
            x = x.astype(dst)
        arrays.append(x)
    return arrays


def describe_array(name: str, x: np.ndarray) -> str:
    return f"{name}: shape={tuple(x.shape)} dtype={x.dtype}\n{np.array2string(x, separator=', ')}"


# -- subcommands ------------------------------------------------------------------------------


def cmd_opt(args: argparse.Namespace) -> None:
    module = run_pipeline(read_module(args.file), args.passes, verify_each=args.verify_each)
    write_output(print_module(module), args.output)


def cmd_compile(args: argparse.Namespace) -> None:
    module = run_pipeline(read_module(args.file), args.passes, verify_each=args.verify_each)
    if args.emit == "ir":
        text = print_func(select_func(module, args.func, args.file)) if args.func else print_module(module)
        write_output(text, args.output)
        return
    if args.emit == "obj" and args.output in (None, "-"):
        raise CliError("--emit obj writes a binary object file: give its path with -o")
    func = select_func(module, args.func, args.file)
    write_output(EMITTERS[args.emit](func), args.output)


def cmd_run(args: argparse.Namespace) -> None:
    func = select_func(read_module(args.file), args.func, args.file)
    inputs = load_inputs(func, args.input)
    outputs = compile_func(func).run(inputs)
    if args.output_dir is not None:
        try:
            os.makedirs(args.output_dir, exist_ok=True)
        except OSError as e:
            raise CliError(f"cannot create {args.output_dir}: {e.strerror or e}") from None
    for i, out in enumerate(outputs):
        out = np.asarray(out)
        if args.output_dir is None:
            print(describe_array(f"out{i}", out))
        else:
            path = os.path.join(args.output_dir, f"out{i}.npy")
            try:
                np.save(path, out)
            except OSError as e:
                raise CliError(f"cannot write {path}: {e.strerror or e}") from None
            print(f"out{i}: shape={tuple(out.shape)} dtype={out.dtype} -> {path}")


def _script_error(script: str, exc: BaseException) -> CliError:
    """One line for an exception raised by the user's script, at the script's deepest frame."""
    where = script
    target = os.path.abspath(script)
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == target:
            where = f"{script}:{frame.lineno}"
    return CliError(f"{where}: {type(exc).__name__}: {exc}")


def cmd_dump(args: argparse.Namespace) -> None:
    script = args.script
    if not os.path.isfile(script):
        raise CliError(f"cannot read {script}: no such file")
    reset_default_graph()  # each dump sees only what its script builds
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        # The script's own prints go to stderr, so stdout carries only the IR.
        with contextlib.redirect_stdout(sys.stderr), record_traces() as traces:
            runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            raise CliError(f"{script} exited with status {e.code}") from None
    except XlcError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's script failed: report where, not our stack
        raise _script_error(script, e) from None
    finally:
        sys.path.pop(0)
    graph = get_default_graph()
    texts = []
    if graph.get_operations() or not traces:
        texts.append(print_module(run_pipeline(graph_to_module(graph), args.passes, verify_each=args.verify_each)))
    for concrete in traces:  # each trace of an xlc.function, as it was lowered (then --passes)
        module = run_pipeline(Module([concrete.func]), args.passes, verify_each=args.verify_each)
        texts.append(f"// xlc.function {concrete.name} ({concrete.description})\n" + print_module(module))
    write_output("\n\n".join(t.rstrip("\n") for t in texts), args.output)


def cmd_passes(args: argparse.Namespace) -> None:
    lines = []
    for p in all_passes():
        opts = " ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in p.options.items())
        lines.append(f"{p.name:<12} {p.description}" + (f" [options: {opts}]" if opts else ""))
    lines.append(f"default pipeline: {DEFAULT_PIPELINE}")
    write_output("\n".join(lines), None)


# -- the parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlc", description="The xlc compiler: IR, passes, code generation.")
    parser.add_argument("--version", action="store_true", help="print xlc's, llvmlite's and LLVM's versions")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def pipeline_opts(p: argparse.ArgumentParser, default: str) -> None:
        p.add_argument("--passes", "-p", default=default,
                       help=f"comma-separated pass pipeline, e.g. fold,cse,dce (default: '{default}')")
        p.add_argument("--verify-each", action="store_true", help="verify the IR after every pass")
        p.add_argument("-o", "--output", help="write here instead of stdout")

    p = sub.add_parser("opt", help="print an IR file after a pass pipeline")
    p.add_argument("file", metavar="FILE.xir")
    pipeline_opts(p, "")
    p.set_defaults(fn=cmd_opt)

    p = sub.add_parser("compile", help="compile an IR file to IR, LLVM IR, assembly or an object file")
    p.add_argument("file", metavar="FILE.xir")
    p.add_argument("--emit", choices=["ir", "llvm", "asm", "obj"], required=True)
    p.add_argument("--func", help="the func to compile (needed when the file has several)")
    pipeline_opts(p, "default")
    p.set_defaults(fn=cmd_compile)

    p = sub.add_parser("run", help="run a func of an IR file on .npy inputs")
    p.add_argument("file", metavar="FILE.xir")
    p.add_argument("--func", help="the func to run (needed when the file has several)")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=PATH.npy",
                   help="an argument's value; once per argument")
    p.add_argument("--output-dir", help="save out0.npy, out1.npy, ... here instead of printing")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("dump", help="print the IR of the graph a Python script builds and of the "
                                    "xlc.functions it traces")
    p.add_argument("script", metavar="SCRIPT.py")
    pipeline_opts(p, "")
    p.set_defaults(fn=cmd_dump)

    p = sub.add_parser("passes", help="list the registered passes")
    p.set_defaults(fn=cmd_passes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``xlc`` command; returns the exit status (0 ok, 1 user error, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(version_text())
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("xlc: error: a command is needed (opt, compile, run, dump, passes)", file=sys.stderr)
        return 2
    try:
        args.fn(args)
    except XlcError as e:
        print(f"xlc: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
