r"""Animations of a convolution and a transposed convolution, step by step.

A convolution ``y = C x`` computes one output per step: the window slides over the padded
input, and step ``i`` is row ``i`` of ``C`` (the taps it holds are the window's). A
transposed convolution ``z = C^T x`` adds one *stamp* per step: input ``i`` times the
filter, placed at ``i * stride`` on the output, is column ``i`` of ``C^T``; the stamps add
up, and the ``padding`` outer positions are cropped (``output_padding`` adds zeros at the
end). :func:`animate_conv` draws these steps for 1-D and 2-D inputs,
:func:`save_animation` writes them as a GIF, and :func:`animate` takes the options of
``convmat show`` (so that ``convmat animate`` can hand its arguments on).

The frames are data as well as pictures: ``ConvAnimation.steps`` holds, for each
step, the positions read or written and the running result, computed from the window
formula ``q = j s - p + t d`` in :mod:`convmat._conv_steps`, so that they can be checked
against ``conv_matrix`` and torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.animation import Animation, FuncAnimation, PillowWriter
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ._args import as_dpi, as_int, as_path, as_positive_real, brief, is_real
from ._conv_steps import (
    CELL_RANGE,
    FPS_RANGE,
    MAX_INCHES,
    MIN_FONT_PT,
    ConvStep,
    Setup,
    caption,
    check_interval,
    check_pixels,
    conv_steps,
    format_sizes,
    make_setup,
    names_of,
    show_setup,
    title,
)
from .labels import format_value

__all__ = ["ConvAnimation", "ConvStep", "animate", "animate_conv", "save_animation"]

# Colours: inputs, padding, the current step, results already written, matrix entries.
INPUT, PAD, HOT, DONE, ENTRY = "#dbe9f6", "#eeeeee", "#fdae6b", "#c7e9c0", "#e8eef7"
EDGE, HOT_EDGE = "0.55", "#c0392b"


# =========================================================================== drawing
class _Scene:
    """One Axes in cell units (1 unit = 1 cell, y downwards): every panel of a frame is
    drawn in it, so that all cells have the same size."""

    def __init__(self, ax, cell_pt: float):
        self.ax, self.pt = ax, cell_pt

    def size(self, text: str, scale: float = 0.45) -> float:
        # A digit is about 0.6 em wide: shrink long labels to fit their cell.
        return max(self.pt * min(scale, 0.75 / max(1.0, 0.6 * len(text))), MIN_FONT_PT)

    def grid(self, x0, y0, faces, texts, colors=None, edge=EDGE):
        """A grid of cells, top-left at ``(x0, y0)``: one image, its lines, its texts."""
        n, m = faces.shape
        rgba = to_rgba_array(faces.ravel()).reshape(n, m, 4)
        self.ax.imshow(rgba, extent=(x0, x0 + m, y0 + n, y0), interpolation="nearest",
                       zorder=1)
        self.ax.vlines(x0 + np.arange(m + 1), y0, y0 + n, colors=edge, linewidth=0.8,
                       zorder=2)
        self.ax.hlines(y0 + np.arange(n + 1), x0, x0 + m, colors=edge, linewidth=0.8,
                       zorder=2)
        for (r, c), text in np.ndenumerate(texts):
            if text:
                color = "black" if colors is None else colors[r, c]
                self.ax.text(x0 + c + 0.5, y0 + r + 0.5, text, ha="center", va="center",
                             fontsize=self.size(text), color=color, zorder=4)

    def outline(self, x, y, w, h, color=HOT_EDGE, lw=2.6, ls="-"):
        self.ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=color,
                                    linewidth=lw, linestyle=ls, zorder=3))

    def label(self, x, y, text, ha="left", va="bottom", scale=0.36, color="0.15"):
        self.ax.text(x, y, text, ha=ha, va=va, fontsize=max(self.pt * scale, MIN_FONT_PT),
                     color=color)


@dataclass(frozen=True)
class _Layout:
    """Where the panels of one animation go, in cell units."""

    extent: tuple            # (x_min, x_max, y_min, y_max)
    data: tuple              # top-left of the input (conv: the padded input)
    result: tuple            # top-left of the output (transposed: the uncropped grid)
    matrix: tuple            # top-left of the matrix
    stamp: tuple | None      # 1-D transposed: top-left of the stamp column


def _layout(s: Setup, n_rows: int, n_cols: int) -> _Layout:
    if len(s.x.shape) == 1:
        b = s.before[0]
        if not s.transpose:  # out = C x: out column, then C with the padded x above it
            r0, cx = 4, 3
            box = (min(0, cx - b), max(cx + n_cols, cx - b + s.grid[0]), 0.75,
                   r0 + n_rows)
            return _Layout(box, (cx - b, 1.5), (0, r0), (cx, r0), None)
        # stamp column, sum column (and its terms), then C^T with x above it
        r0, cx = b + 4, 7.5
        box = (-0.2, cx + n_cols, min(r0 - 2.5, r0 - b) - 0.75, r0 - b + s.grid[0])
        return _Layout(box, (cx, r0 - 2.5), (2, r0 - b), (cx, r0), (0, r0 - b))
    # 2-D: the input above the output on the left, the matrix on the right
    top = 1.2
    first = s.grid if not s.transpose else s.x.shape
    second = s.out if not s.transpose else s.grid
    left = max(first[1], second[1])
    cx = left + 2
    bottom = max(top + first[0] + 1.5 + second[0] + 0.7 * s.transpose, top + n_rows)
    box = (0, cx + n_cols, top - 0.75, bottom)
    return _Layout(box, (0, top), (0, top + first[0] + 1.5), (cx, top), None)



def _draw_matrix(sc: _Scene, origin, grid, name, hot_row=None, hot_col=None):
    """``C`` (or ``C^T``) cell by cell, entries labelled, the current row (column) hot."""
    x0, y0 = origin
    n, m = grid.shape
    faces = np.where(grid != "", ENTRY, "white").astype(object)
    if hot_row is not None:
        faces[hot_row, grid[hot_row] != ""] = HOT
    if hot_col is not None:
        faces[grid[:, hot_col] != "", hot_col] = HOT
    sc.grid(x0, y0, faces, grid)
    if hot_row is not None:
        sc.outline(x0, y0 + hot_row, m, 1)
    if hot_col is not None:
        sc.outline(x0 + hot_col, y0, 1, n)
    sc.label(x0 + m + 0.25, y0 + 0.5, f"{name} ({n}\u00d7{m})", va="center", scale=0.42)


def _draw_data(sc: _Scene, origin, s: Setup, inputs, hot):
    """The input: padded for a convolution (padding grey), the current cell(s) hot."""
    x0, y0 = origin
    values = s.x.reshape(s.x.shape if s.x.ndim == 2 else (1, -1))
    before = s.before if not s.transpose else (0,) * s.x.ndim
    shape = s.grid if not s.transpose else s.x.shape
    shape = shape if len(shape) == 2 else (1, shape[0])
    before = before if len(before) == 2 else (0, before[0])
    faces = np.full(shape, PAD, dtype=object)
    texts = np.full(shape, "0", dtype=object)
    colors = np.full(shape, "0.5", dtype=object)
    inner = (slice(before[0], before[0] + values.shape[0]),
             slice(before[1], before[1] + values.shape[1]))
    faces[inner] = INPUT
    texts[inner] = np.vectorize(format_value, otypes=[object])(values)
    colors[inner] = "black"
    rows, cols = (hot if len(hot) == 2 else (np.zeros_like(hot[0]), hot[0]))
    faces[rows, cols] = HOT
    sc.grid(x0, y0, faces, texts, colors)
    sc.outline(x0 + cols.min(), y0 + rows.min(), cols.max() - cols.min() + 1,
               rows.max() - rows.min() + 1)
    if s.x.ndim == 1 and s.x.size <= 26:  # the article's names above the inputs
        for j, name in enumerate(inputs):
            sc.label(x0 + before[1] + j + 0.5, y0 - 0.05, name, ha="center", scale=0.34)


def _draw_result(sc: _Scene, origin, s: Setup, steps, i, notes_x=None, terms=None):
    """Conv: the outputs so far. Transposed: the running sum on the uncropped output, the
    cropped border grey and the kept part outlined."""
    x0, y0 = origin
    step = steps[i]
    if not s.transpose:
        y = step.result
        shape = y.shape if y.ndim == 2 else (y.size, 1)
        done = ~np.isnan(y.reshape(shape))
        faces = np.where(done, DONE, "white").astype(object)
        texts = np.full(shape, "", dtype=object)
        texts[done] = [format_value(v) for v in y.reshape(shape)[done]]
        hot = np.unravel_index(step.index, shape)
        faces[hot] = HOT
        sc.grid(x0, y0, faces, texts)
        sc.outline(x0 + hot[1], y0 + hot[0], 1, 1)
        return
    canvas = step.result
    shape = canvas.shape if canvas.ndim == 2 else (canvas.size, 1)
    touched = np.zeros(canvas.shape, bool)
    for earlier in steps[: i + 1]:
        touched[earlier.padded] = True
    kept = np.zeros(canvas.shape, bool)
    kept[tuple(slice(b, b + o) for b, o in zip(s.before, s.out))] = True
    never = np.ones(canvas.shape, bool)  # kept but never written: output_padding's zeros
    for step_ in steps:
        never[step_.padded] = False
    touched, kept, never = (m.reshape(shape) for m in (touched, kept, never))
    values = canvas.reshape(shape)
    faces = np.where(kept, np.where(touched, DONE, "white"), PAD).astype(object)
    texts = np.full(shape, "", dtype=object)
    shown = touched | ~kept | never
    texts[shown] = [format_value(v) for v in values[shown]]
    colors = np.where(kept & ~never, "black", "0.5").astype(object)
    hot = np.unravel_index(np.ravel_multi_index(step.padded, canvas.shape), shape)
    faces[hot] = HOT
    sc.grid(x0, y0, faces, texts, colors)
    if s.x.ndim == 1:
        b, o, n = s.before[0], s.out[0], s.grid[0]
        sc.outline(x0, y0 + b, 1, o, color="0.15", lw=1.6, ls="--")
        op = s.output_padding[0]
        notes = [(0, b, "cropped"), (b + o, n, "cropped"), (b + o - op, b + o, "output_padding")]
        for first, last, text in notes:
            if last > first:
                sc.label(notes_x, y0 + (first + last) / 2, text, ha="right", va="center",
                         scale=0.3)
        if terms is not None:  # the article's symbolic sums: ax, ay, az+bx, ...
            for q, text in enumerate(terms):
                sc.label(x0 + 1.15, y0 + q + 0.5, text, va="center", scale=0.34,
                         color="black" if b <= q < b + o else "0.5")
    else:
        (b0, b1), (o0, o1) = s.before, s.out
        sc.outline(x0 + b1, y0 + b0, o1, o0, color="0.15", lw=1.6, ls="--")
        r, c = step.padded
        sc.outline(x0 + c.min(), y0 + r.min(), c.max() - c.min() + 1, r.max() - r.min() + 1)
        sc.label(x0, y0 + shape[0] + 0.1, f"dashed: the {o0}\u00d7{o1} output, after the crop",
                 va="top", scale=0.32)


def _draw_stamp(sc: _Scene, origin, s: Setup, step: ConvStep):
    """1-D transposed: this step's stamp, ``x[i] * w`` at ``i * stride + t * dilation``."""
    x0, y0 = origin
    n = s.grid[0]
    faces = np.full((n, 1), "white", dtype=object)
    texts = np.full((n, 1), "", dtype=object)
    q = step.padded[0]
    faces[q, 0] = HOT
    texts[q, 0] = [format_value(v) for v in step.value * s.weight.ravel()]
    sc.grid(x0, y0, faces, texts, edge="0.8")
    sc.outline(x0, y0 + q.min(), 1, q.max() - q.min() + 1)


