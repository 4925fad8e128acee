"""Shape arithmetic: the geometry of every op, validated, and its output shape.

Each builder hands its arguments to a ``*_geometry`` function here and gets back a small
frozen geometry object (with ``in_shape`` and ``out_shape``); it never computes a size
itself. Arguments are coerced by :mod:`convmat._args`, the sliding window lives in
:mod:`convmat.window`, and the ops without one (interpolation, bed of nails, pixel
shuffle) are in :mod:`convmat._resample_shapes`, whose names this module gives out. The
public helpers take the builder's own arguments (less
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

from dataclasses import dataclass

from ._args import (
    as_bool,
    as_int,
    as_output_size,
    as_sample_shape,
    as_shape,
    as_tuple,
    shape_of,
)
from ._resample_shapes import (
    BedOfNailsGeometry,
    InterpolateGeometry,
    PixelShuffleGeometry,
    bed_of_nails_geometry,
    bed_of_nails_output_shape,
    interpolate_geometry,
    interpolate_output_shape,
    pixel_shuffle_geometry,
    pixel_shuffle_output_shape,
    pixel_unshuffle_geometry,
    pixel_unshuffle_output_shape,
)
from .window import PADDING_MODES, Window, check_pad_mode, effective_kernel, empty_window

__all__ = [
    "AvgPoolGeometry",
    "BedOfNailsGeometry",
    "ConvGeometry",
    "ConvTransposeGeometry",
    "InterpolateGeometry",
    "PixelShuffleGeometry",
    "PoolGeometry",
    "UnpoolGeometry",
    "avg_pool_geometry",
    "avg_pool_output_shape",
    "bed_of_nails_geometry",
    "bed_of_nails_output_shape",
    "conv_geometry",
    "conv_output_shape",
    "conv_transpose_geometry",
    "conv_transpose_output_shape",
    "interpolate_geometry",
    "interpolate_output_shape",
    "max_unpool_geometry",
    "max_unpool_output_shape",
    "pixel_shuffle_geometry",
    "pixel_shuffle_output_shape",
    "pixel_unshuffle_geometry",
    "pixel_unshuffle_output_shape",
    "pool_geometry",
    "pool_output_shape",
]


class _WindowShapes:
    """``in_shape`` / ``out_shape`` of a geometry: channel counts around a window."""

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.in_channels, *self.window.size)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.out_channels, *self.window.out)


# =========================================================================== convolution
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
    weight_shape = as_shape(weight_shape, "weight.shape", min_ndim=0)
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


def _padding(padding, n: int, kernel, dilation, stride, padding_mode: str):
    """``(before, after)`` per dimension of ``conv_matrix``'s ``padding``."""
    if not isinstance(padding, str):
        # F.pad crops with a negative width, so only zero padding forbids it.
        low = 0 if padding_mode == "zeros" else None
        before = as_tuple(padding, n, "padding", at_least=low)
        return before, before
    if padding == "valid":
        return (0,) * n, (0,) * n
    if padding != "same":
        raise ValueError(
            f"padding must be an integer, a tuple, 'valid' or 'same', got padding={padding!r}"
        )
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
    stride = as_tuple(stride, n, "stride", at_least=1)
    dilation = as_tuple(dilation, n, "dilation", at_least=1)
    if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
        raise ValueError(
            f"padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}"
        )
    before, after = _padding(padding, n, kernel, dilation, stride, padding_mode)
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
        check_pad_mode(size, before, after, padding_mode)
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


