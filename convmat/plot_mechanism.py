"""Pictures of how a result arises, on the image grid rather than in the matrix.

* :func:`plot_conv_windows`: a strided convolution. The input is drawn with its padding
  ring, and the window of every output is outlined on it, one colour per output, so that
  the stride is the step between two outlines; the output cells wear their window's colour.
* :func:`plot_conv_transpose_stamps`: a transposed convolution as the sum of stamps. Input
  ``i`` times the filter is stamped at ``i * stride`` on the full output grid; where
  stamps overlap, the cell shows the terms it adds. Then ``padding`` crops the border of
  that grid, and ``output_padding`` keeps (or adds) rows and columns at its end.
* :func:`plot_max_unpooling`: the pooled input, the positions its max pooling remembered,
  and the unpooled output with each value back at its position.

Every number drawn is computed from convmat's matrices (``conv_matrix``,
``conv_transpose_matrix``, ``max_unpool_matrix``), which equal torch's operations; the
tests compare the drawn numbers with ``F.conv2d``, ``F.conv_transpose2d`` and
``F.max_unpool2d``. 1-D maps are drawn as one row.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from ._args import as_array, as_tuple, is_int
from .convolution import conv_matrix, conv_transpose_matrix
from .labels import _is_scalar, as_text, dims, format_arg, format_value, shown
from .plot_layout import (
    LINKS,
    MIN_FONT,
    cell_inches,
    cell_panels,
    draw_cell,
    grid_axes,
    light,
    new_axes_row,
    outline,
)
from .shapes import conv_transpose_output_shape, max_unpool_output_shape
from .unpooling import max_unpool_matrix

__all__ = ["plot_conv_transpose_stamps", "plot_conv_windows", "plot_max_unpooling"]


#: The largest map side these pictures draw: beyond it, no number would be legible.
MAX_SIDE = 16
#: The largest grid drawn (a padded input, the full grid of stamps, an unpooled output).
MAX_GRID = 64
PAD_FACE, EMPTY_FACE, INPUT_FACE = "#e3e3e3", "#f4f4f4", "#eef4fb"
ZERO_TEXT, BAND = "0.5", "#e7298a"
VALUE_FONT = 12.0


# --------------------------------------------------------------------------- arguments
def read_map(a, name, max_side=MAX_SIDE):
    """``(map, shape)``: a 1-D or 2-D map (``(1, H, W)`` too) as a 2-D float array (1-D
    is one row) and the shape it was given in; refused, naming ``name``, when it is no
    map of numbers, is empty, or is more than ``max_side`` per side."""
    arr = as_array(a, name, kinds="biuf")
    shape = arr.shape
    if arr.ndim == 3 and shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 1-D or 2-D map (or (1, H, W)), got an array of "
                         f"shape {shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one value, got an array of shape "
                         f"{shape}")
    if max(arr.shape) > max_side:
        raise ValueError(f"{name} has shape {shape}: these pictures draw maps of at most "
                         f"{max_side} per side, every number written in its cell")
    return arr.astype(float), shape


def grid_pair(value, ndim, name, at_least=None):
    """A size argument for a map drawn in 2-D: ``(rows, columns)``; 1-D gets ``(1, v)``
    for sizes and ``(0, v)`` for paddings (one row, nothing added above or below)."""
    values = as_tuple(value, ndim, name, at_least=at_least)
    if ndim == 1:
        return (0 if name in ("padding", "output_padding") else 1, values[0])
    return values


def _filter(weight_or_kernel, ndim, x_shape, name="weight_or_kernel"):
    """The 2-D filter (all ones for a kernel size) drawn on the grid of a ``ndim``-D map."""
    if is_int(weight_or_kernel) or (isinstance(weight_or_kernel, tuple) and
                                    all(is_int(v) for v in weight_or_kernel)):
        kernel = as_tuple(weight_or_kernel, ndim, name, at_least=1)
        w = np.ones(kernel) if max(kernel) <= MAX_SIDE else None
    elif _is_scalar(weight_or_kernel) or (isinstance(weight_or_kernel, tuple) and
                                          all(map(_is_scalar, weight_or_kernel))):
        raise TypeError(f"{name} must be a kernel size (an int or a tuple of ints) or a "
                        f"filter array, got {name}={shown(weight_or_kernel)}")
    else:
        w = as_array(weight_or_kernel, name, kinds="biuf")
        shape = w.shape
        while w.ndim > ndim and w.shape[0] == 1:  # torch's (1, 1, *kernel) layout
            w = w[0]
        if w.ndim != ndim:
            raise ValueError(f"{name} must be a single {ndim}-D filter (or (1, 1, *kernel)) "
                             f"for the {ndim}-D map x of shape {x_shape}, got an array of "
                             f"shape {shape}")
        if w.size == 0:
            raise ValueError(f"{name} must hold at least one tap, got an array of shape "
                             f"{shape}")
        w = w.astype(float) if max(w.shape) <= MAX_SIDE else None
    if w is None:
        raise ValueError(f"{name}={shown(weight_or_kernel)} is larger than these pictures "
                         f"draw: a filter of at most {MAX_SIDE} per side")
    return w[None, :] if ndim == 1 else w


def _given(x_name, x_shape, **args) -> str:
    """The arguments that size a picture, as an error message echoes them."""
    return ", ".join([f"{x_name} of shape {x_shape}",
                      *(f"{k}={shown(v)}" for k, v in args.items())])


def _check_grid(shape, ndim, what, given):
    """Refuse a drawn grid (a padded input, a full grid of stamps, an output) of more than
    :data:`MAX_GRID` per side, or an empty one, naming the arguments that size it."""
    shape = tuple(shape)[2 - ndim:]
    if min(shape) < 1:
        raise ValueError(f"{what} would be empty ({dims(shape)}) with {given}")
    if max(shape) > MAX_GRID:
        raise ValueError(f"{what} would be {dims(shape)} with {given}: these pictures draw "
                         f"grids of at most {MAX_GRID} per side")


# --------------------------------------------------------------------------- drawing
def _draw_values(ax, values, faces, bold=False):
    for (r, c), v in np.ndenumerate(values):
        draw_cell(ax, r, c, faces[r][c], format_value(v), bold=bold)


def _panels(ax, shapes, cell, title, above=0.65, align="center"):
    if ax is not None:
        return new_axes_row(ax, len(shapes), None)
    return cell_panels(shapes, cell, gap=0.8, title=title, align=align, above=above,
                       below=0.6)


def _between(a, b, text):
    """``text`` (an operator, an arrow) in the gap between the panels ``a`` and ``b``."""
    box_a, box_b = a.get_position(), b.get_position()
    a.figure.text((box_a.x1 + box_b.x0) / 2, (box_a.y0 + box_a.y1) / 2, text, ha="center",
                  va="center", fontsize=16, color="0.3")


def _filter_panel(ax, w):
    grid_axes(ax, *w.shape, f"filter {dims(w.shape)}")
    _draw_values(ax, w, [["#fff7bc"] * w.shape[1]] * w.shape[0])


def _ticks_from(start, n):
    return [str(v) for v in range(start, start + n)]


# --------------------------------------------------------------------------- convolution
def plot_conv_windows(weight_or_kernel, x, *, stride=1, padding=0, dilation=1, title=None,
                      ax=None):
    """A convolution on the image grid: the padded input with each output's window.

    Parameters
    ----------
    weight_or_kernel : int, tuple of int, or array_like
        A kernel size (an all-ones filter: each output is the sum of its window) or the
        filter, ``(kH, kW)`` or torch's ``(1, 1, kH, kW)`` (1-D: ``(k,)``, ``(1, 1, k)``).
    x : array_like, shape (H, W), (1, H, W) or (L,)
        The input map, at most 16 per side.
    stride, padding, dilation : int or tuple of int
        As for :func:`~convmat.conv_matrix`.
    title : str, optional
    ax : sequence of 3 Axes, optional
        For the padded input, the filter and the output.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: the input inside its ring of ``padding`` zeros (grey), labelled by
        input position (the ring is at positions ``-1``, ``L``, ...), with the window of
        output ``j`` outlined in colour ``j``; the filter; the output ``y = C @ x`` from
        :func:`~convmat.conv_matrix`, each cell in its window's colour.

    Notes
    -----
    Output ``j`` reads the input positions ``q = j * stride - padding + t * dilation``
    (``t`` over the taps): consecutive windows start ``stride`` apart.

    Examples
    --------
    The filter ``[1, 2, 3]`` over ``[1, 2, 3, 4]`` padded by one zero at each end: the
    output panel holds ``C @ x``.

    >>> fig = plot_conv_windows([1, 2, 3], [1, 2, 3, 4], padding=1)
    >>> [t.get_text() for t in fig.axes[2].texts]
    ['8', '14', '20', '11']
    """
    title = as_text(title, "title")
    xm, x_shape = read_map(x, "x")
    ndim = 1 if len(x_shape) == 1 else 2
    w = _filter(weight_or_kernel, ndim, x_shape)
    s, p, d = (grid_pair(stride, ndim, "stride", at_least=1),
               grid_pair(padding, ndim, "padding", at_least=0),
               grid_pair(dilation, ndim, "dilation", at_least=1))
    given = _given("x", x_shape, weight_or_kernel=weight_or_kernel, stride=stride,
                   padding=padding, dilation=dilation)
    padded = tuple(xm.shape[i] + 2 * p[i] for i in range(2))
    _check_grid(padded, ndim, "the padded input", given)
    n_out = tuple((padded[i] - d[i] * (w.shape[i] - 1) - 1) // s[i] + 1 for i in range(2))
    _check_grid(n_out, ndim, "the output (no window fits in the padded input)", given)
    C = conv_matrix(w[None, None], (1, *xm.shape), stride=s, padding=p, dilation=d)
    y = (C @ xm.ravel()).reshape(n_out)
    if title is None:
        title = (f"Convolution {dims(xm.shape)} \u2192 {dims(n_out)}: filter "
                 f"{dims(w.shape)}, stride {format_arg(stride)}, padding "
                 f"{format_arg(padding)}; output j sums its window, and the windows start "
                 f"{format_arg(stride)} apart")
    cell = cell_inches([format_value(v) for v in [*xm.ravel(), *y.ravel(), *w.ravel()]],
                       VALUE_FONT)
    fig, axes = _panels(ax, [padded, w.shape, n_out], cell, title)
    _between(axes[0], axes[1], "\u2217")
    _between(axes[1], axes[2], "=")
    a_in, a_w, a_out = axes
    texts = np.array([[format_value(v) for v in row] for row in xm], dtype=object)
    draw_windows(a_in, texts, w.shape, s, p, d, f"input {dims(xm.shape)} in its padding ring")
    _filter_panel(a_w, w)
    grid_axes(a_out, *n_out, f"output {dims(n_out)}")
    for k, (i, j) in enumerate(np.ndindex(n_out)):
        colour = LINKS[k % len(LINKS)]
        draw_cell(a_out, i, j, light(colour), format_value(y[i, j]))
        outline(a_out, i, j, 1, 1, colour)
    return fig


def draw_windows(ax, texts, kernel, s, p, d, title):
    """The input grid (``texts``, one per cell) inside its ring of ``p`` padding cells
    (grey), the window of output ``k`` (in C order) outlined in colour ``LINKS[k]``; the
    ticks are input positions (the ring: ``-1``, ``L``, ...). ``kernel``, ``s``, ``p``,
    ``d`` are ``(rows, columns)`` pairs."""
    shape = texts.shape
    padded = tuple(shape[i] + 2 * p[i] for i in range(2))
    n_out = tuple((padded[i] - d[i] * (kernel[i] - 1) - 1) // s[i] + 1 for i in range(2))
    grid_axes(ax, *padded, title, _ticks_from(-p[0], padded[0]),
              _ticks_from(-p[1], padded[1]))
    for (r, c) in np.ndindex(padded):
        if p[0] <= r < p[0] + shape[0] and p[1] <= c < p[1] + shape[1]:
            draw_cell(ax, r, c, INPUT_FACE, texts[r - p[0], c - p[1]])
        else:
            draw_cell(ax, r, c, PAD_FACE, "0", colour=ZERO_TEXT, gid="padding")
    span = [d[i] * (kernel[i] - 1) + 1 for i in range(2)]
    for k, (i, j) in enumerate(np.ndindex(n_out)):
        colour = LINKS[k % len(LINKS)]
        outline(ax, i * s[0], j * s[1], span[0], span[1], colour,
                inset=0.05 + 0.09 * (k % 2), ls="-" if k % 2 == 0 else (0, (4, 1.5)))
        if d[0] > 1 or d[1] > 1:  # dilated: mark the taps the window reads
            for t in np.ndindex(tuple(kernel)):
                ax.plot(j * s[1] + t[1] * d[1] + 0.5, i * s[0] + t[0] * d[0] + 0.85, "o",
                        color=colour, markersize=4)
    ax.set_xlabel(("grey: padding (zeros)\n" if any(p) else "")
                  + "each outline: the window of the output\nof its colour", fontsize=10)


# --------------------------------------------------------------------------- transposed
def _stamp_geometry(shape, w_shape, s, p, op, d):
    """Per dimension: the full grid (every stamp, no crop), the output size, and the
    drawn grid (the full grid, plus what output_padding adds past its end)."""
    full = tuple((shape[i] - 1) * s[i] + d[i] * (w_shape[i] - 1) + 1 for i in range(2))
    out = tuple(full[i] - 2 * p[i] + op[i] for i in range(2))
    drawn = tuple(max(full[i], p[i] + out[i]) for i in range(2))
    return full, out, drawn


def _stamps(xm, w, s, d, drawn):
    """Each drawn cell's contributions: ``[(input (r, c), term x[r, c] * w[t]), ...]``."""
    terms = [[[] for _ in range(drawn[1])] for _ in range(drawn[0])]
    for (r, c), v in np.ndenumerate(xm):
        for (tr, tc), wt in np.ndenumerate(w):
            terms[r * s[0] + tr * d[0]][c * s[1] + tc * d[1]].append(((r, c), v * wt))
    return terms


