"""The xlc command line, run in process (main([...]) with capsys) and a few times as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xlc.cli.main import main
from xlc.ir.interpreter import interpret
from xlc.ir.parser import parse_module

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]


def xlc(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_opt_runs_the_pipeline_and_the_output_parses(capsys):
    rc, out, err = xlc(capsys, "opt", DATA / "redundant.xir", "--passes", "fold,simplify,cse,dce", "--verify-each")
    assert rc == 0 and err == ""
    assert out.count(" = add(") == 2 and out.count(" = mul(") == 1 and "dense<[2.0, 4.0, 6.0]>" in out
    before = parse_module((DATA / "redundant.xir").read_text())["f"]
    after = parse_module(out)["f"]
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    np.testing.assert_array_equal(interpret(before, xs)[0], interpret(after, xs)[0])


def test_opt_without_passes_round_trips_and_writes_files(capsys, tmp_path):
    out_file = tmp_path / "out.xir"
    rc, out, _ = xlc(capsys, "opt", DATA / "two_funcs.xir", "-o", out_file)
    assert rc == 0 and out == ""
    assert out_file.read_text().strip() == (DATA / "two_funcs.xir").read_text().strip()


@pytest.mark.parametrize("argv, message", [
    (["opt", DATA / "redundant.xir", "--passes", "fold,bogus"], "unknown pass 'bogus' (known passes: autodiff, cse, dce"),
    (["opt", DATA / "missing.xir"], "cannot read"),
    (["opt", DATA / "bad_types.xir"], "tensor<4xf32>"),
    (["compile", DATA / "two_funcs.xir", "--emit", "llvm"], "2 funcs (@double, @scale); choose one with --func"),
    (["compile", DATA / "two_funcs.xir", "--emit", "llvm", "--func", "nope"], "no func @nope"),
    (["compile", DATA / "two_funcs.xir", "--emit", "obj", "--func", "double"], "-o"),
])
def test_user_errors_exit_1_with_a_message(capsys, argv, message):
    rc, out, err = xlc(capsys, *argv)
    assert rc == 1 and out == ""
    assert err.startswith("xlc: error: ") and message in err
    assert "Traceback" not in err


def test_parse_errors_show_line_column_and_caret(capsys):
    rc, _, err = xlc(capsys, "opt", DATA / "bad_syntax.xir")
    assert rc == 1
    assert "bad_syntax.xir:2:" in err and "%0 = add(%x, %x : tensor<3xf32>" in err and "^" in err


def test_compile_emits_ir_llvm_asm_and_obj(capsys, tmp_path):
    rc, out, _ = xlc(capsys, "compile", DATA / "two_funcs.xir", "--emit", "ir", "--func", "scale")
    assert rc == 0 and "neg" not in out and "@double" not in out  # default pipeline removed neg(neg)
    rc, out, _ = xlc(capsys, "compile", DATA / "two_funcs.xir", "--emit", "llvm", "--func", "double")
    assert rc == 0 and "define" in out and "fadd" in out
    rc, out, _ = xlc(capsys, "compile", DATA / "two_funcs.xir", "--emit", "asm", "--func", "@double")
    assert rc == 0 and "xlc_main:" in out and "ret" in out
    obj = tmp_path / "double.o"
    rc, _, _ = xlc(capsys, "compile", DATA / "two_funcs.xir", "--emit", "obj", "--func", "double", "-o", obj)
    assert rc == 0 and obj.read_bytes()[:4] == b"\x7fELF"


def _save(tmp_path: Path, name: str, x: np.ndarray, file: str | None = None) -> str:
    p = tmp_path / f"{file or name}.npy"
    np.save(p, x)
    return f"{name}={p}"


def test_run_prints_and_saves_outputs(capsys, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(-9, 9, (2, 2)).astype(np.int32)
    k = np.int32(rng.integers(2, 9))
    args = ["run", DATA / "two_funcs.xir", "--func", "scale", "--input", _save(tmp_path, "x", x),
            "--input", _save(tmp_path, "k", np.array(k))]
    rc, out, err = xlc(capsys, *args)
    assert rc == 0, err
    assert "out0: shape=(2, 2) dtype=int32" in out and "out1:" in out
    assert str((x * k)[0, 0]) in out
    rc, out, err = xlc(capsys, *args, "--output-dir", tmp_path / "res")
    assert rc == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "res" / "out0.npy"), x * k)
    np.testing.assert_array_equal(np.load(tmp_path / "res" / "out1.npy"), x * k)


def test_run_converts_float64_data_for_f32_arguments(capsys, tmp_path):
    x = np.random.default_rng(2).standard_normal(4)
    rc, out, err = xlc(capsys, "run", DATA / "two_funcs.xir", "--func", "double", "-i", _save(tmp_path, "x", x),
                       "--output-dir", tmp_path)
    assert rc == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "out0.npy"), (x.astype(np.float32) * 2))


def test_run_input_errors_name_the_argument(capsys, tmp_path):
    x = _save(tmp_path, "x", np.ones((2, 2), np.int32))
    k = _save(tmp_path, "k", np.array(3, np.int32))
    wide = _save(tmp_path, "x", np.ones((3, 2), np.int32), "wide")
    floats = _save(tmp_path, "x", np.ones((2, 2), np.float32), "floats")
    cases = [
        (["-i", x], "missing input for argument 'k' of @scale (tensor<i32>)"),
        (["-i", x, "-i", k, "-i", f"extra={tmp_path / 'x.npy'}"], "no argument 'extra' (arguments: x, k)"),
        (["-i", wide, "-i", k], "input 'x' has shape (3, 2), but argument 'x' of @scale is tensor<2x2xi32>"),
        (["-i", floats, "-i", k], "input 'x' has dtype float32"),
        (["-i", x, "-i", "k"], "is not NAME=PATH.npy"),
        (["-i", x, "-i", x, "-i", k], "argument 'x' is given twice"),
        (["-i", x, "-i", f"k={tmp_path / 'nope.npy'}"], "cannot read input 'k'"),
    ]
    for extra, message in cases:
        rc, out, err = xlc(capsys, "run", DATA / "two_funcs.xir", "--func", "scale", *extra)
        assert rc == 1 and out == "" and message in err, (extra, err)


def test_dump_prints_the_graph_of_a_script(capsys):
    rc, out, err = xlc(capsys, "dump", DATA / "model.py")
    assert rc == 0, err
    assert "built the graph" not in out and "built the graph" in err  # the script's prints go to stderr
    assert "func @main(%x: tensor<?x3xf32>)" in out and " = mul(" in out
    rc, out, _ = xlc(capsys, "dump", DATA / "model.py", "--passes", "default")
    assert rc == 0 and " = mul(" not in out and " = add(" in out  # x * 1.0 simplified
    rc, out2, _ = xlc(capsys, "dump", DATA / "model.py", "--passes", "default")
    assert out2 == out  # a second dump in the same process sees a fresh graph


def test_dump_reports_the_scripts_error_line(capsys):
    rc, out, err = xlc(capsys, "dump", DATA / "broken_model.py")
    assert rc == 1 and "broken_model.py:4: NameError" in err and "Traceback" not in err


def test_version_and_passes(capsys):
    rc, out, _ = xlc(capsys, "--version")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("xlc ") and lines[1].startswith("llvmlite 0.") and lines[2].startswith("LLVM ")
    rc, out, _ = xlc(capsys, "passes")
    assert rc == 0 and "fold" in out and "max-elements=" in out and "default pipeline:" in out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compile", str(DATA / "redundant.xir"), "--emit", "png"])
    assert e.value.code == 2
    assert main([]) == 2


def test_as_a_subprocess(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    ok = subprocess.run([sys.executable, "-m", "xlc.cli.main", "opt", str(DATA / "redundant.xir"), "-p", "default"],
                        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ok.returncode == 0 and "func @f" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "xlc.cli.main", "opt", str(DATA / "bad_syntax.xir")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("xlc: error:") and "Traceback" not in bad.stderr
