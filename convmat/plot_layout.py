"""The figure helpers every picture of :mod:`convmat.plot` shares: colours, new figures,
titles, and panels placed so that every cell has the same size.

Figures are made with :class:`matplotlib.figure.Figure`, never with ``plt.figure`` or
``plt.subplots``: pyplot does not know them, so a notebook shows a returned figure once
(as the cell's value) rather than twice (pyplot's inline display as well), and a script
that draws a hundred figures does not keep them all alive. A returned Axes shows its
figure too (:class:`ShownAxes`). Nothing here imports pyplot: to show a figure outside a
notebook, save it (``fig.savefig``) or hand it to a pyplot window yourself.

A teaching figure compares panels cell by cell, so :func:`cell_panels` places each panel
at an exact size in inches: one matrix cell, one image pixel, is ``cell`` inches in every
panel, whatever the panel's shape. Text is never smaller than :data:`MIN_FONT` points at
the saved size, so that a figure stays legible on a projector.
"""

from __future__ import annotations

import io
import textwrap
from collections import deque
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.textpath import TextPath

__all__: list[str] = []

# Pastel colours, so that black text stays readable on every cell; one per label.
PALETTE = ["#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99",
           "#8dd3c7", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"]
# Strong colours for outlines that link one thing to another (an output and its window,
# row i of C and column i of C.T); each stays visible on every pastel above.
LINKS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
         "#17becf", "#7f7f7f", "#bcbd22"]
#: The colour of a stored entry in an unlabelled sparsity pattern.
PATTERN_COLOUR = "#3b6ea5"
#: The smallest text drawn, in points at the saved size.
MIN_FONT = 9.0
#: Room, in inches, for a panel title (one line) and for axis tick labels plus a caption.
TITLE_IN = 0.35
AXIS_IN = 0.55


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


class ShownFigure(Figure):
    """A Figure that a notebook shows as a PNG, also where no pyplot backend told IPython
    how to show figures (a session that never imported pyplot)."""

    def _repr_png_(self) -> bytes:
        return _png(self)


class ShownAxes(Axes):
    """An Axes that a notebook shows as its whole figure: what a plot function returns
    when it made the figure itself, so that ``plot_taps(taps)`` in a cell shows the
    picture (once), not ``<Axes: ...>``."""

    def _repr_png_(self) -> bytes:
        return _png(self.figure)


#: The latest figures made here, oldest first: pyplot does not list them, so the
#: documentation's gallery reads them from here to save each example's pictures (a figure
#: whose caller dropped it would be gone before the gallery saw it; a bounded queue keeps
#: a few alive without keeping every figure of a long session).
MADE_FIGURES: deque = deque(maxlen=32)


def new_figure(size, layout="constrained") -> Figure:
    """A figure of ``size`` inches that pyplot does not manage (see the module notes)."""
    fig = ShownFigure(figsize=size, layout=layout)
    MADE_FIGURES.append(fig)
    return fig


def check_axes(ax, n=None):
    """``ax`` (``None``, one Axes, or with ``n`` a sequence of ``n`` of them), checked."""
    if n is None or isinstance(ax, Axes) or not isinstance(ax, (list, tuple, np.ndarray)):
        axes = [ax]  # one object: an Axes, or refused below (never read as an array)
    else:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if not all(isinstance(a, Axes) for a in axes):
        what = "a matplotlib Axes" if n is None else f"a sequence of {n} matplotlib Axes"
        raise TypeError(f"ax must be {what}, got ax={' '.join(repr(ax).split())[:60]}")
    if n is not None and len(axes) != n:
        raise ValueError(f"ax must hold {n} Axes for this view, got {len(axes)}")
    return ax if n is None else axes


def new_axes(ax, size):
    """``ax``, or the Axes of a new figure of ``size`` inches."""
    if ax is not None:
        return check_axes(ax)
    return new_figure(size).subplots(subplot_kw=dict(axes_class=ShownAxes))


