"""Pictures of one matrix: its sparsity pattern, and its entries labelled by filter tap.

Small matrices are drawn cell by cell, each stored entry labelled by what it holds (a
filter tap such as ``x``, ``y``, ``z``, or its value); large ones as a sparsity pattern,
its ticks on the image-row boundaries (0, 6, 12, ... for rows of 6). Lines separate the
channel blocks, and for 2-D and 3-D inputs the image-row blocks, of the C-order flattening
``(C, *spatial)``. A view of several matrices gives every panel the same cell size. The
public functions are imported from :mod:`convmat.plot`.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from scipy.sparse import csr_array, issparse
from scipy.sparse.linalg import LinearOperator

from ._args import as_array, as_bool
from .convolution import TapPattern
from .labels import (
    as_flag,
    as_names,
    as_text,
    axis_caption,
    block_boundaries,
    colour_indices,
    default_tap_names,
    entry_labels,
    label_grid,
    position_names,
    row_products,
    sample_shape,
    tap_structure,
    transposed,
)
from .plot_layout import (
    MIN_FONT,
    PALETTE,
    PATTERN_COLOUR,
    Panel,
    cell_font,
    cell_inches,
    check_axes,
    place_rows,
    text_inches,
    wrap_caption,
)

__all__ = ["plot_sparsity", "plot_taps"]

#: Matrices up to this many rows and columns are drawn cell by cell, with labels.
SMALL = 30
#: The largest matrix drawn cell by cell when asked for (``annotate=True``), per side.
ANNOTATE_MOST = 64
#: Dense rendering up to this many cells; beyond it stored entries are drawn as points.
DENSE_CELLS = 4_000_000
#: The font cells are sized for, and the font of tick labels and row texts.
CELL_FONT, TICK_FONT = 11.0, 10.0
#: The largest drawing, in inches, of a matrix drawn as a pattern.
PATTERN_WIDTH, PATTERN_HEIGHT = 6.5, 8.0


def _as_csr(A):
    """``A`` as a canonical CSR array (the caller's matrix is not modified)."""
    if isinstance(A, LinearOperator):
        raise TypeError("A must be a matrix, sparse or dense: a LinearOperator stores no "
                        "entries to draw (materialize it first with "
                        "convmat.testing.materialize)")
    if issparse(A):
        if A.ndim != 2:
            raise ValueError(f"A must be a 2-D matrix, got a sparse array of shape {A.shape}")
        A = csr_array(A)
    else:
        arr = as_array(A, "A")
        if arr.ndim != 2:
            raise ValueError(f"A must be a 2-D matrix, got an array of shape {arr.shape}")
        A = csr_array(arr)
    if not A.has_canonical_format:
        A = A.copy()
        A.sum_duplicates()
    return A


# --------------------------------------------------------------------------- ticks, room
def ticks(n, shape, names, annotate):
    """``(positions, labels)`` of one axis: every position's name in a small matrix; in a
    pattern, the channel blocks (``c=0``, ...) or the first position of every image row
    (multiples of the row width), else ``None`` (integers chosen by matplotlib)."""
    if names is not None:
        return np.arange(n), [str(v) for v in names]
    if annotate:
        return np.arange(n), position_names(shape, n)
    if shape is not None and shape[0] > 1:
        block = n // shape[0]
        return np.arange(shape[0]) * block + (block - 1) / 2, [f"c={c}" for c in
                                                                 range(shape[0])]
    if shape is not None and len(shape) > 2:
        width = shape[-1]
        step = width * int(np.ceil(n / width / 8))  # at most about 8 ticks
        positions = np.arange(0, n, step)
        return positions, [str(p) for p in positions]
    return None


def _rotated(spec, cell):
    """Whether the tick labels of ``spec`` are wider than the space between two ticks."""
    if spec is None or len(spec[0]) == 0:
        return False
    positions, names = spec
    spacing = cell * (np.min(np.diff(positions)) if len(positions) > 1 else 1e9)
    return any(text_inches(name, TICK_FONT) > 0.9 * spacing for name in names)


def _caption(kind, shape, suffix, inches):
    """An axis caption along ``inches`` of panel: shortened rather than cut in 3 lines."""
    text = wrap_caption(axis_caption(kind, shape) + suffix, inches)
    if text.count("\n") >= 2:
        short = axis_caption(kind, shape).replace(" position, flattened", ",")
        text = wrap_caption(short + suffix, inches)
    return text


def _captions(in_shape, out_shape, width, height):
    return (_caption("input", in_shape, " (column)", width),
            _caption("output", out_shape, " (row)", height))


def matrix_panel(n_rows, n_cols, cell, *, x_ticks=None, y_ticks=None, row_text=None,
                 legend=None, in_shape=None, out_shape=None, title="") -> Panel:
    """The panel of one matrix drawn ``cell`` inches a cell, with room for its ticks,
    captions, title, row texts and legend (see :func:`~convmat.plot_layout.place_rows`)."""
    width, height = n_cols * cell, n_rows * cell
    xcap, ycap = _captions(in_shape, out_shape, width, height)
    col_names = x_ticks[1] if x_ticks is not None else ["00"]
    row_names = y_ticks[1] if y_ticks is not None else ["00"]
    col_h = (max((text_inches(n, TICK_FONT) for n in col_names), default=0.0)
             if _rotated(x_ticks, cell) else 0.2)
    above = (0.26 * (title.count("\n") + 1) + 0.17 * (xcap.count("\n") + 1) + col_h + 0.2)
    left = (0.17 * (ycap.count("\n") + 1)
            + max((text_inches(n, TICK_FONT) for n in row_names), default=0.2) + 0.2)
    right = 0.25
    if row_text is not None:
        right += max(text_inches(t, TICK_FONT) for t in row_text) + 0.1
    if legend:
        right += max(text_inches(lab, MIN_FONT) for lab in legend) + 0.75
    return Panel(width, height, left=left, right=right, above=above, below=0.15)


def grid_cell(grids, annotate, shapes, vertical=False):
    """The cell size, in inches, shared by matrices: wide enough for every label of
    ``grids`` when they are written in, else small enough to fit a page."""
    if annotate:
        return cell_inches([lab for g in grids for lab in np.ravel(g) if lab], CELL_FONT,
                           least=0.45)
    cols = max(c for _, c in shapes) if vertical else sum(c for _, c in shapes)
    rows = sum(r for r, _ in shapes) if vertical else max(r for r, _ in shapes)
    return min(0.3, PATTERN_WIDTH / cols, PATTERN_HEIGHT / rows)


# --------------------------------------------------------------------------- drawing
def _draw_cells(ax, grid):
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
    size = cell_font(ax, n_rows, n_cols, [lab for lab in grid.ravel() if lab])
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


def _draw_labelled_pattern(ax, A, entries, legend):
    """A large matrix as a pattern, its entries coloured by label (one per stored entry,
    in CSR order), with a legend."""
    colours = None
    if entries is not None:
        cats = colour_indices(entries)
        colours = [cats.get(lab, len(cats)) for lab in entries]
        if legend and len(cats) <= len(PALETTE):
            ax.legend(handles=[Patch(color=PALETTE[i], label=lab) for lab, i in cats.items()],
                      loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=MIN_FONT,
                      title="tap", title_fontsize=MIN_FONT + 1, frameon=False)
    _draw_pattern(ax, A, colours)


def _draw_block_lines(ax, in_shape, out_shape):
    """Lines between the channel blocks (thick) and image-row blocks (thin)."""
    for bounds, width in block_boundaries(in_shape):
        for b in bounds:
            ax.axvline(b - 0.5, color="0.25", linewidth=width)
    for bounds, width in block_boundaries(out_shape):
        for b in bounds:
            ax.axhline(b - 0.5, color="0.25", linewidth=width)


def _set_ticks(axis, spec, annotate):
    if spec is None:
        axis.set_major_locator(MaxNLocator(integer=True))
    else:
        axis.set_ticks(*spec)
    axis.set_tick_params(length=0 if annotate else 3.5, labelsize=TICK_FONT)


def _axes_inches(ax):
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    return box.width * fig_w, box.height * fig_h


def _annotate(annotate, shape):
    """Whether to write every entry in its cell: by default for matrices up to ``SMALL``
    per side; asked for, up to ``ANNOTATE_MOST`` (beyond, no text would be legible)."""
    if annotate is None:
        return max(shape) <= SMALL
    if annotate and max(shape) > ANNOTATE_MOST:
        raise ValueError(f"annotate=True writes every entry in its cell, for matrices of at "
                         f"most {ANNOTATE_MOST} rows and columns; this one is "
                         f"{shape[0]}\u00d7{shape[1]}")
    return annotate


def _draw_empty(ax, shape, in_shape, out_shape, title):
    """A matrix without rows or columns: an empty frame that says so."""
    if ax is None:
        _, (ax,) = place_rows([[Panel(3.0, 1.2, left=0.8, above=1.0)]])
    ax.set_xticks([])
    ax.set_yticks([])
    side = "rows" if shape[0] == 0 else "columns"
    ax.text(0.5, 0.5, f"no {side}: nothing is stored", transform=ax.transAxes,
            ha="center", va="center", fontsize=TICK_FONT, color="0.4")
    xcap, ycap = _captions(in_shape, out_shape, 3.0, 1.2)
    ax.set_xlabel(xcap, fontsize=MIN_FONT)
    ax.set_ylabel(ycap, fontsize=MIN_FONT)
    ax.xaxis.set_label_position("top")
    ax.set_title(title, fontsize=11)
    return ax


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
        separate channel blocks (thick) and image-row blocks (thin), the ticks of a large
        matrix mark the image rows (0, 6, 12, ... for rows of 6), and the axes say which
        flattening they follow.
    labels : sequence of str or 2-D array of str, optional
        What to write in each stored entry: one label per stored entry in canonical CSR
        order (as :meth:`~convmat.TapPattern.tap_labels` returns), or a grid of ``A``'s shape.
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
        Without it, a new figure whose cells fit their labels at 9 points or more.

    Returns
    -------
    matplotlib.axes.Axes
    """
    title = as_text(title, "title")
    A = _as_csr(A)
    n_rows, n_cols = A.shape
    in_shape = sample_shape(in_shape, n_cols, "in_shape")
    out_shape = sample_shape(out_shape, n_rows, "out_shape")
    in_names = as_names(in_names, "in_names", n_cols)
    out_names = as_names(out_names, "out_names", n_rows)
    row_text = as_names(row_text, "row_text", n_rows)
    legend = as_bool(legend, "legend")
    annotate = _annotate(as_flag(annotate, "annotate"), A.shape)
    if title is None:
        title = (f"Sparsity pattern: {n_rows}\u00d7{n_cols} matrix, "
                 f"{A.nnz or 'no'} stored entries")
    if ax is not None:
        check_axes(ax)
    if n_rows == 0 or n_cols == 0:
        return _draw_empty(ax, A.shape, in_shape, out_shape, title)
    grid = label_grid(A, labels) if annotate else None
    entries = entry_labels(A, labels) if labels is not None and not annotate else None
    x_ticks = ticks(n_cols, in_shape, in_names, annotate)
    y_ticks = ticks(n_rows, out_shape, out_names, annotate)
    if ax is None:
        cell = grid_cell([grid] if annotate else [], annotate, [A.shape])
        legend_labels = list(colour_indices(entries)) if entries is not None and legend \
            else None
        panel = matrix_panel(n_rows, n_cols, cell, x_ticks=x_ticks, y_ticks=y_ticks,
                             row_text=row_text,
                             legend=legend_labels, in_shape=in_shape, out_shape=out_shape,
                             title=title)
        _, (ax,) = place_rows([[panel]])
    if annotate:
        _draw_cells(ax, grid)
    else:
        _draw_labelled_pattern(ax, A, entries, legend)
    _draw_block_lines(ax, in_shape, out_shape)
    _set_ticks(ax.xaxis, x_ticks, annotate)
    _set_ticks(ax.yaxis, y_ticks, annotate)
    width, height = _axes_inches(ax)
    if _rotated(x_ticks, width / n_cols):
        ax.tick_params(axis="x", labelrotation=90)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    xcap, ycap = _captions(in_shape, out_shape, width, height)
    ax.set_xlabel(xcap, fontsize=MIN_FONT)
    ax.set_ylabel(ycap, fontsize=MIN_FONT)
    if row_text is not None:
        right = ax.secondary_yaxis("right")
        right.set_yticks(np.arange(n_rows), labels=row_text)
        right.tick_params(length=0, labelsize=TICK_FONT)
    ax.set_title(title, fontsize=11)
    return ax


def plot_taps(taps: TapPattern, names=None, *, in_shape=None, out_shape=None,
              transpose=False, in_names=None, out_names=None, products=None, annotate=None,
              legend=True, title=None, ax=None):
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
    out_names : sequence of str, optional
        Names of the outputs (the rows), like ``"pq"``.
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
    title = as_text(title, "title")
    taps = _as_taps(taps)
    transpose = as_bool(transpose, "transpose")
    n_rows, n_cols = taps.shape[::-1] if transpose else taps.shape
    names = as_names(names, "names", math.prod(taps.weight_shape))
    in_shape = sample_shape(in_shape, n_cols, "in_shape")
    out_shape = sample_shape(out_shape, n_rows, "out_shape")
    in_names = as_names(in_names, "in_names", n_cols)
    out_names = as_names(out_names, "out_names", n_rows)
    products = as_flag(products, "products")
    annotate = _annotate(as_flag(annotate, "annotate"), (n_rows, n_cols))
    A, labels, row_text, in_names = tap_view(taps, names, transpose, in_shape, in_names,
                                             products, annotate)
    if title is None:
        what = "C\u1d40" if transpose else "C"
        title = f"{what}: {n_rows}\u00d7{n_cols}, entries labelled by filter tap"
    return plot_sparsity(A, in_shape=in_shape, out_shape=out_shape, labels=labels,
                         annotate=annotate, in_names=in_names if annotate else None,
                         out_names=out_names if annotate else None, row_text=row_text,
                         legend=legend, title=title, ax=ax)


def _as_taps(taps):
    if not isinstance(taps, TapPattern):
        raise TypeError(f"taps must be a TapPattern (from conv_taps), got "
                        f"{type(taps).__name__}")
    return taps


def tap_view(taps, names, transpose, in_shape, in_names, products, annotate):
    """``(A, labels, row_text, in_names)``: what :func:`plot_taps` draws. ``labels`` is a
    grid when ``annotate`` (and ``row_text`` each row's output, with ``products``), else
    one label per stored entry, so that no dense grid of a large matrix is made."""
    A = tap_structure(_as_taps(taps))
    entries = np.empty(A.nnz, dtype=object)
    entries[:] = taps.tap_labels(default_tap_names(taps.weight_shape, names))
    if transpose:
        A, entries = transposed(A, entries)
    if not annotate:
        return A, entries, None, in_names
    grid = label_grid(A, entries)
    if products is None:
        products = in_names is not None
    row_text = None
    if products:
        if in_names is None:
            in_names = [f"in[{n}]" for n in position_names(in_shape, A.shape[1])]
        row_text = row_products(grid, list(in_names))
    return A, grid, row_text, in_names


def conv_panels(entries, names, cell=None, annotate=None, vertical=False):
    """The panels of several tap matrices drawn with one cell size: ``entries`` holds
    ``(taps, transpose, in_shape, out_shape, in_names, out_names, title)`` per matrix.

    Returns ``(panels, views, annotate)``, a view being ``(A, grid, row_text, in_names)``.
    """
    shapes = [t.shape[::-1] if tr else t.shape for t, tr, *_ in entries]
    annotate = _annotate(annotate, (max(r for r, _ in shapes), max(c for _, c in shapes)))
    views = [tap_view(t, names, tr, ins, inn, None, annotate)
             for t, tr, ins, _, inn, _, _ in entries]
    if cell is None:
        cell = grid_cell([v[1] for v in views] if annotate else [], annotate, shapes,
                         vertical)
    panels = []
    for i, ((A, grid, row_text, in_names), e) in enumerate(zip(views, entries)):
        _, _, in_shape, out_shape, _, out_names, title = e
        xt = ticks(A.shape[1], in_shape, in_names if annotate else None, annotate)
        yt = ticks(A.shape[0], out_shape, out_names if annotate else None, annotate)
        legend = (list(colour_indices(grid)) if not annotate and i == len(views) - 1
                  else None)
        panels.append(matrix_panel(*A.shape, cell, x_ticks=xt, y_ticks=yt,
                                   row_text=row_text if annotate else None, legend=legend,
                                   in_shape=in_shape, out_shape=out_shape, title=title))
    return panels, views, annotate
