"""An interactive explorer for Jupyter: move a slider, see the matrix change.

:func:`explore` shows, for a convolution, a transposed convolution, max or average pooling
or one of the unpoolings of *Unsampling: Unpooling and Transpose Convolution* (nearest
neighbour, bed of nails, max unpooling), the op's matrix beside its transpose, the output
size with its formula filled in, and how often each position is covered. The controls are
ipywidgets sliders; a combination torch rejects shows the library's error message instead
of a picture. ipywidgets is imported only when an explorer is made
(``pip install "convmat[notebooks]"``).

The pictures come from :mod:`convmat.plot`, drawn on a ``matplotlib.figure.Figure`` (not
pyplot, so that Jupyter never shows it twice) and sent to the widget as a PNG image.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure
from scipy.sparse import csr_array

from ._args import as_bool, as_int, brief, is_int
from .convolution import conv_taps, conv_transpose_taps
from .labels import POOLING_EXAMPLE, coverage, dims
from .plot import plot_before_after, plot_coverage, plot_sparsity, plot_taps
from .pooling import avg_pool_matrix, max_pool_selection
from .shapes import (
    conv_output_shape,
    conv_transpose_output_shape,
    max_unpool_output_shape,
    pool_output_shape,
)
from .unpooling import bed_of_nails_matrix, interpolate_matrix, max_unpool_matrix

__all__ = ["MAX_CELLS", "OPS", "Explorer", "View", "build", "explore"]

#: The operations, with what each one reads of the sliders. ``nearest`` and
#: ``bed-of-nails`` read ``stride`` as their scale factor (the stride of the pooling they
#: undo).
OPS = {
    "conv": ("convolution", ("kernel", "stride", "padding", "dilation")),
    "conv_transpose": ("transposed convolution",
                       ("kernel", "stride", "padding", "dilation", "output_padding")),
    "maxpool": ("max pooling", ("kernel", "stride", "padding", "dilation")),
    "avgpool": ("average pooling", ("kernel", "stride", "padding")),
    "maxunpool": ("max unpooling (of the max pooling of the input)",
                  ("kernel", "stride", "padding")),
    "nearest": ("nearest-neighbour unpooling", ("stride",)),
    "bed-of-nails": ("bed-of-nails unpooling", ("stride",)),
}

#: ``name: (min, max, default)`` of each slider; ``size`` is the input's side.
SLIDERS = {
    "size": (1, 12, 5),
    "kernel": (1, 7, 3),
    "stride": (1, 4, 2),
    "padding": (0, 3, 1),
    "dilation": (1, 3, 1),
    "output_padding": (0, 3, 0),
}

#: The largest matrix the explorer draws, in cells (rows times columns); every setting
#: of the sliders' default ranges fits (the largest, a 2-D transposed convolution, is
#: 4356x144).
MAX_CELLS = 10**6
#: The largest first value :func:`explore` gives a slider (it widens to show it).
MAX_SLIDER = 1000

_INSTALL = 'the explorer needs ipywidgets: pip install "convmat[notebooks]"'


def _widgets():
    try:
        import ipywidgets
    except ImportError as err:
        raise ImportError(_INSTALL) from err
    return ipywidgets


# =========================================================================== the op
@dataclass
class View:
    """What the explorer shows for one setting of the controls."""

    matrix: csr_array
    in_shape: tuple
    out_shape: tuple
    formula: str
    taps: object = None            # a TapPattern for conv / conv_transpose
    transpose_taps: bool = False   # matrix = taps drawn transposed
    data: dict = field(default_factory=dict)


def _weight(kernel, ndim):
    """The filter ``1, 2, ..., K`` (row-major in 2-D): its taps are told apart."""
    k = (kernel,) * ndim
    return np.arange(1.0, kernel**ndim + 1).reshape(1, 1, *k)


def _op(op) -> str:
    if not isinstance(op, str) or op not in OPS:
        raise (ValueError if isinstance(op, str) else TypeError)(
            f"op must be one of {list(OPS)}, got op={brief(op)}")
    return op


def _settings(op, ndim, values: dict):
    """``op``, ``ndim`` and the sliders' ``values`` checked: each an int from its slider's
    minimum (the library checks the combinations, as torch does)."""
    ndim = as_int(ndim, "ndim")
    if ndim not in (1, 2):
        raise ValueError(f"ndim must be 1 or 2 (the explorer draws 1-D and 2-D inputs), got "
                         f"ndim={ndim}")
    values = {name: as_int(v, name, at_least=SLIDERS[name][0]) for name, v in values.items()}
    if values["size"] ** ndim > MAX_CELLS:
        raise ValueError(f"the input has {values['size']}**{ndim} positions, more than "
                         f"{MAX_CELLS} (the explorer draws every one): choose a smaller "
                         f"size, got size={values['size']}")
    return _op(op), ndim, values


def _check_cells(op, out_shape, in_shape, values) -> None:
    """Refuse, before it is built, a matrix of more than :data:`MAX_CELLS` cells."""
    n_out, n_in = math.prod(out_shape), math.prod(in_shape)
    if n_out * n_in > MAX_CELLS:
        given = ", ".join(f"{name}={v}" for name, v in values.items())
        raise ValueError(f"the {OPS[op][0]} matrix would be {n_out}x{n_in}, more than "
                         f"{MAX_CELLS} cells (the explorer draws every one): choose smaller "
                         f"values, got {given}")


def _map(size, ndim):
    """A map to pool: the article's 4x4 example, else small random integers (seeded)."""
    if ndim == 2 and size == 4:
        return POOLING_EXAMPLE[None].copy()
    rng = np.random.default_rng(0)
    return rng.integers(0, 10, size=(1,) + (size,) * ndim).astype(float)