class ConvAnimation(FuncAnimation):
    """A (transposed) convolution drawn step by step: a ``FuncAnimation`` on its own
    ``matplotlib.figure.Figure`` (never a pyplot figure, so Jupyter shows it once).

    Attributes
    ----------
    steps : list of ConvStep
        The data of each frame.
    matrix : scipy.sparse.csr_array
        ``conv_matrix`` (or ``conv_transpose_matrix``) of the weight drawn.
    figure : matplotlib.figure.Figure
    """

    def __init__(self, setup: Setup, names=None, *, interval=1000, cell=None):
        from .convolution import conv_taps, conv_transpose_taps
        from .labels import tap_grid

        if not isinstance(setup, Setup):
            raise TypeError(f"setup must be a Setup (use animate_conv or animate), got "
                            f"setup={brief(setup)}")
        self.setup = s = setup
        self.interval = interval = check_interval(interval)
        if cell is not None:
            cell = as_positive_real(cell, "cell", at_least=CELL_RANGE[0],
                                    at_most=CELL_RANGE[1], why=" (inches per cell)")
        self.steps = conv_steps(s)
        w4 = s.weight[None, None]
        make = conv_transpose_taps if s.transpose else conv_taps
        taps = make(w4.shape, (1, *s.x.shape), **s.kwargs)
        self.matrix = taps.matrix(w4)
        self._names, self._inputs = names_of(s, names)
        _, self._grid = tap_grid(taps, self._names)
        n_rows, n_cols = self._grid.shape
        self._layout = lay = _layout(s, n_rows, n_cols)
        x_min, x_max, y_min, y_max = lay.extent
        x_max += 4.2 if s.x.ndim == 1 else 3.0  # room for the matrix's name
        if s.x.ndim == 1 and s.transpose:
            x_min -= 2.6  # room for "cropped" / "output_padding"
        y_max += 0.35  # room for the outlines' thick edges
        self._extent = (x_min, x_max, y_min, y_max)
        width, height = x_max - x_min, y_max - y_min
        if cell is None:  # inches per cell: large on a projector, the whole fits a slide
            cell = float(np.clip(min(0.6, 13.0 / width, 8.0 / height), 0.2, 0.6))
        header = 1.0
        fig_w = max(width * cell + 0.4, 8.0)
        fig_h = height * cell + header + 0.2
        if max(fig_w, fig_h) > MAX_INCHES:  # only a large cell given can get here
            raise ValueError(f"the figure would be {fig_w:.0f}x{fig_h:.0f} inches, more "
                             f"than {MAX_INCHES} a side: choose a smaller cell, got "
                             f"cell={cell!r}")
        self.figure = fig = Figure(figsize=(fig_w, fig_h))
        ax = fig.add_axes(((fig_w - width * cell) / 2 / fig_w, 0.1 / fig_h,
                           width * cell / fig_w, height * cell / fig_h))
        self._scene = _Scene(ax, cell * 72)
        self._title = fig.text(0.5, 1 - 0.12 / fig_h, "", ha="center", va="top")
        self._caption = fig.text(0.5, 1 - 0.55 / fig_h, "", ha="center", va="top",
                                 color=HOT_EDGE)
        super().__init__(fig, self.draw_frame, frames=len(self.steps), interval=interval,
                         repeat=True, repeat_delay=2 * interval)
        # The steps are data too: an animation that is only inspected, never rendered, is
        # not the mistake matplotlib's deletion warning is about.
        self._draw_was_started = True

    def _fit(self, text, at_most):
        fit = self.figure.get_figwidth() * 72 / (0.6 * max(len(text), 1))
        return max(min(at_most, fit), MIN_FONT_PT)

    def draw_frame(self, i: int) -> list:
        """Draw step ``i`` (from 0) into the animation's ``figure``."""
        i = as_int(i, "i")
        if not 0 <= i < len(self.steps):
            raise ValueError(f"i must be a step in [0, {len(self.steps)}), got i={i}")
        s, lay, sc, step = self.setup, self._layout, self._scene, self.steps[i]
        ax = sc.ax
        ax.clear()
        ax.set_axis_off()
        name = "C\u1d40" if s.transpose else "C"
        if s.transpose:
            hot = np.unravel_index(step.index, s.x.shape)
            _draw_data(sc, lay.data, s, self._inputs, tuple(np.atleast_1d(h) for h in hot))
            _draw_matrix(sc, lay.matrix, self._grid, name, hot_col=step.index)
            if lay.stamp is not None:
                _draw_stamp(sc, lay.stamp, s, step)
        else:
            _draw_data(sc, lay.data, s, self._inputs, step.padded)
            _draw_matrix(sc, lay.matrix, self._grid, name, hot_row=step.index)
            if s.x.ndim == 1:  # the tap names under the window
                for t, q in enumerate(step.padded[0]):
                    sc.label(lay.data[0] + q + 0.5, lay.data[1] + 1.05, self._names[t],
                             ha="center", va="top", scale=0.34, color=HOT_EDGE)
        terms = self._terms(i) if s.transpose and s.x.ndim == 1 else None
        notes_x = lay.stamp[0] - 0.15 if lay.stamp is not None else None
        _draw_result(sc, lay.result, s, self.steps, i, notes_x, terms)
        self._panel_labels(i)
        x_min, x_max, y_min, y_max = self._extent
        ax.set_xlim(x_min, x_max)
        ax.set_ylim(y_max, y_min)
        ax.set_aspect("auto")
        head = title(s, self._names)
        text = (f"step {i + 1}/{len(self.steps)}: "
                f"{caption(s, step, self._names, self._inputs)}")
        self._title.set(text=head, fontsize=self._fit(head, 14))
        self._caption.set(text=text, fontsize=self._fit(text, 15))
        return []

    def _input_label(self) -> str:
        s = self.setup
        padded = any(s.before) or any(g != n for g, n in zip(s.grid, s.x.shape))
        return f"input, padded by {format_sizes(s.before)}" if padded else "input"

    def _terms(self, i):
        """1-D transposed: each uncropped output as the article writes it (``az+bx``),
        after step ``i``; ``None`` when the names are too long to fit."""
        if self.setup.x.size > 8 or max(len(n) for n in self._names) > 2:
            return None
        terms = [[] for _ in range(self.setup.grid[0])]
        for step in self.steps[: i + 1]:
            for t, q in enumerate(step.padded[0]):
                terms[q].append(self._inputs[step.index] + self._names[t])
        return ["+".join(parts) for parts in terms]

    def _panel_labels(self, i):
        s, lay, sc = self.setup, self._layout, self._scene
        if s.x.ndim == 1 and not s.transpose:
            x, y = lay.result
            sc.label(x + 0.5, y - 0.1, "out", ha="center", scale=0.4)
            sc.label(x + 2, y + s.out[0] / 2, "=", ha="center", va="center", scale=0.8)
            sc.label(lay.data[0] + s.grid[0] + 0.25, lay.data[1] + 0.5, self._input_label(),
                     va="center", scale=0.34)
        elif s.x.ndim == 1:
            x, y = lay.result
            sc.label(lay.stamp[0] + 0.5, y - 0.1, "stamp", ha="center", scale=0.36)
            sc.label(x + 0.5, y - 0.1, "sum", ha="center", scale=0.36)
            sc.label(lay.data[0] + s.x.size + 0.25, lay.data[1] + 0.5, "input",
                     va="center", scale=0.36)
        else:
            what = (("input", "sum on the uncropped output") if s.transpose else
                    (self._input_label(), "out"))
            for (x, y), text in zip((lay.data, lay.result), what):
                sc.label(x, y - 0.1, text, scale=0.4)

    def frame_png(self, i: int, path, *, dpi: int = 100) -> Path:
        """Draw step ``i`` and save it as a PNG file; returns the path. ``dpi`` as for
        :func:`save_animation`."""
        path, dpi = as_path(path, "path"), as_dpi(dpi)
        check_pixels(self.figure, dpi, 1)
        self.draw_frame(i)
        self.figure.savefig(path, dpi=dpi, format="png")
        return path

    def _repr_html_(self):
        # In a notebook: a player with every frame, without a pyplot figure behind it.
        return self.to_jshtml()


