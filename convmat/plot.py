"""Pictures of convmat's matrices: sparsity patterns, filter taps, coverage, before/after.

Every function takes ``ax=None`` (a pair of Axes for the two-panel views), draws into it or
into a new figure, sets a title that says what is shown, and returns the Axes (the Figure
for multi-panel views). Nothing here calls ``plt.show()``: the caller decides whether to
show, save or embed, so the module works under the non-interactive Agg backend.

Small matrices are drawn cell by cell, each stored entry labelled by what it holds (a
filter tap such as ``x``, ``y``, ``z`` of the seed article, or its value); large ones as a
sparsity pattern. Lines separate the channel blocks, and for 2-D and 3-D inputs the
image-row blocks, of the C-order flattening ``(C, *spatial)``.

The few helpers without an underscore that are not in ``__all__`` (:func:`tap_grid`,
:func:`label_grid`, :func:`default_tap_names`, :func:`row_products`,
:func:`format_value`, :func:`suptitle`) are shared with the command line, which prints
the same labelled matrices as text; they are internal, not part of convmat's API.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.patches import ConnectionPatch, Patch, Rectangle

from .convolution import (
    TapPattern,
    conv_taps,
    conv_transpose_matrix,
    conv_transpose_taps,
)
from .shapes import conv_output_shape, conv_transpose_output_shape

__all__ = [
    "plot_before_after",
    "plot_coverage",
    "plot_sparsity",
    "plot_stride_comparison",
    "plot_taps",
    "plot_transpose_pair",
]

#: Matrices up to this many rows and columns are drawn cell by cell, with labels.
SMALL = 30
#: Dense rendering up to this many cells; beyond it stored entries are drawn as points.
DENSE_CELLS = 4_000_000

# Pastel colours, so that black text stays readable on every cell.
_PALETTE = ["#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99",
            "#8dd3c7", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"]
_PATTERN = "#3b6ea5"


def _pyplot():
    # Imported lazily: importing convmat must not choose a matplotlib backend.
    import matplotlib.pyplot as plt

    return plt


def _new_axes(ax, size):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=size, layout="constrained")
    return ax


def _new_axes_row(ax, n, size, width_ratios=None):
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
    import textwrap

    chars = max(30, int(fig.get_figwidth() * 72 / (0.58 * fontsize)))
    lines = [textwrap.fill(line, chars) for line in str(text).splitlines()]
    fig.suptitle("\n".join(lines), fontsize=fontsize)


def _dims(shape) -> str:
    return "\u00d7".join(str(int(s)) for s in shape)


def format_value(value) -> str:
    """A matrix entry or map value as short text: ``2``, ``0.333``, ``nan``, ``-inf``."""
    value = float(value)
    if np.isfinite(value) and value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _as_csr(A):
    from scipy.sparse import csr_array, issparse

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


def _block_lines(shape):
    """``(positions, linewidth)`` of the boundaries between channel and row blocks."""
    if shape is None or len(shape) < 2:
        return []
    n = int(np.prod(shape))
    lines = []
    block = n
    widths = [1.6, 0.9, 0.5]  # channels, then the coarsest spatial blocks
    for level, size in enumerate(shape[:-1]):
        block //= size
        bounds = np.arange(block, n, block)
        if level >= len(widths) or bounds.size > 80:  # too dense to help a reader
            break
        taken = np.concatenate([b for b, _ in lines]) if lines else np.empty(0, int)
        bounds = np.setdiff1d(bounds, taken)  # one line per boundary, the coarsest one
        if bounds.size:
            lines.append((bounds, widths[level]))
    return lines


def _position_names(shape, n):
    """Tick labels for each flat position: its multi-index in ``shape`` (channel kept only
    when there is more than one)."""
    if shape is None or len(shape) == 1:
        return [str(i) for i in range(n)]
    idx = np.unravel_index(np.arange(n), shape)
    keep = [d for d in range(len(shape)) if not (d == 0 and shape[0] == 1)]
    if len(keep) == 1:
        return [str(v) for v in idx[keep[0]]]
    return [",".join(str(idx[d][i]) for d in keep) for i in range(n)]


def _axis_caption(kind, shape):
    if shape is None:
        return f"{kind} position"
    names = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}.get(len(shape) - 1, "")
    return f"{kind} position, flattened {names} = ({', '.join(map(str, shape))})"


def label_grid(A, labels):
    """A dense grid of strings (``""`` for no entry) from per-entry or grid labels."""
    grid = np.full(A.shape, "", dtype=object)
    if labels is None:
        rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
        grid[rows, A.indices] = [format_value(v) for v in A.data]
        return grid
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        if labels.shape != A.shape:
            raise ValueError(f"labels must have the matrix's shape {A.shape}, got "
                             f"{labels.shape}")
        grid[:] = labels
        return grid
    labels = list(labels)
    if len(labels) != A.nnz:
        raise ValueError(
            f"labels must give one label per stored entry ({A.nnz}), got {len(labels)}"
        )
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    for r, c, lab in zip(rows.tolist(), A.indices.tolist(), labels):
        grid[r, c] = str(lab)
    return grid


def _categories(grid):
    """Each non-empty label's colour index, in a stable order (single taps first)."""
    found = sorted({lab for lab in grid.ravel() if lab}, key=lambda s: ("+" in s, s))
    return {lab: i for i, lab in enumerate(found)}


