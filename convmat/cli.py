"""The ``convmat`` command: the seed article's figures, and small matrices in the terminal.

``convmat figures [--out DIR]`` renders every figure of the seed article (pooling, the
three unpoolings, the 1-D transposed convolution, a convolution matrix and its transpose,
sparsity patterns, coverage maps) as PNG files and prints their paths.

``convmat show OP [options]`` prints the matrix of one small operation, each entry
labelled by the filter tap it holds (``x, y, z`` for a 3-tap filter, as in the seed) or by
its value, with the output each row computes.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

EPILOG = """\
examples:
  convmat figures --out figs
  convmat show conv --input 2 --kernel 3 --stride 2 --transpose   # the seed's Fig. 7: 2 -> 5
  convmat show conv --input 4 --kernel 3 --padding 1              # 'why transpose': 4 -> 4
  convmat show maxpool --input 4x4 --kernel 2
  convmat show nearest --input 2x2 --scale 2
"""

OPS = ("conv", "maxpool", "avgpool", "nearest", "interpolate", "bed-of-nails", "maxunpool")

#: The largest matrix ``show`` prints, so that it fits a terminal.
MAX_COLUMNS = 64
MAX_ROWS = 256

# The pooling example of the seed's Fig. 2 and 5 (after CS231n, lecture 11).
SEED_MAP = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], dtype=float)
SEED_SMALL = np.array([[1, 2], [3, 4]], dtype=float)


class UsageError(Exception):
    """A bad combination of arguments: reported like an argparse error (exit code 2)."""


def _size(text: str) -> tuple[int, ...]:
    """``"4"``, ``"4x4"`` or ``"4,4"`` as a tuple of positive integers."""
    parts = text.replace("x", ",").replace("X", ",").split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sizes like 4, 4x4 or 2,3, got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must not be negative, got {text!r}")
    return values


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convmat",
        description="Convolution, pooling and unpooling of neural networks as sparse "
                    "matrices: render the seed article's figures, or print a small "
                    "matrix with its filter taps.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"convmat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    fig = sub.add_parser(
        "figures", help="render the seed article's figures as PNG files",
        description="Render the seed article's figures as PNG files (max pooling, "
                    "nearest-neighbour, bed of nails, max unpooling, the 1-D transposed "
                    "convolution at stride 2 and 1, a convolution matrix and its transpose, "
                    "sparsity patterns for stride 1 and 2 in 1-D and 2-D, coverage maps) "
                    "and print their paths.")
    fig.add_argument("--out", type=Path, default=Path("convmat-figures"), metavar="DIR",
                     help="directory to write into, created if needed "
                          "(default: ./convmat-figures)")
    fig.add_argument("--dpi", type=int, default=120, help="resolution (default: 120)")

    show = sub.add_parser(
        "show", help="print a small operation's matrix with tap labels",
        description="Print the matrix of one small operation for one sample. Entries are "
                    "labelled by the filter tap they hold (x, y, z for a 3-tap filter, as "
                    "in the seed) or by their value; '.' is a structural zero. Rows are "
                    "output positions, columns input positions, both flattened in C order.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("op", choices=OPS, metavar="OP",
                      help="one of: " + ", ".join(OPS))
    show.add_argument("--input", type=_size, default=None, metavar="SIZE",
                      help="spatial input size: 4, 4x4 or 2x3x3 (default: 4 for conv, "
                           "4x4 for pooling, 2x2 for unpooling)")
    show.add_argument("--channels", type=int, default=1,
                      help="input channels (default: 1)")
    show.add_argument("--out-channels", type=int, default=1,
                      help="output channels of conv (default: 1)")
    show.add_argument("--kernel", type=_size, default=None, metavar="SIZE",
                      help="kernel size (default: 3 for conv, 2 for pooling)")
    show.add_argument("--stride", type=_size, default=None, metavar="SIZE",
                      help="stride (default: 1 for conv, the kernel size for pooling)")
    show.add_argument("--padding", type=_size, default=(0,), metavar="SIZE",
                      help="padding (default: 0)")
    show.add_argument("--dilation", type=_size, default=(1,), metavar="SIZE",
                      help="dilation of conv and maxpool (default: 1)")
    show.add_argument("--output-padding", type=_size, default=(0,), metavar="SIZE",
                      help="output padding of a transposed conv (default: 0)")
    show.add_argument("--groups", type=int, default=1, help="conv groups (default: 1)")
    show.add_argument("--transpose", action="store_true",
                      help="conv: the transposed convolution of an input of --input size "
                           "(its matrix is the transpose of a conv matrix)")
    show.add_argument("--names", default=None, metavar="NAMES",
                      help="filter tap names, one letter each (xyz) or comma-separated "
                           "(default: xyz for a 3-tap filter)")
    show.add_argument("--weight", type=_finite_numbers, default=None, metavar="W1,W2,...",
                      help="conv: print these filter values instead of tap names")
    show.add_argument("--values", type=_numbers, default=None, metavar="V1,V2,...",
                      help="maxpool/maxunpool: the input map, flattened (default: the "
                           "seed's 4x4 example, else random integers)")
    show.add_argument("--scale", type=_size, default=(2,), metavar="SIZE",
                      help="nearest/interpolate/bed-of-nails: scale factor (default: 2)")
    show.add_argument("--mode", default="nearest",
                      help="interpolate: nearest, nearest-exact, linear, bilinear, "
                           "bicubic, trilinear (default: nearest)")
    show.add_argument("--offset", type=_size, default=(0,), metavar="SIZE",
                      help="bed-of-nails: position inside each block (default: 0)")
    show.add_argument("--seed", type=int, default=0,
                      help="random seed for the default maxpool input (default: 0)")
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad arguments, 1 failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "figures":
            for path in render_figures(args.out, dpi=args.dpi):
                print(path)
        else:
            print(show(args))
    except (UsageError, ValueError, TypeError) as err:
        parser.exit(2, f"convmat {args.command}: error: {err}\n")
    except OSError as err:
        parser.exit(1, f"convmat {args.command}: error: {err}\n")
    return 0


# -- convmat show -------------------------------------------------------------------------

def _one(value, n, name):
    """A per-dimension argument: one value for every dimension, or one per dimension."""
    if value is None:
        return None
    if len(value) == 1:
        return value[0] if n == 1 else value * n
    if len(value) != n:
        raise UsageError(f"--{name} needs 1 or {n} values for a {n}-D input, got "
                         f"{'x'.join(map(str, value))}")
    return tuple(value)


def _parse_names(n, spec):
    if spec is None:
        return "xyz" if n == 3 else None
    names = spec.split(",") if "," in spec else list(spec)
    if len(names) != n:
        raise UsageError(f"--names must give {n} names (one per filter weight), got "
                         f"{len(names)}: {spec!r}")
    return names


def _input_names(shape):
    """``a, b, c, ...`` for a 1-D single-channel input, as the seed names them."""
    if len(shape) == 2 and shape[0] == 1 and shape[1] <= 26:
        return [chr(ord("a") + i) for i in range(shape[1])]
    return None


def format_matrix(grid, col_names=None, row_names=None, row_text=None) -> str:
    """A grid of labels (``""`` for a structural zero, printed ``.``) as aligned text."""
    n_rows, n_cols = grid.shape
    col_names = [str(c) for c in (col_names if col_names is not None else range(n_cols))]
    row_names = [str(r) for r in (row_names if row_names is not None else range(n_rows))]
    width = max([len(s) for s in grid.ravel()] + [len(c) for c in col_names] + [1])
    lead = max(len(r) for r in row_names) if row_names else 1
    lines = [" " * (lead + 3) + " ".join(c.rjust(width) for c in col_names)]
    for r in range(n_rows):
        cells = " ".join((grid[r, c] or ".").rjust(width) for c in range(n_cols))
        tail = f"   {row_text[r]}" if row_text is not None else ""
        lines.append(f"{row_names[r].rjust(lead)} [ {cells} ]{tail}")
    return "\n".join(lines)


def _value_grid(A):
    from .plot import label_grid

    return label_grid(A.tocsr(), None)


def _check_printable(out_shape, in_shape):
    """Refuse, from the sample shapes alone, a matrix too big to print: the check comes
    before anything is built, so a huge ``--input`` costs nothing."""
    n_rows, n_cols = math.prod(out_shape), math.prod(in_shape)
    if n_cols > MAX_COLUMNS or n_rows > MAX_ROWS:
        raise UsageError(
            f"the matrix is {n_rows}x{n_cols}, too big to print (at most {MAX_ROWS} rows and "
            f"{MAX_COLUMNS} columns); choose a smaller --input, or use convmat.plot"
        )


def show(args) -> str:
    """The text ``convmat show`` prints."""
    if args.op == "conv":
        return _show_conv(args)
    if args.op in ("maxpool", "maxunpool"):
        return _show_max(args)
    if args.op == "avgpool":
        return _show_avgpool(args)
    return _show_unpool(args)


def _show_conv(args):
    from .convolution import conv_taps, conv_transpose_taps
    from .shapes import conv_output_shape, conv_transpose_output_shape

    size = args.input or (4,)
    n = len(size)
    kernel = _one(args.kernel or (3,), n, "kernel")
    kernel = (kernel,) if n == 1 else tuple(kernel)
    kw = dict(stride=_one(args.stride or (1,), n, "stride"),
              padding=_one(args.padding, n, "padding"),
              dilation=_one(args.dilation, n, "dilation"), groups=args.groups)
    in_shape = (args.channels, *size)
    if args.transpose:
        wshape = (args.channels, args.out_channels // args.groups, *kernel)
        kw["output_padding"] = _one(args.output_padding, n, "output_padding")
        out_shape = conv_transpose_output_shape(wshape, in_shape, **kw)
        _check_printable(out_shape, in_shape)
        taps = conv_transpose_taps(wshape, in_shape, **kw)
    else:
        if args.output_padding != (0,):
            raise UsageError("--output-padding applies to a transposed conv only "
                             "(add --transpose)")
        wshape = (args.out_channels, args.channels // args.groups, *kernel)
        out_shape = conv_output_shape(wshape, in_shape, **kw)
        _check_printable(out_shape, in_shape)
        taps = conv_taps(wshape, in_shape, **kw)
    n_w = math.prod(wshape)
    from .plot import default_tap_names, label_grid, tap_grid, tap_structure

    if args.weight is not None:
        if args.weight.size != n_w:
            raise UsageError(f"--weight must give {n_w} values for a weight of shape "
                             f"{wshape}, got {args.weight.size}")
        A = tap_structure(taps)
        grid = label_grid(A, [_num(v) for v in _entry_values(taps, args.weight)])
        filt = "[" + ", ".join(_num(v) for v in args.weight) + "]"
    else:
        names = default_tap_names(wshape, _parse_names(n_w, args.names))
        A, grid = tap_grid(taps, names)
        filt = ("[" + ", ".join(names) + "]" if names is not None and n_w <= 9
                else "w, taps by index")

    op = "conv_transpose" if args.transpose else "conv"
    call = ", ".join(f"{k}={_arg(v)}" for k, v in kw.items() if not _default(k, v))
    sig = f"{op}_matrix(w, {in_shape}" + (f", {call})" if call else ")")
    lines = [f"{op}: input {in_shape} -> output {tuple(out_shape)}, "
             f"weight {wshape}, filter {filt}",
             f"{sig}: {A.shape[0]}x{A.shape[1]}, {A.nnz} stored entries"]
    if args.transpose:
        back = ", ".join(f"{k}={_arg(v)}" for k, v in kw.items()
                         if k != "output_padding" and not _default(k, v))
        lines.append(f"= conv_matrix(w, {tuple(out_shape)}"
                     + (f", {back}" if back else "") + ").T" +
                     ("" if _default("output_padding", kw["output_padding"]) else
                      "  (when output_padding < stride)"))
    in_names = _input_names(in_shape)
    row_text = None
    if in_names is not None and args.weight is None:
        from .plot import row_products

        row_text = row_products(grid, in_names)
    lines += ["", format_matrix(grid, col_names=in_names, row_text=row_text)]
    if in_names is None:
        lines.append(f"\ncolumns: input positions of {in_shape}, rows: output positions of "
                     f"{tuple(out_shape)}, both flattened in C order")
    return "\n".join(lines)


def _entry_values(taps, weight):
    A = taps.matrix(weight.reshape(taps.weight_shape))
    return A.data


def _num(v) -> str:
    from .plot import format_value

    return format_value(v)


def _arg(v):
    return str(v)


def _default(key, value):
    defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "output_padding": 0}
    return np.all(np.asarray(value) == defaults[key])


def _pool_input(args, default_size):
    size = args.input or default_size
    shape = (args.channels, *size)
    if args.values is not None:
        if args.values.size != int(np.prod(shape)):
            raise UsageError(f"--values must give {int(np.prod(shape))} numbers for an input "
                             f"of shape {shape}, got {args.values.size}")
        return args.values.reshape(shape)
    if shape == (1, 4, 4):
        return SEED_MAP[None].copy()
    rng = np.random.default_rng(args.seed)
    return rng.integers(0, 10, size=shape).astype(float)


def _pool_kw(args, n, with_dilation=True):
    kernel = _one(args.kernel or (2,), n, "kernel")
    kw = dict(stride=_one(args.stride, n, "stride"), padding=_one(args.padding, n, "padding"))
    if with_dilation:
        kw["dilation"] = _one(args.dilation, n, "dilation")
    return kernel, kw


def _map_text(x, title):
    shape = x.shape
    flat = x.reshape(-1, shape[-1]) if x.ndim > 1 else x[None]
    width = max(len(_num(v)) for v in flat.ravel())
    rows = ["  " + " ".join(_num(v).rjust(width) for v in row) for row in flat]
    return f"{title} {tuple(shape)}:\n" + "\n".join(rows)


def _show_max(args):
    from .pooling import max_pool_selection
    from .shapes import max_unpool_output_shape, pool_output_shape

    in_shape = (args.channels, *(args.input or (4, 4)))
    kernel, kw = _pool_kw(args, len(in_shape) - 1)
    pooled_shape = pool_output_shape(in_shape, kernel, **kw)
    ukw = {k: v for k, v in kw.items() if k != "dilation"}
    if args.op == "maxpool":
        _check_printable(pooled_shape, in_shape)
    else:
        if np.any(np.asarray(kw.get("dilation", 1)) != 1):
            raise UsageError("--dilation is not an argument of max unpooling")
        _check_printable(max_unpool_output_shape(pooled_shape, kernel, **ukw), pooled_shape)
        n_in = math.prod(in_shape)
        if n_in > MAX_ROWS:  # the input map is printed too, and pooled first
            raise UsageError(f"the input map holds {n_in} values, too many to print (at "
                             f"most {MAX_ROWS}); choose a smaller --input")
    x = _pool_input(args, (4, 4))
    S, idx = max_pool_selection(x, kernel, **kw)
    pooled = (S @ x.ravel()).reshape(idx.shape)
    head = [_map_text(x, "input x"), ""]
    if args.op == "maxpool":
        return "\n".join(head + [
            f"max pooling, kernel {kernel}, {_kw_text(kw)}: the selection matrix S "
            f"({S.shape[0]}x{S.shape[1]}), one 1 per row at the window's maximum", "",
            format_matrix(_value_grid(S)), "",
            _map_text(pooled, "S @ x"), _map_text(np.asarray(idx), "indices")])
    from .unpooling import max_unpool_matrix

    U = max_unpool_matrix(idx, kernel, **ukw)
    return "\n".join(head + [
        _map_text(np.asarray(idx), "indices of its max pooling"), "",
        f"max unpooling, kernel {kernel}, {_kw_text(ukw)}: each pooled value goes back to "
        f"where its maximum came from ({U.shape[0]}x{U.shape[1]}; here = S.T)", "",
        format_matrix(_value_grid(U))])


def _kw_text(kw):
    return ", ".join(f"{k} {v}" for k, v in kw.items() if v is not None)


def _show_avgpool(args):
    from .pooling import avg_pool_matrix
    from .shapes import avg_pool_output_shape

    size = args.input or (4, 4)
    shape = (args.channels, *size)
    kernel, kw = _pool_kw(args, len(size), with_dilation=False)
    _check_printable(avg_pool_output_shape(shape, kernel, **kw), shape)
    P = avg_pool_matrix(shape, kernel, **kw)
    return "\n".join([
        f"average pooling of {shape}, kernel {kernel}, {_kw_text(kw)}: "
        f"{P.shape[0]}x{P.shape[1]}", "", format_matrix(_value_grid(P))])


def _show_unpool(args):
    size = args.input or (2, 2)
    shape = (args.channels, *size)
    scale = _one(args.scale, len(size), "scale")
    if args.op == "bed-of-nails":
        from .shapes import bed_of_nails_output_shape
        from .unpooling import bed_of_nails_matrix

        offset = _one(args.offset, len(size), "offset")
        _check_printable(bed_of_nails_output_shape(shape, scale, offset=offset), shape)
        A = bed_of_nails_matrix(shape, scale, offset=offset)
        what = "bed of nails: each value at one corner of its block, zeros elsewhere"
    else:
        from .shapes import interpolate_output_shape
        from .unpooling import interpolate_matrix

        mode = "nearest" if args.op == "nearest" else args.mode
        _check_printable(interpolate_output_shape(shape, scale_factor=scale, mode=mode), shape)
        A = interpolate_matrix(shape, scale_factor=scale, mode=mode)
        what = f"interpolate, mode {mode!r}"
    return "\n".join([f"{what}; input {shape}, scale {scale}: {A.shape[0]}x{A.shape[1]}",
                      "", format_matrix(_value_grid(A))])


# -- convmat figures ----------------------------------------------------------------------

def render_figures(out, *, dpi=120) -> list[Path]:
    """Render the seed article's figures into ``out``; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in FIGURES:
        fig = make()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        written.append(path)
    return written


