"""The ``convmat`` command line: figures written, the article's matrices printed, errors."""

import subprocess
import sys

import pytest

from convmat.cli import COMMANDS, OPTIONS, SHOW_OPS, main
from convmat.figures import FIGURES
from convmat.labels import ZERO_LEGEND

EXPECTED_FIGURES = {
    "01_max_pooling.png", "02_unpool_nearest.png", "03_unpool_bed_of_nails.png",
    "04_max_unpooling.png", "05_strided_conv_2d.png", "06_transposed_conv_2d.png",
    "07_transposed_conv_1d_stride2.png", "08_transposed_conv_1d_stride1.png",
    "09_conv_and_transpose_stride1.png", "10_conv_and_transpose_stride2.png",
    "11_sparsity_1d_stride1_vs_2.png", "12_sparsity_2d_stride1_vs_2.png",
    "13_coverage_1d.png", "14_coverage_2d.png", "15_conv_and_transpose_2d.png",
}

# The article's 1-D transposed convolution 2 -> 5, worked by hand: [a, b] through
# [x, y, z] at stride 2.
TRANSPOSED_STRIDE2 = """\
    a b
0 [ x . ]   = ax
1 [ y . ]   = ay
2 [ z x ]   = az + bx
3 [ . y ]   = by
4 [ . z ]   = bz"""

# ... at stride 1: 4 outputs.
TRANSPOSED_STRIDE1 = """\
    a b
0 [ x . ]   = ax
1 [ y x ]   = ay + bx
2 [ z y ]   = az + by
3 [ . z ]   = bz"""

# The convolution whose transpose is a transposed convolution: 4 inputs, 3 taps, stride
# 1; 4 outputs need padding 1.
CONV_PADDED = """\
    a b c d
0 [ y z . . ]   = ay + bz
1 [ x y z . ]   = ax + by + cz
2 [ . x y z ]   = bx + cy + dz
3 [ . . x y ]   = cx + dy"""


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_figures_writes_every_png(tmp_path, capsys):
    code, out, _ = run(capsys, "figures", "--out", str(tmp_path / "figs"), "--dpi", "40")
    assert code == 0
    written = {p.name for p in (tmp_path / "figs").iterdir()}
    assert written == EXPECTED_FIGURES
    assert {name + ".png" for name, _ in FIGURES} == EXPECTED_FIGURES
    printed = out.split()
    assert len(printed) == len(EXPECTED_FIGURES)
    for path in printed:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_figures_default_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("convmat.figures.FIGURES", FIGURES[6:7])  # one is enough here
    code, out, _ = run(capsys, "figures")
    assert code == 0
    assert (tmp_path / "convmat-figures" / "07_transposed_conv_1d_stride2.png").is_file()
    assert out.strip() == "convmat-figures/07_transposed_conv_1d_stride2.png"


def test_show_conv_transpose_is_the_articles_2_to_5(capsys):
    code, out, _ = run(capsys, "show", "conv", "--input", "2", "--kernel", "3",
                       "--stride", "2", "--transpose")
    assert code == 0
    assert TRANSPOSED_STRIDE2 in out
    assert "input (1, 2) -> output (1, 5)" in out
    assert "= conv_matrix(w, (1, 5), stride=2).T" in out


def test_show_conv_transpose_stride_1(capsys):
    code, out, _ = run(capsys, "show", "conv", "--input", "2", "--transpose")
    assert code == 0
    assert TRANSPOSED_STRIDE1 in out


def test_show_conv_with_padding_keeps_4_outputs(capsys):
    code, out, _ = run(capsys, "show", "conv", "--input", "4", "--kernel", "3",
                       "--padding", "1")
    assert code == 0
    assert CONV_PADDED in out


def test_show_conv_with_weight_values(capsys):
    code, out, _ = run(capsys, "show", "conv", "--input", "4", "--padding", "1",
                       "--weight", "1,2,3")
    assert code == 0
    assert "0 [ 2 3 . . ]" in out and "3 [ . . 1 2 ]" in out


def test_show_conv_2d_and_custom_names(capsys):
    code, out, _ = run(capsys, "show", "conv", "--input", "3x3", "--kernel", "2",
                       "--names", "p,q,r,s")
    assert code == 0
    assert "0 [ p q . r s . . . . ]" in out
    assert "(1, 3, 3)" in out


def test_show_maxpool_the_articles_example(capsys):
    code, out, _ = run(capsys, "show", "maxpool")
    assert code == 0
    # the maxima 5, 6, 7, 8 of the article's 4x4 map sit at flat positions 5, 2, 12, 15
    assert "S @ x (1, 2, 2):\n  5 6\n  7 8" in out
    assert "indices (1, 2, 2):\n   5  2\n  12 15" in out