def _draw_cells(ax, grid, fontsize=None):
    """The matrix drawn cell by cell: coloured by label, the label written in it."""
    n_rows, n_cols = grid.shape
    cats = _categories(grid)
    rgba = np.ones((n_rows, n_cols, 4))
    for (r, c), lab in np.ndenumerate(grid):
        if lab:
            rgba[r, c] = mcolors.to_rgba(_PALETTE[cats[lab] % len(_PALETTE)])
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
            rgba[rows, A.indices] = mcolors.to_rgba(_PATTERN)
        else:
            rgba[rows, A.indices] = [mcolors.to_rgba(_PALETTE[k % len(_PALETTE)])
                                     for k in grid_colours]
        ax.imshow(rgba, interpolation="nearest" if max(A.shape) <= 600 else "antialiased",
                  aspect="equal")
    else:
        ax.plot(A.indices, rows, ",", color=_PATTERN)
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
    if annotate is None:
        annotate = max(n_rows, n_cols) <= SMALL
    if annotate:
        size = (min(14, 1.6 + 0.5 * n_cols + (1.4 if row_text is not None else 0)),
                min(12, 1.5 + 0.45 * n_rows))
    else:
        aspect = n_rows / max(n_cols, 1)
        size = (6.5, max(2.5, min(10, 1.6 + 5 * aspect)))
    ax = _new_axes(ax, size)

    if annotate:
        _draw_cells(ax, label_grid(A, labels))
    else:
        colours = None
        if labels is not None:
            grid = label_grid(A, labels)
            cats = _categories(grid)
            rows = np.repeat(np.arange(n_rows), np.diff(A.indptr))
            colours = [cats[lab] for lab in grid[rows, A.indices]]
            if legend and len(cats) <= len(_PALETTE):
                ax.legend(handles=[Patch(color=_PALETTE[i], label=lab)
                                   for lab, i in cats.items()],
                          loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
                          title="tap", frameon=False)
        _draw_pattern(ax, A, colours)

    for bounds, width in _block_lines(in_shape):
        for b in bounds:
            ax.axvline(b - 0.5, color="0.25", linewidth=width)
    for bounds, width in _block_lines(out_shape):
        for b in bounds:
            ax.axhline(b - 0.5, color="0.25", linewidth=width)

    _set_ticks(ax.xaxis, n_cols, in_shape, in_names, annotate)
    _set_ticks(ax.yaxis, n_rows, out_shape, out_names, annotate)
    if annotate and n_cols > 8 and in_names is None and in_shape is not None \
            and len(in_shape) > 2:
        ax.tick_params(axis="x", labelrotation=90)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(_axis_caption("input", in_shape) + " (column)", fontsize=9)
    ax.set_ylabel(_axis_caption("output", out_shape) + " (row)", fontsize=9)
    if row_text is not None:
        row_text = list(row_text)
        if len(row_text) != n_rows:
            raise ValueError(f"row_text must give one text per row ({n_rows}), got "
                             f"{len(row_text)}")
        right = ax.secondary_yaxis("right")
        right.set_yticks(np.arange(n_rows), labels=row_text)
        right.tick_params(length=0, labelsize=10)
    if title is None:
        title = f"Sparsity pattern: {n_rows}\u00d7{n_cols} matrix, {A.nnz} stored entries"
    ax.set_title(title, fontsize=11)
    return ax


