"""Shape arithmetic: every size, padding and argument check of convmat, in one place.

Each builder normalises its arguments here, gets back a small frozen geometry object, and
never computes a size itself. The public helpers take the builder's own arguments (less
``max_entries`` and ``dtype``) and return the output shape of one sample, by arithmetic:

=============================  ====================================================
builder                        shape helper
=============================  ====================================================
``conv_matrix``                ``conv_output_shape``
``conv_transpose_matrix``      ``conv_transpose_output_shape``
``max_pool_selection``         ``pool_output_shape``
``avg_pool_matrix``            ``avg_pool_output_shape``
``max_unpool_matrix``          ``max_unpool_output_shape``
``interpolate_matrix``         ``interpolate_output_shape``
``bed_of_nails_matrix``        ``bed_of_nails_output_shape``
``pixel_shuffle_matrix``       ``pixel_shuffle_output_shape``
``pixel_unshuffle_matrix``     ``pixel_unshuffle_output_shape``
=============================  ====================================================

All rules are torch's (``torch.nn.functional``, 2.13), per spatial dimension, with
``L`` the input length, ``k`` the kernel, ``s`` the stride, ``p`` the padding, ``d`` the
dilation and ``ek = d (k - 1) + 1`` the effective kernel:

* convolution: ``O = (L + p_before + p_after - ek) // s + 1``;
* transposed convolution: ``O = (L - 1) s - 2 p + d (k - 1) + output_padding + 1``;
* pooling: as convolution, or with ``ceil`` in ``ceil_mode`` (the last window must start
  inside the input or the left padding).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Window",
    "conv_output_shape",
    "conv_transpose_output_shape",
]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# --------------------------------------------------------------------------- arguments
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def as_int(value, name: str) -> int:
    """``value`` as a Python int; ``TypeError`` naming ``name`` for anything else."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer, got {name}={value!r}")
    return int(value)


def as_tuple(value, n: int, name: str) -> tuple[int, ...]:
    """An int or a sequence of 1 or ``n`` ints, as an ``n``-tuple (torch's expansion)."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(
            f"{name} must be an integer or a sequence of {n} integers, got {name}={value!r}"
        )
    items = tuple(value)
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        raise ValueError(
            f"{name} must be a single integer or a sequence of {n} integers (one per "
            f"spatial dimension), got {name}={value!r}"
        )
    for item in items:
        if not _is_int(item):
            raise TypeError(f"{name} must hold integers, got {name}={value!r}")
    return tuple(int(v) for v in items)


def check_at_least(values: tuple[int, ...], low: int, name: str, given=None) -> None:
    if any(v < low for v in values):
        shown = values if given is None else given
        what = "positive" if low == 1 else f"at least {low}"
        raise ValueError(f"{name} must be {what}, got {name}={shown!r}")


def as_shape(shape, name: str = "input_shape", *, min_ndim: int = 1) -> tuple[int, ...]:
    """A shape as a tuple of non-negative ints."""
    if _is_int(shape) or isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError(f"{name} must be a sequence of integers, got {name}={shape!r}")
    items = tuple(shape)
    for item in items:
        if not _is_int(item):
            raise TypeError(f"{name} must hold integers, got {name}={shape!r}")
    items = tuple(int(v) for v in items)
    if len(items) < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} entries, got {name}={shape!r}")
    if any(v < 0 for v in items):
        raise ValueError(f"{name} must hold non-negative sizes, got {name}={shape!r}")
    return items


def shape_of(array_or_shape, name: str) -> tuple[int, ...]:
    """The shape of an array, or a shape given as a tuple or list of ints."""
    if isinstance(array_or_shape, (tuple, list)) and all(_is_int(v) for v in array_or_shape):
        return as_shape(array_or_shape, name)
    return tuple(np.shape(array_or_shape))


# --------------------------------------------------------------------------- windows
@dataclass(frozen=True)
class Window:
    """A window sliding over a padded grid, per spatial dimension.

    Output position ``j`` of dimension ``i`` reads taps ``t = 0 .. kernel[i]-1`` at input
    positions ``j * stride[i] - pad_before[i] + t * dilation[i]`` (negative or past the
    end: padding). ``out`` is the number of window positions.
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

    def positions(self, dim: int, n_out: int | None = None) -> np.ndarray:
        """Input position of every (output position, tap) pair of one dimension."""
        n_out = self.out[dim] if n_out is None else n_out
        j = np.arange(n_out, dtype=np.int64)[:, None]
        t = np.arange(self.kernel[dim], dtype=np.int64)[None, :]
        return j * self.stride[dim] - self.pad_before[dim] + t * self.dilation[dim]

    def count_inside(self, dim: int, n_out: int | None = None) -> int:
        """How many of ``positions(dim, n_out)`` fall inside the input, by arithmetic.

        For each tap ``t`` the outputs ``j`` with ``0 <= j s - p + t d < L`` form a range,
        so the count costs ``O(kernel)``, not ``O(n_out * kernel)``: it sizes a matrix
        before anything is allocated.
        """
        n_out = self.out[dim] if n_out is None else n_out
        s, p, d, L = self.stride[dim], self.pad_before[dim], self.dilation[dim], self.size[dim]
        total = 0
        for t in range(self.kernel[dim]):
            first = max(0, -((t * d - p) // s))         # ceil((p - t d) / s)
            last = min(n_out - 1, (L - 1 + p - t * d) // s)
            total += max(0, last - first + 1)
        return total


def effective_kernel(kernel, dilation) -> tuple[int, ...]:
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


class _WindowShapes:
    """``in_shape`` / ``out_shape`` of a geometry: channel counts around a window."""

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.in_channels, *self.window.size)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.out_channels, *self.window.out)


# --------------------------------------------------------------------------- convolution
@dataclass(frozen=True)
class ConvGeometry(_WindowShapes):
    """Everything ``conv_matrix`` needs to know, validated."""

    in_channels: int
    out_channels: int
    groups: int
    window: Window
    padding_mode: str

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.window.kernel)


