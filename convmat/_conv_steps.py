"""The steps of an animated (transposed) convolution, as data, and their captions.

:mod:`convmat.animation` draws what this module computes: for a convolution, the window
of each output on the padded input (row ``i`` of ``C``) and the value it writes; for a
transposed convolution, the stamp of each input on the uncropped output (column ``i`` of
``C^T``) and the running sum. Positions come from the window formula ``q = j s + t d`` on
the padded grid (``q - p`` in the input), independently of the matrix builders, so that
tests can hold the frames against ``conv_matrix`` and torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._args import as_array, is_int
from .labels import format_value
from .shapes import conv_geometry, conv_transpose_geometry

__all__ = ["MAX_SIDE", "ConvStep", "Setup", "caption", "conv_steps", "format_sizes",
           "make_setup", "names_of", "title"]

#: The largest matrix side an animation draws (rows and columns): beyond it the cells are
#: too small to read, and a step-by-step picture stops teaching.
MAX_SIDE = 64


# =========================================================================== the steps
@dataclass(frozen=True)
class ConvStep:
    """One step of a (transposed) convolution.

    Attributes
    ----------
    index : int
        Convolution: the flat output position computed (row ``index`` of ``C``).
        Transposed convolution: the flat input position stamped (column ``index`` of
        ``C^T``).
    taps : ndarray of int
        The flat filter taps, in C order, that reach the input (convolution) or the
        kept output (transposed convolution).
    positions : ndarray of int
        The flat positions those taps read (convolution: in the input) or write
        (transposed: in the cropped output), one per tap of ``taps``.
    padded : tuple of ndarray
        Per spatial axis, the position of every tap of the filter on the padded grid
        (convolution: the padded input; transposed: the uncropped output), padding
        included.
    value : float
        Convolution: the output written, ``sum_t w[t] x[q_t]``. Transposed: the input value
        ``x[index]`` that multiplies the stamp.
    result : ndarray
        The result after this step, spatial shape: convolution, the outputs so far (NaN
        where not yet computed); transposed, the running sum on the padded (uncropped)
        output grid.
    """

    index: int
    taps: np.ndarray
    positions: np.ndarray
    padded: tuple
    value: float
    result: np.ndarray


@dataclass(frozen=True)
class Setup:
    """A validated single-channel (transposed) convolution and its numbers."""

    transpose: bool
    weight: np.ndarray       # spatial kernel only
    x: np.ndarray            # spatial input only
    out: tuple               # spatial output size
    grid: tuple              # conv: the padded input; transposed: the uncropped output
    before: tuple            # padding before each axis (what is cropped, when transposed)
    stride: tuple
    dilation: tuple
    output_padding: tuple
    kwargs: dict             # the builder's geometry arguments, as given


def _weight(weight_or_kernel, ndim_hint) -> np.ndarray:
    """A single-channel weight ``(1, 1, *kernel)``: the given one, or ``1, 2, ..., K``
    (so that the taps are told apart) for a kernel size."""
    if is_int(weight_or_kernel) or (isinstance(weight_or_kernel, tuple)
                                    and all(is_int(k) for k in weight_or_kernel)):
        kernel = (weight_or_kernel,) * ndim_hint if is_int(weight_or_kernel) \
            else tuple(weight_or_kernel)
        if any(k < 1 for k in kernel):
            raise ValueError(f"kernel sizes must be positive, got weight_or_kernel="
                             f"{weight_or_kernel!r}")
        return np.arange(1.0, np.prod(kernel) + 1).reshape(1, 1, *kernel)
    w = as_array(weight_or_kernel, "weight_or_kernel", kinds="biuf").astype(np.float64)
    if w.ndim in (1, 2) and w.ndim == ndim_hint:
        w = w[None, None]
    if w.ndim not in (3, 4) or w.shape[:2] != (1, 1):
        raise ValueError(
            f"animate_conv draws one filter of one channel, 1-D or 2-D: weight_or_kernel "
            f"must be a kernel size, a 1-D/2-D filter or a weight of shape (1, 1, *kernel), "
            f"got shape {w.shape}")
    return w


def make_setup(weight_or_kernel, input_shape, x, stride, padding, dilation, transpose,
           output_padding) -> Setup:
    size = (input_shape,) if is_int(input_shape) else tuple(input_shape)
    if len(size) in (2, 3) and size[0] == 1:  # (1, *spatial): one channel
        size = size[1:]
    if len(size) not in (1, 2):
        raise ValueError(f"animate_conv draws 1-D and 2-D inputs, got input_shape="
                         f"{input_shape!r}")
    w = _weight(weight_or_kernel, len(size))
    if w.ndim - 2 != len(size):
        raise ValueError(f"the filter has {w.ndim - 2} spatial axes but input_shape="
                         f"{input_shape!r} has {len(size)}")
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    if transpose:
        geo = conv_transpose_geometry(w.shape, (1, *size), output_padding=output_padding,
                                      **kw)
        win, out, op = geo.conv.window, geo.out_shape[1:], geo.output_padding
    else:
        if np.any(np.asarray(output_padding) != 0):
            raise ValueError(f"output_padding applies to a transposed convolution only "
                             f"(transpose=True), got output_padding={output_padding!r}")
        geo = conv_geometry(w.shape, (1, *size), **kw)
        win, out, op = geo.window, geo.out_shape[1:], (0,) * len(size)
    if transpose:  # the uncropped output, and any output_padding beyond its end
        grid = tuple(max((n - 1) * st + d * (k - 1) + 1, b + o) for n, st, d, k, b, o in
                     zip(size, win.stride, win.dilation, w.shape[2:], win.pad_before, out))
    else:  # the padded input
        grid = tuple(n + b + a for n, b, a in zip(win.size, win.pad_before, win.pad_after))
    n_in, n_out = int(np.prod(size)), int(np.prod(out))
    if max(n_in, n_out) > MAX_SIDE:
        raise ValueError(
            f"the matrix is {n_out}x{n_in}: too big to animate (at most {MAX_SIDE} inputs "
            f"and outputs); choose a smaller input_shape (got {input_shape!r})")
    if x is None:  # 1, 2, 3, ...: small whole numbers, so every sum can be read
        x = np.arange(1.0, n_in + 1).reshape(size)
    else:
        x = as_array(x, "x", kinds="biuf").astype(np.float64)
        if x.size != n_in:
            raise ValueError(f"x must hold {n_in} values for input_shape {size}, got "
                             f"shape {x.shape}")
        x = x.reshape(size)
    if transpose:
        kw["output_padding"] = output_padding
    return Setup(transpose, w[0, 0], x, tuple(out), grid, tuple(win.pad_before),
                  tuple(win.stride), tuple(win.dilation), tuple(op), kw)


def _window(s: Setup, j) -> tuple:
    """Per axis, the padded positions ``j s + t d`` of every tap (C order over taps) of
    the window at multi-index ``j``: the padding is ``before`` cells at the start."""
    per_axis = [j_a * s_a + np.arange(k) * d_a
                for j_a, s_a, k, d_a in zip(j, s.stride, s.weight.shape, s.dilation)]
    mesh = np.meshgrid(*per_axis, indexing="ij")
    return tuple(m.ravel() for m in mesh)


def conv_steps(s: Setup) -> list[ConvStep]:
    """The steps of :func:`animate_conv`: one per output (conv) or input (transposed)."""
    w = s.weight.ravel()
    steps = []
    if not s.transpose:
        y = np.full(s.out, np.nan)
        for i in range(y.size):
            padded = _window(s, np.unravel_index(i, s.out))
            src = tuple(q - b for q, b in zip(padded, s.before))
            keep = np.all([(q >= 0) & (q < n) for q, n in zip(src, s.x.shape)], axis=0)
            flat = np.ravel_multi_index(tuple(q[keep] for q in src), s.x.shape)
            y.flat[i] = w[keep] @ s.x.ravel()[flat]
            steps.append(ConvStep(i, np.flatnonzero(keep), flat, padded, y.flat[i],
                                  y.copy()))
        return steps
    canvas = np.zeros(s.grid)
    for i in range(s.x.size):
        padded = _window(s, np.unravel_index(i, s.x.shape))
        np.add.at(canvas, padded, s.x.flat[i] * w)
        dst = tuple(q - b for q, b in zip(padded, s.before))
        keep = np.all([(q >= 0) & (q < n) for q, n in zip(dst, s.out)], axis=0)
        flat = np.ravel_multi_index(tuple(q[keep] for q in dst), s.out)
        steps.append(ConvStep(i, np.flatnonzero(keep), flat, padded, s.x.flat[i],
                              canvas.copy()))
    return steps




def names_of(s: Setup, names):
    """``(tap names, input names, output name)`` for the labels and captions: the
    article's ``x, y, z`` and ``a, b, ...`` in 1-D, weight values and indices in 2-D."""
    k = s.weight.size
    if names is not None:
        names = list(names.split(",") if isinstance(names, str) and "," in names
                     else names)
        if len(names) != k:
            raise ValueError(f"names must give one name per filter tap ({k}), got "
                             f"{len(names)}: {names!r}")
    elif len(s.x.shape) == 1:
        names = list("xyz") if k == 3 else [f"w{t}" for t in range(k)]
    else:
        names = [format_value(v) for v in s.weight.ravel()]
    if len(s.x.shape) == 1 and s.x.size <= 26:
        inputs = [chr(ord("a") + j) for j in range(s.x.size)]
    else:
        inputs = [f"x[{','.join(map(str, np.unravel_index(j, s.x.shape)))}]"
                  for j in range(s.x.size)]
    return names, inputs


