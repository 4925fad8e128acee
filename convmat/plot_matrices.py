"""Pictures of one matrix: its sparsity pattern, and its entries labelled by filter tap.

Small matrices are drawn cell by cell, each stored entry labelled by what it holds (a
filter tap such as ``x``, ``y``, ``z``, or its value); large ones as a sparsity pattern.
Lines separate the channel blocks, and for 2-D and 3-D inputs the image-row blocks, of the
C-order flattening ``(C, *spatial)``. The public functions are imported from
:mod:`convmat.plot`; this module also holds the figure helpers the other pictures share.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from scipy.sparse import csr_array, issparse

from .convolution import TapPattern, conv_taps, conv_transpose_taps
from .labels import (
    axis_caption,
    block_boundaries,
    colour_indices,
    describe_geometry,
    dims,
    format_arg,
    input_letters,
    label_grid,
    position_names,
    row_products,
    tap_grid,
    weight_shape_of,
)
from .shapes import conv_output_shape, conv_transpose_output_shape

__all__ = ["plot_sparsity", "plot_stride_comparison", "plot_taps", "plot_transpose_pair"]

#: Matrices up to this many rows and columns are drawn cell by cell, with labels.
SMALL = 30
#: Dense rendering up to this many cells; beyond it stored entries are drawn as points.
DENSE_CELLS = 4_000_000

# Pastel colours, so that black text stays readable on every cell; one per label.
PALETTE = ["#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99",
           "#8dd3c7", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"]
#: The colour of a stored entry in an unlabelled sparsity pattern.
PATTERN_COLOUR = "#3b6ea5"


def _pyplot():
    # Imported lazily: importing convmat must not choose a matplotlib backend.
    import matplotlib.pyplot as plt

    return plt


def new_axes(ax, size):
    """``ax``, or the Axes of a new figure of ``size`` inches."""
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=size, layout="constrained")
    return ax


def new_axes_row(ax, n, size, width_ratios=None):
    """``(figure, [n Axes])``: those of ``ax``, or a new row of ``n`` panels."""
    if ax is not None:
        axes = list(np.ravel(ax))
        if len(axes) != n:
            raise ValueError(f"ax must hold {n} Axes for this view, got {len(axes)}")
        return axes[0].figure, axes
    fig, axes = _pyplot().subplots(1, n, figsize=size, layout="constrained",
                                   width_ratios=width_ratios)
    return fig, list(np.ravel(axes))


def suptitle(fig, text, fontsize=12):
    """A figure title, wrapped to the figure's width so that no word is cut off."""
    chars = max(30, int(fig.get_figwidth() * 72 / (0.58 * fontsize)))
    lines = [textwrap.fill(line, chars) for line in str(text).splitlines()]
    fig.suptitle("\n".join(lines), fontsize=fontsize)


def _as_csr(A):
    if issparse(A):
        return csr_array(A)
    arr = np.asarray(A)
    if arr.ndim != 2:
        raise ValueError(f"A must be a 2-D matrix, got an array of shape {arr.shape}")
    return csr_array(arr)


def _check_shape(shape, n, what):
    if shape is None:
        return None
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if int(np.prod(shape)) != n:
        raise ValueError(
            f"{what}={shape} holds {int(np.prod(shape))} elements, but the matrix has {n} "
            f"{'columns' if what == 'in_shape' else 'rows'}"
        )
    return shape



