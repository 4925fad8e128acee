"""Pictures of convmat's matrices and of how their results arise.

Every function takes ``ax=None`` (a sequence of Axes for the multi-panel views), draws
into it or into a new figure, sets a title that says what is shown, and returns the Axes
(the Figure for multi-panel views). A new figure is a ``matplotlib.figure.Figure`` that
pyplot does not hold, so a notebook shows it once, as the cell's value (leave out the
trailing ``;``); nothing here calls ``plt.show()``. Its panels share one cell size and its
text is at least 9 points, legible on a projector.

This module is where every picture is imported from:

* one matrix, or several side by side (:mod:`convmat.plot_matrices`,
  :mod:`convmat.plot_pairs`): :func:`plot_sparsity`, :func:`plot_taps`,
  :func:`plot_stride_comparison`, :func:`plot_transpose_pair`;
* how a result arises on the image grid (:mod:`convmat.plot_mechanism`): a convolution's
  windows on its padded input (:func:`plot_conv_windows`), a transposed convolution's
  stamps and crop (:func:`plot_conv_transpose_stamps`), max unpooling's remembered
  positions (:func:`plot_max_unpooling`);
* maps, written here: the coverage map of a transposed convolution (:func:`plot_coverage`,
  with the counts of :func:`coverage`) and a map before and after an operation
  (:func:`plot_before_after`).

The layout helpers are in :mod:`convmat.plot_layout`; the labels and captions, shared with
the command line, in :mod:`convmat.labels`.

Every argument is checked on entry, as the builders check theirs: a wrong one is a
``TypeError`` (a wrong kind of value) or ``ValueError`` whose one-line message names the
argument as you passed it, the value and what is allowed. A torch tensor is an array
like any other (detached, on the CPU). A picture has a bounded number of cells, so each
view has a limit, refused before anything is computed: :func:`coverage` counts at most
``MAX_COVERAGE`` = 10**7 positions and :func:`plot_coverage` draws at most 1000 per
side; the mechanism views draw maps and filters of at most 16 per side and grids
(padded input, stamps, output) of at most 64; :func:`plot_before_after` draws maps of
at most 256 per side; ``annotate=True`` writes values into matrices of at most 64 rows
and columns. :func:`plot_sparsity` draws a matrix of any size (large ones as a
pattern), an empty one as an empty frame that says so.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.patches import ConnectionPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from ._args import as_tuple
from .labels import (
    as_flag,
    as_text,
    count_coverage,
    coverage,
    coverage_window,
    dims,
    format_arg,
    format_value,
    interior,
)
from .plot_layout import MIN_FONT, PALETTE, cell_panels, new_axes, new_axes_row, suptitle
from .plot_matrices import plot_sparsity, plot_taps
from .plot_mechanism import (
    plot_conv_transpose_stamps,
    plot_conv_windows,
    plot_max_unpooling,
    read_map,
)
from .plot_pairs import plot_stride_comparison, plot_transpose_pair

__all__ = [
    "coverage",
    "plot_before_after",
    "plot_conv_transpose_stamps",
    "plot_conv_windows",
    "plot_coverage",
    "plot_max_unpooling",
    "plot_sparsity",
    "plot_stride_comparison",
    "plot_taps",
    "plot_transpose_pair",
]

#: The largest coverage map drawn, in positions per side (a bar or a pixel each).
COVERAGE_SIDE = 1000
#: The largest coverage map whose counts are written in its cells, per side.
ANNOTATE_SIDE = 40
#: The largest map :func:`plot_before_after` draws, and writes the values of, per side.
MAP_SIDE, MAP_ANNOTATE_SIDE = 256, 32


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
        Write the counts in the cells (default: 2-D maps up to 24 x 24; at most
        ``ANNOTATE_SIDE`` = 40 per side).
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    A picture has a bounded number of cells: maps of more than ``COVERAGE_SIDE`` = 1000
    positions per side (a bar per position in 1-D, a pixel per position in 2-D) are
    refused with a ``ValueError``; draw a part of :func:`coverage` instead.
    """
    title = as_text(title, "title")
    kernel, size, window = coverage_window(
        weight_or_kernel, input_shape, stride, padding=padding, dilation=dilation,
        output_padding=output_padding, max_side=COVERAGE_SIDE, who="plot_coverage")
    annotate = as_flag(annotate, "annotate")
    if annotate and max(window.size) > ANNOTATE_SIDE:
        raise ValueError(f"annotate=True writes a count in every cell, for maps up to "
                         f"{ANNOTATE_SIDE} per side; this one is {dims(window.size)}")
    counts = count_coverage(window, size)
    inner = interior(counts, kernel, window)
    uneven = inner.size > 0 and inner.min() != inner.max()
    if title is None:
        verdict = ("uneven overlap: checkerboard" if uneven
                   else "even overlap inside the border")
        title = (f"Coverage of conv_transpose, kernel {dims(kernel)}, stride "
                 f"{format_arg(stride)}\n{dims(size)} \u2192 {dims(counts.shape)}: "
                 f"{verdict}")
    if counts.ndim == 1:
        ax = new_axes(ax, (min(12.0, max(4.5, 0.35 * counts.size + 1.5)), 3.2))
        j = np.arange(counts.size)
        ax.bar(j, counts, color=[PALETTE[int(c) % len(PALETTE)] for c in counts],
               edgecolor="0.3" if counts.size <= 100 else "none",
               width=0.8 if counts.size <= 100 else 1.0)
        if counts.size <= 48:  # a tick per output while they stay legible
            ax.set_xticks(j)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if counts.max() <= 12:
            ax.set_yticks(np.arange(counts.max() + 1))
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("output position")
        ax.set_ylabel("times written (T @ 1)")
        ax.set_xlim(-0.6, counts.size - 0.4)
        if 24 < counts.size <= 48:
            ax.tick_params(axis="x", labelsize=MIN_FONT, labelrotation=90)
    else:
        ax = new_axes(ax, (min(9, 1.5 + 0.42 * counts.shape[1]),
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
                        fontsize=MIN_FONT if max(counts.shape) > 12 else 10,
                        color="white" if v / top > 0.6 else "black")
        else:
            ax.figure.colorbar(image, ax=ax, label="times written (T @ 1)", shrink=0.8)
        ax.set_xlabel("output column")
        ax.set_ylabel("output row")
    ax.set_title(title, fontsize=10)
    return ax


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
        rgba = np.array([mcolors.to_rgba(PALETTE[i % len(PALETTE)]) for i in ids.ravel()])
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
        size = 14 if max(m.shape) <= 6 else 11 if max(m.shape) <= 12 else MIN_FONT
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

    Used for the pictures of *Unsampling: Unpooling and Transpose Convolution*: max
    pooling, the three unpoolings (nearest neighbour, bed of nails, max unpooling) and the
    transposed convolution.

    Parameters
    ----------
    before, after : array_like, shape (H, W) or (1, H, W)
        The maps, e.g. ``x`` and ``(A @ x.ravel()).reshape(out)``.
    op : str, optional
        Name of the operation, for the default figure title.
    before_title, after_title : str, optional
        Panel titles (default: "input H×W" and "output H×W").
    highlight_before, highlight_after : array_like of bool, optional
        Cells to frame and write in bold: the maxima of a max pooling, the cells an
        unpooling writes. Other cells are faded.
    block : tuple of int, optional
        Draw the pooling / unpooling windows of this size on the larger map, and (when
        one map is an integer blow-up of the other) colour the cells by window, so that
        each window matches its cell in the smaller map, as in the article's figures.
        Without it, cells are shaded by value.
    annotate : bool, optional
        Write the values (default: maps up to 16 x 16; at most ``MAP_ANNOTATE_SIDE`` = 32
        per side).
    title : str, optional
        Figure title (default: ``op`` and the shapes).
    ax : pair of Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Maps are drawn cell by cell, so each has at most ``MAP_SIDE`` = 256 cells per side
    and at least one; NaN and infinite values are written but do not set the colour
    scale.
    """
    op = as_text(op, "op")
    before_title = as_text(before_title, "before_title")
    after_title = as_text(after_title, "after_title")
    title = as_text(title, "title")
    b, _ = read_map(before, "before", MAP_SIDE)
    a, _ = read_map(after, "after", MAP_SIDE)
    hb = None if highlight_before is None else \
        read_map(highlight_before, "highlight_before", MAP_SIDE)[0] > 0
    ha = None if highlight_after is None else \
        read_map(highlight_after, "highlight_after", MAP_SIDE)[0] > 0
    for h, m, name in ((hb, b, "highlight_before"), (ha, a, "highlight_after")):
        if h is not None and h.shape != m.shape:
            raise ValueError(f"{name} must have the map's shape {m.shape}, got {h.shape}")
    block = None if block is None else as_tuple(block, 2, "block", at_least=1)
    annotate = as_flag(annotate, "annotate")
    if annotate is None:
        annotate = max(*b.shape, *a.shape) <= 16
    elif annotate and max(*b.shape, *a.shape) > MAP_ANNOTATE_SIDE:
        raise ValueError(f"annotate=True writes a value in every cell, for maps up to "
                         f"{MAP_ANNOTATE_SIDE} per side; these are {dims(b.shape)} and "
                         f"{dims(a.shape)}")
    if title is None:
        title = f"{op}: {dims(b.shape)} \u2192 {dims(a.shape)}" if op else \
            f"{dims(b.shape)} \u2192 {dims(a.shape)}"
    if ax is None:  # every cell the same size in both maps
        side = max(*b.shape, *a.shape)
        cell = 0.8 if side <= 6 else 0.55 if side <= 12 else 0.3
        fig, axes = cell_panels([b.shape, a.shape], cell, gap=0.7, left=0.2, right=0.2,
                                above=0.45, below=0.2, align="center", title=title)
    else:
        fig, axes = new_axes_row(ax, 2, None)
        suptitle(fig, title)
    ids_b = ids_a = None
    if block is not None:  # colour by window only for (un)pooling, where windows tile
        ids_b, ids_a = _block_ids(b.shape, a.shape), _block_ids(a.shape, b.shape)
    finite = np.concatenate([b[np.isfinite(b)], a[np.isfinite(a)]])
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    blk_b = block if block is not None and b.size >= a.size else None
    blk_a = block if block is not None and a.size > b.size else None
    _draw_map(axes[0], b, ids_b, hb, annotate, vmin, vmax, blk_b)
    _draw_map(axes[1], a, ids_a, ha, annotate, vmin, vmax, blk_a)
    axes[0].set_title(before_title or f"input {dims(b.shape)}", fontsize=11)
    axes[1].set_title(after_title or f"output {dims(a.shape)}", fontsize=11)
    arrow = ConnectionPatch(xyA=(1.04, 0.5), coordsA=axes[0].transAxes,
                            xyB=(-0.04, 0.5), coordsB=axes[1].transAxes,
                            arrowstyle="-|>", mutation_scale=18, linewidth=1.8,
                            color="0.3")
    fig.add_artist(arrow)
    return fig
