"""Unpooling and interpolation as sparse matrices: every fixed way of making a map larger.

Max unpooling puts each value back at a recorded position (``S.T`` of max pooling),
bed of nails puts it at a fixed position of its block, and interpolation (nearest,
linear, cubic) blends neighbours with weights that depend on the geometry only. Pixel
shuffle and unshuffle just reorder. All are separable or permutations, so each is built
from 1-D factors (:class:`~convmat._sparse.Axis`) or one index permutation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array

from ._sparse import Axis, check_entries, index_dtype, kron_axes, make_csr
from .shapes import (
    bed_of_nails_geometry,
    interpolate_geometry,
    max_unpool_geometry,
    pixel_shuffle_output_shape,
    pixel_unshuffle_output_shape,
)

__all__ = [
    "bed_of_nails_matrix",
    "interpolate_matrix",
    "max_unpool_matrix",
    "pixel_shuffle_matrix",
    "pixel_unshuffle_matrix",
]


def _channel_axis(channels: int) -> Axis:
    return Axis(np.arange(channels)[:, None], channels)


# --------------------------------------------------------------------------- max unpooling
def check_unpool_indices(idx: np.ndarray, plane: int, out) -> None:
    """Refuse an index outside ``[0, plane)`` of an output of spatial size ``out``.

    torch only checks the indices when there is an output to write to: an empty plane
    takes any index (``max_unpool1d`` to ``output_size=(0,)`` returns an empty map).
    """
    if plane and idx.size:
        low, high = idx.min(), idx.max()
        if low < 0 or high >= plane:
            bad = low if low < 0 else high
            raise ValueError(
                f"indices must lie in [0, {plane}) for an output of spatial size {out}, "
                f"found index {bad}"
            )


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
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices must hold integers, got an array of dtype {idx.dtype}")
    geo = max_unpool_geometry(idx.shape, kernel_size, stride=stride, padding=padding,
                              output_size=output_size)
    channels = geo.channels
    plane, n_in = math.prod(geo.out), math.prod(geo.in_size)
    n_rows, n_cols = channels * plane, channels * n_in
    idx = idx.reshape(channels, n_in)
    check_unpool_indices(idx, plane, geo.out)
    check_entries(n_cols, 8, "max_unpool_matrix", "max unpooling", max_entries, n_rows)
    itype = index_dtype(n_rows + 1, n_cols)
    if plane == 0:
        return make_csr(np.ones(0), np.zeros(0, itype), np.zeros(n_rows + 1, itype),
                        (n_rows, n_cols))
    rows = idx.astype(itype) + np.arange(0, n_rows, plane, dtype=itype)[:, None]
    # The largest column per row is the last writer in C order. The winners are found in
    # the indptr array itself, which then receives the row counts.
    indptr = np.empty(n_rows + 1, dtype=itype)
    indptr[0] = 0
    winner = indptr[1:]
    winner.fill(-1)
    np.maximum.at(winner, rows.ravel(), np.arange(n_cols, dtype=itype))
    hit = winner >= 0
    cols = winner.take(np.flatnonzero(hit))  # a boolean index is slow on a sparse mask
    np.cumsum(hit, out=winner)
    return make_csr(np.ones(cols.size), cols, indptr, (n_rows, n_cols))


# --------------------------------------------------------------------------- bed of nails
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
    # One entry per input, one row per output: sized before the per-axis arrays (in 1-D
    # as large as the matrix). An empty input gives the empty matrix, as the operator does.
    check_entries(geo.channels * math.prod(geo.size), 8, "bed_of_nails_matrix",
                  "bed-of-nails upsampling", max_entries, math.prod(geo.out_shape))
    axes = [_channel_axis(geo.channels)]
    for L, s, o in zip(geo.size, geo.scale, geo.offset):
        q = np.arange(L * s)[:, None]
        hit = q % s == o
        axes.append(Axis(q // s, L, valid=None if hit.all() else hit))
    pattern = kron_axes(axes, taps=False, what="bed_of_nails_matrix",
                        hint="bed-of-nails upsampling", max_entries=max_entries)
    return pattern.csr(np.ones(pattern.nnz))


# --------------------------------------------------------------------------- interpolation
def _floor32(v: np.ndarray) -> np.ndarray:
    # torch's floorf(): the argument is rounded to float32 first, even when it is a double.
    return np.floor(np.asarray(v).astype(np.float32)).astype(np.int64)


def _scale(L: int, O: int, align_corners: bool, factor, ft) -> np.floating:
    """torch's ``area_pixel_compute_scale`` in the op-math type ``ft``."""
    if align_corners:
        return ft(L - 1) / ft(O - 1) if O > 1 else ft(0)
    if factor is not None and factor > 0:
        return ft(1.0 / factor)
    return ft(L) / ft(O)


