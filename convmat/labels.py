"""What convmat's pictures and its command line say about a matrix, without matplotlib.

``convmat.plot`` draws and ``convmat show`` prints the same things: a matrix whose stored
entries are labelled by the filter tap they hold (``x``, ``y``, ``z`` for the 3-tap filter
of the article *Unsampling: Unpooling and Transpose Convolution*) or by their value, the
output each row computes (``= az + bx``), position names and captions for the C-order
flattening of ``(C, *spatial)``, and the coverage counts of a transposed convolution. They
live here, as text and arrays, so that the command line can use them without importing
matplotlib. Internal to convmat: none of these names is part of its API.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import csr_array

from ._args import as_array, as_bool, as_int, as_shape, as_tuple, brief, is_int
from .convolution import TapPattern
from .shapes import conv_transpose_geometry

__all__: list[str] = []

# The maps of the article's pooling and unpooling figures (after CS231n, lecture 11): max
# pooling 2x2 of the 4x4 map keeps 5, 6, 7, 8; the unpoolings blow the 2x2 map up to 4x4.
POOLING_EXAMPLE = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]],
                           dtype=float)
UNPOOLING_EXAMPLE = np.array([[1, 2], [3, 4]], dtype=float)


# --------------------------------------------------------------------------- short text
def dims(shape) -> str:
    """``4×4``: a shape as a caption writes it."""
    return "\u00d7".join(str(int(s)) for s in shape)


def format_value(value) -> str:
    """A matrix entry or map value as short text: ``2``, ``0.333``, ``nan``, ``-inf``,
    ``1+2j``."""
    if np.iscomplexobj(value):
        if value.imag != 0:
            return f"{complex(value):.3g}"
        value = value.real
    value = float(value)
    if np.isfinite(value) and value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def format_arg(value) -> str:
    """A stride or padding as a caption writes it: ``2`` or ``(1, 2)``."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)


def describe_geometry(stride, padding, dilation=1, output_padding=0) -> str:
    """``stride 2, padding 1``, plus dilation and output padding where not the default."""
    parts = [f"stride {format_arg(stride)}", f"padding {format_arg(padding)}"]
    if np.any(np.asarray(dilation) != 1):
        parts.append(f"dilation {format_arg(dilation)}")
    if np.any(np.asarray(output_padding) != 0):
        parts.append(f"output_padding {format_arg(output_padding)}")
    return ", ".join(parts)


#: The defaults of the convolution builders' geometry arguments.
CONV_DEFAULTS = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1}


def call_text(func, shape, **kwargs) -> str:
    """A builder call as text, with the geometry arguments that differ from their defaults.

    >>> call_text("conv_transpose_matrix", (1, 2), stride=2, padding=0, output_padding=(1, 0))
    'conv_transpose_matrix(w, (1, 2), stride=2, output_padding=(1, 0))'
    """
    args = "".join(f", {k}={format_arg(v)}" for k, v in kwargs.items()
                   if not np.all(np.asarray(v) == CONV_DEFAULTS.get(k)))
    return f"{func}(w, {tuple(shape)}{args})"


# --------------------------------------------------------------------------- positions
def block_boundaries(shape):
    """``[(positions, linewidth), ...]``: where the channel blocks and the coarsest
    spatial blocks of the flattening of ``shape`` begin, one line per boundary."""
    if shape is None or len(shape) < 2:
        return []
    n = int(np.prod(shape))
    lines = []
    block = n
    widths = [1.6, 0.9, 0.5]  # channels, then the coarsest spatial blocks
    for level, size in enumerate(shape[:-1]):
        block //= size
        bounds = np.arange(block, n, block)
        if level >= len(widths) or bounds.size > 80:  # too dense to help a reader
            break
        taken = np.concatenate([b for b, _ in lines]) if lines else np.empty(0, int)
        bounds = np.setdiff1d(bounds, taken)  # one line per boundary, the coarsest one
        if bounds.size:
            lines.append((bounds, widths[level]))
    return lines


def position_names(shape, n) -> list[str]:
    """Tick labels for each flat position: its multi-index in ``shape`` (channel kept only
    when there is more than one)."""
    if shape is None or len(shape) == 1:
        return [str(i) for i in range(n)]
    idx = np.unravel_index(np.arange(n), shape)
    keep = [d for d in range(len(shape)) if not (d == 0 and shape[0] == 1)]
    if len(keep) == 1:
        return [str(v) for v in idx[keep[0]]]
    return [",".join(str(idx[d][i]) for d in keep) for i in range(n)]


