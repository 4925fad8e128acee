"""The ``convmat`` command: the figures of *Unsampling: Unpooling and Transpose
Convolution*, and small matrices in the terminal.

``convmat figures [--out DIR]`` renders the article's figures (pooling, the three
unpoolings, the 1-D transposed convolution, a convolution matrix and its transpose,
sparsity patterns, coverage maps) as PNG files and prints their paths.

``convmat show OP [options]`` prints the matrix of one small operation, each entry
labelled by the filter tap it holds (``x, y, z`` for a 3-tap filter, as the article names
them) or by its value, with the output each row computes.

This module parses arguments and prints; the figures are drawn in :mod:`convmat.figures`
(imported, with matplotlib, only by ``convmat figures``, so that ``convmat show`` starts
fast) and the text comes from :mod:`convmat.labels`. Bad input ends in one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .convolution import conv_taps, conv_transpose_taps
from .labels import (
    POOLING_EXAMPLE,
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
            "render the figures of 'Unsampling: Unpooling and Transpose Convolution', or "
            "print a small matrix with its filter taps.", 78),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convmat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_figures_parser(sub)
    _add_show_parser(sub)
    return parser


def _add_figures_parser(sub):
    fig = sub.add_parser(
        "figures", help="render the figures of the article as PNG files",
        description="Render the figures of 'Unsampling: Unpooling and Transpose "
                    "Convolution' as PNG files (max pooling, nearest-neighbour, bed of "
                    "nails, max unpooling, the 1-D transposed convolution at stride 2 and 1, "
                    "a convolution matrix and its transpose, sparsity patterns for stride 1 "
                    "and 2 in 1-D and 2-D, coverage maps) and print their paths.")
    fig.add_argument("--out", type=_directory, default=Path("convmat-figures"),
                     metavar="DIR", help="directory to write into, created if needed "
                                         "(default: ./convmat-figures)")
    fig.add_argument("--dpi", type=_count, default=120, help="resolution (default: 120)")


def _add_show_parser(sub):
    ops = "\n".join(f"  {name:13} {op.summary}" for name, op in SHOW_OPS.items())
    about = textwrap.fill(
        "Print the matrix of one small operation for one sample. Entries are labelled by "
        "the filter tap they hold (x, y, z for a 3-tap filter, as the article names them) "
        "or by their value; '.' is a structural zero. Rows are output positions, columns "
        "input positions, both flattened in C order.", 78)
    show = sub.add_parser(
        "show", help="print a small operation's matrix with tap labels",
        description=f"{about}\n\noperations:\n{ops}",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("op", choices=tuple(SHOW_OPS), metavar="OP",
                      help="one of: " + ", ".join(SHOW_OPS))
    add = show.add_argument
    add("--input", type=_sizes, default=None, metavar="SIZE",
        help="spatial input size: 4, 4x4 or 2x3x3 (default: 4 for conv, 4x4 for pooling, "
             "2x2 for unpooling)")
    add("--channels", type=_count, default=1, help="input channels (default: 1)")
    add("--out-channels", type=_count, default=1, help="output channels of conv (default: 1)")
    add("--kernel", type=_sizes, default=None, metavar="SIZE",
        help="kernel size (default: 3 for conv, 2 for pooling)")
    add("--stride", type=_sizes, default=None, metavar="SIZE",
        help="stride (default: 1 for conv, the kernel size for pooling)")
    add("--padding", type=_sizes, default=(0,), metavar="SIZE", help="padding (default: 0)")
    add("--dilation", type=_sizes, default=(1,), metavar="SIZE",
        help="dilation of conv and maxpool (default: 1)")
    add("--output-padding", type=_sizes, default=(0,), metavar="SIZE",
        help="output padding of a transposed conv (default: 0)")
    add("--groups", type=_count, default=1, help="conv groups (default: 1)")
    add("--transpose", action="store_true",
        help="conv: the transposed convolution of an input of --input size (its matrix is "
             "the transpose of a conv matrix)")
    add("--names", default=None, metavar="NAMES",
        help="filter tap names, one letter each (xyz) or comma-separated (default: xyz for "
             "a 3-tap filter)")
    add("--weight", type=_finite_numbers, default=None, metavar="W1,W2,...",
        help="conv: print these filter values instead of tap names")
    add("--values", type=_numbers, default=None, metavar="V1,V2,...",
        help="maxpool/maxunpool: the input map, flattened (default: for a 4x4 input the "
             "map of the article's max pooling figure, else random integers)")
    add("--scale", type=_sizes, default=(2,), metavar="SIZE",
        help="nearest/interpolate/bed-of-nails: scale factor (default: 2)")
    add("--mode", default="nearest",
        help="interpolate: nearest, nearest-exact, linear, bilinear, bicubic, trilinear "
             "(default: nearest)")
    add("--offset", type=_sizes, default=(0,), metavar="SIZE",
        help="bed-of-nails: position inside each block (default: 0)")
    add("--seed", type=int, default=0,
        help="random seed for the default maxpool input (default: 0)")


# --------------------------------------------------------------------------- running
def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad arguments, 1 failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "figures":
            _figures(args)
        else:
            print(show(args))
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
    return SHOW_OPS[args.op].handler(args)


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


# --------------------------------------------------------------------------- conv
_CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "output_padding": 0}


def _is_default(key, value) -> bool:
    return bool(np.all(np.asarray(value) == _CONV_DEFAULTS[key]))


def _call_args(kw, skip=()) -> str:
    """``, stride=2``: the arguments of a builder call that differ from the defaults."""
    text = ", ".join(f"{k}={v}" for k, v in kw.items() if k not in skip
                     and not _is_default(k, v))
    return f", {text}" if text else ""


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
    if args.output_padding != (0,):
        raise UsageError("--output-padding applies to a transposed conv only (add "
                         "--transpose)")
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
             f"{op}_matrix(w, {in_shape}{_call_args(kw)}): {A.shape[0]}x{A.shape[1]}, "
             f"{A.nnz} stored entries"]
    if args.transpose:
        caveat = ("" if _is_default("output_padding", kw["output_padding"])
                  else "  (when output_padding < stride)")
        lines.append(f"= conv_matrix(w, {tuple(out_shape)}"
                     f"{_call_args(kw, skip=('output_padding',))}).T{caveat}")
    in_names = input_letters(in_shape)
    row_text = None
    if in_names is not None and args.weight is None:
        row_text = row_products(grid, in_names)
    lines += ["", format_matrix(grid, col_names=in_names, row_text=row_text)]
    if in_names is None:
        lines.append(f"\ncolumns: input positions of {in_shape}, rows: output positions of "
                     f"{tuple(out_shape)}, both flattened in C order")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pooling
def _input_map(args, shape):
    """The map to pool: ``--values``, the article's 4x4 example, or random integers."""
    if args.values is not None:
        if args.values.size != math.prod(shape):
            raise UsageError(f"--values must give {math.prod(shape)} numbers for an input "
                             f"of shape {shape}, got {args.values.size}")
        return args.values.reshape(shape)
    if shape == (1, *POOLING_EXAMPLE.shape):
        return POOLING_EXAMPLE[None].copy()
    rng = np.random.default_rng(args.seed)
    return rng.integers(0, 10, size=shape).astype(float)


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
    if any(d != 1 for d in args.dilation):
        raise UsageError("--dilation is not an argument of max unpooling")
    pooled_shape = pool_output_shape(in_shape, kernel, **kw)
    _check_printable(max_unpool_output_shape(pooled_shape, kernel, **kw), pooled_shape)
    n_in = math.prod(in_shape)
    if n_in > MAX_ROWS:  # the input map is printed too, and pooled first
        raise UsageError(f"the input map holds {n_in} values, too many to print (at most "
                         f"{MAX_ROWS}); choose a smaller --input")
    x = _input_map(args, in_shape)
    _, idx = max_pool_selection(x, kernel, **kw)
    U = max_unpool_matrix(idx, kernel, **kw)
    return "\n".join([
        format_map(x, "input x"), "",
        format_map(np.asarray(idx), "indices of its max pooling"), "",
        f"max unpooling, kernel {kernel}, {_describe_kwargs(kw)}: each pooled value goes "
        f"back to where its maximum came from ({U.shape[0]}x{U.shape[1]}; here = S.T)", "",
        format_matrix(_value_grid(U))])


