r"""The block circulant behind a convolution, and its symbol.

A convolution with circular padding whose stride divides the grid is block circulant over
the coarse grid ``N / s``: the DFT block-diagonalises it, one ``C_out x (C_in prod(s))``
matrix (its *symbol*) per coarse frequency, built from the kernel's polyphase components.
A zero-padded convolution is a restriction of the circulant on the grid ``N + 2p``.
:mod:`convmat.spectral` reads singular values and certified norm bounds from these
symbols.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._sparse import get_max_entries
from .shapes import ConvGeometry

__all__: list[str] = []


@dataclass(frozen=True)
class Circulant:
    """A (polyphase) circulant that contains the convolution, per spatial axis.

    On a grid of ``grid[i]`` points with polyphase stride ``step[i]`` (dividing it), coarse
    output ``j`` reads ``u[(j step + offsets[t]) mod grid]`` for tap ``t``; the input ``x``
    sits at grid points ``[0, N)``. ``rows`` is how often one circulant row appears in the
    convolution (1 unless circular padding wraps the output); ``exact``: the convolution
    *is* the circulant (every grid point an input, every coarse row an output, once).
    ``windowed[i]``: axis ``i`` ends in zeros (a test vector must vanish at its borders).
    """

    grid: tuple[int, ...]
    step: tuple[int, ...]
    offsets: tuple[np.ndarray, ...]
    rows: int
    exact: bool
    windowed: tuple[bool, ...]

    @property
    def coarse(self) -> tuple[int, ...]:
        return tuple(G // s for G, s in zip(self.grid, self.step))


def circulant(geo: ConvGeometry, extra=None) -> Circulant | None:
    """The circulant of ``geo`` (``extra[i]`` more stride steps of grid on zero-padded
    axes), or ``None`` when the padding mode is no restriction of one (reflect, replicate,
    a cropping circular padding)."""
    win = geo.window
    extra = (0,) * win.ndim if extra is None else extra
    grid, step, offsets, rows, exact, windowed = [], [], [], 1, True, []
    for i, (L, k, s, d, b, a, out) in enumerate(zip(
            win.size, win.kernel, win.stride, win.dilation, win.pad_before, win.pad_after,
            win.out)):
        offsets.append(np.arange(k, dtype=np.int64) * d - b)
        if geo.padding_mode == "zeros" or b == a == 0:
            # Zeros around the input: no wrap reaches it on a grid of N + p_b + p_a.
            G = -(-(L + b + a) // s) * s + extra[i] * s
            grid.append(G), step.append(s)
            exact &= G == L and out * s == L
            windowed.append(not (G == L and out * s == L))
        elif geo.padding_mode == "circular" and b >= 0 and a >= 0:
            s_eff = s if L % s == 0 else 1  # no polyphase split: rows j s mod N of stride 1
            grid.append(L), step.append(s_eff)
            hits = np.bincount((np.arange(out, dtype=np.int64) * (s // s_eff)) % (L // s_eff))
            rows *= int(hits.max())
            exact &= s_eff == s and out * s == L
            windowed.append(False)
        else:
            return None
    return Circulant(tuple(grid), tuple(step), tuple(offsets), rows, bool(exact),
                      tuple(windowed))


def group_blocks(w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """The weight per group: ``(G, C_out/G, C_in/G, *kernel)``."""
    g = geo.groups
    return w.reshape(g, geo.out_channels // g, geo.in_channels // g, *geo.window.kernel)


def check_symbol_size(geo: ConvGeometry, circ: Circulant, given_shape) -> None:
    need = max(math.prod(circ.grid) * geo.out_channels * geo.in_channels // geo.groups,
               8 * max(math.prod(geo.in_shape), math.prod(geo.out_shape)))  # Lanczos vectors
    if need > get_max_entries():
        raise ValueError(
            f"input_shape={given_shape} is too large for the spectrum of this convolution: "
            f"it needs {need:,} values (the kernel's symbol on a grid of {circ.grid}, or "
            f"Lanczos vectors), more than max_entries={get_max_entries():,}; raise "
            f"convmat.set_max_entries or use a smaller input")


def symbols(blocks: np.ndarray, circ: Circulant, max_bytes: int = 2**26):
    """The kernel's polyphase symbol at every coarse frequency, in chunks.

    Yields stacks ``(n_f, G, C_out/G, C_in/G * prod(step))``, frequencies in C order. The
    symbol at coarse frequency ``f`` has column ``(c, r)`` (channel, polyphase component)
    ``sum_{t: q_t mod s = r} w[:, c, t] exp(2 pi i f floor(q_t / s) / M)``; it is summed
    over the first axis' taps per chunk, the other axes through one FFT of the kernel.
    """
    g, co, ci, *k = blocks.shape
    nd, M = len(k), circ.coarse
    r = [q % s for q, s in zip(circ.offsets, circ.step)]
    kap = [(q // s) % m for q, s, m in zip(circ.offsets, circ.step, M)]
    taps = [t.ravel() for t in np.meshgrid(*[np.arange(n) for n in k], indexing="ij")]
    P = np.zeros((k[0], *circ.step, *M[1:], g, co, ci), dtype=np.complex128)
    at = ((taps[0],) + tuple(r[i][taps[i]] for i in range(nd))
          + tuple(kap[i][taps[i]] for i in range(1, nd)))
    np.add.at(P, at, np.moveaxis(blocks.reshape(g, co, ci, -1), 3, 0))
    if nd > 1:
        P = np.fft.ifftn(P, axes=tuple(range(1 + nd, 2 * nd)), norm="forward")
    rest, S = math.prod(M[1:]), math.prod(circ.step)
    chunk = max(1, max_bytes // (16 * rest * g * co * ci * S))
    for start in range(0, M[0], chunk):
        f1 = np.arange(start, min(start + chunk, M[0]))
        phase = np.exp(2j * np.pi * np.outer(f1, kap[0]) / M[0])
        Z = np.tensordot(phase, P, axes=(1, 0))  # (f1, *step, *M[1:], g, co, ci)
        Z = np.moveaxis(Z, tuple(range(1, 1 + nd)), tuple(range(Z.ndim - nd, Z.ndim)))
        yield start * rest, Z.reshape(f1.size * rest, g, co, ci * S)


def symbol_at(blocks: np.ndarray, circ: Circulant, f) -> np.ndarray:
    """The symbol at one (possibly fractional) coarse frequency ``f``: ``(G, C_out/G,
    C_in/G * prod(step))``. Offsets are not wrapped: the Toeplitz symbol, equal to the
    circulant's on its grid."""
    g, co, ci, *k = blocks.shape
    vals = blocks.astype(np.complex128)
    for i, (q, s, fi) in enumerate(zip(circ.offsets, circ.step, f)):
        shape = [1] * vals.ndim
        shape[3 + i] = k[i]
        vals = vals * np.exp(2j * np.pi * fi * (q // s)).reshape(shape)
    out = np.zeros((*circ.step, g, co, ci), dtype=np.complex128)
    taps = [t.ravel() for t in np.meshgrid(*[np.arange(n) for n in k], indexing="ij")]
    at = tuple((q % s)[t] for q, s, t in zip(circ.offsets, circ.step, taps))
    np.add.at(out, at, np.moveaxis(vals.reshape(g, co, ci, -1), 3, 0))
    return np.moveaxis(out, tuple(range(len(k))), tuple(range(3, 3 + len(k)))).reshape(
        g, co, -1)


def top_frequency(blocks: np.ndarray, circ: Circulant) -> tuple[float, tuple, int]:
    """The circulant's norm, its maximising coarse frequency (indices) and group."""
    best, where = -1.0, (0, 0)
    for start, Z in symbols(blocks, circ):
        top = np.linalg.svd(Z, compute_uv=False)[..., 0]  # (n_f, G)
        i = int(np.argmax(top))
        if top.flat[i] > best:
            best, where = float(top.flat[i]), (start + i // top.shape[1], i % top.shape[1])
    return best, np.unravel_index(where[0], circ.coarse), where[1]
