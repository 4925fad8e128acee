r"""Grid sampling as sparse matrices: ``F.grid_sample`` and ``F.affine_grid`` for one sample.

``F.grid_sample`` reads each output at a point of the input, given by a grid of normalised
coordinates (last axis ``(x, y[, z])``: ``W`` first). It blends a few inputs around the point
with weights that depend on the grid only, alike in every channel: ``A = I_C \otimes G``,
``G`` the matrix of one channel. Three steps, each reusable on its own:

* geometry: :func:`grid_sample_geometry` validates the arguments as torch does;
* factors: per spatial axis, the input positions each output reads (1, 2 or 4), their
  weights and whether they are inside, in torch's CPU arithmetic and the grid's dtype;
  their product over the axes is ``G`` (``GridSampleOperator.factor``);
* matrix | operator: :func:`grid_sample_matrix` writes the ``C`` diagonal blocks of
  ``I_C \otimes G`` into one CSR array; :func:`grid_sample_operator` applies ``G`` to each
  channel without building them.

The sparsity pattern is structural: it depends on the grid and the options only. Every
tap torch reads from inside the input has its entry, also when its weight is exactly 0
(a point on a pixel centre still has the ``2^n`` bilinear corners that torch's backward
sends gradient to). Taps outside the input are dropped (``zeros``) or moved inside by the
padding mode; taps that land on the same input are summed into one entry.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array

from ._args import as_array, as_bool, as_shape, shape_of
from ._resample_shapes import ChannelShapes
from ._sample_operator import _SampleOperator
from ._sparse import Budget, index_dtype, make_csr

__all__ = ["GridSampleGeometry", "GridSampleOperator", "affine_grid", "grid_sample_geometry",
           "grid_sample_matrix", "grid_sample_operator", "grid_sample_output_shape"]

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
FLOAT_TYPES = (np.float32, np.float64)


# --------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class GridSampleGeometry(ChannelShapes):
    """Everything ``grid_sample_matrix`` needs to know but the grid's values, validated.

    ``size`` is the input's spatial shape ``(H, W)`` or ``(D, H, W)``, ``out`` the output's
    (the grid's shape without its last axis), ``dtype`` the grid's (float32 or float64).
    """

    channels: int
    size: tuple[int, ...]
    out: tuple[int, ...]
    mode: str
    padding_mode: str
    align_corners: bool
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.size)



def _choice(value, name: str, allowed) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {allowed}, got {name}={value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed} (as torch's grid_sample), got "
                         f"{name}={value!r}")
    return value


def _align(align_corners) -> bool:
    # torch reads None as False (with a warning that the default changed in 1.3).
    return False if align_corners is None else as_bool(align_corners, "align_corners")


def grid_sample_geometry(input_shape, grid_shape, *, mode: str = "bilinear",
                         padding_mode: str = "zeros", align_corners: bool = False,
                         dtype=np.float64) -> GridSampleGeometry:
    """Validate ``F.grid_sample``'s arguments as torch does, from the grid's shape.

    Raises ``ValueError`` (or ``TypeError``) for what torch refuses: a mode or padding mode
    it does not know, an input that is not 2-D or 3-D or has an empty spatial axis, a grid
    whose rank or last axis does not match the input, ``bicubic`` on a 3-D input.
    """
    mode = _choice(mode, "mode", MODES)
    padding_mode = _choice(padding_mode, "padding_mode", PADDING_MODES)
    align_corners = _align(align_corners)
    shape = as_shape(input_shape, "input_shape")
    if len(shape) not in (3, 4):
        raise ValueError(
            f"input_shape must be (C, H, W) or (C, D, H, W): grid_sample samples 2-D and 3-D "
            f"inputs only (torch: 4-D or 5-D batches), got input_shape={shape}")
    channels, size = shape[0], shape[1:]
    nd = len(size)
    grid_shape = tuple(int(v) for v in grid_shape)
    letters = "(H_out, W_out, 2)" if nd == 2 else "(D_out, H_out, W_out, 3)"
    if len(grid_shape) != nd + 1 or grid_shape[-1] != nd:
        raise ValueError(
            f"grid must have shape {letters} for a {nd}-D input_shape={shape} (its last "
            f"axis holds the {nd} coordinates x, y{', z' if nd == 3 else ''}), got a grid of "
            f"shape {grid_shape}")
    if min(size) < 1:
        raise ValueError(f"input_shape must have non-empty spatial dimensions (torch refuses "
                         f"empty ones), got input_shape={shape}")
    if mode == "bicubic" and nd != 2:
        raise ValueError(f"mode='bicubic' needs a 2-D input (torch: bicubic interpolation "
                         f"only supports 4D input), got input_shape={shape}")
    dtype = np.dtype(dtype)
    if dtype.type not in FLOAT_TYPES:
        raise TypeError(f"grid must be float32 or float64 (the precision torch samples in), "
                        f"got a grid of dtype {dtype}")
    return GridSampleGeometry(channels, size, grid_shape[:-1], mode, padding_mode,
                              align_corners, dtype)


def _check_finite(src: np.ndarray, grid: np.ndarray, axis: int) -> None:
    # torch turns NaN and inf (also a finite grid value that overflows when scaled) into NaN
    # outputs or into a different clamp in its 2-D and 3-D kernels: no matrix to match.
    bad = ~np.isfinite(src)
    if bad.any():
        where = np.unravel_index(int(np.flatnonzero(bad)[0]), grid.shape[:-1]) + (axis,)
        raise ValueError(
            f"grid must hold finite coordinates (torch returns NaN or an arbitrary border "
            f"value for NaN and infinite ones), got grid[{', '.join(map(str, where))}]="
            f"{grid[where]!r}")


def grid_sample_output_shape(input_shape, grid, *, mode: str = "bilinear",
                             padding_mode: str = "zeros",
                             align_corners: bool = False) -> tuple[int, ...]:
    """``(C, *grid.shape[:-1])``: the shape of one sample of ``F.grid_sample``'s output.

    ``grid`` is the grid or its shape; the arguments are checked as the builder checks them.

    Examples
    --------
    >>> grid_sample_output_shape((3, 8, 8), (4, 5, 2))
    (3, 4, 5)
    """
    grid_shape = shape_of(grid, "grid")
    return grid_sample_geometry(input_shape, grid_shape, mode=mode, padding_mode=padding_mode,
                                align_corners=align_corners).out_shape


# --------------------------------------------------------------------------- torch's arithmetic
def _unnormalize(g: np.ndarray, size: int, align_corners: bool, ft) -> np.ndarray:
    """``grid_sampler_unnormalize``: ``[-1, 1]`` to pixel indices (centres or edges)."""
    if align_corners:
        return ((g + ft(1)) / ft(2)) * ft(size - 1)
    return ((g + ft(1)) * ft(size) - ft(1)) / ft(2)


def _reflect(c: np.ndarray, size: int, align_corners: bool, ndim: int, ft) -> np.ndarray:
    """Reflect into ``[0, size - 1]`` (corners) or ``[-1/2, size - 1/2]`` (edges).

    torch's 2-D CPU kernel and its 3-D kernel reflect with different arithmetic (a
    ``trunc`` of the double flips, or ``fmod`` and the parity of the flips); both are kept
    so that a coordinate within rounding of a border lands where torch puts it.
    """
    if align_corners and size <= 1:
        return np.zeros_like(c)
    low = ft(0) if align_corners else ft(-0.5)
    if ndim == 2:
        twice_span = ft(size - 1 if align_corners else size) * ft(2)
        a = np.abs(c - low)
        extra = a - np.trunc(a / twice_span) * twice_span
        return np.minimum(extra, twice_span - extra) + low
    span = ft(size - 1 if align_corners else size)
    a = np.abs(c - low)
    extra = np.fmod(a, span)
    flips = np.floor(a / span)
    # static_cast<int>(flips): a count past INT_MAX becomes INT_MIN on x86, an even one.
    odd = (flips < 2.0**31) & (np.fmod(flips, 2) == 1)
    return np.where(odd, span - extra + low, extra + low)


def _pad(c: np.ndarray, size: int, geo: GridSampleGeometry) -> np.ndarray:
    """``compute_coordinates``: the padding mode applied to a coordinate (or a tap)."""
    ft = geo.dtype.type
    if geo.padding_mode == "zeros":
        return c
    if geo.padding_mode == "reflection":
        c = _reflect(c, size, geo.align_corners, geo.ndim, ft)
    return np.minimum(np.maximum(c, ft(0)), ft(size - 1))


def _cubic_weights(t: np.ndarray, ft) -> list[np.ndarray]:
    """Keys' cubic convolution (A = -0.75) at distances ``t + 1, t, 1 - t, 2 - t``."""
    A = ft(-0.75)

    def far(x):  # 1 < |x| < 2
        return ((A * x - ft(5) * A) * x + ft(8) * A) * x - ft(4) * A

    def near(x):  # |x| <= 1
        return ((A + ft(2)) * x - (A + ft(3))) * x * x + ft(1)

    one = ft(1)
    return [far(t + one), near(t), near(one - t), far(ft(2) - t)]


