"""The ``convmat`` command: the figures of *Unsampling: Unpooling and Transpose
Convolution*, small matrices in the terminal, and animations.

* ``convmat figures [--out DIR]`` renders the article's figures as PNG files.
* ``convmat show OP [options]`` prints the matrix of one small operation, each entry
  labelled by the filter tap it holds (``x, y, z`` for a 3-tap filter, as the article
  names them) or by its value, with the output each row computes and the maps.
* ``convmat animate OP [options] --out FILE.gif`` draws it step by step
  (:mod:`convmat.animation`): row by row of ``C``, or column by column of ``C.T``.

Each subcommand is one entry of :data:`COMMANDS`, each operation one of :data:`SHOW_OPS`
with the options it takes (any other is refused, never ignored). matplotlib is imported
only by the commands that draw, so that ``show`` starts fast. Bad input ends in one line
on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from . import __version__
from .convolution import conv_taps, conv_transpose_taps
from .labels import (
    POOLING_EXAMPLE,
    call_text,
    default_tap_names,
    format_map,
    format_matrix,
    format_value,
    input_letters,
    label_grid,
    row_products,
    tap_grid,
    tap_structure,
)
from .pooling import avg_pool_matrix, max_pool_selection
from .shapes import (
    avg_pool_output_shape,
    bed_of_nails_output_shape,
    conv_output_shape,
    conv_transpose_output_shape,
    interpolate_output_shape,
    max_unpool_output_shape,
    pool_output_shape,
)
from .unpooling import bed_of_nails_matrix, interpolate_matrix, max_unpool_matrix

EPILOG = """\
examples:
  convmat figures --out figs
  convmat show conv --input 2 --kernel 3 --stride 2 --transpose   # transposed conv, 2 -> 5
  convmat show conv --input 4 --kernel 3 --padding 1              # conv, 4 -> 4
  convmat show maxpool --input 4x4 --kernel 2
  convmat show nearest --input 2x2 --scale 2
  convmat animate conv --transpose --stride 2 --out transposed.gif
"""

#: The largest matrix ``show`` prints, so that it fits a terminal.
MAX_COLUMNS = 64
MAX_ROWS = 256


class UsageError(Exception):
    """A bad combination of arguments: reported like an argparse error (exit status 2)."""


def _one_line(message) -> str:
    return " ".join(str(message).split())


class _Parser(argparse.ArgumentParser):
    """argparse, with every error on one line (``convmat show: error: ...``), status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------- argument types
def _sizes(text: str) -> tuple[int, ...]:
    """``"4"``, ``"4x4"`` or ``"4,4"`` as a tuple of non-negative integers."""
    parts = text.replace("x", ",").replace("X", ",").split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sizes like 4, 4x4 or 2,3, got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must not be negative, got {text!r}")
    return values


