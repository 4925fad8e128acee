"""The figures of *Unsampling: Unpooling and Transpose Convolution*, drawn from convmat's
matrices: what ``convmat figures`` writes.

:data:`FIGURES` lists each figure's file name (without ``.png``) and the function that
draws it; :func:`render_figures` saves them all. Every figure is computed, not drawn by
hand: the maps are ``A @ x`` for the matrix ``A`` of the operation, and the labelled
matrices come from :func:`~convmat.conv_taps` and :func:`~convmat.conv_transpose_taps`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from ._args import as_dpi, as_path
from .convolution import conv_transpose_taps
from .labels import POOLING_EXAMPLE, UNPOOLING_EXAMPLE
from .plot import (
    plot_before_after,
    plot_conv_transpose_stamps,
    plot_conv_windows,
    plot_coverage,
    plot_max_unpooling,
    plot_stride_comparison,
    plot_taps,
    plot_transpose_pair,
)
from .plot_layout import new_figure, suptitle
from .pooling import max_pool_selection
from .unpooling import bed_of_nails_matrix, interpolate_matrix

__all__ = ["FIGURES", "render_figures"]


def render_figures(out, *, dpi: int = 120) -> list[Path]:
    """Draw every figure of :data:`FIGURES` into the directory ``out`` (created if needed)
    as ``<name>.png``, cropped to what is drawn; returns the paths written, in order.

    Parameters
    ----------
    out : str or os.PathLike
        The directory to write into (not ``''``; an existing file is refused).
    dpi : int
        Resolution, an integer from 20 to 1000 dots per inch (below 20 the smallest
        labels are under half a pixel; a 12-inch figure at 1000 is 12000 pixels wide).

    Returns
    -------
    list of pathlib.Path
    """
    out, dpi = as_path(out, "out"), as_dpi(dpi)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must name a directory, got out={str(out)!r}, which is a file")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in FIGURES:
        path = out / f"{name}.png"
        # The figures are not pyplot's: nothing to close, the garbage collector frees them.
        make().savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.15)
        written.append(path)
    return written


# --------------------------------------------------------------------------- pooling
def max_pooling():
    S, _ = max_pool_selection(POOLING_EXAMPLE[None], 2)
    pooled = (S @ POOLING_EXAMPLE.ravel()).reshape(2, 2)
    chosen = np.zeros(POOLING_EXAMPLE.size, bool)
    chosen[S.indices] = True  # the one column of each row: the window's maximum
    return plot_before_after(POOLING_EXAMPLE, pooled, highlight_before=chosen.reshape(4, 4),
                             block=(2, 2),
                             title="Max pooling 2\u00d72, stride 2: 4\u00d74 \u2192 2\u00d72 "
                                   "(S @ x keeps each window's maximum)")


def nearest_unpooling():
    A = interpolate_matrix((1, 2, 2), scale_factor=2, mode="nearest")
    up = (A @ UNPOOLING_EXAMPLE.ravel()).reshape(4, 4)
    return plot_before_after(UNPOOLING_EXAMPLE, up, block=(2, 2),
                             title="Nearest-neighbour unpooling: 2\u00d72 \u2192 4\u00d74 "
                                   "(each value copied to its block)")


def bed_of_nails():
    A = bed_of_nails_matrix((1, 2, 2), 2)
    up = (A @ UNPOOLING_EXAMPLE.ravel()).reshape(4, 4)
    written = (np.diff(A.indptr) > 0).reshape(4, 4)  # the rows that hold an entry
    return plot_before_after(UNPOOLING_EXAMPLE, up, block=(2, 2), highlight_after=written,
                             title="Bed of nails: 2\u00d72 \u2192 4\u00d74 (each value at "
                                   "its block's top-left corner, zeros elsewhere)")


def max_unpooling():
    _, idx = max_pool_selection(POOLING_EXAMPLE[None], 2)
    return plot_max_unpooling(UNPOOLING_EXAMPLE, idx[0], 2)


# --------------------------------------------------------------------------- convolution
def strided_conv_2d():
    return plot_conv_windows(3, POOLING_EXAMPLE, stride=2, padding=1)


def transposed_conv_2d():
    return plot_conv_transpose_stamps(3, UNPOOLING_EXAMPLE, stride=2, padding=1,
                                      output_padding=1)


def transposed_conv_1d(stride):
    """Inputs ``[a, b]`` through the filter ``[x, y, z]``: 2 -> 5 at stride 2, 2 -> 4 at 1."""
    taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=stride)
    n_out = taps.shape[0]
    ax = plot_taps(taps, "xyz", in_shape=(1, 2), out_shape=(1, n_out), in_names="ab",
                   title=f"1-D transposed conv, stride {stride}:\ninputs [a, b], filter "
                         f"[x, y, z]\n2 \u2192 {n_out} outputs, overlaps summed")
    return ax.figure


def conv_and_transpose(stride, size, padding):
    return plot_transpose_pair((1, 1, 3), (1, size), stride=stride, padding=padding)


def conv_and_transpose_2d():
    """4x4 at stride 2, padding 1: C.T needs output_padding=1 to map 2x2 back to 4x4."""
    return plot_transpose_pair((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1,
                               names="abcdefghi")


def sparsity_1d():
    return plot_stride_comparison(
        (2, 2, 3), (2, 10), padding=1, in_names=None, annotate=False,
        title="Sparsity of conv_matrix, 1-D: 2 channels of length 10, kernel 3, padding 1 "
              "(lines: channel blocks)")


def sparsity_2d():
    return plot_stride_comparison(
        (1, 1, 3, 3), (1, 6, 6), padding=1,
        title="Sparsity of conv_matrix, 2-D: a 6\u00d76 image, kernel 3\u00d73, padding 1 "
              "(lines and ticks: image rows)")


def coverage_maps(ndim):
    """Kernel 3 against kernel 4 at stride 2: the checkerboard, and its absence."""
    size = (5,) if ndim == 1 else (4, 4)
    figsize = (11, 3.8) if ndim == 1 else (11, 6.6)
    fig = new_figure(figsize)
    for ax, k in zip(fig.subplots(1, 2), (3, 4)):
        plot_coverage(k, size, 2, ax=ax)
    suptitle(fig, f"Coverage of conv_transpose at stride 2 ({ndim}-D): kernel 3 "
                  "(not a multiple of 2) against kernel 4 (a multiple of 2)")
    return fig


#: ``(file name, maker)`` of every figure, in the order they are written.
FIGURES = [
    ("01_max_pooling", max_pooling),
    ("02_unpool_nearest", nearest_unpooling),
    ("03_unpool_bed_of_nails", bed_of_nails),
    ("04_max_unpooling", max_unpooling),
    ("05_strided_conv_2d", strided_conv_2d),
    ("06_transposed_conv_2d", transposed_conv_2d),
    ("07_transposed_conv_1d_stride2", partial(transposed_conv_1d, 2)),
    ("08_transposed_conv_1d_stride1", partial(transposed_conv_1d, 1)),
    ("09_conv_and_transpose_stride1", partial(conv_and_transpose, 1, 4, 1)),
    ("10_conv_and_transpose_stride2", partial(conv_and_transpose, 2, 5, 0)),
    ("11_sparsity_1d_stride1_vs_2", sparsity_1d),
    ("12_sparsity_2d_stride1_vs_2", sparsity_2d),
    ("13_coverage_1d", partial(coverage_maps, 1)),
    ("14_coverage_2d", partial(coverage_maps, 2)),
    ("15_conv_and_transpose_2d", conv_and_transpose_2d),
]