def conv_formula(L, k, s, p, d, O) -> str:
    """``O = (5 + 2·1 − 3)//2 + 1 = 3``: a convolution's (or pooling's) output size."""
    span = f"{k}" if d == 1 else f"{d}\u00b7({k} \u2212 1) \u2212 1"
    return f"O = ({L} + 2\u00b7{p} \u2212 {span})//{s} + 1 = {O}"


def transpose_formula(L, k, s, p, d, op, O) -> str:
    """``O = (2 − 1)·2 − 2·0 + 1·(3 − 1) + 0 + 1 = 5``: a transposed convolution's."""
    return (f"O = ({L} \u2212 1)\u00b7{s} \u2212 2\u00b7{p} + {d}\u00b7({k} \u2212 1) + "
            f"{op} + 1 = {O}")


def build(op, ndim, size, kernel, stride, padding, dilation, output_padding) -> View:
    """The matrix, shapes and output-size formula of one op for one setting.

    Parameters
    ----------
    op : str
        One of :data:`OPS`.
    ndim : int
        1 or 2: the input is ``(1, size)`` or ``(1, size, size)``.
    size, kernel, stride, padding, dilation, output_padding : int
        The sliders' values (each op reads those :data:`OPS` lists; ``stride`` is the
        scale factor of ``nearest`` and ``bed-of-nails``).

    Returns
    -------
    View

    Raises
    ------
    ValueError, TypeError
        An argument that is not an int from its slider's minimum (``size``, ``kernel``,
        ``stride``, ``dilation`` from 1; ``padding``, ``output_padding`` from 0), a matrix
        of more than :data:`MAX_CELLS` cells, refused before it is built, or the library's
        own message for a combination torch rejects.
    """
    values = dict(size=size, kernel=kernel, stride=stride, padding=padding,
                  dilation=dilation, output_padding=output_padding)
    op, ndim, values = _settings(op, ndim, values)
    L, k, s, p, d, opad = values.values()
    in_shape = (1,) + (L,) * ndim
    if op in ("conv", "conv_transpose"):
        w_shape = (1, 1) + (k,) * ndim
        kw = dict(stride=s, padding=p, dilation=d)
        if op == "conv":
            out = conv_output_shape(w_shape, in_shape, **kw)
            formula = conv_formula(L, k, s, p, d, out[1])
        else:
            kw["output_padding"] = opad
            out = conv_transpose_output_shape(w_shape, in_shape, **kw)
            formula = transpose_formula(L, k, s, p, d, opad, out[1])
        _check_cells(op, out, in_shape, values)
        w = _weight(k, ndim)
        taps = (conv_taps if op == "conv" else conv_transpose_taps)(w, in_shape, **kw)
        return View(taps.matrix(w), in_shape, out, formula, taps, data={"weight": w})
    if op in ("maxpool", "avgpool", "maxunpool"):
        d = d if op == "maxpool" else 1
        pooled = pool_output_shape(in_shape, k, stride=s, padding=p, dilation=d)
        formula = conv_formula(L, k, s, p, d, pooled[1])
        _check_cells(op, pooled, in_shape, values)
        if op == "avgpool":
            A = avg_pool_matrix(in_shape, k, stride=s, padding=p)
            return View(A, in_shape, pooled, formula)
        if op == "maxunpool":
            out = max_unpool_output_shape(pooled, k, stride=s, padding=p)
            _check_cells(op, out, pooled, values)
        x = _map(L, ndim)
        S, idx = max_pool_selection(x, k, stride=s, padding=p, dilation=d)
        if op == "maxpool":
            return View(S, in_shape, pooled, formula, data={"x": x})
        U = max_unpool_matrix(idx, k, stride=s, padding=p)
        P = pooled[1]
        formula = (f"pooled: P{formula[1:]};  unpooled: O = ({P} \u2212 1)\u00b7{s} \u2212 "
                   f"2\u00b7{p} + {k} = {out[1]}")
        return View(U, pooled, out, formula, data={"x": x, "pooled": S @ x.ravel()})
    O = L * s
    out = (1,) + (O,) * ndim
    _check_cells(op, out, in_shape, values)
    if op == "nearest":
        A = interpolate_matrix(in_shape, scale_factor=s, mode="nearest")
    else:
        A = bed_of_nails_matrix(in_shape, s)
    return View(A, in_shape, out, f"O = {L}\u00b7{s} = {O}  (scale = stride)")


