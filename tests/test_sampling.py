"""Grid sampling and affine grids against torch, by hand, and through their identities."""

import warnings

import numpy as np
import pytest
from helpers import F, assert_canonical, needs_torch, peak_bytes, raises_like, seeds, torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator

from convmat import (
    affine_grid,
    grid_sample_matrix,
    grid_sample_operator,
    grid_sample_output_shape,
)
from convmat.testing import assert_adjoint, dottest

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
TOL = {np.float32: 1e-5, np.float64: 1e-13}


def random_grid(rng, size, out, align_corners, dtype):
    """Points anywhere in [-2.5, 2.5] (far outside the input too), exactly on pixel centres
    and pixel edges (nearest's ties), and on -1, 0, 1."""
    nd = len(size)
    grid = rng.uniform(-2.5, 2.5, out + (nd,))
    for k in range(nd):
        L = size[nd - 1 - k]  # coordinate k indexes spatial axis nd - 1 - k
        pixel = rng.integers(-2, L + 2, out) + rng.choice([0.0, 0.5], out)
        exact = (2 * pixel / (L - 1) - 1) if align_corners and L > 1 else (2 * pixel + 1) / L - 1
        kind = rng.integers(0, 3, out)
        grid[..., k] = np.select([kind == 0, kind == 1], [grid[..., k], exact],
                                 rng.choice([-1.0, 0.0, 1.0], out))
    return grid.astype(dtype)


@st.composite
def sample_configs(draw, max_channels=3):
    """``(input_shape, grid, kwargs)``: any mode, padding mode and corners, 2-D and 3-D."""
    nd = draw(st.sampled_from([2, 3]))
    mode = draw(st.sampled_from(MODES if nd == 2 else MODES[:2]))
    kwargs = dict(mode=mode, padding_mode=draw(st.sampled_from(PADDING_MODES)),
                  align_corners=draw(st.booleans()))
    size = tuple(draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd)))
    out = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(seeds))
    grid = random_grid(rng, size, out, kwargs["align_corners"], dtype)
    return (draw(st.integers(1, max_channels)), *size), grid, kwargs


def torch_matrix(input_shape, grid, kwargs):
    """torch's grid_sample applied to every unit input at once: its exact matrix."""
    n = int(np.prod(input_shape))
    eye = torch.eye(n, dtype=torch.from_numpy(grid).dtype).reshape(n, *input_shape)
    g = torch.from_numpy(grid)[None].expand(n, *grid.shape)
    return F.grid_sample(eye, g, **kwargs).reshape(n, -1).T.numpy()


# --------------------------------------------------------------------------- torch as oracle
@needs_torch
@given(config=sample_configs())
def test_matrix_equals_torch_entry_by_entry(config):
    input_shape, grid, kwargs = config
    A = grid_sample_matrix(input_shape, grid, **kwargs)
    assert A.dtype == grid.dtype
    assert_canonical(A)
    expected = torch_matrix(input_shape, grid, kwargs)
    np.testing.assert_allclose(A.toarray(), expected, rtol=0, atol=TOL[grid.dtype.type])
    assert A.shape[0] == np.prod(grid_sample_output_shape(input_shape, grid, **kwargs))


@needs_torch
@given(config=sample_configs(), seed=seeds)
def test_sample_equals_torch(config, seed):
    input_shape, grid, kwargs = config
    x = np.random.default_rng(seed).standard_normal(input_shape).astype(grid.dtype)
    y = grid_sample_matrix(input_shape, grid, **kwargs) @ x.ravel()
    expected = F.grid_sample(torch.from_numpy(x)[None], torch.from_numpy(grid)[None], **kwargs)
    assert y.dtype == grid.dtype
    np.testing.assert_allclose(y, expected.numpy().ravel(), rtol=0,
                               atol=10 * TOL[grid.dtype.type])


@needs_torch
@given(nd=st.sampled_from([2, 3]), align_corners=st.booleans(), seed=seeds,
       dtype=st.sampled_from([np.float32, np.float64]),
       size=st.lists(st.integers(1, 7), min_size=4, max_size=4))
def test_affine_grid_equals_torch(nd, align_corners, seed, dtype, size):
    size = tuple(size[:nd + 1])
    theta = np.random.default_rng(seed).uniform(-2, 2, (nd, nd + 1)).astype(dtype)
    grid = affine_grid(theta, size, align_corners=align_corners)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about unit axes with align_corners
        expected = F.affine_grid(torch.from_numpy(theta)[None], (1, *size),
                                 align_corners=align_corners)[0].numpy()
    assert grid.dtype == expected.dtype and grid.shape == expected.shape
    np.testing.assert_allclose(grid, expected, rtol=0, atol=20 * TOL[dtype])


