r"""Spectral facts of a convolution: its singular values and its operator norm.

A stride-1 convolution with circular padding that keeps the size is a (block) circulant
matrix, diagonalised by the DFT: its singular values are those of the ``C_out x C_in``
matrices of the kernel's DFT, one per frequency (Sedghi, Gupta & Long, "The singular values
of convolutional layers", ICLR 2019). Anything else falls back to linear algebra on the
matrix (small cases) or on the matrix-free operator (``scipy.sparse.linalg.svds``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse.linalg import svds

from .convolution import conv_matrix, weight_array
from .operators import conv_operator
from .shapes import ConvGeometry, conv_geometry

__all__ = ["conv_operator_norm", "conv_singular_values"]

METHODS = ("auto", "fft", "dense", "svds")
_DENSE_LIMIT = 2**24  # entries of a dense matrix we agree to SVD


def _is_circulant(geo: ConvGeometry) -> bool:
    """Stride 1, output size = input size, and the padding wraps (or there is none)."""
    win = geo.window
    for L, k, s, d, b, a in zip(win.size, win.kernel, win.stride, win.dilation,
                                win.pad_before, win.pad_after):
        ek = d * (k - 1) + 1
        if s != 1 or b + a != ek - 1 or (ek > 1 and geo.padding_mode != "circular"):
            return False
    return True


def _method(method, circulant: bool, geo: ConvGeometry) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}")
    if method == "fft" and not circulant:
        raise ValueError(
            f"method='fft' needs a circulant convolution (stride 1, padding_mode='circular' "
            f"and padding that keeps the size, e.g. padding='same'), got stride="
            f"{geo.window.stride}, padding_mode={geo.padding_mode!r}, padding="
            f"{tuple(zip(geo.window.pad_before, geo.window.pad_after))} (before, after)")
    if method == "auto":
        return "fft" if circulant else "dense"
    return method


def _spectrum(w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """The kernel's DFT per group and frequency: ``(G, *size, C_out/G, C_in/G)``."""
    win = geo.window
    g = geo.groups
    blocks = w.reshape(g, geo.out_channels // g, geo.in_channels // g, *win.kernel)
    embedded = np.zeros(blocks.shape[:3] + win.size, dtype=np.result_type(w, np.complex64))
    for tap in np.ndindex(*win.kernel):
        # Tap t reads x[j - before + t d]: a circular shift by (t d - before) mod L.
        at = tuple((t * d - b) % L for t, d, b, L in zip(tap, win.dilation, win.pad_before,
                                                          win.size))
        embedded[(Ellipsis,) + at] += blocks[(Ellipsis,) + tap]
    spatial = tuple(range(3, 3 + win.ndim))
    return np.moveaxis(np.fft.fftn(embedded, axes=spatial), (1, 2), (-2, -1))


def _dense_matrix(w, geo: ConvGeometry, input_shape, kwargs) -> np.ndarray:
    m, n = math.prod(geo.out_shape), math.prod(geo.in_shape)
    if m * n > _DENSE_LIMIT:
        raise ValueError(
            f"the dense SVD of this {m} x {n} convolution matrix is too large ({m * n:,} "
            f"entries, limit {_DENSE_LIMIT:,}); use conv_operator_norm(..., method='svds') "
            f"for the largest singular value")
    return conv_matrix(w, input_shape, **kwargs).toarray()


def conv_singular_values(weight: ArrayLike, input_shape, *, stride=1, padding=0, dilation=1,
                         groups=1, padding_mode="zeros", method: str = "auto") -> np.ndarray:
    r"""All singular values of ``conv_matrix(weight, input_shape, ...)``, largest first.

    Parameters
    ----------
    weight, input_shape, stride, padding, dilation, groups, padding_mode
        As for :func:`convmat.conv_matrix`.
    method : {"auto", "fft", "dense"}
        ``"fft"``: exact and fast, for a circulant convolution only (stride 1,
        ``padding_mode="circular"``, padding that keeps the size, such as ``"same"``; a
        1x1 kernel counts too). ``"dense"``: SVD of the dense matrix (small cases).
        ``"auto"``: ``"fft"`` when it applies, else ``"dense"``.

    Returns
    -------
    ndarray, shape (min(m, n),)
        The singular values of the ``m x n`` matrix, in decreasing order (real, float64 or
        float32 as the weight).

    Notes
    -----
    For a circulant convolution, with :math:`\hat w(f) = \sum_t w[:, :, t]\,
    e^{-2\pi i \langle f, (t d - p) / L\rangle}` the ``C_out x C_in`` DFT of the kernel at
    frequency ``f`` (each group's block on its own),

    .. math::  \sigma(A) = \bigcup_{f} \sigma(\hat w(f))

    because the unitary DFT block-diagonalises ``A`` (Sedghi, Gupta & Long 2019). That is
    ``prod(size)`` SVDs of ``C_out/G x C_in/G`` matrices instead of one of the whole map.

    Examples
    --------
    The filter ``[1, 2, 3]`` wrapping around 4 inputs: the moduli of its DFT,
    ``|6|, |2 - 2i|, |-2|, |2 + 2i|``:

    >>> import numpy as np
    >>> from convmat import conv_singular_values
    >>> conv_singular_values(np.array([[[1., 2., 3.]]]), (1, 4), padding=1,
    ...                      padding_mode="circular").round(4)
    array([6.    , 2.8284, 2.8284, 2.    ])
    """
    w = weight_array(weight)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=padding_mode)
    geo = conv_geometry(w.shape, input_shape, **kwargs)
    how = _method(method, _is_circulant(geo), geo)
    if how == "svds":
        raise ValueError("method='svds' finds only the largest singular value: use "
                         "conv_operator_norm(..., method='svds')")
    if how == "fft":
        values = np.linalg.svd(_spectrum(w, geo), compute_uv=False).reshape(-1)
    else:
        values = np.linalg.svd(_dense_matrix(w, geo, input_shape, kwargs), compute_uv=False)
    real = np.finfo(np.result_type(w.dtype, np.float32)).dtype
    return np.sort(values)[::-1].astype(real, copy=False)