def _weight_and_input(weight_shape, input_shape, op: str):
    weight_shape = tuple(weight_shape)
    if len(weight_shape) not in (3, 4, 5):
        raise ValueError(
            f"weight must have 3, 4 or 5 dimensions (channels, channels per group, then a "
            f"kernel of 1, 2 or 3 spatial dimensions) for {op}, got weight of shape "
            f"{weight_shape}"
        )
    input_shape = as_shape(input_shape)
    if len(input_shape) != len(weight_shape) - 1:
        raise ValueError(
            f"input_shape must be (C, *spatial) with {len(weight_shape) - 2} spatial "
            f"dimension(s) to match weight of shape {weight_shape}, got "
            f"input_shape={input_shape}"
        )
    if any(k < 1 for k in weight_shape[2:]):
        raise ValueError(f"kernel size must be positive, got weight of shape {weight_shape}")
    if weight_shape[0] < 1 or weight_shape[1] < 1:
        raise ValueError(
            f"weight must have at least one filter and one channel per group, got weight "
            f"of shape {weight_shape}"
        )
    if any(L < 1 for L in input_shape[1:]):
        raise ValueError(
            f"input_shape must have positive spatial sizes (torch supports only empty "
            f"batches or channels), got input_shape={input_shape}"
        )
    return weight_shape, input_shape


def _groups(groups, divisible, what: str, weight_shape) -> int:
    groups = as_int(groups, "groups")
    if groups < 1:
        raise ValueError(f"groups must be a positive integer, got groups={groups}")
    if divisible % groups:
        raise ValueError(
            f"groups={groups} must divide {what} ({divisible}), the first dimension of "
            f"weight of shape {weight_shape}"
        )
    return groups