# =========================================================================== public
def animate_conv(weight_or_kernel, input_shape, *, stride=1, padding=0, dilation=1,
                 transpose: bool = False, output_padding=0, x=None, names=None,
                 interval: int = 1000, cell: float | None = None) -> ConvAnimation:
    r"""Animate a 1-D or 2-D convolution row by row of ``C``, or a transposed convolution
    stamp by stamp, column by column of ``C^T``.

    Parameters
    ----------
    weight_or_kernel : int, tuple of int, or array_like
        A kernel size (the filter is then ``1, 2, ..., K``, so that its taps are told
        apart), or a filter of one channel: shape ``kernel`` or ``(1, 1, *kernel)``
        (a torch tensor too, ``requires_grad`` or not).
    input_shape : int or tuple of int
        The spatial input size, 1-D or 2-D (a leading channel count of 1 is accepted), at
        most 64 inputs: the matrix drawn has at most 64 rows and 64 columns
        (``MAX_SIDE``), and the padded input (or uncropped output) at most 256 cells
        (``MAX_CELLS``), each drawn with its number, one frame per output (input).
    stride, padding, dilation, output_padding :
        As for :func:`~convmat.conv_matrix` (``padding="same"`` included) and
        :func:`~convmat.conv_transpose_matrix`; ``output_padding`` with ``transpose`` only.
    transpose : bool
        A transposed convolution of an input of ``input_shape``.
    x : array_like, optional
        The input values (default ``1, 2, 3, ...``).
    names : str or sequence of str, optional
        Names of the filter taps, one letter each (``"xyz"``), comma-separated
        (``"w0,w1,w2"``) or a list of strings (default ``x, y, z`` for a 3-tap 1-D
        filter, as the article *Unsampling: Unpooling and Transpose Convolution* names
        them).
    interval : int
        Milliseconds between frames, from 10 to 100000 (a GIF counts time in hundredths
        of a second).
    cell : float, optional
        Size of a cell in inches, from 0.1 to 1 (default: as large as fits a 13 x 8 inch
        slide, at most 0.6); the figure is at most 100 inches a side.

    Returns
    -------
    ConvAnimation
        A ``FuncAnimation`` with one frame per output (convolution) or input
        (transposed), its ``steps`` and :meth:`~ConvAnimation.frame_png`.

    Notes
    -----
    Frame ``i`` of a convolution highlights row ``i`` of ``C``, the window it reads on the
    padded input, ``q_t = j s - p + t d`` for the taps ``t`` (``j`` the output position
    of row ``i``), and the output ``y_i = sum_t w_t x[q_t]`` it writes. Frame ``i`` of a
    transposed convolution highlights column ``i`` of ``C^T`` and adds the stamp
    ``x_i w_t`` at ``i s + t d`` of the uncropped output; the first ``padding`` and last
    ``padding - output_padding`` positions are cropped, so that after the last frame the
    kept part is ``F.conv_transpose``.

    Examples
    --------
    The article's Fig. 7: inputs ``[a, b] = [1, 2]``, filter ``[x, y, z] = [1, 2, 3]``,
    stride 2; the last frame holds ``ax, ay, az + bx, by, bz``:

    >>> anim = animate_conv(3, 2, stride=2, transpose=True)
    >>> anim.matrix.toarray()
    array([[1., 0.],
           [2., 0.],
           [3., 1.],
           [0., 2.],
           [0., 3.]])
    >>> anim.matrix.T.toarray()
    array([[1., 2., 3., 0., 0.],
           [0., 0., 1., 2., 3.]])
    >>> [step.result.tolist() for step in anim.steps]
    [[1.0, 2.0, 3.0, 0.0, 0.0], [1.0, 2.0, 5.0, 4.0, 6.0]]
    """
    interval = check_interval(interval)  # the cheap checks first, then the geometry
    setup = make_setup(weight_or_kernel, input_shape, x, stride, padding, dilation,
                       transpose, output_padding)
    return ConvAnimation(setup, names, interval=interval, cell=cell)


