r"""Adaptive pooling as sparse matrices: ``adaptive_avg_pool`` and ``adaptive_max_pool``.

An adaptive pooling is told the size of its output instead of a kernel: per spatial
dimension, output ``j`` of ``O`` pools the input range

.. math::  [\lfloor j L / O \rfloor,\; \lceil (j + 1) L / O \rceil)

of an input of ``L``, so neighbouring windows may share one element and their lengths
differ by at most one. The windows of a dimension depend on ``L`` and ``O`` alone: the
geometry (:class:`AdaptivePoolGeometry`) gives them, average pooling turns each
dimension into one weighted 1-D factor (:func:`adaptive_avg_factors`, whose Kronecker
product is the matrix, and which ``interpolate(mode="area")`` shares), max pooling into
an index map of winners (:func:`adaptive_max_winners`) that the 0/1 selection matrix and
the matrix-free operator both read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array

from ._args import as_array, as_int, as_sample_shape, is_int, shape_read_from
from ._resample_shapes import ChannelShapes
from ._sample_operator import IndexOperator, SeparableOperator, _separable
from ._sparse import Axis, Budget, index_dtype, kron_axes
from .pooling import _argmax_taps, data_dtype, selection_matrix

__all__ = [
    "AdaptivePoolGeometry",
    "adaptive_avg_pool_matrix",
    "adaptive_avg_pool_operator",
    "adaptive_max_pool_operator",
    "adaptive_max_pool_selection",
    "adaptive_pool_geometry",
    "adaptive_pool_output_shape",
]

# Window taps gathered per block (channels x windows x taps): temporaries of a few MiB.
_CHUNK = 1 << 17


# --------------------------------------------------------------------------- geometry
def adaptive_bounds(L: int, O: int) -> tuple[np.ndarray, np.ndarray]:
    """``(start, stop)`` of the ``O`` windows over ``L``, as torch's ``start_index`` and
    ``end_index``: ``floor(j L / O)`` and ``ceil((j + 1) L / O)``, in integers.

    Examples
    --------
    >>> adaptive_bounds(5, 3)
    (array([0, 1, 3]), array([2, 4, 5]))
    """
    j = np.arange(O, dtype=np.int64)
    if O == 0:
        return j, j
    # j L = j q O + j r with q, r = divmod(L, O): the products stay below O**2, which the
    # size budget keeps far from int64's limit whatever L is.
    q, r = divmod(L, O)
    start = j * q + (j * r) // O
    stop = (j + 1) * q + ((j + 1) * r + O - 1) // O
    return start, stop


def adaptive_entries(L: int, O: int) -> int:
    """Stored entries of one 1-D factor, by arithmetic (Python ints): ``L + O - gcd``.

    The windows cover the input in order and two neighbours share one element unless
    ``(j + 1) L / O`` is an integer, which happens ``gcd(L, O) - 1`` times.
    """
    return L + O - math.gcd(L, O) if O else 0


@dataclass(frozen=True)
class AdaptivePoolGeometry(ChannelShapes):
    """An adaptive pooling, validated: ``size`` the input's spatial size, ``out`` the
    output's (``None`` entries of ``output_size`` resolved to the input's size)."""

    channels: int
    size: tuple[int, ...]
    out: tuple[int, ...]


    def entries(self) -> list[int]:
        """Stored entries of each 1-D average factor (see :func:`adaptive_entries`)."""
        return [adaptive_entries(L, O) for L, O in zip(self.size, self.out)]


def _output_sizes(output_size, size: tuple[int, ...]) -> tuple[int, ...]:
    """torch's reading of ``output_size``: one size for all dimensions, or one per
    dimension, where ``None`` keeps the input's size (2-D and 3-D only)."""
    n = len(size)
    allowed = f"an integer or a sequence of {n} integers" + (" or None" if n > 1 else "")
    if is_int(output_size):
        items = (output_size,) * n
    elif isinstance(output_size, (tuple, list)) or (
            isinstance(output_size, np.ndarray) and output_size.ndim == 1):
        items = tuple(output_size)
        if len(items) != n:
            raise ValueError(
                f"output_size must have {n} entries, one per spatial dimension of a "
                f"{n}-D input, got output_size={output_size!r}"
            )
    else:
        raise TypeError(f"output_size must be {allowed}, got output_size={output_size!r}")
    out = []
    for item, L in zip(items, size):
        if item is None and n > 1:
            out.append(L)
            continue
        if not is_int(item):
            # torch's adaptive_avg_pool1d takes no None: only its 2-D and 3-D twins do.
            raise TypeError(f"output_size must be {allowed}, got output_size={output_size!r}")
        O = as_int(item, "output_size")
        if O < 0:
            raise ValueError(f"output_size must hold sizes >= 0 (0 gives an empty output), "
                             f"got output_size={output_size!r}")
        out.append(O)
    return tuple(out)