def _source(scale, O: int, align_corners: bool, cubic: bool, ft) -> np.ndarray:
    """torch's ``area_pixel_compute_source_index`` for every output position."""
    j = np.arange(O).astype(ft)
    if align_corners:
        return scale * j
    if ft is np.float32:
        # torch's x86 build contracts ``scale * (j + 0.5) - 0.5`` into one fused
        # multiply-add, rounded once: exact in double, then rounded to float32.
        src = (np.float64(scale) * (j + ft(0.5)) - 0.5).astype(ft)
    else:
        src = scale * (j + 0.5) - 0.5
    return src if cubic else np.where(src < 0, ft(0), src)


def _nearest(L: int, O: int, mode: str, factor, ft, small_2d: bool) -> np.ndarray:
    """Source index of every output position, as torch's two nearest kernels compute it."""
    j = np.arange(O)
    if small_2d:
        # The vectorised 2-D kernel (output H + W <= 128): float32 whatever the dtype,
        # with exact shortcuts for scale 1 and 2 in mode "nearest" only.
        r32 = np.float32(1.0 / factor) if factor is not None and factor > 0 else (
            np.float32(L) / np.float32(O))
        if mode == "nearest":
            if O == L:
                return j
            if O == 2 * L:
                return j >> 1
            i = np.floor(j.astype(np.float32) * r32)
        else:
            i = np.floor(((j + 0.5) * np.float64(r32)).astype(np.float32))
        return np.minimum(i.astype(np.int64), L - 1)
    scale = _scale(L, O, False, factor, ft)
    if mode == "nearest":
        i = _floor32(_source(scale, O, True, False, ft))
    else:
        i = _floor32(_source(scale, O, False, False, ft).astype(np.float64) + 0.5)
    return np.minimum(i, L - 1)


def _linear(L: int, O: int, align_corners: bool, factor, ft):
    """Columns ``(O, 2)`` and weights of 1-D linear interpolation."""
    if O == L:  # torch copies, whatever the scale factor
        return np.arange(O)[:, None], np.ones((O, 1), dtype=ft)
    src = _source(_scale(L, O, align_corners, factor, ft), O, align_corners, False, ft)
    i0 = np.minimum(_floor32(src), L - 1)
    lam = np.clip(src - i0.astype(ft), ft(0), ft(1))
    i1 = i0 + (i0 < L - 1)
    return np.stack([i0, i1], axis=1), np.stack([ft(1) - lam, lam], axis=1)


def _cubic(L: int, O: int, align_corners: bool, factor, ft):
    """Columns ``(O, 4)`` and weights of 1-D cubic convolution (A = -0.75), as torch."""
    src = _source(_scale(L, O, align_corners, factor, ft), O, align_corners, True, ft)
    i0 = np.minimum(_floor32(src), L - 1)
    t = np.clip(src - i0.astype(ft), ft(0), ft(1))
    A = ft(-0.75)

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    weights = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1).astype(ft)
    cols = np.clip(i0[:, None] + np.arange(-1, 3), 0, L - 1)  # border replicated
    return cols, weights


def _merge_runs(cols: np.ndarray, weights: np.ndarray):
    """A 1-D factor from non-decreasing ``cols`` per row, equal neighbours summed."""
    n_rows, width = cols.shape
    new = np.ones(cols.shape, dtype=bool)
    new[:, 1:] = cols[:, 1:] != cols[:, :-1]
    slot = np.cumsum(new, axis=1) - 1
    rows = np.broadcast_to(np.arange(n_rows)[:, None], cols.shape)
    out_cols = np.zeros(cols.shape, dtype=np.int64)
    out_cols[rows, slot] = cols
    out_w = np.zeros(cols.shape, dtype=weights.dtype)
    np.add.at(out_w, (rows, slot), weights)
    valid = np.zeros(cols.shape, dtype=bool)
    valid[rows, slot] = True
    return out_cols, out_w, None if valid.all() else valid


