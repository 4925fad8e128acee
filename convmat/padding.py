r"""Padding: ``torch.nn.functional.pad`` for one sample, as a matrix and as an operator.

Padding copies: every output element reads one input element, or is a constant zero.
Per axis of the sample ``(C, *spatial)`` that is a list of sources (``pad_sources``):
output position ``j`` of an axis padded by ``(b, a)`` reads input position ``src[j]``,
``-1`` for a zero. The whole map is their product,

.. math::  y[j_0, \dots, j_n] = x[\mathrm{src}_0[j_0], \dots, \mathrm{src}_n[j_n]]

(zero where any source is ``-1``), so the matrix has at most one 1 per row, and is built
from the per-axis sources by one outer sum (:func:`pad_matrix`); the operator applies the
same sources as a few strided copies of input views (:func:`pad_operator`). Its
transpose folds every reflected, replicated or wrapped copy back onto its source.

torch's rules (2.13), all reproduced here:

* ``pad`` lists ``(before, after)`` pairs, last axis first; a negative width crops;
* ``"constant"`` pads any trailing axes (the channel axis too) and may crop an axis to
  size 0, not below; ``F.pad(x, pad, value=v)`` is ``P @ x + v * (1 - P @ 1)``;
* ``"reflect"``, ``"replicate"`` and ``"circular"`` pad exactly the spatial axes, or the
  spatial axes and the channel axis (torch then reads ``x[None]`` as an unbatched input),
  three axes at most; reflect and replicate refuse an empty input, and an output empty
  along every padded axis;
* ``"reflect"`` needs each width smaller than the size (the edge is not repeated);
* ``"circular"`` crops first, then wraps what is left, at most once.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike
from scipy.sparse import csr_array

from ._args import as_int, as_shape, is_int
from ._sample_operator import _SampleOperator
from ._sparse import Budget, index_dtype, make_csr
from .window import pad_source

__all__ = ["PAD_MODES", "PadGeometry", "PadOperator", "pad_geometry", "pad_matrix",
           "pad_operator", "pad_output_shape", "pad_sources"]

PAD_MODES = ("constant", "reflect", "replicate", "circular")


# --------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class PadGeometry:
    """``F.pad``'s arguments for one sample, validated.

    ``before[d]`` and ``after[d]`` are the widths added to axis ``d`` of ``in_shape =
    (C, *spatial)``, first axis first (``pad`` lists them last axis first); negative
    widths crop.
    """

    in_shape: tuple[int, ...]
    before: tuple[int, ...]
    after: tuple[int, ...]
    mode: str

    @property
    def out_shape(self) -> tuple[int, ...]:
        return tuple(L + b + a for L, b, a in zip(self.in_shape, self.before, self.after))

    @property
    def kept(self) -> tuple[int, ...]:
        """Size of each axis once the negative widths have cropped it."""
        return tuple(L + min(b, 0) + min(a, 0)
                     for L, b, a in zip(self.in_shape, self.before, self.after))

    def n_entries(self) -> int:
        """Stored entries of the matrix: the outputs that read an input."""
        per_axis = self.kept if self.mode == "constant" else self.out_shape
        return math.prod(per_axis)


def _as_pad(pad) -> tuple[int, ...]:
    if (is_int(pad) or isinstance(pad, (str, bytes)) or not hasattr(pad, "__len__")
            or getattr(pad, "ndim", 1) != 1):  # a 0-d array or tensor has a __len__ too
        raise TypeError(f"pad must be a sequence of integers (before, after, ...), last "
                        f"axis first, got pad={pad!r}")
    items = tuple(pad.tolist() if isinstance(pad, np.ndarray) else pad)
    if not all(is_int(v) for v in items):
        raise TypeError(f"pad must hold integers, got pad={pad!r}")
    return tuple(as_int(v, "pad") for v in items)  # torch's int64 range


def _check_pairs(shape, widths, mode, pad) -> None:
    """How many axes ``pad`` may cover, as ``F.pad(x[None], pad, mode)`` decides."""
    if len(widths) % 2:
        raise ValueError(f"pad must have an even number of entries, a (before, after) pair "
                         f"per axis, last axis first, got pad={pad!r}")
    pairs, dims, n = len(widths) // 2, len(shape) + 1, len(shape) - 1
    if mode != "constant":
        # F.pad's non-constant kernels pad the last 1, 2 or 3 axes of a batched
        # (N, C, ...) or unbatched (C, ...) input: here the spatial axes, or the
        # channels as well.
        allowed = [k for k in (n, n + 1) if 1 <= k <= 3]
        if not allowed:
            raise ValueError(f"mode={mode!r} pads at most 3 axes (F.pad's reflection, "
                             f"replication and circular kernels), got input_shape={shape} "
                             f"with {n} spatial axes")
        if pairs not in allowed:
            what = {n: "the spatial axes", n + 1: "the spatial and channel axes"}
            options = " or ".join(f"{k} pairs ({what[k]})" for k in allowed)
            raise ValueError(f"mode={mode!r} pads exactly the spatial axes, or the spatial "
                             f"and channel axes: pad must have {options} for input_shape="
                             f"{shape}, got pad={pad!r} with {pairs} pairs")
        return
    if pairs > dims:
        raise ValueError(
            f"pad has {pairs} (before, after) pairs, but x[None] has only {dims} axes for "
            f"input_shape={shape}: at most {dims} pairs, got pad={pad!r}")
    if pairs == dims and widths[-2:] != (0, 0):
        # torch would change the batch size; a one-sample matrix cannot.
        raise ValueError(
            f"pad's last pair {widths[-2:]} pads the batch axis of x[None] (input_shape="
            f"{shape}); one sample's matrix keeps the batch of one: that pair must be "
            f"(0, 0), got pad={pad!r}")


def _check_axis(d: int, L: int, b: int, a: int, mode: str, shape, pad) -> None:
    """Refuse what ``F.pad`` refuses on one axis (or would fill with garbage)."""
    kept, out = L + min(b, 0) + min(a, 0), L + b + a
    where = (f"pad={pad!r} on axis {d} of input_shape={shape} (size {L}, widths "
             f"before/after {(b, a)})")
    if mode == "constant" and kept < 0:
        raise ValueError(f"pad crops more than the axis holds: the negative widths may "
                         f"remove at most its {L} elements, got {where}")
    if mode in ("reflect", "replicate") and out < 0:
        raise ValueError(f"pad crops more than the axis holds: the output size would be "
                         f"{out}, got {where}")
    if mode == "reflect" and (b >= L or a >= L):
        raise ValueError(f"mode='reflect' needs each width smaller than the size it "
                         f"reflects (the edge is not repeated): at most {L - 1}, got {where}")
    if mode == "circular" and (kept < 0 or max(b, a) > kept):
        # torch crops, then wraps the rest once; a longer wrap reads memory it has not
        # written yet (an error, or uninitialised values), a deeper crop errs.
        raise ValueError(f"mode='circular' crops first, then wraps what is left at most "
                         f"once: each positive width must be at most the cropped size "
                         f"{max(kept, 0)} and the crop at most the size {L}, got {where}")


def pad_geometry(input_shape, pad, *, mode: str = "constant") -> PadGeometry:
    """Validate ``pad_matrix``'s arguments as ``F.pad(x[None], pad, mode)`` does."""
    if not isinstance(mode, str) or mode not in PAD_MODES:
        hint = (" (F.pad calls zero padding 'constant'; 'zeros' is conv's padding_mode)"
                if isinstance(mode, str) and mode == "zeros" else "")
        raise ValueError(f"mode must be one of {PAD_MODES}, got mode={mode!r}{hint}")
    shape = as_shape(input_shape, "input_shape")
    widths = _as_pad(pad)
    _check_pairs(shape, widths, mode, pad)
    if mode in ("reflect", "replicate") and min(shape) < 1:
        raise ValueError(f"mode={mode!r} needs a non-empty input (F.pad refuses empty "
                         f"axes in this mode), got input_shape={shape}")
    before, after = [0] * len(shape), [0] * len(shape)
    for i in range(min(len(widths) // 2, len(shape))):  # pair i pads axis -1 - i
        before[-1 - i], after[-1 - i] = widths[2 * i], widths[2 * i + 1]
    for d, (L, b, a) in enumerate(zip(shape, before, after)):
        _check_axis(d, L, b, a, mode, shape, pad)
    geo = PadGeometry(shape, tuple(before), tuple(after), mode)
    padded = geo.out_shape[len(shape) - len(widths) // 2:]
    if mode in ("reflect", "replicate") and not any(padded):
        # torch's reflection/replication kernels check "output H >= 1 || output W >= 1":
        # one padded axis may be emptied, not all of them.
        raise ValueError(f"mode={mode!r} needs at least one padded axis of non-zero output "
                         f"size, got output sizes {padded} from pad={pad!r} for "
                         f"input_shape={shape}")
    return geo


def pad_output_shape(input_shape, pad, *, mode: str = "constant") -> tuple[int, ...]:
    """Output shape ``(C, *spatial)`` of ``pad_matrix``: ``L + before + after`` per axis.

    Examples
    --------
    >>> pad_output_shape((3, 4, 5), (1, 2))            # last axis first
    (3, 4, 8)
    >>> pad_output_shape((3, 4, 5), (1, 1, -1, 0, 2, 2))  # crops a row, pads channels
    (7, 3, 7)
    """
    return pad_geometry(input_shape, pad, mode=mode).out_shape


def _axis_source(L: int, b: int, a: int, mode: str) -> np.ndarray:
    q = np.arange(-b, L + a, dtype=np.int64)  # padded coordinate, in the input's frame
    if mode == "circular":
        # torch crops first and wraps the cropped axis: (2, -1) on [0..4] reads
        # [2, 3, 0, 1, 2, 3], not [3, 4, 0, 1, 2, 3].
        lo, kept = max(-b, 0), L + min(b, 0) + min(a, 0)
        return lo + pad_source(q - lo, kept, "circular") if kept else q
    return pad_source(q, L, "zeros" if mode == "constant" else mode)


def pad_sources(geo: PadGeometry) -> list[np.ndarray]:
    """The factors of the padding: per axis of ``(C, *spatial)``, the input position each
    output position reads (``-1``: a constant zero).

    Examples
    --------
    >>> [s.tolist() for s in pad_sources(pad_geometry((1, 5), (2, -1), mode="circular"))]
    [[0], [2, 3, 0, 1, 2, 3]]
    """
    return [_axis_source(L, b, a, geo.mode)
            for L, b, a in zip(geo.in_shape, geo.before, geo.after)]


# --------------------------------------------------------------------------- the matrix
def _strides(shape) -> list[int]:
    return [math.prod(shape[d + 1:]) for d in range(len(shape))]


def _outer_sum(parts, dtype) -> np.ndarray:
    """C-order outer sum of 1-D ``parts``, flattened."""
    acc = np.zeros(1, dtype)
    for p in parts:
        acc = np.add.outer(acc, p).reshape(-1)
    return acc


def _column_indices(sources, strides, nnz: int, itype) -> np.ndarray:
    """Column of every stored entry, in row order: the outer sum over the kept sources."""
    kept = [s[s >= 0].astype(itype) * itype(st) for s, st in zip(sources, strides)]
    indices = np.empty(nnz, itype)
    if nnz == 0:
        return indices
    # Split where the trailing block is long enough for numpy's broadcast to stream.
    split = len(kept)
    while split > 1 and math.prod(k.size for k in kept[split - 1:]) < 256:
        split -= 1
    head = _outer_sum(kept[:split - 1], itype)
    tail = _outer_sum(kept[split - 1:], itype)
    np.add(head[:, None], tail[None, :], out=indices.reshape(head.size, tail.size))
    return indices


def _row_pointers(sources, n_rows: int, itype) -> np.ndarray:
    indptr = np.empty(n_rows + 1, itype)
    indptr[0] = 0
    if all((s >= 0).all() for s in sources):  # every row holds its one entry
        indptr[1:] = np.arange(1, n_rows + 1, dtype=itype)
        return indptr
    mask = np.ones(1, bool)
    for s in sources:
        mask = np.logical_and.outer(mask, s >= 0).reshape(-1)
    np.cumsum(mask, dtype=itype, out=indptr[1:])
    return indptr


def _matrix_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a numpy number dtype, got dtype={dtype!r}") from None
    if dt.kind not in "iufc":
        raise TypeError(f"dtype must be a numpy integer, float or complex dtype, got "
                        f"dtype={dtype!r}")
    return dt


def pad_matrix(input_shape, pad, *, mode: str = "constant", dtype: DTypeLike = np.float64,
               max_entries: int | None = None) -> csr_array:
    r"""The matrix of ``torch.nn.functional.pad`` for one sample.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, *spatial)`` of the input sample.
    pad : sequence of int
        torch's flat widths, last axis first: ``(left, right, top, bottom, ...)``;
        a negative width crops. ``"constant"`` may pad any trailing axes, the channel axis
        included; the other modes pad exactly the spatial axes, or those and the channel
        axis (three axes at most).
    mode : {"constant", "reflect", "replicate", "circular"}
        What the padding holds: zeros, the input mirrored about its edge (the edge not
        repeated), the edge repeated, or the input wrapped around.
    dtype : dtype
        Of the stored ones (default float64).
    max_entries : int, optional
        Refuse to build more stored entries than this (default: ``get_max_entries()``).

    Returns
    -------
    csr_array, shape (prod(out_shape), prod(input_shape))
        ``P`` with ``P @ x.ravel() == F.pad(x[None], pad, mode)[0].ravel()``: at most one
        1 per row (none for a zero of constant padding), ``out_shape`` from
        :func:`pad_output_shape`.

    Notes
    -----
    Per axis, output position ``j`` reads the padded coordinate ``q = j - before`` of the
    input (length ``L``) through the mode:

    .. math::  \mathrm{src}(q) = \begin{cases} q & 0 \le q < L \text{ (else a zero)}
               & \text{constant} \\ |q| \text{ folded at } L - 1:\ 2(L-1) - |q|
               & \text{reflect} \\ \min(\max(q, 0), L - 1) & \text{replicate} \\
               c + (q - c) \bmod L' & \text{circular} \end{cases}

    with ``c`` the elements cropped before and ``L'`` the cropped length (torch crops,
    then wraps). ``P[(j_0, ..., j_n), (\mathrm{src}_0(j_0), ..., \mathrm{src}_n(j_n))] = 1``.
    No row ever sums two inputs, but a column may collect several outputs: ``P.T``
    crops and folds every reflected, replicated or wrapped copy back onto its source
    (the gradient of ``F.pad``). Constant padding with a value ``v`` is affine:

    .. math::  F.pad(x, pad, value=v) = P x + v\,(\mathbf 1 - P \mathbf 1)

    Examples
    --------
    Reflect two elements before and one after a length-4 input; the transpose folds the
    mirrored copies back (input 2 collects outputs 0, 4 and 6):

    >>> from convmat import pad_matrix
    >>> P = pad_matrix((1, 4), (2, 1), mode="reflect")
    >>> P.toarray()
    array([[0., 0., 1., 0.],
           [0., 1., 0., 0.],
           [1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.],
           [0., 0., 1., 0.]])
    >>> P.T.toarray()
    array([[0., 0., 1., 0., 0., 0., 0.],
           [0., 1., 0., 1., 0., 0., 0.],
           [1., 0., 0., 0., 1., 0., 1.],
           [0., 0., 0., 0., 0., 1., 0.]])
    """
    geo = pad_geometry(input_shape, pad, mode=mode)
    dt = _matrix_dtype(dtype)
    n_rows, n_cols, nnz = math.prod(geo.out_shape), math.prod(geo.in_shape), geo.n_entries()
    Budget("pad_matrix", "convmat.pad_operator", dt.itemsize, max_entries).check(nnz, n_rows)
    sources = pad_sources(geo)
    itype = index_dtype(nnz, n_rows, n_cols)
    indices = _column_indices(sources, _strides(geo.in_shape), nnz, itype)
    indptr = _row_pointers(sources, n_rows, itype)
    return make_csr(np.ones(nnz, dt), indices, indptr, (n_rows, n_cols))


# --------------------------------------------------------------------------- the operator
@dataclass(frozen=True, eq=False)
class _Segment:
    """A run ``[lo, hi)`` of one output axis and what it reads from the input axis.

    ``read`` is a slice of the input axis: F.pad's sources always run in steps of +1
    (the input itself, a wrapped border), -1 (a reflected border) or 0 (a replicated
    border: one source, ``repeat``-ed by broadcasting); ``zero`` marks a constant border.
    """

    lo: int
    hi: int
    read: slice | None = None
    repeat: bool = False
    zero: bool = False


def _segment(src: np.ndarray, lo: int, hi: int) -> _Segment:
    part = src[lo:hi]
    first, n = int(part[0]), part.size
    if first < 0:  # constant padding: -1 throughout
        return _Segment(lo, hi, zero=True)
    step = np.diff(part)
    if (step == 0).all():
        return _Segment(lo, hi, slice(first, first + 1), repeat=n > 1)
    if (step == 1).all():
        return _Segment(lo, hi, slice(first, first + n))
    if (step == -1).all():
        last = first - n + 1
        return _Segment(lo, hi, slice(first, last - 1 if last else None, -1))
    raise AssertionError(f"padding sources {part} are not a run")  # see _Segment


def _segments(src: np.ndarray, before: int) -> list[_Segment]:
    """One axis as [border, the input itself, border]: the middle is where the source is
    the padded coordinate (``src[j] == j - before``), each border a single segment."""
    O = src.size
    ident = np.flatnonzero((src == np.arange(O) - before) & (src >= 0))
    if ident.size == 0:  # cropped past the input: one border only
        return [_segment(src, 0, O)] if O else []
    c0, c1 = int(ident[0]), int(ident[-1]) + 1
    middle = _Segment(c0, c1, slice(c0 - before, c1 - before))
    return ([_segment(src, 0, c0)] if c0 else []) + [middle] + (
        [_segment(src, c1, O)] if c1 < O else [])


class PadOperator(_SampleOperator):
    r"""``F.pad`` for one sample as a matrix-free :class:`~scipy.sparse.linalg.LinearOperator`.

    Each axis splits into at most three runs (border, the input itself, border), so the
    output is at most ``3^n`` blocks, each one strided copy of an input view (a reversed
    view for a reflected border, a broadcast one for a replicated border) or zeros.
    ``rmatvec`` (the transpose) adds each block back onto its view, summing broadcast
    copies: it crops, and folds the borders back onto their sources.

    Attributes
    ----------
    geometry : PadGeometry
        The validated arguments.
    sources : list of ndarray
        Per axis, the input position each output reads (``-1``: zero), as for the matrix.
    in_shape, out_shape : tuple of int
        Sample shapes.
    """

    def __init__(self, geometry: PadGeometry, dtype=np.float64):
        self.geometry = geometry
        super().__init__(geometry.in_shape, geometry.out_shape, dtype)

    # Built on first use: making the operator costs nothing however long its axes.
    @functools.cached_property
    def sources(self) -> list[np.ndarray]:
        return pad_sources(self.geometry)

    @functools.cached_property
    def _blocks(self) -> list[tuple]:
        segments = [_segments(s, b) for s, b in zip(self.sources, self.geometry.before)]
        return list(itertools.product(*segments))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``(N, *in_shape) -> (N, *out_shape)``: ``F.pad`` of a batch."""
        out = np.empty((x.shape[0], *self.out_shape), dtype=x.dtype)
        for blk in self._blocks:
            dst = (slice(None),) + tuple(slice(s.lo, s.hi) for s in blk)
            if any(s.zero for s in blk):
                out[dst] = 0
                continue
            out[dst] = x[(slice(None),) + tuple(s.read for s in blk)]  # broadcasts repeats
        return out

    def apply_adjoint(self, y: np.ndarray) -> np.ndarray:
        """``(N, *out_shape) -> (N, *in_shape)``: the transpose, cropping and folding."""
        x = np.zeros((y.shape[0], *self.in_shape), dtype=y.dtype)
        for blk in self._blocks:
            if any(s.zero for s in blk):
                continue
            sub = y[(slice(None),) + tuple(slice(s.lo, s.hi) for s in blk)]
            repeated = tuple(axis for axis, s in enumerate(blk, start=1) if s.repeat)
            if repeated:
                sub = sub.sum(axis=repeated, keepdims=True)
            x[(slice(None),) + tuple(s.read for s in blk)] += sub
        return x

    # The base class turns flat columns into batches and back around these.
    _forward, _backward = apply, apply_adjoint


def pad_operator(input_shape, pad, *, mode: str = "constant",
                 dtype: DTypeLike = np.float64) -> PadOperator:
    r"""``torch.nn.functional.pad`` for one sample, matrix-free.

    Parameters
    ----------
    input_shape, pad, mode, dtype
        As for :func:`convmat.pad_matrix` (and validated by the same geometry); ``dtype``
        is the operator's nominal dtype, the data keep their own.

    Returns
    -------
    PadOperator
        A ``LinearOperator`` equal to ``pad_matrix(input_shape, pad, mode=mode)``:
        ``matvec`` pads, ``rmatvec`` crops and folds the padding back onto its sources.

    Notes
    -----
    .. math::  y[j_0, \dots, j_n] = x[\mathrm{src}_0[j_0], \dots, \mathrm{src}_n[j_n]],
               \qquad (A^T y)[i] = \sum_{j:\ \mathrm{src}(j) = i} y[j]

    with the per-axis sources of ``pad_sources`` (a zero where one is ``-1``).

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import pad_operator
    >>> P = pad_operator((1, 4), (2, 1), mode="reflect")
    >>> P
    <7x4 PadOperator (1, 4) -> (1, 7) with dtype=float64>
    >>> P @ np.array([1., 2., 3., 4.])
    array([3., 2., 1., 2., 3., 4., 3.])
    >>> P.H @ np.ones(7)
    array([1., 2., 3., 1.])
    """
    geo = pad_geometry(input_shape, pad, mode=mode)
    return PadOperator(geo, _matrix_dtype(dtype))