def _stamp_cell(ax, r, c, contributions, value, n_cols_in):
    faces = [light(LINKS[(i * n_cols_in + j) % len(LINKS)]) for (i, j), _ in contributions]
    if not contributions:
        draw_cell(ax, r, c, EMPTY_FACE, "0", colour=ZERO_TEXT)
        return
    if len(contributions) == 1:
        draw_cell(ax, r, c, faces, format_value(value))
        return
    draw_cell(ax, r, c, faces, "")
    sum_text = "+".join(format_value(t) for _, t in contributions)
    ax.text(c + 0.5, r + 0.3, sum_text, ha="center", va="center", fontsize=MIN_FONT,
            gid="terms")
    ax.text(c + 0.5, r + 0.7, format_value(value), ha="center", va="center",
            fontsize=VALUE_FONT, fontweight="bold", gid="value")


def _band(ax, rows, cols, origin, size):
    """Shade the row ranges ``rows`` and column ranges ``cols`` of the ``size`` block whose
    top-left cell is ``origin``: where output_padding keeps or adds values."""
    (top, left), (height, width) = origin, size
    for r0, r1 in rows:
        ax.add_patch(Rectangle((left, top + r0), width, r1 - r0, fill=False, edgecolor=BAND,
                               linewidth=3.2, linestyle=(0, (1, 1)), zorder=5))
    for c0, c1 in cols:
        ax.add_patch(Rectangle((left + c0, top), c1 - c0, height, fill=False, edgecolor=BAND,
                               linewidth=3.2, linestyle=(0, (1, 1)), zorder=5))