def conv_operator_norm(weight: ArrayLike, input_shape, *, stride=1, padding=0, dilation=1,
                       groups=1, padding_mode="zeros", method: str = "auto",
                       tol: float = 0.0) -> float:
    r"""The operator 2-norm (largest singular value) of a convolution.

    Parameters
    ----------
    weight, input_shape, stride, padding, dilation, groups, padding_mode
        As for :func:`convmat.conv_matrix`.
    method : {"auto", "fft", "svds", "dense"}
        ``"fft"``: exact, circulant convolutions only (see :func:`conv_singular_values`).
        ``"svds"``: ARPACK's Lanczos iteration on the matrix-free
        :func:`convmat.conv_operator` (any size; ``svds`` needs ``min(m, n) >= 2``).
        ``"dense"``: the dense matrix's SVD. ``"auto"``: ``"fft"`` when it applies, else
        ``"dense"`` for matrices up to 4096 entries and ``"svds"`` beyond.
    tol : float
        ARPACK's relative tolerance (0: machine precision).

    Returns
    -------
    float
        ``||A||_2 = max_x ||A x|| / ||x||``.

    Notes
    -----
    ``||A||_2 = sigma_max(A)``; for a circulant convolution
    :math:`\max_f \|\hat w(f)\|_2` over the kernel's DFT. The ``svds`` path computes in
    double precision whatever the weight's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from convmat import conv_operator_norm
    >>> w = np.array([[[1., 2., 3.]]])
    >>> conv_operator_norm(w, (1, 4), padding=1, padding_mode="circular")
    6.0

    With zero padding the edges lose a little, and the norm stays below the circulant 6:

    >>> round(conv_operator_norm(w, (1, 50), padding=1, method="svds"), 6)
    5.993652
    """
    w = weight_array(weight)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=padding_mode)
    geo = conv_geometry(w.shape, input_shape, **kwargs)
    m, n = math.prod(geo.out_shape), math.prod(geo.in_shape)
    how = _method(method, _is_circulant(geo), geo)
    if method == "auto" and how == "dense" and m * n > 4096:
        how = "svds"
    if how == "fft":
        return float(np.linalg.svd(_spectrum(w, geo), compute_uv=False).max(initial=0.0))
    if how == "dense":
        return float(np.linalg.norm(_dense_matrix(w, geo, input_shape, kwargs), 2))
    if min(m, n) < 2:
        raise ValueError(f"method='svds' needs a matrix with at least 2 rows and columns, "
                         f"got {m} x {n}; use method='dense'")
    w64 = w.astype(np.result_type(w.dtype, np.float64), copy=False)
    op = conv_operator(w64, input_shape, **kwargs)
    v0 = np.random.default_rng(0).standard_normal(min(m, n)).astype(op.dtype)
    sigma = svds(op, k=1, which="LM", return_singular_vectors=False, tol=tol, v0=v0,
                 solver="arpack")
    return float(sigma[0])