def _set_ticks(axis, n, shape, names, annotate):
    if names is not None:
        names = list(names)
        if len(names) != n:
            raise ValueError(f"expected {n} tick names, got {len(names)}")
        axis.set_ticks(np.arange(n), labels=names)
    elif annotate:
        axis.set_ticks(np.arange(n), labels=_position_names(shape, n))
    elif shape is not None and shape[0] > 1:
        block = n // shape[0]
        axis.set_ticks(np.arange(shape[0]) * block + (block - 1) / 2,
                       labels=[f"c={c}" for c in range(shape[0])])
    else:
        from matplotlib.ticker import MaxNLocator

        axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_tick_params(length=0 if annotate else 3.5)


def tap_structure(taps: TapPattern):
    """The sparsity pattern of a ``TapPattern`` as a 0/1 ``csr_array``."""
    from scipy.sparse import csr_array

    return csr_array((np.ones(taps.nnz), taps.indices, taps.indptr), shape=taps.shape)


def tap_grid(taps: TapPattern, names=None):
    """``(A, grid)``: the pattern of a convolution and each stored entry's tap label
    (``names``, else :func:`default_tap_names`), as :func:`plot_taps` and
    ``convmat show conv`` draw them."""
    A = tap_structure(taps)
    return A, label_grid(A, taps.tap_labels(default_tap_names(taps.weight_shape, names)))


def row_products(grid, in_names):
    """``az+bx``: each row's output as the sum of input name times tap name."""
    texts = []
    for row in grid:
        terms = []
        for name, lab in zip(in_names, row):
            if lab:
                terms.append(f"{name}{lab}" if "+" not in lab else f"{name}({lab})")
        texts.append("= " + " + ".join(terms) if terms else "= 0")
    return texts


def default_tap_names(weight_shape, names):
    """``names``, or the default names of a weight's taps (``xyz`` for the seed's filter,
    ``w[i,j]`` by kernel position for a single filter, else ``None``: by index)."""
    if names is not None:
        return names
    if int(np.prod(weight_shape)) == 3:
        return "xyz"  # the seed article's filter [x, y, z]
    if int(np.prod(weight_shape[:2])) == 1:  # one filter: name taps by kernel position
        kernel = weight_shape[2:]
        return [f"w[{','.join(map(str, np.unravel_index(k, kernel)))}]"
                for k in range(int(np.prod(kernel)))]
    return None