#: The operations :func:`animate` draws, named as ``convmat show`` names them.
ANIMATED_OPS = ("conv",)


def animate(op: str = "conv", *, input=None, kernel=None, stride=None, padding=0,
            dilation=1, output_padding=0, transpose: bool = False, weight=None,
            values=None, names=None, channels: int = 1, out_channels: int = 1,
            groups: int = 1, interval: int = 1000) -> ConvAnimation:
    """The animation of ``convmat show OP``'s operation, with its options and defaults.

    The keyword names are those of ``convmat show`` (``--input`` is ``input``,
    ``--output-padding`` is ``output_padding``), so that ``convmat animate`` can pass its
    parsed arguments on. Sizes are an int or a tuple of 1 or ``ndim`` values.

    Parameters
    ----------
    op : str
        ``"conv"`` (with ``transpose=True``, the transposed convolution).
    input : int or tuple of int, optional
        Spatial input size, 1-D or 2-D (default 4), at most 64 inputs (and a padded input
        or uncropped output of at most 256 cells), as for :func:`animate_conv`.
    kernel : int or tuple of int, optional
        Kernel size (default 3); the filter is ``1, 2, ..., K`` unless ``weight`` is given.
    stride, padding, dilation, output_padding :
        As for :func:`~convmat.conv_matrix` / :func:`~convmat.conv_transpose_matrix`
        (default 1, 0, 1, 0).
    transpose : bool
        The transposed convolution of an input of size ``input``.
    weight : array_like, optional
        The filter values, flat (``--weight 1,2,3``).
    values : array_like, optional
        The input values, flat (``--values``; default ``1, 2, 3, ...``).
    names : str or sequence of str, optional
        Filter tap names (``xyz`` or ``w0,w1,w2``).
    channels, out_channels, groups : int
        Accepted for ``convmat show``'s options; an animation draws one channel, so each
        must be 1.
    interval : int
        Milliseconds between frames, from 10 to 100000.

    Returns
    -------
    ConvAnimation

    Examples
    --------
    ``convmat show conv --input 2 --stride 2 --transpose`` as frames:

    >>> anim = animate("conv", input=(2,), stride=(2,), transpose=True)
    >>> anim.matrix.toarray()
    array([[1., 0.],
           [2., 0.],
           [3., 1.],
           [0., 2.],
           [0., 3.]])
    >>> anim.matrix.T.toarray()
    array([[1., 2., 3., 0., 0.],
           [0., 0., 1., 2., 3.]])
    """
    if not isinstance(op, str) or op not in ANIMATED_OPS:
        raise (ValueError if isinstance(op, str) else TypeError)(
            f"animate draws the operations {ANIMATED_OPS} (conv with transpose=True for "
            f"the transposed convolution), got op={brief(op)}")
    interval = check_interval(interval)
    setup = show_setup(input=input, kernel=kernel, stride=stride, padding=padding,
                       dilation=dilation, output_padding=output_padding,
                       transpose=transpose, weight=weight, values=values,
                       channels=channels, out_channels=out_channels, groups=groups)
    return ConvAnimation(setup, names, interval=interval)