def input_letters(shape, at_most=26):
    """``a, b, c, ...`` for a short 1-D single-channel input, as the article names its
    inputs; ``None`` for anything else."""
    if shape is not None and len(shape) == 2 and shape[0] == 1 and shape[1] <= at_most:
        return [chr(ord("a") + i) for i in range(shape[1])]
    return None


def axis_caption(kind, shape) -> str:
    """``input position, flattened (C, L) = (1, 4)``."""
    if shape is None:
        return f"{kind} position"
    names = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}.get(len(shape) - 1, "")
    return f"{kind} position, flattened {names} = ({', '.join(map(str, shape))})"


# --------------------------------------------------------------------------- labels
def _label_list(labels, n) -> list:
    """``labels`` given one per stored entry, checked: a sequence of ``n`` of them."""
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__") or \
            getattr(labels, "ndim", 1) != 1:
        raise TypeError(f"labels must be a sequence with one label per stored entry or a "
                        f"grid of the matrix's shape, got labels={shown(labels)}")
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(
            f"labels must give one label per stored entry ({n}), got {len(labels)}"
        )
    return labels


def _is_grid(labels, A) -> bool:
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        if labels.shape != A.shape:
            raise ValueError(f"labels must have the matrix's shape {A.shape}, got "
                             f"{labels.shape}")
        return True
    return False


def label_grid(A, labels):
    """A dense grid of strings (``""`` for no entry) from per-entry or grid labels.

    ``labels`` is ``None`` (each stored entry's value), one label per stored entry in
    canonical CSR order, or a grid of ``A``'s shape.
    """
    grid = np.full(A.shape, "", dtype=object)
    if _is_grid(labels, A):
        grid[:] = labels
        return grid
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    grid[rows, A.indices] = entry_labels(A, labels)
    return grid


def entry_labels(A, labels) -> np.ndarray:
    """One label per stored entry of the CSR matrix ``A``, in its order, without a dense
    grid: from ``labels`` as :func:`label_grid` takes them."""
    if labels is None:
        return np.array([format_value(v) for v in A.data], dtype=object)
    if _is_grid(labels, A):
        rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
        return np.asarray(labels, dtype=object)[rows, A.indices]
    out = np.empty(A.nnz, dtype=object)
    out[:] = [str(lab) for lab in _label_list(labels, A.nnz)]
    return out


def transposed(A, entries):
    """``(A.T, its entry labels)``: ``A.T`` in canonical CSR, ``entries`` permuted along."""
    order = csr_array((np.arange(1, A.nnz + 1), A.indices, A.indptr), shape=A.shape)
    order = order.T.tocsr()
    order.sort_indices()
    At = csr_array((A.data[order.data - 1], order.indices, order.indptr),
                   shape=order.shape)
    return At, entries[order.data - 1]


def colour_indices(labels) -> dict[str, int]:
    """Each non-empty label's colour index, in a stable order (single taps first); from a
    grid or from one label per entry."""
    found = sorted({lab for lab in np.ravel(labels) if lab}, key=lambda s: ("+" in s, s))
    return {lab: i for i, lab in enumerate(found)}


def tap_structure(taps: TapPattern) -> csr_array:
    """The sparsity pattern of a ``TapPattern`` as a 0/1 ``csr_array``."""
    return csr_array((np.ones(taps.nnz), taps.indices, taps.indptr), shape=taps.shape)


def default_tap_names(weight_shape, names):
    """``names``, or the default names of a weight's taps: ``xyz`` for a 3-tap filter (the
    article's ``[x, y, z]``), ``w[i,j]`` by kernel position for a single filter, else
    ``None`` (by index)."""
    if names is not None:
        return names
    if int(np.prod(weight_shape)) == 3:
        return "xyz"
    if int(np.prod(weight_shape[:2])) == 1:  # one filter: name taps by kernel position
        kernel = weight_shape[2:]
        return [f"w[{','.join(map(str, np.unravel_index(k, kernel)))}]"
                for k in range(int(np.prod(kernel)))]
    return None


def tap_grid(taps: TapPattern, names=None):
    """``(A, grid)``: the pattern of a convolution and each stored entry's tap label
    (``names``, else :func:`default_tap_names`), as ``plot_taps`` and
    ``convmat show conv`` draw them."""
    A = tap_structure(taps)
    return A, label_grid(A, taps.tap_labels(default_tap_names(taps.weight_shape, names)))


