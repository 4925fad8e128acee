"""The linear layers of a torch network as sparse matrices, for :mod:`convmat.network`.

Each handler receives one call of the traced graph (a :class:`Call`: the layer, its
arguments with real tensors, its output) and returns a :class:`Built`: one matrix per
argument that depends on the sample, and an offset or ``None``. Convolutions, pooling,
resampling and padding go through convmat's own builders; max pooling picks the maxima of
the tensor that reached it; reshapes, slices and concatenations are 0/1 selections found by
running the op on a tensor of indices. Activations, batch norm and arithmetic are in
:mod:`convmat.network_pointwise`.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from scipy import sparse
from scipy.sparse import csr_array
from torch import nn

from . import (
    avg_pool_matrix,
    conv_matrix,
    conv_transpose_matrix,
    interpolate_matrix,
    max_pool_selection,
    max_unpool_matrix,
    pixel_shuffle_matrix,
    pixel_unshuffle_matrix,
)
from ._sparse import Budget, index_dtype, make_csr

_REQUIRED = object()


# --------------------------------------------------------------------------- calls
@dataclass(eq=False)
class Call:
    """One call of the traced graph, with real values, as a handler sees it.

    ``args``/``kwargs`` hold tensors; ``deps`` are the arguments that depend on the sample,
    in the order of ``Node.inputs``; ``replay(mapping)`` runs the call again with some of
    them replaced (``{position in deps: tensor}``).
    """

    name: str
    op: str
    target: Any
    args: tuple
    kwargs: dict
    deps: list
    out: Any
    replay: Callable
    structural: bool = False
    max_entries: int | None = None
    extra: dict = field(default_factory=dict)  # id(tensor) -> what we know of it

    def is_dep(self, value) -> bool:
        return any(value is d for d in self.deps)

    @property
    def x(self) -> torch.Tensor:
        return self.deps[0]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.deps[0].shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(str(self.deps[0].dtype).removeprefix("torch."))

    def budget(self, what: str) -> Budget:
        return Budget(what, "Linearization.operator()", self.dtype.itemsize, self.max_entries)


@dataclass
class Built:
    """What a handler returns: one matrix per dependent argument, an offset, and for a
    pooling with indices, what its indices are made of (for :class:`nn.MaxUnpool`)."""

    matrices: list
    offset: np.ndarray | None = None
    indices: Any = None


@dataclass(frozen=True)
class PoolIndices:
    """The indices output of a max pooling: the pool's name and its windows' pattern."""

    pool: str
    pattern: Callable[[], csr_array]  # (C * pooled, C * plane) 0/1 pattern of the windows
    plane: int  # size of the pooled input's channel plane


@dataclass(frozen=True)
class Rule:
    """How to read one layer: ``handler(call, read(call))``; ``read`` names the layer's
    parameters, from a module's attributes or from a call's arguments."""

    handler: Callable
    read: Callable
    single_input: bool = True  # only the first argument may depend on the sample


def by_module(fn: Callable) -> Callable:
    """Parameters from the module's attributes (and its forward's arguments)."""
    return lambda call: fn(call.target, call)


def by_sig(*sig, **fixed) -> Callable:
    """Parameters from the call's arguments named by ``sig``, plus ``fixed`` ones."""
    return lambda call: {**bind(call.args, call.kwargs, sig, call.op), **fixed}


def bind(args, kwargs, sig, op: str) -> dict:
    """Name the arguments of a call by ``sig``: names, or ``(name, default)`` pairs."""
    names = [s if isinstance(s, str) else s[0] for s in sig]
    out = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in out:
            raise TypeError(f"{op} got multiple values for argument {key!r}")
        out[key] = value
    for s in sig:
        name, default = (s, _REQUIRED) if isinstance(s, str) else s
        if name not in out:
            if default is _REQUIRED:
                raise TypeError(f"{op} is missing its argument {name!r}")
            out[name] = default
    return out


def forward_args(call: Call, sig) -> dict:
    """The arguments of a module's ``forward`` named by ``sig``."""
    return bind(call.args, call.kwargs, sig, call.op)


# --------------------------------------------------------------------------- helpers
def to_numpy(t) -> np.ndarray:
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.numpy()