def _same_padding(kernel, dilation, stride):
    if any(s != 1 for s in stride):
        raise ValueError(
            f"padding='same' is not supported for strided convolutions, got stride={stride}"
        )
    total = tuple(d * (k - 1) for k, d in zip(kernel, dilation))
    # torch puts the odd extra pixel at the end: left = total // 2.
    before = tuple(t // 2 for t in total)
    return before, tuple(t - b for t, b in zip(total, before))


def conv_geometry(
    weight_shape, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
    padding_mode="zeros",
) -> ConvGeometry:
    """Validate ``conv_matrix``'s arguments as torch does and compute its output shape."""
    weight_shape, input_shape = _weight_and_input(weight_shape, input_shape, "conv_matrix")
    n = len(weight_shape) - 2
    kernel = weight_shape[2:]
    stride, given_stride = as_tuple(stride, n, "stride"), stride
    check_at_least(stride, 1, "stride", given_stride)
    dilation, given_dilation = as_tuple(dilation, n, "dilation"), dilation
    check_at_least(dilation, 1, "dilation", given_dilation)
    if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
        raise ValueError(
            f"padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}"
        )
    if isinstance(padding, str):
        if padding == "valid":
            before = after = (0,) * n
        elif padding == "same":
            before, after = _same_padding(kernel, dilation, stride)
        else:
            raise ValueError(
                f"padding must be an integer, a tuple, 'valid' or 'same', got padding={padding!r}"
            )
    else:
        before = after = as_tuple(padding, n, "padding")
        # F.pad crops with a negative width, so only zero padding forbids it.
        if padding_mode == "zeros":
            check_at_least(before, 0, "padding", padding)
    groups = _groups(groups, weight_shape[0], "out_channels", weight_shape)
    channels = input_shape[0]
    if channels != weight_shape[1] * groups:
        raise ValueError(
            f"input_shape has {channels} channels, but weight of shape {weight_shape} with "
            f"groups={groups} expects {weight_shape[1] * groups} "
            f"(weight.shape[1] * groups)"
        )
    size = input_shape[1:]
    if padding_mode != "zeros":
        _check_pad_mode(size, before, after, padding_mode)
    ek = effective_kernel(kernel, dilation)
    padded = tuple(L + b + a for L, b, a in zip(size, before, after))
    if any(P < e for P, e in zip(padded, ek)):
        raise ValueError(
            f"kernel is larger than the padded input: padded input size {padded}, effective "
            f"kernel size {ek} (kernel {kernel}, dilation {dilation}); each padded size "
            f"must be at least dilation * (kernel - 1) + 1"
        )
    out = tuple((P - e) // s + 1 for P, e, s in zip(padded, ek, stride))
    window = Window(size, kernel, stride, dilation, before, after, out)
    return ConvGeometry(channels, weight_shape[0], groups, window, padding_mode)


def _check_pad_mode(size, before, after, mode):
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
    """Input index read at padded coordinate ``q`` (``-1``: a zero), as ``F.pad`` does."""
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


def conv_output_shape(
    weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"
) -> tuple[int, ...]:
    """Output shape ``(C_out, *spatial)`` of ``conv_matrix`` with the same arguments.

    ``weight`` is the weight array or just its shape.

    Examples
    --------
    The seed's 4-element input and 3-tap filter, with and without padding:

    >>> conv_output_shape((1, 1, 3), (1, 4))
    (1, 2)
    >>> conv_output_shape((1, 1, 3), (1, 4), padding=1)
    (1, 4)
    >>> conv_output_shape((1, 1, 3), (1, 4), padding="same", dilation=2)
    (1, 4)
    """
    geo = conv_geometry(
        shape_of(weight, "weight"), input_shape, stride=stride, padding=padding,
        dilation=dilation, groups=groups, padding_mode=padding_mode,
    )
    return geo.out_shape


# --------------------------------------------------------------------------- transposed
@dataclass(frozen=True)
class ConvTransposeGeometry:
    """A transposed convolution as the transpose of the convolution ``conv``.

    ``conv`` maps the transposed convolution's output back to ``conv.window.out``, which
    equals ``in_size`` except when ``stride <= output_padding < dilation`` (then it is
    larger and only the first ``in_size`` positions are used).
    """

    conv: ConvGeometry
    in_size: tuple[int, ...]
    output_padding: tuple[int, ...]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.conv.out_channels, *self.in_size)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.conv.in_shape


def conv_transpose_geometry(
    weight_shape, input_shape, *, stride=1, padding=0, output_padding=0, dilation=1,
    groups=1, output_size=None,
) -> ConvTransposeGeometry:
    """Validate ``conv_transpose_matrix``'s arguments as torch does."""
    weight_shape, input_shape = _weight_and_input(
        weight_shape, input_shape, "conv_transpose_matrix"
    )
    n = len(weight_shape) - 2
    kernel = weight_shape[2:]
    stride, given_stride = as_tuple(stride, n, "stride"), stride
    check_at_least(stride, 1, "stride", given_stride)
    dilation, given_dilation = as_tuple(dilation, n, "dilation"), dilation
    check_at_least(dilation, 1, "dilation", given_dilation)
    if isinstance(padding, str):
        raise TypeError(
            f"padding must be an integer or a tuple for a transposed convolution (torch has "
            f"no 'same'/'valid' here), got padding={padding!r}"
        )
    padding, given_padding = as_tuple(padding, n, "padding"), padding
    check_at_least(padding, 0, "padding", given_padding)
    groups = _groups(groups, weight_shape[0], "in_channels", weight_shape)
    if input_shape[0] != weight_shape[0]:
        raise ValueError(
            f"input_shape has {input_shape[0]} channels, but weight of shape {weight_shape} "
            f"expects {weight_shape[0]} (weight.shape[0]) for a transposed convolution"
        )
    size = input_shape[1:]
    base = tuple(
        (L - 1) * s - 2 * p + d * (k - 1) + 1
        for L, s, p, d, k in zip(size, stride, padding, dilation, kernel)
    )
    if output_size is not None:
        output_padding = _output_padding_from_size(output_size, base, stride, size)
    else:
        given_op = output_padding
        output_padding = as_tuple(output_padding, n, "output_padding")
        check_at_least(output_padding, 0, "output_padding", given_op)
        if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
            raise ValueError(
                f"output_padding must be smaller than either stride or dilation, got "
                f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
            )
    out = tuple(b + op for b, op in zip(base, output_padding))
    if any(o < 1 for o in out):
        raise ValueError(
            f"output size is too small: input size {size} gives output size {out} "
            f"(stride={stride}, padding={padding}, dilation={dilation}, kernel={kernel}, "
            f"output_padding={output_padding})"
        )
    conv = conv_geometry(
        weight_shape, (weight_shape[1] * groups, *out), stride=stride, padding=padding,
        dilation=dilation, groups=groups,
    )
    return ConvTransposeGeometry(conv, size, output_padding)


def _output_padding_from_size(output_size, base, stride, size):
    requested = _spatial_output_size(output_size, len(base), leading=(1, 2))
    high = tuple(b + s - 1 for b, s in zip(base, stride))
    if any(not lo <= r <= hi for r, lo, hi in zip(requested, base, high)):
        raise ValueError(
            f"requested output_size={list(requested)}, but valid sizes range from "
            f"{list(base)} to {list(high)} (for an input of spatial size {list(size)})"
        )
    return tuple(r - b for r, b in zip(requested, base))


def conv_transpose_output_shape(
    weight, input_shape, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
    output_size=None,
) -> tuple[int, ...]:
    """Output shape ``(C_out, *spatial)`` of ``conv_transpose_matrix``.

    ``O = (L - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1``.

    Examples
    --------
    The seed's transposed convolution: 2 inputs, 3 taps, stride 2 gives 5; stride 1 gives 4.

    >>> conv_transpose_output_shape((1, 1, 3), (1, 2), stride=2)
    (1, 5)
    >>> conv_transpose_output_shape((1, 1, 3), (1, 2), stride=1)
    (1, 4)
    """
    geo = conv_transpose_geometry(
        shape_of(weight, "weight"), input_shape, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation, groups=groups,
        output_size=output_size,
    )
    return geo.out_shape



# =========================================================================== pooling
# Pooling, unpooling, interpolation and pixel shuffling: arguments, checks and sizes.
__all__ += [
    "avg_pool_output_shape",
    "bed_of_nails_output_shape",
    "interpolate_output_shape",
    "max_unpool_output_shape",
    "pixel_shuffle_output_shape",
    "pixel_unshuffle_output_shape",
    "pool_output_shape",
]


def as_bool(value, name: str) -> bool:
    """``value`` as a bool; ``TypeError`` for anything else (torch refuses ints here)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {name}={value!r}")
    return bool(value)


def _sample_shape(input_shape, name: str, ndims=(1, 2, 3)) -> tuple[int, tuple[int, ...]]:
    """``(C, spatial)`` of a sample with ``ndims`` spatial axes and no empty axis."""
    shape = as_shape(input_shape, name)
    if len(shape) - 1 not in ndims:
        allowed = " or ".join(str(n) for n in ndims)
        raise ValueError(
            f"{name} must be (C, *spatial) with {allowed} spatial dimension(s), got "
            f"{name}={shape}"
        )
    if any(v < 1 for v in shape):
        raise ValueError(f"{name} must hold positive sizes (torch refuses empty inputs), got "
                         f"{name}={shape}")
    return shape[0], shape[1:]


@dataclass(frozen=True)
class PoolGeometry(_WindowShapes):
    """A pooling window over every channel of a sample, validated as torch does."""

    channels: int
    window: Window
    ceil_mode: bool

    @property
    def in_channels(self) -> int:
        return self.channels

    out_channels = in_channels


def _default_stride(stride, kernel, n):
    # torch: stride=None (or an empty list) means stride = kernel_size.
    if stride is None or (hasattr(stride, "__len__") and len(stride) == 0):
        return kernel
    return as_tuple(stride, n, "stride")


def _empty_window(L: int, k: int, s: int, p: int, d: int, n_out: int) -> int | None:
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


def pool_geometry(input_shape, kernel_size, *, stride=None, padding=0, dilation=1,
                  ceil_mode=False) -> PoolGeometry:
    """Validate a max or average pooling as torch does and compute its output size.

    Per dimension ``O = (L + 2p - ek) // s + 1`` (``ceil`` in ``ceil_mode``, dropping a
    last window that would start in the right padding). A window with no input element
    in it (possible with dilation) is refused: torch returns ``-inf`` with an undefined
    index there.
    """
    channels, size = _sample_shape(input_shape, "input_shape")
    n = len(size)
    kernel = as_tuple(kernel_size, n, "kernel_size")
    check_at_least(kernel, 1, "kernel_size")
    stride = _default_stride(stride, kernel, n)
    check_at_least(stride, 1, "stride")
    padding, given_padding = as_tuple(padding, n, "padding"), padding
    check_at_least(padding, 0, "padding", given_padding)
    dilation = as_tuple(dilation, n, "dilation")
    check_at_least(dilation, 1, "dilation")
    ceil_mode = as_bool(ceil_mode, "ceil_mode")
    # torch compares with the kernel, not the effective (dilated) kernel.
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"padding must be at most half the kernel size, got padding={padding} for "
            f"kernel_size={kernel} (allowed: padding <= kernel_size // 2 per dimension)"
        )
    ek = effective_kernel(kernel, dilation)
    out = []
    for L, e, s, p in zip(size, ek, stride, padding):
        span = L + 2 * p - e
        if ceil_mode:
            o = -(-span // s) + 1
            if (o - 1) * s >= L + p:  # the last window must start before the right padding
                o -= 1
        else:
            o = span // s + 1
        out.append(o)
    out = tuple(out)
    if any(o < 1 for o in out):
        raise ValueError(
            f"output size is too small: input size {size} gives output size {out} "
            f"(kernel_size={kernel}, stride={stride}, padding={padding}, "
            f"dilation={dilation}, ceil_mode={ceil_mode}); every output size must be >= 1"
        )
    window = Window(size, kernel, stride, dilation, padding, padding, out)
    for dim in range(n):
        j = _empty_window(size[dim], kernel[dim], stride[dim], padding[dim], dilation[dim],
                          out[dim])
        if j is not None:
            pos = [j * stride[dim] - padding[dim] + t * dilation[dim]
                   for t in range(kernel[dim])]
            raise ValueError(
                f"pooling window {j} of spatial dimension {dim} holds no input element "
                f"(positions {pos} of an input of size {size[dim]}; "
                f"kernel_size={kernel}, stride={stride}, padding={padding}, "
                f"dilation={dilation}, ceil_mode={ceil_mode}); torch would return -inf "
                f"with an undefined index there"
            )
    return PoolGeometry(channels, window, ceil_mode)


def pool_output_shape(input_shape, kernel_size, *, stride=None, padding=0, dilation=1,
                      ceil_mode=False) -> tuple[int, ...]:
    """Output shape ``(C, *spatial)`` of ``max_pool_selection`` with the same arguments.

    ``input_shape`` is the input sample itself or its shape, as a tuple. Average pooling
    has its own helper, :func:`avg_pool_output_shape`.

    Examples
    --------
    The seed's 4x4 map pooled 2x2, and a 1-D case where ``ceil_mode`` adds a window:

    >>> pool_output_shape((1, 4, 4), 2)
    (1, 2, 2)
    >>> pool_output_shape((1, 5), 2), pool_output_shape((1, 5), 2, ceil_mode=True)
    ((1, 2), (1, 3))
    """
    geo = pool_geometry(shape_of(input_shape, "input_shape"), kernel_size, stride=stride,
                        padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    return geo.out_shape


@dataclass(frozen=True)
class AvgPoolGeometry:
    pool: PoolGeometry
    count_include_pad: bool
    divisor_override: int | None


def avg_pool_geometry(input_shape, kernel_size, *, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None) -> AvgPoolGeometry:
    """Validate ``avg_pool_matrix``'s arguments as ``F.avg_pool{1,2,3}d`` does."""
    pool = pool_geometry(input_shape, kernel_size, stride=stride, padding=padding,
                         ceil_mode=ceil_mode)
    count_include_pad = as_bool(count_include_pad, "count_include_pad")
    win = pool.window
    if win.ndim == 3 and any(L < k for L, k in zip(win.size, win.kernel)):
        # Only avg_pool3d has this check; padding does not count.
        raise ValueError(
            f"3-D average pooling needs an input at least as large as the kernel (padding "
            f"not counted, as torch's avg_pool3d), got spatial size {win.size} and "
            f"kernel_size={win.kernel}"
        )
    if divisor_override is not None:
        if pool.window.ndim == 1:
            raise TypeError(
                f"divisor_override is only available for 2-D and 3-D average pooling (as in "
                f"torch, whose avg_pool1d has no such argument), got "
                f"divisor_override={divisor_override!r} for a 1-D input"
            )
        divisor_override = as_int(divisor_override, "divisor_override")
        if divisor_override == 0:
            raise ValueError("divisor_override must not be zero, got divisor_override=0")
    return AvgPoolGeometry(pool, count_include_pad, divisor_override)


