"""Pooling as sparse matrices: max pooling as a 0/1 selection, average pooling as weights.

Max pooling is not linear in its input, but once the input is fixed it picks one element
per window: ``y = S x`` with a 0/1 matrix ``S`` holding exactly one 1 per row, at the
window's argmax. ``S.T`` scatters a gradient back to the winners -- the backward pass of
max pooling, and max unpooling. Average pooling is linear: each row holds ``1 / divisor``
over its window. Both slide the same window as a convolution (:class:`~convmat.window.Window`).

Each is computed once, here, in the form both its matrix and its matrix-free operator
use: max pooling as an index map (:func:`max_pool_winners`, the input each output copies,
made a 0/1 matrix by :func:`selection_matrix`), average pooling as one weighted 1-D
factor per dimension (:func:`avg_pool_factors`, whose Kronecker product is the matrix).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array

from ._args import as_array, as_sample_shape, shape_read_from
from ._sparse import Axis, Budget, index_dtype, kron_axes, make_csr
from .shapes import AvgPoolGeometry, PoolGeometry, avg_pool_geometry, pool_geometry
from .window import Window

__all__ = ["avg_pool_matrix", "max_pool_selection"]

# Window taps gathered per block of rows: keeps the temporaries a few MiB, whatever the size.
_CHUNK = 1 << 17


def data_dtype(x: np.ndarray, name: str = "x") -> np.dtype:
    """The dtype of a data-dependent matrix: ``x``'s float dtype, float64 for integers."""
    if x.dtype.kind in "biu":
        return np.dtype(np.float64)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {x.dtype}")
    # scipy.sparse has no float16 kernels.
    return np.dtype(np.float32) if x.dtype.itemsize < 4 else x.dtype


def selection_matrix(src: np.ndarray, n_cols: int, dtype=np.float64, *,
                     indptr: np.ndarray | None = None) -> csr_array:
    """The 0/1 matrix of an index map: row ``i`` holds a 1 at column ``src[i]``, none
    where ``src[i] < 0``.

    Max pooling's selection, max unpooling, bed of nails and the pixel shuffles are all
    such maps. ``src`` should already have the matrix's index dtype (see
    :func:`index_dtype`): when every row is hit it becomes the column indices, uncopied.
    ``indptr``: an array of ``len(src) + 1`` to write the row pointers into; it may hold
    ``src`` in its tail (``src = indptr[1:]``), which is read before being overwritten,
    so that one buffer serves as both (a map with zeros is as long as the matrix has rows).
    """
    n_rows = src.size
    itype = index_dtype(n_rows + 1, n_cols)
    if n_rows == 0 or src.min() >= 0:  # one entry per row
        return make_csr(np.ones(n_rows, dtype=dtype), src.astype(itype, copy=False),
                        np.arange(n_rows + 1, dtype=itype), (n_rows, n_cols))
    hit = src >= 0
    cols = src.take(np.flatnonzero(hit)).astype(itype, copy=False)  # a boolean index is
    if indptr is None:                                              # slow on a sparse mask
        indptr = np.empty(n_rows + 1, dtype=itype)
    indptr[0] = 0
    np.cumsum(hit, out=indptr[1:])
    return make_csr(np.ones(cols.size, dtype=dtype), cols, indptr, (n_rows, n_cols))


