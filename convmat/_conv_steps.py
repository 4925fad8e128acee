"""The steps of an animated (transposed) convolution, as data, their captions, and the
checks and limits of the arguments that make them.

:mod:`convmat.animation` draws what this module computes: for a convolution, the window
of each output on the padded input (row ``i`` of ``C``) and the value it writes; for a
transposed convolution, the stamp of each input on the uncropped output (column ``i`` of
``C^T``) and the running sum. Positions come from the window formula ``q = j s + t d`` on
the padded grid (``q - p`` in the input), independently of the matrix builders, so that
tests can hold the frames against ``conv_matrix`` and torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._args import as_array, as_bool, as_int, as_shape, as_tuple, brief, is_int
from .labels import format_value
from .shapes import conv_geometry, conv_transpose_geometry

__all__ = ["CELL_RANGE", "FPS_RANGE", "INTERVAL_RANGE", "MAX_CELLS", "MAX_GIF_PIXELS",
           "MAX_INCHES", "MAX_SIDE", "MIN_FONT_PT", "ConvStep", "Setup", "caption",
           "check_interval", "check_names", "check_pixels", "conv_steps", "format_sizes",
           "make_setup", "names_of", "show_setup", "spatial_size", "title"]

#: The largest matrix side an animation draws (rows and columns): beyond it the cells are
#: too small to read, and a step-by-step picture stops teaching.
MAX_SIDE = 64
#: The most cells of the grid an animation draws each frame (a convolution's padded input,
#: a transposed convolution's uncropped output), every one with its number; the filter's
#: taps fit in that grid, so they are fewer.
MAX_CELLS = 256
#: Milliseconds per frame: a GIF counts time in hundredths of a second.
INTERVAL_RANGE = (10, 100_000)
#: Frames per second of a GIF, the same range (100 per second is its finest clock).
FPS_RANGE = (0.01, 100)
#: Inches per cell; the figure is at most ``MAX_INCHES`` a side.
CELL_RANGE, MAX_INCHES = (0.1, 1.0), 100
#: No label is smaller (in points): at the lowest resolution, ``DPI_RANGE[0]``, it is
#: still more than half a pixel, the least FreeType draws.
MIN_FONT_PT = 2.5
#: The pixels a GIF holds, all frames together (PillowWriter keeps every one in memory).
MAX_GIF_PIXELS = 200_000_000


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


def spatial_size(input_shape, name: str = "input_shape") -> tuple[int, ...]:
    """The 1 or 2 spatial sizes of ``input_shape``: an int, or a tuple of ints with an
    optional leading channel count of 1; at most :data:`MAX_SIDE` inputs in all."""
    shape = (as_int(input_shape, name),) if is_int(input_shape) else as_shape(input_shape,
                                                                              name)
    size = shape[1:] if len(shape) in (2, 3) and shape[0] == 1 else shape
    if len(size) not in (1, 2):
        raise ValueError(f"an animation draws 1-D and 2-D inputs: {name} must be a size, "
                         f"(H, W) or (1, *spatial), got {name}={brief(input_shape)}")
    if any(n < 1 for n in size):
        raise ValueError(f"{name} must hold positive sizes, got {name}={brief(input_shape)}")
    if math.prod(size) > MAX_SIDE:
        raise ValueError(
            f"{name}={brief(input_shape)} has {math.prod(size)} inputs: too big to animate "
            f"(at most {MAX_SIDE}, one matrix column each)")
    return size


def _filter(weight_or_kernel, ndim: int, name: str, input_name: str):
    """``(kernel, weight)``: a kernel size (``weight`` is then ``None``: it is made once
    the geometry is known to be small), or a single-channel filter and its kernel."""
    if is_int(weight_or_kernel) or (isinstance(weight_or_kernel, tuple)
                                    and all(is_int(k) for k in weight_or_kernel)):
        return as_tuple(weight_or_kernel, ndim, name, at_least=1), None
    w = as_array(weight_or_kernel, name, kinds="biuf").astype(np.float64)
    if w.ndim == ndim:
        w = w[None, None]
    if w.ndim != ndim + 2 or w.shape[:2] != (1, 1) or w.size == 0:
        raise ValueError(
            f"an animation draws one filter of one channel: {name} must be a kernel size, a "
            f"{ndim}-D filter (as {input_name} is {ndim}-D) or a weight of shape "
            f"(1, 1, *kernel), none of it empty, got {name} of shape {w.shape}")
    return w.shape[2:], w


def _described(value) -> str:
    return f"of shape {value.shape}" if isinstance(value, np.ndarray) else f"={brief(value)}"


def _geometry(kernel, size, transpose, output_padding, kw, given):
    """torch's geometry; its message, which speaks of the builder's ``weight``, gets the
    caller's name of the filter (and of the input) appended."""
    try:
        if transpose:
            return conv_transpose_geometry((1, 1, *kernel), (1, *size),
                                           output_padding=output_padding, **kw)
        return conv_geometry((1, 1, *kernel), (1, *size), **kw)
    except (ValueError, TypeError) as err:
        message = str(err)
        extra = [f"{name}{_described(value)}" for name, value in given[:2]
                 if name not in message]
        if extra and any(word in message for word in ("kernel", "weight", "input")):
            message = f"{message} ({', '.join(extra)})"
        raise type(err)(message) from None


