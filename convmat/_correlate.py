r"""The matrix-free engine of a convolution: ``y = C x`` and ``x = C^T y`` at BLAS speed.

The input is padded (the padding read through :func:`convmat.window.pad_source`, so every
``padding_mode`` and a cropping negative padding come for free), split into its
``stride`` phases (``xp[..., r::s]``), and each phase is laid out flat, channels by
positions, over the *whole* phase grid. A kernel tap ``t`` then reads one phase at one
constant offset for every output position, so the convolution is a sum over taps of
``W_t @ X[:, offset_t : offset_t + n]``: one GEMM per tap on a contiguous slice, no
im2col copy. Positions of the grid past the real output are computed and dropped (a thin
border). The adjoint runs the same loop backwards, adding ``W_t^H @ Y`` into the slices,
and then folds the phases and the padding back.

:class:`Correlation` is the plan; :func:`convmat.conv_operator` and
:func:`convmat.conv_transpose_operator` wrap it in a ``LinearOperator``.
"""

from __future__ import annotations

import math

import numpy as np

from .shapes import ConvGeometry
from .window import pad_source

__all__ = ["Correlation"]


# --------------------------------------------------------------------------- padding
def _unpad_axis(g: np.ndarray, src: np.ndarray, before: int, L: int, axis: int) -> np.ndarray:
    """Adjoint of ``x.take(src, axis)``: each padded position adds into its source.

    ``src`` comes from :func:`~convmat.window.pad_source` for a non-zero padding mode, so
    padded positions ``[before, before + L)`` are the input itself, in order; only the
    (few) padding positions around them need a loop.
    """
    shape = list(g.shape)
    shape[axis] = L
    out = np.zeros(shape, dtype=g.dtype)
    lo, hi = max(before, 0), min(before + L, src.size)

    def at(index, where):
        key = [slice(None)] * g.ndim
        key[axis] = where
        return index[tuple(key)]

    at(out, slice(lo - before, hi - before))[...] = at(g, slice(lo, hi))
    for p in [*range(lo), *range(hi, src.size)]:
        at(out, int(src[p]))[...] += at(g, p)
    return out