# --------------------------------------------------------------------------- factors
@dataclass(frozen=True, eq=False)
class _AxisTaps:
    """The inputs one spatial axis contributes to each output, slot-major: ``(k, n_out)``
    arrays of positions along the axis, weights (``None``: all 1) and whether each is
    inside the input (``None``: all are). Along the slots, the positions inside increase.

    Slot-major because numpy is slow along a short last axis: every later step loops
    over the ``k`` slots, each a long contiguous pass over the outputs.
    """

    pos: np.ndarray
    weights: np.ndarray | None
    valid: np.ndarray | None

    @property
    def counts(self) -> np.ndarray | int:
        return self.pos.shape[0] if self.valid is None else self.valid.sum(axis=0)


def _inside(taps: np.ndarray, size: int):
    """Integer-valued float taps: ``(int positions, inside mask or None)``."""
    inside = (taps >= 0) & (taps <= size - 1)
    if inside.all():
        return taps.astype(np.int64), None
    return np.where(inside, taps, 0).astype(np.int64), inside


def _axis_taps(c: np.ndarray, size: int, geo: GridSampleGeometry) -> _AxisTaps:
    """The taps of one axis, from the unnormalised coordinates ``c`` of every output."""
    ft = geo.dtype.type
    if geo.mode == "nearest":
        pos, valid = _inside(np.rint(_pad(c, size, geo))[None], size)  # half to even
        return _AxisTaps(pos, None, valid)
    if geo.mode == "bilinear":
        c = _pad(c, size, geo)
        f = np.floor(c)
        w = c - f
        # The 3-D kernel weighs the lower tap by (f + 1) - c, the 2-D one by 1 - (c - f).
        e = (f + ft(1)) - c if geo.ndim == 3 else ft(1) - w
        pos, valid = _inside(np.stack([f, f + ft(1)]), size)
        return _AxisTaps(pos, np.stack([e, w]), valid)
    # bicubic: the padding mode moves each of the 4 taps, not the coordinate.
    f = np.floor(c)
    weights = np.stack(_cubic_weights(c - f, ft))
    taps = np.stack([f + ft(k) for k in (-1, 0, 1, 2)])
    pos, valid = _inside(np.trunc(_pad(taps, size, geo)), size)
    if geo.padding_mode != "zeros":
        pos, weights, valid = _merge_taps(pos, weights)
    return _AxisTaps(pos, weights, valid)


