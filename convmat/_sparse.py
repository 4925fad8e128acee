"""Assembly of separable sparse patterns straight into CSR arrays.

Every operator in convmat is, up to the values in its entries, a Kronecker product of
small per-axis patterns: one for the channels, one per spatial dimension. An ``Axis``
describes one factor densely, as ``(rows, slots)`` arrays: the column each slot of a row
points at, whether the slot is used, which tap (weight) it carries and a value to multiply
in. ``kron_axes`` takes their C-order Kronecker product: row ``(r_0, ..., r_n)`` holds the
used slots ``(t_0, ..., t_n)`` in C order, at column ``sum c_i * stride_i``. When each
factor's used columns increase along its slots, that order is already the sorted CSR
order, so no sort and no COO detour is needed.

The number of entries of every row is known from the factors, so the three CSR arrays are
allocated once, at their final size (``plan_kron``), and filled in place: long runs of
interior rows by one outer sum ``row_part[:, None] + slot_part[None, :]`` (a window's
columns are a row part plus a slot part) and one row gather from a small table of weights
(``_fill_regular_runs``); the rows at a border by broadcasting every factor, masked, and
written where they belong (``_fill_border_rows``). The array kernels are in
:mod:`convmat._kernels`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.sparse import csr_array

from ._kernels import (
    add_outer,
    c_strides,
    canonicalize,
    merge_order,
    outer,
    placed,
    ragged_range,
    split_row_slot,
    table_rows,
    value_products,
)

INT32_MAX = np.iinfo(np.int32).max

_settings = {"max_entries": 2**28}


def _as_limit(value, name: str) -> int:
    """A non-negative entry limit: Python or numpy integers, never bools or floats."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {name}={value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {name}={value!r}")
    return int(value)


def get_max_entries() -> int:
    """The largest number of stored entries a builder makes without being asked to."""
    return _settings["max_entries"]


def set_max_entries(limit: int) -> int:
    """Set the default entry limit of every builder; returns the previous limit.

    Each builder also takes ``max_entries=`` for a single call.
    """
    limit = _as_limit(limit, "limit")
    previous, _settings["max_entries"] = _settings["max_entries"], limit
    return previous


def index_dtype(*sizes: int) -> type:
    """int32 when every index and count fits, as scipy.sparse prefers; else int64."""
    return np.int32 if max(sizes, default=0) <= INT32_MAX else np.int64


@dataclass(frozen=True)
class Budget:
    """How large one builder's matrix may be, and what to say when it is too large.

    ``what`` names the builder (``"conv_matrix"``), ``operator`` the matrix-free
    function to use instead (``"convmat.conv_operator"``; ``None`` when there is none),
    ``itemsize`` the bytes of one
    stored value, ``max_entries`` the caller's limit (``None``: ``get_max_entries()``).
    One object travels from the public entry to ``kron_axes`` instead of four arguments.
    """

    what: str
    operator: str | None
    itemsize: int = 8
    max_entries: int | None = None

    def __post_init__(self):
        if self.max_entries is not None:
            object.__setattr__(self, "max_entries", _as_limit(self.max_entries, "max_entries"))

    @property
    def limit(self) -> int:
        return get_max_entries() if self.max_entries is None else self.max_entries

    def with_itemsize(self, itemsize: int) -> "Budget":
        return Budget(self.what, self.operator, int(itemsize), self.max_entries)

    def check(self, n_entries: int, n_rows: int = 0) -> None:
        """Refuse a matrix with more than ``limit`` stored entries (or rows: each costs an
        ``indptr`` slot), before allocating it. Sizes are Python ints: no overflow."""
        n_entries, n_rows = int(n_entries), int(n_rows)
        limit = self.limit
        if max(n_entries, n_rows) > limit:
            gib = (n_entries * (self.itemsize + 8) + n_rows * 8) / 2**30
            what_big = (f"{n_entries:,} entries" if n_entries >= n_rows
                        else f"{n_rows:,} rows ({n_entries:,} entries)")
            instead = (f", or use the matrix-free {self.operator} instead"
                       if self.operator else "")
            raise ValueError(
                f"{self.what} would store {what_big} (about {gib:.3g} GiB), more than "
                f"max_entries={limit:,}. Pass max_entries= (or convmat.set_max_entries) to "
                f"allow it{instead}."
            )

    def check_values(self, n_values: int, what: str, given: str) -> None:
        """Refuse an array of ``n_values`` values past ``limit``, before allocating it:
        ``what`` it is (``"the grid"``), ``given`` the argument that sizes it, as the
        caller wrote it (``"size=(1, 10, 10)"``)."""
        limit = self.limit
        if int(n_values) > limit:
            raise ValueError(
                f"{what} for {given} holds {n_values:,} values (about "
                f"{n_values * self.itemsize / 2**30:.3g} GiB), more than max_entries="
                f"{limit:,}; pass max_entries= (or convmat.set_max_entries) to allow it")