def adaptive_pool_geometry(input_shape, output_size) -> AdaptivePoolGeometry:
    """Validate an adaptive pooling of an input of ``input_shape`` as torch does."""
    channels, size = as_sample_shape(input_shape, "input_shape")
    return AdaptivePoolGeometry(channels, size, _output_sizes(output_size, size))


def adaptive_pool_output_shape(input_shape, output_size) -> tuple[int, ...]:
    """Output shape ``(C, *out)`` of the adaptive poolings of an input of ``input_shape``.

    ``out[d] = output_size[d]``, or ``input_shape[1 + d]`` where ``output_size[d]`` is
    ``None`` (2-D and 3-D inputs only, as in torch).

    Examples
    --------
    >>> adaptive_pool_output_shape((3, 8, 6), (2, None))
    (3, 2, 6)
    >>> adaptive_pool_output_shape((1, 5), 3)
    (1, 3)
    """
    return adaptive_pool_geometry(input_shape, output_size).out_shape


# --------------------------------------------------------------------------- average pooling
def adaptive_axis(L: int, O: int) -> Axis:
    """The 1-D adaptive average pooling of ``L`` inputs to ``O`` outputs, as an
    :class:`~convmat._sparse.Axis`: row ``j`` holds ``1 / (stop - start)`` over its window.

    This is also the factor of ``interpolate(mode="area")``.
    """
    start, stop = adaptive_bounds(L, O)
    lengths = stop - start
    t = np.arange(max(1, int(lengths.max(initial=0))))
    valid = t < lengths[:, None]
    cols = np.where(valid, start[:, None] + t, 0)
    values = np.broadcast_to(1.0 / np.maximum(lengths, 1)[:, None], cols.shape)
    return Axis(cols, L, valid=None if valid.all() else valid, values=values)


def adaptive_avg_factors(geo: AdaptivePoolGeometry) -> list[Axis]:
    """The 1-D factor of every spatial dimension (see :func:`adaptive_axis`).

    ``adaptive_avg_pool_matrix`` takes their Kronecker product, and
    ``adaptive_avg_pool_operator`` applies them along the axes in turn.
    """
    return [adaptive_axis(L, O) for L, O in zip(geo.size, geo.out)]


def interpolation_dtype(dtype) -> type:
    """The float type torch samples in: ``numpy.float32`` or ``numpy.float64``."""
    try:
        ft = np.dtype(dtype).type
    except TypeError:
        ft = None
    if ft not in (np.float32, np.float64):
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got dtype={dtype!r}")
    return ft


