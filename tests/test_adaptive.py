"""Adaptive average and max pooling: against torch, by hand, the identities with average
pooling and ``interpolate(mode="area")``, the matrix-free operators, and sizes."""

import math

import numpy as np
import pytest
from helpers import (
    assert_canonical,
    from_torch,
    needs_torch,
    peak_bytes,
    raises_like,
    same_matrix,
    seeds,
    to_torch,
    torch,
    torch_op,
)
from hypothesis import given
from hypothesis import strategies as st

from convmat import (
    adaptive_avg_pool_matrix,
    adaptive_avg_pool_operator,
    adaptive_max_pool_operator,
    adaptive_max_pool_selection,
    adaptive_pool_output_shape,
    avg_pool_matrix,
    interpolate_matrix,
)
from convmat.adaptive import adaptive_axis, adaptive_pool_geometry
from convmat.testing import assert_adjoint

MAX_SIZE = {1: 12, 2: 7, 3: 4}


@st.composite
def adaptive_configs(draw, empty=True):
    """``(input_shape, output_size)``: 1-3 spatial dimensions, outputs smaller and larger
    than the input (and 0 when ``empty``), ``None`` entries in 2-D and 3-D."""
    nd = draw(st.integers(1, 3))
    size = [draw(st.integers(1, MAX_SIZE[nd])) for _ in range(nd)]
    low = 0 if empty else 1
    out = [draw(st.integers(low, 2 * L + 1)) for L in size]
    if nd > 1:
        out = [None if draw(st.integers(0, 4)) == 0 else O for O in out]
    output_size = out[0] if len(set(out)) == 1 and draw(st.booleans()) else tuple(out)
    if output_size is None:
        output_size = (None,) * nd
    return (draw(st.integers(1, 3)), *size), output_size


def _resolved(shape, output_size):
    n = len(shape) - 1
    sizes = output_size if isinstance(output_size, tuple) else (output_size,) * n
    return tuple(L if O is None else O for L, O in zip(shape[1:], sizes))