def _merge_taps(pos: np.ndarray, weights: np.ndarray):
    """Sort each output's taps and sum the weights of equal positions into the first."""
    order = np.argsort(pos, axis=0, kind="stable")
    pos = np.take_along_axis(pos, order, axis=0)
    weights = np.take_along_axis(weights, order, axis=0)
    valid = np.ones(pos.shape, dtype=bool)
    outputs = np.arange(pos.shape[1])
    head = np.zeros(pos.shape[1], dtype=np.intp)  # the first slot of the current run
    for k in range(1, pos.shape[0]):
        same = pos[k] == pos[k - 1]
        j = outputs[same]
        weights[head[same], j] += weights[k, j]
        valid[k] = ~same
        head = np.where(same, head, k)
    return pos, weights, None if valid.all() else valid


def _sample_axes(grid: np.ndarray, geo: GridSampleGeometry) -> list[_AxisTaps]:
    """One :class:`_AxisTaps` per spatial axis ``(D,) H, W``, from the grid's values."""
    g = grid.reshape(-1, geo.ndim)
    axes = []
    for d, size in enumerate(geo.size):
        component = geo.ndim - 1 - d  # grid's last axis is (x, y[, z]): W first
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below
            c = _unnormalize(g[:, component], size, geo.align_corners, geo.dtype.type)
        _check_finite(c, grid, component)
        axes.append(_axis_taps(c, size, geo))
    return axes