def adaptive_avg_pool_matrix(input_shape, output_size, *, dtype=np.float64,
                             max_entries=None) -> csr_array:
    r"""The matrix of ``torch.nn.functional.adaptive_avg_pool{1,2,3}d`` for one sample.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, *spatial)`` of the input sample, 1, 2 or 3 spatial dimensions.
    output_size : int or tuple of int
        The output's spatial size (``>= 0``): one for all dimensions or one per dimension.
        For 2-D and 3-D inputs an entry may be ``None``: that dimension keeps its size.
    dtype : {numpy.float64, numpy.float32}
        The dtype of the matrix.
    max_entries : int, optional
        Refuse to build more stored entries than this (default: ``get_max_entries()``).

    Returns
    -------
    csr_array, shape (C * prod(out), C * prod(spatial))
        ``A`` with ``A @ x.ravel() == adaptive_avg_pool(x[None], output_size)[0].ravel()``.

    Notes
    -----
    Per dimension, output ``j`` of ``O`` averages the input over

    .. math::  [a_j, b_j) = [\lfloor j L / O \rfloor,\; \lceil (j + 1) L / O \rceil)

    so the matrix is the Kronecker product ``I_C \otimes A_1 \otimes \dots \otimes A_n``
    of 1-D averaging matrices with ``A_d[j, i] = 1 / (b_j - a_j)`` on the window. When
    ``O`` divides ``L`` the windows are the ``L / O``-wide tiles of
    ``avg_pool_matrix(input_shape, L // O)``; it is also ``interpolate(mode="area")``.

    Examples
    --------
    Five inputs to three outputs: the windows ``[0, 2)``, ``[1, 4)`` and ``[3, 5)``
    overlap, so inputs 1 and 3 feed two outputs each:

    >>> from convmat import adaptive_avg_pool_matrix
    >>> A = adaptive_avg_pool_matrix((1, 5), 3)
    >>> A.toarray()
    array([[0.5       , 0.5       , 0.        , 0.        , 0.        ],
           [0.        , 0.33333333, 0.33333333, 0.33333333, 0.        ],
           [0.        , 0.        , 0.        , 0.5       , 0.5       ]])
    >>> A.T.toarray()
    array([[0.5       , 0.        , 0.        ],
           [0.5       , 0.33333333, 0.        ],
           [0.        , 0.33333333, 0.        ],
           [0.        , 0.33333333, 0.5       ],
           [0.        , 0.        , 0.5       ]])
    """
    ft = interpolation_dtype(dtype)
    geo = adaptive_pool_geometry(input_shape, output_size)
    budget = Budget("adaptive_avg_pool_matrix", "convmat.adaptive_avg_pool_operator",
                    np.dtype(ft).itemsize, max_entries)
    # Sized by arithmetic first: in 1-D the factor is as large as the matrix.
    budget.check(geo.channels * math.prod(geo.entries()), math.prod(geo.out_shape))
    channel = Axis(np.arange(geo.channels)[:, None], geo.channels)
    pattern = kron_axes([channel, *adaptive_avg_factors(geo)], taps=False, values=True,
                        budget=budget)
    return pattern.csr(pattern.values.astype(ft, copy=False))


def adaptive_avg_pool_operator(input_shape, output_size, *,
                               dtype=np.float64) -> SeparableOperator:
    r"""``torch.nn.functional.adaptive_avg_pool{1,2,3}d`` for one sample, matrix-free.

    Parameters
    ----------
    input_shape, output_size, dtype
        As for :func:`convmat.adaptive_avg_pool_matrix`.

    Returns
    -------
    SeparableOperator
        A ``LinearOperator`` equal to ``adaptive_avg_pool_matrix(input_shape, ...)``:
        ``matvec`` pools, ``rmatvec`` spreads each output back over its window.

    Notes
    -----
    .. math::  A = I_C \otimes A_1 \otimes \dots \otimes A_n

    with the 1-D averaging matrices ``A_d`` of :func:`convmat.adaptive_avg_pool_matrix`,
    applied along the spatial axes in turn.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import adaptive_avg_pool_operator
    >>> A = adaptive_avg_pool_operator((1, 4), 2)
    >>> A @ np.array([1., 3., 5., 7.])
    array([2., 6.])
    >>> A.H @ np.array([1., 0.])
    array([0.5, 0.5, 0. , 0. ])
    """

    ft = interpolation_dtype(dtype)
    geo = adaptive_pool_geometry(input_shape, output_size)
    return _separable("adaptive_avg_pool_operator", geo.entries(), geo.out, geo.channels,
                      lambda: adaptive_avg_factors(geo), ft, geo)