@pytest.mark.parametrize("op", ["avgpool", "nearest", "bed-of-nails", "maxunpool"])
def test_show_pool_and_unpool_ops(capsys, op):
    code, out, _ = run(capsys, "show", op)
    assert code == 0
    assert "[" in out and "]" in out


def test_show_nearest_matrix(capsys):
    code, out, _ = run(capsys, "show", "nearest", "--input", "2", "--scale", "2")
    assert code == 0
    assert "0 [ 1 . ]\n1 [ 1 . ]\n2 [ . 1 ]\n3 [ . 1 ]" in out


def test_show_bed_of_nails_matrix(capsys):
    code, out, _ = run(capsys, "show", "bed-of-nails", "--input", "2")
    assert code == 0
    assert "0 [ 1 . ]\n1 [ . . ]\n2 [ . 1 ]\n3 [ . . ]" in out


def test_help_explains_both_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "figures" in out and "show" in out and "animate" in out
    for command in ("show", "animate"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert "--transpose" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    ([], "required"),
    (["frobnicate"], "invalid choice"),
    (["show", "blur"], "invalid choice"),
    (["show", "conv", "--input", "four"], "expected sizes like"),
    (["show", "conv", "--kernel", "0"], "kernel"),
    (["show", "conv", "--input", "2", "--kernel", "3"], "Kernel size can't be greater|kernel"),
    (["show", "conv", "--stride", "1,2"], "--stride needs 1 or 1 values"),
    (["show", "conv", "--input", "40x40"], "too big to print"),
    (["show", "conv", "--names", "ab"], "--names must give 3 names"),
    (["show", "conv", "--weight", "1,2"], "--weight must give 3 values"),
    (["show", "conv", "--output-padding", "1"], "transposed conv only"),
])
def test_bad_arguments_exit_2_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error" in err
    assert any(m in err for m in message.split("|")), err