def _row_counts(axes: list[_AxisTaps], n: int) -> np.ndarray:
    """Stored entries of every row of ``G``: the product of each axis's inside taps."""
    counts = np.ones(n, dtype=np.int64)
    for a in axes:
        counts *= a.counts
    return counts


def _reduce_into(out: np.ndarray, arrays: list, op) -> None:
    """``out[...] = op(...op(arrays[0], arrays[1])..., arrays[-1])``, with no temporary."""
    if len(arrays) == 1:
        out[...] = arrays[0]
        return
    op(arrays[0], arrays[1], out=out)
    for a in arrays[2:]:
        op(out, a, out=out)


def _fill_slots(axes: list[_AxisTaps], geo: GridSampleGeometry, cols, weights, valid):
    """Write the ``(n_out, taps)`` arrays of ``G``, one slot combination (a column of
    each array) at a time, in C order over the axes: the order of the columns."""
    strides = [math.prod(geo.size[d + 1:]) for d in range(geo.ndim)]
    parts = [(a.pos * stride).astype(cols.dtype) for a, stride in zip(axes, strides)]
    slots = itertools.product(*(range(a.pos.shape[0]) for a in axes))
    for j, slot in enumerate(slots):
        _reduce_into(cols[:, j], [p[k] for p, k in zip(parts, slot)], np.add)
        if weights is not None:
            # torch multiplies x's weight by y's (then by z's): that order, that rounding.
            _reduce_into(weights[:, j], [a.weights[k] for a, k in zip(axes, slot)][::-1],
                         np.multiply)
        if valid is not None:
            _reduce_into(valid[:, j], [a.valid[k] for a, k in zip(axes, slot)
                                       if a.valid is not None], np.logical_and)


# --------------------------------------------------------------------------- assembly
def _prepare(input_shape, grid, mode, padding_mode, align_corners):
    """Validated geometry and per-axis taps; nothing larger than the grid is allocated."""
    arr = as_array(grid, "grid", kinds="f")
    geo = grid_sample_geometry(input_shape, arr.shape, mode=mode, padding_mode=padding_mode,
                               align_corners=align_corners, dtype=arr.dtype)
    return geo, _sample_axes(arr, geo)


def _first_block(axes, geo: GridSampleGeometry, indices, data, indptr) -> None:
    """``G`` into the first ``nnz`` entries: straight into the final arrays (viewed as
    ``(n_out, taps)``) when every tap is inside, else compressed from dense temporaries."""
    n = math.prod(geo.out)
    nnz = int(indptr[n])
    has_weights = axes[0].weights is not None
    if all(a.valid is None for a in axes):
        view = lambda arr: arr[:nnz].reshape(n, -1)
        _fill_slots(axes, geo, view(indices), view(data) if has_weights else None, None)
    else:
        k = math.prod(a.pos.shape[0] for a in axes)
        cols = np.empty((n, k), dtype=indices.dtype)
        weights = np.empty((n, k), dtype=data.dtype) if has_weights else None
        valid = np.empty((n, k), dtype=bool)
        _fill_slots(axes, geo, cols, weights, valid)
        keep = np.flatnonzero(valid.reshape(-1))  # one mask scan for both arrays
        np.take(cols.reshape(-1), keep, out=indices[:nnz])
        if has_weights:
            np.take(weights.reshape(-1), keep, out=data[:nnz])
    if not has_weights:
        data[:nnz] = 1


