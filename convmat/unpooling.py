"""Unpooling as sparse matrices: max unpooling, bed of nails and pixel (un)shuffle.

Each of these ops copies every output from at most one input: max unpooling puts each
value back at a recorded position (``S.T`` of max pooling), bed of nails at a fixed
position of its block, and pixel shuffle and unshuffle just reorder. Each is described by
one *index map*, the flat input every output reads (``-1``: a zero), computed once here
from the geometry: the builders turn it into a 0/1 matrix
(:func:`convmat.pooling.selection_matrix`) and the matrix-free operators
(:class:`convmat.IndexOperator`) gather through it. Interpolation, which blends
neighbours, has its own module, :mod:`convmat.interpolation`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array

from ._args import as_array
from ._sparse import Budget, index_dtype
from .interpolation import interpolate_matrix  # noqa: F401  (re-exported, see below)
from .pooling import selection_matrix
from .shapes import (
    BedOfNailsGeometry,
    PixelShuffleGeometry,
    UnpoolGeometry,
    bed_of_nails_geometry,
    max_unpool_geometry,
    pixel_shuffle_geometry,
    pixel_unshuffle_geometry,
)

# interpolate_matrix lives in convmat.interpolation; it is importable from here too for
# the callers of ``from convmat.unpooling import interpolate_matrix`` (convmat.cli,
# convmat.figures) until they import it from its home.
__all__ = [
    "bed_of_nails_matrix",
    "max_unpool_matrix",
    "pixel_shuffle_matrix",
    "pixel_unshuffle_matrix",
]


# --------------------------------------------------------------------------- max unpooling
def max_unpool_indices(indices: ArrayLike, kernel_size, *, stride=None, padding=0,
                       output_size=None) -> tuple[UnpoolGeometry, np.ndarray]:
    """Validate a max unpooling as ``F.max_unpool{1,2,3}d`` does.

    Returns the geometry and the indices as a ``(C, prod(in_spatial))`` array, each checked
    to lie in ``[0, prod(out_spatial))``. torch checks them only when there is an output
    to write to: an empty plane takes any index (``max_unpool1d`` to
    ``output_size=(0,)`` returns an empty map).
    """
    idx = as_array(indices, "indices")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices must hold integers, got an array of dtype {idx.dtype}")
    geo = max_unpool_geometry(idx.shape, kernel_size, stride=stride, padding=padding,
                              output_size=output_size)
    plane = math.prod(geo.out)
    idx = idx.reshape(geo.channels, -1)
    if plane and idx.size:
        low, high = idx.min(), idx.max()  # compared before any cast: a huge uint64 stays huge
        if low < 0 or high >= plane:
            # The size comes from the arguments: say which, so a wrong stride is found.
            origin = (f"output_size={output_size!r}" if output_size is not None else
                      f"(L - 1) * stride - 2 * padding + kernel_size with kernel_size="
                      f"{kernel_size!r}, stride={stride!r}, padding={padding!r}")
            raise ValueError(
                f"indices must lie in [0, {plane}) for an output of spatial size {geo.out} "
                f"({origin}), found index {low if low < 0 else high}"
            )
    return geo, idx


def max_unpool_source(geo: UnpoolGeometry, idx: np.ndarray, out=None) -> np.ndarray:
    """The index map of max unpooling: for each flat output, the flat input written there.

    ``idx`` comes from :func:`max_unpool_indices`. An output no index points at reads
    ``-1`` (a zero); when several inputs of a channel point at it, the last in C order
    wins (torch's result with one thread). In the matrix's index dtype, written into
    ``out`` when given.
    """
    plane = math.prod(geo.out)
    n_rows, n_cols = geo.channels * plane, idx.size
    itype = index_dtype(n_rows + 1, n_cols)
    src = np.empty(n_rows, dtype=itype) if out is None else out
    src.fill(-1)
    if plane:  # an empty plane is written nowhere
        rows = idx.astype(itype) + np.arange(0, n_rows, plane, dtype=itype)[:, None]
        # The largest input per output is the last writer; maximum.at is exact with repeats.
        np.maximum.at(src, rows.ravel(), np.arange(n_cols, dtype=itype))
    return src


def max_unpool_matrix(
    indices: ArrayLike, kernel_size, *, stride=None, padding=0, output_size=None,
    max_entries=None,
) -> csr_array:
    r"""The matrix of ``torch.nn.functional.max_unpool{1,2,3}d`` for given indices.

    Parameters
    ----------
    indices : array_like of int, shape (C, *spatial)
        Where each input value goes: a flat position inside its channel's output plane,
        as returned by :func:`max_pool_selection` (torch's ``return_indices``). The input
        of the unpooling has this shape.
    kernel_size, stride, padding : int or tuple of int
        Those of the max pooling being undone; they only set the output size
        ``(L - 1) * stride - 2 * padding + kernel_size`` (``stride`` defaults to
        ``kernel_size``).
    output_size : tuple of int, optional
        The spatial output size (``nd`` or ``nd + 2`` entries), strictly within ``stride``
        of the default, as torch allows.
    max_entries : int, optional
        Refuse to build more stored entries than this.

    Returns
    -------
    csr_array, shape (C * prod(output_size), C * prod(spatial)), float64
        ``U`` with ``U @ x.ravel() == max_unpool(x[None], indices[None])[0].ravel()``: a 0/1
        matrix with at most one 1 per row and per column.

    Notes
    -----
    .. math::  U[(c, \mathrm{indices}[c, j]), (c, j)] = 1

    An index outside ``[0, prod(output_size))`` raises ``ValueError``, as torch does. When
    two inputs of a channel share an index, the last one in C order wins (torch's result
    with one thread; with several, its CPU kernel races). For the indices of a max pooling
    with non-overlapping windows that tile the input, ``U == S.T``.

    Examples
    --------
    Undoing the pooling of ``[1, 3, 2, 2]`` in pairs, which picked positions 1 and 2:

    >>> import numpy as np
    >>> from convmat import max_unpool_matrix
    >>> U = max_unpool_matrix(np.array([[1, 2]]), 2)
    >>> U.toarray()
    array([[0., 0.],
           [1., 0.],
           [0., 1.],
           [0., 0.]])
    >>> U.T.toarray()
    array([[0., 1., 0., 0.],
           [0., 0., 1., 0.]])
    """
    geo, idx = max_unpool_indices(indices, kernel_size, stride=stride, padding=padding,
                                  output_size=output_size)
    n_rows = math.prod(geo.out_shape)
    Budget("max_unpool_matrix", "convmat.max_unpool_operator", 8, max_entries).check(
        idx.size, n_rows)
    # Most outputs are zeros: the map is written where the row pointers will go.
    indptr = np.empty(n_rows + 1, dtype=index_dtype(n_rows + 1, idx.size))
    src = max_unpool_source(geo, idx, out=indptr[1:])
    return selection_matrix(src, idx.size, indptr=indptr)


# --------------------------------------------------------------------------- bed of nails
def bed_of_nails_source(geo: BedOfNailsGeometry, out=None) -> np.ndarray:
    """The index map of bed-of-nails upsampling: output ``(c, i s + o)`` reads input
    ``(c, i)``, every other output ``-1`` (a zero). Flat, in the matrix's index dtype,
    written into ``out`` when given."""
    n_rows, n_cols = math.prod(geo.out_shape), geo.channels * math.prod(geo.size)
    itype = index_dtype(n_rows + 1, n_cols)
    src = np.empty(n_rows, dtype=itype) if out is None else out
    src.fill(-1)
    nails = (slice(None),) + tuple(slice(o, None, s) for o, s in zip(geo.offset, geo.scale))
    src.reshape(geo.out_shape)[nails] = np.arange(n_cols, dtype=itype).reshape(
        geo.channels, *geo.size)
    return src


def bed_of_nails_matrix(input_shape, scale_factor, *, offset=0,
                        max_entries=None) -> csr_array:
    r"""Bed-of-nails upsampling: each value at one fixed position of its block, zeros around.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, *spatial)`` of the input sample, any number of spatial dimensions.
    scale_factor : int or tuple of int
        Block size per dimension (positive).
    offset : int or tuple of int
        Position of the value inside its block, ``0 <= offset < scale_factor`` (default:
        the block's first corner).
    max_entries : int, optional
        Refuse to build more stored entries than this.

    Returns
    -------
    csr_array, shape (C * prod(L * scale_factor), C * prod(L)), float64
        ``B`` with one 1 per column.

    Notes
    -----
    Per dimension, ``y[i s + o] = x[i]`` and the rest of the block is 0:

    .. math::  B[(c, q), (c, i)] = 1 \iff q = i\,s + o \text{ in every dimension}

    It equals :func:`max_unpool_matrix` with every index at position ``offset`` of its
    block, and ``B.T`` is strided subsampling (``x[..., o::s]``).

    Examples
    --------
    >>> from convmat import bed_of_nails_matrix
    >>> B = bed_of_nails_matrix((1, 2), 2)
    >>> B.toarray()
    array([[1., 0.],
           [0., 0.],
           [0., 1.],
           [0., 0.]])
    >>> B.T.toarray()
    array([[1., 0., 0., 0.],
           [0., 0., 1., 0.]])
    """
    geo = bed_of_nails_geometry(input_shape, scale_factor, offset=offset)
    n_rows, n_cols = math.prod(geo.out_shape), geo.channels * math.prod(geo.size)
    # One entry per input, one row per output: sized before the index map (one slot per
    # output). An empty input gives the empty matrix, as the operator does.
    Budget("bed_of_nails_matrix", "convmat.bed_of_nails_operator", 8, max_entries).check(
        n_cols, n_rows)
    # Most outputs are zeros: the map is written where the row pointers will go.
    indptr = np.empty(n_rows + 1, dtype=index_dtype(n_rows + 1, n_cols))
    src = bed_of_nails_source(geo, out=indptr[1:])
    return selection_matrix(src, n_cols, indptr=indptr)


# --------------------------------------------------------------------------- pixel shuffle
def _permutation(geo: PixelShuffleGeometry, max_entries, what: str) -> csr_array:
    """The permutation matrix of a pixel (un)shuffle: row ``i`` reads ``geo.source()[i]``
    (checked against the entry limit before the index map exists)."""
    n = math.prod(geo.in_shape)
    Budget(what, f"convmat.{what.replace('_matrix', '_operator')}", 8, max_entries).check(n, n)
    return selection_matrix(geo.source(index_dtype(n + 1)), n)


def pixel_shuffle_matrix(input_shape, upscale_factor: int, *, max_entries=None) -> csr_array:
    r"""The permutation matrix of ``torch.nn.functional.pixel_shuffle``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(*B, C r^2, H, W)``: the last three axes are shuffled, leading ones are kept.
    upscale_factor : int
        ``r``, positive; ``C r^2`` must be divisible by ``r^2``.
    max_entries : int, optional
        Refuse to build more stored entries than this.

    Returns
    -------
    csr_array, shape (n, n), float64
        ``P`` with ``P @ x.ravel() == pixel_shuffle(x[None], r)[0].ravel()``.

    Notes
    -----
    .. math::  y[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]

    ``P`` is a permutation: ``P.T`` is its inverse, :func:`pixel_unshuffle_matrix`.

    Examples
    --------
    Four channels of a 1x2 map become one channel of 2x4: channel ``2 i + j`` of pixel
    ``w`` goes to row ``i``, column ``2 w + j``. ``P.T`` undoes it:

    >>> import numpy as np
    >>> from convmat import pixel_shuffle_matrix
    >>> P = pixel_shuffle_matrix((4, 1, 2), 2)
    >>> P.toarray().astype(int)
    array([[1, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 1, 0, 0, 0, 0, 0],
           [0, 1, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0, 0],
           [0, 0, 0, 0, 1, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 1, 0],
           [0, 0, 0, 0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 1]])
    >>> P @ np.arange(8.)
    array([0., 2., 1., 3., 4., 6., 5., 7.])
    >>> P.T @ (P @ np.arange(8.))
    array([0., 1., 2., 3., 4., 5., 6., 7.])
    """
    # Input channel c r^2 + i r + j at (h, w) goes to (c, h r + i, w r + j).
    return _permutation(pixel_shuffle_geometry(input_shape, upscale_factor), max_entries,
                        "pixel_shuffle_matrix")


def pixel_unshuffle_matrix(input_shape, downscale_factor: int, *,
                           max_entries=None) -> csr_array:
    r"""The permutation matrix of ``torch.nn.functional.pixel_unshuffle``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(*B, C, H r, W r)``: the last three axes are shuffled, leading ones are kept.
    downscale_factor : int
        ``r``, positive, dividing both ``H r`` and ``W r``.
    max_entries : int, optional
        Refuse to build more stored entries than this.

    Returns
    -------
    csr_array, shape (n, n), float64
        ``Q`` with ``Q @ x.ravel() == pixel_unshuffle(x[None], r)[0].ravel()``.

    Notes
    -----
    .. math::  y[c r^2 + i r + j, h, w] = x[c, h r + i, w r + j]

    The inverse of pixel shuffle: ``Q == pixel_shuffle_matrix(<Q's output shape>, r).T``.

    Examples
    --------
    One 2x4 channel cut into 2x2 blocks becomes four 1x2 channels, one per position in
    the block; ``Q.T`` is pixel shuffle:

    >>> import numpy as np
    >>> from convmat import pixel_unshuffle_matrix
    >>> Q = pixel_unshuffle_matrix((1, 2, 4), 2)
    >>> Q @ np.arange(8.)
    array([0., 2., 1., 3., 4., 6., 5., 7.])
    >>> Q.T @ (Q @ np.arange(8.))
    array([0., 1., 2., 3., 4., 5., 6., 7.])
    """
    # (c, h r + i, w r + j) goes to channel c r^2 + i r + j at (h, w).
    return _permutation(pixel_unshuffle_geometry(input_shape, downscale_factor), max_entries,
                        "pixel_unshuffle_matrix")
