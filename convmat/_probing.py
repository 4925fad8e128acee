r"""Linear maps as convmat.testing sees them, and probing: a black-box map's exact matrix.

Private (the public names live in :mod:`convmat.testing`). :class:`_Map` applies a sparse
matrix, a 2-D array, a ``LinearOperator``, a numpy callable or a torch callable (imported
only when one is met) to a stack of numpy probes, and checks what comes back.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
from numpy.typing import DTypeLike
from scipy import sparse
from scipy.sparse import csr_array
from scipy.sparse.linalg import LinearOperator

from ._args import _from_tensor, as_bool, as_shape, is_int
from ._colouring import as_pattern, colour_columns, compact, modular_colours, shape_holding
from ._sparse import Budget

__all__ = ["colour_columns", "default_rtol", "materialize"]


# --------------------------------------------------------------------------- dtypes
def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"dtype must be a numpy floating dtype (float32, float64, complex64, "
                        f"complex128), got dtype={dtype!r}") from None
    if dt.kind not in "fc":
        raise ValueError(f"dtype must be a real or complex floating type (float32, float64, "
                         f"complex64, complex128), got dtype={dt}")
    return dt


def _lowest_precision(*dtypes) -> np.dtype:
    """The floating dtype with the largest machine epsilon among ``dtypes`` (others, e.g.
    integers, are skipped): the precision a comparison of their results can expect."""
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind in "fc"]
    return max(floats, key=lambda d: np.finfo(d).eps)


def default_rtol(dtype: DTypeLike) -> float:
    """``assert_adjoint``'s default tolerance: ``sqrt(eps)`` of the dtype's precision.

    >>> default_rtol(np.float64) < 1e-7 < default_rtol(np.float32) < 1e-3
    True
    """
    return float(np.sqrt(np.finfo(_check_dtype(dtype)).eps))


def _random(rng: np.random.Generator, shape, dtype: np.dtype) -> np.ndarray:
    """Standard normal values; complex ones with unit variance, ``(a + ib) / sqrt(2)``."""
    if dtype.kind == "c":
        z = rng.standard_normal((2, *shape)) / np.sqrt(2)
        return (z[0] + 1j * z[1]).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- linear maps
def _is_matrix(obj) -> bool:
    return (sparse.issparse(obj) or isinstance(obj, LinearOperator)
            or (isinstance(obj, np.ndarray) and obj.ndim == 2))


def _is_tensor(obj) -> bool:
    return type(obj).__module__.startswith("torch") and all(
        callable(getattr(obj, a, None)) for a in ("detach", "cpu", "numpy"))


def is_torch_module(obj) -> bool:
    """An ``nn.Module``, told by its class hierarchy (torch is not imported here)."""
    return any(c.__name__ == "Module" and c.__module__ == "torch.nn.modules.module"
               for c in type(obj).__mro__)


def _module_dtype(f):
    """The floating dtype of a module's parameters (a float32 layer takes float32)."""
    for p in f.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


class _Refused(TypeError):
    """convmat's own refusal from inside a map (passed on as it is, not wrapped)."""