def _count(text: str) -> int:
    """A number of channels, groups or dots per inch: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _numbers(text: str) -> np.ndarray:
    try:
        return np.array([float(p) for p in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 1,2,3, got {text!r}") from None


def _finite_numbers(text: str) -> np.ndarray:
    """Filter values: a NaN or infinite weight makes every entry it touches meaningless."""
    values = _numbers(text)
    if not np.isfinite(values).all():
        raise argparse.ArgumentTypeError(
            f"expected finite numbers like 1,-2,0.5 (no nan or inf), got {text!r}")
    return values


def _directory(text: str) -> Path:
    # Path("") is ".": an empty --out (say, an unset shell variable) must not write the
    # figures into the current directory.
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a directory name, got {text!r}")
    return Path(text)


# --------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convmat",
        description=textwrap.fill(
            "Convolution, pooling and unpooling of neural networks as sparse matrices: "
            "render the figures of 'Unsampling: Unpooling and Transpose Convolution', "
            "print a small matrix with its filter taps, or animate it.", 78),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convmat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_parser(sub, name, command.help)
    return parser


def _add_figures_parser(sub, name, help):
    fig = sub.add_parser(
        name, help=help,
        description="Render the figures of 'Unsampling: Unpooling and Transpose "
                    "Convolution' as PNG files (pooling and unpooling, convolutions and "
                    "their transposes, sparsity patterns, coverage maps) and print their "
                    "paths.")
    fig.add_argument("--out", type=_directory, default=Path("convmat-figures"),
                     metavar="DIR", help="directory to write into, created if needed "
                                         "(default: ./convmat-figures)")
    fig.add_argument("--dpi", type=_count, default=120, help="resolution (default: 120)")


def _op_help() -> str:
    ops = "\n".join(f"  {name:13} {op.summary}" for name, op in SHOW_OPS.items())
    return f"operations (and the options each takes):\n{ops}"


def _add_show_parser(sub, name, help):
    about = textwrap.fill(
        "Print the matrix of one small operation for one sample. Entries are labelled by "
        "the filter tap they hold (x, y, z for a 3-tap filter, as the article names them) "
        "or by their value; '.' is no entry (a structural zero), '0' a stored entry whose "
        "value is 0. Rows are output positions, columns input positions, both flattened "
        "in C order. An option that the operation does not take is refused.", 78)
    show = sub.add_parser(
        name, help=help, description=f"{about}\n\n{_op_help()}",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_op_arguments(show)


def _add_animate_parser(sub, name, help):
    about = textwrap.fill(
        "Animate one small operation, with the options of 'convmat show', as a GIF: a "
        "convolution's window sliding over its padded input (one frame per output, row by "
        "row of C), or with --transpose a transposed convolution's stamps adding up (one "
        "frame per input, column by column of C.T).", 78)
    anim = sub.add_parser(
        name, help=help, description=f"{about}\n\n{_op_help()}",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_op_arguments(anim)
    anim.add_argument("--out", type=_gif_path, required=True, metavar="FILE.gif",
                      help="the GIF file to write")
    anim.add_argument("--interval", type=_count, default=1000, metavar="MS",
                      help="milliseconds per frame (default: 1000)")
    anim.add_argument("--dpi", type=_count, default=100, help="resolution (default: 100)")


def _add_op_arguments(parser):
    """The operation and its options, shared by ``show`` and ``animate``. Every option
    defaults to ``None`` (not given), so that one an operation does not take is refused
    even when it repeats the default; each operation fills in its own defaults."""
    parser.add_argument("op", choices=tuple(SHOW_OPS), metavar="OP",
                        help="one of: " + ", ".join(SHOW_OPS))
    add = parser.add_argument
    add("--input", type=_sizes, metavar="SIZE",
        help="spatial input size: 4, 4x4 or 2x3x3 (default: 4 for conv, 4x4 for pooling, "
             "2x2 for unpooling)")
    add("--channels", type=_count, help="input channels (default: 1)")
    add("--out-channels", type=_count, help="output channels of conv (default: 1)")
    add("--kernel", type=_sizes, metavar="SIZE",
        help="kernel size (default: 3 for conv, 2 for pooling)")
    add("--stride", type=_sizes, metavar="SIZE",
        help="stride (default: 1 for conv, the kernel size for pooling)")
    add("--padding", type=_sizes, metavar="SIZE", help="padding (default: 0)")
    add("--dilation", type=_sizes, metavar="SIZE",
        help="dilation of conv and maxpool (default: 1)")
    add("--output-padding", type=_sizes, metavar="SIZE",
        help="output padding of a transposed conv (default: 0)")
    add("--groups", type=_count, help="conv groups (default: 1)")
    add("--transpose", action="store_true", default=None,
        help="conv: the transposed convolution of an input of --input size (its matrix is "
             "the transpose of a conv matrix)")
    add("--names", metavar="NAMES",
        help="conv: filter tap names, one letter each (xyz) or comma-separated (default: "
             "xyz for a 3-tap filter)")
    add("--weight", type=_finite_numbers, metavar="W1,W2,...",
        help="conv: print these filter values instead of tap names")
    add("--values", type=_numbers, metavar="V1,V2,...",
        help="the input map, flattened (default: for pooling of a 4x4 input the map of the "
             "article's max pooling figure, else random integers; 1, 2, 3, ... for "
             "unpooling; conv prints the outputs as sums of these values times the taps)")
    add("--scale", type=_sizes, metavar="SIZE",
        help="nearest/interpolate/bed-of-nails: scale factor (default: 2)")
    add("--mode", help="interpolate: nearest, nearest-exact, linear, bilinear, bicubic, "
                       "trilinear (default: nearest)")
    add("--offset", type=_sizes, metavar="SIZE",
        help="bed-of-nails: position inside each block (default: 0)")
    add("--seed", type=int, help="pooling: random seed of the default input (default: 0)")


def _gif_path(text: str) -> Path:
    if not text.strip() or not text.lower().endswith(".gif"):
        raise argparse.ArgumentTypeError(f"expected a file name ending in .gif, got {text!r}")
    return Path(text)


# --------------------------------------------------------------------------- running
def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad arguments, 1 failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command].run(args)
    except (UsageError, ValueError, TypeError) as err:
        # The library's messages name the argument and the rule: they are the whole story.
        parser.exit(2, f"convmat {args.command}: error: {_one_line(err)}\n")
    except OSError as err:
        parser.exit(1, f"convmat {args.command}: error: {_one_line(err)}\n")
    return 0


def _figures(args) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, and no display needed
    from .figures import render_figures  # matplotlib is loaded here, not for `show`

    for path in render_figures(args.out, dpi=args.dpi):
        print(path)


def show(args) -> str:
    """The text ``convmat show`` prints."""
    check_options(args)
    for dest, default in OPTIONS.items():  # each op's own defaults come in its handler
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    return SHOW_OPS[args.op].handler(args)


def _animate(args) -> None:
    check_options(args)
    given = {dest: getattr(args, dest) for dest in OPTIONS if getattr(args, dest) is not None}
    import matplotlib

    matplotlib.use("Agg")
    from .animation import ANIMATED_OPS, animate, save_animation

    if args.op not in ANIMATED_OPS:
        raise UsageError(f"animate draws {', '.join(ANIMATED_OPS)} (with --transpose, the "
                         f"transposed convolution), got {args.op}; try convmat show "
                         f"{args.op}")
    anim = animate(args.op, **given, interval=args.interval)
    print(save_animation(anim, args.out, dpi=args.dpi))


# --------------------------------------------------------------------------- options
#: Every option of an operation, by its ``dest``, and its default where one is needed
#: (the rest depend on the operation, or ``None`` means "not given").
OPTIONS = {
    "input": None, "channels": 1, "out_channels": 1, "kernel": None, "stride": None,
    "padding": (0,), "dilation": (1,), "output_padding": (0,), "groups": 1,
    "transpose": False, "names": None, "weight": None, "values": None, "scale": (2,),
    "mode": "nearest", "offset": (0,), "seed": 0,
}


def _flag(dest) -> str:
    return "--" + dest.replace("_", "-")


def check_options(args) -> None:
    """Refuse an option the operation does not take, naming the option and the op."""
    allowed = SHOW_OPS[args.op].options
    for dest in OPTIONS:
        if getattr(args, dest) is not None and dest not in allowed:
            takes = ", ".join(_flag(d) for d in OPTIONS if d in allowed)
            raise UsageError(f"{_flag(dest)} does not apply to {args.op} (the options of "
                             f"{args.op}: {takes})")
    if args.op == "conv" and args.output_padding is not None and not args.transpose:
        raise UsageError("--output-padding applies to a transposed conv only (add "
                         "--transpose)")


# --------------------------------------------------------------------------- shared pieces
def _per_dim(value, n, name):
    """A per-dimension argument: one value for every dimension, or one per dimension."""
    if value is None:
        return None
    if len(value) == 1:
        return value[0] if n == 1 else value * n
    if len(value) != n:
        raise UsageError(f"--{name} needs 1 or {n} values for a {n}-D input, got "
                         f"{'x'.join(map(str, value))}")
    return tuple(value)


def _check_printable(out_shape, in_shape):
    """Refuse, from the sample shapes alone, a matrix too big to print: the check comes
    before anything is built, so a huge ``--input`` costs nothing."""
    n_rows, n_cols = math.prod(out_shape), math.prod(in_shape)
    if n_cols > MAX_COLUMNS or n_rows > MAX_ROWS:
        raise UsageError(
            f"the matrix is {n_rows}x{n_cols}, too big to print (at most {MAX_ROWS} rows and "
            f"{MAX_COLUMNS} columns); choose a smaller --input, or use convmat.plot"
        )


def _value_grid(A):
    """Each stored entry of ``A`` labelled by its value."""
    return label_grid(A.tocsr(), None)


def _describe_kwargs(kw) -> str:
    return ", ".join(f"{k} {v}" for k, v in kw.items() if v is not None)


def _values(args, shape, default=None):
    """``--values`` as a map of ``shape``; when not given, ``default()`` (or ``None``),
    called only then and after the size checks."""
    if args.values is None:
        return None if default is None else default()
    if args.values.size != math.prod(shape):
        raise UsageError(f"--values must give {math.prod(shape)} numbers for an input of "
                         f"shape {shape}, got {args.values.size}")
    return args.values.reshape(shape)


# --------------------------------------------------------------------------- conv
def _tap_names(n, spec):
    """The ``--names`` given, one per filter weight (``xyz`` for a 3-tap filter)."""
    if spec is None:
        return "xyz" if n == 3 else None
    names = spec.split(",") if "," in spec else list(spec)
    if len(names) != n:
        raise UsageError(f"--names must give {n} names (one per filter weight), got "
                         f"{len(names)}: {spec!r}")
    return names


def _conv_geometry(args):
    """``(in_shape, weight_shape, kwargs, out_shape, taps)`` of ``convmat show conv``."""
    size = args.input or (4,)
    n = len(size)
    kernel = _per_dim(args.kernel or (3,), n, "kernel")
    kernel = (kernel,) if n == 1 else tuple(kernel)
    for name in ("channels", "out_channels"):
        if getattr(args, name) % args.groups:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} must be divisible by --groups, got {flag} "
                             f"{getattr(args, name)} and --groups {args.groups}")
    kw = dict(stride=_per_dim(args.stride or (1,), n, "stride"),
              padding=_per_dim(args.padding, n, "padding"),
              dilation=_per_dim(args.dilation, n, "dilation"), groups=args.groups)
    in_shape = (args.channels, *size)
    if args.transpose:
        wshape = (args.channels, args.out_channels // args.groups, *kernel)
        kw["output_padding"] = _per_dim(args.output_padding, n, "output_padding")
        out_shape = conv_transpose_output_shape(wshape, in_shape, **kw)
        _check_printable(out_shape, in_shape)
        return in_shape, wshape, kw, out_shape, conv_transpose_taps(wshape, in_shape, **kw)
    wshape = (args.out_channels, args.channels // args.groups, *kernel)
    out_shape = conv_output_shape(wshape, in_shape, **kw)
    _check_printable(out_shape, in_shape)
    return in_shape, wshape, kw, out_shape, conv_taps(wshape, in_shape, **kw)


def _conv_entries(args, taps, wshape):
    """``(A, grid, filter text)``: the pattern, each entry's label, the filter as text."""
    n_w = math.prod(wshape)
    if args.weight is not None:
        if args.weight.size != n_w:
            raise UsageError(f"--weight must give {n_w} values for a weight of shape "
                             f"{wshape}, got {args.weight.size}")
        values = taps.matrix(args.weight.reshape(wshape)).data
        A = tap_structure(taps)
        grid = label_grid(A, [format_value(v) for v in values])
        return A, grid, "[" + ", ".join(format_value(v) for v in args.weight) + "]"
    names = default_tap_names(wshape, _tap_names(n_w, args.names))
    A, grid = tap_grid(taps, names)
    text = ("[" + ", ".join(names) + "]" if names is not None and n_w <= 9
            else "w, taps by index")
    return A, grid, text


