"""Which torch layers, functions and tensor methods :mod:`convmat.network` reads, and how.

Three tables map a module type, a function (as ``torch.fx`` records it) or a tensor method
name to a :class:`~convmat.network_layers.Rule`: the handler that builds its matrices and
how its parameters are named. Calls whose arguments do not depend on the sample are simply
run; calls that only ask for a tensor's shape (``x.size(0)``, ``x.shape``) are constants.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from . import network_layers as L
from . import network_pointwise as P
from .network_layers import Rule, by_module, by_sig

MODULES: dict[type, Rule] = {}
FUNCTIONS: dict[object, Rule] = {}
METHODS: dict[str, Rule] = {}
# Calls that read only a tensor's metadata, never its values: their results are constants.
METADATA_METHODS = {"size", "dim", "numel", "ndimension", "nelement", "element_size",
                    "get_device", "is_contiguous", "is_floating_point"}
METADATA_ATTRIBUTES = {"shape", "ndim", "dtype", "device", "is_cuda", "layout",
                       "requires_grad"}


def _add(rule: Rule, modules=(), functions=(), methods=()):
    for m in modules:
        MODULES[m] = rule
    for f in functions:
        FUNCTIONS[f] = rule
    for name in methods:
        METHODS[name] = rule


def _torch(*names):
    """Functions of ``torch`` / ``torch.nn.functional`` that exist in this version."""
    out = []
    for name in names:
        where, _, attr = name.rpartition(".")
        obj = {"F": F, "torch": torch, "": F}[where]
        if hasattr(obj, attr):
            out.append(getattr(obj, attr))
    return out


def _nd(template: str, ns=nn):
    return [getattr(ns, template.format(n)) for n in (1, 2, 3) if hasattr(ns, template.format(n))]


# --------------------------------------------------------------------------- linear layers
_CONV = ("input", "weight", ("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1),
         ("groups", 1))
_add(Rule(L.conv, by_module(L._conv_module)), _nd("Conv{}d"))
_add(Rule(L.conv, by_sig(*_CONV)), functions=_nd("conv{}d", F))

_CONVT = ("input", "weight", ("bias", None), ("stride", 1), ("padding", 0),
          ("output_padding", 0), ("groups", 1), ("dilation", 1))
_add(Rule(L.conv_transpose, by_module(L._conv_transpose_module)), _nd("ConvTranspose{}d"))
_add(Rule(L.conv_transpose, by_sig(*_CONVT, output_size=None)),
     functions=_nd("conv_transpose{}d", F))

_AVG = ("input", "kernel_size", ("stride", None), ("padding", 0), ("ceil_mode", False),
        ("count_include_pad", True), ("divisor_override", None))
_add(Rule(L.avg_pool, by_module(L._avg_pool_module)), _nd("AvgPool{}d"))
_add(Rule(L.avg_pool, by_sig(*_AVG)), functions=_nd("avg_pool{}d", F))

_MAX = ("input", "kernel_size", ("stride", None), ("padding", 0), ("dilation", 1),
        ("ceil_mode", False), ("return_indices", False))
_add(Rule(L.max_pool, by_module(L._max_pool_module)), _nd("MaxPool{}d"))
_add(Rule(L.max_pool, by_sig(*_MAX)), functions=[
    f for n in (1, 2, 3) for f in _torch(f"F.max_pool{n}d", f"F.max_pool{n}d_with_indices",
                                         f"F._max_pool{n}d", f"torch.max_pool{n}d")])

_UNPOOL = ("input", "indices", "kernel_size", ("stride", None), ("padding", 0),
           ("output_size", None))
_add(Rule(L.max_unpool, by_module(L._max_unpool_module)), _nd("MaxUnpool{}d"))
_add(Rule(L.max_unpool, by_sig(*_UNPOOL)), functions=_nd("max_unpool{}d", F))

_add(Rule(L.adaptive_avg_pool, by_module(L._output_size_module)), _nd("AdaptiveAvgPool{}d"))
_add(Rule(L.adaptive_avg_pool, by_sig("input", "output_size")),
     functions=_nd("adaptive_avg_pool{}d", F))
_add(Rule(L.adaptive_max_pool, by_module(L._output_size_module)), _nd("AdaptiveMaxPool{}d"))
_add(Rule(L.adaptive_max_pool, by_sig("input", "output_size", ("return_indices", False))),
     functions=[f for n in (1, 2, 3) for f in _torch(
         f"F.adaptive_max_pool{n}d", f"F.adaptive_max_pool{n}d_with_indices",
         f"F._adaptive_max_pool{n}d")])

_INTERP = ("input", ("size", None), ("scale_factor", None), ("mode", "nearest"),
           ("align_corners", None), ("recompute_scale_factor", None), ("antialias", False))
_add(Rule(L.interpolate, by_module(L._upsample_module)),
     [nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d])
_add(Rule(L.interpolate, by_sig(*_INTERP)), functions=_torch("F.interpolate", "F.upsample"))
_add(Rule(L.interpolate, by_sig("input", ("size", None), ("scale_factor", None),
                                mode="nearest", align_corners=None,
                                recompute_scale_factor=None)),
     functions=_torch("F.upsample_nearest"))
_add(Rule(L.interpolate, by_sig("input", ("size", None), ("scale_factor", None),
                                mode="bilinear", align_corners=True,
                                recompute_scale_factor=None)),
     functions=_torch("F.upsample_bilinear"))

_add(Rule(L.shuffle, by_module(lambda m, c: dict(upscale_factor=m.upscale_factor))),
     [nn.PixelShuffle])
_add(Rule(L.shuffle, by_module(lambda m, c: dict(downscale_factor=m.downscale_factor))),
     [nn.PixelUnshuffle])
_add(Rule(L.shuffle, by_sig("input", "upscale_factor")),
     functions=_torch("F.pixel_shuffle", "torch.pixel_shuffle"))
_add(Rule(L.shuffle, by_sig("input", "downscale_factor")),
     functions=_torch("F.pixel_unshuffle", "torch.pixel_unshuffle"))

_add(Rule(L.pad, by_module(L._pad_module)),
     [*_nd("ZeroPad{}d"), *_nd("ConstantPad{}d"), *_nd("ReflectionPad{}d"),
      *_nd("ReplicationPad{}d"), *_nd("CircularPad{}d")])
_add(Rule(L.pad, by_sig("input", "pad", ("mode", "constant"), ("value", None))),
     functions=_torch("F.pad"))

_add(Rule(L.linear, by_module(L._linear_module)), [nn.Linear])
_add(Rule(L.linear, by_sig("input", "weight", ("bias", None))), functions=_torch("F.linear"))

# --------------------------------------------------------------------------- rearranging
_DROPOUTS = [nn.Dropout, *_nd("Dropout{}d"), nn.AlphaDropout, nn.FeatureAlphaDropout]
_add(Rule(L.identity, by_module(lambda m, c: {})), [nn.Identity, *_DROPOUTS])
_add(Rule(L.identity, by_sig("input", ("p", 0.5), ("training", True), ("inplace", False))),
     functions=_torch("F.dropout", "F.dropout1d", "F.dropout2d", "F.dropout3d",
                      "F.alpha_dropout", "F.feature_alpha_dropout"))
_add(Rule(L.identity, lambda call: {}), methods=["contiguous", "clone", "float", "double", "to"])
_REARRANGE = Rule(L.rearrange, lambda call: {})
_add(_REARRANGE, [nn.Flatten, nn.Unflatten],
     _torch("torch.flatten", "torch.reshape", "torch.squeeze", "torch.unsqueeze",
            "torch.permute", "torch.transpose", "torch.swapaxes", "torch.movedim",
            "torch.narrow", "torch.unflatten", "torch.tile") + [operator.getitem],
     ["view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute",
      "transpose", "swapaxes", "movedim", "narrow", "expand", "expand_as", "repeat",
      "view_as", "reshape_as", "tile", "__getitem__"])
_add(Rule(L.concatenate, by_sig("tensors", ("dim", 0)), single_input=False),
     functions=_torch("torch.cat", "torch.concat", "torch.concatenate", "torch.stack"))
_REDUCE = ("input", ("dim", None), ("keepdim", False), ("dtype", None))
_add(Rule(L.reduce, by_sig(*_REDUCE)), functions=_torch("torch.sum", "torch.mean"),
     methods=["sum", "mean"])

# --------------------------------------------------------------------------- pointwise
_add(Rule(P.relu, lambda call: {}), [nn.ReLU],
     _torch("F.relu", "torch.relu", "F.relu_", "torch.relu_"), ["relu", "relu_"])
_add(Rule(P.leaky_relu, by_module(lambda m, c: dict(negative_slope=m.negative_slope))),
     [nn.LeakyReLU])
_add(Rule(P.leaky_relu, by_sig("input", ("negative_slope", 0.01), ("inplace", False))),
     functions=_torch("F.leaky_relu", "F.leaky_relu_"))
_add(Rule(P.prelu, by_module(lambda m, c: dict(weight=m.weight))), [nn.PReLU])
_add(Rule(P.prelu, by_sig("input", "weight")), functions=_torch("F.prelu", "torch.prelu"))
_add(Rule(P.hardtanh, by_module(lambda m, c: dict(min_val=m.min_val, max_val=m.max_val))),
     [nn.Hardtanh, nn.ReLU6])
_add(Rule(P.hardtanh, by_sig("input", ("min_val", -1.0), ("max_val", 1.0), ("inplace", False))),
     functions=_torch("F.hardtanh", "F.hardtanh_"))
_add(Rule(P.hardtanh, by_sig("input", ("inplace", False), min_val=0.0, max_val=6.0)),
     functions=_torch("F.relu6"))
_add(Rule(P.threshold, by_module(lambda m, c: dict(threshold=m.threshold, value=m.value))),
     [nn.Threshold])
_add(Rule(P.threshold, by_sig("input", "threshold", "value", ("inplace", False))),
     functions=_torch("F.threshold", "F.threshold_"))
_SMOOTH = ["Sigmoid", "Tanh", "GELU", "SiLU", "ELU", "CELU", "SELU", "Softplus", "Mish",
           "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "Softshrink",
           "Hardshrink"]
_SMOOTH_FN = ["sigmoid", "tanh", "gelu", "silu", "elu", "celu", "selu", "softplus", "mish",
              "hardsigmoid", "hardswish", "logsigmoid", "softsign", "tanhshrink", "softshrink",
              "hardshrink", "elu_", "celu_", "selu_"]
_SMOOTH_TORCH = ["sigmoid", "tanh", "exp", "sin", "cos", "abs", "square", "clamp", "clip",
                 "sigmoid_", "tanh_", "exp_", "clamp_", "pow"]
_add(Rule(P.elementwise, lambda call: {}), [getattr(nn, n) for n in _SMOOTH],
     _torch(*(f"F.{n}" for n in _SMOOTH_FN), *(f"torch.{n}" for n in _SMOOTH_TORCH))
     + [operator.pow],
     _SMOOTH_TORCH + ["clamp_min", "clamp_max", "clip_", "abs_", "sin_", "cos_", "square_"])
_add(Rule(P.batch_norm, by_module(P.batch_norm_module)), _nd("BatchNorm{}d"))
_add(Rule(P.batch_norm, by_sig("input", "running_mean", "running_var", ("weight", None),
                               ("bias", None), ("training", False), ("momentum", 0.1),
                               ("eps", 1e-5))), functions=_torch("F.batch_norm"))

# --------------------------------------------------------------------------- arithmetic
_BINARY = ("input", "other", ("alpha", 1))
_add(Rule(P.add, by_sig(*_BINARY), single_input=False),
     functions=[operator.add, operator.iadd, operator.sub, operator.isub, torch.add, torch.sub],
     methods=["add", "add_", "sub", "sub_", "__add__", "__radd__", "__sub__"])
_PRODUCT = ("input", "other", ("rounding_mode", None))
_add(Rule(P.mul, by_sig(*_PRODUCT), single_input=False),
     functions=[operator.mul, operator.imul, operator.truediv, operator.itruediv, torch.mul,
                torch.div, *_torch("torch.multiply", "torch.divide")],
     methods=["mul", "mul_", "div", "div_", "multiply", "divide", "__mul__", "__rmul__",
              "__truediv__"])
_add(Rule(P.neg, lambda call: {}), functions=[operator.neg, torch.neg], methods=["neg"])


def supported() -> str:
    """The supported modules, functions and methods, for error messages."""
    mods = sorted({m.__name__ for m in MODULES})
    funcs = sorted({getattr(f, "__name__", str(f)) for f in FUNCTIONS})
    return (f"modules {', '.join(mods)}; functions {', '.join(funcs)}; tensor methods "
            f"{', '.join(sorted(METHODS))}")
