r"""Matrix-free operators: the maps of the builders, applied without building a matrix.

Each function here returns a :class:`scipy.sparse.linalg.LinearOperator` with the same
shape as the matching builder's matrix and the same convention (one sample ``(C,
*spatial)`` flattened in C order; a batch is a matrix with one sample per *column*, as
``LinearOperator.matmat`` wants it). ``matvec`` is the torch op, ``rmatvec`` its adjoint
``A^H`` (conjugate transpose), ``matmat``/``rmatmat`` do whole batches at once. Use them
where the matrix would not fit (the builders refuse very large matrices and point here),
and inside iterative solvers (``scipy.sparse.linalg.lsqr``, ``svds``).

Every op exposes one description of itself, next to its builder, which the builder
assembles and the operator applies:

* a convolution, its weight and geometry: :class:`ConvOperator` runs the GEMM-per-tap
  plan of :mod:`convmat._correlate`;
* an *index map* (the input each output copies, ``-1`` for a zero) for max pooling, max
  unpooling, bed of nails and the pixel shuffles: :class:`IndexOperator` gathers through
  it, and scatter-adds back;
* *1-D factors*, one per spatial dimension, for average pooling and interpolation:
  :class:`SeparableOperator` applies them along the axes in turn.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike

from ._correlate import Correlation
from ._sample_operator import IndexOperator, SeparableOperator, _SampleOperator, _separable
from .convolution import weight_array
from .interpolation import interpolate_entries, interpolate_factors, interpolation_dtype
from .pooling import avg_pool_factors, max_pool_input, max_pool_winners
from .shapes import (
    avg_pool_geometry,
    bed_of_nails_geometry,
    conv_geometry,
    conv_transpose_geometry,
    interpolate_geometry,
    pixel_shuffle_geometry,
    pixel_unshuffle_geometry,
)
from .unpooling import bed_of_nails_source, max_unpool_indices, max_unpool_source

__all__ = ["ConvOperator", "IndexOperator", "SeparableOperator", "avg_pool_operator",
           "bed_of_nails_operator", "conv_operator", "conv_transpose_operator",
           "interpolate_operator", "max_pool_operator", "max_unpool_operator",
           "pixel_shuffle_operator", "pixel_unshuffle_operator"]


for _cls in (IndexOperator, SeparableOperator):
    _cls.__module__ = __name__  # their public home (defined below the op modules)

# --------------------------------------------------------------------------- convolutions
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
        self._forward, self._backward = forward, adjoint
        self.geometry = geometry
        super().__init__(in_shape, out_shape, dtype)

    def _adjoint(self):
        return ConvOperator(self._backward, self._forward, self.out_shape, self.in_shape,
                            self.dtype, self.geometry)


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
    The filter ``[1, 2, 3]`` of *Unsampling: Unpooling and Transpose Convolution* over 4
    inputs with padding 1, and its adjoint:

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
    plan = Correlation(geo, w)
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

    .. math::
        y[g C_{out}/G + o, j] = \sum_{c \in g,\; i, t:\; i s - p + t d = j} w[c, o, t]\, x[c, i]

    so ``matvec`` runs the convolution plan backwards (scatter-add of the taps) and
    ``rmatvec`` runs it forwards with conjugated weights, ``T^H = \bar C``. When
    ``stride <= output_padding < dilation`` that convolution has more outputs than ``T``
    has inputs: the input is zero-extended, and the adjoint cropped.

    Examples
    --------
    Fig. 7 of *Unsampling: Unpooling and Transpose Convolution*: ``[a, b] = [1, 10]``,
    filter ``[1, 2, 3]``, stride 2:

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
    plan = Correlation(geo.conv, w)
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
    geo = pixel_shuffle_geometry(input_shape, upscale_factor)
    return IndexOperator(geo.source, geo.in_shape, geo.out_shape)


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
    geo = pixel_unshuffle_geometry(input_shape, downscale_factor)
    return IndexOperator(geo.source, geo.in_shape, geo.out_shape)


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
    return IndexOperator(functools.partial(bed_of_nails_source, geo),
                         (geo.channels, *geo.size), geo.out_shape)


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
    geo, idx = max_unpool_indices(indices, kernel_size, stride=stride, padding=padding,
                                  output_size=output_size)
    return IndexOperator(max_unpool_source(geo, idx), geo.in_shape, geo.out_shape)


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
    x, dtype, geo = max_pool_input(x, kernel_size, stride=stride, padding=padding,
                                   dilation=dilation, ceil_mode=ceil_mode)
    src, _ = max_pool_winners(x, geo)
    return IndexOperator(src, geo.in_shape, geo.out_shape, dtype)


# --------------------------------------------------------------------------- separable maps
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
    return _separable("avg_pool_operator", [win.count_inside(d) for d in range(win.ndim)],
                      win.out, geo.pool.channels, lambda: avg_pool_factors(geo), np.float64,
                      geo)


def interpolate_operator(input_shape, *, size=None, scale_factor=None, mode: str = "nearest",
                         align_corners: bool | None = None,
                         recompute_scale_factor: bool | None = None,
                         antialias: bool = False, dtype=np.float64) -> SeparableOperator:
    r"""``torch.nn.functional.interpolate`` for one sample, matrix-free.

    Parameters
    ----------
    input_shape, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias, dtype
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
    ft = interpolation_dtype(dtype)
    geo = interpolate_geometry(input_shape, size=size, scale_factor=scale_factor, mode=mode,
                               align_corners=align_corners,
                               recompute_scale_factor=recompute_scale_factor,
                               antialias=antialias)
    return _separable("interpolate_operator", interpolate_entries(geo), geo.out,
                      geo.channels, lambda: interpolate_factors(geo, ft), ft, geo)