# --------------------------------------------------------------------------- max pooling
def _block_taps(bounds, size, first: int, count: int):
    """Flat in-plane position of every tap of windows ``first .. first + count - 1`` (C
    order), shape ``(count, n_taps)``, and the mask of the taps inside their window
    (``None`` when all are). Taps run over each window's box in C order."""
    out = tuple(len(start) for start, _ in bounds)
    n = len(out)
    j = np.unravel_index(np.arange(first, first + count), out)
    plane = np.cumprod((1,) + size[:0:-1])[::-1]  # C-order strides of one channel
    flat = np.zeros((count,) + (1,) * n, dtype=np.int64)
    valid = np.ones((count,) + (1,) * n, dtype=bool)
    for d, (start, stop) in enumerate(bounds):
        a, length = start[j[d]], stop[j[d]] - start[j[d]]
        t = np.arange(int((stop - start).max()))
        shape = [count] + [1] * n
        shape[1 + d] = t.size
        inside = t < length[:, None]
        flat = flat + (np.where(inside, a[:, None] + t, 0) * plane[d]).reshape(shape)
        valid = valid & inside.reshape(shape)
    full = np.broadcast_shapes(flat.shape, valid.shape)
    n_taps = math.prod(full[1:])
    valid = None if valid.all() else np.broadcast_to(valid, full).reshape(count, n_taps)
    return np.broadcast_to(flat, full).reshape(count, n_taps), valid