def new_axes_row(ax, n, size, width_ratios=None):
    """``(figure, [n Axes])``: those of ``ax``, or a new row of ``n`` panels."""
    if ax is not None:
        axes = check_axes(ax, n)
        return axes[0].figure, axes
    axes = new_figure(size).subplots(1, n, width_ratios=width_ratios,
                                     subplot_kw=dict(axes_class=ShownAxes))
    return axes[0].figure, list(np.ravel(axes))


def suptitle(fig, text, fontsize=12):
    """A figure title, wrapped to the figure's width so that no word is cut off."""
    chars = max(30, int(fig.get_figwidth() * 72 / (0.55 * fontsize)))
    lines = [textwrap.fill(line, chars) for line in str(text).splitlines()]
    fig.suptitle("\n".join(lines), fontsize=fontsize)


@lru_cache(maxsize=4096)
def _points(line: str, fontsize: float) -> float:
    return TextPath((0, 0), line, size=fontsize).get_extents().width if line else 0.0


def text_inches(text: str, fontsize: float = 10.0) -> float:
    """How wide ``text`` is drawn (its longest line), in inches, measured with the
    default font's glyphs."""
    return max((_points(line, float(fontsize)) for line in str(text).splitlines()),
               default=0.0) / 72


def cell_inches(labels, fontsize: float = 10.0, least: float = 0.55) -> float:
    """A square cell wide enough for each of ``labels`` at ``fontsize``, with a margin."""
    widest = max((text_inches(lab, fontsize) for lab in labels), default=0.0)
    return max(least, widest + 0.24)


def cell_font(ax, n_rows: int, n_cols: int, labels, most: float = 12.0) -> float:
    """The largest font up to ``most`` at which every label fits 80 % of a cell of ``ax``,
    never below :data:`MIN_FONT` (size the figure with :func:`cell_inches` so that it
    fits)."""
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    cell = min(box.width * fig_w / max(n_cols, 1), box.height * fig_h / max(n_rows, 1))
    widest = max((text_inches(lab, 1.0) for lab in labels), default=0.0)
    if widest == 0:
        return most
    return float(np.clip(0.8 * cell / widest, MIN_FONT, most))


@dataclass(frozen=True)
class Panel:
    """A panel to place: its drawing area (``width`` x ``height`` inches) and the room its
    text needs around it (tick labels, axis captions, a title, row texts, a legend)."""

    width: float
    height: float
    left: float = AXIS_IN
    right: float = 0.3
    above: float = TITLE_IN + AXIS_IN
    below: float = 0.3


def place_rows(rows, *, title=None, align="top", stacked=False, order=None, fontsize=12):
    """``(figure, [Axes])``: the :class:`Panel` s of ``rows`` (a list of rows, each a list
    of panels) placed left to right and top to bottom, each exactly its size.

    The panels of a row line up at the ``top`` of their drawing areas (row 0 beside row
    0) or at their ``center``. No layout engine moves them afterwards, so a cell drawn
    ``c`` inches wide in one panel is ``c`` inches wide in every panel; saving with
    ``bbox_inches="tight"`` (as Jupyter and ``convmat figures`` do) crops to what is drawn.
    With ``stacked``, the first panels of all rows start at the same distance from the
    left edge, so that the columns of stacked matrices line up. ``order`` (indices into
    the panels, row by row) is the order the Axes are made and returned in, which is
    ``figure.axes``' order.
    """
    if stacked:
        left = max(row[0].left for row in rows)
        rows = [[replace(row[0], left=left), *row[1:]] for row in rows]
    widths = [sum(p.left + p.width + p.right for p in row) for row in rows]
    width = max(widths)
    y = title_inches(title, width, fontsize)
    places = []
    for row in rows:
        above = max(p.above for p in row)
        tallest = max(p.height for p in row)
        x = 0.0
        for p in row:
            shift = (tallest - p.height) / 2 if align == "center" else 0.0
            places.append((x + p.left, y + above + shift, p.width, p.height))
            x += p.left + p.width + p.right
        y += above + max(p.height + p.below + ((tallest - p.height) / 2 if align == "center"
                                               else 0.0) for p in row)
    fig = new_figure((width, y), layout=None)
    order = range(len(places)) if order is None else order
    axes = [fig.add_axes((left / width, 1 - (top + h) / y, w / width, h / y),
                         axes_class=ShownAxes)
            for left, top, w, h in (places[i] for i in order)]
    if title is not None:
        chars = max(30, int(width * 72 / (0.55 * fontsize)))
        text = "\n".join(textwrap.fill(line, chars) for line in str(title).splitlines())
        fig.suptitle(text, fontsize=fontsize, y=1 - 0.1 / y, va="top")
    return fig, axes


