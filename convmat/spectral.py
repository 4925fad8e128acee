r"""Spectral facts of a convolution: its singular values and its certified operator norm.

With circular padding and an output of ``N / s`` rows per axis (stride ``s`` dividing
``N``), a convolution is block circulant over the coarse grid ``N / s``: split the input
into its ``prod(s)`` polyphase components (``x[..., r::s]``) and the DFT block-diagonalises
it, one ``C_out x (C_in prod(s))`` matrix per coarse frequency (for stride 1: Sedghi, Gupta
& Long, "The singular values of convolutional layers", ICLR 2019): exact and cheap.

With zero padding it is a *restriction* of such a circulant on a grid of ``N + 2p``, whose
norm bounds its norm from above; a windowed plane wave at the maximising frequency, refined
by a few Lanczos steps, bounds it from below. That is how :func:`conv_operator_norm`
certifies its answer without an SVD of the whole map.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import eigh, eigh_tridiagonal
from scipy.sparse.linalg import ArpackNoConvergence, svds

from ._args import as_int, is_real
from ._circulant import (
    Circulant,
    check_symbol_size,
    circulant,
    group_blocks,
    symbol_at,
    symbols,
    top_frequency,
)
from .convolution import conv_matrix, weight_array
from .operators import conv_operator
from .shapes import ConvGeometry, conv_geometry

__all__ = ["OperatorNorm", "conv_operator_norm", "conv_singular_values"]

METHODS = ("auto", "fft", "bounds", "dense", "svds")
_DENSE_LIMIT = 2**24    # entries of a dense matrix we agree to SVD
_GRAM_SIDE = 2048       # the norm by a dense eigensolver of the smaller Gram matrix
_SVDS_LIMIT = 2**17     # ARPACK on the operator, up to this many rows or columns
_ROUNDING = 1e-13       # relative margin that floating-point sums cannot cross


class OperatorNorm(float):
    """The operator norm with certified bounds: ``lower <= ||A||_2 <= upper``.

    It *is* a float (``value``), so it compares, rounds, formats and adds like one;
    ``lower`` is ``||A v|| / ||v||`` of an actual vector ``v``, ``upper`` a proven bound
    (or, for ``method='svds'``, ARPACK's estimate, see :func:`conv_operator_norm`).

    Attributes
    ----------
    value, lower, upper : float
    method : str
        How the bounds were found: ``"fft"`` and ``"dense"`` (exact to rounding),
        ``"bounds"`` (circulant upper bound, Lanczos lower bound), ``"svds"``.

    Examples
    --------
    >>> n = OperatorNorm(2.0, 1.5, 2.0, "bounds")
    >>> n + 1, n.gap, n
    (3.0, 0.25, OperatorNorm(value=2.0, lower=1.5, upper=2.0, method='bounds'))
    """

    __slots__ = ("lower", "upper", "method")

    def __new__(cls, value: float, lower: float, upper: float, method: str):
        self = super().__new__(cls, value)
        object.__setattr__(self, "lower", float(lower))
        object.__setattr__(self, "upper", float(upper))
        object.__setattr__(self, "method", str(method))
        return self

    def __setattr__(self, name, value):
        raise AttributeError(f"OperatorNorm is immutable: cannot set {name}")

    @property
    def value(self) -> float:
        return float(self)

    @property
    def gap(self) -> float:
        """``(upper - lower) / upper``, the certified relative uncertainty."""
        return (self.upper - self.lower) / self.upper if self.upper else 0.0

    def __repr__(self) -> str:
        return (f"OperatorNorm(value={float(self)!r}, lower={self.lower!r}, "
                f"upper={self.upper!r}, method={self.method!r})")

    def __str__(self) -> str:
        return float.__repr__(self)

    def __reduce__(self):
        return (OperatorNorm, (float(self), self.lower, self.upper, self.method))


# --------------------------------------------------------------------------- arguments
def _method(method, circ: Circulant | None, geo: ConvGeometry) -> str:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}")
    if method == "fft" and not (circ is not None and circ.exact):
        win = geo.window
        raise ValueError(
            f"method='fft' needs a circulant convolution (padding_mode='circular' and an "
            f"output of size / stride on every axis, e.g. stride 1 with padding='same'; "
            f"or no padding and stride >= dilated kernel dividing the size), got size="
            f"{win.size}, stride={win.stride}, padding_mode={geo.padding_mode!r}, padding="
            f"{tuple(zip(win.pad_before, win.pad_after))} (before, after)")
    return method


def _tolerance(value, name: str) -> float:
    if not is_real(value):
        raise TypeError(f"{name} must be a real number, got {name}={value!r}")
    v = float(value)
    if not 0.0 <= v < 1.0:  # also refuses nan
        raise ValueError(f"{name} must be in [0, 1), got {name}={value!r}")
    return v


def _weight(weight) -> np.ndarray:
    w = weight_array(weight)
    if not np.isfinite(w).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(w))[0])
        raise ValueError(f"weight must be finite, got weight[{bad}]={w[bad]!r}: no norm or "
                         f"singular value of a map with NaN or infinite entries exists")
    return w


def _dense_matrix(w, geo: ConvGeometry, input_shape, kwargs) -> np.ndarray:
    m, n = math.prod(geo.out_shape), math.prod(geo.in_shape)
    if m * n > _DENSE_LIMIT:
        raise ValueError(
            f"the dense SVD of this {m} x {n} convolution matrix (weight of shape "
            f"{w.shape}, input_shape={tuple(input_shape)}, "
            f"{', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) is too large "
            f"({m * n:,} entries, limit {_DENSE_LIMIT:,}); use conv_operator_norm for "
            f"the largest singular value")
    return conv_matrix(w, input_shape, **kwargs).toarray()


# --------------------------------------------------------------------------- singular values
def conv_singular_values(weight: ArrayLike, input_shape, *, stride=1, padding=0, dilation=1,
                         groups=1, padding_mode="zeros", method: str = "auto") -> np.ndarray:
    r"""All singular values of ``conv_matrix(weight, input_shape, ...)``, largest first.

    Parameters
    ----------
    weight, input_shape, stride, padding, dilation, groups, padding_mode
        As for :func:`convmat.conv_matrix`.
    method : {"auto", "fft", "dense"}
        ``"fft"``: exact and fast, for a circulant convolution only: per axis, circular
        padding (or none) and an output of ``N / s`` rows for stride ``s`` dividing the
        size ``N`` (stride 1 with ``padding="same"``; stride 2 with a 3-tap kernel and
        padding 1 on an even size; a ``k x k`` patch embedding of stride ``k``).
        ``"dense"``: SVD of the dense matrix (small cases, any geometry).
        ``"auto"``: ``"fft"`` when it applies, else ``"dense"``.

    Returns
    -------
    ndarray, shape (min(m, n),)
        The singular values of the ``m x n`` matrix, in decreasing order (real, float64 or
        float32 as the weight).

    Notes
    -----
    With stride ``s`` and ``M = N / s`` coarse points per axis, split the input into its
    ``prod(s)`` polyphase components ``x_r[m] = x[s m + r]``. Tap ``t`` reads
    ``x[s j + q_t]`` (``q_t = t d - p``), that is component ``r_t = q_t mod s`` at coarse
    offset ``k_t = floor(q_t / s)``. The DFT over the coarse grid turns the convolution
    into one ``C_out x C_in prod(s)`` matrix per coarse frequency ``f`` (each group's
    block on its own),

    .. math::  \hat W(f)[:, (c, r)] = \sum_{t:\, r_t = r} w[:, c, t]\,
               e^{2\pi i \langle f, k_t \rangle / M},
               \qquad \sigma(A) = \bigcup_f \sigma(\hat W(f)),

    because the polyphase permutation and the DFTs are unitary (for ``s = 1``: Sedghi,
    Gupta & Long 2019). That is ``prod(M)`` small SVDs instead of one of the whole map.
    A size the stride does not divide has no such structure: ``"dense"``.

    Examples
    --------
    The filter ``[1, 2, 3]`` wrapping around 4 inputs: the moduli of its DFT,
    ``|6|, |2 - 2i|, |-2|, |2 + 2i|``:

    >>> import numpy as np
    >>> from convmat import conv_singular_values
    >>> w = np.array([[[1., 2., 3.]]])
    >>> conv_singular_values(w, (1, 4), padding=1, padding_mode="circular").round(4)
    array([6.    , 2.8284, 2.8284, 2.    ])

    At stride 2 each coarse frequency pairs the even taps ``1, 3`` with the odd one ``2``:
    ``sqrt(|1 + 3 e^{i pi f}|^2 + 2^2)``, i.e. ``sqrt(20)`` and ``sqrt(8)``:

    >>> conv_singular_values(w, (1, 4), stride=2, padding=1,
    ...                      padding_mode="circular").round(4)
    array([4.4721, 2.8284])
    """
    w = _weight(weight)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=padding_mode)
    geo = conv_geometry(w.shape, input_shape, **kwargs)
    circ = circulant(geo)
    how = _method(method, circ, geo)
    if how in ("svds", "bounds"):
        raise ValueError(f"method={how!r} finds only the largest singular value: use "
                         f"conv_operator_norm(..., method={how!r})")
    if how == "auto":
        how = "fft" if circ is not None and circ.exact else "dense"
    if how == "fft":
        check_symbol_size(geo, circ, input_shape)
        values = np.concatenate([np.linalg.svd(Z, compute_uv=False).ravel()
                                 for _, Z in symbols(group_blocks(w, geo), circ)])
    else:
        values = np.linalg.svd(_dense_matrix(w, geo, input_shape, kwargs), compute_uv=False)
    real = np.finfo(np.result_type(w.dtype, np.float32)).dtype
    return np.sort(values)[::-1].astype(real, copy=False)


# --------------------------------------------------------------------------- lower bounds
def _rayleigh(op, v: np.ndarray) -> float:
    """``||A v|| / ||v||``: a lower bound of ``||A||`` from an actual vector."""
    nv = np.linalg.norm(v)
    return float(np.linalg.norm(op.matvec(v)) / nv) if nv > 0 else 0.0


def _plane_wave(blocks, circ: Circulant, geo: ConvGeometry, f, group: int, real: bool):
    """The top right singular vector of the symbol at ``f``, as a plane wave over the input
    (polyphase component ``r`` of channel ``c`` carrying entry ``(c, r)``), under a sine
    window on the axes that end in zeros: the ground state of a box, so the wave loses
    least at the borders."""
    Z = symbol_at(blocks, circ, f)[group]
    a = np.linalg.svd(Z)[2][0].conj()  # A's symbol times a is sigma_max times a unit vector
    a = a * np.exp(-1j * np.angle(a[np.argmax(np.abs(a))]))  # real when the symbol is
    ci = geo.in_channels // geo.groups
    a = a.reshape(ci, *circ.step)
    size = geo.window.size
    pos = [np.arange(L) for L in size]
    x = a[np.ix_(np.arange(ci), *[p % s for p, s in zip(pos, circ.step)])]
    for i, (p, s, fi, win) in enumerate(zip(pos, circ.step, f, circ.windowed)):
        factor = np.exp(2j * np.pi * fi * (p // s))
        if win:
            factor = factor * np.sin(np.pi * (p + 1) / (len(p) + 1))
        shape = [1] * x.ndim
        shape[1 + i] = len(p)
        x = x * factor.reshape(shape)
    full = np.zeros((geo.in_channels, *size), dtype=np.complex128)
    full[group * ci:(group + 1) * ci] = x
    return full.real.ravel() if real else full.ravel()


def _lanczos_cycle(op, v: np.ndarray, k: int) -> np.ndarray:
    """``k`` Lanczos steps on ``A^H A`` from ``v`` (fully re-orthogonalised); returns the
    Ritz vector of the largest Ritz value."""
    V = np.empty((k + 1, v.size), dtype=v.dtype)
    V[0] = v / np.linalg.norm(v)
    alpha, beta = [], []
    for j in range(k):
        w = op.rmatvec(op.matvec(V[j]))
        scale = float(np.linalg.norm(w))
        alpha.append(float(np.vdot(V[j], w).real))
        for _ in range(2):  # twice is enough (Kahan): the basis stays orthogonal
            w = w - V[:j + 1].T @ (V[:j + 1].conj() @ w)
        b = float(np.linalg.norm(w))
        if b <= 1e-12 * scale:
            break  # an invariant subspace (or A^H A v = 0): the Ritz vectors are exact
        beta.append(b)
        V[j + 1] = w / b
    n = len(alpha)
    _, y = eigh_tridiagonal(np.array(alpha), np.array(beta[:n - 1]),
                            select="i", select_range=(n - 1, n - 1))
    return y[:, 0] @ V[:n]


def _refine(op, v, upper: float, rtol: float, max_iter: int):
    """Restarted Lanczos from ``v`` until the certified gap closes, the lower bound stalls
    or ``max_iter`` products with ``A^H A`` are spent; returns (lower, vector, steps)."""
    best, vec, steps, gains = _rayleigh(op, v), v, 0, []
    while steps < max_iter and upper - best > rtol * upper:
        k = min(10, max_iter - steps)
        ritz = _lanczos_cycle(op, vec, k)
        steps += k
        lower = _rayleigh(op, ritz)
        gains.append(max(lower - best, 0.0))
        if lower > best:
            best, vec = lower, ritz
        # Lanczos converges geometrically: when the last cycles gained far less than the
        # gap, the gap is the upper bound's (a circulant looser than rtol), not ours.
        if len(gains) >= 3 and 20 * max(gains[-2:]) < upper - best - rtol * upper:
            break
    return best, vec, steps


# --------------------------------------------------------------------------- the norm
def _best_circulant(blocks, geo: ConvGeometry):
    """The tightest of two circulant bounds: the smallest grid, and one whose coarse
    frequencies stay farthest from the maximiser (a frequency the grid misses is a
    maximum the bound does not pay). Returns (upper, circulant, frequency, group)."""
    circ = circulant(geo)
    top, idx, group = top_frequency(blocks, circ)
    f = [i / M for i, M in zip(idx, circ.coarse)]
    for i, M in enumerate(circ.coarse):  # a parabola through the neighbours, per axis
        if M < 3:
            continue
        near = []
        for e in (-1, 1):
            g = list(f)
            g[i] += e / M
            near.append(np.linalg.svd(symbol_at(blocks, circ, g)[group], compute_uv=False)[0])
        curve = near[0] - 2 * top + near[1]
        if curve < 0:
            f[i] += float(np.clip((near[0] - near[1]) / (2 * curve), -0.5, 0.5)) / M
    extra = []
    for fi, M, win in zip(f, circ.coarse, circ.windowed):
        miss = [abs(fi * (M + e) - round(fi * (M + e))) / (M + e) for e in range(4)]
        extra.append(int(np.argmax(miss)) if win else 0)
    upper = math.sqrt(circ.rows) * top
    if any(extra):
        other = circulant(geo, tuple(extra))
        top2 = top_frequency(blocks, other)[0]
        if math.sqrt(other.rows) * top2 < upper:
            upper = math.sqrt(other.rows) * top2
    # Circular axes have no window: the wave must be periodic, a grid frequency.
    f = [fi if win else i / M for fi, i, M, win in zip(f, idx, circ.coarse, circ.windowed)]
    return upper * (1 + _ROUNDING), circ, f, group


def _exact_norm(w64, geo, input_shape, kwargs, op, how, v0, rtol, tol, known):
    """The fallbacks: a dense eigensolver of the smaller Gram matrix, or ARPACK."""
    m, n = op.shape
    lower, upper = known
    if how == "dense":
        A = conv_matrix(w64, input_shape, **kwargs)
        G = (A.conj().T @ A) if n <= m else (A @ A.conj().T)
        side = G.shape[0]
        lam, vec = eigh(G.toarray(), subset_by_index=[side - 1, side - 1])
        v = vec[:, 0] if n <= m else A.conj().T @ vec[:, 0]
        value = math.sqrt(max(float(lam[0]), 0.0))
        lower = max(_rayleigh(op, v), lower) if np.any(v) else 0.0
        return OperatorNorm(value, min(lower, value), max(value, lower), "dense")
    if min(m, n) < 2:
        raise ValueError(f"method='svds' needs a matrix with at least 2 rows and columns, "
                         f"got {m} x {n}; use method='dense'")
    tol = rtol if tol is None else tol
    if v0 is not None and m < n:
        v0 = op.matvec(v0)  # svds iterates on the smaller Gram matrix
    if v0 is None or not np.any(v0):
        v0 = np.random.default_rng(0).standard_normal(min(m, n)).astype(op.dtype)
    ncv = None if min(m, n) <= 48 else 24
    try:
        u, s, vh = svds(op, k=1, which="LM", tol=tol, v0=v0, ncv=ncv, maxiter=200,
                        solver="arpack")
    except ArpackNoConvergence:
        raise ValueError(
            f"ARPACK did not reach tol={tol:g} on this {m} x {n} convolution (input_shape="
            f"{tuple(input_shape)}) within 200 restarts; the certified bounds reached are "
            f"[{lower:.15g}, {upper:.15g}]: pass a larger rtol, or a smaller input") from None
    sigma = float(s[0])
    lower = max(_rayleigh(op, vh[0].conj()), lower)
    # ARPACK stops at a Ritz pair of A^H A with residual <= tol * theta: the eigenvalue it
    # found (the largest, unless Lanczos missed it entirely) is within that of theta.
    upper = max(lower, min(upper, sigma * math.sqrt(1 + tol) * (1 + _ROUNDING)))
    return OperatorNorm(min(max(sigma, lower), upper), lower, upper, "svds")


def conv_operator_norm(weight: ArrayLike, input_shape, *, stride=1, padding=0, dilation=1,
                       groups=1, padding_mode="zeros", rtol: float = 1e-6,
                       method: str = "auto", max_iter: int = 300,
                       tol: float | None = None) -> OperatorNorm:
    r"""The operator 2-norm (largest singular value) of a convolution, with certified bounds.

    Parameters
    ----------
    weight, input_shape, stride, padding, dilation, groups, padding_mode
        As for :func:`convmat.conv_matrix`.
    rtol : float
        Wanted certified accuracy: stop when ``upper - lower <= rtol * upper``.
    method : {"auto", "fft", "bounds", "dense", "svds"}
        ``"fft"``: exact, circulant convolutions only (see :func:`conv_singular_values`).
        ``"bounds"``: the circulant upper bound and a Lanczos lower bound (zero padding,
        or circular padding); ``ValueError`` when they stay more than ``rtol`` apart.
        ``"dense"``: a dense eigensolver of the smaller Gram matrix ``A^H A`` or
        ``A A^H`` (small cases). ``"svds"``: ARPACK on the matrix-free
        :func:`convmat.conv_operator`. ``"auto"``: ``"fft"`` when it applies, else
        ``"bounds"``, falling back to ``"dense"`` (smaller side up to 2048) or ``"svds"``
        (up to 131072) when the bounds cannot meet ``rtol`` (a small grid, where the
        circulant is loose; reflect or replicate padding, which has no circulant).
    max_iter : int
        Most products with ``A^H A`` the Lanczos refinement may spend.
    tol : float, optional
        ARPACK's relative tolerance on ``sigma^2`` for ``"svds"`` (default ``rtol``).

    Returns
    -------
    OperatorNorm
        A float, ``||A||_2`` (the lower bound, the norm of an actual ``A v / ||v||``,
        for ``"bounds"``), with ``.lower``, ``.upper``, ``.gap`` and ``.method``.

    Raises
    ------
    ValueError
        When the bounds cannot meet ``rtol`` and the map is too large for an exact
        fallback (the message gives the bounds reached: pass an ``rtol`` above their gap).

    Notes
    -----
    *Upper bound.* With zero padding ``p`` and stride ``s``, the convolution on ``N``
    points is a block of the polyphase circulant ``C`` on ``N' >= N + 2p`` points
    (``s | N'``): no tap wraps around onto the input, so ``A = R C E`` with ``E`` an
    embedding and ``R`` a row selection, and

    .. math::  \|A\|_2 \le \|C\|_2 = \max_f \sigma_{\max}(\hat W(f)),

    exact through the FFT (see :func:`conv_singular_values`); of two grid sizes the
    smaller bound is kept. *Lower bound.* ``||A v|| / ||v||`` for the symbol's top right
    singular vector at the maximising frequency laid out as a plane wave under a sine
    window, refined by restarted Lanczos on ``A^H A``. Both are computed in double
    precision; a relative margin of ``1e-13`` covers rounding. The bound is within
    ``O(1/N^2)`` of the norm, so large grids certify in milliseconds and small ones fall
    back to exact linear algebra.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import conv_operator_norm
    >>> w = np.array([[[1., 2., 3.]]])
    >>> conv_operator_norm(w, (1, 4), padding=1, padding_mode="circular")
    OperatorNorm(value=6.0, lower=6.0, upper=6.0, method='fft')

    With zero padding the edges lose a little, and the norm stays below the circulant 6
    (exact on a small grid, certified on a large one):

    >>> round(conv_operator_norm(w, (1, 50), padding=1), 6)
    5.993652
    >>> norm = conv_operator_norm(w, (1, 5000), padding=1, rtol=1e-6)
    >>> norm.method, norm.lower > 5.99999, round(norm.upper, 9), norm.gap <= 1e-6
    ('bounds', True, 6.0, True)
    """
    w = _weight(weight)
    rtol = _tolerance(rtol, "rtol")
    tol = None if tol is None else _tolerance(tol, "tol")
    max_iter = as_int(max_iter, "max_iter", at_least=1)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=padding_mode)
    geo = conv_geometry(w.shape, input_shape, **kwargs)
    circ = circulant(geo)
    how = _method(method, circ, geo)
    m, n = math.prod(geo.out_shape), math.prod(geo.in_shape)
    if circ is not None:
        check_symbol_size(geo, circ, input_shape)
    blocks = group_blocks(w, geo)
    if how == "fft" or (how == "auto" and circ is not None and circ.exact):
        top = top_frequency(blocks, circ)[0]
        return OperatorNorm(top, top, top, "fft")
    w64 = w.astype(np.result_type(w.dtype, np.float64), copy=False)
    op = conv_operator(w64, input_shape, **kwargs)
    lower, upper, v = 0.0, math.inf, None
    if how in ("auto", "bounds") and circ is not None:
        upper, circ, f, group = _best_circulant(blocks, geo)
        v = _plane_wave(blocks, circ, geo, f, group, real=w.dtype.kind != "c")
        if not np.any(v):  # the wave lives on polyphase components the input lacks
            v = np.random.default_rng(0).standard_normal(n).astype(op.dtype)
        lower, v, _ = _refine(op, v, upper, rtol, max_iter)
        lower *= 1 - _ROUNDING
        if upper - lower <= rtol * upper or how == "bounds":
            if upper - lower > rtol * upper:
                raise ValueError(
                    f"method='bounds' reached [{lower:.15g}, {upper:.15g}] (relative gap "
                    f"{(upper - lower) / upper:.3g}), not rtol={rtol:g}: the circulant on "
                    f"this grid is looser than that; pass a larger rtol or method='auto'")
            return OperatorNorm(lower, lower, upper, "bounds")
    elif how == "bounds":
        raise ValueError(f"method='bounds' needs zero or circular padding (a circulant to "
                         f"bound the map), got padding_mode={geo.padding_mode!r}")
    if how == "auto":
        if min(m, n) <= _GRAM_SIDE:
            how = "dense"
        elif max(m, n) <= _SVDS_LIMIT:
            how = "svds"
        elif circ is None:
            raise ValueError(
                f"conv_operator_norm has no certified bound for padding_mode="
                f"{geo.padding_mode!r} (no circulant contains it) and the {m} x {n} map "
                f"(input_shape={tuple(input_shape)}) is too large for an exact fallback (at "
                f"most {_SVDS_LIMIT:,} rows and columns); use method='svds' (ARPACK, slow "
                f"here) or a smaller input")
        else:
            raise ValueError(
                f"conv_operator_norm cannot certify rtol={rtol:g} for input_shape="
                f"{tuple(input_shape)}: the bounds reached are [{lower:.15g}, {upper:.15g}]"
                f" (relative gap {(upper - lower) / upper:.3g}), and the {m} x {n} map is "
                f"too large for an exact fallback (at most {_SVDS_LIMIT:,} rows and "
                f"columns); pass rtol above that gap")
    if how == "dense" and min(m, n) > 4 * _GRAM_SIDE:
        raise ValueError(f"method='dense' on this {m} x {n} convolution (input_shape="
                         f"{tuple(input_shape)}) needs a {min(m, n)}-square eigensolve, "
                         f"more than {4 * _GRAM_SIDE}; use method='auto' or 'svds'")
    return _exact_norm(w64, geo, input_shape, kwargs, op, how, v, rtol, tol, (lower, upper))
