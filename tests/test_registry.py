"""One table of every op: its matrix builder, its matrix-free operator, its shape helper and
its reference (torch, or the op's definition written out by hand), checked against each
other in one loop. A new op is one row.

For each row and a random sample ``x``:

* ``matrix @ x == reference(x)`` (torch decides), and the reference's shape is the shape
  helper's;
* ``matrix.shape == (prod(shape_helper(...)), prod(in_shape))``, canonical CSR, int32
  indices;
* ``operator @ x == matrix @ x``, ``operator.H @ y == matrix.H @ y``, and the operator
  passes the dot-product test.
"""

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from helpers import F, assert_canonical, needs_torch, torch

import convmat
from convmat import (
    adaptive_avg_pool_matrix,
    adaptive_avg_pool_operator,
    adaptive_max_pool_operator,
    adaptive_max_pool_selection,
    adaptive_pool_output_shape,
    avg_pool_matrix,
    avg_pool_operator,
    avg_pool_output_shape,
    bed_of_nails_matrix,
    bed_of_nails_operator,
    bed_of_nails_output_shape,
    conv_matrix,
    conv_operator,
    conv_output_shape,
    conv_transpose_matrix,
    conv_transpose_operator,
    conv_transpose_output_shape,
    conv_weight_matrix,
    conv_weight_operator,
    conv_weight_output_shape,
    fold_matrix,
    fold_operator,
    fold_output_shape,
    grid_sample_matrix,
    grid_sample_operator,
    grid_sample_output_shape,
    interpolate_matrix,
    interpolate_operator,
    interpolate_output_shape,
    max_pool_operator,
    max_pool_selection,
    max_unpool_matrix,
    max_unpool_operator,
    max_unpool_output_shape,
    pad_matrix,
    pad_operator,
    pad_output_shape,
    pixel_shuffle_matrix,
    pixel_shuffle_operator,
    pixel_shuffle_output_shape,
    pixel_unshuffle_matrix,
    pixel_unshuffle_operator,
    pixel_unshuffle_output_shape,
    pool_output_shape,
    unfold_matrix,
    unfold_operator,
    unfold_output_shape,
)
from convmat.testing import dottest

# In a row's arguments, SHAPE stands for the sample's shape and X for the sample itself
# (data-dependent ops: the builder and the operator take x, the shape helper its shape).
SHAPE, X = object(), object()
RNG = np.random.default_rng(20261)
TOL = 1e-12  # every row is float64


def T(a):
    """A numpy array as a torch tensor (inside the references, which run only with torch)."""
    return torch.from_numpy(np.ascontiguousarray(a))


@dataclass(frozen=True)
class Op:
    """One configuration of one op; ``reference(x)`` is ``F.op(x[None], ...)[0]``."""

    id: str
    matrix: Callable
    operator: Callable
    out_shape: Callable
    reference: Callable
    in_shape: tuple
    args: tuple = (SHAPE,)
    kwargs: dict = field(default_factory=dict)
    torch: bool = True  # False: the reference is the op's definition, by hand

    def call(self, f, x, *, shape_only=False):
        """``f`` on this row's arguments, SHAPE and X filled in."""
        def fill(a):
            if a is SHAPE or (a is X and shape_only):
                return self.in_shape
            return x if a is X else a
        return f(*map(fill, self.args), **self.kwargs)


def bed_of_nails_by_hand(x, scale_factor, offset):
    """Each value at position ``offset`` of its ``scale_factor`` block, the rest 0."""
    y = np.zeros((x.shape[0], *(L * s for L, s in zip(x.shape[1:], scale_factor))))
    y[(slice(None), *(slice(o, None, s) for o, s in zip(offset, scale_factor)))] = x
    return y


def weight(*shape):
    return RNG.standard_normal(shape)


def grid(*shape):
    """Points inside and around [-1, 1] (padding modes matter), never on a pixel edge."""
    return RNG.uniform(-1.2, 1.2, shape)