def plot_conv_transpose_stamps(weight_or_kernel, x, *, stride=1, padding=0,
                               output_padding=0, dilation=1, title=None, ax=None):
    """A transposed convolution as stamps: sum them on the full grid, then crop.

    Parameters
    ----------
    weight_or_kernel : int, tuple of int, or array_like
        A kernel size (an all-ones filter: each stamp is the input value) or the filter,
        ``(kH, kW)`` or ``(1, 1, kH, kW)`` (1-D: ``(k,)`` or ``(1, 1, k)``).
    x : array_like, shape (H, W), (1, H, W) or (L,)
        The input map, at most 16 per side.
    stride, padding, output_padding, dilation : int or tuple of int
        As for :func:`~convmat.conv_transpose_matrix`.
    title : str, optional
    ax : sequence of 4 Axes, optional
        For the input, the filter, the full grid and the output.

    Returns
    -------
    matplotlib.figure.Figure
        Four panels: the input, one colour per position; the filter; the full grid, where
        input ``i``'s stamp (outlined in its colour) covers ``i * stride + t * dilation``
        and a cell that several stamps write shows the terms it adds; the output, the
        dashed frame of the full grid. Positions are labelled as the output's, so the
        ``padding`` cropped at each end are those below 0 and from the output size on;
        the pink rows and columns are those ``output_padding`` keeps (or adds, as zeros,
        past the last stamp).

    Notes
    -----
    ``full = (L - 1) * stride + dilation * (k - 1) + 1`` and
    ``out = full - 2 * padding + output_padding``: output ``o`` is full-grid position
    ``o + padding``. The full grid is ``conv_transpose_matrix`` with no padding, the
    output the one with the arguments given.

    Examples
    --------
    ``[1, 2]`` through the filter ``[1, 2, 3]`` at stride 2: the stamps ``[1, 2, 3]`` and
    ``[2, 4, 6]`` overlap on one output, ``3 + 2 = 5``.

    >>> fig = plot_conv_transpose_stamps([1, 2, 3], [1, 2], stride=2)
    >>> [t.get_text() for t in fig.axes[3].texts]
    ['1', '2', '3+2', '5', '4', '6']
    """
    title = as_text(title, "title")
    xm, x_shape = read_map(x, "x")
    ndim = 1 if len(x_shape) == 1 else 2
    w = _filter(weight_or_kernel, ndim, x_shape)
    s, p, op, d = (grid_pair(stride, ndim, "stride", at_least=1),
                   grid_pair(padding, ndim, "padding", at_least=0),
                   grid_pair(output_padding, ndim, "output_padding", at_least=0),
                   grid_pair(dilation, ndim, "dilation", at_least=1))
    # torch's rules first (output_padding < stride or dilation, a non-empty output), in
    # arithmetic; then the size of the picture, before any matrix is built
    conv_transpose_output_shape(w[None, None].shape, (1, *xm.shape), stride=s, padding=p,
                                output_padding=op, dilation=d)
    full, out, drawn = _stamp_geometry(xm.shape, w.shape, s, p, op, d)
    _check_grid(drawn, ndim, "the full grid of stamps", _given(
        "x", x_shape, weight_or_kernel=weight_or_kernel, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation))
    T = conv_transpose_matrix(w[None, None], (1, *xm.shape), stride=s, padding=p,
                              output_padding=op, dilation=d)
    z = (T @ xm.ravel()).reshape(out)
    T0 = conv_transpose_matrix(w[None, None], (1, *xm.shape), stride=s, dilation=d)
    z_full = np.zeros(drawn)
    z_full[:full[0], :full[1]] = (T0 @ xm.ravel()).reshape(full)
    terms = _stamps(xm, w, s, d, drawn)
    if title is None:
        title = (f"Transposed convolution {dims(xm.shape)} \u2192 {dims(out)}: filter "
                 f"{dims(w.shape)}, stride {format_arg(stride)}, padding "
                 f"{format_arg(padding)}, output_padding {format_arg(output_padding)}")
    sums = ["+".join(format_value(t) for _, t in cell) for row in terms for cell in row]
    cell = max(cell_inches(sums, MIN_FONT),
               cell_inches([format_value(v) for v in z_full.ravel()], VALUE_FONT))
    fig, axes = _panels(ax, [xm.shape, w.shape, drawn, out], cell, title,
                        above=0.85)
    _between(axes[0], axes[1], "\u2297")
    _between(axes[1], axes[2], "\u2192")
    _between(axes[2], axes[3], "crop\n\u2192")
    a_in, a_w, a_full, a_out = axes
    grid_axes(a_in, *xm.shape, f"input {dims(xm.shape)}")
    for k, ((r, c), v) in enumerate(np.ndenumerate(xm)):
        draw_cell(a_in, r, c, light(LINKS[k % len(LINKS)]), format_value(v))
        outline(a_in, r, c, 1, 1, LINKS[k % len(LINKS)])
    _filter_panel(a_w, w)
    grid_axes(a_full, *drawn, "stamps x[i] \u00d7 filter at i\u00b7stride,\nsummed "
               "(the full grid)", _ticks_from(-p[0], drawn[0]), _ticks_from(-p[1], drawn[1]))
    for (r, c) in np.ndindex(drawn):
        _stamp_cell(a_full, r, c, terms[r][c], z_full[r, c], xm.shape[1])
    span = [d[i] * (w.shape[i] - 1) + 1 for i in range(2)]
    for k, (r, c) in enumerate(np.ndindex(xm.shape)):
        outline(a_full, r * s[0], c * s[1], span[0], span[1], LINKS[k % len(LINKS)],
                 inset=0.05 + 0.05 * ((r + c) % 2))
    _crop(a_full, drawn, p, out)
    grid_axes(a_out, *out, f"output {dims(out)}: the frame")
    for (r, c) in np.ndindex(out):
        _stamp_cell(a_out, r, c, terms[r + p[0]][c + p[1]], z[r, c], xm.shape[1])
    _output_padding_band(a_full, a_out, p, op, out)
    a_full.set_xlabel(_crop_caption(padding, output_padding, op), fontsize=10)
    return fig