def _fig_max_pool():
    from .plot import plot_before_after
    from .pooling import max_pool_selection

    S, idx = max_pool_selection(SEED_MAP[None], 2)
    pooled = (S @ SEED_MAP.ravel()).reshape(2, 2)
    chosen = np.zeros(16, bool)
    chosen[S.indices] = True
    return plot_before_after(SEED_MAP, pooled, highlight_before=chosen.reshape(4, 4),
                             block=(2, 2),
                             title="Max pooling 2\u00d72, stride 2: 4\u00d74 \u2192 2\u00d72 "
                                   "(S @ x keeps each window's maximum)")


def _fig_nearest():
    from .plot import plot_before_after
    from .unpooling import interpolate_matrix

    A = interpolate_matrix((1, 2, 2), scale_factor=2, mode="nearest")
    up = (A @ SEED_SMALL.ravel()).reshape(4, 4)
    return plot_before_after(SEED_SMALL, up, block=(2, 2),
                             title="Nearest-neighbour unpooling: 2\u00d72 \u2192 4\u00d74 "
                                   "(each value copied to its block)")


def _fig_bed_of_nails():
    from .plot import plot_before_after
    from .unpooling import bed_of_nails_matrix

    A = bed_of_nails_matrix((1, 2, 2), 2)
    up = (A @ SEED_SMALL.ravel()).reshape(4, 4)
    written = (np.diff(A.indptr) > 0).reshape(4, 4)  # the rows that hold an entry
    return plot_before_after(SEED_SMALL, up, block=(2, 2), highlight_after=written,
                             title="Bed of nails: 2\u00d72 \u2192 4\u00d74 "
                                   "(each value at its block's top-left corner, zeros elsewhere)")