def avg_pool_output_shape(input_shape, kernel_size, *, stride=None, padding=0,
                          ceil_mode=False, count_include_pad=True,
                          divisor_override=None) -> tuple[int, ...]:
    """Output shape ``(C, *spatial)`` of ``avg_pool_matrix`` with the same arguments.

    Validates them as ``avg_pool_matrix`` does (``divisor_override`` non-zero, 2-D and 3-D
    only); ``count_include_pad`` and ``divisor_override`` change the weights, not the size.

    Examples
    --------
    >>> avg_pool_output_shape((1, 4, 4), 2)
    (1, 2, 2)
    >>> avg_pool_output_shape((1, 5), 2), avg_pool_output_shape((1, 5), 2, ceil_mode=True)
    ((1, 2), (1, 3))
    """
    return avg_pool_geometry(input_shape, kernel_size, stride=stride, padding=padding,
                             ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                             divisor_override=divisor_override).pool.out_shape


# =========================================================================== unpooling
def _spatial_output_size(output_size, n: int, *, leading=(1, 2)) -> tuple[int, ...]:
    """The ``n`` spatial sizes of an ``output_size`` argument, as torch reads it.

    ``output_size`` is a sequence of ``n`` integers, or of ``n + m`` for ``m`` in
    ``leading``, whose first ``m`` entries (channels; batch and channels) are dropped.
    Used by transposed convolution (``leading=(1, 2)``: unbatched or batched input) and
    max unpooling (``leading=(2,)``). The range of each size is the caller's to check.
    """
    if _is_int(output_size) or isinstance(output_size, (str, bytes)) or not hasattr(
        output_size, "__len__"
    ):
        raise TypeError(f"output_size must be a sequence of integers, got "
                        f"output_size={output_size!r}")
    sizes = tuple(output_size)
    if len(sizes) - n in leading:
        sizes = sizes[len(sizes) - n:]
    if len(sizes) != n:
        front = {1: "the channels", 2: "batch and channels"}
        longer = ", or ".join(f"{n + m} with {front[m]} in front" for m in sorted(leading))
        raise ValueError(
            f"output_size must have {n} entries (or {longer}), got "
            f"output_size={tuple(output_size)}"
        )
    return tuple(as_int(v, "output_size") for v in sizes)