def _draw_cells(ax, grid, fontsize=None):
    """The matrix drawn cell by cell: coloured by label, the label written in it."""
    n_rows, n_cols = grid.shape
    cats = colour_indices(grid)
    rgba = np.ones((n_rows, n_cols, 4))
    for (r, c), lab in np.ndenumerate(grid):
        if lab:
            rgba[r, c] = mcolors.to_rgba(PALETTE[cats[lab] % len(PALETTE)])
    ax.imshow(rgba, interpolation="nearest", aspect="equal")
    ax.set_xticks(np.arange(-0.5, n_cols), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows), minor=True)
    ax.grid(which="minor", color="0.85", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    longest = max((len(lab) for lab in grid.ravel()), default=1)
    if fontsize is None:  # fill about half a cell, from the Axes' size before layout
        box = ax.get_position()
        fig_w, fig_h = ax.figure.get_size_inches()
        cell = min(box.width * fig_w * 72 / n_cols, box.height * fig_h * 72 / n_rows)
        fontsize = float(np.clip(0.55 * cell / max(1.0, 0.6 * longest), 5, 12))
    size = fontsize
    for (r, c), lab in np.ndenumerate(grid):
        if lab:
            ax.text(c, r, lab, ha="center", va="center", fontsize=size)


def _draw_pattern(ax, A, grid_colours=None):
    """A large matrix: its stored entries as a pattern (coloured by tap if given)."""
    n_rows, n_cols = A.shape
    rows = np.repeat(np.arange(n_rows), np.diff(A.indptr))
    if n_rows * n_cols <= DENSE_CELLS:
        rgba = np.ones((n_rows, n_cols, 4))
        if grid_colours is None:
            rgba[rows, A.indices] = mcolors.to_rgba(PATTERN_COLOUR)
        else:
            rgba[rows, A.indices] = [mcolors.to_rgba(PALETTE[k % len(PALETTE)])
                                     for k in grid_colours]
        ax.imshow(rgba, interpolation="nearest" if max(A.shape) <= 600 else "antialiased",
                  aspect="equal")
    else:
        ax.plot(A.indices, rows, ",", color=PATTERN_COLOUR)
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(n_rows - 0.5, -0.5)
        ax.set_aspect("equal")


def plot_sparsity(A, *, in_shape=None, out_shape=None, labels=None, annotate=None,
                  in_names=None, out_names=None, row_text=None, legend=True, title=None,
                  ax=None):
    """Draw the sparsity pattern of a convmat matrix.

    Parameters
    ----------
    A : sparse matrix or array, shape (n_out, n_in)
        Any builder's matrix (rows: output positions, columns: input positions).
    in_shape, out_shape : tuple of int, optional
        The sample shapes ``(C, *spatial)`` the columns and rows flatten. With them, lines
        separate channel blocks (thick) and image-row blocks (thin), and the axes say
        which flattening they follow.
    labels : sequence of str or 2-D array of str, optional
        What to write in each stored entry: one label per stored entry in canonical CSR
        order (as :meth:`TapPattern.tap_labels` returns), or a grid of ``A``'s shape.
        By default small matrices show their values.
    annotate : bool, optional
        Draw cell by cell with the labels written in (default: when both sides have at
        most ``SMALL`` = 30 positions).
    in_names, out_names : sequence of str, optional
        Tick labels for the columns and rows (default: their position indices).
    row_text : sequence of str, optional
        A text to the right of each row, e.g. the output it computes (``az+bx``).
    legend : bool
        For a large labelled matrix, a legend of the label colours.
    title : str, optional
        Defaults to the matrix's shape and number of stored entries.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    A = _as_csr(A)
    A.sum_duplicates()
    n_rows, n_cols = A.shape
    in_shape = _check_shape(in_shape, n_cols, "in_shape")
    out_shape = _check_shape(out_shape, n_rows, "out_shape")
    if row_text is not None:
        row_text = list(row_text)
        if len(row_text) != n_rows:
            raise ValueError(f"row_text must give one text per row ({n_rows}), got "
                             f"{len(row_text)}")
    if annotate is None:
        annotate = max(n_rows, n_cols) <= SMALL
    if annotate:
        size = (min(14, 1.6 + 0.5 * n_cols + (1.4 if row_text is not None else 0)),
                min(12, 1.5 + 0.45 * n_rows))
    else:
        aspect = n_rows / max(n_cols, 1)
        size = (6.5, max(2.5, min(10, 1.6 + 5 * aspect)))
    ax = new_axes(ax, size)
    if annotate:
        _draw_cells(ax, label_grid(A, labels))
    else:
        _draw_labelled_pattern(ax, A, labels, legend)
    _draw_block_lines(ax, in_shape, out_shape)
    _set_ticks(ax.xaxis, n_cols, in_shape, in_names, annotate)
    _set_ticks(ax.yaxis, n_rows, out_shape, out_names, annotate)
    if annotate and n_cols > 8 and in_names is None and in_shape is not None \
            and len(in_shape) > 2:
        ax.tick_params(axis="x", labelrotation=90)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(axis_caption("input", in_shape) + " (column)", fontsize=9)
    ax.set_ylabel(axis_caption("output", out_shape) + " (row)", fontsize=9)
    if row_text is not None:
        right = ax.secondary_yaxis("right")
        right.set_yticks(np.arange(n_rows), labels=row_text)
        right.tick_params(length=0, labelsize=10)
    if title is None:
        title = f"Sparsity pattern: {n_rows}\u00d7{n_cols} matrix, {A.nnz} stored entries"
    ax.set_title(title, fontsize=11)
    return ax


def _draw_labelled_pattern(ax, A, labels, legend):
    """A large matrix as a pattern, its entries coloured by label (with a legend)."""
    colours = None
    if labels is not None:
        grid = label_grid(A, labels)
        cats = colour_indices(grid)
        rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
        colours = [cats[lab] for lab in grid[rows, A.indices]]
        if legend and len(cats) <= len(PALETTE):
            ax.legend(handles=[Patch(color=PALETTE[i], label=lab) for lab, i in cats.items()],
                      loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title="tap",
                      frameon=False)
    _draw_pattern(ax, A, colours)


def _draw_block_lines(ax, in_shape, out_shape):
    """Lines between the channel blocks (thick) and image-row blocks (thin)."""
    for bounds, width in block_boundaries(in_shape):
        for b in bounds:
            ax.axvline(b - 0.5, color="0.25", linewidth=width)
    for bounds, width in block_boundaries(out_shape):
        for b in bounds:
            ax.axhline(b - 0.5, color="0.25", linewidth=width)


def _set_ticks(axis, n, shape, names, annotate):
    if names is not None:
        names = list(names)
        if len(names) != n:
            raise ValueError(f"expected {n} tick names, got {len(names)}")
        axis.set_ticks(np.arange(n), labels=names)
    elif annotate:
        axis.set_ticks(np.arange(n), labels=position_names(shape, n))
    elif shape is not None and shape[0] > 1:
        block = n // shape[0]
        axis.set_ticks(np.arange(shape[0]) * block + (block - 1) / 2,
                       labels=[f"c={c}" for c in range(shape[0])])
    else:
        axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_tick_params(length=0 if annotate else 3.5)


def plot_taps(taps: TapPattern, names=None, *, in_shape=None, out_shape=None,
              transpose=False, in_names=None, products=None, annotate=None, legend=True,
              title=None, ax=None):
    """Draw a convolution's matrix with each entry labelled by the filter tap it holds.

    Parameters
    ----------
    taps : TapPattern
        From :func:`~convmat.conv_taps` or :func:`~convmat.conv_transpose_taps`.
    names : sequence of str, optional
        One name per weight in flat C order, like ``"xyz"`` for the article's filter
        ``[x, y, z]`` (the default for a 3-tap filter); otherwise ``w[o,c,k]``.
    in_shape, out_shape : tuple of int, optional
        Sample shapes of the columns and rows (of the transpose, with ``transpose``).
    transpose : bool
        Draw ``C.T`` instead of ``C`` (the transposed convolution).
    in_names : sequence of str, optional
        Names of the inputs, like ``"ab"``; with ``products`` each row is followed by
        the output it computes, like ``= az + bx``.
    products : bool, optional
        Write each row's output (default: when ``in_names`` is given).
    annotate : bool, optional
        Write the tap names in the cells (default: matrices up to 30 x 30); otherwise
        the taps are told apart by colour, with a legend.
    legend : bool
        When the tap names are not written in, a legend of the tap colours.
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(taps, TapPattern):
        raise TypeError(f"taps must be a TapPattern (from conv_taps), got "
                        f"{type(taps).__name__}")
    A, grid = tap_grid(taps, names)
    if transpose:
        A, grid = A.T.tocsr(), grid.T
    if products is None:
        products = in_names is not None
    row_text = None
    if products:
        if in_names is None:
            in_names = position_names(in_shape, A.shape[1])
            in_names = [f"in[{n}]" for n in in_names]
        row_text = row_products(grid, list(in_names))
    if title is None:
        what = "C\u1d40" if transpose else "C"
        title = f"{what}: {A.shape[0]}\u00d7{A.shape[1]}, entries labelled by filter tap"
    if annotate is None:
        annotate = max(A.shape) <= SMALL
    return plot_sparsity(A, in_shape=in_shape, out_shape=out_shape, labels=grid,
                         annotate=annotate, in_names=in_names if annotate else None,
                         row_text=row_text if annotate else None,
                         legend=legend, title=title, ax=ax)


def plot_stride_comparison(weight, input_shape, *, strides=(1, 2), transpose=False,
                           padding=0, dilation=1, names=None, in_names="auto",
                           annotate=None, title=None, ax=None):
    """The same filter at several strides, side by side.

    With ``transpose``, a 3-tap filter and a 2-element input, these are the article's
    1-D transposed convolutions: 2 -> 4 at stride 1 and 2 -> 5 at stride 2.

    Parameters
    ----------
    weight : array_like or tuple of int
        The filter (or just its shape), in torch's layout for the chosen operation.
    input_shape : tuple of int
        ``(C, *spatial)`` of the input sample.
    strides : sequence
        One panel per stride (default 1 and 2).
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
    wshape = weight_shape_of(weight)
    input_shape = tuple(input_shape)
    if in_names == "auto":
        in_names = input_letters(input_shape, at_most=8)
    panels = []
    for s in strides:
        kw = dict(stride=s, padding=padding, dilation=dilation)
        if transpose:
            taps = conv_transpose_taps(wshape, input_shape, **kw)
            out_shape = conv_transpose_output_shape(wshape, input_shape, **kw)
        else:
            taps = conv_taps(wshape, input_shape, **kw)
            out_shape = conv_output_shape(wshape, input_shape, **kw)
        panels.append((s, taps, out_shape))
    small = max(max(t.shape) for _, t, _ in panels) <= SMALL if annotate is None \
        else annotate
    widths = [t.shape[1] + (3 if small and in_names else 0) for _, t, _ in panels]
    height = max(t.shape[0] for _, t, _ in panels)
    if small:
        size = (min(16, 1.5 * len(panels) + 0.55 * sum(widths)), min(10, 2 + 0.5 * height))
    else:
        size = (6 * len(panels), 6)
    fig, axes = new_axes_row(ax, len(panels), size)
    op = "conv_transpose" if transpose else "conv"
    for i, (a, (s, taps, out_shape)) in enumerate(zip(axes, panels)):
        plot_taps(taps, names, in_shape=input_shape, out_shape=out_shape,
                  in_names=in_names, ax=a, legend=i == len(panels) - 1, annotate=small,
                  title=f"stride {format_arg(s)}: {dims(input_shape[1:])} \u2192 "
                        f"{dims(out_shape[1:])}")
    if title is None:
        kernel = dims(wshape[2:])
        title = (f"{op}, kernel {kernel}, padding {format_arg(padding)}: the same filter at "
                 f"stride {' and '.join(format_arg(s) for s in strides)}")
    suptitle(fig, title)
    return fig


def plot_transpose_pair(weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                        names=None, in_names="auto", title=None, ax=None):
    """A convolution's matrix ``C`` beside its transpose ``C.T`` (the transposed conv).

    ``C`` maps ``input_shape`` to the convolution's output; ``C.T`` maps that output back
    to ``input_shape`` and equals ``conv_transpose_matrix`` of the same weight, stride,
    padding and dilation. Entries are labelled by filter tap (``x, y, z`` for a 3-tap
    filter).

    Parameters
    ----------
    weight : array_like or tuple of int
        The convolution's weight ``(C_out, C_in // groups, *kernel)`` or its shape.
    input_shape : tuple of int
        ``(C_in, *spatial)``.
    stride, padding, dilation, groups :
        As for :func:`~convmat.conv_matrix`.
    names : sequence of str, optional
        Filter tap names.
    in_names : "auto", sequence of str or None
        Names of the convolution's inputs (``"auto"``: ``a, b, ...`` for a short 1-D
        input); the transpose's inputs, the convolution's outputs, are then named
        ``p, q, r, ...``.
    title : str, optional
    ax : pair of Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    wshape = weight_shape_of(weight)
    input_shape = tuple(input_shape)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    taps = conv_taps(wshape, input_shape, **kw)
    out_shape = conv_output_shape(wshape, input_shape, **kw)
    if in_names == "auto":
        in_names = input_letters(input_shape, at_most=8)
    n_out, n_in = taps.shape
    small = max(taps.shape) <= SMALL
    if small:
        size = (min(16, 4 + 0.55 * (n_in + n_out) + (3 if in_names else 0)),
                min(10, 2.2 + 0.5 * max(n_in, n_out)))
    else:
        size = (12, 6)
    fig, axes = new_axes_row(ax, 2, size,
                             width_ratios=[n_in + (3 if in_names else 0), n_out + 3]
                             if small and ax is None else None)
    plot_taps(taps, names, in_shape=input_shape, out_shape=out_shape, in_names=in_names,
              ax=axes[0], title=f"C: conv, {dims(input_shape[1:])} \u2192 "
                                f"{dims(out_shape[1:])}")
    # The transpose's inputs are the convolution's outputs: other letters than a, b, ...
    t_names = list("pqrstuvw"[:n_out]) if in_names and n_out <= 8 else None
    plot_taps(taps, names, in_shape=out_shape, out_shape=input_shape, transpose=True,
              in_names=t_names, ax=axes[1],
              title=f"C\u1d40: conv_transpose, {dims(out_shape[1:])} \u2192 "
                    f"{dims(input_shape[1:])}")
    if title is None:
        title = (f"A convolution and its transpose: kernel {dims(wshape[2:])}, "
                 f"{describe_geometry(stride, padding, dilation)}")
    suptitle(fig, title)
    return fig