def _show_conv(args) -> str:
    in_shape, wshape, kw, out_shape, taps = _conv_geometry(args)
    A, grid, filt = _conv_entries(args, taps, wshape)
    op = "conv_transpose" if args.transpose else "conv"
    lines = [f"{op}: input {in_shape} -> output {tuple(out_shape)}, "
             f"weight {wshape}, filter {filt}",
             f"{call_text(op + '_matrix', in_shape, **kw)}: {A.shape[0]}x{A.shape[1]}, "
             f"{A.nnz} stored entries"]
    if args.transpose:
        conv_kw = {k: v for k, v in kw.items() if k != "output_padding"}
        caveat = ("" if np.all(np.asarray(kw["output_padding"]) == 0)
                  else "  (when output_padding < stride)")
        lines.append(f"= {call_text('conv_matrix', out_shape, **conv_kw)}.T{caveat}")
    x = _values(args, in_shape)
    in_names = input_letters(in_shape)
    row_text = None
    if x is not None:
        lines += ["", format_map(x, "input x")]
        if args.weight is None:  # each output as the sum of value times tap
            row_text = row_products(grid, [format_value(v) + "*" for v in x.ravel()])
    elif in_names is not None and args.weight is None:
        row_text = row_products(grid, in_names)
    lines += ["", format_matrix(grid, col_names=in_names, row_text=row_text)]
    if in_names is None:
        lines.append(f"\ncolumns: input positions of {in_shape}, rows: output positions of "
                     f"{tuple(out_shape)}, both flattened in C order")
    if x is not None and args.weight is not None:
        y = taps.matrix(args.weight.reshape(wshape)) @ x.ravel()
        lines += ["", format_map(y.reshape(out_shape), "output")]
    return "\n".join(lines)


