"""Figures of a network's receptive fields: the input with the field drawn over it.

matplotlib is imported inside the functions; they take ``ax=None``, return the Axes and
never call ``plt.show()``.
"""

from __future__ import annotations

import numpy as np

from ._args import as_array, shape_read_from
from .labels import shown

__all__ = ["plot_effective_receptive_field", "plot_receptive_field"]


def _axes(ax):
    """``ax``, or the Axes of a new figure that pyplot does not manage (as every convmat
    figure: it shows once in a notebook)."""
    from .plot_layout import new_axes  # matplotlib: imported when a figure is drawn

    return new_axes(ax, (5, 4))


def _colour_map(cmap):
    """A matplotlib colour map, by name or as one, or an error naming ``cmap``."""
    from matplotlib import colormaps
    from matplotlib.colors import Colormap

    if isinstance(cmap, Colormap):
        return cmap
    if isinstance(cmap, str) and cmap in colormaps:
        return colormaps[cmap]
    raise ValueError(f"cmap must be a matplotlib colour map or its name (e.g. 'magma', "
                     f"'viridis'), got cmap={shown(cmap)}")


def _as_sample(x, output_index) -> np.ndarray:
    x = as_array(x, "x", kinds="biuf").astype(np.float64)
    if x.ndim not in (2, 3) or x.size == 0:
        raise ValueError(f"the plots show 1-D and 2-D samples holding values, (C, L) or "
                         f"(C, H, W); got x of shape {x.shape}")
    if output_index is None:  # receptive_field's whole pattern is no picture of one output
        raise TypeError("output_index must be a tuple of ints (channel, *position): the "
                        "plots show the field of one output, got output_index=None")
    return x


def _background(ax, x: np.ndarray):
    """The sample itself: RGB for 3 channels, else the channel mean in grey; 1-D: lines."""
    if x.ndim == 2:
        for c, row in enumerate(x):
            ax.plot(row, lw=1, color="0.4", alpha=0.8, label=f"channel {c}" if c < 1 else None)
        ax.set_xlim(-0.5, x.shape[1] - 0.5)
        ax.set_xlabel("position")
        return
    span = lambda a: (a - a.min()) / (np.ptp(a) or 1)
    if x.shape[0] == 3:
        ax.imshow(span(np.moveaxis(x, 0, -1)), interpolation="nearest")
    else:
        ax.imshow(x.mean(axis=0), cmap="gray", interpolation="nearest")
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def _runs(mask: np.ndarray):
    """``(start, stop)`` of each run of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))


def plot_receptive_field(model, x, output_index, *, ax=None, color="tab:red"):
    """The input ``x`` with the structural receptive field of one output drawn over it.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode, as for :func:`convmat.network.linearize`.
    x : array_like, shape (C, L) or (C, H, W)
        The input sample to show (only its shape enters the field).
    output_index : tuple of int
        ``(c, *position)`` of the output.
    ax : matplotlib Axes, optional
    color : str
        Colour of the field.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The field is :func:`convmat.network.receptive_field`, merged over the input channels.

    Examples
    --------
    A 3x3 convolution then a 2x2 max pooling: each output sees a 4x4 patch.

    >>> import numpy as np, torch
    >>> from convmat.network import plot_receptive_field
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.MaxPool2d(2)).eval()
    >>> ax = plot_receptive_field(model, np.zeros((1, 8, 8)), (0, 1, 1))
    >>> ax.get_title()
    'Receptive field of output (0, 1, 1): 16 of 64 input positions'
    """
    from matplotlib.colors import is_color_like, to_rgba

    from .network import receptive_field

    x = _as_sample(x, output_index)
    if ax is not None:
        from .plot_layout import check_axes

        check_axes(ax)
    if not is_color_like(color):
        raise ValueError(f"color must be a matplotlib colour (a name like 'tab:red', '#aa0000' "
                         f"or an RGB tuple), got color={shown(color)}")
    with shape_read_from("x", x.shape):  # the field is of x's shape: name x
        field = receptive_field(model, x.shape, output_index).any(axis=0)
    ax = _axes(ax)
    _background(ax, x)
    if x.ndim == 2:
        for a, b in _runs(field):
            ax.axvspan(a - 0.5, b - 0.5, color=color, alpha=0.25, lw=0)
    else:
        overlay = np.zeros(field.shape + (4,))
        overlay[field] = to_rgba(color, 0.45)
        ax.imshow(overlay, interpolation="nearest")
        ax.contour(field.astype(float), levels=[0.5], colors=[color], linewidths=1)
    ax.set_title(f"Receptive field of output {tuple(output_index)}: "
                 f"{int(field.sum())} of {field.size} input positions")
    return ax


def plot_effective_receptive_field(model, x, output_index, *, ax=None, cmap="magma"):
    """The input ``x`` with ``|dy[output_index]/dx|`` at ``x`` drawn over it.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode, as for :func:`convmat.network.linearize`.
    x : array_like, shape (C, L) or (C, H, W)
        The sample at which the gradient is taken.
    output_index : tuple of int
        ``(c, *position)`` of the output.
    ax : matplotlib Axes, optional
    cmap : str
        Colour map of the gradient's magnitude (summed over the input channels).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The gradient is :func:`convmat.network.effective_receptive_field`, ``|J^T e|`` for the
    unit vector ``e`` of the output, summed over the input channels.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from convmat.network import plot_effective_receptive_field
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.Tanh()).eval()
    >>> ax = plot_effective_receptive_field(model, np.ones((1, 6, 6)), (0, 2, 2))
    >>> ax.get_title()
    'Effective receptive field of output (0, 2, 2): |dy/dx| at x'
    """
    from .network import effective_receptive_field

    x = _as_sample(x, output_index)
    if ax is not None:
        from .plot_layout import check_axes

        check_axes(ax)
    colours = _colour_map(cmap)
    erf = effective_receptive_field(model, x, output_index).sum(axis=0)
    ax = _axes(ax)
    _background(ax, x)
    peak = erf.max() or 1.0
    if x.ndim == 2:
        twin = ax.twinx()
        twin.fill_between(np.arange(erf.size), erf, step="mid", color=colours(0.6),
                          alpha=0.5)
        twin.set_ylabel("|dy/dx| (summed over channels)")
    else:
        image = ax.imshow(erf, cmap=colours, alpha=np.clip(erf / peak, 0, 1) * 0.85,
                          interpolation="nearest", vmin=0, vmax=peak)
        ax.figure.colorbar(image, ax=ax, label="|dy/dx| (summed over channels)")
    ax.set_title(f"Effective receptive field of output {tuple(output_index)}: "
                 f"|dy/dx| at x")
    return ax
