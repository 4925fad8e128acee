"""Views of a convolution's matrix beside another: the same filter at several strides
(:func:`plot_stride_comparison`), and a convolution ``C`` beside its transpose
(:func:`plot_transpose_pair`). Every panel of a view has the same cell size, so that two
matrices compare cell for cell; the public functions are imported from
:mod:`convmat.plot`.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
from matplotlib.patches import Rectangle

from ._args import as_bool, as_output_size, as_shape, as_tuple, is_int
from .convolution import conv_taps, conv_transpose_taps
from .labels import (
    as_flag,
    as_names,
    as_text,
    call_text,
    colour_indices,
    default_tap_names,
    describe_geometry,
    dims,
    format_arg,
    input_letters,
    position_names,
    shown,
    tap_grid,
    weight_shape_of,
)
from .plot_layout import (
    LINKS,
    PALETTE,
    Panel,
    draw_cell,
    grid_axes,
    new_axes_row,
    place_rows,
    suptitle,
)
from .plot_matrices import CELL_FONT, conv_panels, plot_taps
from .plot_mechanism import MAX_SIDE, draw_windows, grid_pair
from .shapes import conv_output_shape, conv_transpose_output_shape

__all__ = ["plot_stride_comparison", "plot_transpose_pair"]

#: The most strides :func:`plot_stride_comparison` draws side by side, a panel each.
MAX_PANELS = 8


def _draw(axes, entries, names, annotate, *, legend_last=True):
    for i, (a, e) in enumerate(zip(axes, entries)):
        taps, _, in_shape, out_shape, in_names, out_names, panel_title = e
        plot_taps(taps, names, in_shape=in_shape, out_shape=out_shape, in_names=in_names,
                  out_names=out_names, ax=a, annotate=annotate,
                  legend=legend_last and i == len(entries) - 1, title=panel_title)


def _as_strides(strides, n):
    """``strides``: a sequence of 1 to ``MAX_PANELS`` strides (each an int or a tuple of
    ``n`` ints, positive), each error naming ``strides``."""
    if isinstance(strides, np.ndarray) and strides.ndim == 1:
        strides = strides.tolist()
    if not isinstance(strides, (list, tuple)) or not 1 <= len(strides) <= MAX_PANELS:
        raise (ValueError if isinstance(strides, (list, tuple)) else TypeError)(
            f"strides must be a sequence of 1 to {MAX_PANELS} strides (a panel each), got "
            f"strides={shown(strides)}")
    for i, s in enumerate(strides):
        if not (is_int(s) or isinstance(s, (list, tuple)) and all(is_int(v) for v in s)):
            raise TypeError(f"strides[{i}] must be an integer or a tuple of integers, got "
                            f"strides={shown(strides)}")
        as_tuple(s, n if 1 <= n <= 3 else len(np.atleast_1d(s)), f"strides[{i}]",
                 at_least=1)
    return list(strides)


def _input_names(in_names, input_shape):
    """``"auto"``: ``a, b, ...`` for a short 1-D input; else ``None`` or the names given,
    one per input position."""
    if isinstance(in_names, str) and in_names == "auto":
        return input_letters(input_shape, at_most=8)
    return as_names(in_names, "in_names", math.prod(input_shape))


def plot_stride_comparison(weight, input_shape, *, strides=(1, 2), transpose=False,
                           padding=0, dilation=1, names=None, in_names="auto",
                           annotate=None, title=None, ax=None):
    """The same filter at several strides, every matrix drawn with the same cell size.

    With ``transpose``, a 3-tap filter and a 2-element input, these are the article's
    1-D transposed convolutions: 2 -> 4 at stride 1 and 2 -> 5 at stride 2. Matrices
    wider than tall (convolutions) are stacked, their columns (the same input) aligned;
    taller ones (transposed convolutions) stand side by side, their first rows aligned.

    Parameters
    ----------
    weight : array_like or tuple of int
        The filter (or just its shape), in torch's layout for the chosen operation.
    input_shape : tuple of int
        ``(C, *spatial)`` of the input sample.
    strides : sequence
        One panel per stride (default 1 and 2), at most ``MAX_PANELS`` = 8.
    transpose : bool
        Transposed convolutions (``conv_transpose_matrix``) instead of convolutions.
    padding, dilation :
        As for the builders, shared by every panel.
    names : sequence of str, optional
        Filter tap names (default ``"xyz"`` for a 3-tap filter).
    in_names : sequence of str or "auto"
        Input names; ``"auto"`` names a short 1-D input ``a, b, ...`` and writes each
        row's output; ``None`` writes nothing.
    annotate : bool, optional
        Write tap names in the cells (default: when every matrix is at most 30 x 30).
    title : str, optional
    ax : sequence of Axes, optional
        One per stride.

    Returns
    -------
    matplotlib.figure.Figure
    """
    title = as_text(title, "title")
    wshape = weight_shape_of(weight, "weight")
    input_shape = as_shape(input_shape, "input_shape")
    strides = _as_strides(strides, len(wshape) - 2)
    transpose = as_bool(transpose, "transpose")
    annotate = as_flag(annotate, "annotate")
    names = as_names(names, "names", math.prod(wshape))
    in_names = _input_names(in_names, input_shape)
    entries = []
    for s in strides:
        kw = dict(stride=s, padding=padding, dilation=dilation)
        if transpose:
            taps = conv_transpose_taps(wshape, input_shape, **kw)
            out_shape = conv_transpose_output_shape(wshape, input_shape, **kw)
        else:
            taps = conv_taps(wshape, input_shape, **kw)
            out_shape = conv_output_shape(wshape, input_shape, **kw)
        entries.append((taps, False, input_shape, out_shape, in_names, None,
                        f"stride {format_arg(s)}: {dims(input_shape[1:])} \u2192 "
                        f"{dims(out_shape[1:])}"))
    if title is None:
        op = "conv_transpose" if transpose else "conv"
        title = (f"{op}, kernel {dims(wshape[2:])}, padding {format_arg(padding)}: the same "
                 f"filter at stride {' and '.join(format_arg(s) for s in strides)}")
    vertical = all(t.shape[0] <= t.shape[1] for t, *_ in entries)
    panels, _, annotate = conv_panels(entries, names, annotate=annotate, vertical=vertical)
    if ax is None:
        fig, axes = place_rows([[p] for p in panels] if vertical else [panels], title=title,
                               stacked=vertical)
    else:
        fig, axes = new_axes_row(ax, len(entries), None)
        suptitle(fig, title)
    _draw(axes, entries, names, annotate)
    return fig


# --------------------------------------------------------------------------- C and C.T
def _matching_output_padding(wshape, input_shape, out_shape, kw, output_padding,
                             output_size):
    """The output_padding with which conv_transpose maps ``out_shape`` back to
    ``input_shape`` (C.T is that transposed convolution and no other); a different one
    given is refused, naming the one needed."""
    spatial = tuple(input_shape[1:])
    base = conv_transpose_output_shape(wshape, out_shape, **kw)[1:]
    needed = tuple(a - b for a, b in zip(spatial, base))
    if output_padding is not None and output_size is not None:
        raise ValueError("give output_padding or output_size, not both, got "
                         f"output_padding={output_padding!r} and output_size={output_size!r}")
    if output_size is not None:
        if as_output_size(output_size, len(spatial), leading=(1, 2)) != spatial:
            raise ValueError(
                f"output_size={shown(output_size)} must be the input's spatial shape "
                f"{spatial}: only the transposed convolution back to the input is C.T")
        return needed, base
    if output_padding is None:
        return needed, base
    given = as_tuple(output_padding, len(spatial), "output_padding", at_least=0)
    if given != needed:
        reached = tuple(b + g for b, g in zip(base, given))
        raise ValueError(
            f"output_padding={output_padding!r} maps the convolution's output "
            f"{dims(out_shape[1:])} to {dims(reached)}, not back to the input's "
            f"{dims(spatial)}: C.T is conv_transpose_matrix with "
            f"output_padding={format_arg(_compact(needed))}")
    return needed, base


def _link(ax_c, ax_t, n_out, n_in, labelled):
    """Row i of C and column i of C.T framed in the same colour (and their names)."""
    for i in range(n_out):
        colour = LINKS[i % len(LINKS)]
        ax_c.add_patch(Rectangle((-0.45, i - 0.45), n_in - 0.1, 0.9, fill=False,
                                 edgecolor=colour, linewidth=2.4, zorder=4))
        ax_t.add_patch(Rectangle((i - 0.45, -0.45), 0.9, n_in - 0.1, fill=False,
                                 edgecolor=colour, linewidth=2.4, zorder=4))
    if labelled:
        rows = ax_c.get_yticklabels()
        cols = ax_t.get_xticklabels()
        texts = [t for child in ax_c.child_axes for t in child.get_yticklabels()]
        for group in (rows, cols, texts):
            for i, t in enumerate(group[:n_out]):
                t.set_color(LINKS[i % len(LINKS)])
                t.set_fontweight("bold")


def plot_transpose_pair(weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                        output_padding=None, output_size=None, names=None, in_names="auto",
                        title=None, ax=None):
    """A convolution's matrix ``C`` beside its transpose ``C.T``, the transposed conv.

    ``C`` maps ``input_shape`` to the convolution's output; ``C.T`` maps that output back
    to ``input_shape``. ``C.T`` equals ``conv_transpose_matrix`` of the same weight,
    stride, padding, dilation and groups only with the ``output_padding`` that maps the
    convolution's output back to the input's shape: the convolution's size formula
    rounds down, so several input sizes give the same output, and ``output_padding``
    says which one to go back to. A 4x4 input at stride 2 and padding 1 (kernel 3) gives
    a 2x2 output; ``conv_transpose`` maps 2x2 back to 3x3 with ``output_padding=0`` and
    to 4x4 with ``output_padding=1``, so that pair needs ``output_padding=1``. The right
    panel is drawn from ``conv_transpose_taps`` with that ``output_padding``, not by
    transposing the left one. Entries are labelled by filter tap (``x, y, z`` for a
    3-tap filter); row ``i`` of ``C`` and column ``i`` of ``C.T`` are framed in the same
    colour. When ``C`` is wider than tall, ``C.T`` goes below it, beside the padded input
    with the window each row of ``C`` reads, in that row's colour.

    Parameters
    ----------
    weight : array_like or tuple of int
        The convolution's weight ``(C_out, C_in // groups, *kernel)`` or its shape.
    input_shape : tuple of int
        ``(C_in, *spatial)``.
    stride, padding, dilation, groups :
        As for :func:`~convmat.conv_matrix`.
    output_padding : int or tuple of int, optional
        The transposed convolution's ``output_padding``. Default: the one that maps back
        to ``input_shape``; any other is refused with a ``ValueError`` naming it.
    output_size : tuple of int, optional
        Instead of ``output_padding``, torch's ``output_size``: the input's spatial shape.
    names : sequence of str, optional
        Filter tap names.
    in_names : "auto", sequence of str or None
        Names of the convolution's inputs (``"auto"``: ``a, b, ...`` for a short 1-D
        input); its outputs, the inputs of ``C.T``, are then named ``p, q, r, ...``.
    title : str, optional
        Default: the geometry, and the call to ``conv_transpose_matrix`` that is ``C.T``.
    ax : pair of Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    Four inputs at stride 2 and padding 1 give two outputs, which ``conv_transpose``
    maps back to four only with ``output_padding=1``:

    >>> fig = plot_transpose_pair((1, 1, 3), (1, 4), stride=2, padding=1)
    >>> "output_padding=1" in fig.get_suptitle()
    True
    >>> plot_transpose_pair((1, 1, 3), (1, 4), stride=2, padding=1,
    ...                     output_padding=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: output_padding=0 maps the convolution's output 2 to 3, not back to the ...
    """
    title = as_text(title, "title")
    wshape = weight_shape_of(weight, "weight")
    input_shape = as_shape(input_shape, "input_shape")
    names = as_names(names, "names", math.prod(wshape))
    in_names = _input_names(in_names, input_shape)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    taps = conv_taps(wshape, input_shape, **kw)
    out_shape = conv_output_shape(wshape, input_shape, **kw)
    op, base = _matching_output_padding(wshape, input_shape, out_shape, kw, output_padding,
                                        output_size)
    t_kw = dict(output_size=output_size) if output_size is not None else \
        dict(output_padding=op)
    t_taps = conv_transpose_taps(wshape, out_shape, **kw, **t_kw)
    n_out, n_in = taps.shape
    t_names = list("pqrstuvw"[:n_out]) if in_names and n_out <= 8 else None
    entries = [
        (taps, False, input_shape, out_shape, in_names, t_names,
         f"C: conv, {dims(input_shape[1:])} \u2192 {dims(out_shape[1:])}"),
        (t_taps, False, out_shape, input_shape, t_names, None,
         f"C\u1d40: conv_transpose, {dims(out_shape[1:])} \u2192 {dims(input_shape[1:])}"),
    ]
    if title is None:
        call = call_text("conv_transpose_matrix", out_shape, stride=stride, padding=padding,
                         output_padding=_compact(op), dilation=dilation, groups=groups)
        title = (f"C, a convolution (kernel {dims(wshape[2:])}, "
                 f"{describe_geometry(stride, padding, dilation)}), and its transpose "
                 f"C\u1d40\nC\u1d40 = {call}\nrow i of C is column i of C\u1d40 (same colour)")
    panels, _, annotate = conv_panels(entries, names)
    reading = _reading_geometry(wshape, input_shape, kw) if n_out < n_in else None
    if ax is not None:
        fig, axes = new_axes_row(ax, 2, None)
        suptitle(fig, title)
    elif reading is None:
        fig, axes = place_rows([panels], title=title)
    else:
        cell = panels[0].width / n_in
        (padded_rows, padded_cols), kernel = reading[1], reading[2][0]
        grid = Panel(padded_cols * cell, padded_rows * cell, left=0.8, right=0.3,
                     above=0.8, below=0.9)
        filt = Panel(kernel[1] * cell, kernel[0] * cell, left=0.6, right=0.3, above=0.8)
        # The filter goes into the narrower row, so that no corner of the figure is empty.
        top, bottom = [panels[0]], [panels[1], grid]
        filter_on_top = _row_width(top) <= _row_width(bottom)
        (top if filter_on_top else bottom).append(filt)
        # figure.axes in the order C, C.T, the input, the filter, wherever they stand
        fig, axes = place_rows([top, bottom], title=title,
                               order=(0, 2, 3, 1) if filter_on_top else (0, 1, 2, 3))
    _draw(axes, entries, names, annotate)
    _link(axes[0], axes[1], n_out, n_in, annotate)
    if reading is not None and ax is None:
        texts, _, geometry = reading
        spatial = input_shape[1:]
        what = f"the input {dims(spatial)}" if len(spatial) > 1 else \
            f"the input of length {spatial[0]}"
        where = " in its padding" if any(geometry[2]) else ""
        draw_windows(axes[2], texts, *geometry,
                     f"{what}{where}\nrow i of C reads the window of its colour")
        _draw_filter(axes[3], taps, names, geometry[0])
        if any(op):
            axes[2].annotate(_why_output_padding(op, base, out_shape, input_shape, stride),
                             xy=(0, 0), xycoords="axes fraction", xytext=(0, -75),
                             textcoords="offset points", va="top", fontsize=10)
    return fig


def _compact(values):
    """``1`` for ``(1, 1)``: one value when every axis has the same."""
    return values[0] if len(set(values)) == 1 else values


def _row_width(row):
    return sum(p.left + p.width + p.right for p in row)


def _why_output_padding(op, base, out_shape, input_shape, stride):
    """Why ``C.T`` needs an ``output_padding``: the sizes that collapse to one."""
    op_text = format_arg(_compact(op))
    return textwrap.fill(
        f"Why output_padding={op_text}: at stride {format_arg(stride)}, the convolution "
        f"maps {dims(base)} and {dims(input_shape[1:])} inputs alike to "
        f"{dims(out_shape[1:])}; conv_transpose goes back to {dims(base)} by default, and "
        f"output_padding={op_text} extends it at the end of each axis up to "
        f"{dims(input_shape[1:])}, the shape C\u1d40 maps to.", 52)


def _draw_filter(ax, taps, names, kernel):
    """The filter's taps laid out as the kernel, in the colours the matrices give them."""
    _, grid = tap_grid(taps, names)
    cats = colour_indices(grid)
    flat = list(default_tap_names(taps.weight_shape, names))
    grid_axes(ax, *kernel, "the filter's taps")
    for k, (r, c) in enumerate(np.ndindex(tuple(kernel))):
        face = PALETTE[cats[flat[k]] % len(PALETTE)] if flat[k] in cats else "white"
        draw_cell(ax, r, c, face, flat[k], size=CELL_FONT)


def _reading_geometry(wshape, input_shape, kw):
    """``(texts, padded shape, (kernel, stride, padding, dilation))`` of the padded input
    drawn beside a wide ``C``, as ``(rows, columns)`` pairs; ``None`` where it would not
    help (several channels or groups, 3-D, large maps, a padding mode string)."""
    spatial = input_shape[1:]
    ndim = len(spatial)
    if (wshape[0], input_shape[0], kw["groups"]) != (1, 1, 1) or ndim > 2 \
            or isinstance(kw["padding"], str):
        return None
    kernel = grid_pair(tuple(wshape[2:]), ndim, "kernel")
    s, p, d = (grid_pair(kw[n], ndim, n) for n in ("stride", "padding", "dilation"))
    padded = (spatial[0] + 2 * p[0], spatial[-1] + 2 * p[1]) if ndim == 2 else \
        (1, spatial[0] + 2 * p[1])
    if max(padded) > MAX_SIDE:
        return None
    names = input_letters(input_shape, at_most=8) or position_names(input_shape,
                                                                    int(np.prod(spatial)))
    texts = np.array(names, dtype=object).reshape(padded[0] - 2 * p[0],
                                                   padded[1] - 2 * p[1])
    return texts, padded, (kernel, s, p, d)