# --------------------------------------------------------------------------- pooling
def _input_map(args, shape):
    """The map to pool: ``--values``, the article's 4x4 example, or random integers."""
    if args.values is None and shape == (1, *POOLING_EXAMPLE.shape):
        return POOLING_EXAMPLE[None].copy()
    def random():
        return np.random.default_rng(args.seed).integers(0, 10, size=shape).astype(float)

    return _values(args, shape, random)


def _pool_arguments(args, n, with_dilation=True):
    """``(kernel, kwargs)`` of a pooling from ``--kernel``, ``--stride``, ``--padding``."""
    kernel = _per_dim(args.kernel or (2,), n, "kernel")
    kw = dict(stride=_per_dim(args.stride, n, "stride"),
              padding=_per_dim(args.padding, n, "padding"))
    if with_dilation:
        kw["dilation"] = _per_dim(args.dilation, n, "dilation")
    return kernel, kw


def _show_max_pool(args) -> str:
    in_shape = (args.channels, *(args.input or (4, 4)))
    kernel, kw = _pool_arguments(args, len(in_shape) - 1)
    _check_printable(pool_output_shape(in_shape, kernel, **kw), in_shape)
    x = _input_map(args, in_shape)
    S, idx = max_pool_selection(x, kernel, **kw)
    pooled = (S @ x.ravel()).reshape(idx.shape)
    return "\n".join([
        format_map(x, "input x"), "",
        f"max pooling, kernel {kernel}, {_describe_kwargs(kw)}: the selection matrix S "
        f"({S.shape[0]}x{S.shape[1]}), one 1 per row at the window's maximum", "",
        format_matrix(_value_grid(S)), "",
        format_map(pooled, "S @ x"), format_map(np.asarray(idx), "indices")])


