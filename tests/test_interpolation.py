"""Interpolation matrices (nearest, nearest-exact, linear, bilinear, trilinear, bicubic)
against torch, by hand, and sized before they are built."""

import math

import numpy as np
import pytest
from helpers import INTERPOLATE_MODES as MODES
from helpers import (
    F,
    assert_canonical,
    from_torch,
    interpolate_configs,
    needs_torch,
    peak_bytes,
    raises_like,
    same_matrix,
    seeds,
    to_torch,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from convmat import avg_pool_matrix, interpolate_matrix, interpolate_output_shape
from convmat.interpolation import interpolate_entries
from convmat.shapes import interpolate_geometry


# --------------------------------------------------------------------------- against torch
@needs_torch
@given(interpolate_configs(), st.sampled_from([np.float64, np.float32]), seeds)
def test_interpolate_matches_torch(config, dtype, seed):
    shape, kw = config
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    expected = from_torch(F.interpolate(to_torch(x), **kw))
    M = interpolate_matrix(shape, dtype=dtype, **kw)
    assert M.dtype == dtype and M.shape == (expected.size, x.size)
    if kw["mode"].startswith("nearest"):  # the same indices, so exactly the same values
        np.testing.assert_array_equal(M @ x.ravel(), expected)
    else:
        tol = 1e-12 if dtype == np.float64 else 2e-5
        np.testing.assert_allclose(M @ x.ravel(), expected, rtol=tol, atol=tol)
    assert_canonical(M)
    out = F.interpolate(to_torch(np.zeros(shape)), **kw).shape[1:]
    assert interpolate_output_shape(shape, **kw) == tuple(out)


@needs_torch
@pytest.mark.parametrize("shape, kw, dtype, picked", [
    # L=5, scale 1.1 (O=5): the generic kernels read [0, 0, 1, 2, 3] ...
    ((1, 5), dict(scale_factor=1.1), np.float64, [0, 0, 1, 2, 3]),
    ((1, 5, 130), dict(scale_factor=(1.1, 1)), np.float64, [0, 0, 1, 2, 3]),
    # ... the 2-D kernel for small outputs (H + W <= 128) copies at O == L.
    ((1, 5, 1), dict(scale_factor=(1.1, 1)), np.float64, [0, 1, 2, 3, 4]),
    # nearest-exact, L=2 to 41, output 20: 1 for float64 in 1-D, 0 in small 2-D (float32).
    ((1, 2), dict(size=41, mode="nearest-exact"), np.float64, None),
    ((1, 2, 1), dict(size=(41, 1), mode="nearest-exact"), np.float64, None),
    ((1, 2), dict(size=41, mode="nearest-exact"), np.float32, None),
])
def test_interpolate_nearest_kernels(shape, kw, dtype, picked):
    x = np.arange(math.prod(shape), dtype=dtype).reshape(shape)
    y = interpolate_matrix(shape, dtype=dtype, **kw) @ x.ravel()
    np.testing.assert_array_equal(y, from_torch(F.interpolate(to_torch(x), **kw)))
    if picked is not None:
        rows = y.reshape(len(picked), -1)[:, 0]  # x[h, 0] = h * W
        np.testing.assert_array_equal(rows // (shape[-1] if len(shape) == 3 else 1), picked)


def test_interpolate_linear_by_hand():
    # L=3 to 5 with align_corners: samples at 0, 0.5, 1, 1.5, 2.
    M = interpolate_matrix((1, 3), size=5, mode="linear", align_corners=True)
    np.testing.assert_allclose(M.toarray(), [[1, 0, 0], [.5, .5, 0], [0, 1, 0],
                                             [0, .5, .5], [0, 0, 1]])
    # Without: samples at max(0, (j + 1/2) * 3/5 - 1/2) = 0, 0.4, 1, 1.6, 2.2 (clamped).
    M = interpolate_matrix((1, 3), size=5, mode="linear")
    np.testing.assert_allclose(M.toarray(), [[1, 0, 0], [.6, .4, 0], [0, 1, 0],
                                             [0, .4, .6], [0, 0, 1]])


@given(st.integers(1, 3), st.integers(1, 4), seeds)
def test_nearest_upsampling_is_transposed_sum_pooling(nd, k, seed):
    rng = np.random.default_rng(seed)
    shape = (2,) + tuple(rng.integers(1, 5, nd))
    up = interpolate_matrix(shape, scale_factor=k)
    big = (2,) + tuple(L * k for L in shape[1:])
    same_matrix(up, (avg_pool_matrix(big, k) * k**nd).T)


@needs_torch
@given(st.integers(0, 4), st.sampled_from(list(MODES[1] + MODES[2][2:] + ["trilinear", "area"])),
       st.sampled_from([None, 3, (3,), (3, 4), 0, 2.5]),
       st.sampled_from([None, 2, (2, 2), 0.1, -1.0, "2"]),
       st.sampled_from([None, False, True]), st.sampled_from([None, False, True]))
def test_interpolate_errors_like_torch(nd, mode, size, scale, align, recompute):
    shape = (1,) + (3,) * nd
    kw = dict(size=size, scale_factor=scale, mode=mode, align_corners=align,
              recompute_scale_factor=recompute)
    # torch "recomputes" int(L * "2") = int("222") (area mode always does): a string is
    # refused here, always.
    assume(not (isinstance(scale, str) and (recompute or mode == "area")))
    result = raises_like(lambda: F.interpolate(to_torch(np.zeros(shape)), **kw),
                         lambda: interpolate_matrix(shape, **kw))
    if result is not None:
        expected, M = result
        assert M.shape == (expected.numel(), math.prod(shape))


def test_interpolate_refuses_other_modes_and_dtypes():
    with pytest.raises(ValueError, match="lanczos"):
        interpolate_matrix((1, 4), size=2, mode="lanczos")
    with pytest.raises(TypeError, match="dtype"):
        interpolate_matrix((1, 4), size=2, dtype=np.float16)

def test_bicubic_at_the_same_size_keeps_its_four_taps():
    """By hand: L = 4 to O = 4 samples at the pixels themselves (t = 0), so the weights of
    x[i-1 .. i+2] are (0, 1, 0, 0): the identity, with the zero taps kept as structure.
    Clamped to [0, 3] they are 3, 4, 3 and 2 distinct inputs: 12 entries, not 4."""
    M = interpolate_matrix((1, 4, 1), size=(4, 1), mode="bicubic")
    np.testing.assert_array_equal(M.toarray(), np.eye(4))
    assert M.nnz == 12
    assert np.diff(M.indptr).tolist() == [3, 4, 3, 2]


@given(interpolate_configs())
def test_the_size_bound_is_never_below_the_matrix(config):
    """The matrix is refused by arithmetic before its factors exist: the bound used must
    hold every stored entry (else the refusal comes late, after allocating)."""
    shape, kw = config
    geo = interpolate_geometry(shape, **kw)
    assert shape[0] * math.prod(interpolate_entries(geo)) >= interpolate_matrix(shape, **kw).nnz


# --------------------------------------------------------------------------- sizes and memory
@pytest.mark.parametrize("build", [
    lambda: interpolate_matrix((1, 10**9), scale_factor=2, max_entries=10**6),
    lambda: interpolate_matrix((1, 10**9), scale_factor=2, mode="linear", max_entries=10**6),
    lambda: interpolate_matrix((1, 10**10), size=10**10, mode="linear", max_entries=10**6),
    lambda: interpolate_matrix((1, 10**5, 10**5), scale_factor=0.5, mode="bicubic",
                               dtype=np.float32, max_entries=10**6),
])
def test_oversized_interpolation_is_refused_before_any_allocation(build):
    """In 1-D the per-axis factors are as large as the matrix: the size comes first (with
    10**10 elements they used to raise MemoryError)."""
    peak, _ = peak_bytes(build, ValueError)
    assert peak < 1 << 20


@pytest.mark.parametrize("shape, kw, nnz", [
    ((2, 3), dict(scale_factor=2), 12),                     # one tap per output
    ((1, 4), dict(size=4, mode="linear"), 4),               # O == L: torch copies
    ((1, 1), dict(size=5, mode="linear"), 5),               # one input: one tap
    ((1, 1, 1), dict(size=(3, 3), mode="bicubic"), 9),      # 4 taps clamped onto 1
])
def test_interpolate_limit_is_not_stricter_than_the_matrix(shape, kw, nnz):
    """The bound checked up front is exact here: a limit of nnz builds the matrix."""
    assert interpolate_matrix(shape, max_entries=nnz, **kw).nnz == nnz
