"""What ``convmat show`` prints: one small operation's matrix, as text.

Each operation is one :class:`ShowOp` of :data:`SHOW_OPS`: the handler that reads the
parsed options and returns the text (the matrix with each entry labelled by the filter
tap it holds or by its value, the output each row computes, and the maps), a summary, and
the options it takes. :mod:`convmat.cli` parses the command line and refuses the options an
operation does not take; numpy only, so that ``show`` starts fast.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

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

__all__ = ["SHOW_OPS", "ShowOp"]

#: The largest matrix ``show`` prints, so that it fits a terminal.
MAX_COLUMNS = 64
MAX_ROWS = 256


class UsageError(Exception):
    """A bad combination of arguments: reported like an argparse error (exit status 2)."""


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