class _Map:
    """A linear map applied to stacks ``(k, *in_shape) -> (k, *out_shape)``.

    A callable is called on numpy arrays; an ``nn.Module``, or a function that fails on a
    numpy array but takes a tensor (tried once, when torch is already imported), is called
    on tensors (``torch`` is then ``True``). Whatever comes back (an array, a tensor that
    requires grad, a list) must be numbers of one size on every call.
    """

    def __init__(self, f, in_shape, out_shape, name: str, *, batched: bool = False):
        self.name, self.f, self.batched, self.torch = name, f, batched, False
        self.given_out = True  # a matrix's shape is its own
        self.matrix = _is_matrix(f)
        if self.matrix:
            what = f"{name} of shape {f.shape}"
            self.in_shape = shape_holding(in_shape, f.shape[1], "in_shape", what)
            self.out_shape = shape_holding(out_shape, f.shape[0], "out_shape", what)
        elif callable(f):
            if in_shape is None:
                raise TypeError(f"in_shape is needed when {name} is a callable: the shape of "
                                f"the arrays it takes")
            self.in_shape = as_shape(in_shape, "in_shape")
            self.out_shape = None if out_shape is None else as_shape(out_shape, "out_shape")
            self.given_out = out_shape is not None
            self.torch = is_torch_module(f)
        else:
            raise TypeError(f"{name} must be a sparse matrix, a 2-D array, a scipy "
                            f"LinearOperator or a callable (numpy or torch), got "
                            f"{type(f).__name__}")

    # The probes are numpy; a torch callable gets them as tensors, without autograd.
    def _call_torch(self, x: np.ndarray):
        import torch

        t = torch.from_numpy(np.ascontiguousarray(x))
        if is_torch_module(self.f):
            dt = _module_dtype(self.f)
            if dt is not None and not t.is_complex():
                t = t.to(dt)
        with torch.no_grad():
            return self.f(t)

    def _call(self, x: np.ndarray):
        try:
            if self.torch:
                return self._call_torch(x)
            try:
                return self.f(x)
            except Exception:
                if "torch" not in sys.modules:
                    raise
                try:  # a function of tensors: F.conv2d refuses a numpy array
                    with warnings.catch_warnings():  # a numpy function fed a tensor warns
                        warnings.simplefilter("ignore", DeprecationWarning)
                        out = self._call_torch(x)
                except Exception:
                    pass
                else:
                    self.torch = True
                    return out
                raise
        except _Refused:
            raise
        except Exception as err:  # the usual cause: an in_shape the function cannot take
            raise ValueError(
                f"{self.name} raised {type(err).__name__} on an input of shape "
                f"{tuple(x.shape)} (in_shape={self.in_shape}{', batched' if self.batched else ''}"
                f"): {err}") from err

    def _output(self, value, k: int | None) -> np.ndarray:
        """``value`` as a numpy array: one output (``k=None``) or a stack of ``k``."""
        shape = self.in_shape if k is None else (k, *self.in_shape)
        if value is None or isinstance(value, (str, bytes)) or not (
                _is_tensor(value) or isinstance(value, (np.ndarray, np.generic, list,
                                                        tuple, int, float, complex))):
            raise TypeError(f"{self.name} must return an array of numbers (numpy or torch), "
                            f"got {type(value).__name__} {value!r:.60} for an input of shape "
                            f"{shape}")
        try:
            Y = np.asarray(_from_tensor(value) if _is_tensor(value) else value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{self.name} must return an array of numbers, got a "
                            f"{type(value).__name__} numpy cannot read ({err})") from None
        if Y.dtype.kind not in "biufc":
            raise TypeError(f"{self.name} must return numbers, got an array of dtype "
                            f"{Y.dtype} for an input of shape {shape}")
        if Y.dtype.kind in "biu":
            Y = Y.astype(np.float64)
        if k is not None and (Y.ndim == 0 or Y.shape[0] != k):
            raise ValueError(f"{self.name} is batched: it must return a stack of {k} outputs "
                             f"for a stack of {k} inputs, got shape {Y.shape}")
        one = Y.shape if k is None else Y.shape[1:]
        if self.out_shape is None:
            self.out_shape = tuple(one)
        elif math.prod(one) != math.prod(self.out_shape):
            expected = (f"but out_shape={self.out_shape} holds {math.prod(self.out_shape)}"
                        if self.given_out else f"{math.prod(self.out_shape)} (shape "
                        f"{self.out_shape}) on an earlier call: a linear map has one output "
                        f"size")
            raise ValueError(f"{self.name} returned {math.prod(one)} values for an input of "
                             f"shape {self.in_shape}, {expected}")
        return Y.reshape(-1) if k is None else Y.reshape(k, -1)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        k = X.shape[0]
        X = X.reshape(k, *self.in_shape)
        if self.matrix:
            flat = X.reshape(k, -1).T
            Y = self.f.matmat(flat) if isinstance(self.f, LinearOperator) else self.f @ flat
            return np.asarray(Y).T.reshape(k, *self.out_shape)
        if self.batched:
            Y = self._output(self._call(X), k)
        else:
            Y = np.stack([self._output(self._call(x), None) for x in X])
        return Y.reshape(k, *self.out_shape)


# --------------------------------------------------------------------------- probing
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


def _receptive_spans(receptive_field, in_shape) -> tuple[int, ...]:
    nd = len(in_shape)
    given = receptive_field
    if is_int(receptive_field):
        spans = (in_shape[0],) + (int(receptive_field),) * (nd - 1)
    elif isinstance(receptive_field, (tuple, list, np.ndarray)) and all(
            is_int(v) for v in np.ravel(np.asarray(receptive_field, dtype=object))):
        spans = tuple(int(v) for v in np.ravel(np.asarray(receptive_field, dtype=object)))
        if len(spans) == nd - 1:
            spans = (in_shape[0],) + spans
        if len(spans) != nd:
            raise ValueError(
                f"receptive_field must be an integer, or one per spatial axis ({nd - 1}) or "
                f"per axis ({nd}) of in_shape={in_shape}, got receptive_field={given!r}")
    else:
        raise TypeError(f"receptive_field must be an integer or a tuple of integers, got "
                        f"receptive_field={given!r}")
    if any(s < 1 for s in spans):
        raise ValueError(f"receptive_field must be positive, got receptive_field={given!r}")
    return tuple(min(s, max(L, 1)) for s, L in zip(spans, in_shape))


