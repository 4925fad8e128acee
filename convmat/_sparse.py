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
allocated once, at their final size, and filled in place: long runs of interior rows by
one outer sum ``ROW[:, None] + SLOT[None, :]`` (a window's columns are a row part plus a
slot part) and one row gather from a small table of weights; the rows at a border are
computed by broadcasting every factor, masked, and written where they belong.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_array

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
    function to use instead (``"convmat.conv_operator"``), ``itemsize`` the bytes of one
    stored value, ``max_entries`` the caller's limit (``None``: ``get_max_entries()``).
    One object travels from the public entry to ``kron_axes`` instead of four arguments.
    """

    what: str
    operator: str
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
            raise ValueError(
                f"{self.what} would store {what_big} (about {gib:.3g} GiB), more than "
                f"max_entries={limit:,}. Pass max_entries= (or convmat.set_max_entries) to "
                f"allow it, or use the matrix-free {self.operator} instead."
            )


def check_entries(n_entries: int, itemsize: int, what: str, hint: str, max_entries=None,
                  n_rows: int = 0):
    """Deprecated shim: ``Budget(what, hint, itemsize, max_entries).check(...)``."""
    Budget(what, hint, itemsize, max_entries).check(n_entries, n_rows)


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


def _split(arr, valid, counts, template: int):
    """``(row, slot, regular)``: ``arr[r, t] == row[r] + slot[t]`` on the used slots of
    every ``regular`` row. The slot part comes from the row ``template``."""
    arr = np.asarray(arr)
    m, w = arr.shape
    if w == 0:
        return np.zeros(m, arr.dtype), np.zeros(0, arr.dtype), np.ones(m, bool)
    slot = arr[template] - arr[template, 0]
    row = arr[:, 0]
    same = arr == row[:, None] + slot[None, :]
    if valid is None:
        return row, slot, same.all(axis=1)
    # Exact on every slot (a window's raw positions, border slots included), or on the
    # used slots when the row part was read at a used slot 0 (a transposed factor).
    used = (same | ~valid).all(axis=1) & (valid[:, 0] | (counts == 0))
    return row, slot, same.all(axis=1) | used


def _ragged(starts, lens) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lens)])``, vectorised."""
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    offsets = np.repeat(np.asarray(starts, np.int64) - (np.cumsum(lens) - lens), lens)
    return offsets + np.arange(total)


def _value_table(axes, parts, limit):
    """``(VQ, VTAB)`` with ``VTAB[VQ[r]]`` the values of every slot of row ``r``.

    Each factor's distinct rows of values are numbered; ``VTAB`` holds the products of
    every combination. ``(None, None)`` when that table would exceed ``limit`` entries.
    """
    uniq, inverse = [], []
    for a, part in zip(axes, parts):
        if part is None:
            uniq.append(np.ones((1, a.cols.shape[1])))
            inverse.append(np.zeros(a.n_rows, np.int64))
            continue
        used = part if a.valid is None else np.where(a.valid, part, 0)
        u, inv = np.unique(used, axis=0, return_inverse=True)
        uniq.append(u)
        inverse.append(inv.reshape(-1))
    if math.prod(u.size for u in uniq) > limit:
        return None, None
    table = np.ones((1, 1), dtype=np.result_type(*uniq))
    for u in uniq:
        table = (table[:, None, :, None] * u[None, :, None, :]).reshape(
            table.shape[0] * u.shape[0], table.shape[1] * u.shape[1])
    return _outer(inverse, np.add, _strides([u.shape[0] for u in uniq]), np.intp), table


def _strides(sizes) -> list[int]:
    out = [1] * len(sizes)
    for f in range(len(sizes) - 2, -1, -1):
        out[f] = out[f + 1] * sizes[f + 1]
    return out


def _outer(parts, combine, strides=None, dtype=None) -> np.ndarray:
    """C-order outer combination of 1-D ``parts`` (times ``strides``), flattened."""
    parts = [np.asarray(p, dtype=dtype) for p in parts]
    acc = parts[0] * (1 if strides is None else strides[0])
    for f in range(1, len(parts)):
        part = parts[f] * (1 if strides is None else strides[f])
        acc = combine(acc[:, None], part[None, :]).reshape(-1)
    return acc


# numpy broadcasts slowly over a short last axis: below this many slots per row, loop
# over the slots (each a long strided pass) or fill by doubling copies instead.
SHORT_ROW = 12


