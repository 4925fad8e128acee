"""``interpolate(mode="area")`` and ``interpolate(antialias=True)``: against torch, by
hand, torch's one-column quirk, the identities, the operator and the size bounds."""

import math

import numpy as np
import pytest
from helpers import (
    F,
    assert_canonical,
    from_torch,
    needs_torch,
    raises_like,
    same_matrix,
    seeds,
    to_torch,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from convmat import (
    adaptive_avg_pool_matrix,
    interpolate_matrix,
    interpolate_operator,
    interpolate_output_shape,
)
from convmat.interpolation import interpolate_entries, interpolate_factors
from convmat.shapes import interpolate_geometry
from convmat.testing import assert_adjoint

DTYPES = st.sampled_from([np.float64, np.float32])


@st.composite
def antialias_configs(draw):
    """A valid (input_shape, kwargs) with antialias=True: 2-D, bilinear or bicubic,
    downsampling (often by a lot) and upsampling, by size or by scale factor."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 24)), draw(st.integers(1, 24)))
    kw = dict(mode=draw(st.sampled_from(["bilinear", "bicubic"])), antialias=True,
              align_corners=draw(st.sampled_from([None, False, True])))
    if draw(st.booleans()):
        kw["size"] = tuple(draw(st.integers(1, 2 * L + 2)) for L in shape[1:])
    else:
        factors = st.one_of(st.integers(1, 3),
                            st.floats(0.04, 3.0).map(lambda f: round(f, 3)))
        kw["scale_factor"] = tuple(draw(factors) for _ in range(2))
        assume(all(math.floor(L * f) >= 1 for L, f in zip(shape[1:], kw["scale_factor"])))
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return shape, kw


@st.composite
def area_configs(draw):
    """A valid (input_shape, kwargs) with mode="area", 1-3 spatial dimensions, output
    sizes from 0 to twice the input, by size or by scale factor."""
    nd = draw(st.integers(1, 3))
    hi = {1: 12, 2: 7, 3: 4}[nd]
    shape = (draw(st.integers(1, 2)), *(draw(st.integers(1, hi)) for _ in range(nd)))
    kw = dict(mode="area")
    if draw(st.booleans()):
        kw["size"] = tuple(draw(st.integers(0, 2 * L + 1)) for L in shape[1:])
    else:
        factors = st.one_of(st.integers(0, 3), st.floats(0.05, 2.5).map(lambda f: round(f, 2)))
        kw["scale_factor"] = tuple(draw(factors) for _ in range(nd))
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return shape, kw


def _tol(dtype):
    return 1e-12 if dtype == np.float64 else 2e-6


# --------------------------------------------------------------------------- against torch
@needs_torch
@given(antialias_configs(), DTYPES, seeds)
def test_antialias_matches_torch(config, dtype, seed):
    shape, kw = config
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    expected = F.interpolate(to_torch(x), **kw)
    M = interpolate_matrix(shape, dtype=dtype, **kw)
    assert M.dtype == dtype and M.shape == (expected.numel(), x.size)
    y = from_torch(expected)
    # relative to the output's scale: bicubic weights overshoot and may cancel
    np.testing.assert_allclose(M @ x.ravel(), y, rtol=0,
                               atol=_tol(dtype) * max(1.0, np.abs(y).max()))
    assert_canonical(M)
    assert interpolate_output_shape(shape, **kw) == tuple(expected.shape[1:])


@needs_torch
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from(["bilinear", "bicubic"]),
       st.booleans(), DTYPES)
def test_antialias_weights_are_torchs_to_the_bit(L, O, mode, align, dtype):
    """The 1-D weights, read off torch by resampling the unit vectors (1 * w + 0 * ... is
    exact): the same float32 rounding as torch, fused multiply-adds included."""
    x = np.zeros((L, 1, L, 2), dtype=dtype)
    x[np.arange(L), 0, np.arange(L), :] = 1
    kw = dict(size=(O, 2), mode=mode, antialias=True, align_corners=align)
    torch_factor = F.interpolate(to_torch(x)[0], **kw)[:, 0, :, 0].numpy().T
    geo = interpolate_geometry((1, L, 2), **kw)
    mine = interpolate_matrix((1, L, 1), size=(O, 1), mode=mode, antialias=True,
                              align_corners=align, dtype=dtype)
    factor = interpolate_factors(geo, dtype)[0]
    dense = np.zeros((O, L), dtype=dtype)
    rows = np.broadcast_to(np.arange(O)[:, None], factor.cols.shape)
    used = np.ones(factor.cols.shape, bool) if factor.valid is None else factor.valid
    dense[rows[used], factor.cols[used]] = factor.values[used]
    if dtype == np.float32 or mode == "bilinear":
        np.testing.assert_array_equal(dense, torch_factor)
    else:  # float64 Horner steps fused or not: last-bit differences
        np.testing.assert_allclose(dense, torch_factor, rtol=0, atol=4e-15)
    assert mine.shape == (O, L)


@needs_torch
@given(area_configs(), DTYPES, seeds)
def test_area_matches_torch(config, dtype, seed):
    shape, kw = config
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    result = raises_like(lambda: F.interpolate(to_torch(x), **kw),
                         lambda: interpolate_matrix(shape, dtype=dtype, **kw))
    assume(result is not None)  # a scale factor of 0 is refused by both
    expected, M = result
    assert M.dtype == dtype and M.shape == (expected.numel(), x.size)
    np.testing.assert_allclose(M @ x.ravel(), from_torch(expected), rtol=_tol(dtype),
                               atol=_tol(dtype))
    assert_canonical(M)
    assert interpolate_output_shape(shape, **kw) == tuple(expected.shape[1:])


@needs_torch
@given(st.integers(1, 3), st.sampled_from(["nearest", "linear", "bilinear", "bicubic",
                                           "trilinear", "area"]),
       st.sampled_from([None, 2, 0, (2, 3)]), st.sampled_from([None, 0.5, -1.0, 0.0]),
       st.sampled_from([None, False, True]), st.booleans())
def test_area_and_antialias_errors_like_torch(nd, mode, size, scale, align, antialias):
    shape = (1,) + (4,) * nd
    kw = dict(size=size, scale_factor=scale, mode=mode, align_corners=align,
              antialias=antialias)
    result = raises_like(lambda: F.interpolate(to_torch(np.zeros(shape)), **kw),
                         lambda: interpolate_matrix(shape, **kw))
    if result is not None:
        expected, M = result
        assert M.shape == (expected.numel(), math.prod(shape))


# --------------------------------------------------------------------------- by hand
def test_antialias_by_hand():
    """4 to 2 bilinear: scale r = 2, support 2, centres c = 1 and 3. Output 0 reads
    inputs 0..2 with triangle weights 1 - |k + 1/2 - c| / 2 = 3/4, 3/4, 1/4, normalised
    by their sum 7/4; output 1 mirrors it."""
    M = interpolate_matrix((1, 1, 4), size=(1, 2), mode="bilinear", antialias=True)
    np.testing.assert_allclose(M.toarray(), np.array([[3, 3, 1, 0], [0, 1, 3, 3]]) / 7)


def test_area_by_hand():
    """5 with scale 0.5: O = floor(2.5) = 2 windows [0, 3) and [2, 5), overlapping."""
    M = interpolate_matrix((1, 5), scale_factor=0.5, mode="area")
    t = 1 / 3
    np.testing.assert_allclose(M.toarray(), [[t, t, t, 0, 0], [0, 0, t, t, t]])
    assert interpolate_matrix((2, 5), size=0, mode="area").shape == (0, 10)


@needs_torch
@given(st.integers(2, 12), st.integers(1, 12), st.integers(1, 6),
       st.sampled_from(["bilinear", "bicubic"]), DTYPES, seeds)
def test_one_column_output_reuses_the_first_rows_taps(H, OH, W, mode, dtype, seed):
    """torch's quirk: for an output one pixel wide, its vertical pass reads the first
    output row's taps for every row, so all rows of the output are equal; the matrix
    reproduces it (and the rows differ once the output is 2 wide)."""
    assume(OH != H)
    x = np.random.default_rng(seed).standard_normal((1, H, W)).astype(dtype)
    kw = dict(size=(OH, 1), mode=mode, antialias=True)
    y = (interpolate_matrix(x.shape, dtype=dtype, **kw) @ x.ravel()).reshape(OH)
    expected = from_torch(F.interpolate(to_torch(x), **kw))
    np.testing.assert_allclose(y, expected, rtol=0, atol=_tol(dtype) * 10)
    np.testing.assert_array_equal(y, y[0])


# --------------------------------------------------------------------------- identities
@given(st.integers(1, 10), st.integers(1, 10), st.integers(1, 4), st.integers(1, 4))
def test_bilinear_upsampling_with_antialias_is_plain_bilinear(H, W, a, b):
    """No filter to stretch when upsampling: the triangle, normalised at the borders, is
    plain bilinear interpolation (align_corners=False; align_corners=True changes the
    scale only, not the centres, so it differs, and antialiased bicubic uses A = -0.5)."""
    size = (H * a + (a > 1), W * b + (b > 1))
    assume(size[1] > 1)  # torch's one-column quirk (below) breaks the identity
    shape = (2, H, W)
    same_aa = interpolate_matrix(shape, size=size, mode="bilinear", antialias=True)
    plain = interpolate_matrix(shape, size=size, mode="bilinear")
    np.testing.assert_allclose(same_aa.toarray(), plain.toarray(), atol=1e-15)


@given(st.integers(1, 3), st.data())
def test_area_with_a_scale_factor_is_adaptive_pooling_to_floor_of_the_size(nd, data):
    shape = (2, *(data.draw(st.integers(1, 8)) for _ in range(nd)))
    factor = data.draw(st.floats(0.1, 3.0))
    out = tuple(math.floor(L * factor) for L in shape[1:])
    same_matrix(interpolate_matrix(shape, scale_factor=factor, mode="area"),
                adaptive_avg_pool_matrix(shape, out))


@given(antialias_configs(), DTYPES)
def test_antialias_rows_sum_to_one(config, dtype):
    shape, kw = config
    M = interpolate_matrix(shape, dtype=dtype, **kw)
    np.testing.assert_allclose(M.sum(axis=1), 1, rtol=1e-5)


# --------------------------------------------------------------------------- operator, sizes
@given(st.one_of(antialias_configs(), area_configs()), DTYPES)
def test_operator_equals_matrix(config, dtype):
    shape, kw = config
    try:
        M = interpolate_matrix(shape, dtype=dtype, **kw)
    except ValueError:  # an area scale factor of 0: refused by both
        with pytest.raises(ValueError):
            interpolate_operator(shape, dtype=dtype, **kw)
        return
    op = interpolate_operator(shape, dtype=dtype, **kw)
    assert op.shape == M.shape and op.dtype == dtype
    np.testing.assert_allclose(op @ np.eye(M.shape[1], dtype=dtype), M.toarray(),
                               rtol=1e-6, atol=1e-7)
    if M.shape[0]:
        assert_adjoint(op, dtype=dtype, rng=0)
        assert_adjoint(M, dtype=dtype, rng=0)


@given(st.one_of(antialias_configs(), area_configs()))
def test_entries_bound_the_factors(config):
    """interpolate_entries sizes the matrix before it is built: never below the truth."""
    shape, kw = config
    try:
        geo = interpolate_geometry(shape, **kw)
    except ValueError:
        return
    factors = interpolate_factors(geo, np.float64)
    for bound, factor in zip(interpolate_entries(geo), factors):
        assert factor.counts().sum() <= bound


def test_oversized_antialias_is_refused_before_building():
    with pytest.raises(ValueError, match="max_entries=1,000"):
        interpolate_matrix((1, 4000, 4000), size=(10, 10), mode="bicubic", antialias=True,
                           max_entries=1000)
    with pytest.raises(ValueError, match="max_entries="):
        interpolate_operator((1, 10**9), size=10**12, mode="area")


@pytest.mark.parametrize("kw, error, message", [
    (dict(mode="area", size=2, align_corners=False), ValueError, "align_corners can only"),
    (dict(mode="nearest", size=2, antialias=True), ValueError, "antialias=True is restricted"),
    (dict(mode="area", size=-1), ValueError, "output size must be >= 0"),
    (dict(mode="bilinear", size=2, antialias=1), TypeError, "antialias must be a bool"),
    (dict(mode="lanczos", size=2), ValueError, "'lanczos' is not supported"),
])
def test_errors_name_the_argument(kw, error, message):
    shape = (1, 4, 4) if kw["mode"] == "bilinear" else (1, 4)
    with pytest.raises(error, match=message):
        interpolate_matrix(shape, **kw)
