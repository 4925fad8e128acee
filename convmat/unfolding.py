r"""Unfolding: im2col (``F.unfold``) and col2im (``F.fold``).

``F.unfold`` copies every sliding block of an image into a column; its matrix ``U`` has at
most one 1 a row (an index map), and ``F.fold`` is ``U^T``, summing the overlaps back. A
convolution is ``y = W_{2d} U x``; :mod:`convmat.weights` uses that to write it as a map of
its weight.

Both come from the per-axis factors of a convolution (:func:`conv_axes` on the shared
:class:`~convmat.window.Window`): one channel's block, repeated over the channels with
shifted columns (:func:`_repeat_blocks`, shared with :mod:`convmat.weights`). ``F.unfold``
and ``F.fold`` are 2-D only, and so are their builders; the code is N-D.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike
from scipy.sparse import csr_array

from ._args import as_shape, as_tuple, is_int
from ._kernels import c_strides
from ._sample_operator import _SampleOperator
from ._sparse import Axis, Budget, index_dtype, make_csr
from .convolution import conv_axes
from .shapes import ConvGeometry
from .window import Window, effective_kernel

__all__ = ["UnfoldGeometry", "UnfoldOperator", "fold_geometry", "fold_matrix",
           "fold_operator", "fold_output_shape", "unfold_geometry", "unfold_matrix",
           "unfold_operator", "unfold_output_shape"]


# --------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class UnfoldGeometry:
    """The sliding blocks of one image: ``channels`` planes under ``window``; the image
    ``(C, *spatial)`` and its columns ``(C * prod(kernel), L)``, ``L = prod(window.out)``."""

    channels: int
    window: Window

    @property
    def image_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.window.size)

    @property
    def columns_shape(self) -> tuple[int, int]:
        return (self.channels * math.prod(self.window.kernel), math.prod(self.window.out))

    def n_entries(self) -> int:
        """Stored entries of the matrix: the (tap, block) pairs that read the image."""
        win = self.window
        return self.channels * math.prod(win.count_inside(d) for d in range(win.ndim))


def _pair(value, name: str, at_least: int) -> tuple[int, int]:
    """torch's ``int[2]`` argument: an int, or a sequence of exactly 2 (not 1) ints."""
    if (not is_int(value) and getattr(value, "ndim", 1) == 1 and hasattr(value, "__len__")
            and not isinstance(value, (str, bytes)) and len(value) != 2):
        raise ValueError(f"{name} must be an integer or a pair of integers (F.unfold and "
                         f"F.fold are 2-D only), got {name}={value!r}")
    return as_tuple(value, 2, name, at_least=at_least)