def flat(t) -> np.ndarray:
    return to_numpy(t).reshape(-1)


def diagonal(d: np.ndarray) -> csr_array:
    """``diag(d)`` with every entry stored, zeros included: the pattern is structural."""
    n = d.size
    idx = np.arange(n + 1, dtype=index_dtype(n + 1))
    return make_csr(np.ascontiguousarray(d), idx[:-1], idx, (n, n))


def selection(src: np.ndarray, n_cols: int, dtype, rows: np.ndarray | None = None,
              n_rows: int | None = None) -> csr_array:
    """0/1 matrix with row ``rows[i]`` reading column ``src[i]`` (every row, by default)."""
    src = np.asarray(src).reshape(-1)
    n_rows = src.size if n_rows is None else n_rows
    itype = index_dtype(n_rows + 1, n_cols)
    if rows is None:
        return make_csr(np.ones(src.size, dtype), src.astype(itype),
                        np.arange(n_rows + 1, dtype=itype), (n_rows, n_cols))
    indptr = np.zeros(n_rows + 1, dtype=itype)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    order = np.argsort(rows, kind="stable")
    return make_csr(np.ones(src.size, dtype), src[order].astype(itype), indptr,
                    (n_rows, n_cols))


def scale_rows(M: csr_array, d: np.ndarray) -> csr_array:
    """``diag(d) @ M`` keeping every stored entry (a product would drop the zeros)."""
    d = np.asarray(d)
    data = M.data * np.repeat(d, np.diff(M.indptr))
    return make_csr(data.astype(np.result_type(M.dtype, d.dtype), copy=False), M.indices,
                    M.indptr, M.shape)


def per_channel(v, out) -> np.ndarray:
    """A per-channel vector spread over ``out``'s sample ``(C, *spatial)``, flat."""
    return np.repeat(flat(v), math.prod(out.shape[2:]))


def index_map(fn, value: torch.Tensor) -> np.ndarray:
    """Where each output element of a rearranging op comes from: the op run on indices."""
    idx = torch.arange(value.numel(), device=value.device).reshape(value.shape)
    return to_numpy(fn(idx)).reshape(-1)


def call_builder(fn, *args, optional=(), **kwargs):
    """Call a convmat builder, passing the keywords named in ``optional`` only if it takes
    them (``max_entries``, ``dtype``: builders written in parallel may lack one)."""
    accepted = inspect.signature(fn).parameters
    return fn(*args, **{k: v for k, v in kwargs.items() if k not in optional or k in accepted})


def _adaptive(name: str):
    """A builder of ``convmat.adaptive``, imported when first needed."""
    try:
        from . import adaptive
    except ImportError as err:
        raise ValueError(
            f"adaptive pooling needs convmat.adaptive.{name}, which this installation of "
            f"convmat does not have yet"
        ) from err
    return getattr(adaptive, name)


def _padding_builder():
    from .padding import pad_matrix

    return pad_matrix


def _stride(stride):
    # F.max_pool2d passes an empty list for the default stride (= kernel_size).
    return None if stride is None or (hasattr(stride, "__len__") and len(stride) == 0) \
        else stride


# --------------------------------------------------------------------------- convolutions
def conv(call: Call, p: dict) -> Built:
    M = conv_matrix(to_numpy(p["weight"]), call.in_shape, stride=p["stride"],
                    padding=p["padding"], dilation=p["dilation"], groups=p["groups"],
                    padding_mode=p.get("padding_mode", "zeros"),
                    max_entries=call.max_entries)
    return Built([M], None if p["bias"] is None else per_channel(p["bias"], call.out))


def _conv_module(m, call):
    return dict(weight=m.weight, bias=m.bias, stride=m.stride, padding=m.padding,
                dilation=m.dilation, groups=m.groups, padding_mode=m.padding_mode)


def conv_transpose(call: Call, p: dict) -> Built:
    size = p.get("output_size")
    M = conv_transpose_matrix(
        to_numpy(p["weight"]), call.in_shape, stride=p["stride"], padding=p["padding"],
        output_padding=0 if size is not None else p["output_padding"],
        dilation=p["dilation"], groups=p["groups"],
        output_size=None if size is None else tuple(int(s) for s in size),
        max_entries=call.max_entries)
    return Built([M], None if p["bias"] is None else per_channel(p["bias"], call.out))