def save_animation(anim, path, *, fps: float | None = None, dpi: int = 100) -> Path:
    """Write an animation as a GIF, one image per step (matplotlib's ``PillowWriter``).

    Parameters
    ----------
    anim : ConvAnimation or matplotlib.animation.Animation
        From :func:`animate_conv` or :func:`animate`.
    path : str or os.PathLike
        The file to write; it must end in ``.gif``.
    fps : float, optional
        Frames per second, from 0.01 to 100 (a GIF counts time in hundredths of a second;
        default: one frame per ``anim.interval`` milliseconds).
    dpi : int
        Resolution, from 20 to 1000 dots per inch: a 0.6-inch cell is 60 pixels at the
        default 100. All frames together hold at most 200 million pixels
        (``MAX_GIF_PIXELS``; PillowWriter keeps every frame in memory).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> anim = animate_conv(3, 2, stride=2, transpose=True)
    >>> anim.matrix.toarray().T
    array([[1., 2., 3., 0., 0.],
           [0., 0., 1., 2., 3.]])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     gif = save_animation(anim, pathlib.Path(tmp) / "fig7.gif", dpi=30)
    ...     Image.open(gif).n_frames
    2
    """
    if not isinstance(anim, Animation):
        raise TypeError(f"anim must be an animation from animate_conv or animate (a "
                        f"matplotlib Animation), got anim={brief(anim)}")
    path = as_path(path, "path")
    if path.suffix.lower() != ".gif":
        raise ValueError(f"save_animation writes GIF files: path must end in .gif, got "
                         f"path={str(path)!r} (use anim.frame_png(i, path) for one frame)")
    low, high = FPS_RANGE
    why = " (frames per second; a GIF counts time in hundredths of a second)"
    if fps is None:  # one frame per interval; FuncAnimation keeps it as _interval
        interval = getattr(anim, "_interval", 1000)
        fps = 1000.0 / interval if is_real(interval) and interval > 0 else math.inf
        why += f", the default from anim's interval of {interval!r} ms"
    fps = as_positive_real(fps, "fps", at_least=low, at_most=high, why=why)
    dpi = as_dpi(dpi)
    n_frames = len(anim.steps) if isinstance(anim, ConvAnimation) else 1
    check_pixels(anim._fig, dpi, n_frames)
    anim.save(path, writer=PillowWriter(fps=fps), dpi=dpi)
    return path
