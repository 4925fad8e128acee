"""Convolution and transposed convolution as sparse matrices.

A convolution is linear in its input, so for one sample it is a matrix ``C``: each row is
one output position, holding the filter's weights at the input positions its window
covers. The transposed convolution -- the learnable upsampling of the article
*Unsampling: Unpooling and Transpose Convolution* -- is literally ``C.T``. Both are also
linear in the weights: ``C = sum_k w_k E_k`` with 0/1 matrices ``E_k``, which
:func:`conv_taps` exposes (for labelling the entries with the filter's names, and for the
weight gradient ``dL/dw_k = g^T E_k x``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_array

from ._args import _is_sequence, as_array, as_int, as_tuple, shape_of
from ._sparse import Axis, Budget, Pattern, kron_axes, make_csr
from .shapes import (
    ConvGeometry,
    ConvTransposeGeometry,
    conv_geometry,
    conv_transpose_geometry,
)
from .window import pad_source

__all__ = ["TapPattern", "conv_matrix", "conv_taps", "conv_transpose_matrix",
           "conv_transpose_taps"]


def weight_array(weight: ArrayLike) -> np.ndarray:
    """The weight as a float or complex array (integers and bools become float64)."""
    w = as_array(weight, "weight")
    if w.dtype.kind in "biu":
        return w.astype(np.float64)
    if w.dtype.kind == "f" and w.dtype.itemsize < 4:
        return w.astype(np.float32)  # scipy.sparse has no float16 kernels
    if w.dtype.kind not in "fc":
        raise TypeError(f"weight must hold numbers, got an array of dtype {w.dtype}")
    return w


def conv_axes(geo: ConvGeometry) -> list[Axis]:
    """The separable factors of a convolution: channels, then each spatial dimension."""
    c_out, c_in, groups = geo.out_channels, geo.in_channels, geo.groups
    per_group_in, per_group_out = c_in // groups, c_out // groups
    o = np.arange(c_out)[:, None]
    c = np.arange(per_group_in)[None, :]
    axes = [Axis(cols=(o // per_group_out) * per_group_in + c, n_cols=c_in,
                 taps=o * per_group_in + c, n_taps=c_out * per_group_in)]
    win = geo.window
    for dim in range(win.ndim):
        pos = win.positions(dim)
        size, k = win.size[dim], win.kernel[dim]
        taps = np.broadcast_to(np.arange(k), pos.shape)
        if geo.padding_mode == "zeros":
            # Raw positions (row part + slot part), the border slots masked out.
            valid = win.inside(dim)
            axes.append(Axis(pos, size, taps, k, None if valid.all() else valid))
        else:
            # Reflected, wrapped or clamped taps can repeat or reverse columns: sum them.
            src = pad_source(pos, size, geo.padding_mode)
            axes.append(Axis(src, size, taps, k, ordered=bool(np.array_equal(src, pos))))
    return axes


def check_size(geo: ConvGeometry, budget: Budget,
               transposed_rows: tuple[int, ...] | None = None) -> None:
    """Refuse a matrix over ``budget`` from the geometry alone, before any array is built.

    The count is exact (before repeated columns are merged): per dimension, the taps that
    land inside the input, by arithmetic. ``transposed_rows``: the sizes of the transposed
    convolution's input, whose rows of the convolution are the only ones kept.
    """
    win = geo.window
    n_out = win.out if transposed_rows is None else transposed_rows
    if geo.padding_mode == "zeros":
        per_dim = [win.count_inside(d, n) for d, n in enumerate(n_out)]
    else:
        per_dim = [n * k for n, k in zip(n_out, win.kernel)]
    entries = geo.out_channels * (geo.in_channels // geo.groups) * math.prod(per_dim)
    rows = (geo.out_channels * math.prod(win.out) if transposed_rows is None
            else geo.in_channels * math.prod(win.size))
    budget.check(entries, rows)


def conv_transpose_axes(geo: ConvTransposeGeometry) -> list[Axis]:
    """The factors of the transposed convolution: each factor of ``conv`` transposed."""
    keep = (geo.conv.out_channels, *geo.in_size)
    return [axis.transpose(n) for axis, n in zip(conv_axes(geo.conv), keep)]


@dataclass(frozen=True, eq=False)
class TapPattern:
    """A convolution matrix without its weights: ``C = sum_k w[k] E_k``.

    Attributes
    ----------
    shape : (int, int)
        Shape of the matrix.
    weight_shape : tuple of int
        Shape of the weight the taps index (torch's layout).
    indptr, indices : ndarray
        The canonical CSR structure shared by every weight.
    taps : ndarray
        Flat index into the weight of each contribution.
    entry : ndarray or None
        Stored entry of each contribution; ``None`` when there is exactly one contribution
        per entry, in order (always, except for non-zero padding modes, where a reflected or
        clamped tap can land on a column that another tap already holds).
    """

    shape: tuple[int, int]
    weight_shape: tuple[int, ...]
    indptr: np.ndarray
    indices: np.ndarray
    taps: np.ndarray
    entry: np.ndarray | None

    @classmethod
    def _from(cls, pattern: Pattern, weight_shape) -> "TapPattern":
        return cls(pattern.shape, tuple(weight_shape), pattern.indptr, pattern.indices,
                   pattern.taps, pattern.entry)

    @property
    def _pattern(self) -> Pattern:
        return Pattern(self.shape, self.indptr, self.indices, self.taps, self.entry)

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indices.size)

    def rows(self) -> np.ndarray:
        """Row index of every stored entry."""
        return self._pattern.rows()

    def _contribution_entries(self) -> np.ndarray:
        return np.arange(self.taps.size) if self.entry is None else self.entry

    def _flat_tap(self, tap) -> int:
        size = math.prod(self.weight_shape)
        if isinstance(tap, tuple):  # a multi-index into the weight, each inside its axis
            index = as_tuple(tap, len(self.weight_shape), "tap", at_least=0)
            if len(tap) != len(self.weight_shape) or any(
                    i >= n for i, n in zip(index, self.weight_shape)):
                raise ValueError(f"tap must be a flat index in [0, {size}) or a multi-index "
                                 f"inside the weight's shape {self.weight_shape}, got "
                                 f"tap={tap!r}")
            return int(np.ravel_multi_index(index, self.weight_shape))
        return as_int(tap, "tap", at_least=0, at_most=size - 1)

    def matrix(self, weight: ArrayLike) -> csr_array:
        """The matrix ``sum_k weight[k] E_k`` for a weight of ``weight_shape``."""
        w = weight_array(weight)
        if w.shape != self.weight_shape:
            raise ValueError(
                f"weight must have shape {self.weight_shape}, got weight of shape {w.shape}"
            )
        return make_csr(self._pattern.gather(w.reshape(-1)), self.indices, self.indptr,
                        self.shape)

    def basis(self, tap) -> csr_array:
        """The 0/1 matrix ``E_k`` of one tap (a flat index or a weight multi-index)."""
        k = self._flat_tap(tap)
        hits = self._pattern.sum_into_entries((self.taps == k).astype(np.float64))
        return make_csr(hits, self.indices, self.indptr, self.shape)

    def weight_gradient(self, grad_output: ArrayLike, x: ArrayLike) -> np.ndarray:
        """``dL/dw_k = g^T E_k x`` for ``y = C x``, with ``g = dL/dy``.

        ``grad_output`` and ``x`` are flat vectors or batches ``(N, n)`` (summed over the
        batch); either may also have the sample's full shape. No complex conjugation is
        applied: this is the bilinear form, as for real tensors in torch.
        """
        g = _samples(grad_output, "grad_output", self.shape[0])
        xv = _samples(x, "x", self.shape[1])
        if g.shape[0] != xv.shape[0]:
            raise ValueError(
                f"grad_output and x must hold the same number of samples, got "
                f"{g.shape[0]} and {xv.shape[0]}"
            )
        ent = self._contribution_entries()
        rows = self.rows()[ent]
        cols = self.indices[ent]
        prods = np.einsum("nc,nc->c", g[:, rows], xv[:, cols])
        size = int(np.prod(self.weight_shape))
        if np.iscomplexobj(prods):
            grad = (np.bincount(self.taps, prods.real, size)
                    + 1j * np.bincount(self.taps, prods.imag, size))
        else:
            grad = np.bincount(self.taps, prods, size)
        return grad.reshape(self.weight_shape)

    def tap_labels(self, names=None) -> list[str]:
        """A label for every stored entry: the name of its tap(s), joined by ``+``.

        ``names`` is a sequence with one name per weight (flat C order), e.g. ``"xyz"``
        for the article's 3-tap filter; by default a weight's multi-index, like ``w[0,0,2]``.
        """
        size = int(np.prod(self.weight_shape))
        if names is None:
            names = [f"w[{','.join(map(str, np.unravel_index(k, self.weight_shape)))}]"
                     for k in range(size)]
        if not (isinstance(names, str) or _is_sequence(names)) or not all(
                isinstance(n, str) for n in names):
            raise TypeError(f"names must be a sequence of strings (one per weight), got "
                            f"names={names!r}")
        names = list(names)
        if len(names) != size:
            raise ValueError(
                f"names must give one name per weight ({size} for weight of shape "
                f"{self.weight_shape}), got {len(names)}"
            )
        labels = [[] for _ in range(self.nnz)]
        for e, k in zip(self._contribution_entries().tolist(), self.taps.tolist()):
            labels[e].append(names[k])
        return ["+".join(parts) for parts in labels]


def _samples(value, name: str, n: int) -> np.ndarray:
    """``value`` as ``(N, n)`` flat samples: one vector, a batch, or the sample's shape."""
    arr = as_array(value, name)
    if arr.size == 0 or arr.size % n:
        raise ValueError(f"{name} must hold one or more flattened samples of {n} values, got "
                         f"{name} of shape {arr.shape}")
    return arr.reshape(-1, n)


# The matrix-free alternatives every size refusal points to.
_OPERATOR = "convmat.conv_operator"
_OPERATOR_T = "convmat.conv_transpose_operator"


def conv_taps(weight, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
              padding_mode="zeros", max_entries=None) -> TapPattern:
    """Tap structure of :func:`conv_matrix`: where each weight lands.

    ``weight`` is the weight array or just its shape; the other arguments are those of
    :func:`conv_matrix`.

    Examples
    --------
    The article's filter ``[x, y, z]`` over a 4-element input, padded to keep its size:

    >>> from convmat import conv_taps
    >>> taps = conv_taps((1, 1, 3), (1, 4), padding=1)
    >>> taps.tap_labels("xyz")
    ['y', 'z', 'x', 'y', 'z', 'x', 'y', 'z', 'x', 'y']
    >>> taps.basis(0).toarray()          # E_x: where x lands
    array([[0., 0., 0., 0.],
           [1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.]])
    """
    wshape = shape_of(weight, "weight")
    geo = conv_geometry(wshape, input_shape, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)
    budget = Budget("conv_taps", _OPERATOR, 8, max_entries)
    check_size(geo, budget)
    pattern = kron_axes(conv_axes(geo), budget=budget)
    return TapPattern._from(pattern, geo.weight_shape)


def conv_matrix(weight: ArrayLike, input_shape, *, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros", max_entries=None) -> csr_array:
    r"""The matrix of ``torch.nn.functional.conv{1,2,3}d`` for one sample.

    Parameters
    ----------
    weight : array_like, shape (C_out, C_in // groups, *kernel)
        The filters, in torch's layout; 1, 2 or 3 spatial dimensions.
    input_shape : tuple of int
        ``(C_in, *spatial)`` of the input sample.
    stride, dilation : int or tuple of int
        Positive, per spatial dimension.
    padding : int, tuple of int, ``"valid"`` or ``"same"``
        Pixels added before and after each spatial dimension. ``"same"`` keeps the size
        (stride 1 only) and puts the odd extra pixel at the end, as torch does.
    groups : int
        Input and output channels are split into ``groups`` independent blocks.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        What the padding holds (``nn.ConvNd``'s argument). Other than zeros, padding reads
        input pixels again, so their weights add up in the matrix.
    max_entries : int, optional
        Refuse to build more stored entries than this (default: ``get_max_entries()``).

    Returns
    -------
    csr_array, shape (C_out * prod(out_spatial), C_in * prod(spatial))
        ``C`` with ``C @ x.ravel() == conv(x[None], weight)[0].ravel()``, in the weight's
        dtype (float64 for integers).

    Notes
    -----
    With ``g = o // (C_out / groups)`` the group of output channel ``o``,

    .. math::  y[o, j] = \sum_{c, t} w[o, c, t]\, x[g\,C_{in}/G + c,\; j s - p + t d]

    summed over the group's ``C_in / groups`` channels and the kernel taps ``t`` (no kernel
    flip: torch's "convolution" is a cross-correlation); positions outside the input
    read the padding. The transposed convolution is ``C.T`` (:func:`conv_transpose_matrix`).

    Examples
    --------
    The article's filter ``[x, y, z] = [1, 2, 3]`` over a 4-element input, padded so the
    output keeps 4 elements, and its transpose:

    >>> import numpy as np
    >>> from convmat import conv_matrix
    >>> C = conv_matrix(np.array([[[1., 2., 3.]]]), (1, 4), padding=1)
    >>> C.toarray()
    array([[2., 3., 0., 0.],
           [1., 2., 3., 0.],
           [0., 1., 2., 3.],
           [0., 0., 1., 2.]])
    >>> C.T.toarray()
    array([[2., 1., 0., 0.],
           [3., 2., 1., 0.],
           [0., 3., 2., 1.],
           [0., 0., 3., 2.]])
    """
    w = weight_array(weight)
    geo = conv_geometry(w.shape, input_shape, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, padding_mode=padding_mode)
    budget = Budget("conv_matrix", _OPERATOR, w.dtype.itemsize, max_entries)
    check_size(geo, budget)
    pattern = kron_axes(conv_axes(geo), taps=False, weight=w.reshape(-1), budget=budget)
    return pattern.csr(pattern.values)


def conv_transpose_taps(weight, input_shape, *, stride=1, padding=0, output_padding=0,
                        dilation=1, groups=1, output_size=None,
                        max_entries=None) -> TapPattern:
    """Tap structure of :func:`conv_transpose_matrix` (``weight`` may be just its shape).

    Examples
    --------
    The article's 1-D transposed convolution: 2 inputs ``a, b``, filter ``[x, y, z]``, stride 2.
    Row ``j`` lists the taps that write output ``j``: ``ax, ay, az+bx, by, bz``.

    >>> from convmat import conv_transpose_taps
    >>> conv_transpose_taps((1, 1, 3), (1, 2), stride=2).tap_labels("xyz")
    ['x', 'y', 'z', 'x', 'y', 'z']
    """
    wshape = shape_of(weight, "weight")
    geo = conv_transpose_geometry(wshape, input_shape, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation,
                                  groups=groups, output_size=output_size)
    budget = Budget("conv_transpose_taps", _OPERATOR_T, 8, max_entries)
    check_size(geo.conv, budget, geo.in_size)
    pattern = kron_axes(conv_transpose_axes(geo), budget=budget)
    return TapPattern._from(pattern, geo.conv.weight_shape)


def conv_transpose_matrix(weight: ArrayLike, input_shape, *, stride=1, padding=0,
                          output_padding=0, dilation=1, groups=1, output_size=None,
                          max_entries=None) -> csr_array:
    r"""The matrix of ``torch.nn.functional.conv_transpose{1,2,3}d`` for one sample.

    Parameters
    ----------
    weight : array_like, shape (C_in, C_out // groups, *kernel)
        The filters, in torch's layout for transposed convolutions.
    input_shape : tuple of int
        ``(C_in, *spatial)`` of the input sample.
    stride, padding, dilation : int or tuple of int
        As for the convolution this one transposes (``padding`` removes output pixels).
    output_padding : int or tuple of int
        Extra output pixels at the end of each dimension, ``0 <= output_padding <
        max(stride, dilation)``; it resolves which of several input sizes a strided
        convolution came from.
    groups : int
        Number of independent channel blocks.
    output_size : tuple of int, optional
        The wanted spatial output size (``nn.ConvTransposeNd(...)(x, output_size)``);
        sets ``output_padding``. Must lie between the size without output padding and
        that plus ``stride - 1``.
    max_entries : int, optional
        Refuse to build more stored entries than this.

    Returns
    -------
    csr_array, shape (C_out * prod(out_spatial), C_in * prod(spatial))
        ``T`` with ``T @ x.ravel() == conv_transpose(x[None], weight)[0].ravel()``.

    Notes
    -----
    Output size ``O = (L - 1) s - 2 p + d (k - 1) + output_padding + 1``. Each input value
    is copied to the output weighted by the filter, and overlaps are summed:

    .. math::
        y[g C_{out}/G + o, j] = \sum_{c \in g,\; i, t:\; i s - p + t d = j}
        w[c, o, t]\, x[c, i]

    This is exactly the transpose of the convolution matrix with the same weight, stride,
    padding and dilation from the output shape back: ``T == conv_matrix(weight,
    (C_out, *O), ...).T``, entry for entry (when ``stride <= output_padding < dilation`` that
    convolution has more outputs than ``T`` has inputs, and ``T`` is a block of its
    transpose).

    Examples
    --------
    The article's 1-D transposed convolution 2 → 5 at stride 2: input ``[a, b] = [1, 10]``,
    filter ``[x, y, z] = [1, 2, 3]``, stride 2 gives the 5 outputs ``ax, ay, az + bx, by,
    bz``; it is the transpose of the stride-2 convolution of a 5-element input:

    >>> import numpy as np
    >>> from convmat import conv_transpose_matrix, conv_matrix
    >>> T = conv_transpose_matrix(np.array([[[1., 2., 3.]]]), (1, 2), stride=2)
    >>> T.toarray()
    array([[1., 0.],
           [2., 0.],
           [3., 1.],
           [0., 2.],
           [0., 3.]])
    >>> T @ np.array([1., 10.])
    array([ 1.,  2., 13., 20., 30.])
    >>> conv_matrix(np.array([[[1., 2., 3.]]]), (1, 5), stride=2).T.toarray()
    array([[1., 0.],
           [2., 0.],
           [3., 1.],
           [0., 2.],
           [0., 3.]])
    """
    w = weight_array(weight)
    geo = conv_transpose_geometry(w.shape, input_shape, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation,
                                  groups=groups, output_size=output_size)
    budget = Budget("conv_transpose_matrix", _OPERATOR_T, w.dtype.itemsize, max_entries)
    check_size(geo.conv, budget, geo.in_size)
    pattern = kron_axes(conv_transpose_axes(geo), taps=False, weight=w.reshape(-1),
                        budget=budget)
    return pattern.csr(pattern.values)
