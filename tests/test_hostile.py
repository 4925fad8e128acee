"""Hostile input never gets a raw traceback.

For every public function of ``convmat.__all__``, ``convmat.testing`` and ``convmat.plot``,
the public operators and the CLI: one argument at a time of a valid base call is replaced
by a hostile value (wrong types, bools, numpy scalars, 0-d arrays, torch tensors with
``requires_grad``, 0, negatives, 2**63, 10**200, 1e300, nan, inf, empty and zero-size
shapes, mismatched lengths). What may come out is a ``ValueError``/``TypeError`` whose
message names the argument, or a result; a value that *means* the valid one (a numpy
integer for an int, a tensor or a list for an array) must give the valid call's result.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import matplotlib
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator

import convmat
import convmat.plot as cplot
import convmat.testing as ctesting

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

try:
    import torch
except ImportError:  # the hostile tensors are skipped, the rest still runs
    torch = None

W1 = np.arange(1.0, 4.0).reshape(1, 1, 3)  # a 3-tap filter
W2 = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
X1 = np.array([[3.0, 1.0, 4.0, 1.0, 5.0, 9.0]])
M1 = convmat.conv_matrix(W1, (1, 5))


def _taps():
    return convmat.conv_taps(W1, (1, 5))


# ------------------------------------------------------------------- the hostile values
def hostile_values():
    """(label, value) pairs tried on every attacked argument."""
    values = [
        ("None", None), ("str", "3"), ("empty str", ""), ("True", True), ("False", False),
        ("np.True_", np.True_), ("float", 1.5), ("whole float", 2.0), ("complex", 1 + 2j),
        ("nested list", [[1, 2], [3]]), ("np.float64", np.float64(2.0)),
        ("0-d array", np.array(2)), ("0", 0), ("-1", -1), ("2**63", 2**63),
        ("-2**63-1", -(2**63) - 1), ("10**200", 10**200), ("1e300", 1e300),
        ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("()", ()),
        ("(0,)", (0,)), ("(0, 0)", (0, 0)), ("(1, 0, 4)", (1, 0, 4)),
        ("6-tuple", (1, 2, 3, 4, 5, 6)), ("(2**63,)", (2**63, 2**63)),
        ("(10**200, 10**200)", (1, 10**200, 10**200)), ("(nan,)", (math.nan, 1.0)),
        ("big shape", (1, 10**9, 10**9)), ("mid shape", (1, 10**5, 10**5)),
        ("empty array", np.zeros((0,))), ("zero-size", np.zeros((1, 0))),
        ("bool array", np.ones((1, 3), bool)), ("object", object()),
        ("dict", {"a": 1}), ("np.int64(-1)", np.int64(-1)),
        ("str array", np.array(["a", "b"])),
    ]
    if torch is not None:
        values += [
            ("tensor 0-d", torch.tensor(2)),
            ("tensor grad", torch.ones(3, requires_grad=True)),
            ("tensor 2-d grad", torch.ones(1, 4, requires_grad=True)),
            ("tensor nan", torch.tensor([math.nan, 1.0])),
        ]
    return values


HOSTILE = hostile_values()


def equivalents(value):
    """Values meaning the same as the valid ``value``: numpy ints for ints, tensors
    (``requires_grad=True``) and lists for float arrays."""
    out = []
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out += [("np.int64", np.int64(value)), ("np.int32", np.int32(value))]
    elif isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
        out += [("tuple of np.int64", tuple(np.int64(v) for v in value)),
                ("list", list(value))]
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
        out.append(("nested list", value.tolist()))
        if torch is not None:
            t = torch.tensor(value, requires_grad=True)
            out.append(("tensor requires_grad", t))
    return out


# ------------------------------------------------------------------- the table
# name -> (callable, valid base kwargs, arguments to attack, aliases the message may use)
SHAPE_ARGS = dict(stride=1, padding=0, dilation=1, groups=1)


def _conv(**extra):
    return dict(weight=W1, input_shape=(1, 5), **extra)


TABLE = {
    # convolution
    "conv_matrix": (convmat.conv_matrix, _conv(max_entries=None),
                    ["weight", "input_shape", "stride", "padding", "dilation", "groups",
                     "padding_mode", "max_entries"]),
    "conv_taps": (convmat.conv_taps, _conv(),
                  ["weight", "input_shape", "stride", "padding", "dilation", "groups",
                   "padding_mode", "max_entries"]),
    "conv_output_shape": (convmat.conv_output_shape, _conv(),
                          ["weight", "input_shape", "stride", "padding", "dilation",
                           "groups", "padding_mode"]),
    "conv_transpose_matrix": (convmat.conv_transpose_matrix, _conv(stride=2),
                              ["weight", "input_shape", "stride", "padding",
                               "output_padding", "dilation", "groups", "output_size",
                               "max_entries"]),
    "conv_transpose_taps": (convmat.conv_transpose_taps, _conv(stride=2),
                            ["weight", "input_shape", "stride", "padding", "output_padding",
                             "dilation", "groups", "output_size", "max_entries"]),
    "conv_transpose_output_shape": (convmat.conv_transpose_output_shape, _conv(stride=2),
                                    ["weight", "input_shape", "stride", "padding",
                                     "output_padding", "dilation", "groups",
                                     "output_size"]),
    "conv_operator": (convmat.conv_operator, _conv(),
                      ["weight", "input_shape", "stride", "padding", "dilation", "groups",
                       "padding_mode"]),
    "conv_transpose_operator": (convmat.conv_transpose_operator, _conv(stride=2),
                                ["weight", "input_shape", "stride", "padding",
                                 "output_padding", "dilation", "groups", "output_size"]),
    "conv_operator_norm": (convmat.conv_operator_norm, _conv(),
                           ["weight", "input_shape", "stride", "padding", "method", "tol"]),
    "conv_singular_values": (convmat.conv_singular_values, _conv(),
                             ["weight", "input_shape", "stride", "padding", "method"]),
    # the weight map and unfolding
    "conv_weight_matrix": (convmat.conv_weight_matrix, dict(x=X1, weight_shape=(1, 1, 3)),
                           ["x", "weight_shape", "stride", "padding", "groups",
                            "padding_mode", "max_entries"]),
    "conv_weight_operator": (convmat.conv_weight_operator,
                             dict(x=X1, weight_shape=(1, 1, 3)),
                             ["x", "weight_shape", "stride", "padding", "groups"]),
    "conv_weight_output_shape": (convmat.conv_weight_output_shape,
                                 dict(x=(1, 6), weight_shape=(1, 1, 3)),
                                 ["x", "weight_shape", "stride", "dilation"]),
    "unfold_matrix": (convmat.unfold_matrix, dict(input_shape=(1, 4, 4), kernel_size=2),
                      ["input_shape", "kernel_size", "dilation", "padding", "stride", "dtype",
                       "max_entries"]),
    "unfold_operator": (convmat.unfold_operator, dict(input_shape=(1, 4, 4), kernel_size=2),
                        ["input_shape", "kernel_size", "dilation", "padding", "stride",
                         "dtype"]),
    "unfold_output_shape": (convmat.unfold_output_shape,
                            dict(input_shape=(1, 4, 4), kernel_size=2),
                            ["input_shape", "kernel_size", "dilation", "padding", "stride"]),
    "fold_matrix": (convmat.fold_matrix,
                    dict(input_shape=(4, 4), output_size=(4, 4), kernel_size=2, stride=2),
                    ["input_shape", "output_size", "kernel_size", "dilation", "padding",
                     "stride", "dtype", "max_entries"]),
    "fold_operator": (convmat.fold_operator,
                      dict(input_shape=(4, 4), output_size=(4, 4), kernel_size=2, stride=2),
                      ["input_shape", "output_size", "kernel_size", "stride", "dtype"]),
    "fold_output_shape": (convmat.fold_output_shape,
                          dict(input_shape=(4, 4), output_size=(4, 4), kernel_size=2,
                               stride=2),
                          ["input_shape", "output_size", "kernel_size", "stride"]),
    # pooling
    "avg_pool_matrix": (convmat.avg_pool_matrix, dict(input_shape=(1, 4), kernel_size=2),
                        ["input_shape", "kernel_size", "stride", "padding", "ceil_mode",
                         "count_include_pad", "divisor_override", "max_entries"]),
    "avg_pool_operator": (convmat.avg_pool_operator, dict(input_shape=(1, 4), kernel_size=2),
                          ["input_shape", "kernel_size", "stride", "padding", "ceil_mode",
                           "count_include_pad", "divisor_override"]),
    "avg_pool_output_shape": (convmat.avg_pool_output_shape,
                              dict(input_shape=(1, 4), kernel_size=2),
                              ["input_shape", "kernel_size", "stride", "divisor_override"]),
    "pool_output_shape": (convmat.pool_output_shape, dict(input_shape=(1, 4), kernel_size=2),
                          ["input_shape", "kernel_size", "stride", "padding", "dilation",
                           "ceil_mode"]),
    "max_pool_selection": (convmat.max_pool_selection, dict(x=X1, kernel_size=2),
                           ["x", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                            "max_entries"]),
    "max_pool_operator": (convmat.max_pool_operator, dict(x=X1, kernel_size=2),
                          ["x", "kernel_size", "stride", "padding", "dilation",
                           "ceil_mode"]),
    "adaptive_avg_pool_matrix": (convmat.adaptive_avg_pool_matrix,
                                 dict(input_shape=(1, 6), output_size=4),
                                 ["input_shape", "output_size", "dtype", "max_entries"]),
    "adaptive_avg_pool_operator": (convmat.adaptive_avg_pool_operator,
                                   dict(input_shape=(1, 6), output_size=4),
                                   ["input_shape", "output_size", "dtype"]),
    "adaptive_max_pool_selection": (convmat.adaptive_max_pool_selection,
                                    dict(x=X1, output_size=4),
                                    ["x", "output_size", "max_entries"]),
    "adaptive_max_pool_operator": (convmat.adaptive_max_pool_operator,
                                   dict(x=X1, output_size=4), ["x", "output_size"]),
    "adaptive_pool_output_shape": (convmat.adaptive_pool_output_shape,
                                   dict(input_shape=(1, 6), output_size=4),
                                   ["input_shape", "output_size"]),
    # unpooling
    "max_unpool_matrix": (convmat.max_unpool_matrix,
                          dict(indices=np.array([[1, 3]]), kernel_size=2),
                          ["indices", "kernel_size", "stride", "padding", "output_size",
                           "max_entries"]),
    "max_unpool_operator": (convmat.max_unpool_operator,
                            dict(indices=np.array([[1, 3]]), kernel_size=2),
                            ["indices", "kernel_size", "stride", "padding", "output_size"]),
    "max_unpool_output_shape": (convmat.max_unpool_output_shape,
                                dict(indices=np.array([[1, 3]]), kernel_size=2),
                                ["indices", "kernel_size", "stride", "output_size"]),
    "bed_of_nails_matrix": (convmat.bed_of_nails_matrix,
                            dict(input_shape=(1, 2), scale_factor=2),
                            ["input_shape", "scale_factor", "offset", "max_entries"]),
    "bed_of_nails_operator": (convmat.bed_of_nails_operator,
                              dict(input_shape=(1, 2), scale_factor=2),
                              ["input_shape", "scale_factor", "offset"]),
    "bed_of_nails_output_shape": (convmat.bed_of_nails_output_shape,
                                  dict(input_shape=(1, 2), scale_factor=2),
                                  ["input_shape", "scale_factor", "offset"]),
    "pixel_shuffle_matrix": (convmat.pixel_shuffle_matrix,
                             dict(input_shape=(4, 2, 2), upscale_factor=2),
                             ["input_shape", "upscale_factor", "max_entries"]),
    "pixel_shuffle_operator": (convmat.pixel_shuffle_operator,
                               dict(input_shape=(4, 2, 2), upscale_factor=2),
                               ["input_shape", "upscale_factor"]),
    "pixel_shuffle_output_shape": (convmat.pixel_shuffle_output_shape,
                                   dict(input_shape=(4, 2, 2), upscale_factor=2),
                                   ["input_shape", "upscale_factor"]),
    "pixel_unshuffle_matrix": (convmat.pixel_unshuffle_matrix,
                               dict(input_shape=(1, 4, 4), downscale_factor=2),
                               ["input_shape", "downscale_factor", "max_entries"]),
    "pixel_unshuffle_operator": (convmat.pixel_unshuffle_operator,
                                 dict(input_shape=(1, 4, 4), downscale_factor=2),
                                 ["input_shape", "downscale_factor"]),
    "pixel_unshuffle_output_shape": (convmat.pixel_unshuffle_output_shape,
                                     dict(input_shape=(1, 4, 4), downscale_factor=2),
                                     ["input_shape", "downscale_factor"]),
    # resampling
    "interpolate_matrix": (convmat.interpolate_matrix,
                           dict(input_shape=(1, 4), scale_factor=2, mode="linear"),
                           ["input_shape", "scale_factor", "mode", "align_corners",
                            "recompute_scale_factor", "antialias", "dtype", "max_entries"]),
    "interpolate_matrix(size)": (convmat.interpolate_matrix,
                                 dict(input_shape=(1, 4), size=8), ["size"]),
    "interpolate_operator": (convmat.interpolate_operator,
                             dict(input_shape=(1, 4), scale_factor=2, mode="linear"),
                             ["input_shape", "scale_factor", "mode", "align_corners",
                              "antialias", "dtype"]),
    "interpolate_operator(size)": (convmat.interpolate_operator,
                                   dict(input_shape=(1, 4), size=8), ["size"]),
    "interpolate_output_shape": (convmat.interpolate_output_shape,
                                 dict(input_shape=(1, 4), scale_factor=2),
                                 ["input_shape", "scale_factor", "mode"]),
    "pad_matrix": (convmat.pad_matrix, dict(input_shape=(1, 4), pad=(1, 2)),
                   ["input_shape", "pad", "mode", "dtype", "max_entries"]),
    "pad_operator": (convmat.pad_operator, dict(input_shape=(1, 4), pad=(1, 2)),
                     ["input_shape", "pad", "mode", "dtype"]),
    "pad_output_shape": (convmat.pad_output_shape, dict(input_shape=(1, 4), pad=(1, 2)),
                         ["input_shape", "pad", "mode"]),
    "affine_grid": (convmat.affine_grid, dict(theta=np.eye(2, 3), size=(1, 3, 3)),
                    ["theta", "size", "align_corners", "max_entries"]),
    "grid_sample_matrix": (convmat.grid_sample_matrix,
                           dict(input_shape=(1, 4, 4),
                                grid=convmat.affine_grid(np.eye(2, 3), (1, 3, 3))),
                           ["input_shape", "grid", "mode", "padding_mode", "align_corners",
                            "max_entries"]),
    "grid_sample_operator": (convmat.grid_sample_operator,
                             dict(input_shape=(1, 4, 4),
                                  grid=convmat.affine_grid(np.eye(2, 3), (1, 3, 3))),
                             ["input_shape", "grid", "mode", "padding_mode",
                              "align_corners"]),
    "grid_sample_output_shape": (convmat.grid_sample_output_shape,
                                 dict(input_shape=(1, 4, 4),
                                      grid=convmat.affine_grid(np.eye(2, 3), (1, 3, 3))),
                                 ["input_shape", "grid", "mode"]),
    # the limit
    "set_max_entries": (convmat.set_max_entries, dict(limit=10**7), ["limit"]),
    # convmat.testing
    "testing.dottest": (ctesting.dottest, dict(forward=M1),
                        ["forward", "adjoint", "in_shape", "dtype", "trials", "rng"]),
    "testing.assert_adjoint": (ctesting.assert_adjoint, dict(forward=M1),
                               ["forward", "adjoint", "in_shape", "dtype", "trials", "rtol"]),
    "testing.materialize": (ctesting.materialize, dict(f=lambda v: M1 @ v, in_shape=(5,)),
                            ["f", "in_shape", "out_shape", "dtype", "pattern"]),
    "testing.adjoint_mismatch": (getattr(ctesting, "adjoint_mismatch", ctesting.dottest),
                                 dict(forward=M1),
                                 ["forward", "adjoint", "in_shape", "dtype",
                                  "max_entries"]),
    "testing.colour_columns": (ctesting.colour_columns, dict(pattern=M1),
                               ["pattern", "in_shape"]),
    "testing.default_rtol": (ctesting.default_rtol, dict(dtype=np.float64), ["dtype"]),
    # convmat.plot
    "plot.coverage": (cplot.coverage,
                      dict(weight_or_kernel=3, input_shape=(1, 4), stride=2),
                      ["weight_or_kernel", "input_shape", "stride", "padding", "dilation",
                       "output_padding"]),
    "plot.plot_coverage": (cplot.plot_coverage,
                           dict(weight_or_kernel=3, input_shape=(1, 4), stride=2),
                           ["weight_or_kernel", "input_shape", "stride", "padding"]),
    "plot.plot_sparsity": (cplot.plot_sparsity, dict(A=M1), ["A", "in_shape", "out_shape"]),
    "plot.plot_taps": (cplot.plot_taps, dict(taps=_taps()),
                       ["taps", "names", "in_shape", "out_shape"]),
    "plot.plot_stride_comparison": (cplot.plot_stride_comparison,
                                    dict(weight=W1, input_shape=(1, 5)),
                                    ["weight", "input_shape", "strides", "padding"]),
    "plot.plot_transpose_pair": (cplot.plot_transpose_pair,
                                 dict(weight=W1, input_shape=(1, 5)),
                                 ["weight", "input_shape", "stride", "padding", "groups"]),
    "plot.plot_before_after": (cplot.plot_before_after,
                               dict(before=np.arange(4.0), after=np.arange(8.0)),
                               ["before", "after"]),
}
for _name, _row in {  # being written by the figures work: a row once they exist
    "plot_conv_transpose_stamps": (dict(weight_or_kernel=np.array([1.0, 2.0, 3.0]),
                                        x=np.array([1.0, 2.0]), stride=2),
                                   ["weight_or_kernel", "x", "stride", "padding"]),
    "plot_conv_windows": (dict(weight_or_kernel=np.array([1.0, 2.0, 3.0]),
                               x=np.array([1.0, 2.0, 3.0, 4.0]), padding=1),
                          ["weight_or_kernel", "x", "stride", "padding"]),
    "plot_max_unpooling": (dict(y=np.array([5.0, 7.0]), indices=np.array([1, 2]),
                                kernel_size=2),
                           ["y", "indices", "kernel_size", "stride"]),
}.items():
    if hasattr(cplot, _name):
        TABLE["plot." + _name] = (getattr(cplot, _name), *_row)

import convmat.animation as canimation  # noqa: E402
import convmat.explore as cexplore  # noqa: E402
import convmat.figures as cfigures  # noqa: E402

TABLE.update({
    "animation.animate_conv": (canimation.animate_conv,
                               dict(weight_or_kernel=3, input_shape=(1, 5), stride=2),
                               ["weight_or_kernel", "input_shape", "stride", "padding",
                                "dilation", "transpose", "output_padding", "x", "names",
                                "interval", "cell"]),
    "animation.animate": (canimation.animate, dict(op="conv", input=(5,), kernel=(3,)),
                          ["op", "input", "kernel", "stride", "padding", "dilation",
                           "output_padding", "transpose", "weight", "values", "names",
                           "channels", "out_channels", "groups", "interval"]),
    "animation.save_animation": (canimation.save_animation,
                                 dict(anim=canimation.animate_conv(3, (1, 4)), path="a.gif"),
                                 ["anim", "path", "fps", "dpi"]),
    "explore.explore": (cexplore.explore, dict(op="conv"), ["op"]),
    "explore.build": (cexplore.build,
                      dict(op="conv", ndim=1, size=5, kernel=3, stride=1, padding=0,
                           dilation=1, output_padding=0),
                      ["op", "ndim", "size", "kernel", "stride", "padding", "dilation",
                       "output_padding"]),
    "figures.render_figures": (cfigures.render_figures, dict(out="figs"), ["out", "dpi"]),
})

_TAPS = _taps()
TABLE.update({  # the public methods: the tap structure's (a 3-tap filter over 5 inputs)
    "TapPattern.matrix": (lambda weight: _TAPS.matrix(weight), dict(weight=W1), ["weight"]),
    "TapPattern.basis": (lambda tap: _TAPS.basis(tap), dict(tap=1), ["tap"]),
    "TapPattern.tap_labels": (lambda names=None: _TAPS.tap_labels(names), dict(names="xyz"),
                              ["names"]),
    "TapPattern.weight_gradient": (
        lambda grad_output, x: _TAPS.weight_gradient(grad_output, x),
        dict(grad_output=np.ones((1, 3)), x=np.arange(5.0).reshape(1, 5)),
        ["grad_output", "x"]),
    "AdjointMismatch.plot": (lambda ax=None: ctesting.adjoint_mismatch(M1).plot(ax=ax),
                             dict(), ["ax"]),
})

if torch is not None:
    import convmat.network as cnetwork  # noqa: E402

    _MODEL = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3), torch.nn.ReLU()).double().eval()
    TABLE.update({
        "network.linearize": (cnetwork.linearize, dict(model=_MODEL, x=X1),
                              ["model", "x", "max_entries"]),
        "network.receptive_field": (cnetwork.receptive_field,
                                    dict(model=_MODEL, input_shape=(1, 6)),
                                    ["model", "input_shape", "output_index", "max_entries"]),
        "network.effective_receptive_field": (cnetwork.effective_receptive_field,
                                              dict(model=_MODEL, x=X1, output_index=(0, 1)),
                                              ["model", "x", "output_index"]),
        "network.plot_receptive_field": (cnetwork.plot_receptive_field,
                                         dict(model=_MODEL, x=X1, output_index=(0, 1)),
                                         ["model", "x", "output_index"]),
        "network.plot_effective_receptive_field": (
            cnetwork.plot_effective_receptive_field,
            dict(model=_MODEL, x=X1, output_index=(0, 1)), ["model", "x", "output_index"]),
        "network.Linearization.matrix": (
            lambda max_entries=None: cnetwork.linearize(_MODEL, X1).matrix(max_entries),
            dict(), ["max_entries"]),
    })


# A figure takes many small options (titles, flags, names, an Axes): attack them all.
for _name, (_func, _base, _args) in list(TABLE.items()):
    if _name.split(".")[-1].startswith("plot_"):
        _all = [p for p in inspect.signature(_func).parameters if p not in _args]
        TABLE[_name] = (_func, _base, _args + _all)


# pixel (un)shuffle repeat torch's messages word for word, which call the argument "input"
ALIASES = {("pixel", "input_shape"): "input"}

# The public operators: their application to a hostile vector.
OPERATORS = {
    "ConvOperator": lambda: convmat.conv_operator(W1, (1, 5)),
    "ConvOperator (transpose)": lambda: convmat.conv_transpose_operator(W1, (1, 5)),
    "IndexOperator": lambda: convmat.max_pool_operator(X1, 2),
    "SeparableOperator": lambda: convmat.avg_pool_operator((1, 4), 2),
    "PadOperator": lambda: convmat.pad_operator((1, 4), (1, 2)),
    "UnfoldOperator": lambda: convmat.unfold_operator((1, 4, 4), 2),
    "ConvWeightOperator": lambda: convmat.conv_weight_operator(X1, (1, 1, 3)),
    "GridSampleOperator": lambda: convmat.grid_sample_operator(
        (1, 4, 4), convmat.affine_grid(np.eye(2, 3), (1, 3, 3))),
}


def test_table_covers_the_public_api():
    """Every public function has a row (classes are covered through their operators)."""
    named = {n.split("(")[0] for n in TABLE}
    for name in convmat.__all__:
        obj = getattr(convmat, name)
        if isinstance(obj, type) or name == "get_max_entries":
            continue
        assert name in named, f"convmat.{name} has no row in TABLE"
    for module, prefix in ((ctesting, "testing."), (cplot, "plot.")):
        for name in getattr(module, "__all__", ()):
            if callable(getattr(module, name)) and not isinstance(getattr(module, name),
                                                                  type):
                assert prefix + name in named, f"{prefix}{name} has no row in TABLE"


# ------------------------------------------------------------------- the verdict
@pytest.fixture(autouse=True)
def _restore_limit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what the figure and animation writers write stays here
    previous = convmat.get_max_entries()
    yield
    convmat.set_max_entries(previous)
    plt.close("all")


def _same(a, b) -> bool:
    if sp.issparse(a) and sp.issparse(b):
        return a.shape == b.shape and abs(a - b).sum() == 0
    if isinstance(a, LinearOperator) and isinstance(b, LinearOperator):
        eye = np.eye(a.shape[1])
        return a.shape == b.shape and np.array_equal(a @ eye, b @ eye)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-12
    if type(a).__name__ == "Linearization" and type(b) is type(a):  # its map and offset
        return _same(a.matrix(), b.matrix()) and _same(a.offset, b.offset)
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a))
    if type(a).__module__.startswith("matplotlib") or a is None:
        return True
    try:
        return a == b
    except Exception:  # noqa: BLE001 - not comparable: the type is all we know
        return type(a) is type(b)


def attack(name: str, arg: str, value):
    """Call row ``name`` with ``arg=value``; ``None`` when handled well, else a verdict."""
    func, base, _ = TABLE[name]
    kwargs = dict(base, **{arg: value})
    try:
        func(**kwargs)
    except (ValueError, TypeError) as err:
        message = str(err)
        # a valid but huge request refused by the size budget names max_entries and the
        # matrix-free way out: a good answer too
        if (arg not in message and "max_entries" not in message
                and ALIASES.get((name.split("_")[0], arg), arg) not in message):
            return f"{type(err).__name__} not naming {arg!r}: {message[:200]}"
        if "\n" in message.strip():
            return f"{type(err).__name__} over several lines: {message[:200]}"
        return None
    except BaseException as err:  # noqa: BLE001 - this is what the test is looking for
        if isinstance(err, KeyboardInterrupt):
            raise
        return f"raw {type(err).__name__}: {str(err)[:200]}"
    finally:
        plt.close("all")
    return None


def same_as_base(name: str, arg: str, value):
    func, base, _ = TABLE[name]
    expected = func(**base)
    try:
        got = func(**dict(base, **{arg: value}))
    except Exception as err:  # noqa: BLE001
        return f"{arg}={value!r} meaning {base.get(arg)!r} raised {type(err).__name__}: {err}"
    finally:
        plt.close("all")
    if "plot_" in name or name.split(".")[0] in ("animation", "explore", "figures"):
        # a figure, an animation or a widget: that it was drawn is what we can check
        return None
    if not _same(got, expected):
        return f"{arg}={value!r} meaning {base.get(arg)!r} gave another result"
    return None


CASES = [(name, arg) for name, (_, _, args) in TABLE.items() for arg in args]


@pytest.mark.parametrize(("name", "arg"), CASES, ids=[f"{n}-{a}" for n, a in CASES])
def test_every_hostile_value(name, arg):
    """The fixed hostile list, every value, on every attacked argument."""
    bad = [f"{label}: {v}" for label, value in HOSTILE
           if (v := attack(name, arg, value)) is not None]
    assert not bad, f"{name}({arg}=...):\n" + "\n".join(bad)


EQUIV_CASES = [(n, a, label, v) for n, (_, base, args) in TABLE.items() for a in args
               if a in base and n != "set_max_entries"  # returns the previous limit
               for label, v in equivalents(base[a])]


@pytest.mark.parametrize(("name", "arg", "label", "value"), EQUIV_CASES,
                         ids=[f"{n}-{a}-{lab}" for n, a, lab, _ in EQUIV_CASES])
def test_equivalent_values_give_the_valid_result(name, arg, label, value):
    """numpy integers for ints, lists and grad-requiring tensors for arrays."""
    assert same_as_base(name, arg, value) is None


# Drawn hostile values: any int (from huge negatives to past int64), any float, nested
# lists of them, and shapes of such.
scalars = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.booleans(), st.none(), st.text(max_size=3),
                    st.complex_numbers(max_magnitude=1e10))
drawn = st.one_of(scalars, st.lists(scalars, max_size=4).map(tuple),
                  st.lists(st.lists(st.integers(-3, 3), max_size=3), max_size=3))


@settings(max_examples=150)
@given(case=st.sampled_from(CASES), value=drawn)
def test_drawn_hostile_values(case, value):
    name, arg = case
    func, base, _ = TABLE[name]
    # a plausible small value may be valid and build a large object: keep sizes small
    if isinstance(value, int) and 10**4 < abs(value) < 2**63 and arg not in ("limit",
                                                                              "max_entries"):
        value = 2**63
    assert attack(name, arg, value) is None


# Found by the drawn test: a geometry read off an array's shape is refused naming the
# array (not "the input", which the caller never passed), and sizes that only a huge
# padding reaches name it.
@pytest.mark.parametrize("call, match", [
    (lambda: convmat.conv_weight_matrix([[0.0]], (1, 1, 3)), r"from x of shape \(1, 1\)"),
    (lambda: convmat.max_pool_selection(np.zeros((1, 1)), 2), r"from x of shape \(1, 1\)"),
    (lambda: convmat.adaptive_max_pool_selection(np.zeros((1, 0)), 2), r"x"),
    (lambda: convmat.conv_singular_values(W1, (1, 5), padding=1677721), r"padding=1677721"),
    (lambda: ctesting.assert_adjoint(M1, rtol=1e-186), r"rtol=1e-186 is below the rounding"),
])
def test_drawn_cases_name_their_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------- operators
OPERATOR_INPUTS = [(lab, v) for lab, v in HOSTILE] + [
    ("wrong length", np.ones(3)), ("too many dims", np.ones((2, 2, 2)))]


if torch is not None:
    OPERATORS["NetworkOperator"] = lambda: cnetwork.linearize(_MODEL, X1).operator()

APPLICATIONS = {
    "matvec": lambda A, v: A.matvec(v), "rmatvec": lambda A, v: A.rmatvec(v),
    "matmat": lambda A, v: A.matmat(v), "A @": lambda A, v: A @ v,
    "A.H @": lambda A, v: A.H @ v, "A.T @": lambda A, v: A.T @ v,
}


@pytest.mark.parametrize("op_name", sorted(OPERATORS))
def test_operator_application(op_name):
    A = OPERATORS[op_name]()
    bad = []
    for label, v in OPERATOR_INPUTS:
        for how, apply in APPLICATIONS.items():
            try:
                apply(A, v)
            except (ValueError, TypeError) as err:
                if not any(name in str(err) for name in ("x", "X", "Scalar operands")):
                    bad.append(f"{how} {label}: {type(err).__name__} not naming x: {err}")
            except BaseException as err:  # noqa: BLE001
                bad.append(f"{how} {label}: raw {type(err).__name__}: {err}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("op_name", sorted(OPERATORS))
def test_operator_reads_a_tensor_that_requires_grad(op_name):
    """A tensor is an array (detached, on the CPU) however the operator is applied."""
    if torch is None:
        pytest.skip("torch is not installed")
    A = OPERATORS[op_name]()
    m, n = A.shape
    x, y = np.linspace(1.0, 2.0, n), np.linspace(-1.0, 1.0, m)
    tx, ty = (torch.tensor(v, requires_grad=True) for v in (x, y))
    dense = A @ np.eye(n)  # the matrix, column by column: the adjoint is its transpose
    np.testing.assert_allclose(A.matvec(tx), dense @ x)
    np.testing.assert_allclose(A @ tx, dense @ x)
    np.testing.assert_allclose(A.H @ ty, dense.T @ y)
    np.testing.assert_allclose(A.T @ ty, dense.T @ y)
    np.testing.assert_allclose(A @ torch.tensor(np.stack([x, 2 * x], 1), requires_grad=True),
                               dense @ np.stack([x, 2 * x], 1))


# ------------------------------------------------------------------- the CLI
CLI_BAD = [
    ["show", "conv", "--groups", "0"], ["show", "conv", "--stride", "0"],
    ["show", "conv", "--stride", "-1"], ["show", "conv", "--stride", str(2**63)],
    ["show", "conv", "--input", "0"], ["show", "conv", "--input", "10x10x10x10"],
    ["show", "conv", "--input", "abc"], ["show", "conv", "--kernel", "99"],
    ["show", "conv", "--input", str(10**200)], ["show", "conv", "--channels", "0"],
    ["show", "conv", "--out-channels", "-3"], ["show", "conv", "--dilation", "0"],
    ["show", "conv", "--padding", "-1"], ["show", "conv", "--weight", "a,b"],
    ["show", "conv", "--weight", "1,2"], ["show", "conv", "--values", "nan,x"],
    ["show", "maxpool", "--kernel", "0"], ["show", "avgpool", "--stride", "0"],
    ["show", "nearest", "--scale", "0"], ["show", "interpolate", "--mode", "nope"],
    ["show", "bed-of-nails", "--offset", "9"], ["show", "maxunpool", "--kernel", "0"],
    ["show", "nope"], ["show", "conv", "--input", "100000x100000"],
    ["figures", "--out", ""], ["show", "conv", "--seed", "-1"],
]


@pytest.mark.parametrize("argv", CLI_BAD, ids=[" ".join(a)[:60] for a in CLI_BAD])
def test_cli_refuses_with_one_line(argv, capsys, tmp_path, monkeypatch):
    from convmat import cli

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "nothing on stderr"
    assert "Traceback" not in "\n".join(err)
    # argparse prints its usage first; the message itself is the last, single line
    assert err[-1].startswith(("convmat", "error", "usage")) or ":" in err[-1]


# Drawn command lines: any op, any of its options, any token. The command either runs
# (exit 0) or refuses in one line (exit 2); never a traceback, never another status.
_SHOW_FLAGS = ["--input", "--channels", "--out-channels", "--kernel", "--stride", "--padding",
               "--dilation", "--output-padding", "--groups", "--names", "--weight",
               "--values", "--scale", "--mode", "--offset", "--seed"]
_TOKENS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True).map(str),
    st.lists(st.integers(-3, 9), min_size=1, max_size=4).map(lambda v: "x".join(map(str, v))),
    st.lists(st.integers(-3, 9), min_size=1, max_size=4).map(lambda v: ",".join(map(str, v))),
    st.text(max_size=4),
)


@settings(max_examples=100)
@given(op=st.sampled_from(["conv", "maxpool", "avgpool", "nearest", "interpolate",
                           "bed-of-nails", "maxunpool"]),
       flag=st.sampled_from(_SHOW_FLAGS), token=_TOKENS, transpose=st.booleans())
def test_drawn_command_lines(op, flag, token, transpose):
    import contextlib
    import io

    from convmat import cli

    argv = ["show", op, flag, token] + (["--transpose"] if transpose else [])
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as done:
            code = done.code
        except BaseException as exc:  # noqa: BLE001 - what the test is looking for
            raise AssertionError(f"{argv}: raw {type(exc).__name__}: {exc}") from exc
    lines = err.getvalue().strip().splitlines()
    assert code in (0, 2), (argv, code, lines)
    if code == 2:
        assert lines and "Traceback" not in err.getvalue(), (argv, lines)


# ------------------------------------------------------------------- the tally
def _timed(f, *args, seconds: int = 20):
    """``f(*args)``, or a verdict when it takes longer than ``seconds`` (a hang)."""
    import signal

    def stop(*_):
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        return f(*args)
    except TimeoutError:
        return f"no answer after {seconds} s"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def tally() -> dict[str, tuple[int, int]]:
    """Per row: (hostile inputs tried, handled well), the fixed list on every attacked
    argument. ``python tests/test_hostile.py`` prints it (the closing notes quote it)."""
    import os
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            for name, (_, _, args) in TABLE.items():
                limit, verdicts = convmat.get_max_entries(), []
                for arg in args:
                    for _, value in HOSTILE:
                        verdicts.append(_timed(attack, name, arg, value))
                        convmat.set_max_entries(limit)  # as the test's fixture does
                out[name] = (len(verdicts), sum(v is None for v in verdicts))
        finally:
            os.chdir(here)
    return out


if __name__ == "__main__":
    matplotlib.use("Agg")
    rows = tally()
    for name, (tried, good) in rows.items():
        print(f"{name:45s} {tried:5d} {good:5d}")
    print(f"{'all':45s} {sum(t for t, _ in rows.values()):5d} "
          f"{sum(g for _, g in rows.values()):5d}")