def _window(size, kernel_size, dilation, padding, stride) -> Window:
    """The window of ``F.unfold`` / ``F.fold`` over a 2-D ``size``: at least one block
    per axis, as torch's ``im2col_shape_check`` wants (floor division, as torch's)."""
    kernel = _pair(kernel_size, "kernel_size", 1)
    dilation = _pair(dilation, "dilation", 1)
    padding = _pair(padding, "padding", 0)
    stride = _pair(stride, "stride", 1)
    ek = effective_kernel(kernel, dilation)
    out = tuple((L + 2 * p - e) // s + 1 for L, p, e, s in zip(size, padding, ek, stride))
    if any(o < 1 for o in out):
        raise ValueError(
            f"kernel_size={kernel} with dilation={dilation} does not fit spatial size "
            f"{tuple(size)} padded by padding={padding}: the array of sliding blocks would "
            f"have shape {out}, and each axis needs at least one block (size + 2 * padding "
            f">= dilation * (kernel_size - 1) + 1)")
    return Window(tuple(size), kernel, stride, dilation, padding, padding, out)


def _sample_shape(input_shape, n: int, what: str) -> tuple[int, ...]:
    shape = as_shape(input_shape, "input_shape")
    if len(shape) != n or min(shape) < 1:
        raise ValueError(f"input_shape must be {what}, with no empty axis, got "
                         f"input_shape={shape}")
    return shape


def unfold_geometry(input_shape, kernel_size, *, dilation=1, padding=0,
                    stride=1) -> UnfoldGeometry:
    """Validate ``unfold_matrix``'s arguments as ``F.unfold(x[None], ...)`` does."""
    shape = _sample_shape(input_shape, 3, "one image (C, H, W): F.unfold takes 2-D images "
                          "only (3-D, or batched 4-D)")
    return UnfoldGeometry(shape[0], _window(shape[1:], kernel_size, dilation, padding,
                                            stride))


def fold_geometry(input_shape, output_size, kernel_size, *, dilation=1, padding=0,
                  stride=1) -> UnfoldGeometry:
    """Validate ``fold_matrix``'s arguments as ``F.fold(v[None], ...)`` does."""
    shape = _sample_shape(input_shape, 2, "(C * prod(kernel_size), L), the columns of one "
                          "image: F.fold takes 2-D (or batched 3-D) tensors")
    size = _pair(output_size, "output_size", None)
    if min(size) < 1:
        raise ValueError(f"output_size must be positive, got output_size={output_size!r}")
    win = _window(size, kernel_size, dilation, padding, stride)
    n_taps = math.prod(win.kernel)
    if shape[0] % n_taps:
        raise ValueError(
            f"input_shape[0]={shape[0]} must be divisible by the product of kernel_size "
            f"({n_taps} for kernel_size={win.kernel}): one row per channel and tap")
    if shape[1] != math.prod(win.out):
        raise ValueError(
            f"input_shape[1]={shape[1]} must be the number of sliding blocks, "
            f"{' * '.join(map(str, win.out))} = {math.prod(win.out)} for output_size={size}, "
            f"kernel_size={win.kernel}, dilation={win.dilation}, padding={win.pad_before}, "
            f"stride={win.stride}")
    return UnfoldGeometry(shape[0] // n_taps, win)


def unfold_output_shape(input_shape, kernel_size, *, dilation=1, padding=0,
                        stride=1) -> tuple[int, int]:
    """Output shape ``(C * prod(kernel_size), L)`` of ``unfold_matrix``.

    Examples
    --------
    >>> unfold_output_shape((3, 5, 5), 3)            # 3 * 9 rows, 3 * 3 blocks
    (27, 9)
    >>> unfold_output_shape((1, 4, 6), (2, 3), stride=(2, 3), padding=1)
    (6, 6)
    """
    return unfold_geometry(input_shape, kernel_size, dilation=dilation, padding=padding,
                           stride=stride).columns_shape


def fold_output_shape(input_shape, output_size, kernel_size, *, dilation=1, padding=0,
                      stride=1) -> tuple[int, int, int]:
    """Output shape ``(C, *output_size)`` of ``fold_matrix``.

    Examples
    --------
    >>> fold_output_shape((27, 9), (5, 5), 3)
    (3, 5, 5)
    """
    return fold_geometry(input_shape, output_size, kernel_size, dilation=dilation,
                         padding=padding, stride=stride).image_shape


# --------------------------------------------------------------------------- factors
def unfold_axes(geo: UnfoldGeometry) -> list[Axis]:
    """Per spatial axis, the factor of the depthwise convolution under the same window:
    rows are block positions ``j``, slots kernel taps ``t``, columns the pixels they read
    (masked in the padding). Unfolding lays these (row, slot) pairs out as rows."""
    depthwise = ConvGeometry(geo.channels, geo.channels, geo.channels, geo.window, "zeros")
    return conv_axes(depthwise)[1:]


def _placed(arr: np.ndarray | None, axes: tuple[int, int], ndim: int) -> np.ndarray | None:
    """A 2-D per-axis array on two of ``ndim`` broadcast axes (``None`` stays ``None``)."""
    shape = [1] * ndim
    shape[axes[0]], shape[axes[1]] = (1, 1) if arr is None else arr.shape
    return None if arr is None else arr.reshape(shape)


def _masked_sum(parts, masks, shape) -> tuple[np.ndarray, np.ndarray | None]:
    """``(values, mask)``: the broadcast sum of ``parts`` over ``shape`` where every mask
    holds, flattened in C order (``mask`` is ``None`` when nothing is masked)."""
    total = np.broadcast_to(sum(parts, np.zeros((1,) * len(shape), np.int64)), shape)
    masks = [m for m in masks if m is not None]
    if not masks:
        return total.reshape(-1), None
    mask = np.broadcast_to(functools.reduce(np.logical_and, masks), shape)
    return total[mask], mask.reshape(-1)


def _unfold_block(geo: UnfoldGeometry) -> tuple[np.ndarray, np.ndarray]:
    """One channel of ``U``: ``(columns, row_counts)``, rows in the order ``(t_0, ...,
    t_n, j_0, ..., j_n)``, each holding its pixel or nothing."""
    axes, win = unfold_axes(geo), geo.window
    n, strides = win.ndim, c_strides(win.size)
    shape = (*win.kernel, *win.out)
    parts = [_placed(a.cols.T * strides[d], (d, n + d), 2 * n) for d, a in enumerate(axes)]
    masks = [_placed(a.valid if a.valid is None else a.valid.T, (d, n + d), 2 * n)
             for d, a in enumerate(axes)]
    cols, mask = _masked_sum(parts, masks, shape)
    counts = np.ones(math.prod(shape), np.int64) if mask is None else mask
    return cols, counts


def _fold_block(geo: UnfoldGeometry) -> tuple[np.ndarray, np.ndarray]:
    """One channel of ``F = U^T``: ``(columns, row_counts)`` from each unfold factor
    transposed (``Axis.transpose``: pixel ``h`` lists the blocks ``j`` reading it, with
    their taps ``t``); the columns of row ``h`` are ``(t_0, .., t_n, j_0, .., j_n)``."""
    win = geo.window
    n, k_strides, o_strides = win.ndim, c_strides(win.kernel), c_strides(win.out)
    n_blocks = math.prod(win.out)
    parts, masks, counts = [], [], np.ones(1, np.int64)
    for d, axis in enumerate(unfold_axes(geo)):
        t = axis.transpose()
        # transpose() lists the blocks j in increasing order, so the taps t = (h + p - j s)
        # / d decrease: reversed, the columns of each row increase (t is their major digit).
        cols, taps = t.cols[:, ::-1], t.taps[:, ::-1]
        valid = None if t.valid is None else t.valid[:, ::-1]
        parts.append(_placed(taps * (k_strides[d] * n_blocks) + cols * o_strides[d],
                             (d, n + d), 2 * n))
        masks.append(_placed(valid, (d, n + d), 2 * n))
        counts = np.multiply.outer(counts, t.counts()).reshape(-1)
    slots = tuple(p.shape[n + d] for d, p in enumerate(parts))
    cols, _ = _masked_sum(parts, masks, (*win.size, *slots))
    return cols, counts


def _repeat_blocks(indices, indptr, data, copies: int, col_step: int, shape,
                   dtype) -> csr_array:
    r"""``blockdiag_g(B_g, ..., B_g)`` with ``copies`` copies of each of the ``G`` blocks
    of ``B``, copy ``i`` of block ``g`` shifted right by ``(g * copies + i) * col_step``.

    ``indices`` and ``data`` (or ``None``: ones) are ``(G, nnz_g)`` (every block holds as
    many entries), ``indptr`` the cumulative row pointers of ``B``, ``G * R + 1`` of them.
    One broadcast write per array: as fast as copying the result.
    """
    g, nnz_g = indices.shape
    rows_g = (indptr.size - 1) // g
    itype = index_dtype(g * copies * nnz_g, shape[0], shape[1])
    block = (np.arange(g * copies, dtype=itype) * itype(col_step)).reshape(g, copies, 1)
    out_indices = np.empty(g * copies * nnz_g, itype)
    np.add(indices.astype(itype, copy=False)[:, None, :], block,
           out=out_indices.reshape(g, copies, nnz_g))
    shift = (np.arange(g * copies).reshape(g, copies) - np.arange(g)[:, None]) * nnz_g
    out_indptr = np.empty(g * copies * rows_g + 1, itype)
    np.add(indptr[:-1].astype(itype, copy=False).reshape(g, 1, rows_g),
           shift.astype(itype)[:, :, None], out=out_indptr[:-1].reshape(g, copies, rows_g))
    out_indptr[-1] = g * copies * nnz_g
    if data is None:
        out_data = np.ones(out_indices.size, dtype)
    else:
        out_data = np.empty(out_indices.size, dtype)
        out_data.reshape(g, copies, nnz_g)[...] = data[:, None, :]
    return make_csr(out_data, out_indices, out_indptr, shape)


def _entry_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind not in "iufc":
        raise TypeError(f"dtype must be a numpy integer, float or complex dtype, got "
                        f"dtype={dtype!r}")
    return dt


def _index_map(geo: UnfoldGeometry, transposed: bool, dtype, max_entries) -> csr_array:
    """``U`` (or ``U^T``): one channel's block, repeated over the channels."""
    dt = _entry_dtype(dtype)
    what = "fold_matrix" if transposed else "unfold_matrix"
    budget = Budget(what, f"convmat.{what.replace('matrix', 'operator')}", dt.itemsize,
                    max_entries)
    n_image, n_cols = math.prod(geo.image_shape), math.prod(geo.columns_shape)
    budget.check(geo.n_entries(), n_image if transposed else n_cols)
    cols, counts = (_fold_block if transposed else _unfold_block)(geo)
    indptr = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    shape = (n_image, n_cols) if transposed else (n_cols, n_image)
    step = n_cols // geo.channels if transposed else n_image // geo.channels
    return _repeat_blocks(cols[None, :], indptr, None, geo.channels, step, shape, dt)


# --------------------------------------------------------------------------- matrices
def unfold_matrix(input_shape, kernel_size, *, dilation=1, padding=0, stride=1,
                  dtype: DTypeLike = np.float64, max_entries: int | None = None) -> csr_array:
    r"""The matrix of ``torch.nn.functional.unfold`` (im2col) for one image.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of the image (``F.unfold`` is 2-D only).
    kernel_size : int or pair of int
        The sliding block, positive.
    dilation, stride : int or pair of int
        Positive.
    padding : int or pair of int
        Zeros added on both sides of each spatial axis (any size: no ``p <= k / 2`` limit).
    dtype : dtype
        Of the stored ones (default float64).
    max_entries : int, optional
        Refuse to build more stored entries than this (default: ``get_max_entries()``).

    Returns
    -------
    csr_array, shape (C * kh * kw * L, C * H * W)
        ``U`` with ``U @ x.ravel() == F.unfold(x[None], ...)[0].ravel()``: the output
        ``(C * kh * kw, L)``, ``L = oh * ow`` blocks, flattened in C order. At most one 1
        a row (none where the tap reads the padding).

    Notes
    -----
    With ``o = (H + 2 p - d (k - 1) - 1) // s + 1`` blocks per axis,

    .. math::  U[(c\,k_h k_w + a\,k_w + b)\,L + q\,o_w + r,\;
               (c\,H + q s_h - p_h + a d_h)\,W + r s_w - p_w + b d_w] = 1

    wherever both coordinates lie in the image. A convolution is ``y = W_{2d} U x`` with
    ``W_{2d}`` the weight as a ``(C_out, C * kh * kw)`` matrix, so ``conv_matrix(w, ...)
    == kron(W_2d, I_L) @ U``. ``U.T`` is :func:`fold_matrix`.

    Examples
    --------
    A row of 4 pixels, blocks of 2: taps ``a`` then blocks ``j``, reading ``j + a``:

    >>> from convmat import unfold_matrix
    >>> U = unfold_matrix((1, 1, 4), (1, 2))
    >>> U.toarray()
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    >>> U.T.toarray()                    # fold: pixels 1 and 2 collect two blocks each
    array([[1., 0., 0., 0., 0., 0.],
           [0., 1., 0., 1., 0., 0.],
           [0., 0., 1., 0., 1., 0.],
           [0., 0., 0., 0., 0., 1.]])
    """
    geo = unfold_geometry(input_shape, kernel_size, dilation=dilation, padding=padding,
                          stride=stride)
    return _index_map(geo, False, dtype, max_entries)


def fold_matrix(input_shape, output_size, kernel_size, *, dilation=1, padding=0, stride=1,
                dtype: DTypeLike = np.float64, max_entries: int | None = None) -> csr_array:
    r"""The matrix of ``torch.nn.functional.fold`` (col2im) for one sample.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C * kh * kw, L)``: the columns of one image, ``L`` the number of blocks.
    output_size : int or pair of int
        ``(H, W)`` of the image, positive.
    kernel_size, dilation, padding, stride, dtype, max_entries
        As for :func:`unfold_matrix`.

    Returns
    -------
    csr_array, shape (C * H * W, C * kh * kw * L)
        ``F`` with ``F @ v.ravel() == F.fold(v[None], output_size, ...)[0].ravel()``.

    Notes
    -----
    Each column value is added to the pixel it was read from, and taps in the padding are
    dropped: ``F = U^T`` entry for entry, with ``U = unfold_matrix((C, H, W), ...)``,

    .. math::  y[c, h, w] = \sum_{a, b, q, r:\ q s_h - p_h + a d_h = h,\;
               r s_w - p_w + b d_w = w} v[c\,k_h k_w + a\,k_w + b,\; q\,o_w + r]

    (built from each axis's factor transposed, not by transposing ``U``).

    Examples
    --------
    The blocks of 2 of a row of 4 pixels, added back; the transpose is the unfolding:

    >>> from convmat import fold_matrix
    >>> F = fold_matrix((2, 3), (1, 4), (1, 2))
    >>> F.toarray()
    array([[1., 0., 0., 0., 0., 0.],
           [0., 1., 0., 1., 0., 0.],
           [0., 0., 1., 0., 1., 0.],
           [0., 0., 0., 0., 0., 1.]])
    >>> F.T.toarray()
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    """
    geo = fold_geometry(input_shape, output_size, kernel_size, dilation=dilation,
                        padding=padding, stride=stride)
    return _index_map(geo, True, dtype, max_entries)


# --------------------------------------------------------------------------- operators
class UnfoldOperator(_SampleOperator):
    r"""``F.unfold`` (or, with ``fold=True``, ``F.fold``) as a matrix-free
    :class:`~scipy.sparse.linalg.LinearOperator`; each is the other's adjoint.

    Each kernel tap reads one strided slice of the zero-padded image: unfolding copies the
    slices out, folding adds them back and crops the padding.

    Attributes
    ----------
    geometry : UnfoldGeometry
        The validated window; ``fold`` (bool) is ``True`` for ``F.fold``.
    in_shape, out_shape : tuple of int
        Sample shapes.
    """

    def __init__(self, geometry: UnfoldGeometry, fold: bool = False, dtype=np.float64):
        self.geometry, self.fold = geometry, fold
        shapes = (geometry.image_shape, geometry.columns_shape)
        super().__init__(*(shapes[::-1] if fold else shapes), dtype)

    def _taps(self):
        """``(t, where)`` per kernel tap ``t`` (flat): the slice of the padded image it
        reads for every block."""
        win = self.geometry.window
        for t, taps in enumerate(itertools.product(*map(range, win.kernel))):
            yield t, (Ellipsis, *(slice(a * d, a * d + (o - 1) * s + 1, s) for a, d, o, s
                                  in zip(taps, win.dilation, win.out, win.stride)))

    def _padded(self, shape, dtype):
        win = self.geometry.window
        padded = tuple(L + 2 * p for L, p in zip(win.size, win.pad_before))
        inner = (Ellipsis, *(slice(p, p + L) for p, L in zip(win.pad_before, win.size)))
        return np.zeros((*shape, *padded), dtype), inner

    def unfold(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, *size) -> (N, C * K, L)``: im2col of a batch, one copy per tap."""
        win = self.geometry.window
        xp, inner = self._padded(x.shape[:2], x.dtype)
        xp[inner] = x
        out = np.empty((*x.shape[:2], math.prod(win.kernel), *win.out), x.dtype)
        for t, where in self._taps():
            out[:, :, t] = xp[where]
        return out.reshape(x.shape[0], *self.geometry.columns_shape)

    def fold_back(self, v: np.ndarray) -> np.ndarray:
        """``(N, C * K, L) -> (N, C, *size)``: col2im of a batch, overlaps summed."""
        win, n, c = self.geometry.window, v.shape[0], self.geometry.channels
        v = v.reshape(n, c, math.prod(win.kernel), *win.out)
        buf, inner = self._padded((n, c), v.dtype)
        for t, where in self._taps():
            buf[where] += v[:, :, t]
        return np.ascontiguousarray(buf[inner])

    def _forward(self, x):
        return self.fold_back(x) if self.fold else self.unfold(x)

    def _backward(self, y):
        return self.unfold(y) if self.fold else self.fold_back(y)

    def _adjoint(self):
        return UnfoldOperator(self.geometry, not self.fold, self.dtype)


def unfold_operator(input_shape, kernel_size, *, dilation=1, padding=0, stride=1,
                    dtype: DTypeLike = np.float64) -> UnfoldOperator:
    r"""``torch.nn.functional.unfold`` for one image, matrix-free.

    Parameters
    ----------
    input_shape, kernel_size, dilation, padding, stride, dtype
        As for :func:`unfold_matrix` (``dtype`` is nominal: the data keep their own).

    Returns
    -------
    UnfoldOperator
        Equal to ``unfold_matrix(input_shape, ...)``: ``matvec`` is im2col, ``rmatvec``
        col2im (:func:`fold_operator`).

    Notes
    -----
    .. math::  y[c\,k_h k_w + a\,k_w + b,\; q\,o_w + r] = x[c,\; q s_h - p_h + a d_h,\;
               r s_w - p_w + b d_w]

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import unfold_operator
    >>> U = unfold_operator((1, 1, 4), (1, 2))
    >>> U
    <6x4 UnfoldOperator (1, 1, 4) -> (2, 3) with dtype=float64>
    >>> U @ np.array([1., 2., 3., 4.])
    array([1., 2., 3., 2., 3., 4.])
    >>> U.H @ np.ones(6)
    array([1., 2., 2., 1.])
    """
    geo = unfold_geometry(input_shape, kernel_size, dilation=dilation, padding=padding,
                          stride=stride)
    return UnfoldOperator(geo, False, _entry_dtype(dtype))


def fold_operator(input_shape, output_size, kernel_size, *, dilation=1, padding=0, stride=1,
                  dtype: DTypeLike = np.float64) -> UnfoldOperator:
    r"""``torch.nn.functional.fold`` for one sample, matrix-free.

    Parameters
    ----------
    input_shape, output_size, kernel_size, dilation, padding, stride, dtype
        As for :func:`fold_matrix`.

    Returns
    -------
    UnfoldOperator
        Equal to ``fold_matrix(input_shape, output_size, ...)``: ``matvec`` is col2im,
        ``rmatvec`` im2col.

    Notes
    -----
    .. math::  y[c, h, w] = \sum_{a, b, q, r:\ q s_h - p_h + a d_h = h,\;
               r s_w - p_w + b d_w = w} v[c\,k_h k_w + a\,k_w + b,\; q\,o_w + r]

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import fold_operator
    >>> F = fold_operator((2, 3), (1, 4), (1, 2))
    >>> F @ np.array([1., 2., 3., 10., 20., 30.])
    array([ 1., 12., 23., 30.])
    >>> F.H @ np.array([1., 2., 3., 4.])
    array([1., 2., 3., 2., 3., 4.])
    """
    geo = fold_geometry(input_shape, output_size, kernel_size, dilation=dilation,
                        padding=padding, stride=stride)
    return UnfoldOperator(geo, True, _entry_dtype(dtype))