def title_inches(title, width, fontsize=12) -> float:
    """The height the wrapped figure title takes (0 without a title)."""
    if not title:
        return 0.0
    chars = max(30, int(width * 72 / (0.55 * fontsize)))
    lines = sum(len(textwrap.wrap(line, chars)) or 1 for line in str(title).splitlines())
    return 0.2 + lines * fontsize * 1.3 / 72


def cell_panels(shapes, cell, *, vertical=False, gap=0.9, left=AXIS_IN, right=0.3,
                above=TITLE_IN + AXIS_IN, below=0.3, title=None, align="top"):
    """``(figure, [Axes])``: one panel per ``(n_rows, n_cols)`` of ``shapes``, in a row
    (or a column), every cell ``cell`` inches square, ``gap`` inches between panels."""
    n = len(shapes)
    panels = [Panel(c * cell, r * cell, left=left if i == 0 or vertical else gap,
                    right=right if i == n - 1 or vertical else 0.0, above=above, below=below)
              for i, (r, c) in enumerate(shapes)]
    rows = [[p] for p in panels] if vertical else [panels]
    return place_rows(rows, title=title, align=align)


def wrap_caption(text, inches, fontsize=9.0) -> str:
    """``text`` wrapped to lines about ``inches`` long (an axis caption along its panel)."""
    chars = max(18, int(inches * 72 / (0.55 * fontsize)))
    return textwrap.fill(text, chars)


def cell_size_of(ax) -> tuple[float, float]:
    """The size in inches of one data unit of ``ax`` (one cell of a drawn grid)."""
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    return box.width * fig_w / abs(x1 - x0), box.height * fig_h / abs(y1 - y0)


# --------------------------------------------------------------------------- cell grids
def light(colour, amount=0.3):
    """``colour`` mixed with white: a face that black text stays readable on."""
    rgb = np.array(mcolors.to_rgb(colour))
    return tuple(amount * rgb + (1 - amount))


def grid_axes(ax, n_rows, n_cols, title, row_names=None, col_names=None):
    """Make ``ax`` a grid whose data units are cells: cell (r, c) spans [c, c+1] x [r, r+1],
    row 0 at the top, ticks naming the rows and columns."""
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(n_cols) + 0.5,
                  labels=col_names if col_names is not None else range(n_cols))
    ax.set_yticks(np.arange(n_rows) + 0.5,
                  labels=row_names if row_names is not None else range(n_rows))
    ax.tick_params(length=0, labelsize=MIN_FONT, labeltop=True, labelbottom=False)
    if n_rows == 1:
        ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10.5)


def draw_cell(ax, r, c, face, text="", *, colour="black", bold=False, gid="value",
              size=12.0):
    """One cell of a grid: its face (a colour, or a list of colours drawn as vertical
    stripes) and its text (tagged ``gid`` so that tests can read what was drawn)."""
    faces = face if isinstance(face, list) else [face]
    for i, f in enumerate(faces):
        ax.add_patch(Rectangle((c + i / len(faces), r), 1 / len(faces), 1, facecolor=f,
                               edgecolor="none"))
    ax.add_patch(Rectangle((c, r), 1, 1, fill=False, edgecolor="white", linewidth=1.5))
    if text != "":
        t = ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=size,
                    color=colour, fontweight="bold" if bold else "normal", zorder=3)
        t.set_gid(gid)


def outline(ax, r, c, h, w, colour, inset=0.07, lw=2.4, ls="-", zorder=2.8):
    """A rectangle's outline, ``inset`` inside the cells it frames (so that two outlines
    sharing a border stay apart)."""
    ax.add_patch(Rectangle((c + inset, r + inset), w - 2 * inset, h - 2 * inset, fill=False,
                           edgecolor=colour, linewidth=lw, linestyle=ls, zorder=zorder))
