r"""Interpolation as sparse matrices: ``torch.nn.functional.interpolate`` for one sample.

Every mode is separable: each spatial dimension is resampled on its own, with positions
and weights that depend on the geometry only, so the matrix is

.. math::  M = I_C \otimes M_1 \otimes \dots \otimes M_n

with one small 1-D factor ``M_d`` per dimension. :func:`interpolate_factors` computes the
factors once, as torch's kernels do (same float type, same rounding);
:func:`interpolate_matrix` assembles their Kronecker product and
:func:`convmat.interpolate_operator` applies them along the axes in turn.

A mode is one entry of ``_KERNELS``: a function giving the 1-D factor of a dimension and
a bound on the inputs one output reads (which sizes the matrix before it is built).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.sparse import csr_array

from ._sparse import Axis, Budget, kron_axes
from .adaptive import adaptive_axis, interpolation_dtype
from .shapes import InterpolateGeometry, interpolate_geometry

__all__ = ["interpolate_matrix"]


# --------------------------------------------------------------------------- torch's arithmetic
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


# --------------------------------------------------------------------------- one factor per mode
def _nearest_factor(geo: InterpolateGeometry, dim: int, ft) -> Axis:
    L, O = geo.size[dim], geo.out[dim]
    small_2d = len(geo.out) == 2 and sum(geo.out) <= 128
    return Axis(_nearest(L, O, geo.mode, geo.scales[dim], ft, small_2d)[:, None], L)


def _blend_factor(taps: Callable) -> Callable[[InterpolateGeometry, int, type], Axis]:
    """The factor of a mode that blends neighbours: ``taps(L, O, align_corners, factor,
    ft)`` gives each output's columns (non-decreasing) and weights."""

    def factor(geo: InterpolateGeometry, dim: int, ft) -> Axis:
        L = geo.size[dim]
        cols, weights = taps(L, geo.out[dim], geo.align_corners, geo.scales[dim], ft)
        cols, weights, valid = _merge_runs(cols, weights)
        return Axis(cols, L, valid=valid, values=weights)

    return factor


# --------------------------------------------------------------------------- area, antialias
def _area_factor(geo: InterpolateGeometry, dim: int, ft) -> Axis:
    # torch computes mode="area" as adaptive average pooling to the output size.
    return adaptive_axis(geo.size[dim], geo.out[dim])