@dataclass(frozen=True, eq=False)
class Axis:
    """One factor of a separable pattern, stored densely as ``(rows, slots)`` arrays.

    ``cols[r, t]`` is the column slot ``t`` of row ``r`` points at, ``taps[r, t]`` its tap
    and ``values[r, t]`` a factor of its value, wherever ``valid[r, t]`` (``None``: every
    slot is used); unused slots may hold anything.
    """

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

    def distinct_counts(self) -> np.ndarray:
        """Number of different columns among the used slots of each row."""
        if self.cols.shape[1] == 0:
            return np.zeros(self.n_rows, dtype=np.int64)
        key = np.sort(np.where(self.valid, self.cols, -1) if self.valid is not None
                      else self.cols, axis=1)
        new = np.diff(key, axis=1, prepend=-1) != 0
        return (new & (key >= 0)).sum(axis=1, dtype=np.int64)

    def transpose(self, n_rows: int | None = None) -> "Axis":
        """The transposed factor, keeping only the first ``n_rows`` rows of this one.

        Rows of the result are this factor's columns; each lists, in increasing order, the
        rows of this factor that point at it, with the same tap and value.
        """
        n_rows = self.n_rows if n_rows is None else n_rows
        cols = self.cols[:n_rows]
        used = np.ones(cols.shape, bool) if self.valid is None else self.valid[:n_rows]
        src_row, src_slot = np.nonzero(used)
        dst_row = cols[src_row, src_slot]
        order = np.lexsort((src_row, dst_row))
        src, dst_row = (src_row[order], src_slot[order]), dst_row[order]
        counts = np.bincount(dst_row, minlength=self.n_cols)
        shape = (self.n_cols, int(counts.max(initial=0)))
        dst = (dst_row, np.arange(dst_row.size) - np.repeat(np.cumsum(counts) - counts, counts))
        valid = _scattered(True, False, bool, shape, dst)
        # A row that points twice at one column lists that row twice in the transpose.
        repeats = np.any((np.diff(dst_row) == 0) & (np.diff(src[0]) == 0))
        return Axis(
            _scattered(src[0], 0, np.int64, shape, dst), n_rows, _moved(self.taps, src, dst, shape),
            self.n_taps, None if valid.all() else valid, _moved(self.values, src, dst, shape),
            ordered=not repeats,
        )


def _scattered(values, fill, dtype, shape, at) -> np.ndarray:
    """A ``shape`` array holding ``values`` at the positions ``at`` and ``fill`` elsewhere."""
    out = np.full(shape, fill, dtype=dtype)
    out[at] = values
    return out


def _moved(arr, src, dst, shape) -> np.ndarray | None:
    """The entries of ``arr`` (taps or values) at ``src`` moved to ``dst`` in a ``shape``
    array, 0 elsewhere; ``None`` stays ``None``."""
    return None if arr is None else _scattered(arr[src], 0, arr.dtype, shape, dst)


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
        return self.sum_into_entries(flat_weight.take(self.taps))

    def sum_into_entries(self, contributions: np.ndarray) -> np.ndarray:
        if self.entry is None:
            return contributions
        return _sum_by(self.entry, contributions, self.nnz)

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


# Entries assembled per chunk: small enough to stay in cache, large enough that numpy's
# per-call overhead does not matter. Temporaries never exceed a few chunks.
CHUNK = 1 << 17
# A run of plain rows shorter than this (in entries) is batched with the border rows.
MIN_RUN = 1 << 11


