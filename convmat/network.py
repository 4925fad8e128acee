r"""Whole torch networks as exact sparse factors, at one sample.

A network built from convolutions, pooling, resampling, padding, activations, batch norm,
sums and concatenations is, near one sample ``x``, an affine map ``y = J x + c``: every
linear layer is a matrix (the same matrices as convmat's builders), every max pooling picks
its maxima at ``x``, every activation is a diagonal ``f'`` at the value that reached it.
:func:`linearize` runs the model once on ``x`` (traced with ``torch.fx``, or child by child
for an ``nn.Sequential``) and keeps those factors, one node per layer or functional call:

.. math::  J = \prod_{\text{layers}} M_\ell \quad (\text{summed over the branches of a
           residual or a concatenation}), \qquad c = \text{the layers' offsets carried
           through the layers after them}

``J`` is the Jacobian of the model at ``x`` (``torch.func.jacrev``); for a piecewise-linear
network (ReLU, max pooling, ...) ``J`` and ``c`` are the exact map of the whole linear
region around ``x``. :func:`receptive_field` reads the same factors' sparsity patterns
(which inputs can reach an output, whatever the weights and the sample: a max pooling
counts its whole window), :func:`effective_receptive_field` the gradient of one output at
``x`` (Luo et al., *Understanding the effective receptive field in deep convolutional
neural networks*).

Needs PyTorch: ``pip install "convmat[torch]"``.
"""

from __future__ import annotations

try:
    import torch
except ImportError as err:  # pragma: no cover - exercised only without torch
    raise ImportError('convmat.network needs PyTorch: pip install "convmat[torch]" '
                      "(CPU build: pip install torch==2.13.0)") from err

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.sparse import csr_array
from scipy.sparse.linalg import LinearOperator
from torch import nn

from ._args import _is_sequence, as_array, as_shape, is_int
from ._sample_operator import _SampleOperator
from ._sparse import Budget
from .network_trace import check_batch, run

__all__ = ["Linearization", "Node", "effective_receptive_field", "linearize",
           "plot_effective_receptive_field", "plot_receptive_field", "receptive_field"]

_OPERATOR = "Linearization.operator()"