def _interpolate_taps(geo) -> int:
    """An upper bound on the stored entries of ``interpolate_matrix``, by arithmetic.

    Per dimension an output reads 1 (nearest; linear when ``O == L``), 2 (linear) or 4
    (bicubic) inputs, and never more than ``L``; border rows may merge two of them, so
    the count is exact up to those rows.
    """
    total = geo.channels
    for L, O in zip(geo.size, geo.out):
        if geo.mode.startswith("nearest") or O == L:  # torch copies when O == L
            taps = 1
        else:
            taps = min(4 if geo.mode == "bicubic" else 2, L)
        total *= O * taps
    return total


def interpolate_factors(input_shape, *, size, scale_factor, mode, align_corners,
                        recompute_scale_factor, dtype, for_matrix=False, max_entries=None):
    """Validated geometry, float type and the 1-D factor of every spatial dimension.

    ``interpolate_matrix`` and ``interpolate_operator`` both start here, so the matrix and
    the matrix-free operator sample at the same positions, bit for bit. ``for_matrix``:
    refuse a matrix over ``max_entries`` before the factors, which in 1-D are as large as
    the matrix, are built.
    """
    ft = np.dtype(dtype).type
    if ft not in (np.float32, np.float64):
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got dtype={dtype!r}")
    geo = interpolate_geometry(input_shape, size=size, scale_factor=scale_factor, mode=mode,
                               align_corners=align_corners,
                               recompute_scale_factor=recompute_scale_factor)
    if for_matrix:
        check_entries(_interpolate_taps(geo), np.dtype(ft).itemsize, "interpolate_matrix",
                      "interpolation", max_entries, math.prod(geo.out_shape))
    small_2d = len(geo.out) == 2 and sum(geo.out) <= 128
    axes = []
    for L, O, factor in zip(geo.size, geo.out, geo.scales):
        if geo.mode.startswith("nearest"):
            axes.append(Axis(_nearest(L, O, geo.mode, factor, ft, small_2d)[:, None], L))
            continue
        if geo.mode == "bicubic":
            cols, weights = _cubic(L, O, geo.align_corners, factor, ft)
        else:
            cols, weights = _linear(L, O, geo.align_corners, factor, ft)
        cols, weights, valid = _merge_runs(cols, weights)
        axes.append(Axis(cols, L, valid=valid, values=weights))
    return geo, ft, axes