def plot_taps(taps: TapPattern, names=None, *, in_shape=None, out_shape=None,
              transpose=False, in_names=None, products=None, annotate=None, legend=True,
              title=None, ax=None):
    """Draw a convolution's matrix with each entry labelled by the filter tap it holds.

    Parameters
    ----------
    taps : TapPattern
        From :func:`~convmat.conv_taps` or :func:`~convmat.conv_transpose_taps`.
    names : sequence of str, optional
        One name per weight in flat C order, like ``"xyz"`` for the seed's filter
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
            in_names = _position_names(in_shape, A.shape[1])
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


def _describe(stride, padding, dilation=1, output_padding=0):
    parts = [f"stride {_fmt_arg(stride)}", f"padding {_fmt_arg(padding)}"]
    if np.any(np.asarray(dilation) != 1):
        parts.append(f"dilation {_fmt_arg(dilation)}")
    if np.any(np.asarray(output_padding) != 0):
        parts.append(f"output_padding {_fmt_arg(output_padding)}")
    return ", ".join(parts)


def _fmt_arg(v):
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(map(str, v)) + ")"
    return str(v)


def _weight_shape(weight):
    if isinstance(weight, (tuple, list)) and all(isinstance(v, (int, np.integer))
                                                  for v in weight):
        return tuple(weight)
    return np.shape(weight)


def _seed_in_names(in_shape, transpose):
    """``a, b, c, ...`` for a small 1-D single-channel input, as the seed names them."""
    if in_shape is not None and len(in_shape) == 2 and in_shape[0] == 1 \
            and in_shape[1] <= 8:
        return list("abcdefgh"[: in_shape[1]])
    return None


def plot_stride_comparison(weight, input_shape, *, strides=(1, 2), transpose=False,
                           padding=0, dilation=1, names=None, in_names="auto",
                           annotate=None, title=None, ax=None):
    """The same filter at several strides, side by side (the seed's 2 -> 4 and 2 -> 5).

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
    wshape = _weight_shape(weight)
    input_shape = tuple(input_shape)
    if in_names == "auto":
        in_names = _seed_in_names(input_shape, transpose)
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
    fig, axes = _new_axes_row(ax, len(panels), size)
    op = "conv_transpose" if transpose else "conv"
    for i, (a, (s, taps, out_shape)) in enumerate(zip(axes, panels)):
        plot_taps(taps, names, in_shape=input_shape, out_shape=out_shape,
                  in_names=in_names, ax=a, legend=i == len(panels) - 1, annotate=small,
                  title=f"stride {_fmt_arg(s)}: {_dims(input_shape[1:])} \u2192 "
                        f"{_dims(out_shape[1:])}")
    if title is None:
        kernel = _dims(wshape[2:])
        title = (f"{op}, kernel {kernel}, padding {_fmt_arg(padding)}: the same filter at "
                 f"stride {' and '.join(_fmt_arg(s) for s in strides)}")
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
        input); the transpose's inputs are then named by output position.
    title : str, optional
    ax : pair of Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    wshape = _weight_shape(weight)
    input_shape = tuple(input_shape)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    taps = conv_taps(wshape, input_shape, **kw)
    out_shape = conv_output_shape(wshape, input_shape, **kw)
    if in_names == "auto":
        in_names = _seed_in_names(input_shape, False)
    n_out, n_in = taps.shape
    small = max(taps.shape) <= SMALL
    if small:
        size = (min(16, 4 + 0.55 * (n_in + n_out) + (3 if in_names else 0)),
                min(10, 2.2 + 0.5 * max(n_in, n_out)))
    else:
        size = (12, 6)
    fig, axes = _new_axes_row(ax, 2, size,
                              width_ratios=[n_in + (3 if in_names else 0), n_out + 3]
                              if small and ax is None else None)
    plot_taps(taps, names, in_shape=input_shape, out_shape=out_shape, in_names=in_names,
              ax=axes[0], title=f"C: conv, {_dims(input_shape[1:])} \u2192 "
                                f"{_dims(out_shape[1:])}")
    # The transpose's inputs are the convolution's outputs: other letters than a, b, ...
    t_names = list("pqrstuvw"[:n_out]) if in_names and n_out <= 8 else None
    plot_taps(taps, names, in_shape=out_shape, out_shape=input_shape, transpose=True,
              in_names=t_names, ax=axes[1],
              title=f"C\u1d40: conv_transpose, {_dims(out_shape[1:])} \u2192 "
                    f"{_dims(input_shape[1:])}")
    if title is None:
        title = (f"A convolution and its transpose: kernel {_dims(wshape[2:])}, "
                 f"{_describe(stride, padding, dilation)}")
    suptitle(fig, title)
    return fig