def _fig_max_unpool():
    from .plot import plot_before_after
    from .pooling import max_pool_selection
    from .unpooling import max_unpool_matrix

    _, idx = max_pool_selection(SEED_MAP[None], 2)
    U = max_unpool_matrix(idx, 2)
    up = (U @ SEED_SMALL.ravel()).reshape(4, 4)
    written = np.zeros(16, bool)
    written[np.asarray(idx).ravel()] = True
    return plot_before_after(SEED_SMALL, up, block=(2, 2),
                             highlight_after=written.reshape(4, 4),
                             title="Max unpooling: 2\u00d72 \u2192 4\u00d74, each value where "
                                   "the max pooling found its window's maximum")


def _fig_transposed_1d(stride):
    def make():
        import matplotlib.pyplot as plt

        from .convolution import conv_transpose_taps
        from .plot import plot_taps

        taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=stride)
        n_out = taps.shape[0]
        fig, ax = plt.subplots(figsize=(5.2, 1.6 + 0.55 * n_out), layout="constrained")
        plot_taps(taps, "xyz", in_shape=(1, 2), out_shape=(1, n_out), in_names="ab", ax=ax,
                  title=f"1-D transposed conv, stride {stride}: inputs [a, b], filter "
                        f"[x, y, z]\n2 \u2192 {n_out} outputs, overlaps summed")
        return fig
    return make