def _too_big(what: str, given) -> ValueError:
    args = ", ".join(f"{name}{_described(value)}" for name, value in given)
    return ValueError(f"{what}: too big to animate; choose smaller sizes, got {args}")


def make_setup(weight_or_kernel, input_shape, x=None, stride=1, padding=0, dilation=1,
               transpose=False, output_padding=0, *, labels=None) -> Setup:
    """Validate an animation's arguments, sizes before anything is allocated. ``labels``
    maps ``weight_or_kernel``, ``input_shape`` and ``x`` to the caller's names for them
    (:func:`~convmat.animation.animate` calls them ``kernel``, ``input``, ``values``)."""
    name = {"weight_or_kernel": "weight_or_kernel", "input_shape": "input_shape", "x": "x",
            **(labels or {})}
    transpose = as_bool(transpose, "transpose")
    size = spatial_size(input_shape, name["input_shape"])
    kernel, w = _filter(weight_or_kernel, len(size), name["weight_or_kernel"],
                        name["input_shape"])
    given = [(name["weight_or_kernel"], weight_or_kernel if w is None else w),
             (name["input_shape"], input_shape), ("stride", stride), ("padding", padding),
             ("dilation", dilation)] + [("output_padding", output_padding)] * transpose
    if not transpose and any(as_tuple(output_padding, len(size), "output_padding")):
        raise ValueError(f"output_padding applies to a transposed convolution only "
                         f"(transpose=True), got output_padding={brief(output_padding)}")
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    geo = _geometry(kernel, size, transpose, output_padding, kw, given)
    if transpose:
        win, out, op = geo.conv.window, geo.out_shape[1:], geo.output_padding
        # the uncropped output, and any output_padding beyond its end
        grid = tuple(max((n - 1) * st + d * (k - 1) + 1, b + o) for n, st, d, k, b, o in
                     zip(size, win.stride, win.dilation, kernel, win.pad_before, out))
        kw["output_padding"] = output_padding
    else:
        win, out, op = geo.window, geo.out_shape[1:], (0,) * len(size)
        grid = tuple(n + b + a for n, b, a in zip(win.size, win.pad_before, win.pad_after))
    n_in, n_out = math.prod(size), math.prod(out)
    if n_out > MAX_SIDE:  # n_in was checked with the input
        raise _too_big(f"the matrix is {n_out}x{n_in}, more than {MAX_SIDE} outputs (one "
                       f"row each)", given)
    if math.prod(grid) > MAX_CELLS:  # the kernel's taps are fewer: it fits in the grid
        what = "uncropped output" if transpose else "padded input"
        raise _too_big(f"the {what} is {'x'.join(map(str, grid))}, more than {MAX_CELLS} "
                       f"cells (each drawn with its number)", given)
    if w is None:  # 1, 2, 3, ...: the taps are told apart
        w = np.arange(1.0, math.prod(kernel) + 1).reshape(1, 1, *kernel)
    if x is None:  # 1, 2, 3, ...: small whole numbers, so every sum can be read
        x = np.arange(1.0, n_in + 1).reshape(size)
    else:
        x = as_array(x, name["x"], kinds="biuf").astype(np.float64)
        if x.size != n_in:
            raise ValueError(f"{name['x']} must hold {n_in} values for the input size "
                             f"{size}, got shape {x.shape}")
        x = x.reshape(size)
    return Setup(transpose, w[0, 0], x, tuple(out), grid, tuple(win.pad_before),
                 tuple(win.stride), tuple(win.dilation), tuple(op), kw)