def _values(shape, seed, dtype=np.float64):
    """Ties (small integers), NaNs and infinities: every rule of torch's argmax."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(dtype)
    specials = rng.choice([np.nan, np.inf, -np.inf], size=shape)
    return np.where(rng.random(shape) < 0.1, specials, x).astype(dtype)


# --------------------------------------------------------------------------- against torch
@needs_torch
@given(adaptive_configs(), st.sampled_from([np.float64, np.float32]), seeds)
def test_adaptive_avg_pool_matches_torch(config, dtype, seed):
    shape, output_size = config
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    op = torch_op("adaptive_avg_pool", len(shape) - 1)
    expected = op(to_torch(x), output_size)
    A = adaptive_avg_pool_matrix(shape, output_size, dtype=dtype)
    assert A.dtype == dtype and A.shape == (expected.numel(), x.size)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(A @ x.ravel(), from_torch(expected), rtol=tol, atol=tol)
    assert_canonical(A)
    assert adaptive_pool_output_shape(shape, output_size) == tuple(expected.shape[1:])


@needs_torch
@given(adaptive_configs(), st.sampled_from([np.float64, np.float32]), seeds)
def test_adaptive_max_pool_matches_torch(config, dtype, seed):
    shape, output_size = config
    x = _values(shape, seed, dtype)
    op = torch_op("adaptive_max_pool", len(shape) - 1)
    values, indices = op(to_torch(x), output_size, return_indices=True)
    S, idx = adaptive_max_pool_selection(x, output_size)
    np.testing.assert_array_equal(idx, indices[0].numpy())
    np.testing.assert_array_equal(S @ x.ravel(), from_torch(values))  # NaN == NaN here
    assert S.dtype == dtype and S.shape == (values.numel(), x.size)
    np.testing.assert_array_equal(np.diff(S.indptr), 1)  # exactly one 1 per row
    np.testing.assert_array_equal(S.data, 1)
    assert_canonical(S)


@needs_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("output_size", [
    None, 0, -1, 2.0, True, "2", (2,), (2, 2), (2, 2, 2), (None,), (None, 2), (2, None, 2),
    (-1, 2), (np.int64(2),) * 3, (2.5, 2),
])
def test_output_size_errors_like_torch(nd, output_size):
    shape = (2,) + (4,) * nd
    x = to_torch(np.zeros(shape))
    results = [
        raises_like(lambda: torch_op("adaptive_avg_pool", nd)(x, output_size),
                    lambda: adaptive_avg_pool_matrix(shape, output_size)),
        raises_like(lambda: torch_op("adaptive_max_pool", nd)(x, output_size),
                    lambda: adaptive_max_pool_selection(np.zeros(shape), output_size)[0]),
    ]
    for result in results:
        if result is not None:
            expected, A = result
            assert A.shape == (expected.numel(), math.prod(shape))


@needs_torch
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex128])
def test_adaptive_max_pool_refuses_what_torch_has_no_kernel_for(dtype):
    x = np.ones((1, 4), dtype=dtype)
    with pytest.raises((RuntimeError, NotImplementedError)):
        torch.nn.functional.adaptive_max_pool1d(to_torch(x), 2)
    with pytest.raises(TypeError, match="x must hold float values"):
        adaptive_max_pool_selection(x, 2)


@needs_torch
def test_half_precision_is_read_exactly():
    """float16 inputs (torch pools them too) give a float32 selection."""
    x = _values((2, 6, 5), 3, np.float16)
    values, indices = torch.nn.functional.adaptive_max_pool2d(
        torch.from_numpy(x)[None], (4, 3), return_indices=True)
    S, idx = adaptive_max_pool_selection(x, (4, 3))
    assert S.dtype == np.float32
    np.testing.assert_array_equal(idx, indices[0].numpy())


# --------------------------------------------------------------------------- by hand
def test_windows_by_hand():
    """5 inputs to 3: [floor(jL/O), ceil((j+1)L/O)) = [0, 2), [1, 4), [3, 5); 2 to 3
    (upsampling): [0, 1), [0, 2), [1, 2)."""
    A = adaptive_avg_pool_matrix((1, 5), 3)
    t = 1 / 3
    np.testing.assert_allclose(A.toarray(), [[.5, .5, 0, 0, 0], [0, t, t, t, 0],
                                             [0, 0, 0, .5, .5]])
    np.testing.assert_allclose(adaptive_avg_pool_matrix((1, 2), 3).toarray(),
                               [[1, 0], [.5, .5], [0, 1]])


def test_max_rules_by_hand():
    """torch moves to a tap iff it is larger or NaN: the first of tied maxima and the
    last NaN win; a window of -inf keeps its first element."""
    x = np.array([[1., 3., 3., 1., np.nan, 5., np.nan, 2., -np.inf, -np.inf]])
    _, idx = adaptive_max_pool_selection(x, 3)  # windows [0, 4), [3, 7), [6, 10)
    np.testing.assert_array_equal(idx, [[1, 6, 6]])
    _, idx = adaptive_max_pool_selection(x[:, 8:], 1)
    np.testing.assert_array_equal(idx, [[0]])


def test_none_keeps_the_input_size_in_2d_and_3d_only():
    assert adaptive_pool_output_shape((2, 5, 7), (3, None)) == (2, 3, 7)
    assert adaptive_pool_output_shape((1, 4, 5, 6), (None, 2, None)) == (1, 4, 2, 6)
    with pytest.raises(TypeError, match="output_size must be an integer or a sequence of 1"):
        adaptive_pool_output_shape((1, 5), None)
    with pytest.raises(TypeError, match=r"got output_size=\(None,\)"):
        adaptive_avg_pool_matrix((1, 5), (None,))


@pytest.mark.parametrize("call, error, message", [
    (lambda: adaptive_avg_pool_matrix((1, 4, 4), (2, 2, 2)), ValueError,
     "output_size must have 2 entries"),
    (lambda: adaptive_avg_pool_matrix((1, 4), -1), ValueError,
     "output_size must hold sizes >= 0"),
    (lambda: adaptive_avg_pool_matrix((1, 4), 2.0), TypeError, "got output_size=2.0"),
    (lambda: adaptive_avg_pool_matrix((1, 4), True), TypeError, "got output_size=True"),
    (lambda: adaptive_avg_pool_matrix((1, 0), 2), ValueError, "positive sizes"),
    (lambda: adaptive_avg_pool_matrix((1, 2, 2, 2, 2), 2), ValueError,
     "1 or 2 or 3 spatial dimension"),
    (lambda: adaptive_avg_pool_matrix((1, 4), 2, dtype=np.float16), TypeError, "dtype"),
    (lambda: adaptive_max_pool_selection([[1, 2]], 1), TypeError, "float values"),
])
def test_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------- identities
@given(st.integers(1, 3), st.data())
def test_divisible_sizes_are_average_pooling(nd, data):
    """When O divides L the windows are the L/O-wide tiles of avg_pool with that kernel."""
    out = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    shape = (2, *(o * k for o, k in zip(out, kernel)))
    same_matrix(adaptive_avg_pool_matrix(shape, out), avg_pool_matrix(shape, kernel))


@needs_torch
@given(adaptive_configs(), st.sampled_from([np.float64, np.float32]))
def test_area_interpolation_is_adaptive_average_pooling(config, dtype):
    shape, output_size = config
    out = _resolved(shape, output_size)
    A = adaptive_avg_pool_matrix(shape, output_size, dtype=dtype)
    same_matrix(interpolate_matrix(shape, size=out, mode="area", dtype=dtype), A)
    # torch agrees: F.interpolate(mode="area") calls adaptive_avg_pool
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    expected = torch.nn.functional.interpolate(to_torch(x), size=out, mode="area")
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(A @ x.ravel(), from_torch(expected), rtol=tol, atol=tol)


@given(st.integers(1, 40), st.integers(0, 40))
def test_entries_are_counted_by_arithmetic(L, O):
    """L + O - gcd(L, O) stored entries: the sizes a budget is checked against."""
    geo = adaptive_pool_geometry((1, L), O)
    A = adaptive_avg_pool_matrix((1, L), O)
    assert geo.entries() == [A.nnz]
    np.testing.assert_allclose(A.sum(axis=1), 1)  # every row averages
    assert adaptive_axis(L, O).counts().sum() == A.nnz


# --------------------------------------------------------------------------- operators
@given(adaptive_configs(empty=False), st.sampled_from([np.float64, np.float32]))
def test_avg_operator_equals_matrix(config, dtype):
    shape, output_size = config
    A = adaptive_avg_pool_matrix(shape, output_size, dtype=dtype)
    op = adaptive_avg_pool_operator(shape, output_size, dtype=dtype)
    assert op.shape == A.shape and op.dtype == dtype
    np.testing.assert_allclose(op @ np.eye(A.shape[1], dtype=dtype), A.toarray(), rtol=1e-6)
    np.testing.assert_allclose(op.H @ np.eye(A.shape[0], dtype=dtype), A.T.toarray(),
                               rtol=1e-6)
    assert_adjoint(op, dtype=dtype, rng=0)
    assert_adjoint(A, dtype=dtype, rng=0)


@given(adaptive_configs(empty=False), seeds)
def test_max_operator_equals_selection(config, seed):
    shape, output_size = config
    x = _values(shape, seed)
    S, _ = adaptive_max_pool_selection(x, output_size)
    op = adaptive_max_pool_operator(x, output_size)
    assert op.shape == S.shape
    np.testing.assert_array_equal(op @ np.eye(S.shape[1]), S.toarray())
    np.testing.assert_array_equal(op.H @ np.eye(S.shape[0]), S.T.toarray())
    assert_adjoint(op, rng=0)


def test_large_windows_are_gathered_in_blocks():
    """One window of 64 x 64 over 200 channels (more taps than a block holds), and
    many small windows: the same winners as a brute-force argmax."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 64, 64))
    _, idx = adaptive_max_pool_selection(x, 1)
    np.testing.assert_array_equal(idx[:, 0, 0], x.reshape(200, -1).argmax(axis=1))
    x = rng.standard_normal((3, 40, 40))
    _, idx = adaptive_max_pool_selection(x, 80)  # windows of 1 or 2 per axis
    ref = adaptive_max_pool_operator(x, 80) @ x.ravel()
    np.testing.assert_array_equal(x.reshape(3, -1)[np.arange(3)[:, None], idx.reshape(3, -1)]
                                  .ravel(), ref)