def _conv_transpose_module(m, call):
    size = forward_args(call, ("input", ("output_size", None)))["output_size"]
    return dict(weight=m.weight, bias=m.bias, stride=m.stride, padding=m.padding,
                output_padding=m.output_padding, dilation=m.dilation, groups=m.groups,
                output_size=size)


# --------------------------------------------------------------------------- pooling
def avg_pool(call: Call, p: dict) -> Built:
    kw = {} if p.get("divisor_override") is None else {
        "divisor_override": p["divisor_override"]}
    M = avg_pool_matrix(call.in_shape, p["kernel_size"], stride=_stride(p["stride"]),
                        padding=p["padding"], ceil_mode=p["ceil_mode"],
                        count_include_pad=p["count_include_pad"], max_entries=call.max_entries,
                        **kw)
    return Built([M.astype(call.dtype, copy=False)])


def _avg_pool_module(m, call):
    return dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                ceil_mode=m.ceil_mode, count_include_pad=m.count_include_pad,
                divisor_override=getattr(m, "divisor_override", None))


def window_pattern(channels, size, out, kernel, stride, padding, dilation) -> csr_array:
    """0/1 pattern of sliding windows: output ``(c, j)`` reads ``j s - p + t d`` inside.

    The union over every input of what a max pooling may select: its receptive field.
    """
    n = len(size)
    tup = lambda v: tuple(v) if hasattr(v, "__len__") else (v,) * n
    kernel, padding, dilation = tup(kernel), tup(padding), tup(dilation)
    stride = kernel if _stride(stride) is None else tup(stride)
    mats = [sparse.eye_array(channels, format="csr")]
    for L, O, k, s, p, d in zip(size, out, kernel, stride, padding, dilation):
        pos = np.arange(O)[:, None] * s - p + np.arange(k)[None, :] * d
        inside = (pos >= 0) & (pos < L)
        rows = np.broadcast_to(np.arange(O)[:, None], pos.shape)[inside]
        mats.append(selection(pos[inside], L, np.float64, rows=rows, n_rows=O))
    P = mats[0]
    for B in mats[1:]:
        P = sparse.kron(P, B, format="csr")
    return csr_array(P)


def max_pool(call: Call, p: dict) -> Built:
    x = to_numpy(call.x[0])
    kw = dict(stride=_stride(p["stride"]), padding=p["padding"], dilation=p["dilation"])
    S, idx = max_pool_selection(x, p["kernel_size"], ceil_mode=p["ceil_mode"],
                                max_entries=call.max_entries, **kw)
    C, size, out = x.shape[0], x.shape[1:], idx.shape[1:]
    pattern = lambda: window_pattern(C, size, out, p["kernel_size"], **kw)
    if call.structural:
        S = pattern()
    indices = PoolIndices(call.name, pattern, math.prod(size)) \
        if isinstance(call.out, tuple) else None
    return Built([S], indices=indices)


def _max_pool_module(m, call):
    return dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                dilation=m.dilation, ceil_mode=m.ceil_mode)


def max_unpool(call: Call, p: dict) -> Built:
    indices = p["indices"]
    out_spatial = tuple(call.out.shape[2:])
    info = call.extra.get(id(indices))
    if call.structural and isinstance(info, PoolIndices):
        # Any window position may hold the maximum: the windows' pattern, transposed and
        # read in the unpooled plane as torch reads the flat indices.
        W = info.pattern().tocoo()
        plane = math.prod(out_spatial)
        c, f = np.divmod(W.col, info.plane)
        keep = f < plane
        rows = c[keep] * plane + f[keep]
        M = csr_array((np.ones(rows.size), (rows, W.row[keep])),
                      shape=(call.out.numel(), call.x.numel()))
        M.sum_duplicates()
        return Built([M])
    size = p["output_size"]
    U = max_unpool_matrix(to_numpy(indices[0]), p["kernel_size"], stride=_stride(p["stride"]),
                          padding=p["padding"],
                          output_size=None if size is None else tuple(int(s) for s in size),
                          max_entries=call.max_entries)
    return Built([U.astype(call.dtype, copy=False)])


