r"""The sliding window: the geometry convolution, pooling and unpooling all share.

A window of ``k`` taps with stride ``s``, dilation ``d`` and ``p`` elements of padding
before the input reads, for output position ``j`` and tap ``t``, the input position

.. math::  q = j\,s - p + t\,d

which lies in the padding when ``q < 0`` or ``q >= L``. :class:`Window` writes this
formula once (:meth:`Window.positions`), with its mask (:meth:`Window.inside`) and the
number of taps inside the input (:meth:`Window.count_inside`, by arithmetic). The rest
of this module reads a padded coordinate through a padding mode (:func:`pad_source`) and
checks the padding a mode allows (:func:`check_pad_mode`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PADDING_MODES", "Window", "check_pad_mode", "effective_kernel", "empty_window",
           "pad_source"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


@dataclass(frozen=True)
class Window:
    """A window sliding over a padded grid, per spatial dimension.

    Output position ``j`` of dimension ``i`` reads taps ``t = 0 .. kernel[i]-1`` at input
    positions ``j * stride[i] - pad_before[i] + t * dilation[i]`` (negative or past the
    end: padding). ``out`` is the number of window positions.

    Examples
    --------
    Three taps with stride 2 and one element of padding over an input of 4:

    >>> win = Window((4,), (3,), (2,), (1,), (1,), (1,), (2,))
    >>> win.positions(0)
    array([[-1,  0,  1],
           [ 1,  2,  3]])
    >>> win.inside(0)
    array([[False,  True,  True],
           [ True,  True,  True]])
    >>> win.count_inside(0)
    5
    """

    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_before: tuple[int, ...]
    pad_after: tuple[int, ...]
    out: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    def positions(self, dim: int, n_out: int | None = None, *, first: int = 0) -> np.ndarray:
        """Input position of every (output position, tap) pair of one dimension.

        An ``(n_out, kernel[dim])`` int64 array for the outputs ``first .. first + n_out
        - 1`` (default: all ``out[dim]`` of them): ``j * s - p + t * d``.
        """
        n_out = self.out[dim] - first if n_out is None else n_out
        j = np.arange(first, first + n_out, dtype=np.int64)[:, None]
        t = np.arange(self.kernel[dim], dtype=np.int64)[None, :]
        return j * self.stride[dim] - self.pad_before[dim] + t * self.dilation[dim]

    def inside(self, dim: int, n_out: int | None = None, *, first: int = 0) -> np.ndarray:
        """Which of :meth:`positions` lie in the input, ``0 <= q < size[dim]`` (a bool array
        of the same shape)."""
        q = self.positions(dim, n_out, first=first)
        return (q >= 0) & (q < self.size[dim])

    def count_inside(self, dim: int, n_out: int | None = None) -> int:
        """How many of ``positions(dim, n_out)`` fall inside the input, by arithmetic.

        The pairs ``(j, t)`` with ``0 <= j s - p + t d < L`` are the lattice points of a
        box between two parallel lines, so the count is ``F(L - 1 + p) - F(p - 1)`` with
        ``F(c)`` the points on or under ``j s + t d = c``: a floor sum, ``O(log)`` however
        large the kernel or the output. It sizes a matrix before anything is allocated.
        """
        n_out = self.out[dim] if n_out is None else n_out
        s, p, d, L = self.stride[dim], self.pad_before[dim], self.dilation[dim], self.size[dim]
        k = self.kernel[dim]
        return (_points_under(L - 1 + p, n_out, k, s, d)
                - _points_under(p - 1, n_out, k, s, d))


def _points_under(c: int, n: int, k: int, s: int, d: int) -> int:
    """``#{(j, t) : 0 <= j < n, 0 <= t < k, j s + t d <= c}`` in Python integers.

    For tap ``t`` the outputs are ``j <= (c - t d) // s``, clipped to ``[0, n)``: taps up
    to ``t1`` see all ``n`` outputs, taps past ``c // d`` see none, and the ones between
    add ``(c - t d) // s + 1``, whose sum is a floor sum.
    """
    if n <= 0 or k <= 0 or c < 0:
        return 0
    t1 = min(k - 1, (c - (n - 1) * s) // d)          # every output inside
    last = min(k - 1, c // d)                         # some output inside
    full = n * max(0, t1 + 1)
    first = max(0, t1 + 1)
    if first > last:
        return full
    m = last - first + 1
    # sum_{t=first}^{last} ((c - t d) // s + 1) with u = last - t: sum_u (u d + b) // s
    return full + m + _floor_sum(m, s, d, c - last * d)


def _floor_sum(n: int, m: int, a: int, b: int) -> int:
    """``sum_{i=0}^{n-1} (a i + b) // m`` for ``a, b >= 0``, ``m > 0``, in ``O(log)``.

    The classic Euclid-like reduction: take the whole parts of ``a / m`` and ``b / m``
    out, then swap the roles of the axes and recurse on the smaller slope.
    """
    total = 0
    while True:
        if a >= m:
            total += (n - 1) * n // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        y_max = a * n + b
        if y_max < m:
            return total
        n, b, m, a = y_max // m, y_max % m, a, m


def effective_kernel(kernel, dilation) -> tuple[int, ...]:
    """``d (k - 1) + 1`` per dimension: the span of a dilated kernel."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def check_pad_mode(size, before, after, mode: str) -> None:
    """Refuse a padding that ``F.pad`` refuses in a non-zero ``padding_mode``."""
    for dim, (L, b, a) in enumerate(zip(size, before, after)):
        if L + b + a < 1 or L < 1:
            raise ValueError(
                f"padding {(b, a)} leaves nothing of input size {L} in spatial dimension {dim}"
            )
        if mode == "reflect" and (b >= L or a >= L):
            raise ValueError(
                f"padding_mode='reflect' needs padding smaller than the input size, got "
                f"padding {(b, a)} for input size {L} in spatial dimension {dim}"
            )
        if mode == "circular" and (b > L or a > L):
            raise ValueError(
                f"padding_mode='circular' needs padding at most the input size (it wraps "
                f"around once), got padding {(b, a)} for input size {L} in spatial "
                f"dimension {dim}"
            )