# --------------------------------------------------------------------------- sizes
@pytest.mark.parametrize("build", [
    lambda: adaptive_avg_pool_matrix((1, 10**9), 10**9, max_entries=10**6),
    lambda: adaptive_avg_pool_matrix((3, 10**5, 10**5), (10**4, None), max_entries=10**6),
    lambda: adaptive_avg_pool_operator((1, 10**9), 10**12),
    lambda: adaptive_max_pool_selection(np.broadcast_to(np.float32(0), (1, 10**9)), 10**8,
                                        max_entries=10**6),
])
def test_oversized_pooling_is_refused_before_any_allocation(build):
    peak, _ = peak_bytes(lambda: _refused(build))
    assert peak < 1 << 20


def _refused(build):
    with pytest.raises(ValueError, match="max_entries="):
        build()


def test_entry_limit_is_exact():
    """By hand: 5 to 3 stores 2 + 3 + 2 = 7 entries (5 + 3 - gcd(5, 3))."""
    assert adaptive_avg_pool_matrix((1, 5), 3, max_entries=7).nnz == 7
    with pytest.raises(ValueError, match="7 entries"):
        adaptive_avg_pool_matrix((1, 5), 3, max_entries=6)


def test_shape_helper_is_pure_arithmetic():
    peak, shape = peak_bytes(lambda: adaptive_pool_output_shape((3, 10**9, 10**9), (7, None)))
    assert shape == (3, 7, 10**9)
    assert peak < 1 << 16
