r"""Matrix-free operators: the maps of the builders, applied without building a matrix.

Each function here returns a :class:`scipy.sparse.linalg.LinearOperator` with the same
shape as the matching builder's matrix and the same convention (one sample ``(C,
*spatial)`` flattened in C order; a batch is a matrix with one sample per *column*, as
``LinearOperator.matmat`` wants it). ``matvec`` is the torch op, ``rmatvec`` its adjoint
``A^H`` (conjugate transpose), ``matmat``/``rmatmat`` do whole batches at once. Use them
where the matrix would not fit (``conv_matrix`` refuses very large ones and points here),
and inside iterative solvers (``scipy.sparse.linalg.lsqr``, ``svds``).

How a convolution is applied at BLAS speed: the input is padded (the padding read through
:func:`convmat.shapes.pad_source`, so every ``padding_mode`` and a cropping negative
padding come for free), split into its ``stride`` phases (``xp[..., r::s]``), and each phase
is laid out flat, channels by positions, over the *whole* phase grid. A kernel tap ``t``
then reads one phase at one constant offset for every output position, so the convolution
is a sum over taps of ``W_t @ X[:, offset_t : offset_t + n]``: one GEMM per tap on a
contiguous slice, no im2col copy. Positions of the grid past the real output are computed
and dropped (a thin border). The adjoint runs the same loop backwards, adding
``W_t^H @ Y`` into the slices, and then folds the phases and the padding back.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array
from scipy.sparse.linalg import LinearOperator

from ._sparse import Axis, kron_axes
from .convolution import weight_array
from .pooling import avg_pool_matrix, data_dtype, max_pool_selection
from .shapes import (
    ConvGeometry,
    avg_pool_geometry,
    bed_of_nails_geometry,
    conv_geometry,
    conv_transpose_geometry,
    max_unpool_geometry,
    pad_source,
    pixel_shuffle_output_shape,
    pixel_unshuffle_output_shape,
)
from .unpooling import _shuffle_perm, check_unpool_indices, interpolate_factors

__all__ = ["ConvOperator", "IndexOperator", "SeparableOperator", "avg_pool_operator",
           "bed_of_nails_operator", "conv_operator", "conv_transpose_operator",
           "interpolate_operator", "max_pool_operator", "max_unpool_operator",
           "pixel_shuffle_operator", "pixel_unshuffle_operator"]


# --------------------------------------------------------------------------- padding
def _unpad_axis(g: np.ndarray, src: np.ndarray, before: int, L: int, axis: int) -> np.ndarray:
    """Adjoint of ``x.take(src, axis)``: each padded position adds into its source.

    ``src`` comes from :func:`~convmat.shapes.pad_source` for a non-zero padding mode, so
    padded positions ``[before, before + L)`` are the input itself, in order; only the
    (few) padding positions around them need a loop.
    """
    shape = list(g.shape)
    shape[axis] = L
    out = np.zeros(shape, dtype=g.dtype)
    lo, hi = max(before, 0), min(before + L, src.size)

    def at(index, where):
        key = [slice(None)] * g.ndim
        key[axis] = where
        return index[tuple(key)]

    at(out, slice(lo - before, hi - before))[...] = at(g, slice(lo, hi))
    for p in [*range(lo), *range(hi, src.size)]:
        at(out, int(src[p]))[...] += at(g, p)
    return out


# --------------------------------------------------------------------------- the kernel
class _Correlation:
    """A batched plan for ``y = C x`` and ``x = C^T y`` of one :class:`ConvGeometry`."""

    def __init__(self, geo: ConvGeometry, weight: np.ndarray):
        win = geo.window
        self.geo = geo
        g = geo.groups
        co, ci = geo.out_channels // g, geo.in_channels // g
        n_taps = math.prod(win.kernel)
        # (taps, groups, C_out/G, C_in/G): one small matrix per tap and group.
        self.taps = np.ascontiguousarray(
            np.moveaxis(weight.reshape(g, co, ci, n_taps), -1, 0))
        self.src = [
            pad_source(np.arange(-b, L + a), L, geo.padding_mode)
            for L, b, a in zip(win.size, win.pad_before, win.pad_after)
        ]
        self.padded = tuple(s.size for s in self.src)
        self.phase_len = tuple(-(-P // s) for P, s in zip(self.padded, win.stride))
        self.flat = math.prod(self.phase_len)
        flat_strides = np.array(
            [math.prod(self.phase_len[i + 1:]) for i in range(win.ndim)], dtype=np.int64)
        shift = np.indices(win.kernel).reshape(win.ndim, -1).T * np.array(win.dilation)
        stride = np.array(win.stride)
        self.phase = np.ravel_multi_index(tuple((shift % stride).T), win.stride)
        self.offset = ((shift // stride) * flat_strides).sum(axis=1)
        self.tail = int(self.offset.max())

    # -- layout: padded input <-> phases laid out (phase, channel, sample * grid)
    def _phases(self, shape, before):
        """Per stride phase: the slice of an array of spatial ``shape`` sitting at offset
        ``before`` of the padded grid that lands in that phase, and where it lands."""
        win = self.geo.window
        for phase in np.ndindex(*win.stride):
            source, dest = [], []
            for r, s, b, A in zip(phase, win.stride, before, shape):
                i0 = (r - b) % s  # first array position in this phase
                count = len(range(i0, A, s))
                source.append(slice(i0, None, s))
                dest.append(slice((i0 + b) // s, (i0 + b) // s + count))
            yield int(np.ravel_multi_index(phase, win.stride)), tuple(source), tuple(dest)

    def _grid(self, buf: np.ndarray, phase: int, n: int) -> np.ndarray:
        """Phase ``phase`` of ``buf`` as ``(N, C, *phase_len)``, a view."""
        view = buf[phase, :, : n * self.flat].reshape(buf.shape[1], n, *self.phase_len)
        return view.swapaxes(0, 1)

    def _padded(self, x: np.ndarray):
        """The input and its offset in the padded grid: ``x`` itself for zero padding
        (the zeros are already in the buffer), else ``x`` read through the padding."""
        win = self.geo.window
        if self.geo.padding_mode == "zeros":
            return x, win.pad_before
        for axis, src in enumerate(self.src, start=2):
            x = x.take(src, axis=axis)  # reflect, replicate, circular: no -1 here
        return x, (0,) * win.ndim

    def _to_phases(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        buf = np.zeros((math.prod(self.geo.window.stride), x.shape[1],
                        n * self.flat + self.tail), x.dtype)
        xp, before = self._padded(x)
        for phase, source, dest in self._phases(xp.shape[2:], before):
            self._grid(buf, phase, n)[(Ellipsis,) + dest] = xp[(Ellipsis,) + source]
        return buf

    def _from_phases(self, buf: np.ndarray, n: int) -> np.ndarray:
        win = self.geo.window
        zeros = self.geo.padding_mode == "zeros"
        size = win.size if zeros else self.padded
        out = np.empty((n, buf.shape[1]) + size, dtype=buf.dtype)
        for phase, source, dest in self._phases(size, win.pad_before if zeros else (0,) * win.ndim):
            out[(Ellipsis,) + source] = self._grid(buf, phase, n)[(Ellipsis,) + dest]
        if not zeros:
            for axis, (src, b, L) in enumerate(zip(self.src, win.pad_before, win.size), start=2):
                out = _unpad_axis(out, src, b, L, axis)
        return out

    # -- the two maps
    def forward(self, x: np.ndarray, conj: bool = False) -> np.ndarray:
        """``(N, C_in, *size) -> (N, C_out, *out)``: the convolution (weights conjugated)."""
        geo, n = self.geo, x.shape[0]
        g = geo.groups
        dtype = np.result_type(x.dtype, self.taps.dtype)
        taps = self.taps.conj() if conj else self.taps
        buf = self._to_phases(x.astype(dtype, copy=False))
        buf = buf.reshape(buf.shape[0], g, -1, buf.shape[-1])
        width = n * self.flat
        y = np.zeros((g, geo.out_channels // g, width), dtype=dtype)
        tmp = np.empty_like(y)
        for t, (phase, off) in enumerate(zip(self.phase.tolist(), self.offset.tolist())):
            np.matmul(taps[t], buf[phase, :, :, off:off + width], out=tmp)
            y += tmp
        y = y.reshape(geo.out_channels, n, *self.phase_len)
        y = y[(slice(None), slice(None)) + tuple(slice(0, o) for o in geo.window.out)]
        return np.ascontiguousarray(y.swapaxes(0, 1))

    def transpose(self, y: np.ndarray, conj: bool = False) -> np.ndarray:
        """``(N, C_out, *out) -> (N, C_in, *size)``: ``C^T y`` (``C^H y`` with ``conj``)."""
        geo, n = self.geo, y.shape[0]
        g = geo.groups
        dtype = np.result_type(y.dtype, self.taps.dtype)
        taps = self.taps.conj() if conj else self.taps
        width = n * self.flat
        full = np.zeros((geo.out_channels, n) + self.phase_len, dtype=dtype)
        full[(slice(None), slice(None)) + tuple(slice(0, o) for o in geo.window.out)] = (
            y.swapaxes(0, 1))
        full = full.reshape(g, -1, width)
        buf = np.zeros((math.prod(geo.window.stride), geo.in_channels, width + self.tail), dtype)
        grouped = buf.reshape(buf.shape[0], g, -1, buf.shape[-1])
        tmp = np.empty((g, geo.in_channels // g, width), dtype=dtype)
        for t, (phase, off) in enumerate(zip(self.phase.tolist(), self.offset.tolist())):
            np.matmul(taps[t].swapaxes(-1, -2), full, out=tmp)
            grouped[phase, :, :, off:off + width] += tmp
        return self._from_phases(buf, n)


# --------------------------------------------------------------------------- operators
class _SampleOperator(LinearOperator):
    """A ``LinearOperator`` from flat samples of ``in_shape`` to flat samples of
    ``out_shape``; subclasses give ``_matmat`` and ``_rmatmat`` (one sample a column)."""

    def __init__(self, in_shape, out_shape, dtype):
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        super().__init__(dtype=np.dtype(dtype),
                         shape=(math.prod(self.out_shape), math.prod(self.in_shape)))

    def _matvec(self, x):
        return self._matmat(np.reshape(x, (-1, 1))).reshape(-1)

    def _rmatvec(self, y):
        return self._rmatmat(np.reshape(y, (-1, 1))).reshape(-1)

    def __repr__(self) -> str:
        return (f"<{self.shape[0]}x{self.shape[1]} {type(self).__name__} {self.in_shape} -> "
                f"{self.out_shape} with dtype={self.dtype}>")


class ConvOperator(_SampleOperator):
    """A convolution-like :class:`~scipy.sparse.linalg.LinearOperator` on flat samples.

    Attributes
    ----------
    in_shape, out_shape : tuple of int
        The sample shapes ``(C, *spatial)`` of the input and the output.
    geometry
        The validated geometry from :mod:`convmat.shapes` (a ``ConvGeometry`` or a
        ``ConvTransposeGeometry``).
    """

    def __init__(self, forward, adjoint, in_shape, out_shape, dtype, geometry):
        self._apply, self._apply_adjoint = forward, adjoint
        self.geometry = geometry
        super().__init__(in_shape, out_shape, dtype)

    def _matmat(self, X):
        X = np.asarray(X)
        k = X.shape[1]
        return self._apply(X.T.reshape(k, *self.in_shape)).reshape(k, -1).T

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        k = Y.shape[1]
        return self._apply_adjoint(Y.T.reshape(k, *self.out_shape)).reshape(k, -1).T

    def _adjoint(self):
        return ConvOperator(self._apply_adjoint, self._apply, self.out_shape,
                            self.in_shape, self.dtype, self.geometry)


def conv_operator(weight: ArrayLike, input_shape, *, stride=1, padding=0, dilation=1,
                  groups=1, padding_mode="zeros") -> ConvOperator:
    r"""``torch.nn.functional.conv{1,2,3}d`` for one sample, as a matrix-free operator.

    Parameters
    ----------
    weight, input_shape, stride, padding, dilation, groups, padding_mode
        As for :func:`convmat.conv_matrix`: ``weight`` of shape ``(C_out, C_in // groups,
        *kernel)``, ``input_shape = (C_in, *spatial)``, ``padding`` may be ``"same"``.

    Returns
    -------
    ConvOperator
        A ``LinearOperator`` of shape ``(C_out * prod(out), C_in * prod(spatial))`` equal to
        ``conv_matrix(weight, input_shape, ...)``, never built: ``matvec`` is the
        convolution, ``rmatvec`` its adjoint, ``matmat`` a batch (one sample per column).

    Notes
    -----
    With ``g = o // (C_out / groups)`` and ``\tilde x`` the padded input,

    .. math::  y[o, j] = \sum_{c, t} w[o, c, t]\, \tilde x[g\,C_{in}/G + c,\; j s + t d]

    computed as ``sum_t W_t @ X_t``: one GEMM per kernel tap ``t`` over the stride phase
    of the padded input that the tap reads (see the module notes). The adjoint is

    .. math::  (A^H y)[c, i] = \sum_{o, j, t:\; j s + t d = i + p} \overline{w[o, c, t]}\, y[o, j]

    folded back through the padding (a reflected or wrapped pixel adds into its source).

    Examples
    --------
    The seed's filter ``[1, 2, 3]`` over 4 inputs with padding 1, and its adjoint:

    >>> import numpy as np
    >>> from convmat import conv_operator, conv_matrix
    >>> w = np.array([[[1., 2., 3.]]])
    >>> A = conv_operator(w, (1, 4), padding=1)
    >>> A
    <4x4 ConvOperator (1, 4) -> (1, 4) with dtype=float64>
    >>> A @ np.array([1., 0., 0., 0.])
    array([2., 1., 0., 0.])
    >>> A.H @ np.array([1., 0., 0., 0.])
    array([2., 3., 0., 0.])
    >>> np.array_equal(A @ np.eye(4), conv_matrix(w, (1, 4), padding=1).toarray())
    True
    """
    w = weight_array(weight)
    geo = conv_geometry(w.shape, input_shape, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)
    plan = _Correlation(geo, w)
    return ConvOperator(plan.forward, lambda y: plan.transpose(y, conj=True), geo.in_shape,
                        geo.out_shape, w.dtype, geo)


def conv_transpose_operator(weight: ArrayLike, input_shape, *, stride=1, padding=0,
                            output_padding=0, dilation=1, groups=1,
                            output_size=None) -> ConvOperator:
    r"""``torch.nn.functional.conv_transpose{1,2,3}d`` for one sample, matrix-free.

    Parameters
    ----------
    weight, input_shape, stride, padding, output_padding, dilation, groups, output_size
        As for :func:`convmat.conv_transpose_matrix`: ``weight`` of shape ``(C_in,
        C_out // groups, *kernel)`` (torch's layout), ``input_shape = (C_in, *spatial)``.

    Returns
    -------
    ConvOperator
        A ``LinearOperator`` equal to ``conv_transpose_matrix(weight, input_shape, ...)``.

    Notes
    -----
    The transposed convolution is ``T = C^T``, with ``C`` the convolution of the same
    weight, stride, padding and dilation from ``T``'s output back to its input:

    .. math::  y[g C_{out}/G + o, j] = \sum_{c \in g,\; i, t:\; i s - p + t d = j} w[c, o, t]\, x[c, i]

    so ``matvec`` runs the convolution plan backwards (scatter-add of the taps) and
    ``rmatvec`` runs it forwards with conjugated weights, ``T^H = \bar C``. When
    ``stride <= output_padding < dilation`` that convolution has more outputs than ``T``
    has inputs: the input is zero-extended, and the adjoint cropped.

    Examples
    --------
    The seed's Fig. 7: ``[a, b] = [1, 10]``, filter ``[1, 2, 3]``, stride 2:

    >>> import numpy as np
    >>> from convmat import conv_transpose_operator
    >>> T = conv_transpose_operator(np.array([[[1., 2., 3.]]]), (1, 2), stride=2)
    >>> T @ np.array([1., 10.])
    array([ 1.,  2., 13., 20., 30.])
    >>> T.H @ np.array([0., 0., 1., 0., 0.])
    array([3., 1.])
    """
    w = weight_array(weight)
    geo = conv_transpose_geometry(w.shape, input_shape, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation,
                                  groups=groups, output_size=output_size)
    plan = _Correlation(geo.conv, w)
    conv_out = geo.conv.window.out
    keep = (slice(None), slice(None)) + tuple(slice(0, L) for L in geo.in_size)

    def forward(x):
        if conv_out != geo.in_size:
            full = np.zeros(x.shape[:2] + conv_out, dtype=x.dtype)
            full[keep] = x
            x = full
        return plan.transpose(x)

    def adjoint(y):
        return np.ascontiguousarray(plan.forward(y, conj=True)[keep])

    return ConvOperator(forward, adjoint, geo.in_shape, geo.out_shape, w.dtype, geo)


# --------------------------------------------------------------------------- index maps
class IndexOperator(_SampleOperator):
    """``y[i] = x[src[i]]`` (``0`` where ``src[i] < 0``): a 0/1 matrix with at most one 1
    per row, applied by a gather; the adjoint scatter-adds ``y`` back.

    Max pooling with known winners, max unpooling, bed-of-nails upsampling and the pixel
    (un)shuffles are all of this kind.

    Attributes
    ----------
    src : ndarray of int64, shape (m,)
        The input read by each output, ``-1`` for none.
    in_shape, out_shape : tuple of int
        Sample shapes.
    """

    def __init__(self, src: np.ndarray, in_shape, out_shape, dtype=np.float64):
        self.src = np.asarray(src, dtype=np.int64).reshape(-1)
        super().__init__(in_shape, out_shape, dtype)
        self._read = np.where(self.src < 0, self.shape[1], self.src)  # -> an extra zero row

    def _matmat(self, X):
        X = np.asarray(X)
        ext = np.concatenate([X, np.zeros((1, X.shape[1]), X.dtype)])
        return ext[self._read]

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        out = np.zeros((self.shape[1] + 1, Y.shape[1]), dtype=Y.dtype)
        np.add.at(out, self._read, Y)
        return out[:-1]


def _positions(shape) -> np.ndarray:
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)


def pixel_shuffle_operator(input_shape, upscale_factor: int) -> IndexOperator:
    r"""``torch.nn.functional.pixel_shuffle`` as a matrix-free permutation.

    Parameters
    ----------
    input_shape : tuple of int
        ``(*B, C r^2, H, W)``.
    upscale_factor : int
        ``r``.

    Returns
    -------
    IndexOperator
        Equal to :func:`convmat.pixel_shuffle_matrix`; ``rmatvec`` is its inverse.

    Notes
    -----
    .. math::  y[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import pixel_shuffle_operator
    >>> P = pixel_shuffle_operator((4, 1, 1), 2)
    >>> P @ np.array([1., 2., 3., 4.])      # 4 channels -> one 2x2 block
    array([1., 2., 3., 4.])
    >>> pixel_shuffle_operator((4, 1, 2), 2) @ np.arange(8.)
    array([0., 2., 1., 3., 4., 6., 5., 7.])
    """
    out = pixel_shuffle_output_shape(input_shape, upscale_factor)
    *batch, c, h, w = out
    r = upscale_factor
    # The layout of pixel_shuffle_matrix: (c r^2 + i r + j, h, w) -> (c, h r + i, w r + j).
    src = _shuffle_perm((math.prod(batch) * c, r, r, h // r, w // r), (0, 3, 1, 4, 2))
    return IndexOperator(src, input_shape, out)


def pixel_unshuffle_operator(input_shape, downscale_factor: int) -> IndexOperator:
    r"""``torch.nn.functional.pixel_unshuffle``, the inverse of the shuffle, matrix-free.

    Notes
    -----
    .. math::  y[c r^2 + i r + j, h, w] = x[c, h r + i, w r + j]

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import pixel_unshuffle_operator
    >>> pixel_unshuffle_operator((1, 2, 4), 2) @ np.arange(8.)
    array([0., 2., 1., 3., 4., 6., 5., 7.])
    """
    out = pixel_unshuffle_output_shape(input_shape, downscale_factor)
    *batch, c, h, w = tuple(input_shape)
    r = downscale_factor
    # The layout of pixel_unshuffle_matrix: (c, h r + i, w r + j) -> (c r^2 + i r + j, h, w).
    src = _shuffle_perm((math.prod(batch) * c, h // r, r, w // r, r), (0, 2, 4, 1, 3))
    return IndexOperator(src, input_shape, out)


def bed_of_nails_operator(input_shape, scale_factor, *, offset=0) -> IndexOperator:
    r"""Bed-of-nails upsampling (:func:`convmat.bed_of_nails_matrix`), matrix-free.

    Notes
    -----
    .. math::  y[c, i s + o] = x[c, i], \quad \text{zeros elsewhere}

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import bed_of_nails_operator
    >>> B = bed_of_nails_operator((1, 3), 2, offset=1)
    >>> B @ np.array([1., 2., 3.])
    array([0., 1., 0., 2., 0., 3.])
    >>> B.H @ np.arange(6.)
    array([1., 3., 5.])
    """
    geo = bed_of_nails_geometry(input_shape, scale_factor, offset=offset)
    src = np.full(geo.out_shape, -1, dtype=np.int64)
    nails = (slice(None),) + tuple(slice(o, None, s) for o, s in zip(geo.offset, geo.scale))
    src[nails] = _positions((geo.channels, *geo.size))
    return IndexOperator(src, (geo.channels, *geo.size), geo.out_shape)


def max_unpool_operator(indices: ArrayLike, kernel_size, *, stride=None, padding=0,
                        output_size=None) -> IndexOperator:
    r"""``torch.nn.functional.max_unpool{1,2,3}d`` for given indices, matrix-free.

    Parameters
    ----------
    indices : array_like of int, shape (C, *in_spatial)
        Flat positions in each output channel's plane (max pooling's ``return_indices``).
    kernel_size, stride, padding, output_size
        As for :func:`convmat.max_unpool_matrix`.

    Returns
    -------
    IndexOperator
        Equal to ``max_unpool_matrix(indices, ...)``; a repeated index keeps the last
        value written, in C order.

    Notes
    -----
    .. math::  y[c, \mathrm{idx}[c, j]] = x[c, j], \quad \text{zeros elsewhere}

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import max_unpool_operator
    >>> U = max_unpool_operator(np.array([[1, 2]]), 2)
    >>> U @ np.array([5., 7.])
    array([0., 5., 7., 0.])
    """
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices must hold integers, got an array of dtype {idx.dtype}")
    geo = max_unpool_geometry(idx.shape, kernel_size, stride=stride, padding=padding,
                              output_size=output_size)
    plane = math.prod(geo.out)
    flat = idx.reshape(geo.channels, -1)
    check_unpool_indices(flat, plane, geo.out)  # before the cast: a huge uint64 stays huge
    src = np.full(geo.channels * plane, -1, dtype=np.int64)
    if plane:  # an empty plane takes any index (torch skips the check too): none is written
        rows = np.arange(geo.channels)[:, None] * plane + flat.astype(np.int64)
        src[rows.ravel()] = np.arange(flat.size)
    return IndexOperator(src, geo.in_shape, geo.out_shape)


def max_pool_operator(x: ArrayLike, kernel_size, *, stride=None, padding=0, dilation=1,
                      ceil_mode=False) -> IndexOperator:
    r"""Max pooling of ``x`` as the selection of its winners, matrix-free.

    Parameters
    ----------
    x : array_like, shape (C, *spatial)
        The sample whose maxima fix the selection.
    kernel_size, stride, padding, dilation, ceil_mode
        As for :func:`convmat.max_pool_selection`.

    Returns
    -------
    IndexOperator
        Equal to ``max_pool_selection(x, ...)[0]``: ``matvec`` gathers the winners,
        ``rmatvec`` routes a gradient back to them (summed where windows share one).

    Notes
    -----
    .. math::  y[c, j] = z[c, \mathrm{idx}[c, j]]

    for any ``z`` of ``x``'s shape; ``z = x`` gives the max pooling of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import max_pool_operator
    >>> x = np.array([[1., 5., 2., 0.]])
    >>> M = max_pool_operator(x, 2)
    >>> M @ x.ravel()
    array([5., 2.])
    >>> M.H @ np.array([1., 1.])
    array([0., 1., 1., 0.])
    """
    x = np.asarray(x)
    _, idx = max_pool_selection(x, kernel_size, stride=stride, padding=padding,
                                dilation=dilation, ceil_mode=ceil_mode)
    plane = math.prod(x.shape[1:])
    src = np.arange(x.shape[0])[:, None] * plane + idx.reshape(x.shape[0], -1)
    return IndexOperator(src, x.shape, idx.shape, data_dtype(x))


# --------------------------------------------------------------------------- separable maps
def _along_axes(factors, x: np.ndarray) -> np.ndarray:
    """``(N, C, *size) -> (N, C, *out)``: the 1-D matrix ``factors[d]`` applied along
    spatial axis ``d``, one sparse-times-dense product per dimension."""
    for axis, M in enumerate(factors, start=2):
        moved = np.moveaxis(x, axis, 0)
        y = M @ moved.reshape(moved.shape[0], -1)
        x = np.moveaxis(y.reshape(M.shape[0], *moved.shape[1:]), 0, axis)
    return np.ascontiguousarray(x)


class SeparableOperator(ConvOperator):
    r"""``I_C \otimes M_1 \otimes \dots \otimes M_n`` on flat samples, never built.

    Average pooling and interpolation act on each spatial axis independently, and on each
    channel alike: ``matvec`` applies the small 1-D matrix ``M_d`` along axis ``d`` in
    turn, ``rmatvec`` applies the ``M_d^H``.

    Attributes
    ----------
    factors : list of csr_array
        ``M_d`` of shape ``(out[d], size[d])``, one per spatial dimension.
    in_shape, out_shape : tuple of int
        Sample shapes ``(C, *size)`` and ``(C, *out)``.
    geometry
        The validated geometry from :mod:`convmat.shapes`.
    """

    def __init__(self, factors, channels: int, dtype, geometry):
        self.factors = list(factors)
        adjoints = [M.T.conj().tocsr() for M in self.factors]
        super().__init__(lambda x: _along_axes(self.factors, x),
                         lambda y: _along_axes(adjoints, y),
                         (channels, *(M.shape[1] for M in self.factors)),
                         (channels, *(M.shape[0] for M in self.factors)), dtype, geometry)


def _factor_matrix(axis: Axis, dtype) -> csr_array:
    """The 1-D matrix of one factor, assembled as the builders assemble theirs."""
    pattern = kron_axes([axis], taps=False, values=axis.values is not None)
    values = np.ones(pattern.nnz) if pattern.values is None else pattern.values
    return pattern.csr(values.astype(dtype, copy=False))


def avg_pool_operator(input_shape, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None) -> SeparableOperator:
    r"""``torch.nn.functional.avg_pool{1,2,3}d`` for one sample, matrix-free.

    Parameters
    ----------
    input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As for :func:`convmat.avg_pool_matrix` (and validated by the same geometry).

    Returns
    -------
    SeparableOperator
        A float64 ``LinearOperator`` equal to ``avg_pool_matrix(input_shape, ...)``:
        ``matvec`` pools, ``rmatvec`` spreads each output back over its window.

    Notes
    -----
    The divisor is a product over dimensions (or the constant ``divisor_override``), so

    .. math::  A = I_C \otimes A_1 \otimes \dots \otimes A_n \quad
               (\text{times } 1 / \mathrm{divisor\_override})

    with ``A_d`` the 1-D average pooling of dimension ``d`` alone (window sums over
    ``[max(a, 0), min(a + k, L))``, ``a = j s - p``, divided by that dimension's share of
    the divisor). Each ``A_d`` holds ``k`` entries a row; applying them along the axes in
    turn costs ``sum_d k_d`` operations per output instead of ``prod_d k_d``.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import avg_pool_operator
    >>> A = avg_pool_operator((1, 4), 2, padding=1)
    >>> A
    <3x4 SeparableOperator (1, 4) -> (1, 3) with dtype=float64>
    >>> A @ np.array([2., 4., 6., 8.])
    array([1., 5., 4.])
    >>> A.H @ np.array([1., 0., 0.])
    array([0.5, 0. , 0. , 0. ])
    """
    geo = avg_pool_geometry(input_shape, kernel_size, stride=stride, padding=padding,
                            ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                            divisor_override=divisor_override)
    win = geo.pool.window
    # The 1-D factors are 1-D average poolings with each dimension's arguments: the
    # window and divisor of a dimension do not depend on the others.
    factors = [avg_pool_matrix((1, L), k, stride=s, padding=p, ceil_mode=geo.pool.ceil_mode,
                               count_include_pad=geo.count_include_pad)
               for L, k, s, p in zip(win.size, win.kernel, win.stride, win.pad_before)]
    if geo.divisor_override is not None:
        # One constant replaces the whole divisor: plain window sums (the factors' patterns
        # are structural), and 1 / divisor_override carried by the first.
        for M in factors:
            M.data[:] = 1.0
        factors[0].data[:] = 1.0 / geo.divisor_override
    return SeparableOperator(factors, geo.pool.channels, np.float64, geo)


def interpolate_operator(input_shape, *, size=None, scale_factor=None, mode: str = "nearest",
                         align_corners: bool | None = None,
                         recompute_scale_factor: bool | None = None,
                         dtype=np.float64) -> SeparableOperator:
    r"""``torch.nn.functional.interpolate`` for one sample, matrix-free.

    Parameters
    ----------
    input_shape, size, scale_factor, mode, align_corners, recompute_scale_factor, dtype
        As for :func:`convmat.interpolate_matrix`; ``dtype`` (float64 or float32) is the
        precision torch samples in, and the dtype of the 1-D factors.

    Returns
    -------
    SeparableOperator
        A ``LinearOperator`` equal to ``interpolate_matrix(input_shape, ...)``.

    Notes
    -----
    .. math::  M = I_C \otimes M_1 \otimes \dots \otimes M_n

    with the same 1-D factors ``M_d`` as :func:`convmat.interpolate_matrix` (1 entry a row
    for the nearest modes, 2 for linear, 4 for bicubic); ``matvec`` applies them along the
    spatial axes in turn and ``rmatvec`` applies their transposes.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import interpolate_operator
    >>> M = interpolate_operator((1, 2), scale_factor=2, mode="linear")
    >>> M @ np.array([0., 4.])
    array([0., 1., 3., 4.])
    >>> M.H @ np.array([1., 0., 0., 0.])
    array([1., 0.])
    """
    geo, ft, axes = interpolate_factors(
        input_shape, size=size, scale_factor=scale_factor, mode=mode,
        align_corners=align_corners, recompute_scale_factor=recompute_scale_factor,
        dtype=dtype)
    return SeparableOperator([_factor_matrix(a, ft) for a in axes], geo.channels, ft, geo)