BAD_GRID_SAMPLES = [
    ((2, 3, 4), (5, 6, 3), {}),                        # 2-D input, 3 coordinates
    ((2, 3, 4, 5), (5, 6, 7, 2), {}),                  # 3-D input, 2 coordinates
    ((2, 3, 4), (5, 6, 7, 2), {}),                     # grid of another rank
    ((2, 3, 4, 5), (5, 6, 3), {}),
    ((2, 3), (5, 1), {}),                              # 1-D input
    ((2, 3, 4, 5, 6), (1, 2, 3, 4, 4), {}),            # 4-D input
    ((2, 0, 4), (5, 6, 2), {}),                        # empty spatial axis
    ((2, 3, 4, 5), (5, 6, 7, 3), dict(mode="bicubic")),
    ((2, 3, 4), (5, 6, 2), dict(mode="linear")),
    ((2, 3, 4), (5, 6, 2), dict(mode="area")),
    ((2, 3, 4), (5, 6, 2), dict(padding_mode="reflect")),
    ((2, 3, 4), (5, 6, 2), dict(padding_mode="constant")),
    ((0, 3, 4), (5, 6, 2), {}),                        # no channels: accepted
    ((2, 3, 4), (0, 6, 2), {}),                        # empty grid: accepted
]


@needs_torch
@pytest.mark.parametrize("input_shape, grid_shape, kwargs", BAD_GRID_SAMPLES)
def test_rejects_what_torch_rejects(input_shape, grid_shape, kwargs):
    grid = np.zeros(grid_shape)
    kwargs = dict(align_corners=False, **kwargs)
    both = raises_like(
        lambda: F.grid_sample(torch.zeros(1, *input_shape, dtype=torch.float64),
                              torch.from_numpy(grid)[None], **kwargs),
        lambda: grid_sample_matrix(input_shape, grid, **kwargs))
    if both is not None:
        expected, A = both
        assert A.shape == (expected.numel(), int(np.prod(input_shape)))
        assert expected.shape[1:] == grid_sample_output_shape(input_shape, grid_shape)


@pytest.mark.parametrize("kwargs, name", [
    (dict(mode="linear"), "mode='linear'"), (dict(padding_mode="reflect"), "padding_mode"),
    (dict(mode="bicubic"), "bicubic"), (dict(align_corners=1), "align_corners")])
def test_errors_name_the_argument(kwargs, name):
    shape = (1, 2, 3, 4) if kwargs.get("mode") == "bicubic" else (1, 3, 4)
    nd = len(shape) - 1
    grid = np.zeros((2,) * nd + (nd,))
    with pytest.raises((ValueError, TypeError), match=name):
        grid_sample_matrix(shape, grid, **kwargs)


def test_grid_must_be_float32_or_float64():
    with pytest.raises(TypeError, match="grid must hold float"):
        grid_sample_matrix((1, 3, 4), np.zeros((2, 2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="float16"):
        grid_sample_matrix((1, 3, 4), np.zeros((2, 2, 2), dtype=np.float16))
    with pytest.raises(ValueError, match=r"shape \(H_out, W_out, 2\)"):
        grid_sample_matrix((1, 3, 4), np.zeros((2, 2, 3)))


@needs_torch
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 3e38])
def test_non_finite_points_are_refused(value):
    grid = np.zeros((1, 2, 2), dtype=np.float32)
    grid[0, 1, 0] = value
    # torch answers NaN here (0 * inf for the corners it drops), not a linear map.
    out = F.grid_sample(torch.ones(1, 1, 3, 3), torch.from_numpy(grid)[None], align_corners=False)
    assert torch.isnan(out[0, 0, 0, 1])
    with pytest.raises(ValueError, match=r"grid must hold finite coordinates.*grid\[0, 1, 0\]"):
        grid_sample_matrix((1, 3, 3), grid)
    with pytest.raises(ValueError, match="finite"):
        grid_sample_operator((1, 3, 3), grid)