def _area_width(L: int, O: int) -> int:
    return min(L, -(-L // O) + 1) if O else 0  # windows of ceil(L / O) or one more


def _fma(a, b, c, ft):
    """``a * b + c``. torch's x86 build contracts it into one fused multiply-add: for
    float32, exact in double and rounded once to float32."""
    if ft is np.float32:
        wide = np.float64
        return (np.asarray(a, wide) * np.asarray(b, wide) + np.asarray(c, wide)).astype(ft)
    return a * b + c


def _triangle(x: np.ndarray, ft) -> np.ndarray:
    """torch's ``HelperInterpLinear::aa_filter``: ``max(0, 1 - |x|)``."""
    x = np.abs(x)
    return np.where(x < 1, ft(1) - x, ft(0)).astype(ft)


def _keys(x: np.ndarray, ft) -> np.ndarray:
    """torch's ``HelperInterpCubic::aa_filter``: Keys' cubic with PIL's ``a = -0.5``
    (plain bicubic uses -0.75), Horner's rule with torch's fused multiply-adds."""
    a, x = ft(-0.5), np.abs(x)
    near = _fma(_fma(a + 2, x, -(a + 3), ft) * x, x, ft(1), ft)
    far = _fma(_fma(_fma(a, x, -5 * a, ft), x, 8 * a, ft), x, -4 * a, ft)
    return np.where(x < 1, near, np.where(x < 2, far, ft(0))).astype(ft)


def _antialias_taps(L: int, O: int, align_corners: bool, factor, ft, size: int, filt):
    """Columns, weights and used slots ``(O, K)`` of torch's antialiased resampling
    (``_compute_indices_min_size_weights_aa``), in the float type ``ft`` as torch.

    Output ``i`` is centred at ``c = r (i + 1/2)``; when downsampling (``r >= 1``) the
    filter is stretched by ``r``: support ``size / 2 * r``, tap ``k`` weighted
    ``filt((k - c + 1/2) / r)``; the weights of a row are then normalised to sum 1.
    """
    scale = _scale(L, O, align_corners, factor, ft)
    wide = bool(scale >= 1)
    # Both computed in double and stored in ft, as torch's scalar_t variables.
    support = ft(size * 0.5 * np.float64(scale)) if wide else ft(size * 0.5)
    invscale = ft(1.0 / np.float64(scale)) if wide else ft(1)
    n_slots = 2 * math.ceil(support) + 1
    center = (np.float64(scale) * (np.arange(O) + 0.5)).astype(ft)
    # int64 casts of (center -+ support) + 0.5: truncations toward zero, in double.
    lo = np.trunc((center - support).astype(np.float64) + 0.5).astype(np.int64)
    hi = np.trunc((center + support).astype(np.float64) + 0.5).astype(np.int64)
    xmin = np.maximum(lo, 0)
    xsize = np.clip(np.minimum(hi, L) - xmin, 0, n_slots)  # torch clips a rounding's tap
    t = np.arange(n_slots)
    valid = t < xsize[:, None]
    cols = xmin[:, None] + t
    arg = ((cols.astype(ft) - center[:, None]).astype(np.float64) + 0.5) * np.float64(invscale)
    weights = np.where(valid, filt(arg.astype(ft), ft), ft(0))
    total = np.cumsum(weights, axis=1, dtype=ft)[:, -1:]  # summed in order, in ft
    weights = np.where(total != 0, weights / np.where(total != 0, total, ft(1)), weights)
    return np.where(valid, cols, 0), weights.astype(ft), valid


def _antialias_factor(size: int, filt) -> Callable[[InterpolateGeometry, int, type], Axis]:
    """The factor of an antialiased mode whose filter ``filt`` spans ``size`` taps."""

    def factor(geo: InterpolateGeometry, dim: int, ft) -> Axis:
        L, O = geo.size[dim], geo.out[dim]
        if O == L:  # torch skips a dimension whose size does not change
            return Axis(np.arange(L)[:, None], L, values=np.ones((L, 1), dtype=ft))
        cols, weights, valid = _antialias_taps(L, O, geo.align_corners, geo.scales[dim],
                                               ft, size, filt)
        if dim == len(geo.out) - 2 and geo.out[-1] == 1:
            # torch's vertical pass reads the first output row's taps for every row when
            # the output is one column wide (its inner loop then runs down the column).
            first = np.zeros(O, dtype=np.intp)
            cols, weights, valid = cols[first], weights[first], valid[first]
        return Axis(cols, L, valid=None if valid.all() else valid, values=weights)

    return factor


def _antialias_width(size: int) -> Callable[[int, int], int]:
    """Bound on a row's taps: ``2 ceil(size / 2 * r) + 1`` with ``r <= L / (O - 1)``."""
    return lambda L, O: 1 if O == L else min(L, size * max(1, -(-L // max(O - 1, 1))) + 3)


@dataclass(frozen=True)
class _Kernel:
    """How a mode resamples one dimension.

    ``factor(geo, dim, ft)`` is the 1-D factor of dimension ``dim``, computed in the float
    type ``ft``; ``width(L, O)`` bounds the stored entries of one of its rows (by
    arithmetic: it sizes the matrix before any factor exists).
    """

    factor: Callable[[InterpolateGeometry, int, type], Axis]
    width: Callable[[int, int], int]


_LINEAR = _Kernel(_blend_factor(_linear), lambda L, O: 1 if O == L else min(2, L))
# Per mode. Border rows may merge taps that read the same input (never more than L).
_KERNELS: dict[str, _Kernel] = {
    "nearest": _Kernel(_nearest_factor, lambda L, O: 1),
    "nearest-exact": _Kernel(_nearest_factor, lambda L, O: 1),
    "linear": _LINEAR,  # torch copies when O == L: one tap
    "bilinear": _LINEAR,
    "trilinear": _LINEAR,
    "bicubic": _Kernel(_blend_factor(_cubic), lambda L, O: min(4, L)),
    "area": _Kernel(_area_factor, _area_width),
}
# antialias=True, per mode: the filter stretched over the input when downsampling.
_ANTIALIAS_KERNELS: dict[str, _Kernel] = {
    "bilinear": _Kernel(_antialias_factor(2, _triangle), _antialias_width(2)),
    "bicubic": _Kernel(_antialias_factor(4, _keys), _antialias_width(4)),
}


def _kernel(geo: InterpolateGeometry) -> _Kernel:
    """The kernel of ``geo``: the one place where the arguments pick it."""
    return (_ANTIALIAS_KERNELS if geo.antialias else _KERNELS)[geo.mode]


# --------------------------------------------------------------------------- the factors


def interpolate_entries(geo: InterpolateGeometry) -> list[int]:
    """An upper bound on the stored entries of each 1-D factor, by arithmetic (Python
    ints): ``O`` rows of at most ``width(L, O)`` entries. Exact up to border rows."""
    width = _kernel(geo).width
    return [O * width(L, O) for L, O in zip(geo.size, geo.out)]


def interpolate_factors(geo: InterpolateGeometry, dtype) -> list[Axis]:
    """The 1-D factor of every spatial dimension, as :class:`~convmat._sparse.Axis`.

    ``interpolate_matrix`` and ``interpolate_operator`` both sample here, so the matrix
    and the matrix-free operator read the same positions with the same weights, bit for
    bit. ``dtype`` is the float type torch samples in (:func:`interpolation_dtype`); the
    weights are in it. The factors of a 1-D input are as large as the matrix: size them
    with :func:`interpolate_entries` first.
    """
    ft = interpolation_dtype(dtype)
    kernel = _kernel(geo)
    return [kernel.factor(geo, dim, ft) for dim in range(len(geo.size))]


# --------------------------------------------------------------------------- the matrix
def interpolate_matrix(
    input_shape, *, size=None, scale_factor=None, mode: str = "nearest",
    align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
    antialias: bool = False, dtype=np.float64, max_entries=None,
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
    mode : str
        ``"nearest"``, ``"nearest-exact"``, ``"linear"``, ``"bilinear"``,
        ``"trilinear"``, ``"bicubic"`` or ``"area"``, as in torch: ``linear`` needs 1,
        ``bilinear`` and ``bicubic`` 2, ``trilinear`` 3 spatial dimensions; ``area`` is
        adaptive average pooling to the output size (which may be 0) and takes no
        ``align_corners``.
    align_corners : bool, optional
        For the interpolating modes only (default ``False``): align the corner pixels'
        centres instead of their edges.
    recompute_scale_factor : bool, optional
        Compute the output size from ``scale_factor``, then sample with ``L / O``.
    antialias : bool
        ``bilinear`` and ``bicubic`` only (2 spatial dimensions): when downsampling,
        stretch the filter over the input so that every input pixel contributes.
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
      negative and overshoot);
    * area: the mean of ``x[floor(j L / O) .. ceil((j + 1) L / O) - 1]``, as
      :func:`convmat.adaptive_avg_pool_matrix` (``scale_factor`` only sets ``O``);
    * ``antialias=True``: a filter ``f`` centred at ``c = r (j + 1/2)`` (``align_corners``
      changes ``r`` only), stretched by ``s = max(r, 1)``: the taps ``k`` from
      ``max(0, int(c - s w + 1/2))`` to ``min(L, int(c + s w + 1/2)) - 1`` (``w = 1``
      bilinear, ``2`` bicubic) weigh ``f((k + 1/2 - c) / s)`` divided by their sum, with
      ``f`` the triangle ``1 - |t|`` or Keys' cubic with ``A = -0.5``. A dimension whose
      size does not change is copied.
      torch computes a one-column-wide output (``W_out = 1``) with the taps of the first
      output row for every row, and so does this matrix.

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

    ``mode="area"`` averages the input's tiles (here of 2), and its transpose spreads:

    >>> A = interpolate_matrix((1, 4), scale_factor=0.5, mode="area")
    >>> A.toarray()
    array([[0.5, 0.5, 0. , 0. ],
           [0. , 0. , 0.5, 0.5]])
    >>> A.T.toarray()
    array([[0.5, 0. ],
           [0.5, 0. ],
           [0. , 0.5],
           [0. , 0.5]])
    """
    ft = interpolation_dtype(dtype)
    geo = interpolate_geometry(input_shape, size=size, scale_factor=scale_factor, mode=mode,
                               align_corners=align_corners,
                               recompute_scale_factor=recompute_scale_factor,
                               antialias=antialias)
    budget = Budget("interpolate_matrix", "convmat.interpolate_operator",
                    np.dtype(ft).itemsize, max_entries)
    # Sized before the factors, which in 1-D are as large as the matrix.
    budget.check(geo.channels * math.prod(interpolate_entries(geo)),
                 math.prod(geo.out_shape))
    channel = Axis(np.arange(geo.channels)[:, None], geo.channels)
    pattern = kron_axes([channel, *interpolate_factors(geo, ft)], taps=False, values=True,
                        budget=budget)
    return pattern.csr(pattern.values.astype(ft, copy=False))