def _crop(ax, drawn, p, out):
    """Hatch what ``padding`` crops; frame the output, dashed."""
    keep = np.zeros(drawn, bool)
    keep[p[0]:p[0] + out[0], p[1]:p[1] + out[1]] = True
    for (r, c) in zip(*np.nonzero(~keep)):
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor="white", alpha=0.6, hatch="//",
                               edgecolor="0.6", linewidth=0, zorder=2.5))
    ax.add_patch(Rectangle((p[1], p[0]), out[1], out[0], fill=False, edgecolor="black",
                           linewidth=2.6, linestyle=(0, (5, 2)), zorder=4))


def _output_padding_band(a_full, a_out, p, op, out):
    """The rows and columns output_padding keeps: the last ``op`` of the output."""
    rows = [(out[0] - op[0], out[0])] if op[0] else []
    cols = [(out[1] - op[1], out[1])] if op[1] else []
    _band(a_out, rows, cols, (0, 0), out)
    _band(a_full, rows, cols, p, out)


def _crop_caption(padding, output_padding, op):
    text = f"hatched: cropped by padding={format_arg(padding)}\ndashed: the output"
    if any(op):
        text += f"\ndotted pink: kept (or added) by\noutput_padding={format_arg(output_padding)}"
    return text


# --------------------------------------------------------------------------- unpooling
def plot_max_unpooling(y, indices, kernel_size, *, stride=None, padding=0,
                       output_size=None, title=None, ax=None):
    """Max unpooling with the positions it remembers: input, indices, output.

    Parameters
    ----------
    y : array_like, shape (H, W), (1, H, W) or (L,)
        The pooled map to unpool.
    indices : array_like of int, same shape as ``y``
        Where each value goes, as a flat position in the output plane: the indices of
        the max pooling being undone (:func:`~convmat.max_pool_selection`).
    kernel_size, stride, padding, output_size :
        As for :func:`~convmat.max_unpool_matrix`.
    title : str, optional
    ax : sequence of 3 Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Three panels, one colour per pooled position: the values, the index each one
        goes to (flat, and as ``(row, column)``), and the output ``U @ y`` of
        :func:`~convmat.max_unpool_matrix`, each value in bold at its index, zeros
        elsewhere; the lines are the pooling windows.

    Examples
    --------
    >>> fig = plot_max_unpooling([5, 7], [1, 2], 2)
    >>> [t.get_text() for t in fig.axes[2].texts]
    ['0', '5', '7', '0']
    """
    title = as_text(title, "title")
    ym, y_shape = read_map(y, "y")
    ndim = 1 if len(y_shape) == 1 else 2
    idx = as_array(indices, "indices", kinds="iu")
    if idx.shape != y_shape:
        raise ValueError(f"indices must have the shape of y, {y_shape}, got {idx.shape}")
    idx2 = idx.reshape(ym.shape)
    idx_c = idx.reshape(1, *y_shape[-ndim:])  # (C=1, *spatial), as the builder reads it
    # a picture needs windows: a positive kernel and stride (torch checks neither)
    kernel = grid_pair(kernel_size, ndim, "kernel_size", at_least=1)
    if stride is not None:
        grid_pair(stride, ndim, "stride", at_least=1)
    kw = dict(stride=stride, padding=padding, output_size=output_size)
    spatial = max_unpool_output_shape(idx_c.shape, kernel_size, **kw)[1:]
    out_shape = (1, *spatial) if len(spatial) == 1 else tuple(spatial)
    _check_grid(out_shape, ndim, "the output", _given(
        "y", y_shape, kernel_size=kernel_size, stride=stride, padding=padding,
        output_size=output_size))
    U = max_unpool_matrix(idx_c, kernel_size, **kw)
    width = out_shape[1]
    z = (U @ ym.ravel()).reshape(out_shape)
    if title is None:
        title = (f"Max unpooling {dims(ym.shape)} \u2192 {dims(out_shape)}: each value "
                 "goes back to the position its max pooling remembered")
    cell = cell_inches([f"({v // width},{v % width})" for v in idx2.ravel()], MIN_FONT)
    fig, axes = _panels(ax, [ym.shape, ym.shape, out_shape], cell, title, align="top")
    _between(axes[0], axes[1], "+")
    _between(axes[1], axes[2], "\u2192")
    a_y, a_i, a_z = axes
    grid_axes(a_y, *ym.shape, f"pooled input {dims(ym.shape)}")
    grid_axes(a_i, *ym.shape, "indices it remembers")
    grid_axes(a_z, *out_shape, f"output {dims(out_shape)}")
    owner = {int(v): k for k, v in enumerate(idx2.ravel())}
    for k, ((r, c), v) in enumerate(np.ndenumerate(ym)):
        colour = LINKS[k % len(LINKS)]
        draw_cell(a_y, r, c, light(colour), format_value(v))
        outline(a_y, r, c, 1, 1, colour)
        flat = int(idx2[r, c])
        draw_cell(a_i, r, c, light(colour), "")
        a_i.text(c + 0.5, r + 0.35, str(flat), ha="center", va="center",
                 fontsize=VALUE_FONT, gid="value")
        a_i.text(c + 0.5, r + 0.72, f"({flat // width},{flat % width})", ha="center",
                 va="center", fontsize=MIN_FONT, gid="position")
        outline(a_i, r, c, 1, 1, colour)
    for (r, c), v in np.ndenumerate(z):
        k = owner.get(r * width + c)
        if k is None:
            draw_cell(a_z, r, c, EMPTY_FACE, format_value(v), colour=ZERO_TEXT)
        else:
            draw_cell(a_z, r, c, light(LINKS[k % len(LINKS)]), format_value(v), bold=True)
            outline(a_z, r, c, 1, 1, LINKS[k % len(LINKS)])
    _window_lines(a_z, kernel, stride, out_shape, ndim)
    a_i.set_xlabel(f"flat index = row \u00d7 {width} + column", fontsize=10)
    a_y.set_xlabel("U @ y puts value j at\noutput position indices[j];\nevery other "
                   "output is 0", fontsize=10)
    return fig


def _window_lines(ax, k, stride, shape, ndim):
    s = k if stride is None else grid_pair(stride, ndim, "stride")
    if k != s:
        return  # windows overlap or leave gaps: lines would mislead
    for x in range(k[1], shape[1], k[1]):
        ax.axvline(x, color="0.25", linewidth=2)
    for y in range(k[0], shape[0], k[0]) if k[0] > 1 else ():
        ax.axhline(y, color="0.25", linewidth=2)