def pad_source(q: np.ndarray, L: int, mode: str) -> np.ndarray:
    """Input index read at padded coordinate ``q`` (``-1``: a zero), as ``F.pad`` does.

    Examples
    --------
    >>> q = np.arange(-2, 5)
    >>> for mode in PADDING_MODES:
    ...     print(f"{mode:9}", pad_source(q, 3, mode))
    zeros     [-1 -1  0  1  2 -1 -1]
    reflect   [2 1 0 1 2 1 0]
    replicate [0 0 0 1 2 2 2]
    circular  [1 2 0 1 2 0 1]
    """
    if mode == "zeros":
        return np.where((q >= 0) & (q < L), q, -1)
    if mode == "replicate":
        return np.clip(q, 0, L - 1)
    if mode == "circular":
        return np.mod(q, L)
    if mode == "reflect":
        # The edge is not repeated: -1 -> 1, L -> L - 2.
        r = np.abs(q)
        return np.where(r > L - 1, 2 * (L - 1) - r, r)
    raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got padding_mode={mode!r}")


def empty_window(L: int, k: int, s: int, p: int, d: int, n_out: int) -> int | None:
    """The first window of one dimension with no input element, or ``None``, by arithmetic.

    Window ``j`` reads ``a + t d`` (``a = j s - p``, ``t < k``). Every window starts before
    ``L`` (the output size guarantees it), so one starting at ``a >= 0`` holds ``a``. One
    starting in the left padding first reaches ``[0, d)`` at tap ``ceil(-a / d) <= p < k``,
    at position ``a mod d``: it is empty iff ``a mod d >= L``, which needs ``d > L``. Only
    the windows starting before 0 (and, to be safe, the last one) are looked at.
    """
    if d <= L:
        return None
    for j in [*range(min(n_out, -(-p // s))), n_out - 1]:
        a = j * s - p
        if (a if a >= 0 else a % d) >= L:  # the window's first position >= 0
            return j
    return None