def _blocks(axes: list[_AxisTaps], geo: GridSampleGeometry, blocks: int,
            budget: Budget | None) -> csr_array:
    """``I_blocks ⊗ G`` as a canonical CSR array, written in place.

    ``budget`` (``None``: no limit) refuses it before the arrays are allocated. The first
    block is ``G`` itself; every other block is a copy of it with its columns and row
    pointers shifted, one broadcast operation per array.
    """
    n, plane = math.prod(geo.out), math.prod(geo.size)
    counts = _row_counts(axes, n)
    nnz = int(counts.sum())
    if budget is not None:
        budget.check(blocks * nnz, blocks * n)
    idx = index_dtype(blocks * nnz, blocks * n, blocks * plane)
    indptr = np.zeros(blocks * n + 1, dtype=idx)
    indices = np.empty(blocks * nnz, dtype=idx)
    data = np.empty(blocks * nnz, dtype=geo.dtype)
    shape = (blocks * n, blocks * plane)
    if blocks == 0 or n == 0:
        return make_csr(data, indices, indptr, shape)
    np.cumsum(counts, out=indptr[1:n + 1])
    _first_block(axes, geo, indices, data, indptr)
    if blocks > 1:
        shift = np.arange(1, blocks, dtype=idx)[:, None]
        np.add(indices[None, :nnz], shift * idx(plane),
               out=indices[nnz:].reshape(blocks - 1, nnz))
        data[nnz:].reshape(blocks - 1, nnz)[...] = data[:nnz]
        np.add(indptr[None, 1:n + 1], shift * idx(nnz), out=indptr[n + 1:].reshape(blocks - 1, n))
    return make_csr(data, indices, indptr, shape)


def grid_sample_matrix(input_shape, grid: ArrayLike, *, mode: str = "bilinear",
                       padding_mode: str = "zeros", align_corners: bool = False,
                       max_entries=None) -> csr_array:
    r"""``torch.nn.functional.grid_sample`` for one sample, as a sparse matrix.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` or ``(C, D, H, W)``.
    grid : array_like of float32 or float64, shape (H_out, W_out, 2) or (D_out, H_out, W_out, 3)
        Sampling points, normalised: ``-1`` and ``1`` are the input's first and last pixel
        centres (``align_corners=True``) or its outer edges (``False``). The last axis is
        ``(x, y[, z])``: ``x`` indexes ``W``. NaN and infinite values are refused.
    mode : {"bilinear", "nearest", "bicubic"}
        ``bicubic`` on 2-D inputs only, as in torch.
    padding_mode : {"zeros", "border", "reflection"}
        What a point (``bicubic``: a tap) outside the input reads.
    align_corners : bool
        As in torch (``None`` is read as ``False``, torch's default).
    max_entries : int, optional
        Refuse a matrix with more stored entries (default: ``convmat.get_max_entries()``).

    Returns
    -------
    csr_array
        ``A`` of shape ``(C * prod(out), C * prod(in))`` in the grid's dtype, with
        ``A @ x.ravel() == F.grid_sample(x[None], grid[None], ...).ravel()`` to rounding.
        Canonical (sorted, duplicates summed), int32 indices when they fit.

    Notes
    -----
    ``A = I_C \otimes G``. For output ``j`` and each axis, the point's pixel coordinate
    is ``u = (g + 1)(L - 1)/2`` (corners) or ``((g + 1) L - 1)/2`` (edges), moved inside by
    ``border`` (clamped) or ``reflection`` (reflected, then clamped). Then

    * nearest: ``G[j, round(u)] = 1`` (half to even);
    * bilinear: with ``f = floor(u)``, ``t = u - f``, the ``2^n`` corners
      ``\prod_d \{f_d: 1 - t_d,\ f_d + 1: t_d\}``;
    * bicubic (2-D): the 16 taps ``f - 1 .. f + 2`` per axis from the *unpadded* ``u``,
      weighted by Keys' cubic (``A = -0.75``), each tap then moved inside by the padding
      mode on its own.

    Taps outside the input are dropped; taps moved onto the same input are summed. Every
    tap inside keeps its entry even when its weight is 0 (an integer ``u``): the pattern
    depends on the grid and the options only, and matches the inputs that torch's
    backward sends gradient to. Coordinates are computed as torch's CPU kernels compute
    them, in the grid's dtype (float32 weights for a float32 grid).

    Examples
    --------
    Two points on a 1 x 3 image, a quarter and five eighths of the way along:

    >>> import numpy as np
    >>> from convmat import grid_sample_matrix
    >>> grid = np.array([[[-0.5, 0.0], [0.25, 0.0]]])
    >>> A = grid_sample_matrix((1, 1, 3), grid, align_corners=True)
    >>> A.toarray()
    array([[0.5 , 0.5 , 0.  ],
           [0.  , 0.75, 0.25]])
    >>> A.T.toarray()
    array([[0.5 , 0.  ],
           [0.5 , 0.75],
           [0.  , 0.25]])
    """
    geo, axes = _prepare(input_shape, grid, mode, padding_mode, align_corners)
    budget = Budget("grid_sample_matrix", "convmat.grid_sample_operator",
                    geo.dtype.itemsize, max_entries)
    return _blocks(axes, geo, geo.channels, budget)


