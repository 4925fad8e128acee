"""Small numpy kernels of the CSR assembly in :mod:`convmat._sparse`.

Pure array functions, knowing nothing of factors or budgets: the split of a factor's
``(rows, slots)`` array into ``row part + slot part``, outer sums and row gathers written
into preallocated rows, ragged ranges, and the sort-and-merge of rows whose columns are out
of order or repeat.
"""

from __future__ import annotations

import math

import numpy as np


def split_row_slot(arr, valid, counts, template: int):
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


def ragged_range(starts, lens) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lens)])``, vectorised."""
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    offsets = np.repeat(np.asarray(starts, np.int64) - (np.cumsum(lens) - lens), lens)
    return offsets + np.arange(total)


def value_products(axes, parts, limit):
    """``(row_key, table)`` with ``table[row_key[r]]`` the values of every slot of row ``r``.

    Each factor's distinct rows of values are numbered; ``table`` holds the products of
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
    return outer(inverse, np.add, c_strides([u.shape[0] for u in uniq]), np.intp), table


def c_strides(sizes) -> list[int]:
    """C-order strides of an array of shape ``sizes``, in elements."""
    out = [1] * len(sizes)
    for f in range(len(sizes) - 2, -1, -1):
        out[f] = out[f + 1] * sizes[f + 1]
    return out


def outer(parts, combine, strides=None, dtype=None) -> np.ndarray:
    """C-order outer combination of 1-D ``parts`` (times ``strides``), flattened."""
    parts = [np.asarray(p, dtype=dtype) for p in parts]
    acc = parts[0] * (1 if strides is None else strides[0])
    for f in range(1, len(parts)):
        part = parts[f] * (1 if strides is None else strides[f])
        acc = combine(acc[:, None], part[None, :]).reshape(-1)
    return acc


def permuted_arange(shape, axes, dtype=np.int64) -> np.ndarray:
    """``arange(prod(shape)).reshape(shape).transpose(axes).ravel()``, fast.

    numpy copies a transposed array with a short last axis (a pixel shuffle's ``r``)
    element by element; here the result is one outer sum ``row[:, None] + col[None, :]``
    of the leading and the trailing axes (at least 256 positions a row), each a small sum
    of aranges: one contiguous pass over the output.
    """
    strides = c_strides(shape)
    sizes, steps = [shape[a] for a in axes], [strides[a] for a in axes]
    k, width = len(sizes), 1
    while k > 0 and width < 256:
        k -= 1
        width *= sizes[k]

    def part(ns, ss):
        acc = np.zeros(1, dtype)
        for n, step in zip(ns, ss):
            acc = (acc[:, None] + np.arange(n, dtype=dtype) * dtype(step)).reshape(-1)
        return acc

    row, col = part(sizes[:k], steps[:k]), part(sizes[k:], steps[k:])
    out = np.empty(row.size * col.size, dtype)
    np.add(row[:, None], col[None, :], out=out.reshape(row.size, col.size))
    return out


# numpy broadcasts slowly over a short last axis: below this many slots per row, loop
# over the slots (each a long strided pass) or fill by doubling copies instead.
SHORT_ROW = 12


def add_outer(row: np.ndarray, slot: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[i, t] = row[i] + slot[t]``."""
    if slot.size > SHORT_ROW or out.size < 1 << 15:  # short runs: one call beats many
        return np.add(row[:, None], slot[None, :], out=out)
    for t in range(slot.size):
        np.add(row, slot[t], out=out[:, t])
    return out


def table_rows(table: np.ndarray, q, out=None) -> np.ndarray:
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


def merge_order(cols, mask, lens, n_cols: int):
    """``(order, firsts)``: the order sorting each row's used slots by column, and where
    each run of equal columns starts in it."""
    raw = cols.reshape(-1) if mask is None else cols[mask]
    key = np.repeat(np.arange(lens.size, dtype=np.int64), lens) * n_cols + raw
    order = np.argsort(key, kind="stable")
    return order, np.flatnonzero(np.diff(key[order], prepend=-1))


def canonicalize(indices, indptr, tap, vals, n_cols):
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
            pos = ragged_range(indptr[bad], lens)
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


def placed(f: int, nf: int, arr: np.ndarray) -> np.ndarray:
    """Factor f's ``(rows, slots)`` array for a chunk's rows, its slots on slot axis f."""
    return arr.reshape(arr.shape[:1] + (1,) * f + arr.shape[1:] + (1,) * (nf - f - 1))
