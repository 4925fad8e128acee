r"""Elementwise layers of a torch network at one sample, for :mod:`convmat.network`.

An elementwise ``y = f(x)`` is, near ``x``, ``y = diag(f'(x)) x + (f(x) - f'(x) x)``: a
diagonal and an offset, both computed at the value that reached the layer. Piecewise-linear
activations (ReLU, LeakyReLU, PReLU, Hardtanh, ReLU6, Threshold) use closed forms, with
torch's derivative at the kinks (``relu'(0) = 0``) and the constant pieces (Hardtanh's
clipped values) as offset; smooth ones (sigmoid, tanh, GELU, ...) take ``f'`` from torch's
autograd, elementwise. Batch norm in eval mode is affine per channel. Sums with another
branch or a constant, products and quotients broadcast as torch does.
"""

from __future__ import annotations

import numpy as np
import torch

from .network_layers import Built, Call, diagonal, flat, index_map, scale_rows, selection


def _diag_built(call: Call, d, offset=None) -> Built:
    d = flat(d).astype(call.dtype, copy=False)
    return Built([diagonal(d)], None if offset is None else flat(offset).astype(call.dtype))


# --------------------------------------------------------------------------- piecewise linear
def relu(call: Call, p: dict) -> Built:
    return _diag_built(call, call.x > 0)


def leaky_relu(call: Call, p: dict) -> Built:
    x = call.x
    slope = torch.as_tensor(p["negative_slope"], dtype=x.dtype)
    return _diag_built(call, torch.where(x > 0, torch.ones_like(x), slope))


def prelu(call: Call, p: dict) -> Built:
    x, w = call.x, p["weight"].detach().to(call.x.dtype)
    if w.numel() > 1:  # one slope per channel, axis 1
        w = w.reshape((1, -1) + (1,) * (x.ndim - 2))
    return _diag_built(call, torch.where(x > 0, torch.ones_like(x), w.expand_as(x)))


def hardtanh(call: Call, p: dict) -> Built:
    """Slope 1 strictly inside ``(min, max)`` (torch's gradient is 0 at both ends); the
    clipped pieces are constants, which go to the offset."""
    x = call.x
    lo, hi = p["min_val"], p["max_val"]
    inside = (x > lo) & (x < hi)
    offset = torch.where(x <= lo, torch.full_like(x, lo),
                         torch.where(x >= hi, torch.full_like(x, hi), torch.zeros_like(x)))
    return _diag_built(call, inside, offset)


def threshold(call: Call, p: dict) -> Built:
    x = call.x
    above = x > p["threshold"]
    return _diag_built(call, above, torch.where(above, torch.zeros_like(x),
                                                torch.full_like(x, p["value"])))


# --------------------------------------------------------------------------- smooth
def elementwise(call: Call, p: dict) -> Built:
    """Any elementwise ``f``: ``f'`` by torch's autograd, offset ``f(x) - f'(x) x``."""
    x = call.x
    with torch.enable_grad():
        t = x.detach().clone().requires_grad_(True)
        y = call.replay({0: t.clone()})  # a non-leaf copy: in-place variants work too
        if tuple(y.shape) != tuple(x.shape):
            raise ValueError(f"node {call.name!r} ({call.op}) changes the shape "
                             f"{tuple(x.shape)} -> {tuple(y.shape)}: it is not elementwise")
        if y.requires_grad:
            (d,) = torch.autograd.grad(y.sum(), t)
        else:
            d = torch.zeros_like(x)
    return _diag_built(call, d, call.out - d * x)


# --------------------------------------------------------------------------- batch norm
def batch_norm(call: Call, p: dict) -> Built:
    """Eval-mode batch norm is ``alpha x + beta`` per channel, with torch's own terms
    ``alpha = w / sqrt(var + eps)``, ``beta = b - mean alpha``."""
    if p.get("training"):
        raise ValueError(f"node {call.name!r} ({call.op}) normalises with the batch's own "
                         f"statistics (training=True): call model.eval() first")
    mean, var = p["running_mean"], p["running_var"]
    if mean is None or var is None:
        raise ValueError(
            f"node {call.name!r} ({call.op}) has no running statistics "
            f"(track_running_stats=False): it normalises with the batch's own statistics "
            f"even in eval mode, which is not a map of one sample")
    dt = call.x.dtype
    invstd = 1 / torch.sqrt(var.to(dt) + p["eps"])
    alpha = invstd if p["weight"] is None else invstd * p["weight"].to(dt)
    beta = -mean.to(dt) * alpha
    if p["bias"] is not None:
        beta = p["bias"].to(dt) + beta
    shape = (1, -1) + (1,) * (call.x.ndim - 2)
    return _diag_built(call, alpha.reshape(shape).expand_as(call.x),
                       beta.reshape(shape).expand_as(call.x))


def batch_norm_module(m, call) -> dict:
    return dict(running_mean=m.running_mean, running_var=m.running_var, weight=m.weight,
                bias=m.bias, eps=m.eps, training=False)


# --------------------------------------------------------------------------- arithmetic
def _spread(call: Call, t) -> torch.Tensor:
    """A constant or operand broadcast to the output, in the output's dtype."""
    return torch.as_tensor(t, dtype=call.out.dtype).expand_as(call.out)


def _broadcast(call: Call, t: torch.Tensor):
    """The 0/1 matrix that broadcasts operand ``t`` to the output's shape."""
    if tuple(t.shape) == tuple(call.out.shape):
        return diagonal(np.ones(t.numel(), call.dtype))
    src = index_map(lambda i: i.expand(call.out.shape), t)
    return selection(src, t.numel(), call.dtype)


def add(call: Call, p: dict) -> Built:
    """``a + alpha b`` or ``a - alpha b``: signed broadcasts; constants are offset."""
    a, b = p["input"], p["other"]
    sign = -1 if "sub" in call.op else 1
    mats, offset = [], None
    for t, coef in ((a, 1), (b, sign * p.get("alpha", 1))):
        if call.is_dep(t):
            mats.append(_broadcast(call, t) * call.dtype.type(coef))
        else:
            c = coef * _spread(call, t)
            offset = c if offset is None else offset + c
    return Built(mats, None if offset is None else flat(offset).astype(call.dtype))


def mul(call: Call, p: dict) -> Built:
    """``a * b`` and ``a / b``: each operand's broadcast scaled by the partial derivative;
    when both depend on the sample, the offset is ``f(a, b) - f_a a - f_b b`` there."""
    a, b = p["input"], p["other"]
    divide = "div" in call.op
    if divide and p.get("rounding_mode") is not None:
        raise ValueError(f"node {call.name!r} ({call.op}) rounds its quotient "
                         f"(rounding_mode={p['rounding_mode']!r}): not differentiable")
    A, B = _spread(call, a), _spread(call, b)
    partials = (1 / B, -A / (B * B)) if divide else (B, A)
    mats, linear_part = [], torch.zeros_like(call.out)
    for t, T, partial in ((a, A, partials[0]), (b, B, partials[1])):
        if call.is_dep(t):
            mats.append(scale_rows(_broadcast(call, t), flat(partial)))
            linear_part = linear_part + partial * T
    nonlinear = call.is_dep(b) and (divide or call.is_dep(a))
    offset = flat(call.out - linear_part).astype(call.dtype) if nonlinear else None
    return Built(mats, offset)


def neg(call: Call, p: dict) -> Built:
    return _diag_built(call, -torch.ones_like(call.x))