@dataclass(frozen=True, eq=False)
class Node:
    """One layer or functional call of a linearized network.

    Attributes
    ----------
    name : str
        The graph's name of the call (``"conv1"``, ``"layer1.0"``, ``"add_1"``).
    op : str
        What it is: the module type (``"Conv2d"``) or the function or method (``"relu"``).
    inputs : tuple of str
        The nodes it reads (or the input's name), in order.
    matrices : tuple of csr_array
        One matrix per input: ``y = sum_i matrices[i] @ inputs[i] + offset``.
    offset : ndarray or None
        Its own constant term (a bias, a batch-norm shift, an activation's intercept).
    out_shape : tuple of int
        The shape of its output for one sample (no batch axis).
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    matrices: tuple[csr_array, ...]
    offset: np.ndarray | None
    out_shape: tuple[int, ...]

    def __repr__(self) -> str:
        nnz = sum(M.nnz for M in self.matrices)
        return (f"Node({self.name!r}, {self.op}, inputs={self.inputs}, "
                f"out_shape={self.out_shape}, nnz={nnz:,})")


class Linearization:
    """The factors of ``model(x) = J @ x.ravel() + c`` at one sample (see :func:`linearize`).

    Attributes
    ----------
    nodes : tuple of Node
        The layers, in an order where each comes after the nodes it reads.
    input_name, output_name : str
        The name the nodes use for the input, and the node that is the output.
    in_shape, out_shape : tuple of int
        Shapes of one input and one output sample.
    """

    def __init__(self, nodes, input_name, output_name, in_shape, out_shape, dtype):
        self.nodes = tuple(nodes)
        self.input_name, self.output_name = input_name, output_name
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.dtype = np.dtype(dtype)
        self._offset = None

    def __repr__(self) -> str:
        return (f"<Linearization {self.in_shape} -> {self.out_shape}: {len(self.nodes)} "
                f"nodes, {self.nnz:,} stored entries in the factors>")

    @property
    def nnz(self) -> int:
        """Stored entries of all the factors."""
        return sum(M.nnz for node in self.nodes for M in node.matrices)

    @property
    def offset(self) -> np.ndarray:
        """``c``: each layer's own offset carried through the layers after it."""
        if self._offset is None:
            c = {self.input_name: None}
            uses = _last_uses(self)
            for i, node in enumerate(self.nodes):
                acc = None if node.offset is None else node.offset.copy()
                for M, src in zip(node.matrices, node.inputs):
                    if c[src] is not None:
                        acc = M @ c[src] if acc is None else acc + M @ c[src]
                c[node.name] = acc
                _forget(c, node, i, uses, self.output_name)
            out = c[self.output_name]
            self._offset = np.zeros(math.prod(self.out_shape), self.dtype) if out is None \
                else np.asarray(out, dtype=self.dtype)
        return self._offset.copy()

    def matrix(self, max_entries: int | None = None) -> csr_array:
        """``J``, the product of the factors (summed over branches), as one ``csr_array``.

        Each product is sized before it is made (an upper bound propagated through the
        factors' rows; where that bound is over the limit, the exact structural count of
        the product), and refused with ``ValueError`` past ``max_entries`` (default
        ``convmat.get_max_entries()``): use :meth:`operator` instead.
        """
        budget = Budget("Linearization.matrix", _OPERATOR, self.dtype.itemsize, max_entries)
        return _compose(self, budget, pattern=False)

    def operator(self) -> LinearOperator:
        """``J`` matrix-free: the factors applied one after another (and, for the adjoint
        ``J.T``, transposed in reverse order), never multiplied out."""
        return NetworkOperator(self)


class NetworkOperator(_SampleOperator):
    """``J`` of a :class:`Linearization` applied factor by factor, with its adjoint (its
    products read tensors and name a vector of the wrong size, as every convmat
    operator's)."""

    def __init__(self, lin: Linearization):
        self.lin = lin
        self._uses = _last_uses(lin)
        super().__init__(lin.in_shape, lin.out_shape, lin.dtype)

    def _matmat(self, X):
        lin = self.lin
        vals = {lin.input_name: np.asarray(X)}
        for i, node in enumerate(lin.nodes):
            acc = None
            for M, src in zip(node.matrices, node.inputs):
                acc = M @ vals[src] if acc is None else acc + M @ vals[src]
            vals[node.name] = acc
            _forget(vals, node, i, self._uses, lin.output_name)
        return np.asarray(vals[lin.output_name])

    def _rmatmat(self, Y):
        lin = self.lin
        grads = {lin.output_name: np.asarray(Y)}
        for node in reversed(lin.nodes):
            g = grads.pop(node.name, None)
            if g is None:
                continue
            for M, src in zip(node.matrices, node.inputs):
                t = M.T @ g
                grads[src] = grads[src] + t if src in grads else t
        Y = np.asarray(Y)
        return grads.get(lin.input_name, np.zeros((self.shape[1], Y.shape[1]), self.dtype))



# --------------------------------------------------------------------------- composing
def _last_uses(lin) -> dict[str, int]:
    uses = {}
    for i, node in enumerate(lin.nodes):
        for src in node.inputs:
            uses[src] = i
    return uses


def _forget(store: dict, node, i: int, uses, keep: str) -> None:
    """Drop the values no later node reads."""
    for src in set(node.inputs):
        if uses.get(src) == i and src != keep:
            store.pop(src, None)