def conv_output_shape(
    weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"
) -> tuple[int, ...]:
    """Output shape ``(C_out, *spatial)`` of ``conv_matrix`` with the same arguments.

    ``weight`` is the weight array or just its shape.

    Examples
    --------
    The 4-element input and 3-tap filter of *Unsampling: Unpooling and Transpose
    Convolution*, with and without padding:

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
    stride = as_tuple(stride, n, "stride", at_least=1)
    dilation = as_tuple(dilation, n, "dilation", at_least=1)
    if isinstance(padding, str):
        raise TypeError(
            f"padding must be an integer or a tuple for a transposed convolution (torch has "
            f"no 'same'/'valid' here), got padding={padding!r}"
        )
    padding = as_tuple(padding, n, "padding", at_least=0)
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
        output_padding = as_tuple(output_padding, n, "output_padding", at_least=0)
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
    requested = as_output_size(output_size, len(base), leading=(1, 2))
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
    The transposed convolution of *Unsampling: Unpooling and Transpose Convolution*: 2
    inputs, 3 taps, stride 2 gives 5; stride 1 gives 4.

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


def _default_stride(stride, kernel, n, at_least=1):
    # torch: stride=None (or an empty list) means stride = kernel_size.
    if stride is None or (getattr(stride, "ndim", 1) == 1 and hasattr(stride, "__len__")
                          and len(stride) == 0):
        stride = kernel
    return as_tuple(stride, n, "stride", at_least=at_least)


def _pool_out(size, ek, stride, padding, ceil_mode) -> tuple[int, ...]:
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
    return tuple(out)


def pool_geometry(input_shape, kernel_size, *, stride=None, padding=0, dilation=1,
                  ceil_mode=False) -> PoolGeometry:
    """Validate a max or average pooling as torch does and compute its output size.

    Per dimension ``O = (L + 2p - ek) // s + 1`` (``ceil`` in ``ceil_mode``, dropping a
    last window that would start in the right padding). A window with no input element
    in it (possible with dilation) is refused: torch returns ``-inf`` with an undefined
    index there.
    """
    channels, size = as_sample_shape(input_shape, "input_shape")
    n = len(size)
    kernel = as_tuple(kernel_size, n, "kernel_size", at_least=1)
    stride = _default_stride(stride, kernel, n)
    padding = as_tuple(padding, n, "padding", at_least=0)
    dilation = as_tuple(dilation, n, "dilation", at_least=1)
    ceil_mode = as_bool(ceil_mode, "ceil_mode")
    # torch compares with the kernel, not the effective (dilated) kernel.
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"padding must be at most half the kernel size, got padding={padding} for "
            f"kernel_size={kernel} (allowed: padding <= kernel_size // 2 per dimension)"
        )
    out = _pool_out(size, effective_kernel(kernel, dilation), stride, padding, ceil_mode)
    if any(o < 1 for o in out):
        raise ValueError(
            f"output size is too small: input size {size} gives output size {out} "
            f"(kernel_size={kernel}, stride={stride}, padding={padding}, "
            f"dilation={dilation}, ceil_mode={ceil_mode}); every output size must be >= 1"
        )
    window = Window(size, kernel, stride, dilation, padding, padding, out)
    for dim in range(n):
        j = empty_window(size[dim], kernel[dim], stride[dim], padding[dim], dilation[dim],
                         out[dim])
        if j is not None:
            raise ValueError(
                f"pooling window {j} of spatial dimension {dim} holds no input element "
                f"(positions {window.positions(dim, 1, first=j)[0].tolist()} of an input "
                f"of size {size[dim]}; kernel_size={kernel}, stride={stride}, "
                f"padding={padding}, dilation={dilation}, ceil_mode={ceil_mode}); torch "
                f"would return -inf with an undefined index there"
            )
    return PoolGeometry(channels, window, ceil_mode)


def pool_output_shape(input_shape, kernel_size, *, stride=None, padding=0, dilation=1,
                      ceil_mode=False) -> tuple[int, ...]:
    """Output shape ``(C, *spatial)`` of ``max_pool_selection`` with the same arguments.

    ``input_shape`` is the input sample itself or its shape, as a tuple. Average pooling
    has its own helper, :func:`avg_pool_output_shape`.

    Examples
    --------
    A 4x4 map pooled 2x2, as in *Unsampling: Unpooling and Transpose Convolution*, and a
    1-D case where ``ceil_mode`` adds a window:

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

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.pool.in_shape

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.pool.out_shape


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
                             divisor_override=divisor_override).out_shape


# =========================================================================== unpooling
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
    channels, size = as_sample_shape(indices_shape, "indices.shape")
    n = len(size)
    kernel = as_tuple(kernel_size, n, "kernel_size")
    # Only max_unpool3d passes the stride on to a check.
    stride = _default_stride(stride, kernel, n, at_least=1 if n == 3 else None)
    padding = as_tuple(padding, n, "padding")
    default = tuple((L - 1) * s - 2 * p + k for L, s, p, k in zip(size, stride, padding, kernel))
    if output_size is None:
        out = default
    else:
        # F.max_unpool drops the batch and channel sizes, but not the channels alone.
        out = as_output_size(output_size, n, leading=(2,))
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
