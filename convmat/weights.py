r"""The convolution as a linear map of its weight, for a fixed input.

A convolution is ``y = W_{2d} U x`` with ``U`` the unfolding (im2col) of
:mod:`convmat.unfolding`, so it is linear in its weight too: for a fixed input,
``conv(x, w) = X w`` with ``X = I_{C_out} \otimes U(x)^T`` (block-wise for groups). ``X``
comes from the convolution's own per-axis factors with columns and taps swapped
(:func:`conv_weight_axes`), one group's block repeated over the output channels; the
code is N-D and serves 1-3 spatial dimensions.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array

from ._args import as_array, as_sample_shape, shape_of, shape_read_from
from ._sample_operator import _SampleOperator
from ._sparse import Axis, Budget, kron_axes
from .convolution import check_size, conv_axes, weight_array
from .shapes import ConvGeometry, conv_geometry
from .unfolding import _placed, _repeat_blocks

__all__ = ["ConvWeightOperator", "conv_weight_axes", "conv_weight_matrix",
           "conv_weight_operator", "conv_weight_output_shape", "unfolded_input"]


def _weight_geometry(x_shape, weight_shape, stride, padding, dilation, groups,
                     padding_mode) -> ConvGeometry:
    # named for this function's arguments (x, weight_shape), before conv_geometry speaks
    # of its own (input_shape, weight)
    as_sample_shape(x_shape, "x.shape")
    w_shape = shape_of(weight_shape, "weight_shape")
    if len(w_shape) != len(x_shape) + 1:
        raise ValueError(f"weight_shape must be (C_out, C_in // groups, *kernel) with "
                         f"{len(x_shape) - 1} kernel dimension(s) for x of shape "
                         f"{tuple(x_shape)}, got weight_shape={weight_shape!r}")
    if w_shape[1] < 1 or x_shape[0] % w_shape[1]:
        raise ValueError(f"weight_shape[1] (C_in // groups) must divide x's {x_shape[0]} "
                         f"channels, got weight_shape={weight_shape!r}")
    with shape_read_from("x", x_shape):
        return conv_geometry(w_shape, x_shape, stride=stride,
                             padding=padding, dilation=dilation, groups=groups,
                             padding_mode=padding_mode)


def conv_weight_axes(geo: ConvGeometry) -> list[Axis]:
    """The factors of one output channel per group of ``X``: the convolution's factors
    with columns and taps swapped (a column is now a weight, a tap an input pixel).

    Rows ``(g, j_0, ...)``; slots ``(c, t_0, ...)`` at column ``c * K + t``, reading pixel
    ``(g C_in/G + c, src(j, t))``; the convolution's spatial factors, padding mode and
    all, provide ``src`` and its mask.
    """
    g, per_group = geo.groups, geo.in_channels // geo.groups
    c = np.arange(per_group)
    axes = [Axis(np.broadcast_to(c, (g, per_group)), per_group,
                 np.arange(g)[:, None] * per_group + c, geo.in_channels)]
    for a in conv_axes(geo)[1:]:
        axes.append(Axis(a.taps, a.n_taps, a.cols, a.n_cols, a.valid))
    return axes


def conv_weight_output_shape(x, weight_shape, *, stride=1, padding=0, dilation=1, groups=1,
                             padding_mode="zeros") -> tuple[int, ...]:
    """Output shape ``(C_out, *out_spatial)`` of ``conv_weight_matrix``: the convolution's.

    ``x`` is the input sample or just its shape; ``weight_shape`` the weight's shape (or the
    weight).

    Examples
    --------
    >>> conv_weight_output_shape((1, 4), (1, 1, 3), padding=1)
    (1, 4)
    """
    return _weight_geometry(shape_of(x, "x"), weight_shape, stride, padding, dilation,
                            groups, padding_mode).out_shape


def conv_weight_matrix(x: ArrayLike, weight_shape, *, stride=1, padding=0, dilation=1,
                       groups=1, padding_mode="zeros",
                       max_entries: int | None = None) -> csr_array:
    r"""The convolution as a linear map of its **weight**, for the fixed input ``x``.

    Parameters
    ----------
    x : array_like, shape (C_in, *spatial)
        The input sample, 1, 2 or 3 spatial dimensions.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, *kernel)``, torch's layout (or a weight array).
    stride, padding, dilation, groups, padding_mode
        As for :func:`convmat.conv_matrix` (``padding`` may be ``"same"`` or ``"valid"``).
    max_entries : int, optional
        Refuse to build more stored entries than this (default: ``get_max_entries()``).

    Returns
    -------
    csr_array, shape (C_out * prod(out_spatial), prod(weight_shape))
        ``X`` with ``X @ w.ravel() == conv(x[None], w)[0].ravel() == conv_matrix(w,
        x.shape, ...) @ x.ravel()``, in ``x``'s dtype (float64 for integers). Its pattern
        depends on ``x``'s shape only: a pixel equal to 0 keeps its entries.

    Notes
    -----
    With ``g = o // (C_out / G)`` the group of output channel ``o`` and ``src(j, t) = j s
    - p + t d`` read through the padding mode,

    .. math::  X[(o, j),\; (o, c, t)] = x[g\,C_{in}/G + c,\; \mathrm{src}(j, t)]

    so for ``groups=1``, ``X = I_{C_{out}} \otimes U(x)^T`` with ``U(x)`` the unfolded
    input (``y = W_{2d} U(x)``); with groups, output channel ``o`` gets the block of its
    group's channels. ``X^T g`` is torch's weight gradient ``dL/dw`` for ``g = dL/dy``.

    Examples
    --------
    The input ``[1, 2, 3, 4]`` under a 3-tap filter, padded by 1: row ``j`` lists the
    pixels the filter's taps read (none in the padding), and ``X^T`` is the weight
    gradient:

    >>> import numpy as np
    >>> from convmat import conv_weight_matrix
    >>> X = conv_weight_matrix(np.array([[1., 2., 3., 4.]]), (1, 1, 3), padding=1)
    >>> X.toarray()
    array([[0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.],
           [3., 4., 0.]])
    >>> X.T.toarray()
    array([[0., 1., 2., 3.],
           [1., 2., 3., 4.],
           [2., 3., 4., 0.]])
    >>> X @ np.array([1., 2., 3.])      # the filter [1, 2, 3] applied to x
    array([ 8., 14., 20., 11.])
    """
    xs = weight_array(as_array(x, "x"))  # as a weight's: ints to float64, float16 to 32
    geo = _weight_geometry(xs.shape, weight_shape, stride, padding, dilation, groups,
                           padding_mode)
    budget = Budget("conv_weight_matrix", "convmat.conv_weight_operator", xs.dtype.itemsize,
                    max_entries)
    check_size(geo, budget)
    block = kron_axes(conv_weight_axes(geo), taps=False, weight=xs.reshape(-1),
                      budget=budget)
    g = geo.groups
    per_group = math.prod(geo.weight_shape[1:])
    shape = (math.prod(geo.out_shape), math.prod(geo.weight_shape))
    return _repeat_blocks(block.indices.reshape(g, -1), block.indptr,
                          block.values.reshape(g, -1), geo.out_channels // g, per_group,
                          shape, xs.dtype)


def unfolded_input(geo: ConvGeometry, x: np.ndarray) -> np.ndarray:
    """``U(x)`` per group, ``(G, C_in/G * K, L)``: ``x`` read by every (tap, output)
    pair through the padding mode, with the convolution's own factors (a tap in zero
    padding reads a zero appended past the end of its axis)."""
    axes = conv_axes(geo)[1:]
    n = len(axes)
    index = [_placed((a.cols if a.valid is None else np.where(a.valid, a.cols, a.n_cols)).T,
                     (d, n + d), 2 * n) for d, a in enumerate(axes)]
    if any(a.valid is not None for a in axes):
        x = np.pad(x, [(0, 0)] + [(0, 1)] * n)
    u = x[(slice(None), *index)]  # (C_in, *kernel, *out)
    return u.reshape(geo.groups, -1, math.prod(geo.window.out))


class ConvWeightOperator(_SampleOperator):
    r"""``w -> conv(x, w)`` for a fixed ``x``, as a matrix-free
    :class:`~scipy.sparse.linalg.LinearOperator` on flat weights.

    Per group ``g``, ``Y_g = W_g U_g(x)``: one batched GEMM with the unfolded input; the
    adjoint ``W_g = Y_g U_g(x)^H`` is torch's weight gradient.

    Attributes
    ----------
    geometry : ConvGeometry
        The validated convolution; ``unfolded`` is ``U(x)``, ``(G, C_in/G * K, L)``.
    in_shape, out_shape : tuple of int
        The weight's shape and the convolution's output shape.
    """

    def __init__(self, geometry: ConvGeometry, x: np.ndarray):
        self.geometry, self.unfolded = geometry, unfolded_input(geometry, x)
        super().__init__(geometry.weight_shape, geometry.out_shape, x.dtype)

    def _forward(self, w):
        u = self.unfolded
        y = np.matmul(w.reshape(w.shape[0], u.shape[0], -1, u.shape[1]), u)
        return y.reshape(w.shape[0], *self.out_shape)

    def _backward(self, y):
        u = self.unfolded
        w = np.matmul(y.reshape(y.shape[0], u.shape[0], -1, u.shape[2]),
                      u.conj().swapaxes(1, 2))
        return w.reshape(y.shape[0], *self.in_shape)


def conv_weight_operator(x: ArrayLike, weight_shape, *, stride=1, padding=0, dilation=1,
                         groups=1, padding_mode="zeros") -> ConvWeightOperator:
    r"""The convolution as a map of its weight, for the fixed input ``x``, matrix-free.

    Parameters
    ----------
    x, weight_shape, stride, padding, dilation, groups, padding_mode
        As for :func:`conv_weight_matrix`.

    Returns
    -------
    ConvWeightOperator
        Equal to ``conv_weight_matrix(x, weight_shape, ...)``: ``matvec`` convolves ``x``
        with a weight, ``rmatvec`` is the weight gradient of an output gradient.

    Notes
    -----
    .. math::  y[o, j] = \sum_{c, t} w[o, c, t]\, x[g\,C_{in}/G + c,\; \mathrm{src}(j, t)],
               \qquad (A^H y)[o, c, t] = \sum_j y[o, j]\,
               \overline{x[g\,C_{in}/G + c,\; \mathrm{src}(j, t)]}

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import conv_weight_operator
    >>> A = conv_weight_operator(np.array([[1., 2., 3., 4.]]), (1, 1, 3), padding=1)
    >>> A @ np.array([1., 2., 3.])
    array([ 8., 14., 20., 11.])
    >>> A.H @ np.array([1., 0., 0., 0.])    # the gradient of y[0]: the pixels it read
    array([0., 1., 2.])
    """
    xs = weight_array(as_array(x, "x"))
    geo = _weight_geometry(xs.shape, weight_shape, stride, padding, dilation, groups,
                           padding_mode)
    return ConvWeightOperator(geo, xs)