def window_taps(win: Window, box=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Flat in-plane position of every (window, tap) pair, shape ``(n_windows, n_taps)``.

    ``box`` (one ``(start, stop)`` per dimension, default: all) picks a block of windows.
    Windows and taps are both in C order over the spatial dimensions. The second array
    marks the taps inside the input (``None`` when all are); outside ones hold 0.
    """
    n = win.ndim
    box = [(0, o) for o in win.out] if box is None else box
    plane = np.cumprod((1,) + win.size[:0:-1])[::-1]  # C-order strides of one plane
    flat = np.zeros((1,) * (2 * n), dtype=np.int64)
    valid = np.ones((1,) * (2 * n), dtype=bool)
    for d, (a, b) in enumerate(box):
        pos, inside = win.positions(d, b - a, first=a), win.inside(d, b - a, first=a)
        shape = [1] * (2 * n)
        shape[d], shape[n + d] = pos.shape
        flat = flat + (np.where(inside, pos, 0) * plane[d]).reshape(shape)
        valid = valid & inside.reshape(shape)
    sizes = tuple(b - a for a, b in box)
    n_out, n_taps = math.prod(sizes), math.prod(win.kernel)
    full = sizes + win.kernel
    valid = None if valid.all() else np.broadcast_to(valid, full).reshape(n_out, n_taps)
    return np.broadcast_to(flat, full).reshape(n_out, n_taps), valid


def _window_boxes(out: tuple[int, ...], most: int):
    """Blocks of at most ``most`` windows (or one row), as boxes, in C order.

    A box fixes the leading dimensions, takes a range of one dimension and all of the
    trailing ones, so that its windows are consecutive: ``(first window, box)``.
    """
    n = len(out)
    inner = [math.prod(out[d + 1:]) for d in range(n)]
    q = next(d for d in range(n) if inner[d] <= most)
    rows = max(1, most // inner[q])
    for lead in np.ndindex(*out[:q]):
        first = int(np.ravel_multi_index(lead, out[:q])) * out[q] * inner[q] if q else 0
        for a in range(0, out[q], rows):
            b = min(a + rows, out[q])
            box = [(i, i + 1) for i in lead] + [(a, b)] + [(0, o) for o in out[q + 1:]]
            yield first + a * inner[q], box


def _lowest(dtype: np.dtype):
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


def _argmax_taps(vals: np.ndarray, valid: np.ndarray | None, first_valid, nan: bool):
    """torch's choice in each window (last axis of ``vals``), scanning the taps in order.

    torch keeps the first in-bounds tap, then moves to a tap iff ``v > best or isnan(v)``:
    ties go to the first maximum, a NaN to the last NaN, and an all ``-inf`` window to its
    first in-bounds tap. ``valid`` and ``first_valid`` broadcast against the leading axes.
    """
    if valid is not None:
        np.copyto(vals, _lowest(vals.dtype), where=~valid)  # padding never wins
    pick = vals.argmax(axis=-1)  # first maximum (or first NaN)
    if nan:
        isnan = np.isnan(vals)
        last_nan = vals.shape[-1] - 1 - isnan[..., ::-1].argmax(axis=-1)
        pick = np.where(isnan.any(axis=-1), last_nan, pick)
    if valid is not None:
        # The maximum is the lowest value and a padding tap came first: torch keeps its
        # first in-bounds tap, which holds that lowest value too.
        inside = np.take_along_axis(np.broadcast_to(valid, vals.shape), pick[..., None],
                                    axis=-1)[..., 0]
        pick = np.where(inside, pick, first_valid)
    return pick


def max_pool_input(x: ArrayLike, kernel_size, *, stride=None, padding=0, dilation=1,
                   ceil_mode=False) -> tuple[np.ndarray, np.dtype, PoolGeometry]:
    """Validate a max pooling of ``x`` as ``F.max_pool{1,2,3}d`` does: ``x`` as an array,
    the dtype of its selection (:func:`data_dtype`) and the geometry."""
    x = as_array(x, "x")
    as_sample_shape(x.shape, "x.shape")  # named for the caller's argument, not a shape's
    dtype = data_dtype(x)
    with shape_read_from("x", x.shape):
        geo = pool_geometry(x.shape, kernel_size, stride=stride, padding=padding,
                            dilation=dilation, ceil_mode=ceil_mode)
    return x, dtype, geo


def max_pool_winners(x: np.ndarray, geo: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """The index map of max pooling ``x``: where each output's maximum sits.

    Returns the flat input each output reads (channel offset included, in the selection
    matrix's index dtype) and torch's ``return_indices``: the position inside its
    channel's plane, int64, shape ``(C, *out_spatial)``. ``max_pool_selection`` makes the
    0/1 matrix of the first, ``max_pool_operator`` gathers through it.
    """
    channels, win = geo.channels, geo.window
    n_in, n_out = math.prod(win.size), math.prod(win.out)
    values = x.reshape(channels, n_in)
    if values.dtype.kind == "b":
        values = values.view(np.uint8)
    nan = values.dtype.kind == "f" and bool(np.isnan(values).any())

    # Every channel slides the same windows: gather blocks of windows for all channels at
    # once with one `take` along the plane, then pick each window's winner. The windows'
    # taps are made a box of windows at a time (about _CHUNK taps), so temporaries stay a
    # few MiB whatever the size.
    positions = np.empty((channels, n_out), dtype=np.int64)
    n_taps = math.prod(win.kernel)
    step = max(1, _CHUNK // (n_taps * channels))
    for first, box in _window_boxes(win.out, max(1, _CHUNK // n_taps)):
        flat_box, valid_box = window_taps(win, box)
        first_valid = None if valid_box is None else valid_box.argmax(axis=1)
        for a in range(0, flat_box.shape[0], step):
            o = slice(a, a + step)
            flat, valid = flat_box[o], None if valid_box is None else valid_box[o]
            taps = np.take(values, flat, axis=1)  # (channels, windows, taps)
            pick = _argmax_taps(taps, valid, None if valid is None else first_valid[o], nan)
            done = first + a
            positions[:, done:done + flat.shape[0]] = np.take_along_axis(
                flat[None], pick[..., None], axis=-1)[..., 0]

    itype = index_dtype(channels * n_out + 1, channels * n_in)
    src = np.arange(0, channels * n_in, n_in, dtype=itype).repeat(n_out)
    src += positions.reshape(-1).astype(itype, copy=False)
    return src, positions.reshape(channels, *win.out)


def max_pool_selection(
    x: ArrayLike, kernel_size, *, stride=None, padding=0, dilation=1, ceil_mode=False,
    max_entries=None,
) -> tuple[csr_array, np.ndarray]:
    r"""The selection matrix and indices of ``torch.nn.functional.max_pool{1,2,3}d``.

    Parameters
    ----------
    x : array_like, shape (C, *spatial)
        One input sample, 1, 2 or 3 spatial dimensions. The selection depends on it.
    kernel_size, stride, padding, dilation : int or tuple of int
        As in torch; ``stride`` defaults to ``kernel_size``, ``0 <= padding <=
        kernel_size // 2``. Padding is ``-inf``: it is never selected.
    ceil_mode : bool
        Round the output size up (a last, partial window, which must start inside the
        input or the left padding).
    max_entries : int, optional
        Refuse to build more stored entries than this (default: ``get_max_entries()``).

    Returns
    -------
    S : csr_array, shape (C * prod(out_spatial), C * prod(spatial))
        0/1, exactly one 1 per row, in ``x``'s dtype (float64 for integers), with
        ``S @ x.ravel() == max_pool(x[None])[0].ravel()``.
    indices : ndarray of int64, shape (C, *out_spatial)
        torch's ``return_indices`` output: the flat position of each maximum inside its
        channel's (unpadded) plane.

    Notes
    -----
    Window ``j`` of channel ``c`` reads positions ``j s - p + t d`` (per dimension, taps
    ``t`` in C order) and

    .. math::  S[(c, j), (c, i)] = 1 \iff i = \mathrm{argmax}_t\, x[c, j s - p + t d]

    with torch's rules for the argmax: the first maximum in scan order wins a tie, the
    last NaN wins over everything, and a window of ``-inf`` picks its first tap inside the
    input. ``S.T`` is the backward pass of max pooling (the gradient goes to the winner),
    and for non-overlapping windows it is max unpooling (:func:`max_unpool_matrix`).
    A window with no input element at all (dilation with padding or ``ceil_mode``) is
    refused with ``ValueError``: torch returns ``-inf`` and an undefined index there.

    Examples
    --------
    Pooling pairs of ``[1, 3, 2, 2]``: the tie goes to the first 2. ``S.T`` sends each
    pooled value back to where it came from:

    >>> import numpy as np
    >>> from convmat import max_pool_selection
    >>> S, idx = max_pool_selection(np.array([[1., 3., 2., 2.]]), 2)
    >>> S.toarray()
    array([[0., 1., 0., 0.],
           [0., 0., 1., 0.]])
    >>> idx
    array([[1, 2]])
    >>> S.T.toarray()
    array([[0., 0.],
           [1., 0.],
           [0., 1.],
           [0., 0.]])
    """
    x, dtype, geo = max_pool_input(x, kernel_size, stride=stride, padding=padding,
                                   dilation=dilation, ceil_mode=ceil_mode)
    n_rows = math.prod(geo.out_shape)
    Budget("max_pool_selection", "convmat.max_pool_operator", dtype.itemsize,
           max_entries).check(n_rows, n_rows)
    src, indices = max_pool_winners(x, geo)
    return selection_matrix(src, x.size, dtype), indices


def avg_pool_factors(geo: AvgPoolGeometry) -> list[Axis]:
    """The 1-D factor of every spatial dimension of an average pooling, with its weights.

    Factor ``d`` is the 1-D average pooling of dimension ``d`` alone: row ``j`` holds the
    taps of window ``j`` inside the input, each weighted ``1 / D_j`` with ``D_j`` that
    dimension's share of the divisor (the divisor is a product over dimensions). With
    ``divisor_override`` the factors are plain window sums and the first one carries
    ``1 / divisor_override``. ``avg_pool_matrix`` takes their Kronecker product,
    ``avg_pool_operator`` applies them along the axes in turn.
    """
    win = geo.pool.window
    factors = []
    for d in range(win.ndim):
        pos, inside = win.positions(d), win.inside(d)
        size, pad = win.size[d], win.pad_before[d]
        if geo.divisor_override is not None:
            divisor = np.full(pos.shape[0], geo.divisor_override if d == 0 else 1)
        elif geo.count_include_pad:
            start = pos[:, 0]
            # The padding counts, a ceil_mode overhang past it does not.
            divisor = np.minimum(start + win.kernel[d], size + pad) - start
        else:
            divisor = inside.sum(axis=1)
        weights = np.broadcast_to(1.0 / divisor[:, None], pos.shape)
        factors.append(Axis(np.where(inside, pos, 0), size,
                            valid=None if inside.all() else inside, values=weights))
    return factors


def avg_pool_matrix(
    input_shape, kernel_size, *, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None, max_entries=None,
) -> csr_array:
    r"""The matrix of ``torch.nn.functional.avg_pool{1,2,3}d`` for one sample.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, *spatial)`` of the input sample, 1, 2 or 3 spatial dimensions.
    kernel_size, stride, padding : int or tuple of int
        As in torch; ``stride`` defaults to ``kernel_size``, ``0 <= padding <=
        kernel_size // 2``.
    ceil_mode : bool
        Round the output size up (a last, partial window).
    count_include_pad : bool
        Count the zero padding in the divisor (torch's default, ``True``).
    divisor_override : int, optional
        Divide every window by this instead (non-zero; 2-D and 3-D only, as in torch).
    max_entries : int, optional
        Refuse to build more stored entries than this.

    Returns
    -------
    csr_array, shape (C * prod(out_spatial), C * prod(spatial)), float64
        ``A`` with ``A @ x.ravel() == avg_pool(x[None])[0].ravel()``.

    Notes
    -----
    Per dimension, window ``j`` starts at ``a = j s - p`` and ends at ``b = min(a + k,
    L + p)``; it sums the input over ``[max(a, 0), min(b, L))`` and divides by

    .. math::  D_j = \prod_{\text{dims}} (b - a) \quad\text{or}\quad
               \prod_{\text{dims}} (\min(b, L) - \max(a, 0))

    with and without ``count_include_pad``: a ``ceil_mode`` overhang past the padding is
    never counted. The divisor is a product over dimensions, so ``A`` is a Kronecker
    product of 1-D averaging matrices (and a channel identity).

    Examples
    --------
    Averages of pairs, with one pixel of zero padding at each end: the edge windows hold
    one input element and one padding zero, so they are halved (``count_include_pad``):

    >>> from convmat import avg_pool_matrix
    >>> A = avg_pool_matrix((1, 4), 2, padding=1)
    >>> A.toarray()
    array([[0.5, 0. , 0. , 0. ],
           [0. , 0.5, 0.5, 0. ],
           [0. , 0. , 0. , 0.5]])
    >>> A.T.toarray()
    array([[0.5, 0. , 0. ],
           [0. , 0.5, 0. ],
           [0. , 0.5, 0. ],
           [0. , 0. , 0.5]])
    """
    geo = avg_pool_geometry(input_shape, kernel_size, stride=stride, padding=padding,
                            ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                            divisor_override=divisor_override)
    pool, win = geo.pool, geo.pool.window
    budget = Budget("avg_pool_matrix", "convmat.avg_pool_operator", 8, max_entries)
    # Sized by arithmetic before any per-axis array (in 1-D those are as large as A).
    budget.check(pool.channels * math.prod(win.count_inside(d) for d in range(win.ndim)),
                 math.prod(pool.out_shape))
    channel = Axis(np.arange(pool.channels)[:, None], pool.channels)
    pattern = kron_axes([channel, *avg_pool_factors(geo)], taps=False, values=True,
                        budget=budget)
    return pattern.csr(pattern.values)