def _where(index, shape) -> str:
    return ",".join(str(int(v)) for v in np.unravel_index(index, shape))


def caption(s: Setup, step: ConvStep, names, inputs) -> str:
    """The arithmetic of one step, in the article's names and in numbers."""
    w = s.weight.ravel()
    if not s.transpose:
        out = f"out[{_where(step.index, s.out)}]"
        read = dict(zip(step.taps.tolist(), step.positions.tolist()))
        sym = [f"{names[t]}\u00b7{inputs[read[t]] if t in read else '0'}"
               for t in range(w.size)]
        num = [f"{format_value(w[t])}\u00b7"
               f"{format_value(s.x.flat[read[t]]) if t in read else '0'}"
               for t in range(w.size)]
        if len(s.x.shape) == 1:
            return f"{out} = {' + '.join(sym)} = {' + '.join(num)} = " \
                   f"{format_value(step.value)}"
        return f"{out} = {' + '.join(num)} = {format_value(step.value)}"
    who = inputs[step.index]
    if len(s.x.shape) == 1:
        stamp = (f"{who}\u00b7[{', '.join(names)}] = "
                 f"[{', '.join(format_value(v) for v in step.value * w)}]")
    else:
        stamp = f"{format_value(step.value)}\u00b7w"
    where = "..".join(str(int(q)) for q in (step.padded[0].min(), step.padded[0].max()))
    if len(s.x.shape) == 2:
        cols = "..".join(str(int(q)) for q in (step.padded[1].min(), step.padded[1].max()))
        where = f"rows {where}, columns {cols}"
    else:
        where = f"positions {where}"
    return (f"{who} = {format_value(step.value)} adds {stamp} at {where} of the uncropped "
            f"output")


def title(s: Setup, names) -> str:
    op = "conv_transpose" if s.transpose else "conv"
    fmt = "\u00d7".join
    parts = [f"{op}{len(s.x.shape)}d: {fmt(map(str, s.x.shape))} \u2192 "
             f"{fmt(map(str, s.out))}", f"kernel {fmt(map(str, s.weight.shape))}",
             f"stride {format_sizes(s.stride)}", f"padding {format_sizes(s.before)}"]
    if any(d != 1 for d in s.dilation):
        parts.append(f"dilation {format_sizes(s.dilation)}")
    if any(s.output_padding):
        parts.append(f"output_padding {format_sizes(s.output_padding)}")
    text = ", ".join(parts)
    if len(s.x.shape) == 1:
        pairs = ", ".join(names)
        text += f"; filter [{pairs}] = [{', '.join(format_value(v) for v in s.weight)}]"
    return text


def format_sizes(values) -> str:
    return str(values[0]) if len(set(values)) == 1 else str(tuple(values))

