r"""Colouring the columns of a sparsity pattern, so that one probe recovers many of them.

Columns that share no row may be probed together (Curtis, Powell & Reid 1974): the sum of
their unit vectors, applied once, gives each of their entries exactly. A convolution's
pattern is coloured by position modulo its footprint (``C_in k^2`` colours whatever the
image size); any other pattern by a greedy colouring, whichever needs fewer probes.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.sparse import csr_array

from ._args import as_array, as_shape

__all__ = ["colour_columns"]


def shape_holding(shape, size: int, name: str, what: str) -> tuple[int, ...]:
    """``shape`` (``(size,)`` when ``None``), refused unless it holds ``size`` values."""
    if shape is None:
        return (size,)
    shape = as_shape(shape, name)
    if math.prod(shape) != size:
        raise ValueError(f"{name}={shape} holds {math.prod(shape)} values, but {what} has "
                         f"{size}")
    return shape


def _segment_max(values: np.ndarray, indptr: np.ndarray, fill) -> np.ndarray:
    """Max of each CSR segment ``values[indptr[i]:indptr[i+1]]`` (``fill`` if empty)."""
    out = np.full(indptr.size - 1, fill, dtype=values.dtype)
    nonempty = indptr[:-1] < indptr[1:]
    if values.size:
        out[nonempty] = np.maximum.reduceat(values, indptr[:-1][nonempty])
    return out


def modular_colours(coords: np.ndarray, spans) -> np.ndarray:
    """Colour ``coords mod spans``: columns closer than ``spans`` on some axis differ."""
    spans = np.asarray(spans, dtype=np.int64)
    return np.ravel_multi_index(tuple((coords % spans[:, None])), tuple(spans))


def _greedy_colours(P: csr_array, seed: int = 0) -> np.ndarray:
    """Column colouring with no two columns of a colour sharing a row (Curtis-Powell-Reid).

    One maximal independent set of the column-intersection graph per colour, each found
    Luby-style (columns that beat every candidate they share a row with join at once),
    without forming the graph: two segment maxima over ``P``'s rows and columns per round.
    """
    n = P.shape[1]
    Pc = P.tocsc()
    Pc.sort_indices()
    priority = np.random.default_rng(seed).permutation(n).astype(np.int64)
    colour = np.full(n, -1, dtype=np.int64)
    empty = Pc.indptr[:-1] == Pc.indptr[1:]
    colour[empty] = 0  # touches no output: free in any probe
    c = 0
    while (colour < 0).any():
        cand = colour < 0
        while cand.any():
            pr = np.where(cand, priority, -1)
            row_best = _segment_max(pr[P.indices], P.indptr, -1)
            col_best = _segment_max(row_best[Pc.indices], Pc.indptr, -1)
            chosen = cand & (pr == col_best)
            colour[chosen] = c
            row_hit = _segment_max(chosen[P.indices].astype(np.int8), P.indptr, 0)
            cand &= ~_segment_max(row_hit[Pc.indices], Pc.indptr, 0).astype(bool)
        c += 1
    return colour


def colour_columns(pattern, in_shape=None) -> np.ndarray:
    """Colours for probing: columns of one colour share no row of ``pattern``.

    Two candidates, the better kept: a modular colouring by the largest extent a row spans
    along each axis of ``in_shape`` (optimal for convolution-like patterns: ``C * 3 * 3``
    colours for a 3x3 kernel), and a greedy Curtis-Powell-Reid colouring (for anything
    else, e.g. wrap-around padding). The greedy one is skipped when the modular one
    already meets the lower bound, the most entries in a row.

    Parameters
    ----------
    pattern : sparse matrix or array_like, shape (m, n)
        The structure (stored entries, or non-zeros of a dense array).
    in_shape : tuple of int, optional
        Shape of the input, ``prod(in_shape) == n``; default ``(n,)``.

    Returns
    -------
    ndarray of int, shape (n,)
        The colour of each column, ``0 .. n_colours - 1``.

    Examples
    --------
    A 3-tap convolution of 6 inputs needs 3 probes:

    >>> from convmat import conv_matrix
    >>> colour_columns(conv_matrix(np.ones((1, 1, 3)), (1, 6)), (1, 6))
    array([0, 1, 2, 0, 1, 2])
    """
    P = as_pattern(pattern)
    m, n = P.shape
    in_shape = (n,) if in_shape is None else shape_holding(in_shape, n, "in_shape", "pattern")
    coords = np.array(np.unravel_index(np.arange(n), in_shape), dtype=np.int64)
    spans = np.ones(len(in_shape), dtype=np.int64)
    for axis, a in enumerate(coords[:, P.indices]):
        extent = _segment_max(a, P.indptr, 0) + _segment_max(-a, P.indptr, 0)  # max - min
        spans[axis] = int(extent.max(initial=0)) + 1
    best = compact(modular_colours(coords, spans))
    lower = int(np.diff(P.indptr).max(initial=0))
    if best.max(initial=-1) + 1 > lower:
        greedy = _greedy_colours(P)
        if greedy.max(initial=-1) < best.max(initial=-1):
            best = greedy
    return best


def compact(colour: np.ndarray) -> np.ndarray:
    return np.unique(colour, return_inverse=True)[1].reshape(-1)


def as_pattern(pattern) -> csr_array:
    """A boolean canonical ``csr_array`` of the structure of ``pattern``."""
    if hasattr(pattern, "indptr") and hasattr(pattern, "indices") and not sparse.issparse(
            pattern):  # a TapPattern: the structure of a convolution, without weights
        P = csr_array((np.ones(pattern.indices.size, bool), pattern.indices, pattern.indptr),
                      shape=pattern.shape)
    elif sparse.issparse(pattern):
        P = csr_array(pattern, copy=True)
        P.sum_duplicates()
        P = csr_array((np.ones(P.nnz, bool), P.indices, P.indptr), shape=P.shape)
    else:
        dense = as_array(pattern, "pattern")
        if dense.ndim != 2:
            raise ValueError(f"pattern must be 2-D (outputs x inputs), got an array of shape "
                             f"{dense.shape}")
        P = csr_array(dense != 0)
    P.sort_indices()
    return P