# Windows of a 2 x 2 max pooling (stride 2) over a (2, 4, 6) input: one flat index inside
# each window, as torch's return_indices gives them.
UNPOOL_2D = np.array([[[1, 8, 5], [18, 15, 23]], [[6, 3, 10], [13, 20, 16]]])
UNPOOL_1D = np.array([[0, 3, 5]])

W1, W2, W3 = weight(4, 1, 3), weight(3, 2, 3, 2), weight(2, 2, 2, 3, 2)
XW1, XW2 = weight(4, 7), weight(2, 5, 4)  # the fixed inputs of conv_weight_matrix
WT1, WT2 = weight(2, 3, 4), weight(4, 1, 3, 3)
G2, G3 = grid(3, 5, 2), grid(2, 3, 2, 3)

ROWS = [
    # ------------------------------------------------------------------ convolution
    Op("conv1d", conv_matrix, conv_operator, conv_output_shape,
       lambda x: F.conv1d(T(x)[None], T(W1), stride=2, padding=1, dilation=2, groups=2)[0],
       (2, 9), (W1, SHAPE), dict(stride=2, padding=1, dilation=2, groups=2)),
    Op("conv2d-circular", conv_matrix, conv_operator, conv_output_shape,
       lambda x: F.conv2d(F.pad(T(x)[None], (1, 1, 2, 2), mode="circular"), T(W2),
                          stride=(1, 2))[0],
       (2, 4, 5), (W2, SHAPE), dict(stride=(1, 2), padding=(2, 1), padding_mode="circular")),
    Op("conv3d-same", conv_matrix, conv_operator, conv_output_shape,
       lambda x: F.conv3d(T(x)[None], T(W3), padding="same")[0],
       (2, 3, 4, 3), (W3, SHAPE), dict(padding="same")),
    Op("conv_weight1d", conv_weight_matrix, conv_weight_operator, conv_weight_output_shape,
       lambda w: F.conv1d(T(XW1)[None], T(w), stride=2, padding=2, dilation=2, groups=2)[0],
       (4, 2, 3), (XW1, SHAPE), dict(stride=2, padding=2, dilation=2, groups=2)),
    Op("conv_weight2d-reflect", conv_weight_matrix, conv_weight_operator, conv_weight_output_shape,
       lambda w: F.conv2d(F.pad(T(XW2)[None], (1, 1, 1, 1), mode="reflect"), T(w))[0],
       (3, 2, 2, 3), (XW2, SHAPE), dict(padding=1, padding_mode="reflect")),
    Op("conv_transpose1d", conv_transpose_matrix, conv_transpose_operator,
       conv_transpose_output_shape,
       lambda x: F.conv_transpose1d(T(x)[None], T(WT1), stride=3, padding=1,
                                    output_padding=2)[0],
       (2, 5), (WT1, SHAPE), dict(stride=3, padding=1, output_padding=2)),
    Op("conv_transpose2d", conv_transpose_matrix, conv_transpose_operator,
       conv_transpose_output_shape,
       lambda x: F.conv_transpose2d(T(x)[None], T(WT2), stride=2, padding=1,
                                    output_padding=(1, 0), groups=4, dilation=(1, 2))[0],
       (4, 3, 4), (WT2, SHAPE),
       dict(stride=2, padding=1, output_padding=(1, 0), groups=4, dilation=(1, 2))),
    # ------------------------------------------------------------------ pooling
    Op("max_pool1d", max_pool_selection, max_pool_operator, pool_output_shape,
       lambda x: F.max_pool1d(T(x)[None], 3, stride=2, padding=1, dilation=2,
                              ceil_mode=True)[0],
       (2, 10), (X, 3), dict(stride=2, padding=1, dilation=2, ceil_mode=True)),
    Op("max_pool2d", max_pool_selection, max_pool_operator, pool_output_shape,
       lambda x: F.max_pool2d(T(x)[None], (3, 2), padding=(1, 0))[0],
       (3, 7, 6), (X, (3, 2)), dict(padding=(1, 0))),
    Op("avg_pool1d", avg_pool_matrix, avg_pool_operator, avg_pool_output_shape,
       lambda x: F.avg_pool1d(T(x)[None], 3, stride=2, padding=1, ceil_mode=True,
                              count_include_pad=False)[0],
       (2, 8), (SHAPE, 3), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    Op("avg_pool2d", avg_pool_matrix, avg_pool_operator, avg_pool_output_shape,
       lambda x: F.avg_pool2d(T(x)[None], 2, padding=1, divisor_override=3)[0],
       (2, 5, 4), (SHAPE, 2), dict(padding=1, divisor_override=3)),
    Op("avg_pool3d", avg_pool_matrix, avg_pool_operator, avg_pool_output_shape,
       lambda x: F.avg_pool3d(T(x)[None], (2, 3, 2), stride=(1, 2, 2))[0],
       (1, 3, 5, 4), (SHAPE, (2, 3, 2)), dict(stride=(1, 2, 2))),
    Op("adaptive_avg_pool1d", adaptive_avg_pool_matrix, adaptive_avg_pool_operator,
       adaptive_pool_output_shape,
       lambda x: F.adaptive_avg_pool1d(T(x)[None], 4)[0],
       (2, 10), (SHAPE, 4)),
    Op("adaptive_avg_pool2d", adaptive_avg_pool_matrix, adaptive_avg_pool_operator,
       adaptive_pool_output_shape,
       lambda x: F.adaptive_avg_pool2d(T(x)[None], (3, 7))[0],
       (2, 7, 5), (SHAPE, (3, 7))),
    Op("adaptive_avg_pool3d", adaptive_avg_pool_matrix, adaptive_avg_pool_operator,
       adaptive_pool_output_shape,
       lambda x: F.adaptive_avg_pool3d(T(x)[None], (2, 3, 2))[0],
       (1, 3, 5, 4), (SHAPE, (2, 3, 2))),
    Op("adaptive_max_pool1d", adaptive_max_pool_selection, adaptive_max_pool_operator,
       adaptive_pool_output_shape,
       lambda x: F.adaptive_max_pool1d(T(x)[None], 3)[0],
       (2, 8), (X, 3)),
    Op("adaptive_max_pool2d", adaptive_max_pool_selection, adaptive_max_pool_operator,
       adaptive_pool_output_shape,
       lambda x: F.adaptive_max_pool2d(T(x)[None], (4, 3))[0],
       (3, 6, 5), (X, (4, 3))),
    Op("adaptive_max_pool3d", adaptive_max_pool_selection, adaptive_max_pool_operator,
       adaptive_pool_output_shape,
       lambda x: F.adaptive_max_pool3d(T(x)[None], (2, 2, 3))[0],
       (1, 3, 4, 5), (X, (2, 2, 3))),
    # ------------------------------------------------------------------ unfolding
    Op("unfold", unfold_matrix, unfold_operator, unfold_output_shape,
       lambda x: F.unfold(T(x)[None], (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))[0],
       (2, 5, 6), (SHAPE, (2, 3)), dict(dilation=(1, 2), padding=1, stride=(2, 1))),
    Op("fold", fold_matrix, fold_operator, fold_output_shape,
       lambda x: F.fold(T(x)[None], (5, 5), (3, 2), padding=1, stride=2)[0],
       (6, 9), (SHAPE, (5, 5), (3, 2)), dict(padding=1, stride=2)),
    Op("fold-overlapping", fold_matrix, fold_operator, fold_output_shape,
       lambda x: F.fold(T(x)[None], (4, 5), 2)[0],
       (8, 12), (SHAPE, (4, 5), 2)),
    # ------------------------------------------------------------------ unpooling
    Op("max_unpool1d", max_unpool_matrix, max_unpool_operator, max_unpool_output_shape,
       lambda x: F.max_unpool1d(T(x)[None], T(UNPOOL_1D)[None], 3, stride=2, padding=1,
                                output_size=(6,))[0],
       UNPOOL_1D.shape, (UNPOOL_1D, 3), dict(stride=2, padding=1, output_size=(6,))),
    Op("max_unpool2d", max_unpool_matrix, max_unpool_operator, max_unpool_output_shape,
       lambda x: F.max_unpool2d(T(x)[None], T(UNPOOL_2D)[None], 2)[0],
       UNPOOL_2D.shape, (UNPOOL_2D, 2)),
    Op("bed_of_nails2d", bed_of_nails_matrix, bed_of_nails_operator,
       bed_of_nails_output_shape,
       lambda x: bed_of_nails_by_hand(x, (2, 3), (1, 2)),
       (2, 3, 2), (SHAPE, (2, 3)), dict(offset=(1, 2)), torch=False),
    Op("pixel_shuffle", pixel_shuffle_matrix, pixel_shuffle_operator,
       pixel_shuffle_output_shape,
       lambda x: F.pixel_shuffle(T(x)[None], 2)[0],
       (8, 2, 3), (SHAPE, 2)),
    Op("pixel_unshuffle", pixel_unshuffle_matrix, pixel_unshuffle_operator,
       pixel_unshuffle_output_shape,
       lambda x: F.pixel_unshuffle(T(x)[None], 2)[0],
       (2, 4, 6), (SHAPE, 2)),
    # ------------------------------------------------------------------ interpolation
    Op("interpolate-nearest", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], scale_factor=(2, 1.5), mode="nearest")[0],
       (2, 3, 4), kwargs=dict(scale_factor=(2, 1.5), mode="nearest")),
    Op("interpolate-nearest-exact", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], size=7, mode="nearest-exact")[0],
       (2, 5), kwargs=dict(size=7, mode="nearest-exact")),
    Op("interpolate-linear", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], size=8, mode="linear", align_corners=True)[0],
       (2, 5), kwargs=dict(size=8, mode="linear", align_corners=True)),
    Op("interpolate-bilinear", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], size=(5, 3), mode="bilinear")[0],
       (1, 4, 6), kwargs=dict(size=(5, 3), mode="bilinear")),
    Op("interpolate-bicubic", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], scale_factor=1.5, mode="bicubic",
                               recompute_scale_factor=True)[0],
       (2, 4, 3), kwargs=dict(scale_factor=1.5, mode="bicubic", recompute_scale_factor=True)),
    Op("interpolate-trilinear", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], size=(3, 2, 5), mode="trilinear")[0],
       (1, 2, 4, 3), kwargs=dict(size=(3, 2, 5), mode="trilinear")),
    Op("interpolate-area", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], size=(3, 5), mode="area")[0],
       (2, 7, 4), kwargs=dict(size=(3, 5), mode="area")),
    Op("interpolate-bilinear-antialias", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], size=(3, 7), mode="bilinear", antialias=True)[0],
       (2, 8, 5), kwargs=dict(size=(3, 7), mode="bilinear", antialias=True)),
    Op("interpolate-bicubic-antialias", interpolate_matrix, interpolate_operator,
       interpolate_output_shape,
       lambda x: F.interpolate(T(x)[None], scale_factor=0.4, mode="bicubic",
                               antialias=True, align_corners=True)[0],
       (1, 9, 6), kwargs=dict(scale_factor=0.4, mode="bicubic", antialias=True,
                              align_corners=True)),
    # ------------------------------------------------------------------ padding
    Op("pad-constant", pad_matrix, pad_operator, pad_output_shape,
       lambda x: F.pad(T(x)[None], (2, -1, 0, 1))[0],
       (2, 3, 4), (SHAPE, (2, -1, 0, 1))),
    Op("pad-reflect", pad_matrix, pad_operator, pad_output_shape,
       lambda x: F.pad(T(x)[None], (3, 2), mode="reflect")[0],
       (2, 5), (SHAPE, (3, 2)), dict(mode="reflect")),
    Op("pad-replicate", pad_matrix, pad_operator, pad_output_shape,
       lambda x: F.pad(T(x)[None], (1, 0, 2, 1, 0, 2), mode="replicate")[0],
       (1, 2, 3, 2), (SHAPE, (1, 0, 2, 1, 0, 2)), dict(mode="replicate")),
    Op("pad-circular", pad_matrix, pad_operator, pad_output_shape,
       lambda x: F.pad(T(x)[None], (1, 2, 3, -1), mode="circular")[0],
       (2, 4, 3), (SHAPE, (1, 2, 3, -1)), dict(mode="circular")),
    # ------------------------------------------------------------------ grid sampling
    Op("grid_sample-bilinear", grid_sample_matrix, grid_sample_operator,
       grid_sample_output_shape,
       lambda x: F.grid_sample(T(x)[None], T(G2)[None], align_corners=False)[0],
       (2, 4, 3), (SHAPE, G2)),
    Op("grid_sample-nearest-border", grid_sample_matrix, grid_sample_operator,
       grid_sample_output_shape,
       lambda x: F.grid_sample(T(x)[None], T(G2)[None], mode="nearest",
                               padding_mode="border", align_corners=True)[0],
       (1, 3, 5), (SHAPE, G2), dict(mode="nearest", padding_mode="border", align_corners=True)),
    Op("grid_sample-bicubic-reflection", grid_sample_matrix, grid_sample_operator,
       grid_sample_output_shape,
       lambda x: F.grid_sample(T(x)[None], T(G2)[None], mode="bicubic",
                               padding_mode="reflection", align_corners=False)[0],
       (2, 4, 4), (SHAPE, G2), dict(mode="bicubic", padding_mode="reflection")),
    Op("grid_sample3d", grid_sample_matrix, grid_sample_operator, grid_sample_output_shape,
       lambda x: F.grid_sample(T(x)[None], T(G3)[None], padding_mode="border",
                               align_corners=False)[0],
       (2, 3, 2, 4), (SHAPE, G3), dict(padding_mode="border")),
]