@dataclass(frozen=True)
class UnpoolGeometry:
    channels: int
    in_size: tuple[int, ...]
    out: tuple[int, ...]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.in_size)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.out)


def max_unpool_geometry(indices_shape, kernel_size, *, stride=None, padding=0,
                        output_size=None) -> UnpoolGeometry:
    """Validate ``max_unpool_matrix``'s arguments as ``F.max_unpool{1,2,3}d`` does.

    torch checks no range here: the kernel, stride and padding only enter the default
    size ``(L - 1) * stride - 2 * padding + kernel_size`` and the allowed range of
    ``output_size``, strictly within ``stride`` of it; sizes must not be negative.
    """
    channels, size = _sample_shape(indices_shape, "indices.shape")
    n = len(size)
    kernel = as_tuple(kernel_size, n, "kernel_size")
    stride = _default_stride(stride, kernel, n)
    padding = as_tuple(padding, n, "padding")
    if n == 3:  # only max_unpool3d passes the stride on to a check
        check_at_least(stride, 1, "stride")
    default = tuple((L - 1) * s - 2 * p + k for L, s, p, k in zip(size, stride, padding, kernel))
    if output_size is None:
        out = default
    else:
        # F.max_unpool drops the batch and channel sizes, but not the channels alone.
        out = _spatial_output_size(output_size, n, leading=(2,))
        for dim, (o, d, s) in enumerate(zip(out, default, stride)):
            if not d - s < o < d + s:
                raise ValueError(
                    f"invalid output_size={out}: dimension {dim} must lie strictly between "
                    f"{d - s} and {d + s} (the default size {d} -/+ stride {s})"
                )
    if any(o < 0 for o in out):
        raise ValueError(
            f"output size must not be negative, got {out} (kernel_size={kernel}, "
            f"stride={stride}, padding={padding}, output_size={output_size})"
        )
    return UnpoolGeometry(channels, size, out)