def _show_max_unpool(args) -> str:
    in_shape = (args.channels, *(args.input or (4, 4)))
    kernel, kw = _pool_arguments(args, len(in_shape) - 1, with_dilation=False)
    pooled_shape = pool_output_shape(in_shape, kernel, **kw)
    out_shape = max_unpool_output_shape(pooled_shape, kernel, **kw)
    _check_printable(out_shape, pooled_shape)
    n_in = math.prod(in_shape)
    if n_in > MAX_ROWS:  # the input map is printed too, and pooled first
        raise UsageError(f"the input map holds {n_in} values, too many to print (at most "
                         f"{MAX_ROWS}); choose a smaller --input")
    x = _input_map(args, in_shape)
    S, idx = max_pool_selection(x, kernel, **kw)
    U = max_unpool_matrix(idx, kernel, **kw)
    pooled = S @ x.ravel()
    return "\n".join([
        format_map(x, "input x"), "",
        format_map(pooled.reshape(idx.shape), "its max pooling y = S @ x"),
        format_map(np.asarray(idx), "indices of its max pooling"), "",
        f"max unpooling, kernel {kernel}, {_describe_kwargs(kw)}: each pooled value goes "
        f"back to where its maximum came from ({U.shape[0]}x{U.shape[1]}; here = S.T)", "",
        format_matrix(_value_grid(U)), "",
        format_map((U @ pooled).reshape(out_shape), "U @ y")])


def _show_avg_pool(args) -> str:
    shape = (args.channels, *(args.input or (4, 4)))
    kernel, kw = _pool_arguments(args, len(shape) - 1, with_dilation=False)
    out_shape = avg_pool_output_shape(shape, kernel, **kw)
    _check_printable(out_shape, shape)
    x = _input_map(args, shape)
    P = avg_pool_matrix(shape, kernel, **kw)
    return "\n".join([
        format_map(x, "input x"), "",
        f"average pooling, kernel {kernel}, {_describe_kwargs(kw)}: P "
        f"({P.shape[0]}x{P.shape[1]})", "", format_matrix(_value_grid(P)), "",
        format_map((P @ x.ravel()).reshape(out_shape), "P @ x")])


