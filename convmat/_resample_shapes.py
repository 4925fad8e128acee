"""Shape arithmetic of the resampling ops: interpolation, bed of nails, pixel shuffle.

The part of :mod:`convmat.shapes` for the ops with no sliding window: each validates its
builder's arguments as torch does and returns a frozen geometry with ``in_shape`` and
``out_shape``. Import these names from :mod:`convmat.shapes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._args import as_bool, as_int, as_sample_shape, as_shape, as_tuple, is_int, is_real
from ._kernels import permuted_arange

__all__ = [
    "BedOfNailsGeometry",
    "InterpolateGeometry",
    "PixelShuffleGeometry",
    "bed_of_nails_geometry",
    "bed_of_nails_output_shape",
    "interpolate_geometry",
    "interpolate_output_shape",
    "pixel_shuffle_geometry",
    "pixel_shuffle_output_shape",
    "pixel_unshuffle_geometry",
    "pixel_unshuffle_output_shape",
]


class ChannelShapes:
    """``in_shape`` / ``out_shape`` of a geometry that keeps its channels: ``channels``
    around the spatial sizes ``size`` (the input's) and ``out`` (the output's)."""

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.size)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.channels, *self.out)


# --------------------------------------------------------------------------- interpolation
INTERPOLATE_MODES = {
    "nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "linear": (1,), "bilinear": (2,),
    "trilinear": (3,), "bicubic": (2,), "area": (1, 2, 3),
}
# The modes that take align_corners, and those that take antialias (2-D only).
ALIGNING_MODES = ("linear", "bilinear", "bicubic", "trilinear")
ANTIALIAS_MODES = ("bilinear", "bicubic")


@dataclass(frozen=True)
class InterpolateGeometry(ChannelShapes):
    """``F.interpolate``'s arguments, validated; ``scales[i]`` is the scale factor torch
    passes on to its kernels for dimension ``i`` (``None`` when it uses ``L / O``)."""

    channels: int
    size: tuple[int, ...]
    out: tuple[int, ...]
    mode: str
    align_corners: bool
    scales: tuple[float | None, ...]
    antialias: bool = False



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


def _interpolate_sample(input_shape, mode, align_corners, antialias=False):
    """``(channels, spatial, align_corners, antialias)``, with ``mode`` checked before the
    shape."""
    if not isinstance(mode, str) or mode not in INTERPOLATE_MODES:
        raise ValueError(
            f"mode must be one of {tuple(INTERPOLATE_MODES)}, got mode={mode!r} (torch's "
            f"'lanczos' is not supported)"
        )
    channels, spatial = as_sample_shape(input_shape, "input_shape")
    if len(spatial) not in INTERPOLATE_MODES[mode]:
        need = INTERPOLATE_MODES[mode][0]
        raise ValueError(
            f"mode={mode!r} needs an input with {need} spatial dimension(s), got "
            f"input_shape={(channels, *spatial)}"
        )
    if mode in ALIGNING_MODES:
        align = False if align_corners is None else as_bool(align_corners, "align_corners")
    elif align_corners is not None:
        raise ValueError(
            f"align_corners can only be set with the interpolating modes linear, "
            f"bilinear, bicubic and trilinear, got align_corners={align_corners!r} "
            f"with mode={mode!r}"
        )
    else:
        align = False
    antialias = as_bool(antialias, "antialias")
    if antialias and (mode not in ANTIALIAS_MODES or len(spatial) != 2):
        raise ValueError(
            f"antialias=True is restricted to the modes bilinear and bicubic on inputs with "
            f"2 spatial dimensions (torch: 4-D tensors), got mode={mode!r} and "
            f"input_shape={(channels, *spatial)}"
        )
    return channels, spatial, align, antialias


def interpolate_geometry(input_shape, *, size=None, scale_factor=None, mode="nearest",
                         align_corners=None, recompute_scale_factor=None, antialias=False
                         ) -> InterpolateGeometry:
    """Validate ``interpolate_matrix``'s arguments as ``F.interpolate`` does."""
    channels, spatial, align_corners, antialias = _interpolate_sample(
        input_shape, mode, align_corners, antialias)
    shape = (channels, *spatial)
    n = len(spatial)
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
        out = tuple(as_int(v, "size")
                    for v in _per_dim(size, n, "size", is_int, "an integer", shape))
        scales = (None,) * n
    else:
        factors = tuple(float(v) for v in _per_dim(scale_factor, n, "scale_factor", is_real,
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
    # "area" is adaptive average pooling, which makes an empty output of size 0.
    least = 0 if mode == "area" else 1
    if any(o < least for o in out):
        raise ValueError(
            f"output size must be {'>= 0' if least == 0 else 'positive'}, got output size "
            f"{out} for input_shape={shape} (size={size!r}, scale_factor={scale_factor!r})"
        )
    return InterpolateGeometry(channels, spatial, out, mode, align_corners, scales, antialias)


def interpolate_output_shape(input_shape, *, size=None, scale_factor=None, mode="nearest",
                             align_corners=None, recompute_scale_factor=None, antialias=False
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
                               recompute_scale_factor=recompute_scale_factor,
                               antialias=antialias)
    return geo.out_shape


# --------------------------------------------------------------------------- bed of nails
@dataclass(frozen=True)
class BedOfNailsGeometry(ChannelShapes):
    channels: int
    size: tuple[int, ...]
    scale: tuple[int, ...]
    offset: tuple[int, ...]

    @property
    def out(self) -> tuple[int, ...]:
        return tuple(L * s for L, s in zip(self.size, self.scale))



def bed_of_nails_geometry(input_shape, scale_factor, *, offset=0) -> BedOfNailsGeometry:
    """Validate ``bed_of_nails_matrix``'s arguments (any number of spatial dimensions)."""
    shape = as_shape(input_shape, "input_shape", min_ndim=2)
    n = len(shape) - 1
    scale = as_tuple(scale_factor, n, "scale_factor", at_least=1)
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
@dataclass(frozen=True)
class PixelShuffleGeometry:
    """Pixel shuffle or unshuffle of one sample: a reshape, then a transpose.

    The input, read in C order as an array of shape ``grouped`` and transposed by
    ``axes``, is the output in C order. With ``r`` the factor and ``N`` all leading axes
    and channels together, shuffle groups ``(N, r, r, H, W)`` and transposes to
    ``(N, H, r, W, r)``; unshuffle groups ``(N, H, r, W, r)`` and transposes to
    ``(N, r, r, H, W)``.
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    factor: int
    grouped: tuple[int, ...]
    axes: tuple[int, ...]

    def source(self, dtype=np.int64) -> np.ndarray:
        """For every output element in C order, the flat index of the input it copies.

        Examples
        --------
        >>> pixel_shuffle_geometry((4, 1, 2), 2).source()
        array([0, 2, 1, 3, 4, 6, 5, 7])
        """
        return permuted_arange(self.grouped, self.axes, np.dtype(dtype).type)


def _shuffle_args(input_shape, factor, name: str, op: str):
    """torch's checks, in torch's order and words: ``(*batch, c, h, w)`` and ``r``."""
    shape = as_shape(input_shape, "input_shape", min_ndim=0)
    if len(shape) < 3:
        raise ValueError(f"{op} expects input to have at least 3 dimensions, but got input "
                         f"with {len(shape)} dimension(s)")
    r = as_int(factor, name)
    if r < 1:
        raise ValueError(f"{op} expects a positive {name}, but got {r}")
    return shape, r


def pixel_shuffle_geometry(input_shape, upscale_factor) -> PixelShuffleGeometry:
    """Validate ``pixel_shuffle_matrix``'s arguments as ``F.pixel_shuffle`` does."""
    shape, r = _shuffle_args(input_shape, upscale_factor, "upscale_factor", "pixel_shuffle")
    *batch, c, h, w = shape
    if c % (r * r):
        raise ValueError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    n = math.prod(batch) * (c // (r * r))
    return PixelShuffleGeometry(shape, (*batch, c // (r * r), h * r, w * r), r,
                                (n, r, r, h, w), (0, 3, 1, 4, 2))


def pixel_unshuffle_geometry(input_shape, downscale_factor) -> PixelShuffleGeometry:
    """Validate ``pixel_unshuffle_matrix``'s arguments as ``F.pixel_unshuffle`` does."""
    shape, r = _shuffle_args(input_shape, downscale_factor, "downscale_factor",
                             "pixel_unshuffle")
    *batch, c, h, w = shape
    for what, axis, size in (("height", -2, h), ("width", -1, w)):
        if size % r:
            raise ValueError(
                f"pixel_unshuffle expects {what} to be divisible by downscale_factor, but "
                f"input.size({axis})={size} is not divisible by {r}"
            )
    n = math.prod(batch) * c
    return PixelShuffleGeometry(shape, (*batch, c * r * r, h // r, w // r), r,
                                (n, h // r, r, w // r, r), (0, 2, 4, 1, 3))


def pixel_shuffle_output_shape(input_shape, upscale_factor) -> tuple[int, ...]:
    """Output shape of ``pixel_shuffle_matrix``: ``(*B, C r^2, H, W) -> (*B, C, H r, W r)``.

    Examples
    --------
    >>> pixel_shuffle_output_shape((4, 1, 2), 2)
    (1, 2, 4)
    """
    return pixel_shuffle_geometry(input_shape, upscale_factor).out_shape


def pixel_unshuffle_output_shape(input_shape, downscale_factor) -> tuple[int, ...]:
    """Output shape of ``pixel_unshuffle_matrix``: ``(*B, C, H r, W r) -> (*B, C r^2, H, W)``.

    Examples
    --------
    >>> pixel_unshuffle_output_shape((1, 2, 4), 2)
    (4, 1, 2)
    """
    return pixel_unshuffle_geometry(input_shape, downscale_factor).out_shape