def _show_avg_pool(args) -> str:
    shape = (args.channels, *(args.input or (4, 4)))
    kernel, kw = _pool_arguments(args, len(shape) - 1, with_dilation=False)
    _check_printable(avg_pool_output_shape(shape, kernel, **kw), shape)
    P = avg_pool_matrix(shape, kernel, **kw)
    return "\n".join([
        f"average pooling of {shape}, kernel {kernel}, {_describe_kwargs(kw)}: "
        f"{P.shape[0]}x{P.shape[1]}", "", format_matrix(_value_grid(P))])


# --------------------------------------------------------------------------- unpooling
def _unpool_input(args):
    shape = (args.channels, *(args.input or (2, 2)))
    return shape, _per_dim(args.scale, len(shape) - 1, "scale")


def _show_interpolation(args, mode) -> str:
    shape, scale = _unpool_input(args)
    _check_printable(interpolate_output_shape(shape, scale_factor=scale, mode=mode), shape)
    A = interpolate_matrix(shape, scale_factor=scale, mode=mode)
    return "\n".join([f"interpolate, mode {mode!r}; input {shape}, scale {scale}: "
                      f"{A.shape[0]}x{A.shape[1]}", "", format_matrix(_value_grid(A))])


def _show_nearest(args) -> str:
    return _show_interpolation(args, "nearest")


def _show_interpolate(args) -> str:
    return _show_interpolation(args, args.mode)


def _show_bed_of_nails(args) -> str:
    shape, scale = _unpool_input(args)
    offset = _per_dim(args.offset, len(shape) - 1, "offset")
    _check_printable(bed_of_nails_output_shape(shape, scale, offset=offset), shape)
    A = bed_of_nails_matrix(shape, scale, offset=offset)
    return "\n".join([f"bed of nails: each value at one corner of its block, zeros "
                      f"elsewhere; input {shape}, scale {scale}: {A.shape[0]}x{A.shape[1]}",
                      "", format_matrix(_value_grid(A))])


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class ShowOp:
    """One operation of ``convmat show``: the function that prints it, and a summary."""

    handler: Callable[[argparse.Namespace], str]
    summary: str


SHOW_OPS = {
    "conv": ShowOp(_show_conv, "convolution (transposed with --transpose), by filter tap"),
    "maxpool": ShowOp(_show_max_pool, "max pooling: the selection matrix S of one input"),
    "avgpool": ShowOp(_show_avg_pool, "average pooling"),
    "nearest": ShowOp(_show_nearest, "nearest-neighbour unpooling (interpolate, nearest)"),
    "interpolate": ShowOp(_show_interpolate, "interpolation in the --mode given"),
    "bed-of-nails": ShowOp(_show_bed_of_nails, "bed-of-nails unpooling"),
    "maxunpool": ShowOp(_show_max_unpool, "max unpooling, to where each maximum was"),
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