def _fig_conv_and_transpose(stride, size):
    def make():
        from .plot import plot_transpose_pair

        return plot_transpose_pair(
            (1, 1, 3), (1, size), stride=stride, padding=1 if stride == 1 else 0,
            title=(f"The 3-tap filter [x, y, z] as a matrix C (stride {stride}"
                   f"{', padding 1' if stride == 1 else ''}) and C\u1d40, the transposed conv"))
    return make


def _fig_sparsity_1d():
    from .plot import plot_stride_comparison

    return plot_stride_comparison(
        (2, 2, 3), (2, 10), padding=1, in_names=None, annotate=False,
        title="Sparsity of conv_matrix, 1-D: 2 channels of length 10, kernel 3, padding 1 "
              "(lines: channel blocks)")


def _fig_sparsity_2d():
    from .plot import plot_stride_comparison

    return plot_stride_comparison(
        (1, 1, 3, 3), (1, 6, 6), padding=1,
        title="Sparsity of conv_matrix, 2-D: a 6\u00d76 image, kernel 3\u00d73, padding 1 "
              "(lines: image rows)")


def _fig_coverage(ndim):
    def make():
        import matplotlib.pyplot as plt

        from .plot import plot_coverage, suptitle

        size = (5,) if ndim == 1 else (4, 4)
        figsize = (11, 3.8) if ndim == 1 else (11, 6.6)
        fig, axes = plt.subplots(1, 2, figsize=figsize, layout="constrained")
        for ax, k in zip(axes, (3, 4)):
            plot_coverage(k, size, 2, ax=ax)
        suptitle(fig, f"Coverage of conv_transpose at stride 2 ({ndim}-D): kernel 3 "
                       "(not a multiple of 2) against kernel 4 (a multiple of 2)")
        return fig
    return make


