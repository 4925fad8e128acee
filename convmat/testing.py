r"""Adjoint testing and probing: is this the adjoint, and what is this linear map's matrix?

:func:`dottest` / :func:`assert_adjoint` run the dot-product test: for random ``x`` and
``y``, a map ``A`` and a claimed adjoint ``B`` must give ``<A x, y> == <x, B y>``. It is the
test every operator in convmat passes (a transposed convolution against its convolution, a
matrix-free operator's ``rmatvec`` against its ``matvec``, torch's ops against our
matrices) and it catches the classic mistakes of hand-written adjoints: a flipped kernel,
a wrong ``output_padding``, padding off by one, forgotten ``groups``, a missing scale.

:func:`materialize` recovers the exact sparse matrix of a black-box linear function by
probing it with sums of unit vectors, few probes when the sparsity is known or bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike
from scipy import sparse
from scipy.sparse import csr_array
from scipy.sparse.linalg import LinearOperator

from ._args import as_shape

__all__ = ["DotTrial", "assert_adjoint", "colour_columns", "default_rtol", "dottest", "materialize"]

# --------------------------------------------------------------------------- linear maps
def _is_matrix(obj) -> bool:
    return (sparse.issparse(obj) or isinstance(obj, LinearOperator)
            or (isinstance(obj, np.ndarray) and obj.ndim == 2))


def _check_size(shape, size: int, name: str, what: str):
    if shape is None:
        return (size,)
    shape = as_shape(shape, name)
    if math.prod(shape) != size:
        raise ValueError(f"{name}={shape} holds {math.prod(shape)} values, but {what} has "
                         f"{size}")
    return shape


class _Map:
    """A linear map applied to stacks ``(k, *in_shape) -> (k, *out_shape)``."""

    def __init__(self, f, in_shape, out_shape, name: str, *, batched: bool = False):
        self.name = name
        if _is_matrix(f):
            what = f"{name} of shape {f.shape}"
            self.in_shape = _check_size(in_shape, f.shape[1], "in_shape", what)
            self.out_shape = _check_size(out_shape, f.shape[0], "out_shape", what)
            if isinstance(f, LinearOperator):
                self._batch = lambda X: np.asarray(f.matmat(X.reshape(X.shape[0], -1).T)).T
            else:
                self._batch = lambda X: np.asarray(f @ X.reshape(X.shape[0], -1).T).T
        elif callable(f):
            if in_shape is None:
                raise TypeError(f"in_shape is needed when {name} is a callable: the shape of "
                                f"the arrays it takes")
            self.in_shape = as_shape(in_shape, "in_shape")
            self.out_shape = None if out_shape is None else as_shape(out_shape, "out_shape")
            if batched:
                self._batch = lambda X: np.asarray(f(X))
            else:
                self._batch = lambda X: np.stack([np.asarray(f(x)) for x in X])
        else:
            raise TypeError(f"{name} must be a sparse matrix, a 2-D array, a scipy "
                            f"LinearOperator or a callable, got {type(f).__name__}")

    def __call__(self, X: np.ndarray) -> np.ndarray:
        k = X.shape[0]
        Y = self._batch(X.reshape(k, *self.in_shape))
        if self.out_shape is None:
            self.out_shape = tuple(Y.shape[1:])
        if Y.size != k * math.prod(self.out_shape):
            raise ValueError(f"{self.name} returned an array of shape {Y.shape[1:]} for an "
                             f"input of shape {self.in_shape}, expected "
                             f"{math.prod(self.out_shape)} values (shape {self.out_shape})")
        return Y.reshape(k, *self.out_shape)


def _default_adjoint(forward):
    if isinstance(forward, LinearOperator):
        return forward.H
    if _is_matrix(forward):
        return forward.conj().T
    raise TypeError("adjoint must be given when forward is a callable (only a matrix or a "
                    "LinearOperator knows its own adjoint)")


def _check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        raise ValueError(f"dtype must be a real or complex floating type (float32, float64, "
                         f"complex64, complex128), got dtype={dt}")
    return dt


def _lowest_precision(*dtypes) -> np.dtype:
    """The floating dtype with the largest machine epsilon among ``dtypes`` (others, e.g.
    integers, are skipped): the precision a comparison of their results can expect."""
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind in "fc"]
    return max(floats, key=lambda d: np.finfo(d).eps)


def _random(rng: np.random.Generator, shape, dtype: np.dtype) -> np.ndarray:
    """Standard normal values; complex ones with unit variance, ``(a + ib) / sqrt(2)``."""
    if dtype.kind == "c":
        z = rng.standard_normal((2, *shape)) / np.sqrt(2)
        return (z[0] + 1j * z[1]).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- dot test
@dataclass(frozen=True)
class DotTrial:
    """One dot-product test: ``<A x, y>``, ``<x, B y>`` and their relative mismatch."""

    trial: int
    forward_inner: complex
    adjoint_inner: complex
    mismatch: float


def _trials(forward, adjoint, in_shape, out_shape, dtype, trials, rng):
    dt = _check_dtype(dtype)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got trials={trials!r}")
    rng = np.random.default_rng(rng)
    fwd = _Map(forward, in_shape, out_shape, "forward")
    adjoint = _default_adjoint(forward) if adjoint is None else adjoint
    adj = None
    results = []
    precision = dt
    for trial in range(int(trials)):
        x = _random(rng, fwd.in_shape, dt)
        ax = fwd(x[None])[0]
        y = _random(rng, fwd.out_shape, dt)
        if adj is None:  # only now is forward's output shape known
            adj = _Map(adjoint, fwd.out_shape, fwd.in_shape, "adjoint")
        by = adj(y[None])[0]
        ax64, by64 = ax.astype(np.complex128).ravel(), by.astype(np.complex128).ravel()
        x64, y64 = x.astype(np.complex128).ravel(), y.astype(np.complex128).ravel()
        a, b = np.vdot(y64, ax64), np.vdot(by64, x64)
        precision = _lowest_precision(precision, ax.dtype, by.dtype)
        # |<Ax, y>| is only as large as a random sum: guard against a chance cancellation
        # with its standard deviation ||Ax|| * rms(y) (likewise for the adjoint side).
        terms = [abs(a), abs(b),
                 np.linalg.norm(ax64) * np.linalg.norm(y64) / math.sqrt(max(y64.size, 1)),
                 np.linalg.norm(by64) * np.linalg.norm(x64) / math.sqrt(max(x64.size, 1))]
        if not np.isfinite(terms).all():
            mismatch = math.inf  # a NaN would compare false with any tolerance, and pass
        else:
            scale = max(terms)
            mismatch = float(abs(a - b) / scale) if scale > 0 else 0.0
        if dt.kind == "f" and not (np.iscomplexobj(ax) or np.iscomplexobj(by)):
            a, b = a.real, b.real
        results.append(DotTrial(trial, complex(a) if np.iscomplexobj(a) else float(a),
                                complex(b) if np.iscomplexobj(b) else float(b), mismatch))
    return results, fwd.in_shape, fwd.out_shape, dt, precision


def dottest(forward, adjoint=None, *, in_shape=None, out_shape=None,
            dtype: DTypeLike = np.float64, trials: int = 3, rng=None,
            verbose: bool = False) -> float:
    r"""Dot-product test of a linear map against its claimed adjoint.

    Parameters
    ----------
    forward : sparse matrix, 2-D ndarray, LinearOperator or callable
        The map ``A``. A callable takes one array of shape ``in_shape`` and returns one array.
    adjoint : same kinds, optional
        The claimed adjoint ``B``; by default ``A^H`` of a matrix (``A.conj().T``) or of a
        ``LinearOperator`` (``A.H``, i.e. its ``rmatvec``). Required for a callable. A
        matrix given here is used as it is (e.g. ``conv_transpose_matrix`` as the adjoint of
        ``conv_matrix``).
    in_shape, out_shape : tuple of int, optional
        Shapes of ``x`` and ``y``. ``in_shape`` is required for a callable; ``out_shape`` is
        found by calling ``forward`` when not given.
    dtype : dtype
        Of the random ``x`` and ``y``: float32, float64, complex64 or complex128.
    trials : int
        Number of random pairs.
    rng : int or numpy.random.Generator, optional
        Seed or generator for ``x`` and ``y``.
    verbose : bool
        Print both inner products and the mismatch of each trial.

    Returns
    -------
    float
        The largest relative mismatch over the trials (0 for an exact adjoint, up to
        rounding; ``inf`` when either map produced a NaN or an infinity).

    Notes
    -----
    For ``x, y`` standard normal (complex: unit-variance circular), with the conjugate
    inner product ``<u, v> = v^H u`` (accumulated in double precision),

    .. math::  \mathrm{mismatch} = \frac{|\langle A x, y\rangle - \langle x, B y\rangle|}
               {\max(|\langle A x, y\rangle|, |\langle x, B y\rangle|,
               \|A x\|\,\mathrm{rms}(y), \|B y\|\,\mathrm{rms}(x))}

    The last two terms are the standard deviations of the inner products over ``y`` (or
    ``x``): they keep a chance cancellation of a random sum from inflating the mismatch,
    so a tolerance near the dtype's rounding is safe, while a wrong adjoint still gives a
    mismatch of the order of ``||(A - B^H) x|| / ||A x||``.

    Examples
    --------
    A 3-tap convolution and its transpose pass; a kernel flipped by mistake does not:

    >>> import numpy as np
    >>> from convmat import conv_matrix, conv_transpose_matrix
    >>> from convmat.testing import dottest
    >>> w = np.array([[[1., 2., 3.]]])
    >>> C = conv_matrix(w, (1, 5))
    >>> dottest(C, conv_transpose_matrix(w, (1, 3)), rng=0) < 1e-14
    True
    >>> dottest(C, conv_transpose_matrix(w[..., ::-1], (1, 3)), rng=0) > 0.01
    True
    """
    results, *_ = _trials(forward, adjoint, in_shape, out_shape, dtype, trials, rng)
    if verbose:
        for r in results:
            print(f"trial {r.trial}: <A x, y> = {r.forward_inner:.6g}, <x, A^H y> = "
                  f"{r.adjoint_inner:.6g}, relative mismatch {r.mismatch:.3g}")
    return max(r.mismatch for r in results)


def default_rtol(dtype: DTypeLike) -> float:
    """``assert_adjoint``'s default tolerance: ``sqrt(eps)`` of the dtype's precision.

    >>> default_rtol(np.float64) < 1e-7 < default_rtol(np.float32) < 1e-3
    True
    """
    return float(np.sqrt(np.finfo(_check_dtype(dtype)).eps))


def assert_adjoint(forward, adjoint=None, *, in_shape=None, out_shape=None,
                   dtype: DTypeLike = np.float64, trials: int = 3, rng=None,
                   rtol: float | None = None) -> float:
    """Raise ``AssertionError`` unless ``adjoint`` is the adjoint of ``forward``.

    Parameters
    ----------
    forward, adjoint, in_shape, out_shape, dtype, trials, rng
        As for :func:`dottest`.
    rtol : float, optional
        Largest relative mismatch allowed; default :func:`default_rtol` of the lowest
        precision among ``dtype`` and the dtypes of ``A x`` and ``B y`` (about 1.5e-8 for
        float64 and complex128, 3.5e-4 for float32 and complex64): a float32 map is only
        adjoint to float32 rounding, even when probed in float64.

    Returns
    -------
    float
        The largest relative mismatch, when it passes.

    Raises
    ------
    AssertionError
        With both inner products, the mismatch, the tolerance, the trial, the dtype and the
        shapes of the worst trial; saying so when a map produced a NaN or an infinity.

    Notes
    -----
    The mismatch is :func:`dottest`'s; see there for the formula.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat.testing import assert_adjoint
    >>> A = np.array([[1., 2.], [0., 3.]])
    >>> assert_adjoint(A, A.T, rng=0) < 1e-15
    True
    >>> assert_adjoint(A, A, rng=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: not adjoint: <A x, y> = -0.1302588588 but <x, B y> = 0.06532526437,
    relative mismatch 1.02 > rtol=1.49e-08 (trial 1 of 3, dtype float64, ...)
    """
    results, in_shape, out_shape, dt, precision = _trials(forward, adjoint, in_shape,
                                                          out_shape, dtype, trials, rng)
    tol = default_rtol(precision) if rtol is None else float(rtol)
    worst = max(results, key=lambda r: r.mismatch)
    where = (f"trial {worst.trial + 1} of {len(results)}, dtype {dt}"
             + ("" if precision == dt else f" (results in {precision})")
             + f", x of shape {in_shape} -> y of shape {out_shape}")
    if worst.mismatch == math.inf:
        raise AssertionError(
            f"not adjoint: NaN or inf produced, <A x, y> = {worst.forward_inner:.10g} and "
            f"<x, B y> = {worst.adjoint_inner:.10g} ({where})")
    if not worst.mismatch <= tol:
        raise AssertionError(
            f"not adjoint: <A x, y> = {worst.forward_inner:.10g} but <x, B y> = "
            f"{worst.adjoint_inner:.10g}, relative mismatch {worst.mismatch:.3g} > "
            f"rtol={tol:.3g} ({where})")
    return worst.mismatch


# --------------------------------------------------------------------------- probing
def _segment_max(values: np.ndarray, indptr: np.ndarray, fill) -> np.ndarray:
    """Max of each CSR segment ``values[indptr[i]:indptr[i+1]]`` (``fill`` if empty)."""
    out = np.full(indptr.size - 1, fill, dtype=values.dtype)
    nonempty = indptr[:-1] < indptr[1:]
    if values.size:
        out[nonempty] = np.maximum.reduceat(values, indptr[:-1][nonempty])
    return out


def _modular_colours(coords: np.ndarray, spans) -> np.ndarray:
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
    P = _as_pattern(pattern)
    m, n = P.shape
    in_shape = (n,) if in_shape is None else _check_size(in_shape, n, "in_shape", "pattern")
    coords = np.array(np.unravel_index(np.arange(n), in_shape), dtype=np.int64)
    spans = np.ones(len(in_shape), dtype=np.int64)
    for axis, a in enumerate(coords[:, P.indices]):
        extent = _segment_max(a, P.indptr, 0) + _segment_max(-a, P.indptr, 0)  # max - min
        spans[axis] = int(extent.max(initial=0)) + 1
    best = _compact(_modular_colours(coords, spans))
    lower = int(np.diff(P.indptr).max(initial=0))
    if best.max(initial=-1) + 1 > lower:
        greedy = _greedy_colours(P)
        if greedy.max(initial=-1) < best.max(initial=-1):
            best = greedy
    return best


def _compact(colour: np.ndarray) -> np.ndarray:
    return np.unique(colour, return_inverse=True)[1].reshape(-1)


def _as_pattern(pattern) -> csr_array:
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
        dense = np.asarray(pattern)
        if dense.ndim != 2:
            raise ValueError(f"pattern must be 2-D (outputs x inputs), got an array of shape "
                             f"{dense.shape}")
        P = csr_array(dense != 0)
    P.sort_indices()
    return P


def _probe(fmap: _Map, X: np.ndarray) -> np.ndarray:
    return fmap(X).reshape(X.shape[0], -1)


def _chunk(k_total: int, width: int):
    step = max(1, 2**22 // max(width, 1))
    for start in range(0, k_total, step):
        yield start, min(start + step, k_total)


def _colour_probes(colour, start, stop, n, dtype, weights=None):
    X = np.zeros((stop - start, n), dtype=dtype)
    cols = np.flatnonzero((colour >= start) & (colour < stop))
    X[colour[cols] - start, cols] = 1 if weights is None else weights[cols]
    return X


def materialize(f, in_shape, *, pattern=None, receptive_field=None, out_shape=None,
                dtype: DTypeLike = np.float64, batched: bool = False, check: bool = False,
                return_probes: bool = False):
    r"""The exact sparse matrix of a black-box linear function, found by probing it.

    Parameters
    ----------
    f : callable, sparse matrix or LinearOperator
        The linear map. A callable takes an array of shape ``in_shape`` (with ``batched``,
        a stack ``(k, *in_shape)``) and returns the output (a stack ``(k, ...)``).
    in_shape : tuple of int
        Shape of ``f``'s input, e.g. ``(C, *spatial)``.
    pattern : sparse matrix, array_like or TapPattern, optional
        A known superset of the structure, shape ``(m, n)`` (e.g. a builder's matrix, or
        :func:`convmat.conv_taps` without any weight). Columns that share no row are probed
        together, one probe per colour; the result has exactly this structure. An output
        outside it raises ``ValueError``.
    receptive_field : int or tuple of int, optional
        When the structure is not known, a bound on how far apart two inputs that feed the
        same output can be: per spatial axis of ``in_shape = (C, *spatial)`` (channels are
        then probed apart), or per axis including the channels (``1``: the channels never
        mix, as in pooling or depthwise convolution). For a convolution with kernel ``k``
        and dilation ``d`` it is ``d (k - 1) + 1``; for a transposed one with stride ``s``,
        ``ceil((d (k - 1) + 1) / s)``. It must not wrap around (circular padding needs a
        ``pattern``). Each colour takes two probes: ones, and the rank of each input
        within its colour, whose ratio tells which input an output saw; the check probe
        (see ``check``) always runs, since a ratio can name a valid rank by chance when a
        field too small lets an output mix inputs probed together. ``ValueError`` when it
        is too small.
    out_shape : tuple of int, optional
        Checked against ``f``'s output.
    dtype : dtype
        Of the probes (e.g. float32 for a function that only takes float32).
    batched : bool
        ``f`` takes a whole stack of probes at once.
    check : bool
        Spend one more probe, a random input ``z``, and compare ``f(z)`` with ``A @ z``:
        this catches a ``pattern`` or ``receptive_field`` that misses entries in a way the
        probes themselves cannot show (an output that sums several inputs of one colour),
        and a function that is not linear. ``ValueError`` when they differ by more than
        :func:`default_rtol` of the result's dtype. Always on with a ``receptive_field``.
    return_probes : bool
        Also return the number of probes, i.e. of inputs ``f`` was applied to.

    Returns
    -------
    csr_array, shape (m, n)
        In canonical form, in the dtype of ``f``'s outputs. With a ``pattern``: its
        structure exactly (entries ``f`` gives as 0 are kept); otherwise the non-zeros.
    int
        The number of probes, with ``return_probes``: the number of colours with a
        ``pattern``, twice the number of colours plus one with a ``receptive_field``,
        ``n`` without; plus one for ``check``, if not already counted.

    Notes
    -----
    With colours ``c(j)`` such that no row ``i`` has two columns of one colour
    (Curtis, Powell & Reid 1974), probe ``e_c = sum_{c(j) = c} e_j`` gives
    ``(A e_c)_i = A_{ij}`` for the only ``j`` of colour ``c`` in row ``i``: every entry is a
    single product ``A_{ij} * 1``, so the matrix is exact, not an approximation. A
    ``k x k`` convolution needs ``C_in k^2`` probes whatever the image size.

    Examples
    --------
    The seed's 3-tap filter over 5 inputs (zero padding 1): naively 5 probes, 3 with its
    pattern, 7 with a receptive field of 3 (two per colour and the check):

    >>> import numpy as np
    >>> from convmat import conv_matrix
    >>> from convmat.testing import materialize
    >>> f = lambda x: np.convolve(x[0], [3., 2., 1.], mode="same")[None]
    >>> A, probes = materialize(f, (1, 5), return_probes=True)
    >>> A.toarray(), probes
    (array([[2., 3., 0., 0., 0.],
           [1., 2., 3., 0., 0.],
           [0., 1., 2., 3., 0.],
           [0., 0., 1., 2., 3.],
           [0., 0., 0., 1., 2.]]), 5)
    >>> C = conv_matrix(np.ones((1, 1, 3)), (1, 5), padding=1)
    >>> materialize(f, (1, 5), pattern=C, return_probes=True)[1]
    3
    >>> materialize(f, (1, 5), receptive_field=3, return_probes=True)[1]
    7
    """
    in_shape = as_shape(in_shape)
    n = math.prod(in_shape)
    dt = _check_dtype(dtype)
    fmap = _Map(f, in_shape, out_shape, "f", batched=batched)
    if pattern is not None and receptive_field is not None:
        raise ValueError("give either pattern or receptive_field, not both")
    if pattern is not None:
        A, probes = _by_pattern(fmap, _as_pattern(pattern), in_shape, dt)
    elif receptive_field is not None:
        A, probes = _by_receptive_field(fmap, in_shape, receptive_field, dt)
        _check_probe(fmap, A, in_shape, dt, f"receptive_field={receptive_field!r} is too "
                     f"small (pass a larger one or a pattern), or f is not linear")
        probes += 1
        check = False
    else:
        A, probes = _naive(fmap, n, dt)
    if check:
        _check_probe(fmap, A, in_shape, dt, "f is not linear, or it reaches outside the "
                     "pattern given")
        probes += 1
    return (A, probes) if return_probes else A


def _check_probe(fmap: _Map, A: csr_array, in_shape, dt, suspect: str) -> None:
    z = _random(np.random.default_rng(0), (1, *in_shape), dt).reshape(1, -1)
    got = _probe(fmap, z)[0]
    want = A @ z[0]
    # Rounding of f's own sums, bounded by |A| |z|, in f's precision (a float32 map
    # probed in float64 rounds as float32).
    bound = abs(A) @ np.abs(z[0])
    tol = default_rtol(_lowest_precision(got.dtype, A.dtype, dt))
    bad = np.abs(got - want) > tol * (bound + np.abs(got))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"the check probe disagrees with the recovered matrix at output {i} "
            f"(f gives {got[i]:.6g}, the matrix {want[i]:.6g}): {suspect}")


def _canonical(rows, cols, vals, shape) -> csr_array:
    A = csr_array((vals, (rows, cols)), shape=shape)
    A.sum_duplicates()
    return A


def _naive(fmap: _Map, n: int, dt) -> tuple[csr_array, int]:
    rows, cols, vals, m = [], [], [], None
    for start, stop in _chunk(n, n):
        X = np.zeros((stop - start, n), dtype=dt)
        X[np.arange(stop - start), np.arange(start, stop)] = 1
        Y = _probe(fmap, X)
        m = Y.shape[1]
        k, i = np.nonzero(Y)
        rows.append(i), cols.append(k + start), vals.append(Y[k, i])
    dtype = vals[0].dtype if vals else dt
    return _canonical(np.concatenate(rows), np.concatenate(cols),
                      np.concatenate(vals).astype(dtype), (m, n)), n


def _by_pattern(fmap: _Map, P: csr_array, in_shape, dt) -> tuple[csr_array, int]:
    m, n = P.shape
    if n != math.prod(in_shape):
        raise ValueError(f"pattern has {n} columns, but in_shape={in_shape} holds "
                         f"{math.prod(in_shape)} inputs")
    colour = colour_columns(P, in_shape)
    n_colours = int(colour.max(initial=-1)) + 1
    rows = np.repeat(np.arange(m), np.diff(P.indptr))
    entry_colour = colour[P.indices]
    data = None
    for start, stop in _chunk(n_colours, max(m, n)):
        Y = _probe(fmap, _colour_probes(colour, start, stop, n, dt))
        if Y.shape[1] != m:
            raise ValueError(f"pattern has {m} rows, but f returned {Y.shape[1]} values")
        if data is None:
            data = np.zeros(P.nnz, dtype=np.result_type(Y.dtype, dt))
        here = (entry_colour >= start) & (entry_colour < stop)
        allowed = np.zeros(Y.shape, dtype=bool)
        allowed[entry_colour[here] - start, rows[here]] = True
        outside = (Y != 0) & ~allowed
        if outside.any():
            k, i = np.argwhere(outside)[0]
            raise ValueError(
                f"f is not confined to pattern: output {i} depends on an input of colour "
                f"{k + start}, but the pattern has no entry there; pass a larger pattern")
        data[here] = Y[entry_colour[here] - start, rows[here]]
    if data is None:
        data = np.zeros(0, dtype=dt)
    A = csr_array((data, P.indices.copy(), P.indptr.copy()), shape=(m, n))
    A.has_sorted_indices = True
    A.has_canonical_format = True
    return A, n_colours


def _by_receptive_field(fmap: _Map, in_shape, receptive_field, dt) -> tuple[csr_array, int]:
    nd = len(in_shape)
    if isinstance(receptive_field, (int, np.integer)) and not isinstance(receptive_field, bool):
        spans = (in_shape[0],) + (int(receptive_field),) * (nd - 1)
    else:
        spans = tuple(int(v) for v in receptive_field)
        if len(spans) == nd - 1:
            spans = (in_shape[0],) + spans
        if len(spans) != nd:
            raise ValueError(
                f"receptive_field must be an integer, or one per spatial axis ({nd - 1}) or per "
                f"axis ({nd}) of in_shape={in_shape}, got receptive_field={receptive_field!r}")
    if any(s < 1 for s in spans):
        raise ValueError(f"receptive_field must be positive, got "
                         f"receptive_field={receptive_field!r}")
    spans = tuple(min(s, max(L, 1)) for s, L in zip(spans, in_shape))
    n = math.prod(in_shape)
    coords = np.array(np.unravel_index(np.arange(n), in_shape), dtype=np.int64)
    colour = _compact(_modular_colours(coords, spans)) if n else np.zeros(0, np.int64)
    n_colours = int(colour.max(initial=-1)) + 1
    order = np.argsort(colour, kind="stable")
    counts = np.bincount(colour, minlength=n_colours)
    starts = np.cumsum(counts) - counts
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    rows, cols, vals, m = [], [], [], 0
    for start, stop in _chunk(n_colours, n):
        ones = _probe(fmap, _colour_probes(colour, start, stop, n, dt))
        ranks = _probe(fmap, _colour_probes(colour, start, stop, n, dt, weights=rank + 1.0))
        m = ones.shape[1]
        # One input per output and colour gives ranks == 0 wherever ones == 0; inputs
        # probed together can cancel in ones, not in ranks.
        cancelled = (ones == 0) & (ranks != 0)
        k, i = np.nonzero(ones)
        ratio = ranks[k, i] / ones[k, i]
        pick = np.rint(ratio.real).astype(np.int64)
        c = k + start
        bad = (np.abs(ratio - pick) > 0.25) | (pick < 1) | (pick > counts[c])
        if bad.any() or cancelled.any():
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                out, col = i[j], c[j]
            else:
                kk, out = np.argwhere(cancelled)[0]
                col = kk + start
            raise ValueError(
                f"receptive_field={receptive_field!r} is too small: output {out} mixes "
                f"several inputs probed together (colour {col}); pass a larger one or a "
                f"pattern")
        rows.append(i), cols.append(order[starts[c] + pick - 1]), vals.append(ones[k, i])
    vals = np.concatenate(vals) if vals else np.zeros(0, dt)
    return _canonical(np.concatenate(rows), np.concatenate(cols), vals, (m, n)), 2 * n_colours