def interpolate_matrix(
    input_shape, *, size=None, scale_factor=None, mode: str = "nearest",
    align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
    dtype=np.float64, max_entries=None,
) -> csr_array:
    r"""The matrix of ``torch.nn.functional.interpolate`` for one sample.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, *spatial)`` of the input sample, 1, 2 or 3 spatial dimensions.
    size : int or tuple of int, optional
        The output's spatial size. Exactly one of ``size`` and ``scale_factor``.
    scale_factor : float or tuple of float, optional
        Output size ``floor(L * scale_factor)``; any positive factor, upsampling or
        downsampling. Unless ``recompute_scale_factor``, torch samples with ``1 /
        scale_factor``, not ``L / O``, so the result can differ from the same ``size``.
    mode : {"nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic"}
        As in torch: ``linear`` needs 1, ``bilinear`` and ``bicubic`` 2, ``trilinear`` 3
        spatial dimensions.
    align_corners : bool, optional
        For the interpolating modes only (default ``False``): align the corner pixels'
        centres instead of their edges.
    recompute_scale_factor : bool, optional
        Compute the output size from ``scale_factor``, then sample with ``L / O``.
    dtype : {numpy.float64, numpy.float32}
        The dtype of the input this matrix is for, and of the matrix. torch computes the
        sampling positions in the input's precision (float32 arithmetic for float32
        inputs), so a nearest index or a linear weight can depend on it: pass the dtype
        of the tensors you compare with.
    max_entries : int, optional
        Refuse to build more stored entries than this.

    Returns
    -------
    csr_array, shape (C * prod(out_spatial), C * prod(spatial))
        ``M`` with ``M @ x.ravel() == interpolate(x[None], ...)[0].ravel()``.

    Notes
    -----
    The map is separable, ``M = I_C \otimes M_D \otimes M_H \otimes M_W``, with each 1-D
    factor computed as torch's kernels do. With scale ``r = 1 / scale_factor`` (or ``L / O``;
    ``(L - 1) / (O - 1)`` with ``align_corners``), output ``j`` reads

    * nearest: ``x[min(floor(r j), L - 1)]``; nearest-exact: ``x[min(floor(r (j + 1/2)),
      L - 1)]`` (``r j`` and ``max(0, r (j + 1/2) - 1/2)`` rounded to float32 first,
      and for 2-D outputs with ``H + W <= 128`` torch's vectorised kernel, which computes
      in float32 whatever the dtype and copies exactly at scale 1 and 2);
    * linear: ``(1 - \lambda) x[i] + \lambda x[i + 1]`` at ``s = r j`` (``align_corners``)
      or ``max(0, r (j + 1/2) - 1/2)``, ``i = floor(s)``, ``\lambda = s - i`` (the identity
      when ``O == L``);
    * bicubic: the 4 taps ``x[i - 1 .. i + 2]`` (border replicated) with Keys' cubic
      convolution weights, ``A = -0.75`` (no clamping of ``s``: the weights may be
      negative and overshoot).

    Examples
    --------
    Linear upsampling of 2 values to 4, without and with ``align_corners``:

    >>> from convmat import interpolate_matrix
    >>> M = interpolate_matrix((1, 2), scale_factor=2, mode="linear")
    >>> M.toarray()
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.25, 0.75],
           [0.  , 1.  ]])
    >>> M.T.toarray()
    array([[1.  , 0.75, 0.25, 0.  ],
           [0.  , 0.25, 0.75, 1.  ]])
    >>> interpolate_matrix((1, 2), size=3, mode="linear", align_corners=True).toarray()
    array([[1. , 0. ],
           [0.5, 0.5],
           [0. , 1. ]])
    """
    geo, ft, factors = interpolate_factors(
        input_shape, size=size, scale_factor=scale_factor, mode=mode,
        align_corners=align_corners, recompute_scale_factor=recompute_scale_factor,
        dtype=dtype, for_matrix=True, max_entries=max_entries)
    axes = [_channel_axis(geo.channels), *factors]
    pattern = kron_axes(axes, taps=False, values=True, what="interpolate_matrix",
                        hint="interpolation", itemsize=np.dtype(ft).itemsize,
                        max_entries=max_entries)
    return pattern.csr(pattern.values.astype(ft, copy=False))


# --------------------------------------------------------------------------- pixel shuffle
def _shuffle_perm(shape, axes, dtype=np.int64) -> np.ndarray:
    """The input each output reads: positions ``arange(n).reshape(shape)`` in the order of
    ``transpose(axes)``, flat (the matrix's column indices, the operator's gather)."""
    return np.arange(math.prod(shape), dtype=dtype).reshape(shape).transpose(axes).ravel()


def _permutation(shape, axes, max_entries, what: str) -> csr_array:
    """The permutation matrix of :func:`_shuffle_perm` (checked against the entry limit
    before allocating)."""
    n = math.prod(shape)
    check_entries(n, 8, what, "numpy reshape/transpose", max_entries, n)
    itype = index_dtype(n + 1)
    perm = _shuffle_perm(shape, axes, itype)
    return make_csr(np.ones(n), perm, np.arange(n + 1, dtype=itype), (n, n))


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
    *batch, c, h, w = pixel_shuffle_output_shape(input_shape, upscale_factor)
    r = upscale_factor
    # Input channel c r^2 + i r + j at (h, w) goes to (c, h r + i, w r + j).
    return _permutation((math.prod(batch) * c, r, r, h // r, w // r), (0, 3, 1, 4, 2),
                        max_entries, "pixel_shuffle_matrix")


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
    pixel_unshuffle_output_shape(input_shape, downscale_factor)  # validates
    *batch, c, h, w = input_shape
    r = downscale_factor
    # (c, h r + i, w r + j) goes to channel c r^2 + i r + j at (h, w).
    return _permutation((math.prod(batch) * c, h // r, r, w // r, r), (0, 2, 4, 1, 3),
                        max_entries, "pixel_unshuffle_matrix")