def _kernel_of(weight_or_kernel, input_shape):
    """Spatial kernel size and input size from a kernel size or a weight."""
    if isinstance(weight_or_kernel, (int, np.integer)):
        size = tuple(np.atleast_1d(input_shape))
        return (int(weight_or_kernel),) * len(size), tuple(int(s) for s in size)
    if isinstance(weight_or_kernel, (tuple, list)) and all(
            isinstance(v, (int, np.integer)) for v in weight_or_kernel):
        kernel = tuple(int(v) for v in weight_or_kernel)
    else:
        w = np.asarray(weight_or_kernel)
        kernel = w.shape[2:] if w.ndim >= 3 else w.shape
    size = tuple(int(s) for s in np.atleast_1d(input_shape))
    if len(size) == len(kernel) + 1:  # (C, *spatial): the channels do not matter here
        size = size[1:]
    if len(size) != len(kernel):
        raise ValueError(
            f"input_shape={tuple(np.atleast_1d(input_shape))} must have one size per kernel "
            f"dimension ({len(kernel)} for kernel {kernel}), optionally after the channels"
        )
    return kernel, size


def coverage(weight_or_kernel, input_shape, stride, *, padding=0, dilation=1,
             output_padding=0) -> np.ndarray:
    """How many input pixels write each output of a transposed convolution: ``T @ 1``.

    ``T`` is ``conv_transpose_matrix`` with an all-ones single-channel filter of the
    given kernel size; the result has the output's spatial shape. Where the kernel size
    is not a multiple of the stride, the counts alternate inside the image: the
    checkerboard artefact of Odena, Dumoulin & Olah (2016).

    >>> coverage(3, 5, 2)
    array([1., 1., 2., 1., 2., 1., 2., 1., 2., 1., 1.])
    """
    kernel, size = _kernel_of(weight_or_kernel, input_shape)
    ones = np.ones((1, 1, *kernel))
    kw = dict(stride=stride, padding=padding, dilation=dilation, output_padding=output_padding)
    # T.shape holds only the output's size; its spatial shape comes from the arithmetic.
    out = conv_transpose_output_shape(ones.shape, (1, *size), **kw)
    T = conv_transpose_matrix(ones, (1, *size), **kw)
    return (T @ np.ones(T.shape[1])).reshape(out[1:])


def _interior(counts, kernel, stride, padding, dilation):
    """The outputs every tap of the filter can reach: away from the image border."""
    ndim = counts.ndim
    stride = np.broadcast_to(stride, (ndim,))
    padding = np.broadcast_to(padding, (ndim,))
    dilation = np.broadcast_to(dilation, (ndim,))
    sl = []
    for d in range(ndim):
        ek = dilation[d] * (kernel[d] - 1) + 1
        lo = max(0, ek - 1 - padding[d])
        hi = counts.shape[d] - lo
        sl.append(slice(lo, max(hi, lo)))
    return counts[tuple(sl)]