# =========================================================================== drawing
_UNPOOLINGS = ("maxunpool", "nearest", "bed-of-nails")


def draw(fig: Figure, op: str, v: View, geometry: dict) -> None:
    """The matrix and its transpose side by side; below, the coverage (or, for an
    unpooling, its input and output maps)."""
    bottom = ["before", "after"] if op in _UNPOOLINGS else ["cov", "cov"]
    axes = fig.subplot_mosaic([["A", "AT"], bottom], height_ratios=[3, 2])
    n_out, n_in = v.matrix.shape
    name = {"conv": "C", "conv_transpose": "T = C\u1d40"}.get(op, "A")
    what = (f"{name}: {OPS[op][0].split(' (')[0]}, {dims(v.in_shape[1:])} \u2192 "
            f"{dims(v.out_shape[1:])} ({n_out}\u00d7{n_in})")
    if v.taps is not None:
        plot_taps(v.taps, in_shape=v.in_shape, out_shape=v.out_shape, ax=axes["A"],
                  title=what)
        back = "C" if op == "conv_transpose" else "C\u1d40"
        plot_taps(v.taps, in_shape=v.out_shape, out_shape=v.in_shape, transpose=True,
                  ax=axes["AT"], title=f"{back}: the transpose ({n_in}\u00d7{n_out})")
    else:
        plot_sparsity(v.matrix, in_shape=v.in_shape, out_shape=v.out_shape, ax=axes["A"],
                      title=what)
        plot_sparsity(v.matrix.T, in_shape=v.out_shape, out_shape=v.in_shape,
                      ax=axes["AT"], title=f"A\u1d40: the transpose ({n_in}\u00d7{n_out})")
    if op in _UNPOOLINGS:
        _draw_unpooling((axes["before"], axes["after"]), v)
    else:
        _draw_coverage(axes["cov"], op, v, **geometry)


def _draw_coverage(ax, op, v: View, kernel, stride, padding, dilation, output_padding):
    if op == "conv_transpose":
        plot_coverage(kernel, v.in_shape[1:], stride, padding=padding, dilation=dilation,
                      output_padding=output_padding, ax=ax,
                      title="Coverage: how many inputs write each output (T @ 1)")
        return
    # The windows that read each input: C^T @ 1 for an all-ones filter. C^T is the
    # transposed convolution of the output, whose output_padding gives back the
    # (L + 2p - ek) % s last positions that no window reaches.
    d = 1 if op == "avgpool" else dilation
    rest = (v.in_shape[1] + 2 * padding - d * (kernel - 1) - 1) % stride
    counts = coverage(kernel, v.out_shape[1:], stride, padding=padding, dilation=d,
                      output_padding=rest)
    inner = counts[tuple(slice(1, -1) if n > 2 else slice(None) for n in counts.shape)]
    verdict = ("uneven: some inputs are read more often than their neighbours"
               if inner.size and inner.min() != inner.max() else "even inside the border")
    plot_coverage(kernel, v.out_shape[1:], stride, padding=padding, dilation=d,
                  output_padding=rest, ax=ax,
                  title=f"Coverage: how many windows read each input (C\u1d40 @ 1), "
                        f"{verdict}")
    # plot_coverage names a transposed convolution's axes; here they are C's inputs.
    if counts.ndim == 1:
        ax.set_xlabel("input position")
        ax.set_ylabel("windows reading it")
    else:
        ax.set_xlabel("input column")
        ax.set_ylabel("input row")