def adaptive_max_winners(x: np.ndarray, geo: AdaptivePoolGeometry):
    """The index map of adaptive max pooling ``x``: where each output's maximum sits.

    Returns the flat input each output reads (channel offset included, in the selection
    matrix's index dtype) and torch's ``return_indices`` (int64, ``(C, *out)``: the
    position inside the channel's plane). Windows are scanned in C order; torch moves to
    a tap iff ``v > best or isnan(v)``: the first maximum wins a tie, the last NaN wins.
    """
    channels, n_in, n_out = geo.channels, math.prod(geo.size), math.prod(geo.out)
    values = x.reshape(channels, n_in)
    nan = bool(np.isnan(values).any())
    bounds = [adaptive_bounds(L, O) for L, O in zip(geo.size, geo.out)]
    positions = np.empty((channels, n_out), dtype=np.int64)
    n_taps = math.prod(int((b - a).max(initial=0)) for a, b in bounds)
    step = max(1, _CHUNK // max(1, n_taps * channels))
    for first in range(0, n_out, step):
        flat, valid = _block_taps(bounds, geo.size, first, min(step, n_out - first))
        # A block of one huge window is split over the channels too.
        c_step = max(1, _CHUNK // flat.size)
        for c in range(0, channels, c_step):
            taps = np.take(values[c:c + c_step], flat, axis=1)  # (channels, windows, taps)
            # Tap 0 of a window is always inside it: it is the fallback of _argmax_taps.
            pick = _argmax_taps(taps, valid, 0, nan)
            positions[c:c + c_step, first:first + flat.shape[0]] = np.take_along_axis(
                flat[None], pick[..., None], axis=-1)[..., 0]
    itype = index_dtype(channels * n_out + 1, channels * n_in)
    src = np.arange(0, channels * n_in, n_in, dtype=itype).repeat(n_out)
    src += positions.reshape(-1).astype(itype, copy=False)
    return src, positions.reshape(channels, *geo.out)


def _max_input(x: ArrayLike, output_size):
    """``x`` as an array, its selection's dtype and the geometry. torch has no integer,
    bool or complex kernel for adaptive max pooling."""
    x = as_array(x, "x", kinds="f")
    as_sample_shape(x.shape, "x.shape")  # named for the caller's argument, not a shape's
    with shape_read_from("x", x.shape):
        return x, data_dtype(x), adaptive_pool_geometry(x.shape, output_size)


def adaptive_max_pool_selection(x: ArrayLike, output_size, *,
                                max_entries=None) -> tuple[csr_array, np.ndarray]:
    r"""The selection matrix and indices of ``F.adaptive_max_pool{1,2,3}d``.

    Parameters
    ----------
    x : array_like of float, shape (C, *spatial)
        One input sample, 1, 2 or 3 spatial dimensions. The selection depends on it.
    output_size : int or tuple of int
        As for :func:`convmat.adaptive_avg_pool_matrix` (``None`` entries in 2-D and 3-D).
    max_entries : int, optional
        Refuse to build more stored entries than this (default: ``get_max_entries()``).

    Returns
    -------
    S : csr_array, shape (C * prod(out), C * prod(spatial))
        0/1, exactly one 1 per row, in ``x``'s dtype (float32 for float16), with
        ``S @ x.ravel() == adaptive_max_pool(x[None], output_size)[0].ravel()``.
    indices : ndarray of int64, shape (C, *out)
        torch's ``return_indices`` output: the flat position of each maximum inside its
        channel's plane.

    Notes
    -----
    Output ``j`` reads the box of windows ``[\lfloor j L / O \rfloor, \lceil (j + 1) L / O
    \rceil)`` (per dimension) and

    .. math::  S[(c, j), (c, i)] = 1 \iff i = \mathrm{argmax}_{i \in \text{box}_j}\, x[c, i]

    with torch's rules: the box is scanned in C order, the first maximum wins a tie and
    the last NaN wins over everything. ``S.T`` routes a gradient back to the winners.

    Examples
    --------
    Five inputs to three outputs: the windows ``[0, 2)``, ``[1, 4)`` and ``[3, 5)``; the
    last two share their winner, 5, so ``S.T`` sends two values back to it:

    >>> import numpy as np
    >>> from convmat import adaptive_max_pool_selection
    >>> S, idx = adaptive_max_pool_selection(np.array([[1., 3., 2., 5., 4.]]), 3)
    >>> S.toarray()
    array([[0., 1., 0., 0., 0.],
           [0., 0., 0., 1., 0.],
           [0., 0., 0., 1., 0.]])
    >>> idx
    array([[1, 3, 3]])
    >>> S.T.toarray()
    array([[0., 0., 0.],
           [1., 0., 0.],
           [0., 0., 0.],
           [0., 1., 1.],
           [0., 0., 0.]])
    """
    x, dtype, geo = _max_input(x, output_size)
    n_rows = math.prod(geo.out_shape)
    Budget("adaptive_max_pool_selection", "convmat.adaptive_max_pool_operator",
           dtype.itemsize, max_entries).check(n_rows, n_rows)
    src, indices = adaptive_max_winners(x, geo)
    return selection_matrix(src, x.size, dtype), indices


def adaptive_max_pool_operator(x: ArrayLike, output_size) -> IndexOperator:
    r"""Adaptive max pooling of ``x`` as the selection of its winners, matrix-free.

    Parameters
    ----------
    x : array_like of float, shape (C, *spatial)
        The sample whose maxima fix the selection.
    output_size : int or tuple of int
        As for :func:`convmat.adaptive_max_pool_selection`.

    Returns
    -------
    IndexOperator
        Equal to ``adaptive_max_pool_selection(x, output_size)[0]``: ``matvec`` gathers
        the winners, ``rmatvec`` routes a gradient back to them (summed where windows
        share one).

    Notes
    -----
    .. math::  y[c, j] = z[c, \mathrm{idx}[c, j]]

    for any ``z`` of ``x``'s shape; ``z = x`` gives the adaptive max pooling of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import adaptive_max_pool_operator
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> M = adaptive_max_pool_operator(x, 3)
    >>> M @ x.ravel()
    array([3., 5., 5.])
    >>> M.H @ np.array([1., 1., 1.])
    array([0., 1., 0., 2., 0.])
    """

    x, dtype, geo = _max_input(x, output_size)
    src, _ = adaptive_max_winners(x, geo)
    return IndexOperator(src, geo.in_shape, geo.out_shape, dtype)