def max_unpool_output_shape(indices, kernel_size, *, stride=None, padding=0,
                            output_size=None) -> tuple[int, ...]:
    """Output shape ``(C, *spatial)`` of ``max_unpool_matrix``.

    ``indices`` is the index array or its shape. Per dimension the default is
    ``O = (L - 1) * stride - 2 * padding + kernel_size``.

    Examples
    --------
    >>> max_unpool_output_shape((1, 2, 2), 2)
    (1, 4, 4)
    >>> max_unpool_output_shape((1, 2), 2, output_size=(5,))
    (1, 5)
    """
    geo = max_unpool_geometry(shape_of(indices, "indices"), kernel_size, stride=stride,
                              padding=padding, output_size=output_size)
    return geo.out_shape


# --------------------------------------------------------------------------- interpolation
INTERPOLATE_MODES = {
    "nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "linear": (1,), "bilinear": (2,),
    "trilinear": (3,), "bicubic": (2,),
}


@dataclass(frozen=True)
class InterpolateGeometry:
    """``F.interpolate``'s arguments, validated; ``scales[i]`` is the scale factor torch
    passes on to its kernels for dimension ``i`` (``None`` when it uses ``L / O``)."""

    channels: int
    size: tuple[int, ...]
    out: tuple[int, ...]
    mode: str
    align_corners: bool
    scales: tuple[float | None, ...]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.size)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.out)