def _max_unpool_module(m, call):
    a = forward_args(call, ("input", "indices", ("output_size", None)))
    return dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                indices=a["indices"], output_size=a["output_size"])


def adaptive_avg_pool(call: Call, p: dict) -> Built:
    build = _adaptive("adaptive_avg_pool_matrix")
    M = call_builder(build, call.in_shape, p["output_size"], max_entries=call.max_entries,
                     dtype=call.dtype, optional=("max_entries", "dtype"))
    return Built([M.astype(call.dtype, copy=False)])


def adaptive_max_pool(call: Call, p: dict) -> Built:
    select = _adaptive("adaptive_max_pool_selection")
    S, _ = call_builder(select, to_numpy(call.x[0]), p["output_size"],
                        max_entries=call.max_entries, optional=("max_entries",))
    pattern = lambda: adaptive_avg_pool(call, p).matrices[0]
    if call.structural:
        S = pattern()
    indices = PoolIndices(call.name, pattern, math.prod(call.in_shape[1:])) \
        if isinstance(call.out, tuple) else None
    return Built([S], indices=indices)


def _output_size_module(m, call):
    return dict(output_size=m.output_size)


# --------------------------------------------------------------------------- resampling
def interpolate(call: Call, p: dict) -> Built:
    mode = p["mode"]
    if mode == "area":  # torch computes "area" as adaptive average pooling
        return adaptive_avg_pool(call, {"output_size": tuple(call.out.shape[2:])})
    kw = {}
    if p.get("antialias"):
        if "antialias" not in inspect.signature(interpolate_matrix).parameters:
            raise ValueError(f"node {call.name!r} ({call.op}) interpolates with "
                             f"antialias=True, which convmat.interpolate_matrix does not "
                             f"support in this version")
        kw["antialias"] = True
    M = interpolate_matrix(call.in_shape, size=p["size"], scale_factor=p["scale_factor"],
                           mode=mode, align_corners=p["align_corners"],
                           recompute_scale_factor=p["recompute_scale_factor"],
                           dtype=call.dtype, max_entries=call.max_entries, **kw)
    return Built([M])


def _upsample_module(m, call):
    return dict(size=m.size, scale_factor=m.scale_factor, mode=m.mode,
                align_corners=m.align_corners, recompute_scale_factor=m.recompute_scale_factor)


def shuffle(call: Call, p: dict) -> Built:
    if "upscale_factor" in p:
        M = pixel_shuffle_matrix(call.in_shape, p["upscale_factor"],
                                 max_entries=call.max_entries)
    else:
        M = pixel_unshuffle_matrix(call.in_shape, p["downscale_factor"],
                                   max_entries=call.max_entries)
    return Built([M.astype(call.dtype, copy=False)])


_PAD_MODES = {nn.ReflectionPad1d: "reflect", nn.ReflectionPad2d: "reflect",
              nn.ReflectionPad3d: "reflect", nn.ReplicationPad1d: "replicate",
              nn.ReplicationPad2d: "replicate", nn.ReplicationPad3d: "replicate"}
for _nd in (1, 2, 3):
    if hasattr(nn, f"CircularPad{_nd}d"):
        _PAD_MODES[getattr(nn, f"CircularPad{_nd}d")] = "circular"


def pad(call: Call, p: dict) -> Built:
    """``F.pad``: the builder's 0/1 matrix; a constant ``v`` fills the padding rows,
    ``P x + v (1 - P 1)``."""
    P = call_builder(_padding_builder(), call.in_shape, tuple(int(v) for v in p["pad"]),
                     mode=p["mode"], dtype=call.dtype, max_entries=call.max_entries,
                     optional=("max_entries", "dtype"))
    value = p.get("value") or 0
    offset = None
    if p["mode"] == "constant" and value != 0:
        offset = (value * (1 - P @ np.ones(P.shape[1], call.dtype))).astype(call.dtype)
    return Built([P], offset)


def _pad_module(m, call):
    return dict(pad=m.padding, mode=_PAD_MODES.get(type(m), "constant"),
                value=getattr(m, "value", 0))