def materialize(f, in_shape, *, pattern=None, receptive_field=None, out_shape=None,
                dtype: DTypeLike = np.float64, batched: bool = False, check: bool = True,
                return_probes: bool = False, max_entries: int | None = None):
    r"""The exact sparse matrix of a black-box linear function, found by probing it.

    Parameters
    ----------
    f : callable, sparse matrix or LinearOperator
        The linear map. A callable takes an array of shape ``in_shape`` (with ``batched``,
        a stack ``(k, *in_shape)``) and returns the output (a stack ``(k, ...)``); a torch
        callable (an ``nn.Module``, or a function of tensors) gets tensors.
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
        always runs, since a ratio can name a valid rank by chance when a field too small
        lets an output mix inputs probed together. ``ValueError`` when it is too small.
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
        and a function that is not linear (an affine map, a ReLU). ``ValueError`` when they
        differ by more than :func:`default_rtol` of the result's dtype. On by default;
        always on with a ``receptive_field``.
    return_probes : bool
        Also return the number of probes, i.e. of inputs ``f`` was applied to.
    max_entries : int, optional
        Refuse, before probing, a result (or probe) of more stored entries than this
        (default :func:`convmat.get_max_entries`).

    Returns
    -------
    csr_array, shape (m, n)
        In canonical form, in the dtype of ``f``'s outputs. With a ``pattern``: its
        structure exactly (entries ``f`` gives as 0 are kept); otherwise the non-zeros.
    int
        The number of probes, with ``return_probes``: the number of colours with a
        ``pattern``, twice the number of colours with a ``receptive_field``, ``n``
        without; plus one for the check.

    Notes
    -----
    With colours ``c(j)`` such that no row ``i`` has two columns of one colour
    (Curtis, Powell & Reid 1974), probe ``e_c = sum_{c(j) = c} e_j`` gives
    ``(A e_c)_i = A_{ij}`` for the only ``j`` of colour ``c`` in row ``i``: every entry is a
    single product ``A_{ij} * 1``, so the matrix is exact, not an approximation. A
    ``k x k`` convolution needs ``C_in k^2`` probes whatever the image size.

    Examples
    --------
    The 3-tap filter of *Unsampling: Unpooling and Transpose Convolution* over 5 inputs
    (zero padding 1): naively 5 probes and the check, 3 and the check with its pattern, 7
    with a receptive field of 3 (two per colour and the check):

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
           [0., 0., 0., 1., 2.]]), 6)
    >>> A.T.toarray()[0]
    array([2., 1., 0., 0., 0.])
    >>> C = conv_matrix(np.ones((1, 1, 3)), (1, 5), padding=1)
    >>> materialize(f, (1, 5), pattern=C, return_probes=True)[1]
    4
    >>> materialize(f, (1, 5), receptive_field=3, return_probes=True)[1]
    7
    """
    in_shape = as_shape(in_shape, "in_shape")
    dt = _check_dtype(dtype)
    batched, check = as_bool(batched, "batched"), as_bool(check, "check")
    return_probes = as_bool(return_probes, "return_probes")
    if pattern is not None and receptive_field is not None:
        raise ValueError("give either pattern or receptive_field, not both")
    fmap = _Map(f, in_shape, out_shape, "f", batched=batched)
    budget = Budget("materialize", "pattern= or receptive_field= (fewer probes), or the "
                    "function itself as a scipy LinearOperator", dt.itemsize, max_entries)
    A, probes = probe_matrix(fmap, dt, budget, pattern=pattern,
                             receptive_field=receptive_field, check=check)
    return (A, probes) if return_probes else A