def _draw_unpooling(axes, v: View) -> None:
    """An unpooling writes each output at most once: its input and output maps, the
    written cells framed."""
    x = v.data.get("pooled")
    small = np.arange(1.0, int(np.prod(v.in_shape)) + 1) if x is None else x
    shape = v.out_shape[1:]
    written = (np.diff(v.matrix.indptr) > 0).reshape(shape)
    plot_before_after(small.reshape(v.in_shape[1:]), (v.matrix @ small).reshape(shape),
                      highlight_after=written, ax=list(axes), title="",
                      after_title=f"output {dims(shape)}: the framed cells are written "
                                  f"once, the rest is 0")


def _error_figure(fig: Figure, message: str) -> None:
    fig.text(0.02, 0.9, "Not a valid combination (torch refuses it too):", fontsize=13,
             fontweight="bold", color="#b03a2e", va="top")
    fig.text(0.02, 0.8, textwrap.fill(message, 95), fontsize=11, va="top", family="monospace")


# =========================================================================== the widget
class Explorer:
    """The explorer of :func:`explore`.

    Attributes
    ----------
    widget : ipywidgets.VBox
        What Jupyter displays (an ``Explorer`` as the last line of a cell displays it too).
    controls : dict of str to ipywidgets widget
        ``op`` (a Dropdown), ``dims`` (1-D or 2-D) and the IntSliders ``size``, ``kernel``,
        ``stride``, ``padding``, ``dilation``, ``output_padding``.
    figure : matplotlib.figure.Figure
        The picture shown: the matrix, its transpose and the coverage.
    formula : str
        The output size with its formula filled in (``""`` when the setting is invalid).
    error : str or None
        The library's message when the setting is invalid.
    view : View or None
        The matrix (``view.matrix``) and shapes shown.
    """

    def __init__(self, op: str = "conv", **initial):
        values = _initial(op, initial)  # the arguments first, then the import
        widgets = _widgets()
        style = {"description_width": "110px"}
        self.controls = {
            "op": widgets.Dropdown(options=list(OPS), value=values.pop("op"),
                                   description="operation", style=style),
            "dims": widgets.Dropdown(options=[("1-D", 1), ("2-D", 2)],
                                     value=values.pop("dims"), description="input",
                                     style=style),
        }
        for name, (low, high, _) in SLIDERS.items():
            self.controls[name] = widgets.IntSlider(
                value=values[name], min=low, max=max(high, values[name]),
                description=name.replace("_", " "), continuous_update=False, style=style)
        self.figure = Figure(figsize=(12, 8), layout="constrained")
        self.formula, self.error, self.view = "", None, None
        self._formula = widgets.HTML()
        self._image = widgets.Image(format="png")
        names = list(self.controls)
        self.widget = widgets.VBox([
            widgets.HBox([self.controls[n] for n in names[:2]]),
            widgets.HBox([widgets.VBox([self.controls[n] for n in names[2:5]]),
                          widgets.VBox([self.controls[n] for n in names[5:]])]),
            self._formula, self._image])
        self._holding = False
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.update()

    def _changed(self, _change) -> None:
        if not self._holding:
            self.update()

    def set(self, **values) -> Explorer:
        """Set several controls at once (one redraw); returns the explorer."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"unknown controls {sorted(unknown)}; the controls are "
                            f"{list(self.controls)}")
        self._holding = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._holding = False
        self.update()
        return self

    @property
    def settings(self) -> dict:
        """The current value of every control."""
        return {name: c.value for name, c in self.controls.items()}

    def update(self) -> None:
        """Rebuild the matrix from the controls and redraw (called on every change)."""
        v = self.settings
        op = v["op"]
        used = OPS[op][1]
        for name in ("kernel", "padding", "dilation", "output_padding", "stride"):
            self.controls[name].disabled = name not in used
        self.controls["stride"].description = ("scale" if op in ("nearest", "bed-of-nails")
                                               else "stride")
        geometry = {n: v[n] for n in ("kernel", "stride", "padding", "dilation",
                                      "output_padding")}
        self.figure.clear()
        try:
            self.view = build(op, v["dims"], v["size"], **geometry)
            draw(self.figure, op, self.view, geometry)
        except (ValueError, TypeError) as err:  # the library's message is the lesson
            self.view, self.formula, self.error = None, "", str(err)
            self.figure.clear()
            _error_figure(self.figure, self.error)
            self._formula.value = (f"<b style='color:#b03a2e'>Not valid:</b> "
                                   f"<code>{_escape(self.error)}</code>")
        else:
            self.error = None
            self.formula = self.view.formula
            shape = f"{dims(self.view.in_shape[1:])} \u2192 {dims(self.view.out_shape[1:])}"
            self._formula.value = (f"<b>output size</b> (per axis): "
                                   f"<code>{_escape(self.formula)}</code> &nbsp; {shape}")
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=72)
        self._image.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _initial(op, initial) -> dict:
    """The controls' first values: the defaults, ``op`` and ``initial``, checked."""
    if as_bool(initial.pop("transpose", False), "transpose"):
        if _op(op) != "conv":
            raise ValueError(f"transpose=True applies to op='conv', got op={op!r}")
        op = "conv_transpose"
    values = {name: default for name, (_, _, default) in SLIDERS.items()}
    values.update(op=_op(op), dims=1)
    for name, value in initial.items():
        if name not in values or name == "op":
            raise TypeError(f"explore() got an unknown control {name!r}; the controls are "
                            f"{[n for n in values if n != 'op']} (and transpose=True)")
        low, high = (1, 2) if name == "dims" else (SLIDERS[name][0], MAX_SLIDER)
        rule = ("dims must be 1 or 2" if name == "dims" else
                f"{name} must be an integer of at least {low} and at most {high} (a slider "
                f"position)")
        if not is_int(value):
            raise TypeError(f"{rule}, got {name}={brief(value)}")
        if not low <= value <= high:
            raise ValueError(f"{rule}, got {name}={brief(value)}")
        values[name] = int(value)
    return values