def row_products(grid, in_names) -> list[str]:
    """``= az + bx``: each row's output as the sum of input name times tap name."""
    texts = []
    for row in grid:
        terms = []
        for name, lab in zip(in_names, row):
            if lab:
                terms.append(f"{name}{lab}" if "+" not in lab else f"{name}({lab})")
        texts.append("= " + " + ".join(terms) if terms else "= 0")
    return texts


# --------------------------------------------------------------------------- as text
#: Under a matrix that holds both: what ``0`` and ``.`` mean.
ZERO_LEGEND = "0: a stored entry whose value is 0;  .: no entry (a structural zero)"


def format_matrix(grid, col_names=None, row_names=None, row_text=None) -> str:
    """A grid of labels (``""`` for a structural zero, printed ``.``) as aligned text,
    with :data:`ZERO_LEGEND` under it when it holds both a stored ``0`` and a ``.``.

    >>> print(format_matrix(np.array([["x", ""], ["y", "x"]], dtype=object), "ab",
    ...                     row_text=["= ax", "= ay + bx"]))
        a b
    0 [ x . ]   = ax
    1 [ y x ]   = ay + bx
    """
    n_rows, n_cols = grid.shape
    col_names = [str(c) for c in (col_names if col_names is not None else range(n_cols))]
    row_names = [str(r) for r in (row_names if row_names is not None else range(n_rows))]
    width = max([len(s) for s in grid.ravel()] + [len(c) for c in col_names] + [1])
    lead = max(len(r) for r in row_names) if row_names else 1
    lines = [" " * (lead + 3) + " ".join(c.rjust(width) for c in col_names)]
    for r in range(n_rows):
        cells = " ".join((grid[r, c] or ".").rjust(width) for c in range(n_cols))
        tail = f"   {row_text[r]}" if row_text is not None else ""
        lines.append(f"{row_names[r].rjust(lead)} [ {cells} ]{tail}")
    labels = set(np.ravel(grid))
    if "0" in labels and "" in labels:
        lines.append(ZERO_LEGEND)
    return "\n".join(lines)


def format_map(x, title) -> str:
    """A map of values, one text line per row of its last axis, under ``title (shape):``."""
    flat = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x[None]
    width = max(len(format_value(v)) for v in flat.ravel())
    rows = ["  " + " ".join(format_value(v).rjust(width) for v in row) for row in flat]
    return f"{title} {tuple(x.shape)}:\n" + "\n".join(rows)


# --------------------------------------------------------------------------- arguments
# What an error message echoes of an argument: its repr on one short line.
shown = brief


def _is_scalar(value) -> bool:
    """A single value rather than an array or a sequence (a 0-d array or tensor too)."""
    if value is None or isinstance(value, (str, bytes)):
        return True
    if hasattr(value, "shape"):
        return len(value.shape) == 0
    return not hasattr(value, "__len__")


def as_names(names, name: str, n: int | None = None) -> list[str] | None:
    """``names`` (a string, one name per character, or a sequence of strings) as a list
    of ``n`` strings; ``None`` stays ``None``.

    >>> as_names("xyz", "names", 3)
    ['x', 'y', 'z']
    >>> as_names(3, "names")
    Traceback (most recent call last):
    ...
    TypeError: names must be a string or a sequence of strings (one per name), got names=3
    """
    if names is None:
        return None
    if isinstance(names, str):
        items = list(names)
    elif isinstance(names, (list, tuple)) or (isinstance(names, np.ndarray)
                                              and names.ndim == 1):
        items = list(names)
    else:
        items = None
    if items is None or not all(isinstance(v, str) for v in items):
        raise TypeError(f"{name} must be a string or a sequence of strings (one per name), "
                        f"got {name}={shown(names)}")
    if n is not None and len(items) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(items)}: "
                         f"{name}={shown(names)}")
    return [str(v) for v in items]