def probe_matrix(fmap: _Map, dt: np.dtype, budget: Budget, *, pattern=None,
                 receptive_field=None, check: bool = True) -> tuple[csr_array, int]:
    """:func:`materialize` on a :class:`_Map` (the adjoint of :func:`adjoint_mismatch`)."""
    in_shape = fmap.in_shape
    n = math.prod(in_shape)
    if n == 0:
        if fmap.matrix:  # the shape is the matrix's own: blame the matrix
            raise ValueError(f"{fmap.name} of shape {fmap.f.shape} has no columns: there is "
                             f"no input to probe")
        name = "out_shape" if fmap.name == "adjoint" else "in_shape"
        raise ValueError(f"{name}={in_shape} holds no values: there is no input to probe")
    # One probe holds n values: refuse before the first one exists.
    budget.check_values(n, f"every probe of {budget.what}",
                        f"{'out_shape' if fmap.name == 'adjoint' else 'in_shape'}={in_shape}")
    if pattern is not None:
        P = as_pattern(pattern)
        budget.check(P.nnz, P.shape[0])
        A, probes = _by_pattern(fmap, P, in_shape, dt)
    elif receptive_field is not None:
        spans = _receptive_spans(receptive_field, in_shape)
        A, probes = _by_receptive_field(fmap, in_shape, spans, receptive_field, dt, budget)
        check = True
    else:
        A, probes = _naive(fmap, n, dt, budget)
    if check:
        f = fmap.name
        suspect = (f"{f} is not linear, or it reaches outside the pattern given"
                   if receptive_field is None else
                   f"receptive_field={receptive_field!r} is too small (pass a larger one or "
                   f"a pattern), or {f} is not linear")
        _check_probe(fmap, A, in_shape, dt, suspect)
        probes += 1
    return A, probes


def _check_probe(fmap: _Map, A: csr_array, in_shape, dt, suspect: str) -> None:
    z = _random(np.random.default_rng(0), (1, *in_shape), dt).reshape(1, -1)
    got = _probe(fmap, z)[0]
    want = A @ z[0]
    # Rounding of f's own sums, bounded by |A| |z|, in f's precision (a float32 map
    # probed in float64 rounds as float32).
    bound = abs(A) @ np.abs(z[0])
    tol = default_rtol(_lowest_precision(got.dtype, A.dtype, dt))
    bad = ~(np.abs(got - want) <= tol * (bound + np.abs(got)))  # NaN counts as bad
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"the check probe disagrees with the recovered matrix at output {i} "
            f"(f gives {got[i]:.6g}, the matrix {want[i]:.6g}): {suspect}")


def _canonical(rows, cols, vals, shape) -> csr_array:
    A = csr_array((vals, (rows, cols)), shape=shape)
    A.sum_duplicates()
    return A


def _naive(fmap: _Map, n: int, dt, budget: Budget) -> tuple[csr_array, int]:
    rows, cols, vals, m, stored = [], [], [], None, 0
    for start, stop in _chunk(n, n):
        X = np.zeros((stop - start, n), dtype=dt)
        X[np.arange(stop - start), np.arange(start, stop)] = 1
        Y = _probe(fmap, X)
        m = Y.shape[1]
        k, i = np.nonzero(Y)
        stored += k.size
        budget.check(stored, m)  # before the pieces are kept and assembled
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
                f"{fmap.name} is not confined to pattern: output {i} depends on an input "
                f"of colour {k + start}, but the pattern has no entry there; pass a larger pattern")
        data[here] = Y[entry_colour[here] - start, rows[here]]
    if data is None:
        data = np.zeros(0, dtype=dt)
    A = csr_array((data, P.indices.copy(), P.indptr.copy()), shape=(m, n))
    A.has_sorted_indices = True
    A.has_canonical_format = True
    return A, n_colours


def _by_receptive_field(fmap: _Map, in_shape, spans, receptive_field, dt,
                        budget: Budget) -> tuple[csr_array, int]:
    n = math.prod(in_shape)
    coords = np.array(np.unravel_index(np.arange(n), in_shape), dtype=np.int64)
    colour = compact(modular_colours(coords, spans)) if n else np.zeros(0, np.int64)
    n_colours = int(colour.max(initial=-1)) + 1
    order = np.argsort(colour, kind="stable")
    counts = np.bincount(colour, minlength=n_colours)
    starts = np.cumsum(counts) - counts
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    rows, cols, vals, m, stored = [], [], [], 0, 0
    for start, stop in _chunk(n_colours, n):
        ones = _probe(fmap, _colour_probes(colour, start, stop, n, dt))
        ranks = _probe(fmap, _colour_probes(colour, start, stop, n, dt, weights=rank + 1.0))
        m = ones.shape[1]
        stored += int(np.count_nonzero(ones))
        budget.check(stored, m)
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