def plot_coverage(weight_or_kernel, input_shape, stride, *, padding=0, dilation=1,
                  output_padding=0, annotate=None, title=None, ax=None):
    """The coverage map of a transposed convolution: how often each output is written.

    Each output pixel of ``conv_transpose`` sums one filter tap per input pixel that
    reaches it; with an all-ones filter and an all-ones input, ``T @ 1`` counts them.
    When the kernel size is not a multiple of the stride, neighbouring outputs receive
    different numbers of contributions: the checkerboard artefact (Odena, Dumoulin &
    Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).

    Parameters
    ----------
    weight_or_kernel : int, tuple of int, or array_like
        A kernel size, or a weight whose spatial shape is used (its values are not).
    input_shape : int or tuple of int
        The spatial input size (a leading channel count is accepted and ignored).
    stride : int or tuple of int
    padding, dilation, output_padding :
        As for :func:`~convmat.conv_transpose_matrix`.
    annotate : bool, optional
        Write the counts in the cells (default: 2-D maps up to 24 x 24).
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    kernel, size = _kernel_of(weight_or_kernel, input_shape)
    counts = coverage(kernel, size, stride, padding=padding, dilation=dilation,
                      output_padding=output_padding)
    inner = _interior(counts, kernel, stride, padding, dilation)
    uneven = inner.size > 0 and inner.min() != inner.max()
    if title is None:
        verdict = ("uneven overlap: checkerboard" if uneven
                   else "even overlap inside the border")
        title = (f"Coverage of conv_transpose, kernel {_dims(kernel)}, stride "
                 f"{_fmt_arg(stride)}\n{_dims(size)} \u2192 {_dims(counts.shape)}: "
                 f"{verdict}")
    if counts.ndim == 1:
        ax = _new_axes(ax, (max(4.5, 0.35 * counts.size + 1.5), 3.2))
        j = np.arange(counts.size)
        ax.bar(j, counts, color=[_PALETTE[int(c) % len(_PALETTE)] for c in counts],
               edgecolor="0.3")
        ax.set_xticks(j)
        ax.set_yticks(np.arange(counts.max() + 1))
        ax.set_xlabel("output position")
        ax.set_ylabel("times written (T @ 1)")
        ax.set_xlim(-0.6, counts.size - 0.4)
        if counts.size > 24:
            ax.tick_params(axis="x", labelsize=7, labelrotation=90)
    elif counts.ndim == 2:
        ax = _new_axes(ax, (min(9, 1.5 + 0.42 * counts.shape[1]),
                            min(9, 1.6 + 0.42 * counts.shape[0])))
        top = max(counts.max(), 1) * 1.25
        image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=top, interpolation="nearest")
        if annotate is None:
            annotate = max(counts.shape) <= 24
        if annotate:
            ax.set_xticks(np.arange(counts.shape[1]))
            ax.set_yticks(np.arange(counts.shape[0]))
            for (r, c), v in np.ndenumerate(counts):
                ax.text(c, r, format_value(v), ha="center", va="center",
                        fontsize=8 if max(counts.shape) > 12 else 10,
                        color="white" if v / top > 0.6 else "black")
        else:
            ax.figure.colorbar(image, ax=ax, label="times written (T @ 1)", shrink=0.8)
        ax.set_xlabel("output column")
        ax.set_ylabel("output row")
    else:
        raise ValueError(f"plot_coverage draws 1-D and 2-D maps, got kernel {kernel} "
                         f"(plot a slice of coverage(...) instead)")
    ax.set_title(title, fontsize=10)
    return ax


def _as_map(a, name):
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (or (1, H, W)), got shape {arr.shape}")
    return arr


def _block_ids(shape, other):
    """Block colour of each cell when one map is an integer blow-up of the other."""
    big, small = np.array(shape), np.array(other)
    if np.all(big % small == 0) and np.any(big > small):
        f = big // small
        r, c = np.indices(shape)
        return (r // f[0]) * small[1] + c // f[1]
    if np.all(small % big == 0) and np.any(small > big):
        return np.arange(np.prod(shape)).reshape(shape)
    return None


def _draw_map(ax, m, ids, highlight, annotate, vmin, vmax, block):
    if ids is not None:
        rgba = np.array([mcolors.to_rgba(_PALETTE[i % len(_PALETTE)]) for i in ids.ravel()])
        rgba = rgba.reshape(*m.shape, 4)
        if highlight is not None:  # cells that receive nothing fade out
            rgba[~highlight] = 0.55 * rgba[~highlight] + 0.45
        ax.imshow(rgba, interpolation="nearest")
    else:
        ax.imshow(m, cmap="Blues", vmin=vmin, vmax=vmax + 0.25 * (vmax - vmin or 1),
                  interpolation="nearest")
    # Major ticks on the cell centres: matplotlib hides minor ticks that coincide with
    # major ones, and its automatic half-integer major ticks would hide the cell borders.
    ax.set_xticks(np.arange(m.shape[1]))
    ax.set_yticks(np.arange(m.shape[0]))
    ax.set_xticks(np.arange(-0.5, m.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, m.shape[0]), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    if block is not None:
        for x in np.arange(block[1], m.shape[1], block[1]):
            ax.axvline(x - 0.5, color="0.2", linewidth=2)
        for y in np.arange(block[0], m.shape[0], block[0]):
            ax.axhline(y - 0.5, color="0.2", linewidth=2)
    if highlight is not None:
        for r, c in zip(*np.nonzero(highlight)):
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="black",
                                   linewidth=2.2))
    if annotate:
        size = 14 if max(m.shape) <= 6 else 10 if max(m.shape) <= 12 else 7
        span = (vmax - vmin) or 1.0
        for (r, c), v in np.ndenumerate(m):
            strong = highlight is None or highlight[r, c]
            # white on the darkest blues, where black would be hard to read
            dark = ids is None and (v - vmin) / span > 0.7
            ax.text(c, r, format_value(v), ha="center", va="center", fontsize=size,
                    fontweight="bold" if highlight is not None and strong else "normal",
                    color="white" if dark else "black" if strong else "0.45")


def plot_before_after(before, after, *, op=None, before_title=None, after_title=None,
                      highlight_before=None, highlight_after=None, block=None,
                      annotate=None, title=None, ax=None):
    """A 2-D map before and after an operation, values written in the cells.

    Used for the seed article's pictures: max pooling, the three unpoolings (nearest
    neighbour, bed of nails, max unpooling) and the transposed convolution.

    Parameters
    ----------
    before, after : array_like, shape (H, W) or (1, H, W)
        The maps, e.g. ``x`` and ``(A @ x.ravel()).reshape(out)``.
    op : str, optional
        Name of the operation, written on the arrow between the panels.
    before_title, after_title : str, optional
        Panel titles (default: "input H×W" and "output H×W").
    highlight_before, highlight_after : array_like of bool, optional
        Cells to frame and write in bold: the maxima of a max pooling, the cells an
        unpooling writes. Other cells are faded.
    block : tuple of int, optional
        Draw the pooling / unpooling windows of this size on the larger map, and (when
        one map is an integer blow-up of the other) colour the cells by window, so that
        each window matches its cell in the smaller map, as in the seed's figures.
        Without it, cells are shaded by value.
    annotate : bool, optional
        Write the values (default: maps up to 16 x 16).
    title : str, optional
        Figure title (default: ``op`` and the shapes).
    ax : pair of Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    b, a = _as_map(before, "before"), _as_map(after, "after")
    hb = None if highlight_before is None else _as_map(highlight_before, "highlight_before") > 0
    ha = None if highlight_after is None else _as_map(highlight_after, "highlight_after") > 0
    for h, m, name in ((hb, b, "highlight_before"), (ha, a, "highlight_after")):
        if h is not None and h.shape != m.shape:
            raise ValueError(f"{name} must have the map's shape {m.shape}, got {h.shape}")
    if annotate is None:
        annotate = max(*b.shape, *a.shape) <= 16
    cell = 0.55 if max(*b.shape, *a.shape) <= 8 else 0.3
    width = cell * (b.shape[1] + a.shape[1]) + 2.2
    height = cell * max(b.shape[0], a.shape[0]) + 1.6
    fig, axes = _new_axes_row(ax, 2, (max(width, 5.5), max(height, 3.2)),
                              width_ratios=[b.shape[1], a.shape[1]] if ax is None else None)
    ids_b = ids_a = None
    if block is not None:  # colour by window only for (un)pooling, where windows tile
        ids_b, ids_a = _block_ids(b.shape, a.shape), _block_ids(a.shape, b.shape)
    vmin = min(b.min(), a.min())
    vmax = max(b.max(), a.max())
    blk_b = block if block is not None and b.size >= a.size else None
    blk_a = block if block is not None and a.size > b.size else None
    _draw_map(axes[0], b, ids_b, hb, annotate, vmin, vmax, blk_b)
    _draw_map(axes[1], a, ids_a, ha, annotate, vmin, vmax, blk_a)
    axes[0].set_title(before_title or f"input {_dims(b.shape)}", fontsize=11)
    axes[1].set_title(after_title or f"output {_dims(a.shape)}", fontsize=11)
    arrow = ConnectionPatch(xyA=(1.04, 0.5), coordsA=axes[0].transAxes,
                            xyB=(-0.04, 0.5), coordsB=axes[1].transAxes,
                            arrowstyle="-|>", mutation_scale=18, linewidth=1.8,
                            color="0.3")
    fig.add_artist(arrow)
    if title is None:
        title = f"{op}: {_dims(b.shape)} \u2192 {_dims(a.shape)}" if op else \
            f"{_dims(b.shape)} \u2192 {_dims(a.shape)}"
    suptitle(fig, title)
    return fig