@dataclass(frozen=True, eq=False)
class KronPlan:
    """Everything ``kron_axes`` knows before it writes an entry (see ``plan_kron``).

    Sizes, dtypes and ``nnz``; ``row_counts`` (entries of each row before merging, ``None``
    when every row holds every slot) and the final ``indptr``. Columns are split into
    ``row_part[r] + slot_part[t]``; a plain row's taps are ``tap_table[tap_row[r]]``, its
    weights ``weight_table[tap_row[r]]`` and its factor values ``value_table[value_row[r]]``
    (``None``: too many different rows of values, broadcast them). ``special_rows`` are
    the rows where a split fails; ``runs`` the ``(start, stop)`` runs of plain rows written
    in place, ``border_rows`` all the others.
    """

    axes: tuple[Axis, ...]
    row_shape: tuple[int, ...]
    slot_shape: tuple[int, ...]
    n_slots: int
    n_cols: int
    nnz: int
    step: int  # rows per chunk
    index_dtype: type
    tap_dtype: type
    value_dtype: np.dtype
    keep_taps: bool
    keep_values: bool
    merge: bool  # sum repeated columns as the rows are written
    weight: np.ndarray | None
    value_parts: tuple[np.ndarray | None, ...]  # each factor's values, if multiplied in
    has_values: bool  # some factor's values are multiplied in
    indptr: np.ndarray | None = None
    row_counts: np.ndarray | None = None
    # Each factor's columns and taps, 0 in unused slots, and their C-order strides.
    cols_used: tuple[np.ndarray, ...] = ()
    tap_arrays: tuple[np.ndarray, ...] = ()
    col_strides: tuple[int, ...] = ()
    tap_strides: tuple[int, ...] = ()
    row_part: np.ndarray | None = None
    slot_part: np.ndarray | None = None
    tap_row: np.ndarray | None = None
    tap_table: np.ndarray | None = None
    weight_table: np.ndarray | None = None
    value_row: np.ndarray | None = None
    value_table: np.ndarray | None = None
    special_rows: np.ndarray | None = None
    runs: np.ndarray | None = None
    border_rows: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return math.prod(self.row_shape), self.n_cols