def as_text(value, name: str) -> str | None:
    """An optional title or label: ``None`` or a string (an array's truth is ambiguous, a
    number is more likely a misplaced argument than a title)."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a string (or None), got {name}={shown(value)}")


def as_flag(value, name: str) -> bool | None:
    """An optional flag (``annotate=None`` means: decide from the size): ``None`` or a
    bool."""
    return None if value is None else as_bool(value, name)


def sample_shape(shape, n: int, name: str) -> tuple[int, ...] | None:
    """``in_shape``/``out_shape`` of a matrix side of ``n`` positions: an int or a tuple
    of non-negative ints whose product is ``n``; ``None`` stays ``None``."""
    if shape is None:
        return None
    shape = (as_int(shape, name, at_least=0),) if is_int(shape) else as_shape(shape, name)
    if math.prod(shape) != n:
        side = "columns" if name.startswith("in") else "rows"
        raise ValueError(f"{name}={shape} holds {math.prod(shape)} elements, but the matrix "
                         f"has {n} {side}")
    return shape


def weight_shape_of(weight, name: str = "weight") -> tuple[int, ...]:
    """The shape of a weight given as an array (or tensor) or as its shape."""
    if isinstance(weight, (tuple, list)) and all(is_int(v) for v in weight):
        return as_shape(weight, name, min_ndim=0)
    return as_array(weight, name).shape


def _kernel_sizes(value, name: str) -> tuple[int, ...]:
    """The spatial kernel of ``weight_or_kernel`` when it is not a single int: a tuple
    (or list) of sizes, or a weight ``(C_out, C_in, *kernel)`` or ``kernel`` array."""
    if isinstance(value, (tuple, list)) and all(is_int(v) for v in value):
        kernel, given = tuple(value), f"{name}={shown(value)}"
    elif _is_scalar(value) or (isinstance(value, tuple) and all(map(_is_scalar, value))):
        raise TypeError(f"{name} must be a kernel size (a positive integer or a tuple of 1 to "
                        f"3 of them) or a weight array, got {name}={shown(value)}")
    else:
        shape = as_array(value, name, kinds="biuf").shape
        kernel, given = (shape[2:] if len(shape) >= 3 else shape), f"a weight of shape {shape}"
    if not 1 <= len(kernel) <= 3:
        raise ValueError(f"{name} must give a kernel of 1, 2 or 3 dimensions, got {given}")
    if isinstance(value, (tuple, list)):
        return as_tuple(tuple(value), len(kernel), name, at_least=1)
    if any(k < 1 for k in kernel):
        raise ValueError(f"{name} must have positive kernel sizes, got {given}")
    return tuple(int(k) for k in kernel)


def kernel_and_size(weight_or_kernel, input_shape):
    """``(kernel, size)``: the spatial kernel size (from a kernel size or a weight) and the
    spatial input size (a leading channel count is dropped), checked, each error naming
    ``weight_or_kernel`` or ``input_shape``.

    >>> kernel_and_size(3, (4, 4)), kernel_and_size(np.ones((1, 1, 3)), (1, 4))
    (((3, 3), (4, 4)), ((3,), (4,)))
    >>> kernel_and_size(3, float("inf"))
    Traceback (most recent call last):
    ...
    TypeError: input_shape must be a size or a tuple of sizes, got input_shape=inf
    """
    single = is_int(weight_or_kernel)
    kernel = ((as_int(weight_or_kernel, "weight_or_kernel", at_least=1),) if single
              else _kernel_sizes(weight_or_kernel, "weight_or_kernel"))
    if is_int(input_shape):
        size = (as_int(input_shape, "input_shape"),)
    elif _is_scalar(input_shape):
        raise TypeError(f"input_shape must be a size or a tuple of sizes, got "
                        f"input_shape={shown(input_shape)}")
    else:
        size = as_shape(input_shape, "input_shape")
    if single:
        kernel = kernel * len(size)
    elif len(size) == len(kernel) + 1:  # (C, *spatial): the channels do not matter here
        size = size[1:]
    if not 1 <= len(size) <= 3 or len(size) != len(kernel):
        raise ValueError(
            f"input_shape={shown(input_shape)} must have one size per kernel dimension "
            f"({len(kernel)} for the kernel {kernel} of weight_or_kernel), 1 to 3 of "
            f"them, optionally after the channels"
        )
    if any(v < 1 for v in size):
        raise ValueError(f"input_shape must hold positive sizes, got "
                         f"input_shape={shown(input_shape)}")
    return kernel, size


#: The most positions :func:`coverage` counts (80 MB of float64 counts): its map, and the
#: (input, tap) pairs along any one axis. The map is separable, so a larger one is the
#: outer product of 1-D maps: ``np.multiply.outer(coverage(k, n1, s), coverage(k, n2, s))``.
MAX_COVERAGE = 10**7


def coverage_window(weight_or_kernel, input_shape, stride, *, padding=0, dilation=1,
                    output_padding=0, limit=MAX_COVERAGE, max_side=None, who="coverage"):
    """``(kernel, size, window)`` of a coverage map, validated, and refused (naming every
    argument that sizes it) when it would count more than ``limit`` positions or, with
    ``max_side`` (a picture), draw a 3-D map or more than ``max_side`` per side."""
    kernel, size = kernel_and_size(weight_or_kernel, input_shape)
    geo = conv_transpose_geometry((1, 1, *kernel), (1, *size), stride=stride,
                                  padding=padding, dilation=dilation,
                                  output_padding=output_padding)
    window = geo.conv.window  # slides over the transposed conv's output
    pairs = max(n * k for n, k in zip(size, kernel))
    cells = math.prod(window.size)
    call = (f"{who}(weight_or_kernel={shown(weight_or_kernel)}, "
            f"input_shape={shown(input_shape)}, stride={shown(stride)}, "
            f"padding={shown(padding)}, dilation={shown(dilation)}, "
            f"output_padding={shown(output_padding)})")
    if max_side is not None and len(kernel) > 2:
        raise ValueError(f"{who} draws 1-D and 2-D maps, got the {len(kernel)}-D kernel "
                         f"{kernel} of weight_or_kernel={shown(weight_or_kernel)} over "
                         f"input_shape={shown(input_shape)} (plot a slice of coverage(...))")
    if max_side is not None and max(window.size) > max_side:
        raise ValueError(f"{call} would draw a {dims(window.size)} map; {who} draws at most "
                         f"{max_side} positions per side (draw a part of coverage(...))")
    if max(pairs, cells) > limit:
        what = (f"a {dims(window.size)} map ({cells:,} positions)" if cells > limit else
                f"{pairs:,} (input, tap) pairs along one axis")
        raise ValueError(f"{call} would count {what}; {who} counts at most {limit:,} (the "
                         f"map is separable: count one axis at a time)")
    return kernel, size, window


def count_coverage(window, size) -> np.ndarray:
    """The coverage map of :func:`coverage_window`'s ``window`` over inputs of ``size``."""
    counts = np.ones(())
    for dim, n in enumerate(size):
        # Only the first `n` window positions: C may have more outputs than T has inputs
        # (torch allows stride <= output_padding < dilation).
        q = window.positions(dim, n)[window.inside(dim, n)]
        counts = np.multiply.outer(counts, np.bincount(q, minlength=window.size[dim]))
    return counts.astype(float)