def test_python_dash_m_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "convmat", "show", "conv", "--input", "2",
                           "--stride", "2", "--transpose"], capture_output=True, text=True)
    assert done.returncode == 0
    assert TRANSPOSED_STRIDE2 in done.stdout
    bad = subprocess.run([sys.executable, "-m", "convmat", "show", "conv", "--kernel", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "kernel" in bad.stderr


@pytest.mark.parametrize("argv", [
    ["show", "conv", "--input", "1000000000"],
    ["show", "conv", "--input", "1000000000", "--transpose", "--stride", "2"],
    ["show", "maxpool", "--input", "1000000000"],
    ["show", "maxunpool", "--input", "1000000000"],
    ["show", "maxunpool", "--input", "1000000000", "--stride", "1000000000"],
    ["show", "avgpool", "--input", "100000x100000"],
    ["show", "nearest", "--input", "1000000000"],
    ["show", "interpolate", "--mode", "linear", "--input", "1000000000"],
    ["show", "bed-of-nails", "--input", "1000000000"],
])
def test_too_big_to_print_is_refused_before_building(capsys, argv):
    """The sizes come from the shape helpers: a billion inputs cost nothing."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "too big to print" in err or "too many to print" in err, err
    assert peak < 8 << 20


@pytest.mark.parametrize("weight", ["1,nan,3", "inf,2,3", "1,2,-inf"])
def test_weight_must_be_finite(capsys, weight):
    with pytest.raises(SystemExit) as exc:
        main(["show", "conv", "--weight", weight])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --weight: expected finite numbers" in err and weight in err


def test_show_maxpool_with_a_nan(capsys):
    """torch's rule, by hand: a NaN wins its window. [1, nan, 3, 4] in pairs: nan, 4."""
    code, out, _ = run(capsys, "show", "maxpool", "--input", "4", "--values", "1,nan,3,4")
    assert code == 0
    assert "S @ x (1, 2):\n  nan   4" in out
    assert "indices (1, 2):\n  1 3" in out


def test_the_command_line_uses_no_private_helpers():
    """cli.py and figures.py import the shared helpers by their package-internal names
    (no leading underscore), and cli.py leaves matplotlib to `convmat figures`."""
    import ast

    import convmat.cli
    import convmat.figures

    for module in (convmat.cli, convmat.figures):
        tree = ast.parse(open(module.__file__).read())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and node.level == 1 for alias in node.names]
        private = [n for n in imported if n.startswith("_") and not n.startswith("__")]
        assert imported and not private
    top = ast.parse(open(convmat.cli.__file__).read()).body
    modules = [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m.startswith("matplotlib") or m in ("plot", "figures")]


def test_show_does_not_import_matplotlib():
    """`convmat show` starts fast: matplotlib is imported by `convmat figures` only."""
    code = ("import sys; from convmat.cli import main; main(['show', 'conv']); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("op", sorted(SHOW_OPS))
def test_every_op_of_the_table_prints_with_its_defaults(capsys, op):
    code, out, _ = run(capsys, "show", op)
    assert code == 0
    assert "0 [" in out


@pytest.mark.parametrize("argv, message", [
    (["show", "conv", "--groups", "0"], "--groups: must be at least 1"),
    (["show", "conv", "--channels", "0"], "--channels: must be at least 1"),
    (["show", "conv", "--channels", "3", "--groups", "2"], "--channels must be divisible"),
    (["show", "conv", "--channels", "2", "--out-channels", "3", "--groups", "2",
      "--transpose"],
     "--out-channels must be divisible"),
    (["show", "conv", "--stride", "0"], "stride must be positive"),
    (["show", "maxpool", "--kernel", "0"], "kernel"),
    (["show", "maxunpool", "--dilation", "2"], "--dilation does not apply to maxunpool"),
    (["show", "nearest", "--scale", "0"], "scale"),
    (["show", "interpolate", "--mode", "cubic"], "mode"),
    (["show", "bed-of-nails", "--offset", "3"], "offset"),
    (["show", "maxpool", "--values", "1,2"], "--values must give 16 numbers"),
    (["figures", "--out", ""], "expected a directory name"),
    (["figures", "--dpi", "0"], "--dpi: must be at least 1"),
])
def test_bad_input_is_one_line_on_stderr(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("convmat") and "error: " in err and message in err, err
    assert not list(tmp_path.iterdir())  # nothing written, not even an empty directory


def test_bad_input_from_a_shell_is_one_line_without_a_traceback():
    done = subprocess.run([sys.executable, "-m", "convmat", "show", "conv", "--groups", "0"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


# --------------------------------------------------------------------------- show: maps, legend
def test_upsampling_ops_print_the_upsampled_grid(capsys):
    """Worked by hand: [[1, 2], [3, 4]] doubled, each value copied to its 2x2 block (nearest)
    or put at its block's top-left corner (bed of nails)."""
    code, out, _ = run(capsys, "show", "nearest")
    assert code == 0
    assert "input x (1, 2, 2):\n  1 2\n  3 4" in out
    assert "A @ x (1, 4, 4):\n  1 1 2 2\n  1 1 2 2\n  3 3 4 4\n  3 3 4 4" in out
    code, out, _ = run(capsys, "show", "bed-of-nails", "--input", "3", "--values", "5,6,7")
    assert code == 0
    assert "A @ x (1, 6):\n  5 0 6 0 7 0" in out


def test_interpolate_prints_torchs_grid(capsys):
    torch = pytest.importorskip("torch")
    code, out, _ = run(capsys, "show", "interpolate", "--mode", "linear", "--input", "3",
                       "--scale", "2", "--values", "1,2,4")
    assert code == 0
    printed = out.split("A @ x (1, 6):\n")[1].split()
    want = torch.nn.functional.interpolate(torch.tensor([[[1.0, 2.0, 4.0]]]),
                                           scale_factor=2, mode="linear")
    assert [float(v) for v in printed] == want.ravel().tolist()


@pytest.mark.parametrize("argv, expected", [
    # conv: each output as the sum of value times tap, by hand: [1, 2, 3, 4] padded by 1
    (["conv", "--input", "4", "--padding", "1", "--values", "1,2,3,4"],
     ["input x (1, 4):\n  1 2 3 4", "0 [ y z . . ]   = 1*y + 2*z",
      "3 [ . . x y ]   = 3*x + 4*y"]),
    # ... and with filter values: [0 + 0 - 2, 1 + 0 - 3, 2 + 0 - 4, 3 + 0 + 0]
    (["conv", "--input", "4", "--padding", "1", "--values", "1,2,3,4", "--weight",
      "1,0,-1"], ["output (1, 4):\n  -2 -2 -2  3"]),
    (["conv", "--input", "2", "--stride", "2", "--transpose", "--values", "1,2"],
     ["2 [ z x ]   = 1*z + 2*x"]),
    (["avgpool", "--input", "4", "--values", "1,3,5,9"], ["P @ x (1, 2):\n  2 7"]),
    (["maxpool", "--input", "4", "--values", "1,3,9,5"], ["S @ x (1, 2):\n  3 9"]),
    (["maxunpool", "--input", "4", "--values", "1,3,9,5"], ["U @ y (1, 4):\n  0 3 9 0"]),
    (["nearest", "--input", "2", "--values", "7,8"], ["A @ x (1, 4):\n  7 7 8 8"]),
    (["interpolate", "--input", "2", "--values", "7,8"], ["A @ x (1, 4):\n  7 7 8 8"]),
    (["bed-of-nails", "--input", "2", "--values", "7,8"], ["A @ x (1, 4):\n  7 0 8 0"]),
])
def test_values_work_for_every_op(capsys, argv, expected):
    code, out, _ = run(capsys, "show", *argv)
    assert code == 0
    for text in expected:
        assert text in out, out


def test_values_are_checked_for_every_op(capsys):
    for op in SHOW_OPS:
        with pytest.raises(SystemExit) as exc:
            main(["show", op, "--values", "1,2,3"])
        assert exc.value.code == 2
        assert "--values must give" in capsys.readouterr().err


def test_a_stored_zero_and_no_entry_are_told_apart(capsys):
    code, out, _ = run(capsys, "show", "conv", "--input", "4", "--padding", "1", "--weight",
                       "1,0,-1")
    assert code == 0
    assert "0 [  0 -1  .  . ]\n" in out
    assert ZERO_LEGEND in out and out.count(ZERO_LEGEND) == 1
    code, out, _ = run(capsys, "show", "conv", "--input", "4", "--weight", "1,2,3")
    assert ZERO_LEGEND not in out  # no stored zero: nothing to explain


def _sample(dest):
    """A value that parses for each option (the option, not its value, is refused)."""
    return {"transpose": [], "names": ["xyz"], "weight": ["1,2,3"], "values": ["1"],
            "mode": ["linear"], "seed": ["1"]}.get(dest, ["1"])


FOREIGN = [(op, dest) for op, spec in SHOW_OPS.items() for dest in OPTIONS
           if dest not in spec.options]


@pytest.mark.parametrize("command", ["show", "animate"])
@pytest.mark.parametrize("op, dest", FOREIGN, ids=[f"{o}-{d}" for o, d in FOREIGN])
def test_an_option_the_op_does_not_take_is_refused(capsys, tmp_path, command, op, dest):
    flag = "--" + dest.replace("_", "-")
    argv = [command, op, flag, *_sample(dest)]
    if command == "animate":
        argv += ["--out", str(tmp_path / "a.gif")]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{flag} does not apply to {op}" in err, err
    assert not list(tmp_path.iterdir())


def test_every_op_takes_input_channels_and_values():
    for spec in SHOW_OPS.values():
        assert {"input", "channels", "values"} <= spec.options <= set(OPTIONS)


# --------------------------------------------------------------------------- animate
def frames(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.n_frames


@pytest.mark.parametrize("argv, n_frames", [
    # a convolution: one frame per output, row by row of C; 4 inputs, 3 taps: 2 outputs
    (["conv"], 2),
    # a transposed convolution: one frame per input, column by column of C.T
    (["conv", "--transpose"], 4),
    # 3x3 input, 2x2 kernel: 2x2 = 4 outputs
    (["conv", "--input", "3x3", "--kernel", "2", "--weight", "1,2,3,4"], 4),
])
def test_animate_writes_a_gif_with_one_frame_per_step(tmp_path, capsys, argv, n_frames):
    gif = tmp_path / "anim.gif"
    code, out, _ = run(capsys, "animate", *argv, "--out", str(gif), "--dpi", "30")
    assert code == 0
    assert out.strip() == str(gif)
    with open(gif, "rb") as f:
        assert f.read(6) in (b"GIF87a", b"GIF89a")
    assert frames(gif) == n_frames


@pytest.mark.parametrize("argv, message", [
    (["animate", "nearest", "--out", "x.gif"], "animate draws conv"),
    (["animate", "conv", "--out", "x.png"], "expected a file name ending in .gif"),
    (["animate", "conv"], "the following arguments are required: --out"),
    (["animate", "conv", "--channels", "2", "--out", "x.gif"], "channels must be 1"),
    (["animate", "conv", "--output-padding", "1", "--out", "x.gif"], "transposed conv only"),
    (["animate", "conv", "--kernel", "5", "--out", "x.gif"], "kernel"),
])
def test_animate_refuses_bad_input_in_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())


def test_every_command_is_one_entry_of_the_table():
    assert list(COMMANDS) == ["figures", "show", "animate"]