@needs_torch
@pytest.mark.parametrize("theta_shape, size, align_corners", [
    ((3, 3), (1, 4, 5), False), ((2, 3), (1, 4, 5, 6), False), ((2, 4), (1, 4, 5), False),
    ((2, 3), (1, 4), False), ((2, 3), (1, 4, 5, 6, 7), False), ((2, 3), (1, 0, 5), False),
    ((2, 3), (0, 4, 5), False), ((2, 3), (0, 1, 5), True), ((2, 3), (1, 1, 0), True),
    ((3, 4), (1, 1, 3, 4), True), ((2, 3), (2, 1, 1), False)])
def test_affine_grid_rejects_what_torch_rejects(theta_shape, size, align_corners):
    theta = np.ones(theta_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about unit axes with align_corners
        both = raises_like(
            lambda: F.affine_grid(torch.from_numpy(theta)[None], (1, *size),
                                  align_corners=align_corners),
            lambda: affine_grid(theta, size, align_corners=align_corners))
    if both is not None:
        np.testing.assert_allclose(both[1], both[0][0].numpy(), atol=1e-13)


def test_affine_grid_refuses_integer_theta():
    with pytest.raises(TypeError, match="theta"):
        affine_grid([[1, 0, 0], [0, 1, 0]], (1, 2, 2))
    with pytest.raises(ValueError, match=r"theta must have shape \(2, 3\)"):
        affine_grid(np.eye(2), (1, 2, 2))


# --------------------------------------------------------------------------- by hand
def test_two_points_by_hand():
    # W = 3 pixel centres at -1, 0, 1 (align_corners): x = -0.5 is halfway between the
    # first two, x = 0.25 a quarter of the way from the second to the third.
    grid = np.array([[[-0.5, 0.0], [0.25, 0.0]]])
    A = grid_sample_matrix((1, 1, 3), grid, align_corners=True)
    np.testing.assert_array_equal(A.toarray(), [[0.5, 0.5, 0], [0, 0.75, 0.25]])
    S = grid_sample_operator((1, 1, 3), grid, align_corners=True)
    np.testing.assert_array_equal(S @ np.array([0., 4., 8.]), [2., 5.])


def test_nearest_rounds_half_to_even():
    # W = 4, align_corners=False: u = 2 g + 1.5, so g = -0.5, 0, 0.5 land on 0.5, 1.5, 2.5.
    grid = np.array([[[-0.5, 0.0], [0.0, 0.0], [0.5, 0.0]]])
    A = grid_sample_matrix((1, 1, 4), grid, mode="nearest")
    np.testing.assert_array_equal(A @ np.array([10., 20., 30., 40.]), [10., 30., 30.])


def test_zero_weights_keep_their_entries():
    # Every point on a pixel centre: bilinear weights are 1 and 0, and each corner inside
    # the input keeps its entry; the corners past the last row/column are dropped.
    H, W = 3, 4
    grid = affine_grid(np.eye(2, 3), (1, H, W), align_corners=True)
    A = grid_sample_matrix((1, H, W), grid, align_corners=True)
    y, x = np.divmod(np.arange(H * W), W)
    np.testing.assert_array_equal(np.diff(A.indptr), (2 - (x == W - 1)) * (2 - (y == H - 1)))
    assert A.nnz > H * W and np.count_nonzero(A.data) == H * W


# --------------------------------------------------------------------------- identities
@pytest.mark.parametrize("mode, size", [
    (mode, size) for size in [(1, 5, 7), (2, 1, 6), (1, 3, 4, 5)] for mode in MODES
    if mode != "bicubic" or len(size) == 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identity_grid_is_the_identity(mode, size, dtype):
    nd = len(size) - 1
    grid = affine_grid(np.eye(nd, nd + 1, dtype=dtype), size, align_corners=True)
    for padding_mode in PADDING_MODES:
        A = grid_sample_matrix(size, grid, mode=mode, padding_mode=padding_mode,
                               align_corners=True)
        np.testing.assert_allclose(A.toarray(), np.eye(A.shape[0]), rtol=0,
                                   atol=8 * np.finfo(dtype).eps)
        if mode == "nearest":
            np.testing.assert_array_equal(A.toarray(), np.eye(A.shape[0]))


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("shift", [-2, 1, 3])
def test_translation_by_whole_pixels_is_a_shift(mode, shift):
    C, H, W = 2, 4, 6
    theta = np.array([[1.0, 0.0, 2 * shift / (W - 1)], [0.0, 1.0, 0.0]])  # x += shift pixels
    A = grid_sample_matrix((C, H, W), affine_grid(theta, (C, H, W), align_corners=True),
                           mode=mode, align_corners=True)
    x = np.random.default_rng(0).standard_normal((C, H, W))
    expected = np.zeros_like(x)
    src = np.arange(W) + shift
    inside = (src >= 0) & (src < W)
    expected[..., inside] = x[..., src[inside]]
    np.testing.assert_allclose((A @ x.ravel()).reshape(C, H, W), expected, atol=1e-14)


@given(config=sample_configs(max_channels=1))
def test_rows_of_border_and_reflection_sum_to_one(config):
    # Interpolation weights are a partition of unity, and these padding modes move taps
    # (never drop them): every row sums to 1.
    input_shape, grid, kwargs = config
    if kwargs["padding_mode"] == "zeros":
        kwargs["padding_mode"] = "border"
    A = grid_sample_matrix(input_shape, grid, **kwargs)
    np.testing.assert_allclose(A.sum(axis=1), 1, atol=100 * TOL[grid.dtype.type])


@given(config=sample_configs())
def test_matrix_is_one_block_per_channel(config):
    (C, *size), grid, kwargs = config
    A = grid_sample_matrix((C, *size), grid, **kwargs)
    G = grid_sample_matrix((1, *size), grid, **kwargs)
    n, m = G.shape
    for c in range(C):
        block = A[c * n:(c + 1) * n]
        assert block[:, :c * m].nnz == block[:, (c + 1) * m:].nnz == 0
        np.testing.assert_array_equal(block[:, c * m:(c + 1) * m].toarray(), G.toarray())


# --------------------------------------------------------------------------- the operator
@given(config=sample_configs(), seed=seeds)
def test_operator_equals_matrix(config, seed):
    input_shape, grid, kwargs = config
    A = grid_sample_matrix(input_shape, grid, **kwargs)
    op = grid_sample_operator(input_shape, grid, **kwargs)
    assert isinstance(op, LinearOperator) and op.shape == A.shape and op.dtype == A.dtype
    rng = np.random.default_rng(seed)
    m, n = A.shape
    x, X = rng.standard_normal(n), rng.standard_normal((n, 3))
    y = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    np.testing.assert_allclose(op.matvec(x), A @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.matmat(X), A @ X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(y), A.T @ y, rtol=1e-12, atol=1e-12)
    assert dottest(op, rng=seed) < 1e-10
    assert_adjoint(op, dtype=np.float32, rng=seed)


def test_float32_operator_keeps_float32():
    grid = affine_grid(np.array([[0.9, 0.2, 0.1], [-0.2, 1.1, 0.0]], np.float32), (3, 5, 6))
    op = grid_sample_operator((3, 7, 8), grid, mode="bicubic", padding_mode="reflection")
    x = np.random.default_rng(0).standard_normal(op.shape[1]).astype(np.float32)
    assert op.dtype == np.float32 and (op @ x).dtype == np.float32


def test_empty_channels_and_empty_grid():
    assert grid_sample_matrix((0, 3, 4), np.zeros((2, 5, 2))).shape == (0, 0)
    A = grid_sample_matrix((2, 3, 4), np.zeros((0, 5, 2)))
    assert A.shape == (0, 24) and A.indptr.tolist() == [0]
    assert grid_sample_operator((2, 3, 4), np.zeros((0, 5, 2))).matvec(np.ones(24)).shape == (0,)


# --------------------------------------------------------------------------- size budget
def test_budget_refuses_before_allocating():
    grid = np.zeros((512, 512, 2), dtype=np.float32)
    peak, _ = peak_bytes(lambda: grid_sample_matrix((64, 512, 512), grid, max_entries=10**6),
                         ValueError)
    assert peak < 20 * grid.nbytes  # the grid's own arrays, never the 67M-entry matrix
    with pytest.raises(ValueError, match="convmat.grid_sample_operator"):
        grid_sample_matrix((64, 512, 512), grid, max_entries=10**6)
    assert grid_sample_matrix((1, 4, 4), grid[:2, :2], max_entries=16).nnz == 16


@needs_torch
def test_reads_torch_tensors_and_none_as_torch_does():
    grid = torch.rand(3, 4, 2, dtype=torch.float64) * 2 - 1
    A = grid_sample_matrix((2, 5, 6), grid, align_corners=None)  # torch's default: False
    np.testing.assert_array_equal(A.toarray(),
                                  grid_sample_matrix((2, 5, 6), grid.numpy()).toarray())