def _add_outer(row: np.ndarray, slot: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[i, t] = row[i] + slot[t]``."""
    if slot.size > SHORT_ROW or out.size < 1 << 15:  # short runs: one call beats many
        return np.add(row[:, None], slot[None, :], out=out)
    for t in range(slot.size):
        np.add(row, slot[t], out=out[:, t])
    return out


def _table_rows(table: np.ndarray, q, out=None) -> np.ndarray:
    """``table[q]`` (rows of a small table); a one-row table is copied by doubling."""
    if table.shape[0] > 1:
        return np.take(table, q, axis=0, out=out, mode="clip")
    n = q.size if hasattr(q, "size") else len(q)
    if out is None:
        out = np.empty((n, table.shape[1]), dtype=table.dtype)
    if table.shape[1] > SHORT_ROW or out.size < 1 << 15:  # short runs: one call
        out[...] = table[0]
        return out
    flat = out.reshape(-1)
    flat[:table.shape[1]] = table[0]
    done = table.shape[1]
    while 0 < done < flat.size:
        step = min(done, flat.size - done)
        flat[done:done + step] = flat[:step]
        done += step
    return out


def kron_axes(
    axes: list[Axis], *, taps: bool = True, values: bool = False, weight=None,
    what: str = "matrix", hint: str = "operator", itemsize: int = 8, max_entries=None,
) -> Pattern:
    """The C-order Kronecker product of ``axes`` as a canonical CSR pattern.

    ``taps``: also keep the combined tap of each contribution (radix ``n_taps``).
    ``values``: multiply the factors' values into ``Pattern.values``. ``weight``: a flat
    array indexed by the combined tap, multiplied into ``Pattern.values`` too (so the
    matrix of a convolution is built without storing its taps). Duplicate columns inside
    a row (from unordered factors, e.g. reflect padding) are merged, and ``entry`` records
    where each contribution went.

    The final arrays are allocated once, at their exact size (``nnz`` is known from the
    per-factor counts), and filled a chunk of rows at a time. Away from the borders every
    factor's columns and taps are ``row part + slot part`` (a window sliding over a grid),
    so a chunk is one outer sum ``ROW[:, None] + SLOT[None, :]`` and its values one row
    gather from a small table; only the rows that touch a border (masked slots, reflected
    columns, per-slot values) are recomputed by broadcasting every factor.
    """
    nf = len(axes)
    row_shape = tuple(a.n_rows for a in axes)
    slot_shape = tuple(a.cols.shape[1] for a in axes)
    n_rows, n_cols = math.prod(row_shape), math.prod(a.n_cols for a in axes)
    n_slots = math.prod(slot_shape)
    counts = [a.counts() for a in axes]
    # Repeated columns (reflect, replicate, circular padding) are summed as the rows are
    # written; only a tap pattern keeps every contribution and merges afterwards.
    merge = not taps and not all(a.ordered for a in axes)
    out_counts = [a.distinct_counts() for a in axes] if merge else counts
    nnz = math.prod(int(c.sum()) for c in out_counts)
    check_entries(nnz, itemsize, what, hint, max_entries, n_rows)
    idx = index_dtype(nnz, n_rows, n_cols)
    n_taps = math.prod(a.n_taps for a in axes)
    tap_dtype = index_dtype(n_taps)
    value_axes = [f for f, a in enumerate(axes) if values and a.values is not None]
    want_values = values or weight is not None
    vtype = np.result_type(np.float64 if weight is None else weight.dtype,
                           *(axes[f].values.dtype for f in value_axes))
    if nnz == 0:  # a factor without rows or without used slots
        return Pattern((n_rows, n_cols), np.zeros(n_rows + 1, idx), np.zeros(0, idx),
                       np.zeros(0, tap_dtype) if taps else None, None,
                       np.zeros(0, vtype) if want_values else None)

    full = all(a.valid is None for a in axes) and not merge
    if full:  # every row holds every slot: no counting needed
        row_counts = None
        indptr = np.arange(n_rows + 1, dtype=idx) * idx(n_slots)
    else:
        row_counts = _outer(counts, np.multiply)
        indptr = np.empty(n_rows + 1, dtype=idx)
        indptr[0] = 0
        np.cumsum(_outer(out_counts, np.multiply) if merge else row_counts, out=indptr[1:])

    col_strides = _strides([a.n_cols for a in axes])
    tap_strides = _strides([a.n_taps for a in axes])
    need_taps = taps or weight is not None
    tap_arrays = [np.zeros(a.cols.shape, np.int64) if a.taps is None else a.taps for a in axes]
    cols_used = [a.cols if a.valid is None else np.where(a.valid, a.cols, 0) for a in axes]

    # Split each factor into row and slot parts, from a full row in its middle.
    templates = []
    for c in counts:
        fullest = np.flatnonzero(c == c.max(initial=0))
        templates.append(int(fullest[fullest.size // 2]) if fullest.size else 0)
    col_split = [_split(a.cols, a.valid, c, t)
                 for a, c, t in zip(axes, counts, templates)]
    # A plain row's columns must increase: a repeated template column rules a factor out.
    regular = [s[2] & bool(np.all(np.diff(s[1]) > 0)) for s in col_split]
    if need_taps:
        tap_split = [_split(t, a.valid, c, r)
                     for t, a, c, r in zip(tap_arrays, axes, counts, templates)]
        regular = [r & s[2] for r, s in zip(regular, tap_split)]
    value_parts = [a.values if f in value_axes else None for f, a in enumerate(axes)]
    special_rows = np.flatnonzero(~_outer(regular, np.logical_and))

    SLOT = _outer([s[1] for s in col_split], np.add, col_strides, idx)
    ROW = _outer([s[0] for s in col_split], np.add, col_strides, idx)
    if need_taps:
        # Tap row parts take few distinct values per factor: index a small table by them.
        uniq = [np.unique(s[0], return_inverse=True) for s in tap_split]
        Q = _outer([u[1].reshape(-1) for u in uniq], np.add,
                   _strides([u[0].size for u in uniq]), np.intp)
        table = (_outer([u[0] for u in uniq], np.add, tap_strides)[:, None]
                 + _outer([s[1] for s in tap_split], np.add, tap_strides)[None, :])
        w_table = weight.take(table, mode="clip") if weight is not None else None
        table = table.astype(tap_dtype)
    if value_axes:
        # Rows of values (divisors, interpolation weights) repeat: a table of their
        # products, indexed per row, unless there are too many different ones.
        VQ, VTAB = _value_table(axes, value_parts, limit=max(nnz // 2, 1 << 16))

    indices = np.empty(nnz, dtype=idx)
    tap = np.empty(nnz, dtype=tap_dtype) if taps else None
    vals = None
    if want_values:
        vals = np.empty(nnz, dtype=vtype)

    def broadcast(parts, rix, combine, strides=None):
        # The general way, for a few rows: every factor placed on its own slot axis.
        acc = None
        for f, part in enumerate(parts):
            if part is None:
                continue
            p = _placed(f, nf, part[rix[f]] * (1 if strides is None else strides[f]))
            acc = p if acc is None else combine(acc, p)
        return np.broadcast_to(acc, (rix[0].size,) + slot_shape).reshape(rix[0].size, n_slots)

    # Plain rows (every slot used, row part + slot part) come in long runs between the
    # borders: each run is written in place, in its final arrays, by one outer sum and
    # one table gather. Short runs are not worth a Python iteration and join the rest.
    if full and not special_rows.size:
        plain = None
        starts, stops = np.array([0]), np.array([n_rows])
        short = np.zeros(1, bool)
    else:
        plain = row_counts == n_slots if row_counts is not None else np.ones(n_rows, bool)
        plain[special_rows] = False
        edges = np.flatnonzero(np.diff(plain, prepend=False, append=False))
        starts, stops = edges[0::2], edges[1::2]
        short = (stops - starts) * n_slots < MIN_RUN
        plain[_ragged(starts[short], stops[short] - starts[short])] = False
    step = max(1, CHUNK // max(n_slots, 1))
    for first, last in zip(starts[~short], stops[~short]):
        for a in range(int(first), int(last), step):
            b = min(int(last), a + step)
            lo, hi = int(indptr[a]), int(indptr[b])
            _add_outer(ROW[a:b], SLOT, indices[lo:hi].reshape(b - a, n_slots))
            if taps:
                _table_rows(table, Q[a:b], out=tap[lo:hi].reshape(b - a, n_slots))
            if want_values:
                out = vals[lo:hi].reshape(b - a, n_slots)
                if weight is not None:
                    _table_rows(w_table, Q[a:b], out=out)
                elif value_axes and VTAB is not None:
                    _table_rows(VTAB, VQ[a:b], out=out)
                    continue
                else:
                    out[...] = 1
                if value_axes:
                    out *= _table_rows(VTAB, VQ[a:b]) if VTAB is not None else broadcast(
                        value_parts, np.unravel_index(np.arange(a, b), row_shape), np.multiply)

    # The other rows, a batch at a time: the same outer sum, then the rows at a border
    # recomputed by broadcasting every factor, masked, and written where they belong.
    other = np.flatnonzero(~plain) if plain is not None else np.zeros(0, np.intp)
    for i in range(0, other.size, step):
        rows = other[i:i + step]
        n = rows.size
        if rows[-1] - rows[0] + 1 == n:  # contiguous: slices instead of gathers
            rows = slice(int(rows[0]), int(rows[-1]) + 1)
            where = slice(int(indptr[rows.start]), int(indptr[rows.stop]))
            first_row = rows.start
        else:
            where = _ragged(indptr[rows], indptr[rows + 1] - indptr[rows])
            first_row = None
        lens = row_counts[rows] if row_counts is not None else np.full(n, n_slots)

        def rix(local):
            # Multi-indices of some of the batch's rows (local positions).
            glob = local + first_row if first_row is not None else other[i:i + step][local]
            return np.unravel_index(glob, row_shape)

        sp = np.zeros(0, np.intp)
        if special_rows.size:
            glob = other[i:i + step]
            sp = np.flatnonzero(np.isin(glob, special_rows, assume_unique=True))
        mask = None
        if int(lens.sum()) != n * n_slots:
            part = np.flatnonzero(lens != n_slots)
            mask = np.ones((n, n_slots), dtype=bool)
            mask[part] = broadcast([a.valid for a in axes], rix(part), np.logical_and)

        chunk = _add_outer(ROW[rows], SLOT, np.empty((n, n_slots), dtype=idx))
        if sp.size:
            chunk[sp] = broadcast(cols_used, rix(sp), np.add, col_strides)
        order = firsts = None
        if merge:
            # Sort each row by column, then sum the runs of equal columns.
            raw = chunk.reshape(-1) if mask is None else chunk[mask]
            key = np.repeat(np.arange(n, dtype=np.int64), lens) * n_cols + raw
            order = np.argsort(key, kind="stable")
            firsts = np.flatnonzero(np.diff(key[order], prepend=-1))

        def put(out, chunk2d, add=False):
            flat = chunk2d.reshape(-1) if mask is None else chunk2d[mask]
            if order is not None:
                flat = np.add.reduceat(flat[order], firsts) if add else flat[order][firsts]
            out[where] = flat

        put(indices, chunk)
        if need_taps:
            q = Q[rows]
            if taps or sp.size:
                chunk_taps = _table_rows(table, q)
                if sp.size:
                    chunk_taps[sp] = broadcast(tap_arrays, rix(sp), np.add, tap_strides)
            if taps:
                put(tap, chunk_taps)
        if want_values:
            chunk = None
            if weight is not None:
                chunk = _table_rows(w_table, q)
                if sp.size:
                    chunk[sp] = weight.take(chunk_taps[sp], mode="clip")
            if value_axes:
                v = (_table_rows(VTAB, VQ[rows]) if VTAB is not None
                     else broadcast(value_parts, rix(np.arange(n)), np.multiply))
                chunk = v if chunk is None else chunk * v
            if chunk is None:
                chunk = np.ones((n, n_slots), dtype=vals.dtype)
            put(vals, chunk, add=True)
    del row_counts

    entry = None
    if taps and not all(a.ordered for a in axes):
        indices, indptr, tap, vals, entry = _canonicalize(indices, indptr, tap, vals, n_cols)
    return Pattern((n_rows, n_cols), indptr, indices, tap, entry, vals)


def _canonicalize(indices, indptr, tap, vals, n_cols):
    """Sort the rows that are out of order and merge repeated columns.

    Reflected, wrapped or clamped taps only disorder the rows that touch the padding, so
    only those rows are sorted; the merge is one linear pass.
    """
    n = indices.size
    if n:
        breaks = np.flatnonzero(indices[1:] <= indices[:-1]) + 1
        rows = np.searchsorted(indptr, breaks, side="right") - 1
        bad = np.unique(rows[indptr[rows] != breaks])
        if bad.size:
            lens = (indptr[bad + 1] - indptr[bad]).astype(np.int64)
            pos = _ragged(indptr[bad], lens)
            key = np.repeat(bad.astype(np.int64), lens) * n_cols + indices[pos]
            src = pos[np.argsort(key, kind="stable")]
            indices[pos] = indices[src]
            for arr in (tap, vals):
                if arr is not None:
                    arr[pos] = arr[src]
    new = np.ones(n, dtype=bool)
    if n:
        np.not_equal(indices[1:], indices[:-1], out=new[1:])
        new[indptr[:-1][np.diff(indptr) > 0]] = True
    if new.all():
        return indices, indptr, tap, vals, None
    firsts = np.flatnonzero(new)
    csum = np.zeros(n + 1, dtype=indptr.dtype)
    np.cumsum(new, out=csum[1:])
    entry = csum[1:] - 1 if tap is not None else None
    if vals is not None:
        vals = np.add.reduceat(vals, firsts) if firsts.size else vals[:0]
    return indices[firsts], csum[indptr], tap, vals, entry


def _placed(f: int, nf: int, arr: np.ndarray) -> np.ndarray:
    """Factor f's ``(rows, slots)`` array for a chunk's rows, its slots on slot axis f."""
    return arr.reshape(arr.shape[:1] + (1,) * f + arr.shape[1:] + (1,) * (nf - f - 1))


def _sum_by(groups, values, n):
    """Sum ``values`` by group, keeping complex values complex and the dtype."""
    if np.iscomplexobj(values):
        return (np.bincount(groups, values.real, n)
                + 1j * np.bincount(groups, values.imag, n)).astype(values.dtype)
    return np.bincount(groups, values, n).astype(values.dtype, copy=False)