def _row_bounds(lin) -> dict[str, int]:
    """An upper bound on the stored entries of each node's ``J``: per row, the sum of the
    bounds of the rows it reads, capped at the input size."""
    n_in = math.prod(lin.in_shape)
    bounds = {lin.input_name: np.ones(n_in)}
    totals = {}
    uses = _last_uses(lin)
    for i, node in enumerate(lin.nodes):
        acc = 0
        for M, src in zip(node.matrices, node.inputs):
            ones = csr_array((np.ones(M.nnz), M.indices, M.indptr), shape=M.shape)
            acc = acc + ones @ bounds[src]
        bounds[node.name] = np.minimum(acc, n_in)
        totals[node.name] = int(bounds[node.name].sum())
        _forget(bounds, node, i, uses, lin.output_name)
    return totals


def _product_nnz(A: csr_array, B: csr_array) -> int:
    """Exact structural entries of ``A @ B``, counted without making it (scipy's own
    symbolic pass); an upper bound where that private routine is missing."""
    try:
        from scipy.sparse._sparsetools import csr_matmat_maxnnz
    except ImportError:  # pragma: no cover - scipy has had it for years
        counts = np.diff(B.indptr).astype(np.float64)
        rows = csr_array((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape) @ counts
        return int(np.minimum(rows, B.shape[1]).sum())
    itype = np.int64 if np.int64 in (A.indices.dtype, A.indptr.dtype, B.indices.dtype,
                                      B.indptr.dtype) else np.int32
    cast = lambda a: np.asarray(a, dtype=itype)
    return int(csr_matmat_maxnnz(A.shape[0], B.shape[1], cast(A.indptr), cast(A.indices),
                                 cast(B.indptr), cast(B.indices)))


def _compose(lin: Linearization, budget: Budget, *, pattern: bool) -> csr_array:
    """The product of the factors along the graph (``pattern``: 0/1, as booleans)."""
    n_in = math.prod(lin.in_shape)
    bounds = _row_bounds(lin)
    exact = max(bounds.values(), default=0) > budget.limit  # else everything fits
    uses = _last_uses(lin)
    J = {lin.input_name: None}  # None: the identity
    for i, node in enumerate(lin.nodes):
        check = Budget(f"{budget.what} (the product up to node {node.name!r})",
                       budget.operator, budget.itemsize, budget.max_entries).check
        total = None
        for M, src in zip(node.matrices, node.inputs):
            if J[src] is None:
                part = M
            else:
                if exact:
                    check(_product_nnz(M, J[src]), M.shape[0])
                part = csr_array(M @ J[src])
                if pattern:
                    part.data[:] = 1
            if total is not None:
                if exact:
                    check(min(total.nnz + part.nnz, M.shape[0] * n_in), M.shape[0])
                part = csr_array(total + part)
                if pattern:
                    part.data[:] = 1
            total = part
        J[node.name] = total
        _forget(J, node, i, uses, lin.output_name)
    out = J[lin.output_name]
    if out is None:
        out = sparse.eye_array(n_in, dtype=lin.dtype, format="csr")
    if any(out is M for node in lin.nodes for M in node.matrices):
        out = out.copy()  # never hand out a node's own factor
    out.sum_duplicates()
    if pattern:
        out = csr_array((np.ones(out.nnz, bool), out.indices, out.indptr), shape=out.shape)
    return out


# --------------------------------------------------------------------------- linearize
def _check_eval(model: nn.Module) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, module in model.named_modules():
        if module.training:
            what = "the model" if not name else f"its submodule {name!r} ({type(module).__name__})"
            raise ValueError(
                f"{what} is in training mode: batch norm would use the batch's statistics and "
                f"dropout would be random. Call model.eval() first")


def _model_dtype(model: nn.Module, x: torch.Tensor):
    for t in (*model.parameters(), *model.buffers()):
        if t.is_floating_point():
            return t.dtype, t.device
    return (x.dtype if x.is_floating_point() else torch.float64), x.device


def _sample(model: nn.Module, x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    else:  # lists, arrays; strings, objects and ragged lists are refused by name
        t = torch.from_numpy(np.array(as_array(x, "x", kinds="biuf")))
    if t.ndim < 1 or t.numel() == 0:
        raise ValueError(f"x must be one sample of shape (C, *spatial) holding values, got "
                         f"x of shape {tuple(t.shape)}")
    dtype, device = _model_dtype(model, t)
    return t.detach().to(device=device, dtype=dtype)[None]


def _linearize(model, x, *, structural: bool, max_entries,
               name: str = "x") -> Linearization:
    _check_eval(model)
    xb = _sample(model, x)
    try:
        return _trace(model, xb, structural=structural, max_entries=max_entries)
    except ValueError as err:  # every layer ran on this sample: say which one it was
        raise ValueError(f"{err} (on the sample {name} of shape {tuple(xb.shape[1:])})") \
            from err


def _trace(model, xb, *, structural: bool, max_entries) -> Linearization:
    nodes = []

    def make_node(call, srcs, built, value):
        out_shape = check_batch(call.name, value)
        n_out = math.prod(out_shape)
        mats = tuple(csr_array(M) for M in built.matrices)
        offset = built.offset
        shapes = [M.shape for M in mats] + [np.shape(offset)] * (offset is not None)
        expected = [(n_out, dep.numel()) for dep in call.deps] + [(n_out,)] * (
            offset is not None)
        if shapes != expected:
            raise RuntimeError(  # a bug, never a silent wrong answer
                f"convmat built factors of shapes {shapes} for node {call.name!r} "
                f"({call.op}), expected {expected}; please report this")
        if structural:
            mats = tuple(csr_array((np.ones(M.nnz), M.indices, M.indptr), shape=M.shape)
                         for M in mats)
            offset = None
        nodes.append(Node(call.name, call.op, tuple(srcs), mats, offset, out_shape))

    input_name, output_name, out = run(model, xb, structural=structural,
                                       max_entries=max_entries, make_node=make_node)
    out_shape = check_batch(output_name, out)
    # Keep only the nodes the output reads.
    needed = {output_name}
    for node in reversed(nodes):
        if node.name in needed:
            needed.update(node.inputs)
    kept = [n for n in nodes if n.name in needed]
    dtype = np.result_type(*(M.dtype for n in kept for M in n.matrices)) if kept and not \
        structural else np.dtype(str(out.dtype).removeprefix("torch."))
    return Linearization(kept, input_name, output_name, tuple(xb.shape[1:]), out_shape,
                         dtype)


def linearize(model: nn.Module, x: ArrayLike, *, max_entries: int | None = None
              ) -> Linearization:
    r"""The exact first-order map of a torch model at one sample, as sparse factors.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode (``model.eval()``), traceable by ``torch.fx.symbolic_trace`` or an
        ``nn.Sequential``. Its layers must be among those listed in Notes.
    x : array_like or torch.Tensor, shape (C, *spatial)
        One sample, without the batch axis; cast to the model's parameter dtype.
    max_entries : int, optional
        Passed to every layer's builder (default ``convmat.get_max_entries()``).

    Returns
    -------
    Linearization
        ``.nodes`` (one per layer or call), ``.matrix()``, ``.offset``, ``.operator()``,
        with ``model(x) == J @ x.ravel() + c`` to rounding and ``J`` the Jacobian at ``x``.

    Notes
    -----
    Linear layers are their convmat matrices: ``ConvNd`` (every option; the bias is an
    offset), ``ConvTransposeNd``, ``AvgPoolNd``, ``AdaptiveAvgPoolNd``, ``Upsample`` /
    ``F.interpolate``, ``PixelShuffle`` / ``PixelUnshuffle``, padding layers and ``F.pad``
    (a constant ``v`` adds ``v (1 - P 1)``), ``Linear``, reshapes, slices, ``torch.cat``,
    ``sum`` / ``mean`` over sample axes, ``Identity`` and dropout in eval. At ``x``,
    ``MaxPoolNd`` / ``AdaptiveMaxPoolNd`` are the selections of their maxima (and
    ``MaxUnpoolNd`` reads its pooling's indices), an elementwise activation ``f`` is
    ``diag(f'(x_l))`` with offset ``f(x_l) - f'(x_l) x_l`` at the value ``x_l`` reaching
    it (closed forms for ReLU, LeakyReLU, PReLU, Hardtanh, ReLU6, Threshold; torch's
    autograd for the smooth ones), eval-mode batch norm is ``diag(alpha)`` plus ``beta``;
    sums, differences and products with constants or other branches broadcast as torch
    does. In-place layers are read as their out-of-place twins.

    Examples
    --------
    A 1-D max pooling after a 2-tap convolution with bias 1: ``J`` picks, for each pair,
    the larger of the convolution's outputs, and ``c`` is the bias carried through:

    >>> import numpy as np, torch
    >>> from convmat.network import linearize
    >>> conv = torch.nn.Conv1d(1, 1, 2, bias=True).double()
    >>> _ = conv.weight.data.copy_(torch.tensor([[[1., -1.]]])); _ = conv.bias.data.fill_(1)
    >>> model = torch.nn.Sequential(conv, torch.nn.MaxPool1d(2)).eval()
    >>> lin = linearize(model, np.array([[0., 3., 1., 2., 0.]]))
    >>> [node.op for node in lin.nodes]
    ['Conv1d', 'MaxPool1d']
    >>> lin.matrix().toarray()
    array([[ 0.,  1., -1.,  0.,  0.],
           [ 0.,  0.,  0.,  1., -1.]])
    >>> lin.matrix().T.toarray()
    array([[ 0.,  0.],
           [ 1.,  0.],
           [-1.,  0.],
           [ 0.,  1.],
           [ 0., -1.]])
    >>> lin.offset
    array([1., 1.])
    """
    return _linearize(model, x, structural=False, max_entries=max_entries)


# --------------------------------------------------------------------------- receptive fields
def _shape(input_shape, max_entries) -> tuple[int, ...]:
    shape = as_shape(input_shape, "input_shape")
    if min(shape) < 1:
        raise ValueError(f"input_shape must be positive ints (C, *spatial), got "
                         f"input_shape={shape}")
    Budget("receptive_field", None, 8, max_entries).check_values(
        math.prod(shape), "the sample the model runs on", f"input_shape={shape}")
    return shape


def _flat_index(output_index, out_shape) -> int:
    if is_int(output_index):
        idx = (output_index,)
    elif isinstance(output_index, (str, bytes)) or not _is_sequence(output_index):
        raise TypeError(f"output_index must be a tuple of ints (channel, *position), got "
                        f"output_index={output_index!r}")
    else:
        idx = tuple(output_index)
    if len(idx) != len(out_shape) or any(
            isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer))
            or not -n <= i < n for i, n in zip(idx, out_shape)):
        raise ValueError(f"output_index must be {len(out_shape)} ints (channel, *position) "
                         f"inside the output shape {out_shape}, got "
                         f"output_index={output_index!r}")
    return int(np.ravel_multi_index(tuple(int(i) % n for i, n in zip(idx, out_shape)),
                                    out_shape))