# --------------------------------------------------------------------------- the kernel
class Correlation:
    """A batched plan for ``y = C x`` and ``x = C^T y`` of one :class:`ConvGeometry`."""

    def __init__(self, geo: ConvGeometry, weight: np.ndarray):
        win = geo.window
        self.geo = geo
        g = geo.groups
        co, ci = geo.out_channels // g, geo.in_channels // g
        n_taps = math.prod(win.kernel)
        # (taps, groups, C_out/G, C_in/G): one small matrix per tap and group.
        self.taps = np.ascontiguousarray(
            np.moveaxis(weight.reshape(g, co, ci, n_taps), -1, 0))
        self.src = [
            pad_source(np.arange(-b, L + a), L, geo.padding_mode)
            for L, b, a in zip(win.size, win.pad_before, win.pad_after)
        ]
        self.padded = tuple(s.size for s in self.src)
        self.phase_len = tuple(-(-P // s) for P, s in zip(self.padded, win.stride))
        self.flat = math.prod(self.phase_len)
        flat_strides = np.array(
            [math.prod(self.phase_len[i + 1:]) for i in range(win.ndim)], dtype=np.int64)
        shift = np.indices(win.kernel).reshape(win.ndim, -1).T * np.array(win.dilation)
        stride = np.array(win.stride)
        self.phase = np.ravel_multi_index(tuple((shift % stride).T), win.stride)
        self.offset = ((shift // stride) * flat_strides).sum(axis=1)
        self.tail = int(self.offset.max())

    # -- layout: padded input <-> phases laid out (phase, channel, sample * grid)
    def _phases(self, shape, before):
        """Per stride phase: the slice of an array of spatial ``shape`` sitting at offset
        ``before`` of the padded grid that lands in that phase, and where it lands."""
        win = self.geo.window
        for phase in np.ndindex(*win.stride):
            source, dest = [], []
            for r, s, b, A in zip(phase, win.stride, before, shape):
                i0 = (r - b) % s  # first array position in this phase
                count = len(range(i0, A, s))
                source.append(slice(i0, None, s))
                dest.append(slice((i0 + b) // s, (i0 + b) // s + count))
            yield int(np.ravel_multi_index(phase, win.stride)), tuple(source), tuple(dest)

    def _grid(self, buf: np.ndarray, phase: int, n: int) -> np.ndarray:
        """Phase ``phase`` of ``buf`` as ``(N, C, *phase_len)``, a view."""
        view = buf[phase, :, : n * self.flat].reshape(buf.shape[1], n, *self.phase_len)
        return view.swapaxes(0, 1)

    def _padded(self, x: np.ndarray):
        """The input and its offset in the padded grid: ``x`` itself for zero padding
        (the zeros are already in the buffer), else ``x`` read through the padding."""
        win = self.geo.window
        if self.geo.padding_mode == "zeros":
            return x, win.pad_before
        for axis, src in enumerate(self.src, start=2):
            x = x.take(src, axis=axis)  # reflect, replicate, circular: no -1 here
        return x, (0,) * win.ndim

    def _to_phases(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        buf = np.zeros((math.prod(self.geo.window.stride), x.shape[1],
                        n * self.flat + self.tail), x.dtype)
        xp, before = self._padded(x)
        for phase, source, dest in self._phases(xp.shape[2:], before):
            self._grid(buf, phase, n)[(Ellipsis,) + dest] = xp[(Ellipsis,) + source]
        return buf

    def _from_phases(self, buf: np.ndarray, n: int) -> np.ndarray:
        win = self.geo.window
        zeros = self.geo.padding_mode == "zeros"
        size = win.size if zeros else self.padded
        out = np.empty((n, buf.shape[1]) + size, dtype=buf.dtype)
        for phase, source, dest in self._phases(size, win.pad_before if zeros else (0,) * win.ndim):
            out[(Ellipsis,) + source] = self._grid(buf, phase, n)[(Ellipsis,) + dest]
        if not zeros:
            for axis, (src, b, L) in enumerate(zip(self.src, win.pad_before, win.size), start=2):
                out = _unpad_axis(out, src, b, L, axis)
        return out

    # -- the two maps
    def forward(self, x: np.ndarray, conj: bool = False) -> np.ndarray:
        """``(N, C_in, *size) -> (N, C_out, *out)``: the convolution (weights conjugated)."""
        geo, n = self.geo, x.shape[0]
        g = geo.groups
        dtype = np.result_type(x.dtype, self.taps.dtype)
        taps = self.taps.conj() if conj else self.taps
        buf = self._to_phases(x.astype(dtype, copy=False))
        buf = buf.reshape(buf.shape[0], g, -1, buf.shape[-1])
        width = n * self.flat
        y = np.zeros((g, geo.out_channels // g, width), dtype=dtype)
        tmp = np.empty_like(y)
        for t, (phase, off) in enumerate(zip(self.phase.tolist(), self.offset.tolist())):
            np.matmul(taps[t], buf[phase, :, :, off:off + width], out=tmp)
            y += tmp
        y = y.reshape(geo.out_channels, n, *self.phase_len)
        y = y[(slice(None), slice(None)) + tuple(slice(0, o) for o in geo.window.out)]
        return np.ascontiguousarray(y.swapaxes(0, 1))

    def transpose(self, y: np.ndarray, conj: bool = False) -> np.ndarray:
        """``(N, C_out, *out) -> (N, C_in, *size)``: ``C^T y`` (``C^H y`` with ``conj``)."""
        geo, n = self.geo, y.shape[0]
        g = geo.groups
        dtype = np.result_type(y.dtype, self.taps.dtype)
        taps = self.taps.conj() if conj else self.taps
        width = n * self.flat
        full = np.zeros((geo.out_channels, n) + self.phase_len, dtype=dtype)
        full[(slice(None), slice(None)) + tuple(slice(0, o) for o in geo.window.out)] = (
            y.swapaxes(0, 1))
        full = full.reshape(g, -1, width)
        buf = np.zeros((math.prod(geo.window.stride), geo.in_channels, width + self.tail), dtype)
        grouped = buf.reshape(buf.shape[0], g, -1, buf.shape[-1])
        tmp = np.empty((g, geo.in_channels // g, width), dtype=dtype)
        for t, (phase, off) in enumerate(zip(self.phase.tolist(), self.offset.tolist())):
            np.matmul(taps[t].swapaxes(-1, -2), full, out=tmp)
            grouped[phase, :, :, off:off + width] += tmp
        return self._from_phases(buf, n)