def _per_dim(value, n: int, name: str, kind, kind_name: str, shape) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have one entry per spatial dimension ({n} for an input of "
                f"shape {shape}), got {name}={value!r}"
            )
        items = tuple(value)
    else:
        items = (value,) * n
    if not all(kind(v) for v in items):
        raise TypeError(f"{name} must be {kind_name} or a tuple of them, got {name}={value!r}")
    return items


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def interpolate_geometry(input_shape, *, size=None, scale_factor=None, mode="nearest",
                         align_corners=None, recompute_scale_factor=None
                         ) -> InterpolateGeometry:
    """Validate ``interpolate_matrix``'s arguments as ``F.interpolate`` does."""
    if not isinstance(mode, str) or mode not in INTERPOLATE_MODES:
        raise ValueError(
            f"mode must be one of {tuple(INTERPOLATE_MODES)}, got mode={mode!r} (torch's "
            f"'area', 'lanczos' and antialiasing are not supported)"
        )
    channels, spatial = _sample_shape(input_shape, "input_shape")
    shape = (channels, *spatial)
    n = len(spatial)
    if n not in INTERPOLATE_MODES[mode]:
        need = INTERPOLATE_MODES[mode][0]
        raise ValueError(
            f"mode={mode!r} needs an input with {need} spatial dimension(s), got "
            f"input_shape={shape}"
        )
    if mode.startswith("nearest"):
        if align_corners is not None:
            raise ValueError(
                f"align_corners can only be set with the interpolating modes linear, "
                f"bilinear, bicubic and trilinear, got align_corners={align_corners!r} "
                f"with mode={mode!r}"
            )
        align_corners = False
    else:
        align_corners = False if align_corners is None else as_bool(align_corners,
                                                                     "align_corners")
    if (size is None) == (scale_factor is None):
        raise ValueError(
            f"exactly one of size and scale_factor must be given, got size={size!r} and "
            f"scale_factor={scale_factor!r}"
        )
    if recompute_scale_factor is not None:
        recompute_scale_factor = as_bool(recompute_scale_factor, "recompute_scale_factor")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor=True is not meaningful with an explicit "
                             f"size, got size={size!r}")
        out = tuple(int(v) for v in _per_dim(size, n, "size", _is_int, "an integer", shape))
        scales = (None,) * n
    else:
        factors = tuple(float(v) for v in _per_dim(scale_factor, n, "scale_factor", _is_real,
                                                    "a number", shape))
        if not all(math.isfinite(f) for f in factors):
            raise ValueError(f"scale_factor must be finite, got scale_factor={scale_factor!r}")
        if recompute_scale_factor:
            # torch computes int(L * sf) in Python and then forgets the factor.
            out = tuple(int(L * f) for L, f in zip(spatial, factors))
            scales = (None,) * n
        else:
            out = tuple(math.floor(L * f) for L, f in zip(spatial, factors))
            scales = factors
    if any(o < 1 for o in out):
        raise ValueError(
            f"output size must be positive, got output size {out} for input_shape={shape} "
            f"(size={size!r}, scale_factor={scale_factor!r})"
        )
    return InterpolateGeometry(channels, spatial, out, mode, align_corners, scales)