# --------------------------------------------------------------------------- operator
class GridSampleOperator(_SampleOperator):
    r"""``I_C \otimes G`` on flat samples, never built: ``G`` applied to each channel.

    Attributes
    ----------
    factor : csr_array
        ``G``, the matrix of one channel (rows: output positions).
    geometry : GridSampleGeometry
        The validated arguments.
    in_shape, out_shape : tuple of int
        Sample shapes ``(C, *size)`` and ``(C, *out)``.
    """

    def __init__(self, factor: csr_array, geometry: GridSampleGeometry):
        self.factor, self.geometry = factor, geometry
        super().__init__(geometry.in_shape, geometry.out_shape, factor.dtype)

    def _per_channel(self, M, X: np.ndarray) -> np.ndarray:
        # (C * n_in, k) -> (n_in, C * k): one sparse product serves every channel and
        # sample; the CSR rows gather (forward), the CSC columns of G.T scatter (adjoint).
        X = np.asarray(X)
        c, k = self.geometry.channels, X.shape[1]
        n_out, n_in = M.shape
        Y = M @ X.reshape(c, n_in, k).transpose(1, 0, 2).reshape(n_in, c * k)
        return Y.reshape(n_out, c, k).transpose(1, 0, 2).reshape(c * n_out, k)

    def _matmat(self, X):
        return self._per_channel(self.factor, X)

    def _rmatmat(self, Y):
        return self._per_channel(self.factor.T, Y)  # G is real: G^H = G^T


def grid_sample_operator(input_shape, grid: ArrayLike, *, mode: str = "bilinear",
                         padding_mode: str = "zeros",
                         align_corners: bool = False) -> GridSampleOperator:
    r"""``torch.nn.functional.grid_sample`` for one sample, matrix-free.

    Parameters
    ----------
    input_shape, grid, mode, padding_mode, align_corners
        As for :func:`grid_sample_matrix`.

    Returns
    -------
    GridSampleOperator
        A ``LinearOperator`` in the grid's dtype, equal to ``grid_sample_matrix(...)``:
        ``matvec`` samples, ``rmatvec`` scatters each output back onto the inputs it read
        (torch's gradient with respect to the input), ``matmat`` a batch.

    Notes
    -----
    .. math::  y_c = G\, x_c, \qquad (A^H y)_c = G^T y_c

    for every channel ``c``, with the one-channel matrix ``G`` of
    :func:`grid_sample_matrix` (at most ``2^n`` or 16 entries a row): the memory of the
    grid times the taps, not of the whole matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import grid_sample_operator
    >>> grid = np.array([[[-0.5, 0.0], [0.25, 0.0]]])
    >>> S = grid_sample_operator((1, 1, 3), grid, align_corners=True)
    >>> S @ np.array([0., 4., 8.])
    array([2., 5.])
    >>> S.H @ np.array([1., 0.])
    array([0.5, 0.5, 0. ])
    """
    geo, axes = _prepare(input_shape, grid, mode, padding_mode, align_corners)
    # G is the grid's size times the taps: the price of the grid itself, not refused.
    return GridSampleOperator(_blocks(axes, geo, 1, None), geo)