def plan_kron(axes: list[Axis], *, taps: bool = True, values: bool = False, weight=None,
              budget: Budget | None = None) -> KronPlan:
    """The plan of ``kron_axes(axes, ...)``: sizes, ``indptr`` and the tables of its fills.

    The size is checked against ``budget`` first, from the per-factor counts alone.
    """
    axes = tuple(axes)
    budget = _DEFAULT_BUDGET if budget is None else budget
    row_shape = tuple(a.n_rows for a in axes)
    n_rows, n_cols = math.prod(row_shape), math.prod(a.n_cols for a in axes)
    counts = [a.counts() for a in axes]
    # Repeated columns (reflect, replicate, circular padding) are summed as the rows are
    # written; only a tap pattern keeps every contribution and merges afterwards.
    merge = not taps and not all(a.ordered for a in axes)
    out_counts = [a.distinct_counts() for a in axes] if merge else counts
    nnz = math.prod(int(c.sum()) for c in out_counts)
    budget.check(nnz, n_rows)
    idx = index_dtype(nnz, n_rows, n_cols)
    value_parts = tuple(a.values if values else None for a in axes)
    slot_shape = tuple(a.cols.shape[1] for a in axes)
    n_slots = math.prod(slot_shape)
    plan = KronPlan(
        axes, row_shape, slot_shape, n_slots, n_cols, nnz, max(1, CHUNK // max(n_slots, 1)),
        idx, index_dtype(math.prod(a.n_taps for a in axes)),
        np.result_type(np.float64 if weight is None else weight.dtype,
                       *(v.dtype for v in value_parts if v is not None)),
        taps, values or weight is not None, merge, weight, value_parts,
        any(v is not None for v in value_parts))
    if nnz == 0:  # a factor without rows or without used slots
        return replace(plan, indptr=np.zeros(n_rows + 1, idx))

    full = all(a.valid is None for a in axes) and not merge
    if full:  # every row holds every slot: no counting needed
        row_counts = None
        indptr = np.arange(n_rows + 1, dtype=idx) * idx(plan.n_slots)
    else:
        row_counts = outer(counts, np.multiply)
        indptr = np.empty(n_rows + 1, dtype=idx)
        indptr[0] = 0
        np.cumsum(outer(out_counts, np.multiply) if merge else row_counts, out=indptr[1:])

    need_taps = taps or weight is not None
    tap_arrays = tuple(np.zeros(a.cols.shape, np.int64) if a.taps is None else a.taps
                       for a in axes)
    col_split, tap_split, regular = _split_factors(axes, counts, tap_arrays, need_taps)
    special_rows = np.flatnonzero(~outer(regular, np.logical_and))
    col_strides = tuple(c_strides([a.n_cols for a in axes]))
    tap_strides = tuple(c_strides([a.n_taps for a in axes]))
    tap_row = tap_table = weight_table = value_row = value_table = None
    if need_taps:
        tap_row, tap_table, weight_table = _tap_tables(tap_split, tap_strides, weight,
                                                       plan.tap_dtype)
    if plan.has_values:
        # Rows of values (divisors, interpolation weights) repeat: a table of their
        # products, indexed per row, unless there are too many different ones.
        value_row, value_table = value_products(axes, value_parts, limit=max(nnz // 2, 1 << 16))
    runs, border_rows = _plain_runs(row_counts, special_rows, n_rows, plan.n_slots, full)
    return replace(
        plan, indptr=indptr, row_counts=row_counts,
        cols_used=tuple(a.cols if a.valid is None else np.where(a.valid, a.cols, 0)
                        for a in axes),
        tap_arrays=tap_arrays, col_strides=col_strides, tap_strides=tap_strides,
        row_part=outer([s[0] for s in col_split], np.add, col_strides, idx),
        slot_part=outer([s[1] for s in col_split], np.add, col_strides, idx),
        tap_row=tap_row, tap_table=tap_table, weight_table=weight_table,
        value_row=value_row, value_table=value_table, special_rows=special_rows,
        runs=runs, border_rows=border_rows)


def _split_factors(axes, counts, tap_arrays, need_taps):
    """``(col_split, tap_split, regular)``: each factor's columns (and taps) split into
    ``row part + slot part`` (``split_row_slot``), read from a full row in its middle, and
    the rows of each factor where both splits hold and the columns increase."""
    templates = []
    for c in counts:
        fullest = np.flatnonzero(c == c.max(initial=0))
        templates.append(int(fullest[fullest.size // 2]) if fullest.size else 0)
    col_split = [split_row_slot(a.cols, a.valid, c, t)
                 for a, c, t in zip(axes, counts, templates)]
    # A plain row's columns must increase: a repeated template column rules a factor out.
    regular = [s[2] & bool(np.all(np.diff(s[1]) > 0)) for s in col_split]
    tap_split = None
    if need_taps:
        tap_split = [split_row_slot(t, a.valid, c, r)
                     for t, a, c, r in zip(tap_arrays, axes, counts, templates)]
        regular = [r & s[2] for r, s in zip(regular, tap_split)]
    return col_split, tap_split, regular


def _tap_tables(tap_split, tap_strides, weight, tap_dtype):
    """``(tap_row, tap_table, weight_table)``: a plain row ``r`` holds the taps
    ``tap_table[tap_row[r]]`` and the weights ``weight_table[tap_row[r]]``."""
    # Tap row parts take few distinct values per factor: index a small table by them.
    uniq = [np.unique(s[0], return_inverse=True) for s in tap_split]
    tap_row = outer([u[1].reshape(-1) for u in uniq], np.add,
                    c_strides([u[0].size for u in uniq]), np.intp)
    table = (outer([u[0] for u in uniq], np.add, tap_strides)[:, None]
             + outer([s[1] for s in tap_split], np.add, tap_strides)[None, :])
    weight_table = weight.take(table, mode="clip") if weight is not None else None
    return tap_row, table.astype(tap_dtype), weight_table


def _plain_runs(row_counts, special_rows, n_rows: int, n_slots: int, full: bool):
    """``(runs, border_rows)``: the ``(start, stop)`` runs of plain rows (every slot used,
    row part + slot part) long enough to be written on their own, and every other row."""
    if full and not special_rows.size:
        return np.array([[0, n_rows]]), np.zeros(0, np.intp)
    plain = row_counts == n_slots if row_counts is not None else np.ones(n_rows, bool)
    plain[special_rows] = False
    edges = np.flatnonzero(np.diff(plain, prepend=False, append=False))
    starts, stops = edges[0::2], edges[1::2]
    # Short runs are not worth a Python iteration: they join the border rows. Whichever
    # holds fewer rows is marked, the short runs or the long ones (a bilinear image has
    # only short runs: one partial row ends each image row).
    length = stops - starts
    long = length * n_slots >= MIN_RUN
    if int(length[~long].sum()) <= int(length[long].sum()):
        plain[ragged_range(starts[~long], length[~long])] = False
    else:
        plain = np.zeros(n_rows, bool)
        plain[ragged_range(starts[long], length[long])] = True
    return np.stack([starts[long], stops[long]], axis=1), np.flatnonzero(~plain)


def _broadcast_rows(plan: KronPlan, parts, rows, combine, strides=None) -> np.ndarray:
    """``(rows, slots)`` array combining every factor's ``parts`` (``None``: skipped) over
    the given rows, each factor on its own slot axis: the general way, for a few rows."""
    rix = np.unravel_index(rows, plan.row_shape)
    acc = None
    for f, part in enumerate(parts):
        if part is None:
            continue
        p = placed(f, len(parts), part[rix[f]] * (1 if strides is None else strides[f]))
        acc = p if acc is None else combine(acc, p)
    n = len(rows)
    return np.broadcast_to(acc, (n,) + plan.slot_shape).reshape(n, plan.n_slots)


def _fill_regular_runs(plan: KronPlan, indices, tap, vals) -> None:
    """Write the runs of plain rows in place, a chunk at a time: their columns by one outer
    sum ``row_part[:, None] + slot_part[None, :]``, their taps, weights and values by a row
    gather from a small table."""
    # Runs are often a single chunk: keep the per-chunk Python work small.
    n_slots, step, indptr, row_part, slot_part = (
        plan.n_slots, plan.step, plan.indptr, plan.row_part, plan.slot_part)
    for first, last in plan.runs.tolist():
        for a in range(first, last, step):
            b = min(last, a + step)
            lo, hi = int(indptr[a]), int(indptr[b])
            add_outer(row_part[a:b], slot_part, indices[lo:hi].reshape(b - a, n_slots))
            if tap is not None:
                table_rows(plan.tap_table, plan.tap_row[a:b],
                           out=tap[lo:hi].reshape(b - a, n_slots))
            if vals is not None:
                _fill_run_values(plan, a, b, vals[lo:hi].reshape(b - a, n_slots))


def _fill_run_values(plan: KronPlan, a: int, b: int, out: np.ndarray) -> None:
    """Values of the plain rows ``a:b``: their weights times their factors' values."""
    if plan.weight_table is not None:
        table_rows(plan.weight_table, plan.tap_row[a:b], out=out)
    elif plan.value_table is not None:
        table_rows(plan.value_table, plan.value_row[a:b], out=out)
        return
    else:
        out[...] = 1
    if plan.has_values:
        out *= (table_rows(plan.value_table, plan.value_row[a:b])
                if plan.value_table is not None
                else _broadcast_rows(plan, plan.value_parts, np.arange(a, b), np.multiply))


def _fill_border_rows(plan: KronPlan, indices, tap, vals) -> None:
    """Write every row outside the runs, a batch at a time: the same outer sum, then the
    rows where it fails (at a border: masked slots, reflected columns, per-slot values)
    recomputed by broadcasting every factor, masked, merged where columns repeat, and
    written where they belong."""
    border = plan.border_rows
    for i in range(0, border.size, plan.step):
        _fill_border_batch(plan, border[i:i + plan.step], indices, tap, vals)


def _fill_border_batch(plan: KronPlan, batch, indices, tap, vals) -> None:
    """``_fill_border_rows`` for one sorted batch of rows."""
    n, n_slots, indptr = batch.size, plan.n_slots, plan.indptr
    if batch[-1] - batch[0] + 1 == n:  # contiguous: slices instead of gathers
        rows = slice(int(batch[0]), int(batch[-1]) + 1)
        where = slice(int(indptr[rows.start]), int(indptr[rows.stop]))
    else:
        rows = batch
        where = ragged_range(indptr[batch], indptr[batch + 1] - indptr[batch])
    lens = plan.row_counts[rows] if plan.row_counts is not None else np.full(n, n_slots)
    special = np.zeros(0, np.intp)
    if plan.special_rows.size:
        special = np.flatnonzero(np.isin(batch, plan.special_rows, assume_unique=True))
    mask = None
    if int(lens.sum()) != n * n_slots:
        part = np.flatnonzero(lens != n_slots)
        mask = np.ones((n, n_slots), dtype=bool)
        mask[part] = _broadcast_rows(plan, [a.valid for a in plan.axes], batch[part],
                                     np.logical_and)
    cols = add_outer(plan.row_part[rows], plan.slot_part, np.empty((n, n_slots), plan.index_dtype))
    if special.size:
        cols[special] = _broadcast_rows(plan, plan.cols_used, batch[special], np.add,
                                        plan.col_strides)
    writer = _RowWriter(where, mask)
    if plan.merge:
        writer = _RowWriter(where, mask, *merge_order(cols, mask, lens, plan.n_cols))
    writer.put(indices, cols)
    q = chunk_taps = None
    if plan.tap_row is not None:
        q = plan.tap_row[rows]
        if tap is not None or special.size:
            chunk_taps = table_rows(plan.tap_table, q)
            if special.size:
                chunk_taps[special] = _broadcast_rows(plan, plan.tap_arrays, batch[special],
                                                      np.add, plan.tap_strides)
    if tap is not None:
        writer.put(tap, chunk_taps)
    if vals is not None:
        writer.put(vals, _border_values(plan, rows, batch, special, q, chunk_taps), add=True)


def _border_values(plan: KronPlan, rows, batch, special, q, chunk_taps) -> np.ndarray:
    """Values of a batch of border rows: the weight of each tap (recomputed where the split
    fails) times the factors' values, or 1."""
    chunk = None
    if plan.weight is not None:
        chunk = table_rows(plan.weight_table, q)
        if special.size:
            chunk[special] = plan.weight.take(chunk_taps[special], mode="clip")
    if plan.has_values:
        v = (table_rows(plan.value_table, plan.value_row[rows])
             if plan.value_table is not None
             else _broadcast_rows(plan, plan.value_parts, batch, np.multiply))
        chunk = v if chunk is None else chunk * v
    if chunk is None:
        chunk = np.ones((batch.size, plan.n_slots), dtype=plan.value_dtype)
    return chunk


@dataclass(frozen=True, eq=False)
class _RowWriter:
    """Writes a batch's ``(rows, slots)`` arrays at ``where``: the used slots (``mask``),
    sorted by column and summed (or the first kept) over repeats when ``order`` is set."""

    where: slice | np.ndarray
    mask: np.ndarray | None
    order: np.ndarray | None = None
    firsts: np.ndarray | None = None

    def put(self, out: np.ndarray, chunk: np.ndarray, add: bool = False) -> None:
        flat = chunk.reshape(-1) if self.mask is None else chunk[self.mask]
        if self.order is not None:
            flat = flat[self.order]
            flat = np.add.reduceat(flat, self.firsts) if add else flat[self.firsts]
        out[self.where] = flat


# What kron_axes checks against when its caller names no budget.
_DEFAULT_BUDGET = Budget("matrix", "operator")


def kron_axes(
    axes: list[Axis], *, taps: bool = True, values: bool = False, weight=None,
    budget: Budget | None = None,
) -> Pattern:
    """The C-order Kronecker product of ``axes`` as a canonical CSR pattern.

    ``taps``: also keep the combined tap of each contribution (radix ``n_taps``).
    ``values``: multiply the factors' values into ``Pattern.values``. ``weight``: a flat
    array indexed by the combined tap, multiplied into ``Pattern.values`` too (so the
    matrix of a convolution is built without storing its taps). Duplicate columns inside
    a row (from unordered factors, e.g. reflect padding) are merged, and ``entry`` records
    where each contribution went. ``budget``: the size limit and what a refusal names,
    checked before anything is allocated (default: ``get_max_entries()``).

    The final arrays are allocated once, at their exact size (``plan_kron`` knows ``nnz``
    and ``indptr`` from the per-factor counts), then ``_fill_regular_runs`` writes the long
    runs of interior rows and ``_fill_border_rows`` the rest.
    """
    plan = plan_kron(axes, taps=taps, values=values, weight=weight, budget=budget)
    indptr, shape = plan.indptr, plan.shape
    tap = np.empty(plan.nnz, dtype=plan.tap_dtype) if plan.keep_taps else None
    vals = np.empty(plan.nnz, dtype=plan.value_dtype) if plan.keep_values else None
    indices = np.empty(plan.nnz, dtype=plan.index_dtype)
    if plan.nnz:
        _fill_regular_runs(plan, indices, tap, vals)
        _fill_border_rows(plan, indices, tap, vals)
    del plan  # its per-row tables are not needed by the merge
    entry = None
    if taps and not all(a.ordered for a in axes):
        indices, indptr, tap, vals, entry = canonicalize(indices, indptr, tap, vals, shape[1])
    return Pattern(shape, indptr, indices, tap, entry, vals)


def _sum_by(groups, values, n):
    """Sum ``values`` by group, keeping complex values complex and the dtype."""
    if np.iscomplexobj(values):
        return (np.bincount(groups, values.real, n)
                + 1j * np.bincount(groups, values.imag, n)).astype(values.dtype)
    return np.bincount(groups, values, n).astype(values.dtype, copy=False)