# --------------------------------------------------------------------------- geometry
def coverage(weight_or_kernel, input_shape, stride, *, padding=0, dilation=1,
             output_padding=0) -> np.ndarray:
    """How many input pixels write each output of a transposed convolution: ``T @ 1``.

    ``T`` is ``conv_transpose_matrix`` with an all-ones single-channel filter of the
    given kernel size; the result has the output's spatial shape. Where the kernel size
    is not a multiple of the stride, the counts alternate inside the image: the
    checkerboard artefact of Odena, Dumoulin & Olah (2016).

    Notes
    -----
    ``T`` is the transpose of the convolution ``C`` from the output back to the input, so
    ``(T @ 1)[q]`` counts the pairs (input ``j``, tap ``t``) whose window position
    ``q = j s - p + t d`` of ``C`` is ``q``; the count is separable, an outer product of
    one count per dimension. No matrix is built.

    At most ``MAX_COVERAGE`` = 10**7 positions are counted (a larger request is refused
    with a ``ValueError``): the map is separable, so a larger one is the outer product
    of its 1-D maps.

    >>> coverage(3, 5, 2)
    array([1., 1., 2., 1., 2., 1., 2., 1., 2., 1., 1.])
    """
    _, size, window = coverage_window(weight_or_kernel, input_shape, stride, padding=padding,
                                      dilation=dilation, output_padding=output_padding)
    return count_coverage(window, size)


def interior(counts, kernel, window):
    """The part of a coverage map every tap of the filter can reach: away from the border."""
    sl = []
    for d in range(counts.ndim):
        reach = window.dilation[d] * (kernel[d] - 1) + 1
        lo = max(0, reach - 1 - window.pad_before[d])
        hi = counts.shape[d] - lo
        sl.append(slice(lo, max(hi, lo)))
    return counts[tuple(sl)]