def interpolate_output_shape(input_shape, *, size=None, scale_factor=None, mode="nearest",
                             align_corners=None, recompute_scale_factor=None
                             ) -> tuple[int, ...]:
    """Output shape ``(C, *spatial)`` of ``interpolate_matrix``.

    ``O = size``, or ``floor(L * scale_factor)`` (computed in double, as torch does).

    Examples
    --------
    >>> interpolate_output_shape((1, 2, 2), scale_factor=2)
    (1, 4, 4)
    >>> interpolate_output_shape((3, 10), scale_factor=0.35, mode="linear")
    (3, 3)
    """
    geo = interpolate_geometry(input_shape, size=size, scale_factor=scale_factor, mode=mode,
                               align_corners=align_corners,
                               recompute_scale_factor=recompute_scale_factor)
    return geo.out_shape


# --------------------------------------------------------------------------- bed of nails
@dataclass(frozen=True)
class BedOfNailsGeometry:
    channels: int
    size: tuple[int, ...]
    scale: tuple[int, ...]
    offset: tuple[int, ...]

    @property
    def out(self) -> tuple[int, ...]:
        return tuple(L * s for L, s in zip(self.size, self.scale))

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.out)


def bed_of_nails_geometry(input_shape, scale_factor, *, offset=0) -> BedOfNailsGeometry:
    """Validate ``bed_of_nails_matrix``'s arguments (any number of spatial dimensions)."""
    shape = as_shape(input_shape, "input_shape", min_ndim=2)
    n = len(shape) - 1
    scale = as_tuple(scale_factor, n, "scale_factor")
    check_at_least(scale, 1, "scale_factor")
    offset = as_tuple(offset, n, "offset")
    if any(not 0 <= o < s for o, s in zip(offset, scale)):
        raise ValueError(
            f"offset must satisfy 0 <= offset < scale_factor per dimension, got "
            f"offset={offset} for scale_factor={scale}"
        )
    return BedOfNailsGeometry(shape[0], shape[1:], scale, offset)


def bed_of_nails_output_shape(input_shape, scale_factor, *, offset=0) -> tuple[int, ...]:
    """Output shape ``(C, *spatial)`` of ``bed_of_nails_matrix``: ``O = L * scale_factor``.

    Examples
    --------
    >>> bed_of_nails_output_shape((1, 2, 2), 2)
    (1, 4, 4)
    """
    return bed_of_nails_geometry(input_shape, scale_factor, offset=offset).out_shape


# --------------------------------------------------------------------------- pixel shuffle
def _shuffle_factor(factor, name: str, op: str) -> int:
    if not _is_int(factor):
        raise TypeError(f"{name} must be an integer, got {name}={factor!r}")
    if factor < 1:
        raise ValueError(f"{op} expects a positive {name}, got {name}={factor}")
    return int(factor)


def pixel_shuffle_output_shape(input_shape, upscale_factor) -> tuple[int, ...]:
    """Output shape of ``pixel_shuffle_matrix``: ``(*B, C r^2, H, W) -> (*B, C, H r, W r)``.

    Examples
    --------
    >>> pixel_shuffle_output_shape((4, 1, 2), 2)
    (1, 2, 4)
    """
    shape = as_shape(input_shape, "input_shape", min_ndim=3)
    r = _shuffle_factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    *batch, c, h, w = shape
    if c % (r * r):
        raise ValueError(
            f"pixel_shuffle needs the channel dimension to be divisible by "
            f"upscale_factor**2 = {r * r}, got input_shape={shape}"
        )
    return (*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle_output_shape(input_shape, downscale_factor) -> tuple[int, ...]:
    """Output shape of ``pixel_unshuffle_matrix``: ``(*B, C, H r, W r) -> (*B, C r^2, H, W)``.

    Examples
    --------
    >>> pixel_unshuffle_output_shape((1, 2, 4), 2)
    (4, 1, 2)
    """
    shape = as_shape(input_shape, "input_shape", min_ndim=3)
    r = _shuffle_factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    *batch, c, h, w = shape
    if h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle needs height and width divisible by downscale_factor={r}, got "
            f"input_shape={shape}"
        )
    return (*batch, c * r * r, h // r, w // r)