# --------------------------------------------------------------------------- affine grids
def _linspace(n: int, align_corners: bool, ft) -> np.ndarray:
    """torch's ``linspace_from_neg_one``: ``n`` points from -1 to 1 (pixel centres for
    ``align_corners=False``, scaled by ``(n - 1) / n``); a single point is 0."""
    if n <= 1:
        return np.zeros(n, dtype=ft)
    step = ft(2) / ft(n - 1)
    i = np.arange(n)
    # torch's kernel counts up from -1 in the first half and down from 1 in the second.
    r = np.where(i < n // 2, ft(-1) + step * i.astype(ft), ft(1) - step * (n - 1 - i).astype(ft))
    return r if align_corners else r * ft(n - 1) / ft(n)


def affine_grid(theta: ArrayLike, size, *, align_corners: bool = False,
                max_entries: int | None = None) -> np.ndarray:
    r"""``torch.nn.functional.affine_grid`` for one sample: the grid of an affine map.

    Parameters
    ----------
    theta : array_like of float32 or float64, shape (2, 3) or (3, 4)
        The affine map ``[M | t]`` from output to input, in normalised coordinates
        ``(x, y[, z])``.
    size : tuple of int
        The output's sample shape ``(C, H, W)`` or ``(C, D, H, W)`` (``C`` is not used;
        it is checked as torch checks it).
    align_corners : bool
        As in torch (``None`` is read as ``False``).
    max_entries : int, optional
        Refuse a grid of more values than this (default: ``get_max_entries()``).

    Returns
    -------
    ndarray, shape (H, W, 2) or (D, H, W, 3)
        In ``theta``'s dtype; ``grid[..., i] = sum_j theta[i, j] p_j + theta[i, n]`` for the
        normalised position ``p = (x, y[, z])`` of every output pixel.

    Notes
    -----
    Along an axis of ``L`` pixels the positions are ``linspace(-1, 1, L)``, times
    ``(L - 1) / L`` for ``align_corners=False`` (the pixel centres); an axis of one pixel
    has position 0. ``theta = [I | 0]`` with ``align_corners=True`` samples every input
    pixel at its own centre: ``grid_sample_matrix`` of that grid is the identity.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import affine_grid
    >>> affine_grid(np.array([[1., 0., 0.], [0., 1., 0.]]), (1, 1, 3), align_corners=True)
    array([[[-1.,  0.],
            [ 0.,  0.],
            [ 1.,  0.]]])
    """
    theta = as_array(theta, "theta", kinds="f")
    if theta.dtype.type not in FLOAT_TYPES:
        raise TypeError(f"theta must be float32 or float64, got an array of dtype "
                        f"{theta.dtype}")
    align_corners = _align(align_corners)
    shape = as_shape(size, "size")
    if len(shape) not in (3, 4):
        raise ValueError(f"size must be (C, H, W) or (C, D, H, W): affine_grid makes 2-D and "
                         f"3-D grids only, got size={shape}")
    nd = len(shape) - 1
    if theta.shape != (nd, nd + 1):
        raise ValueError(f"theta must have shape ({nd}, {nd + 1}) for a {nd}-D size={shape}, "
                         f"got theta of shape {theta.shape}")
    # torch skips its positivity check when align_corners=True and an axis has one pixel
    # (it only warns then), which lets C = 0 through; the spatial sizes stay positive.
    if not (align_corners and min(shape[1:]) == 1) and min(shape) <= 0:
        raise ValueError(f"size must hold positive sizes, got size={shape}")
    ft = theta.dtype.type
    spatial = shape[1:]
    # The grid is the result itself: refuse one past the limit before allocating it.
    Budget("affine_grid", None, theta.dtype.itemsize, max_entries).check_values(
        math.prod(spatial) * nd, "the grid", f"size={shape}")
    base = np.empty((*spatial, nd + 1), dtype=ft)
    for d, n in enumerate(spatial):  # coordinate nd - 1 - d varies along axis d
        base[..., nd - 1 - d] = _linspace(n, align_corners, ft).reshape(
            (1,) * d + (n,) + (1,) * (nd - 1 - d))
    base[..., nd] = 1
    return base @ theta.T