def explore(op: str = "conv", **initial) -> Explorer:
    """An interactive explorer of one operation's matrix, for Jupyter.

    Parameters
    ----------
    op : str
        ``"conv"``, ``"conv_transpose"``, ``"maxpool"``, ``"avgpool"``, ``"maxunpool"``,
        ``"nearest"`` or ``"bed-of-nails"``; ``op="conv", transpose=True`` is
        ``"conv_transpose"``.
    **initial : int
        First values of the controls: ``size`` (the input's side), ``kernel``, ``stride``
        (the scale factor of ``nearest`` and ``bed-of-nails``), ``padding``, ``dilation``,
        ``output_padding``, each an int from its slider's minimum to 1000 (a slider widens
        to show it), and ``dims`` (1 or 2). A filter is ``1, 2, ..., K`` (its taps are
        named ``x, y, z`` for 3 taps); max pooling pools the article's 4x4 map for a 4x4
        input, else small random integers. A matrix of more than a million cells
        (:data:`MAX_CELLS`) is refused, with the message shown in place of the picture.

    Returns
    -------
    Explorer
        Display it (last line of a cell) to get the sliders; ``.controls`` sets them from
        code, ``.figure`` and ``.formula`` are what is shown.

    Notes
    -----
    The output size shown is torch's, per spatial axis:
    ``O = (L + 2p - d (k - 1) - 1) // s + 1`` for convolution and pooling,
    ``O = (L - 1) s - 2p + d (k - 1) + output_padding + 1`` for a transposed convolution,
    ``O = (L - 1) s - 2p + k`` for max unpooling and ``O = L s`` for the other unpoolings.

    Examples
    --------
    In a notebook, ``explore("conv", size=5, kernel=3, stride=2, padding=1)`` shows the
    sliders and ``ex.formula`` is ``'O = (5 + 2·1 − 3)//2 + 1 = 3'``. What it draws is
    :func:`build`'s, which needs no widgets:

    >>> from convmat.explore import build
    >>> view = build("conv", ndim=1, size=5, kernel=3, stride=2, padding=1, dilation=1,
    ...              output_padding=0)
    >>> view.formula
    'O = (5 + 2·1 − 3)//2 + 1 = 3'
    >>> view.matrix.toarray()
    array([[2., 3., 0., 0., 0.],
           [0., 1., 2., 3., 0.],
           [0., 0., 0., 1., 2.]])
    >>> view.matrix.T.toarray()
    array([[2., 0., 0.],
           [3., 1., 0.],
           [0., 2., 0.],
           [0., 3., 1.],
           [0., 0., 2.]])
    """
    return Explorer(op, **initial)
