r"""Adjoint testing and probing: is this the adjoint, where is it wrong, what is this matrix?

:func:`dottest` / :func:`assert_adjoint` run the dot-product test: for random ``x`` and
``y``, a map ``A`` and a claimed adjoint ``B`` must give ``<A x, y> == <x, B y>``. It is the
test every operator in convmat passes (a transposed convolution against its convolution, a
matrix-free operator's ``rmatvec`` against its ``matvec``, torch's ops against our
matrices) and it catches the classic mistakes of hand-written adjoints: a flipped kernel,
a wrong ``output_padding``, padding off by one, forgotten ``groups``, a missing scale.
A torch callable (an ``nn.Module`` or a function of tensors) needs no adjoint: its own
backward (the vector-Jacobian product) is the adjoint tested, so a custom
``autograd.Function`` with a wrong ``backward`` fails. A map that is not linear is refused
first, with its own message: it has no adjoint to be wrong about.

:func:`adjoint_mismatch` says *where* an adjoint is wrong: it recovers both matrices and
points at the worst input and output. :func:`materialize` recovers the exact sparse matrix
of a black-box linear function by probing it with sums of unit vectors, few probes when the
sparsity is known or bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import DTypeLike
from scipy import sparse
from scipy.sparse import csr_array
from scipy.sparse.linalg import LinearOperator

from ._args import as_bool, as_int, is_int, is_real
from ._probing import (
    _check_dtype,
    _is_matrix,
    _is_tensor,
    _lowest_precision,
    _Map,
    _module_dtype,
    _random,
    _Refused,
    colour_columns,
    default_rtol,
    is_torch_module,
    materialize,
    probe_matrix,
)
from ._sparse import Budget

__all__ = ["AdjointMismatch", "DotTrial", "adjoint_mismatch", "assert_adjoint",
           "colour_columns", "default_rtol", "dottest", "materialize"]

for _f in (colour_columns, default_rtol, materialize):
    _f.__module__ = __name__  # their public home


# --------------------------------------------------------------------------- arguments
def _as_rng(rng) -> np.random.Generator:
    if rng is None or isinstance(rng, (np.random.Generator, np.random.BitGenerator,
                                       np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if is_int(rng):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative seed, got rng={rng!r}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, a non-negative integer seed or a "
                    f"numpy.random.Generator, got rng={rng!r}")


def _as_rtol(rtol) -> float | None:
    if rtol is None:
        return None
    if not is_real(rtol):
        raise TypeError(f"rtol must be a real number, got rtol={rtol!r}")
    if not 0 < float(rtol) < math.inf:  # also refuses nan
        raise ValueError(f"rtol must be positive and finite (0 would demand bit-exact "
                         f"rounding), got rtol={rtol!r}")
    return float(rtol)


def _maps(forward, adjoint, in_shape, out_shape, dt: np.dtype, batched: bool = False):
    """The forward and adjoint maps, both checked linear (a matrix is by construction;
    torch's backward is the adjoint of forward's linearisation, linear once forward is)."""
    fwd = _Map(forward, in_shape, out_shape, "forward", batched=batched)
    if not (sparse.issparse(forward) or isinstance(forward, np.ndarray)):
        _check_linear(fwd, dt)
    if adjoint is None:
        if isinstance(forward, LinearOperator):
            adjoint = forward.H
        elif _is_matrix(forward):
            adjoint = forward.conj().T
        else:
            adjoint = _torch_adjoint(fwd, dt)
    elif not (sparse.issparse(adjoint) or isinstance(adjoint, np.ndarray)):
        adj = _Map(adjoint, fwd.out_shape, fwd.in_shape, "adjoint")
        _check_linear(adj, dt)
        return fwd, adj
    return fwd, _Map(adjoint, fwd.out_shape, fwd.in_shape, "adjoint")


def _check_linear(fmap: _Map, dt: np.dtype) -> None:
    """Additivity and homogeneity on random inputs, before any adjoint is judged."""
    rng = np.random.default_rng(20260)  # apart from the trials' rng: their draws stay put
    x, y = _random(rng, (2, *fmap.in_shape), dt)
    a = dt.type(0.6 + 0.8j) if dt.kind == "c" else dt.type(-1.75)
    fx, fy, fxy, fax = fmap(np.stack([x, y, x + y, a * x])).reshape(4, -1)
    if not all(np.isfinite(v).all() for v in (fx, fy, fxy, fax)):
        return  # NaN or inf: the dot test reports it as such (inf mismatch)
    tol = 8 * default_rtol(_lowest_precision(dt, fx.dtype))
    for what, err, size in [
            ("f(x + y) != f(x) + f(y)", fxy - fx - fy, [fx, fy, fxy]),
            (f"f(a x) != a f(x) for a = {a:.3g}", fax - a * fx, [fax, a * fx])]:
        scale = sum(float(np.linalg.norm(v)) for v in size)
        gap = float(np.linalg.norm(err))
        if not gap <= tol * scale:  # NaN is not linear either
            raise ValueError(
                f"{fmap.name} is not linear: {what} (relative difference "
                f"{gap / scale if scale else math.inf:.3g} > {tol:.3g}) on random inputs of "
                f"shape {fmap.in_shape}; an adjoint exists only for a linear map (a bias or "
                f"an activation makes it affine or non-linear)")


def _torch_adjoint(fmap: _Map, dtype: np.dtype):
    """torch's own backward as the adjoint of a torch callable: ``y -> J^H y``, the
    vector-Jacobian product ``torch.autograd.grad(f(x), x, y)`` (at ``x = 0``: a linear
    map's Jacobian is the same everywhere)."""
    try:
        import torch
    except ImportError:
        raise _Refused("adjoint must be given when forward is a callable: only a matrix, "
                        "a LinearOperator or a torch callable (with torch installed) knows "
                        "its own adjoint") from None

    def adjoint(y: np.ndarray):
        x = torch.zeros(fmap.in_shape, dtype=getattr(torch, dtype.name), requires_grad=True)
        if is_torch_module(fmap.f):
            dt = _module_dtype(fmap.f)
            x = x.detach().to(dt if dt is not None and not x.is_complex() else x.dtype)
            x.requires_grad_(True)
        try:
            out = fmap.f(x)
        except Exception as err:
            raise _Refused(
                f"adjoint must be given when forward is not a torch callable: with no "
                f"adjoint, forward's backward is the adjoint, but forward failed on a tensor "
                f"({type(err).__name__}: {err})") from None
        if not _is_tensor(out) or not out.requires_grad:
            raise _Refused(
                f"adjoint must be given: forward returned {type(out).__name__}"
                f"{'' if not _is_tensor(out) else ' not attached to its input'} for a "
                f"tensor that requires grad, so torch has no backward to test (it left torch, "
                f"e.g. through .numpy())")
        g = torch.as_tensor(np.ascontiguousarray(y)).reshape(out.shape).to(out.dtype)
        (grad,) = torch.autograd.grad(out, x, grad_outputs=g, allow_unused=True)
        return torch.zeros_like(x) if grad is None else grad

    return adjoint


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
    trials = as_int(trials, "trials", at_least=1, at_most=10**6)
    rng = _as_rng(rng)
    fwd, adj = _maps(forward, adjoint, in_shape, out_shape, dt)
    results = []
    precision = dt
    for trial in range(trials):
        x = _random(rng, fwd.in_shape, dt)
        ax = fwd(x[None])[0]
        y = _random(rng, fwd.out_shape, dt)
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
        The map ``A``. A callable takes one array of shape ``in_shape`` and returns one
        array; a torch callable (an ``nn.Module``, or a function of tensors) is given
        tensors, and what it returns may be a tensor (``requires_grad`` or not).
    adjoint : same kinds, optional
        The claimed adjoint ``B``; by default ``A^H`` of a matrix (``A.conj().T``) or of a
        ``LinearOperator`` (``A.H``, i.e. its ``rmatvec``), and for a torch callable its
        backward: the vector-Jacobian product ``torch.autograd.grad(A(x), x, y)``. Required
        for a numpy callable. A matrix given here is used as it is (e.g.
        ``conv_transpose_matrix`` as the adjoint of ``conv_matrix``).
    in_shape, out_shape : tuple of int, optional
        Shapes of ``x`` and ``y``. ``in_shape`` is required for a callable; ``out_shape`` is
        found by calling ``forward`` when not given.
    dtype : dtype
        Of the random ``x`` and ``y``: float32, float64, complex64 or complex128 (an
        ``nn.Module`` with real parameters gets its parameters' dtype).
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

    Raises
    ------
    ValueError
        ``"forward is not linear: ..."`` (or ``adjoint``) when additivity or homogeneity
        fails on random inputs: checked first, so a bias or a ReLU is never reported as a
        wrong adjoint.

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
    >>> C.toarray(), C.T.toarray()[:, 0]
    (array([[1., 2., 3., 0., 0.],
           [0., 1., 2., 3., 0.],
           [0., 0., 1., 2., 3.]]), array([1., 2., 3., 0., 0.]))
    """
    verbose = as_bool(verbose, "verbose")
    results, *_ = _trials(forward, adjoint, in_shape, out_shape, dtype, trials, rng)
    if verbose:
        for r in results:
            print(f"trial {r.trial}: <A x, y> = {r.forward_inner:.6g}, <x, A^H y> = "
                  f"{r.adjoint_inner:.6g}, relative mismatch {r.mismatch:.3g}")
    return max(r.mismatch for r in results)


def assert_adjoint(forward, adjoint=None, *, in_shape=None, out_shape=None,
                   dtype: DTypeLike = np.float64, trials: int = 3, rng=None,
                   rtol: float | None = None) -> float:
    """Raise ``AssertionError`` unless ``adjoint`` is the adjoint of ``forward``.

    Parameters
    ----------
    forward, adjoint, in_shape, out_shape, dtype, trials, rng
        As for :func:`dottest` (a torch callable needs no ``adjoint``: its backward is it).
    rtol : float, optional
        Largest relative mismatch allowed, at least the machine epsilon of the precision
        the test runs in (a smaller one is refused: rounding alone would fail an exact
        adjoint); default :func:`default_rtol` of the
        lowest precision among ``dtype`` and the dtypes of ``A x`` and ``B y`` (about
        1.5e-8 for float64 and complex128, 3.5e-4 for float32 and complex64): a float32 map
        is only adjoint to float32 rounding, even when probed in float64.

    Returns
    -------
    float
        The largest relative mismatch, when it passes.

    Raises
    ------
    AssertionError
        With both inner products, the mismatch, the tolerance, the trial, the dtype and the
        shapes of the worst trial; saying so when a map produced a NaN or an infinity.
    ValueError
        When ``forward`` (or a callable ``adjoint``) is not linear, before any inner
        product: see :func:`dottest`.

    Notes
    -----
    The mismatch is :func:`dottest`'s; see there for the formula.
    :func:`adjoint_mismatch` then says where the two maps differ.

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
    tol = _as_rtol(rtol)
    results, in_shape, out_shape, dt, precision = _trials(forward, adjoint, in_shape,
                                                          out_shape, dtype, trials, rng)
    eps = float(np.finfo(precision).eps)
    if tol is not None and tol < eps:  # rounding alone would fail an exact adjoint
        raise ValueError(f"rtol={rtol!r} is below the rounding of {precision} (eps "
                         f"{eps:.3g}): no floating-point dot test can meet it; pass "
                         f"rtol >= {eps:.3g}, or None for the default")
    tol = default_rtol(precision) if tol is None else tol
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


# --------------------------------------------------------------------------- where
@dataclass(frozen=True, eq=False)
class AdjointMismatch:
    """Where a claimed adjoint ``B`` differs from ``A^H``: see :func:`adjoint_mismatch`.

    Attributes
    ----------
    difference : csr_array, shape (n, m)
        ``B - A^H`` (``B - A.T`` for a real map), explicit zeros dropped: row ``i`` is input
        ``i`` (an output of ``B``), column ``j`` output ``j`` of ``A``.
    forward_matrix, adjoint_matrix : csr_array
        ``A`` (``m x n``) and ``B`` (``n x m``), recovered exactly by probing.
    in_shape, out_shape : tuple of int
    tolerance : float
        Entries of ``difference`` up to this are rounding (``default_rtol`` of the maps'
        precision times their largest entry).
    """

    difference: csr_array
    forward_matrix: csr_array
    adjoint_matrix: csr_array
    in_shape: tuple
    out_shape: tuple
    tolerance: float

    @cached_property
    def _abs(self) -> csr_array:
        return abs(self.difference)

    @property
    def max_abs(self) -> float:
        """The largest ``|B - A^H|`` entry."""
        return float(self._abs.max()) if self._abs.nnz else 0.0

    @property
    def ok(self) -> bool:
        """``B`` is ``A^H`` to rounding."""
        return self.max_abs <= self.tolerance

    @cached_property
    def _worst(self):
        if not self._abs.nnz:
            return None
        k = int(np.argmax(self._abs.data))
        i = int(np.searchsorted(self._abs.indptr, k, side="right") - 1)
        return i, int(self._abs.indices[k])

    def _position(self, flat: int, shape) -> tuple[int, ...]:
        return tuple(int(v) for v in np.unravel_index(flat, shape))

    @property
    def worst_input(self) -> tuple[int, ...] | None:
        """``(channel, *index)`` of the input (row of ``B``) at the worst entry."""
        return None if self._worst is None else self._position(self._worst[0], self.in_shape)

    @property
    def worst_output(self) -> tuple[int, ...] | None:
        """``(channel, *index)`` of the output (column of ``B``) at the worst entry."""
        return None if self._worst is None else self._position(self._worst[1],
                                                               self.out_shape)

    @cached_property
    def input_error(self) -> np.ndarray:
        """``max_j |B - A^H|_{ij}`` per input ``i``, shaped like the input."""
        return _segment_max(self._abs).reshape(self.in_shape)

    @cached_property
    def output_error(self) -> np.ndarray:
        """``max_i |B - A^H|_{ij}`` per output ``j``, shaped like the output."""
        return _segment_max(csr_array(self._abs.T)).reshape(self.out_shape)

    def __str__(self) -> str:
        if self._worst is None or self.ok:
            return (f"adjoint matches: max |B - A^H| = {self.max_abs:.3g} <= tolerance "
                    f"{self.tolerance:.3g} (x of shape {self.in_shape} -> y of shape "
                    f"{self.out_shape})")
        i, j = self._worst
        b = self.adjoint_matrix[[i], :][:, [j]].toarray()[0, 0]
        a = np.conj(self.forward_matrix[[j], :][:, [i]].toarray()[0, 0])
        bad_in = int(np.count_nonzero(self.input_error > self.tolerance))
        bad_out = int(np.count_nonzero(self.output_error > self.tolerance))
        return (f"adjoint mismatch: max |B - A^H| = {self.max_abs:.6g} (tolerance "
                f"{self.tolerance:.3g}) at input {self.worst_input} <- output "
                f"{self.worst_output}, where B holds {b:.6g} and A^H holds {a:.6g}; "
                f"{bad_in} of {self.input_error.size} inputs and {bad_out} of "
                f"{self.output_error.size} outputs differ (x of shape {self.in_shape} -> "
                f"y of shape {self.out_shape})")

    def plot(self, ax=None):
        """Draw where ``B`` and ``A^H`` differ (matplotlib, imported here).

        With ``ax``: the difference's sparsity (inputs down, outputs across), the worst
        entry circled; returns ``ax``. Without: that beside maps of the per-input and
        per-output error over the sample grid (the largest over channels); returns the
        Figure.
        """
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes

        if ax is not None and not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes (or None for a new figure), got "
                            f"ax={ax!r}")
        if ax is not None:
            _plot_difference(self, ax)
            return ax
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
        _plot_difference(self, axes[0])
        _plot_error_map(axes[1], self.input_error, "input", self.worst_input)
        _plot_error_map(axes[2], self.output_error, "output", self.worst_output)
        fig.suptitle(f"adjoint mismatch: max |B - A^H| = {self.max_abs:.3g}")
        fig.tight_layout()
        return fig


def _segment_max(M: csr_array) -> np.ndarray:
    out = np.zeros(M.shape[0])
    rows = np.flatnonzero(np.diff(M.indptr))
    if rows.size:
        out[rows] = np.maximum.reduceat(M.data, M.indptr[rows])
    return out


def _plot_difference(mm: AdjointMismatch, ax) -> None:
    D = mm._abs.tocoo()
    big = D.data > mm.tolerance
    ax.scatter(D.col[big], D.row[big], c=D.data[big], s=6, marker="s", cmap="viridis")
    if mm._worst is not None:
        i, j = mm._worst
        ax.scatter([j], [i], s=160, facecolors="none", edgecolors="red", linewidths=2,
                   label=f"worst: input {mm.worst_input} <- output {mm.worst_output}")
        ax.legend(loc="upper right", fontsize="small")
    n, m = mm.difference.shape
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("output index j (column of B)")
    ax.set_ylabel("input index i (row of B)")
    ax.set_title(f"B - A^H: {int(big.sum())} entries beyond {mm.tolerance:.2g}")


def _plot_error_map(ax, err: np.ndarray, what: str, worst) -> None:
    if err.ndim >= 3:  # (C, ..., H, W): the largest over channels and leading axes
        img = err.reshape(-1, *err.shape[-2:]).max(axis=0)
        mark = None if worst is None else worst[-2:]
        ax.set_xlabel("width")
        ax.set_ylabel("height")
    elif err.ndim == 2:  # (C, L): one row per channel
        img, mark = err, worst
        ax.set_xlabel("position")
        ax.set_ylabel("channel")
    else:
        ax.plot(err, ".-")
        if worst is not None:
            ax.plot([worst[0]], [err[worst]], "o", mfc="none", mec="red", ms=12)
        ax.set_xlabel(f"{what} index")
        ax.set_ylabel("max |B - A^H|")
        ax.set_title(f"error per {what}")
        return
    im = ax.imshow(img, aspect="auto", cmap="magma", interpolation="nearest")
    ax.figure.colorbar(im, ax=ax)
    if mark is not None:
        ax.plot([mark[1]], [mark[0]], "o", mfc="none", mec="cyan", ms=14, mew=2)
    ax.set_title(f"error per {what} (max over channels)" if err.ndim >= 3
                 else f"error per {what}")


def adjoint_mismatch(forward, adjoint=None, *, in_shape=None, out_shape=None, pattern=None,
                     receptive_field=None, dtype: DTypeLike = np.float64,
                     batched: bool = False, max_entries: int | None = None) -> AdjointMismatch:
    r"""Where a claimed adjoint is wrong: both maps as exact matrices, and their difference.

    Parameters
    ----------
    forward, adjoint, in_shape, out_shape, dtype
        As for :func:`dottest` (a torch callable needs no ``adjoint``: its backward is
        the one examined).
    pattern, receptive_field
        What :func:`materialize` knows about ``forward``'s structure (fewer probes). The
        adjoint is probed on the transpose of ``forward``'s structure, and at every
        output if it reaches outside it.
    batched : bool
        ``forward`` takes a stack of inputs at once.
    max_entries : int, optional
        Refuse matrices larger than this, before probing (see :func:`materialize`).

    Returns
    -------
    AdjointMismatch
        ``.difference`` (``B - A^H``, sparse), ``.worst_input`` and ``.worst_output`` (the
        positions ``(channel, *index)`` of the largest entry), ``.max_abs``, ``.ok``,
        ``.input_error`` / ``.output_error`` (maps of the error), ``.plot()``, and a
        readable ``str``.

    Notes
    -----
    ``A`` and ``B`` come from :func:`materialize` (each entry one product ``A_{ij} * 1``,
    exact), so ``B - A^H`` is the mistake itself: a flipped kernel gives entries all over
    the band, a crop off by one a shifted band, a dropped border row one bad row of inputs.
    ``forward`` (and a callable ``adjoint``) is checked linear first.

    Examples
    --------
    A 3-tap correlation of 5 inputs (3 outputs) and a hand-written adjoint that forgets the
    last input:

    >>> import numpy as np
    >>> from convmat.testing import adjoint_mismatch
    >>> w = np.array([1., 2., 3.])
    >>> forward = lambda x: np.correlate(x, w, mode="valid")
    >>> def adjoint(y):
    ...     x = np.convolve(y, w, mode="full")
    ...     x[-1] = 0.0  # the slip
    ...     return x
    >>> mm = adjoint_mismatch(forward, adjoint, in_shape=(5,))
    >>> mm.forward_matrix.toarray()
    array([[1., 2., 3., 0., 0.],
           [0., 1., 2., 3., 0.],
           [0., 0., 1., 2., 3.]])
    >>> mm.difference.toarray()
    array([[ 0.,  0.,  0.],
           [ 0.,  0.,  0.],
           [ 0.,  0.,  0.],
           [ 0.,  0.,  0.],
           [ 0.,  0., -3.]])
    >>> mm.worst_input, mm.worst_output
    ((4,), (2,))
    >>> print(mm)  # doctest: +NORMALIZE_WHITESPACE
    adjoint mismatch: max |B - A^H| = 3 (tolerance 4.47e-08) at input (4,) <- output (2,),
    where B holds 0 and A^H holds 3; 1 of 5 inputs and 1 of 3 outputs differ (x of shape
    (5,) -> y of shape (3,))
    """
    dt = _check_dtype(dtype)
    batched = as_bool(batched, "batched")
    fwd, adj = _maps(forward, adjoint, in_shape, out_shape, dt, batched)
    if fwd.matrix and 0 in forward.shape:  # else the empty adjoint would take the blame
        side = "from" if forward.shape[1] == 0 else "to"
        raise ValueError(f"forward of shape {forward.shape} maps {side} an empty space: "
                         f"there is no entry to compare")
    budget = Budget("adjoint_mismatch", "dottest (it builds no matrix)", dt.itemsize,
                    max_entries)
    A, _ = probe_matrix(fwd, dt, budget, pattern=pattern, receptive_field=receptive_field)
    try:  # where A^H has entries, probed together; elsewhere too, if the adjoint goes there
        B, _ = probe_matrix(adj, dt, budget, pattern=A.T)
    except ValueError:
        B, _ = probe_matrix(adj, dt, budget)
    D = csr_array(B - A.conj().T)
    D.eliminate_zeros()
    D.sort_indices()
    precision = _lowest_precision(dt, A.dtype, B.dtype)
    scale = max(float(abs(A).max()) if A.nnz else 0.0, float(abs(B).max()) if B.nnz else 0.0)
    return AdjointMismatch(D, A, B, fwd.in_shape, fwd.out_shape,
                           default_rtol(precision) * scale)