# --------------------------------------------------------------------------- unpooling
def _unpool_input(args):
    """``(shape, scale, x)`` of the map to upsample: ``x()`` is ``--values``, else 1, 2,
    3, ... (made when called, after the size check)."""
    shape = (args.channels, *(args.input or (2, 2)))
    count = partial(np.arange, 1, math.prod(shape) + 1, dtype=float)
    return (shape, _per_dim(args.scale, len(shape) - 1, "scale"),
            lambda: _values(args, shape, lambda: count().reshape(shape)))


def _upsampled(head, x, A, out_shape) -> str:
    """The text of an upsampling: what it does, x, the matrix A, and the grid A @ x."""
    return "\n".join([head, "", format_map(x, "input x"), "",
                      format_matrix(_value_grid(A)), "",
                      format_map((A @ x.ravel()).reshape(out_shape), "A @ x")])


def _show_interpolation(args, mode) -> str:
    shape, scale, values = _unpool_input(args)
    out_shape = interpolate_output_shape(shape, scale_factor=scale, mode=mode)
    _check_printable(out_shape, shape)
    x = values()
    A = interpolate_matrix(shape, scale_factor=scale, mode=mode)
    return _upsampled(f"interpolate, mode {mode!r}; input {x.shape}, scale {scale}: A "
                      f"({A.shape[0]}x{A.shape[1]})", x, A, out_shape)


def _show_bed_of_nails(args) -> str:
    shape, scale, values = _unpool_input(args)
    offset = _per_dim(args.offset, len(shape) - 1, "offset")
    out_shape = bed_of_nails_output_shape(shape, scale, offset=offset)
    _check_printable(out_shape, shape)
    x = values()
    A = bed_of_nails_matrix(shape, scale, offset=offset)
    return _upsampled(f"bed of nails: each value at one corner of its block, zeros "
                      f"elsewhere; input {x.shape}, scale {scale}: A ({A.shape[0]}x"
                      f"{A.shape[1]})", x, A, out_shape)


# --------------------------------------------------------------------------- the tables
@dataclass(frozen=True)
class ShowOp:
    """One operation of ``convmat show`` and ``convmat animate``: the function that
    prints it, a summary, and the options it takes (their ``dest`` names)."""

    handler: Callable[[argparse.Namespace], str]
    summary: str
    options: frozenset[str]


def _takes(*names) -> frozenset[str]:
    return frozenset(("input", "channels", "values") + names)


_POOLING = ("kernel", "stride", "padding", "seed")
SHOW_OPS = {
    "conv": ShowOp(_show_conv, "convolution (transposed with --transpose), by filter tap",
                   _takes("out_channels", "kernel", "stride", "padding", "dilation",
                          "output_padding", "groups", "transpose", "names", "weight")),
    "maxpool": ShowOp(_show_max_pool, "max pooling: the selection matrix S of one input",
                      _takes(*_POOLING, "dilation")),
    "avgpool": ShowOp(_show_avg_pool, "average pooling", _takes(*_POOLING)),
    "nearest": ShowOp(lambda args: _show_interpolation(args, "nearest"),
                      "nearest-neighbour unpooling (interpolate, nearest)", _takes("scale")),
    "interpolate": ShowOp(lambda args: _show_interpolation(args, args.mode),
                          "interpolation in the --mode given", _takes("scale", "mode")),
    "bed-of-nails": ShowOp(_show_bed_of_nails, "bed-of-nails unpooling",
                           _takes("scale", "offset")),
    "maxunpool": ShowOp(_show_max_unpool, "max unpooling, to where each maximum was",
                        _takes(*_POOLING)),
}


@dataclass(frozen=True)
class Command:
    """One subcommand: its one-line help, what adds its arguments, and what runs it."""

    help: str
    add_parser: Callable[..., None]
    run: Callable[[argparse.Namespace], None]


#: The subcommands, in the order ``convmat --help`` lists them.
COMMANDS = {
    "figures": Command("render the figures of the article as PNG files",
                       _add_figures_parser, _figures),
    "show": Command("print a small operation's matrix with tap labels", _add_show_parser,
                    lambda args: print(show(args))),
    "animate": Command("animate a convolution or transposed convolution as a GIF",
                       _add_animate_parser, _animate),
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