def receptive_field(model: nn.Module, input_shape, output_index=None, *,
                    max_entries: int | None = None):
    r"""Which inputs can reach an output, whatever the weights and the sample.

    Parameters
    ----------
    model : torch.nn.Module
        As for :func:`linearize` (eval mode). It is run once on zeros, to learn the shapes.
    input_shape : tuple of int
        ``(C, *spatial)`` of one input sample.
    output_index : tuple of int, optional
        ``(c, *position)`` of one output. ``None``: the whole pattern.
    max_entries : int, optional
        Limit on the stored entries of the whole pattern.

    Returns
    -------
    ndarray of bool, shape ``input_shape``, or csr_array of bool
        The inputs that output reaches; or the ``(outputs, inputs)`` 0/1 pattern.

    Notes
    -----
    The product of the layers' structural patterns: a convolution's taps (a zero weight
    still counts), a max pooling's whole window (any position may hold the maximum), the
    diagonal of an activation or a batch norm. For a stack of convolutions and poolings of
    kernels ``k_l`` and strides ``s_l``, the field of an interior output has size
    ``1 + sum_l (k_l - 1) prod_{m < l} s_m`` along each axis.

    Examples
    --------
    Two 3-tap convolutions: each output sees 5 inputs.

    >>> import torch
    >>> from convmat.network import receptive_field
    >>> model = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3), torch.nn.Conv1d(1, 1, 3)).eval()
    >>> receptive_field(model, (1, 7), (0, 1)).astype(int)
    array([[0, 1, 1, 1, 1, 1, 0]])
    >>> P = receptive_field(model, (1, 7))
    >>> P.toarray().astype(int)
    array([[1, 1, 1, 1, 1, 0, 0],
           [0, 1, 1, 1, 1, 1, 0],
           [0, 0, 1, 1, 1, 1, 1]])
    >>> P.T.toarray().astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1],
           [1, 1, 1],
           [1, 1, 1],
           [0, 1, 1],
           [0, 0, 1]])
    """
    shape = _shape(input_shape, max_entries)
    lin = _linearize(model, np.zeros(shape), structural=True, max_entries=max_entries,
                     name="input_shape")
    if output_index is None:
        budget = Budget("receptive_field", "receptive_field(..., output_index)", 1,
                        max_entries)
        return _compose(lin, budget, pattern=True)
    e = np.zeros(math.prod(lin.out_shape))
    e[_flat_index(output_index, lin.out_shape)] = 1
    reach = {lin.output_name: e}
    for node in reversed(lin.nodes):
        g = reach.pop(node.name, None)
        if g is None:
            continue
        for M, src in zip(node.matrices, node.inputs):
            t = M.T @ g
            reach[src] = np.minimum(reach[src] + t, 1) if src in reach else np.minimum(t, 1)
    field = reach.get(lin.input_name, np.zeros(math.prod(shape)))
    return (field > 0).reshape(shape)