def as_numpy(y):
    return y.detach().numpy() if torch is not None and isinstance(y, torch.Tensor) else y


@pytest.mark.parametrize("op", [
    pytest.param(op, id=op.id, marks=[needs_torch] if op.torch else []) for op in ROWS])
def test_matrix_operator_shape_helper_and_reference_agree(op):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(op.in_shape)
    n_in = math.prod(op.in_shape)

    A = op.call(op.matrix, x)
    if isinstance(A, tuple):  # a selection builder: (S, indices)
        A = A[0]
    out_shape = op.call(op.out_shape, x, shape_only=True)
    assert A.shape == (math.prod(out_shape), n_in)
    assert A.dtype == np.float64
    assert_canonical(A)

    expected = as_numpy(op.reference(x))
    assert tuple(expected.shape) == tuple(out_shape)
    np.testing.assert_allclose(A @ x.ravel(), expected.ravel(), rtol=TOL, atol=TOL)

    L = op.call(op.operator, x)
    y = rng.standard_normal(A.shape[0])
    assert L.shape == A.shape
    np.testing.assert_allclose(L @ x.ravel(), A @ x.ravel(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(L.H @ y, A.conj().T @ y, rtol=TOL, atol=TOL)
    assert dottest(L, rng=0) < TOL


def test_every_public_op_has_a_row():
    """A builder, operator or shape helper added to convmat without a row here fails."""
    covered = {f.__name__ for op in ROWS for f in (op.matrix, op.operator, op.out_shape)}
    public = {name for name in convmat.__all__
              if name.endswith(("_matrix", "_selection", "_output_shape"))
              or (name.endswith("_operator") and name != "conv_operator_norm")}
    assert public - covered == set()