def _fig_strided_conv():
    from .convolution import conv_matrix
    from .plot import plot_before_after

    w = np.ones((1, 1, 3, 3))
    C = conv_matrix(w, (1, 4, 4), stride=2, padding=1)
    y = (C @ SEED_MAP.ravel()).reshape(2, 2)
    return plot_before_after(SEED_MAP, y,
                             title="Strided convolution: 4\u00d74 \u2192 2\u00d72, all-ones "
                                   "3\u00d73 filter, stride 2 (needs padding 1)")


def _fig_transposed_2d():
    from .convolution import conv_transpose_matrix
    from .plot import plot_before_after

    w = np.ones((1, 1, 3, 3))
    T = conv_transpose_matrix(w, (1, 2, 2), stride=2, padding=1, output_padding=1)
    y = (T @ SEED_SMALL.ravel()).reshape(4, 4)
    return plot_before_after(SEED_SMALL, y,
                             title="Transposed convolution: 2\u00d72 \u2192 4\u00d74, all-ones "
                                   "3\u00d73 filter,\nstride 2, padding 1, output_padding 1 "
                                   "(overlaps summed)")


FIGURES = [
    ("01_max_pooling", _fig_max_pool),
    ("02_unpool_nearest", _fig_nearest),
    ("03_unpool_bed_of_nails", _fig_bed_of_nails),
    ("04_max_unpooling", _fig_max_unpool),
    ("05_strided_conv_2d", _fig_strided_conv),
    ("06_transposed_conv_2d", _fig_transposed_2d),
    ("07_transposed_conv_1d_stride2", _fig_transposed_1d(2)),
    ("08_transposed_conv_1d_stride1", _fig_transposed_1d(1)),
    ("09_conv_and_transpose_stride1", _fig_conv_and_transpose(1, 4)),
    ("10_conv_and_transpose_stride2", _fig_conv_and_transpose(2, 5)),
    ("11_sparsity_1d_stride1_vs_2", _fig_sparsity_1d),
    ("12_sparsity_2d_stride1_vs_2", _fig_sparsity_2d),
    ("13_coverage_1d", _fig_coverage(1)),
    ("14_coverage_2d", _fig_coverage(2)),
]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