def show_setup(*, input=None, kernel=None, stride=None, padding=0, dilation=1,
               output_padding=0, transpose=False, weight=None, values=None, channels=1,
               out_channels=1, groups=1) -> Setup:
    """:func:`make_setup` from ``convmat show``'s options, named as the caller named them
    (``input``, ``kernel`` or ``weight``, ``values``); sizes are 1 or ``ndim`` values."""
    for name, value in (("channels", channels), ("out_channels", out_channels),
                        ("groups", groups)):
        if as_int(value, name) != 1:
            raise ValueError(f"an animation draws one channel: {name} must be 1, got "
                             f"{name}={value!r}")
    input = (4,) if input is None else input
    n = len(spatial_size(input, "input"))
    kernel = as_tuple(3 if kernel is None else kernel, n, "kernel", at_least=1)
    if weight is not None:  # the kernel's taps are never allocated: the weight is given
        weight = as_array(weight, "weight", kinds="biuf").astype(np.float64)
        if weight.size != math.prod(kernel):
            raise ValueError(f"weight must give {math.prod(kernel)} values for a kernel "
                             f"{kernel}, got {weight.size}")
        weight = weight.reshape(1, 1, *kernel)

    def per_dim(value, name):  # the geometry checks the ranges
        return value if isinstance(value, str) else as_tuple(value, n, name)

    return make_setup(
        kernel if weight is None else weight, input, values,
        per_dim(1 if stride is None else stride, "stride"), per_dim(padding, "padding"),
        per_dim(dilation, "dilation"), transpose, per_dim(output_padding, "output_padding"),
        labels={"weight_or_kernel": "kernel" if weight is None else "weight",
                "input_shape": "input", "x": "values"})


def check_interval(interval) -> int:
    """``interval``, milliseconds per frame, as an int in :data:`INTERVAL_RANGE`."""
    low, high = INTERVAL_RANGE
    if as_int(interval, "interval") < low or interval > high:
        raise ValueError(f"interval must be from {low} to {high} milliseconds per frame (a "
                         f"GIF counts time in hundredths of a second), got "
                         f"interval={interval!r}")
    return int(interval)


def check_pixels(figure, dpi: int, n_frames: int) -> None:
    """Refuse, before drawing, frames of more than :data:`MAX_GIF_PIXELS` in all."""
    width, height = (round(v * dpi) for v in figure.get_size_inches())
    total = width * height * n_frames
    if total > MAX_GIF_PIXELS:
        raise ValueError(
            f"{n_frames} frame(s) of {width}x{height} pixels are {total:,} pixels, more than "
            f"{MAX_GIF_PIXELS:,}: choose a smaller dpi, cell or geometry, got dpi={dpi}")


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


def check_names(names, k: int) -> list[str] | None:
    """``names`` as a list of ``k`` strings: one letter each (``"xyz"``), comma-separated
    (``"w0,w1,w2"``) or a list or tuple of strings; ``None`` stays ``None``."""
    if names is None:
        return None
    if isinstance(names, str):
        items = names.split(",") if "," in names else list(names)
    elif isinstance(names, (list, tuple)) or (isinstance(names, np.ndarray)
                                              and names.ndim == 1):
        items = list(names)
    else:
        items = [None]
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"names must be a string ('xyz' or 'w0,w1,w2') or a sequence of "
                        f"strings, one per filter tap, got names={brief(names)}")
    if len(items) != k:
        raise ValueError(f"names must give one name per filter tap ({k}), got "
                         f"{len(items)}: names={brief(names)}")
    return [str(item) for item in items]


def names_of(s: Setup, names):
    """``(tap names, input names)`` for the labels and captions: the article's
    ``x, y, z`` and ``a, b, ...`` in 1-D, weight values and indices in 2-D."""
    k = s.weight.size
    names = check_names(names, k)
    if names is None and len(s.x.shape) == 1:
        names = list("xyz") if k == 3 else [f"w{t}" for t in range(k)]
    elif names is None:
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