def effective_receptive_field(model: nn.Module, x: ArrayLike, output_index) -> np.ndarray:
    r"""``|d y[output_index] / d x|`` at the sample ``x``, shaped like ``x``.

    Parameters
    ----------
    model : torch.nn.Module
        As for :func:`linearize` (eval mode).
    x : array_like or torch.Tensor, shape (C, *spatial)
        The sample.
    output_index : tuple of int
        ``(c, *position)`` of one output.

    Returns
    -------
    ndarray, shape of ``x``
        The magnitude of that output's gradient: one row of ``J``, found by one pass of the
        adjoint ``J.T e`` through the factors.

    Notes
    -----
    Luo et al. (2016), *Understanding the effective receptive field in deep convolutional
    neural networks*: inside the structural field (:func:`receptive_field`), the gradient
    is far from uniform; it is where the output actually looks.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from convmat.network import effective_receptive_field
    >>> conv = torch.nn.Conv1d(1, 1, 3, bias=False).double()
    >>> _ = conv.weight.data.copy_(torch.tensor([[[1., -2., 3.]]]))
    >>> model = torch.nn.Sequential(conv, torch.nn.ReLU()).eval()
    >>> effective_receptive_field(model, np.array([[1., 0., 1., 0.]]), (0, 0))
    array([[1., 2., 3., 0.]])
    """
    lin = linearize(model, x)
    e = np.zeros(math.prod(lin.out_shape), lin.dtype)
    e[_flat_index(output_index, lin.out_shape)] = 1
    return np.abs(lin.operator().rmatvec(e)).reshape(lin.in_shape)


from .network_plot import plot_effective_receptive_field, plot_receptive_field  # noqa: E402