# --------------------------------------------------------------------------- dense layers
def linear(call: Call, p: dict) -> Built:
    """``x W^T + b`` on the last axis: ``I_lead (x) W``, every weight stored."""
    W = to_numpy(p["weight"])
    x = call.x
    n_out, n_in = W.shape if W.ndim == 2 else (1, W.shape[0])
    lead = x.numel() // n_in
    nnz = lead * n_out * n_in
    call.budget(f"the matrix of {call.op} {call.name!r}").check(nnz, lead * n_out)
    itype = index_dtype(nnz, x.numel())
    cols = (np.arange(lead, dtype=itype)[:, None, None] * n_in
            + np.arange(n_in, dtype=itype)[None, None, :])
    indices = np.broadcast_to(cols, (lead, n_out, n_in)).reshape(-1)
    data = np.broadcast_to(W.reshape(n_out, n_in), (lead, n_out, n_in)).reshape(-1)
    indptr = np.arange(lead * n_out + 1, dtype=itype) * n_in
    M = make_csr(data.copy(), indices.copy(), indptr, (lead * n_out, x.numel()))
    b = p.get("bias")
    return Built([M], None if b is None else np.tile(flat(b), lead))


def _linear_module(m, call):
    return dict(weight=m.weight, bias=m.bias)


# --------------------------------------------------------------------------- rearranging
def identity(call: Call, p: dict) -> Built:
    if p.get("training"):
        raise ValueError(f"node {call.name!r} ({call.op}) is a dropout with training=True: "
                         f"it is random; call model.eval() (and pass training=self.training)")
    return Built([sparse.eye_array(call.x.numel(), dtype=call.dtype, format="csr")])


def rearrange(call: Call, p: dict) -> Built:
    """A view, reshape, permutation, slice or repeat: each output reads one input."""
    src = index_map(lambda t: call.replay({0: t}), call.x)
    return Built([selection(src, call.x.numel(), call.dtype)])


def concatenate(call: Call, p: dict) -> Built:
    """``torch.cat`` / ``torch.stack``: one block of rows per input; constants are offset."""
    tensors, dim = list(p["tensors"]), p["dim"]
    fn = torch.stack if call.target is torch.stack else torch.cat
    mats = []
    for k, t in enumerate(tensors):  # by position: the same tensor may come twice
        if not call.is_dep(t):
            continue
        parts = [torch.arange(u.numel(), device=u.device).reshape(u.shape) if j == k
                 else torch.full(tuple(u.shape), -1, dtype=torch.int64, device=u.device)
                 for j, u in enumerate(tensors)]
        src = to_numpy(fn(parts, dim=dim)).reshape(-1)
        rows = np.flatnonzero(src >= 0)
        mats.append(selection(src[rows], t.numel(), call.dtype, rows=rows, n_rows=src.size))
    offset = None
    if any(not call.is_dep(t) for t in tensors):
        parts = [torch.zeros_like(u) if call.is_dep(u) else torch.as_tensor(u)
                 for u in tensors]
        offset = flat(fn(parts, dim=dim)).astype(call.dtype)
    return Built(mats, offset)


def reduce(call: Call, p: dict) -> Built:
    """``sum`` / ``mean`` over some sample axes (never the batch axis)."""
    x = call.x
    dims = p["dim"]
    if dims is None or (hasattr(dims, "__len__") and len(dims) == 0):
        raise ValueError(f"node {call.name!r} ({call.op}) reduces over every axis, the batch "
                         f"axis included; give dim= (the sample's axes, 1 and up)")
    dims = {int(d) % x.ndim for d in (dims if hasattr(dims, "__len__") else (dims,))}
    if 0 in dims:
        raise ValueError(f"node {call.name!r} ({call.op}) reduces over the batch axis 0; "
                         f"linearize needs each sample kept apart")
    shape = tuple(x.shape)
    coords = np.unravel_index(np.arange(x.numel()), shape)
    kept = tuple(1 if d in dims else s for d, s in enumerate(shape))
    rows = np.ravel_multi_index(tuple(np.zeros_like(c) if d in dims else c
                                      for d, c in enumerate(coords)), kept)
    M = selection(np.arange(x.numel()), x.numel(), call.dtype, rows=rows,
                  n_rows=math.prod(kept))
    if "mean" in call.op:
        M = M * call.dtype.type(1 / math.prod(shape[d] for d in dims))
    return Built([csr_array(M)])
