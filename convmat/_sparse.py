"""Assembly of separable sparse patterns straight into CSR arrays.

Every operator in convmat is, up to the values in its entries, a Kronecker product of
small per-axis patterns: one for the channels, one per spatial dimension. An ``Axis``
describes one factor densely, as ``(rows, slots)`` arrays: the column each slot of a row
points at, whether the slot is used, which tap (weight) it carries and a value to multiply
in. ``kron_axes`` takes their C-order Kronecker product: row ``(r_0, ..., r_n)`` holds the
used slots ``(t_0, ..., t_n)`` in C order, at column ``sum c_i * stride_i``. When each
factor's used columns increase along its slots, that order is already the sorted CSR
order, so no sort and no COO detour is needed: one broadcast, one mask, done.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_array

INT32_MAX = np.iinfo(np.int32).max

_settings = {"max_entries": 2**28}


def get_max_entries() -> int:
    """The largest number of stored entries a builder makes without being asked to."""
    return _settings["max_entries"]


def set_max_entries(limit: int) -> int:
    """Set the default entry limit of every builder; returns the previous limit.

    Each builder also takes ``max_entries=`` for a single call.
    """
    if not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, got limit={limit!r}")
    previous, _settings["max_entries"] = _settings["max_entries"], limit
    return previous


def index_dtype(*sizes: int) -> type:
    """int32 when every index and count fits, as scipy.sparse prefers; else int64."""
    return np.int32 if max(sizes, default=0) <= INT32_MAX else np.int64


def check_entries(n_entries: int, itemsize: int, what: str, hint: str, max_entries=None):
    """Refuse a matrix with more than ``max_entries`` stored entries, before allocating it."""
    limit = get_max_entries() if max_entries is None else max_entries
    if n_entries > limit:
        gib = n_entries * (itemsize + 8) / 2**30
        raise ValueError(
            f"{what} would store {n_entries:,} entries (about {gib:.1f} GiB), more than "
            f"max_entries={limit:,}. Pass max_entries= (or convmat.set_max_entries) to allow "
            f"it, or use the matrix-free {hint} instead."
        )


@dataclass(frozen=True, eq=False)
class Axis:
    """One factor of a separable pattern, stored densely as ``(rows, slots)`` arrays."""

    cols: np.ndarray
    n_cols: int
    taps: np.ndarray | None = None
    n_taps: int = 1
    valid: np.ndarray | None = None
    values: np.ndarray | None = None
    # Used columns strictly increase along the slots of every row (else kron_axes sorts).
    ordered: bool = True

    @property
    def n_rows(self) -> int:
        return self.cols.shape[0]

    def counts(self) -> np.ndarray:
        if self.valid is None:
            return np.full(self.n_rows, self.cols.shape[1], dtype=np.int64)
        return self.valid.sum(axis=1, dtype=np.int64)

    def transpose(self, n_rows: int | None = None) -> "Axis":
        """The transposed factor, keeping only the first ``n_rows`` rows of this one.

        Rows of the result are this factor's columns; each lists, in increasing order, the
        rows of this factor that point at it, with the same tap and value.
        """
        n_rows = self.n_rows if n_rows is None else n_rows
        cols = self.cols[:n_rows]
        used = np.ones(cols.shape, bool) if self.valid is None else self.valid[:n_rows]
        src_row = np.broadcast_to(np.arange(n_rows)[:, None], cols.shape)[used]
        dst_row = cols[used]
        order = np.lexsort((src_row, dst_row))
        dst_row, src_row = dst_row[order], src_row[order]
        counts = np.bincount(dst_row, minlength=self.n_cols)
        width = int(counts.max(initial=0))
        starts = np.cumsum(counts) - counts
        slot = np.arange(dst_row.size) - np.repeat(starts, counts)

        def place(values, fill, dtype):
            out = np.full((self.n_cols, width), fill, dtype=dtype)
            out[dst_row, slot] = values
            return out

        valid = place(True, False, bool)
        pick = lambda a: None if a is None else place(a[:n_rows][used][order], 0, a.dtype)
        return Axis(
            place(src_row, 0, np.int64), n_rows, pick(self.taps), self.n_taps,
            None if valid.all() else valid, pick(self.values),
        )


def _outer(parts, combine, dtype=None):
    """C-order outer combination of per-axis ``(rows, slots)`` arrays.

    The result has axes ``(rows_0, ..., rows_n, slots_0, ..., slots_n)``. Small factors
    are combined first, so only the last step touches an array of the full size.
    """
    acc = parts[0] if dtype is None else parts[0].astype(dtype, copy=False)
    for f, part in enumerate(parts[1:], start=1):
        a = acc.reshape(acc.shape[:f] + (1,) + acc.shape[f:] + (1,))
        b = part.reshape((1,) * f + part.shape[:1] + (1,) * f + part.shape[1:])
        acc = combine(a, b)
    return acc


@dataclass(frozen=True, eq=False)
class Pattern:
    """A canonical CSR sparsity pattern, with the tap behind every contribution.

    ``taps[i]`` is the tap (flat weight index) of contribution ``i``, which lands in stored
    entry ``entry[i]``; ``entry`` is ``None`` when each entry has exactly one contribution,
    in order (no duplicates were merged).
    """

    shape: tuple[int, int]
    indptr: np.ndarray
    indices: np.ndarray
    taps: np.ndarray | None = None
    entry: np.ndarray | None = None
    values: np.ndarray | None = field(default=None, repr=False)

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def csr(self, data) -> csr_array:
        return make_csr(data, self.indices, self.indptr, self.shape)

    def gather(self, flat_weight: np.ndarray) -> np.ndarray:
        """Entry values for a flat weight vector: the sum of the taps in each entry."""
        contributions = flat_weight.take(self.taps)
        if self.entry is None:
            return contributions
        if np.iscomplexobj(contributions):
            return self.sum_into_entries(contributions.real) + 1j * self.sum_into_entries(
                contributions.imag
            )
        return self.sum_into_entries(contributions).astype(flat_weight.dtype, copy=False)

    def sum_into_entries(self, contributions: np.ndarray) -> np.ndarray:
        if self.entry is None:
            return contributions
        return np.bincount(self.entry, weights=contributions, minlength=self.nnz)

    def rows(self) -> np.ndarray:
        """Row of every stored entry."""
        counts = np.diff(self.indptr)
        return np.repeat(np.arange(self.shape[0], dtype=self.indices.dtype), counts)


def make_csr(data, indices, indptr, shape) -> csr_array:
    """A ``csr_array`` from arrays already in canonical order (checked in O(1) only)."""
    out = csr_array((data, indices, indptr), shape=shape, copy=False)
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def kron_axes(
    axes: list[Axis], *, taps: bool = True, values: bool = False, what: str = "matrix",
    hint: str = "operator", itemsize: int = 8, max_entries=None,
) -> Pattern:
    """The C-order Kronecker product of ``axes`` as a canonical CSR pattern.

    ``taps``: also compute the combined tap of each contribution (radix ``n_taps``).
    ``values``: also multiply the factors' values. Duplicate columns inside a row (from
    unordered factors, e.g. reflect padding) are merged, and ``entry`` records where each
    contribution went.
    """
    n_rows = math.prod(a.n_rows for a in axes)
    n_cols = math.prod(a.n_cols for a in axes)
    counts = [a.counts() for a in axes]
    nnz = math.prod(int(c.sum()) for c in counts)
    check_entries(nnz, itemsize, what, hint, max_entries)
    idx = index_dtype(nnz, n_rows, n_cols)

    row_counts = _outer([c[:, None] for c in counts], np.multiply).reshape(n_rows)
    indptr = np.empty(n_rows + 1, dtype=idx)
    indptr[0] = 0
    np.cumsum(row_counts, out=indptr[1:])
    del row_counts

    masks = [a.valid for a in axes]
    if all(m is None for m in masks):
        mask = None
    else:
        parts = [np.ones(a.cols.shape, bool) if m is None else m for a, m in zip(axes, masks)]
        mask = _outer(parts, np.logical_and).reshape(-1)

    def expand(parts, combine, dtype):
        full = _outer(parts, combine, dtype).reshape(-1)
        return full if mask is None else full[mask]

    def combined(arrays, sizes, dtype):
        parts = [np.asarray(p, dtype=dtype) for p in arrays]
        acc = parts[0]
        for f in range(1, len(parts)):
            a = acc.reshape(acc.shape[:f] + (1,) + acc.shape[f:] + (1,)) * sizes[f]
            b = parts[f].reshape((1,) * f + parts[f].shape[:1] + (1,) * f + parts[f].shape[1:])
            acc = a + b
        full = acc.reshape(-1)
        return full if mask is None else full[mask]

    indices = combined(
        [np.where(a.valid, a.cols, 0) if a.valid is not None else a.cols for a in axes],
        [a.n_cols for a in axes], idx,
    )
    tap = None
    if taps:
        n_taps = math.prod(a.n_taps for a in axes)
        tap = combined(
            [np.zeros(a.cols.shape, np.int64) if a.taps is None else a.taps for a in axes],
            [a.n_taps for a in axes], index_dtype(n_taps),
        )
    vals = None
    if values:
        vals = expand(
            [np.ones(a.cols.shape) if a.values is None else a.values for a in axes],
            np.multiply, None,
        )
    entry = None
    if not all(a.ordered for a in axes):
        # Reflected or clamped columns come out of order and repeated: sort each row (the
        # rows themselves are already in place), then merge equal neighbours.
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
        order = np.argsort(rows * n_cols + indices, kind="stable")
        indices = indices[order]
        tap = None if tap is None else tap[order]
        vals = None if vals is None else vals[order]
        indices, indptr, entry = _merge_duplicates(indices, indptr)
        if vals is not None:
            vals = np.bincount(entry, weights=vals, minlength=indices.size)
    return Pattern((n_rows, n_cols), indptr, indices, tap, entry, vals)


def _merge_duplicates(indices, indptr):
    """Merge equal neighbours inside each row of a row-sorted pattern."""
    n = indices.size
    new = np.ones(n, dtype=bool)
    if n:
        np.not_equal(indices[1:], indices[:-1], out=new[1:])
        starts = indptr[:-1][np.diff(indptr) > 0]
        new[starts] = True
    csum = np.zeros(n + 1, dtype=indptr.dtype)
    np.cumsum(new, out=csum[1:])
    entry = csum[1:] - 1
    return indices[new], csum[indptr], entry
