"""Max pooling selection and average pooling matrices against torch."""

import math

import numpy as np
import pytest
from helpers import (
    F,
    assert_canonical,
    avg_configs,
    from_torch,
    needs_torch,
    peak_bytes,
    pool_configs,
    raises_like,
    seeds,
    to_torch,
    torch,
    torch_op,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from convmat import (
    avg_pool_matrix,
    avg_pool_output_shape,
    max_pool_selection,
    pool_output_shape,
)
from convmat.pooling import avg_pool_factors, selection_matrix
from convmat.shapes import avg_pool_geometry


def sample(rng, shape, kind):
    """Inputs full of ties (small integers), with NaN or -inf sprinkled in on request."""
    x = rng.integers(-2, 3, size=shape).astype(np.float64)
    if kind in ("nan", "inf"):
        special = np.nan if kind == "nan" else -np.inf
        x[rng.random(shape) < 0.3] = special
    elif kind == "normal":
        x = rng.standard_normal(shape)
    return x


def has_empty_window(shape, kw):
    """torch's -inf output on a finite input: a window with no input element."""
    y = torch_op("max_pool", len(shape) - 1)(to_torch(np.zeros(shape)), **kw)
    return bool(torch.isinf(y).any())


# --------------------------------------------------------------------------- max pooling
@needs_torch
@given(pool_configs(), st.sampled_from(["ties", "nan", "inf", "normal"]), seeds)
def test_max_pool_matches_torch(config, kind, seed):
    shape, kw = config
    assume(not has_empty_window(shape, kw))
    x = sample(np.random.default_rng(seed), shape, kind)
    y, idx = torch_op("max_pool", len(shape) - 1)(to_torch(x), return_indices=True, **kw)
    S, indices = max_pool_selection(x, **kw)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, idx[0].numpy())
    np.testing.assert_array_equal(S @ x.ravel(), from_torch(y))
    assert S.shape == (y.numel(), x.size) and S.dtype == np.float64
    np.testing.assert_array_equal(S.indptr, np.arange(S.shape[0] + 1))
    np.testing.assert_array_equal(S.data, 1.0)
    assert_canonical(S)
    assert pool_output_shape(shape, **kw) == tuple(y.shape[1:])


@needs_torch
@given(pool_configs(), st.sampled_from(["ties", "normal"]), seeds)
def test_max_pool_transpose_is_the_gradient(config, kind, seed):
    shape, kw = config
    assume(not has_empty_window(shape, kw))
    rng = np.random.default_rng(seed)
    x = sample(rng, shape, kind)
    xt = to_torch(x).requires_grad_()
    y = torch_op("max_pool", len(shape) - 1)(xt, **kw)
    g = rng.standard_normal(tuple(y.shape[1:]))
    y.backward(to_torch(g))
    S, _ = max_pool_selection(x, **kw)
    np.testing.assert_allclose(S.T @ g.ravel(), from_torch(xt.grad), rtol=0, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int8, np.bool_])
def test_max_pool_dtypes(dtype):
    x = np.random.default_rng(1).integers(-3, 4, size=(2, 5, 6)).astype(dtype)
    S, idx = max_pool_selection(x, 2, stride=1, padding=1)
    y, tidx = F.max_pool2d(to_torch(x.astype(np.float32)), 2, stride=1, padding=1,
                           return_indices=True)
    assert S.dtype == (np.float32 if dtype == np.float32 else np.float64)
    np.testing.assert_array_equal(idx, tidx[0].numpy())
    np.testing.assert_array_equal(S @ x.ravel().astype(S.dtype), from_torch(y))


def test_max_pool_rules_by_hand():
    # Scan order within a window: first maximum, a NaN wins, first in-bounds -inf.
    x = np.array([[1.0, 1.0, np.nan, 0.0, np.nan, 2.0, -np.inf, -np.inf]])
    S, idx = max_pool_selection(x, 2)
    np.testing.assert_array_equal(idx, [[0, 2, 4, 6]])
    S, idx = max_pool_selection(x[:, 2:5], 3)
    np.testing.assert_array_equal(idx, [[2]])  # the last NaN, at position 4 of x
    # Padding is -inf but never chosen, even when the whole window is -inf.
    S, idx = max_pool_selection(np.full((1, 3), -np.inf), 3, stride=1, padding=1)
    np.testing.assert_array_equal(idx, [[0, 0, 1]])
    np.testing.assert_array_equal(S.toarray(), [[1, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_max_pool_refuses_an_empty_window():
    # torch returns -inf here: L=2, k=2, d=3, p=1 puts window 1 at positions 0-1+3 = 2.
    with pytest.raises(ValueError, match="holds no input element"):
        max_pool_selection(np.zeros((1, 2)), 2, stride=1, padding=1, dilation=3)


@st.composite
def maybe_bad_pool(draw, nd_max=3, dilation=True):
    """Pooling arguments from small ranges that include what torch refuses."""
    nd = draw(st.integers(1, nd_max))
    shape = (draw(st.integers(1, 2)),) + tuple(draw(st.integers(1, 5)) for _ in range(nd))
    per_dim = lambda lo, hi: draw(st.one_of(st.integers(lo, hi),
                                            st.tuples(*[st.integers(lo, hi)] * nd)))
    kw = dict(kernel_size=per_dim(-1, 4), padding=per_dim(-1, 2),
              ceil_mode=draw(st.booleans()))
    kw["stride"] = draw(st.one_of(st.none(), st.just(per_dim(-1, 3))))
    if dilation:
        kw["dilation"] = per_dim(0, 3)
    return shape, kw


@needs_torch
@given(maybe_bad_pool(), seeds)
def test_max_pool_errors_like_torch(config, seed):
    shape, kw = config
    x = np.random.default_rng(seed).standard_normal(shape)

    def build():
        try:
            return max_pool_selection(x, **kw)[0], pool_output_shape(shape, **kw)
        except ValueError as error:
            if "holds no input element" not in str(error):
                raise
            return None  # an empty window: refused on purpose

    result = raises_like(lambda: torch_op("max_pool", len(shape) - 1)(to_torch(x), **kw),
                         build)
    if result is not None:
        y, built = result
        assert (built is None) == bool(torch.isinf(y).any())
        if built is not None:
            np.testing.assert_array_equal(built[0] @ x.ravel(), from_torch(y))
            assert built[1] == tuple(y.shape[1:])


# --------------------------------------------------------------------------- average pooling
@needs_torch
@given(avg_configs(), seeds)
def test_avg_pool_matches_torch(config, seed):
    shape, kw = config
    x = np.random.default_rng(seed).standard_normal(shape)
    y = torch_op("avg_pool", len(shape) - 1)(to_torch(x), **kw)
    A = avg_pool_matrix(shape, **kw)
    assert A.dtype == np.float64 and A.shape == (y.numel(), x.size)
    assert avg_pool_output_shape(shape, **kw) == tuple(y.shape[1:])
    np.testing.assert_allclose(A @ x.ravel(), from_torch(y), rtol=1e-12, atol=1e-12)
    assert_canonical(A)


def test_avg_pool_ceil_mode_divisors_by_hand():
    # L=6, k=4, s=3, p=1, ceil: windows [-1, 3), [2, 6), [5, 7) clipped to L + p = 7:
    # divisors 4, 4, 2 (the overhang past the padding is never counted).
    A = avg_pool_matrix((1, 6), 4, stride=3, padding=1, ceil_mode=True)
    np.testing.assert_allclose(A @ np.ones(6), [0.75, 1.0, 0.5])
    A = avg_pool_matrix((1, 6), 4, stride=3, padding=1, ceil_mode=True,
                        count_include_pad=False)
    np.testing.assert_allclose(A @ np.ones(6), [1.0, 1.0, 1.0])
    A = avg_pool_matrix((1, 2, 2), 2, divisor_override=-2)
    np.testing.assert_allclose(A.toarray(), [[-0.5, -0.5, -0.5, -0.5]])


@needs_torch
@given(maybe_bad_pool(dilation=False), st.one_of(st.none(), st.integers(-1, 2)),
       st.booleans())
def test_avg_pool_errors_like_torch(config, divisor, include):
    shape, kw = config
    kw.update(count_include_pad=include)
    if divisor is not None:
        kw["divisor_override"] = divisor
    x = to_torch(np.zeros(shape))
    result = raises_like(lambda: torch_op("avg_pool", len(shape) - 1)(x, **kw),
                         lambda: avg_pool_matrix(shape, **kw))
    if result is not None:
        y, A = result
        assert A.shape == (y.numel(), math.prod(shape))


@pytest.mark.parametrize("bad, error", [
    (dict(divisor_override=2), TypeError),  # torch's avg_pool1d has no divisor_override
    (dict(ceil_mode=1), TypeError),
    (dict(kernel_size=2.0), TypeError),
    (dict(kernel_size=(2, 2)), ValueError),
    (dict(padding=2), ValueError),
    (dict(stride=0), ValueError),
])
def test_avg_pool_argument_errors(bad, error):
    kw = dict(kernel_size=3) | bad
    with pytest.raises(error):
        avg_pool_matrix((1, 8), **kw)


def test_max_entries_is_enforced():
    with pytest.raises(ValueError, match="max_entries"):
        max_pool_selection(np.zeros((1, 8, 8)), 2, max_entries=10)
    with pytest.raises(ValueError, match="max_entries"):
        avg_pool_matrix((1, 8, 8), 2, max_entries=10)
    assert math.prod(pool_output_shape((1, 8, 8), 2)) == 16


# --------------------------------------------------------------------------- sizes and memory
@pytest.mark.parametrize("build", [
    lambda: avg_pool_matrix((1, 10**9), 2, max_entries=10**6),
    lambda: avg_pool_matrix((1, 10**10), 3, stride=1, padding=1, max_entries=10**6),
    lambda: avg_pool_matrix((2, 10**5, 10**5), 3, stride=2, padding=1, ceil_mode=True,
                            count_include_pad=False, max_entries=10**6),
    # an input that costs nothing: one float broadcast to a billion positions
    lambda: max_pool_selection(np.broadcast_to(np.float32(0), (1, 10**9)), 2,
                               max_entries=10**6),
])
def test_oversized_pooling_is_refused_before_any_allocation(build):
    """In 1-D the per-axis arrays are as large as the matrix: the size comes first."""
    peak, _ = peak_bytes(build, ValueError)
    assert peak < 1 << 20


def test_avg_pool_entry_limit_counts_only_the_inputs():
    """By hand: 10 windows of 3 taps at stride 1, padding 1; the first and last window
    each hold one padding zero, which is not stored: 28 entries, refused at 27."""
    assert avg_pool_matrix((1, 10), 3, stride=1, padding=1, max_entries=28).nnz == 28
    with pytest.raises(ValueError, match="28 entries"):
        avg_pool_matrix((1, 10), 3, stride=1, padding=1, max_entries=27)


@pytest.mark.parametrize("helper, expected", [
    (lambda: pool_output_shape((1, 10**8), 2), (1, 5 * 10**7)),
    (lambda: pool_output_shape((1, 10**9), 3, stride=1, padding=1, dilation=2),
     (1, 10**9 - 2)),
    (lambda: pool_output_shape((1, 10**9 + 1), 2, ceil_mode=True), (1, 5 * 10**8 + 1)),
    (lambda: avg_pool_output_shape((3, 10**5, 10**5), 2), (3, 5 * 10**4, 5 * 10**4)),
])
def test_shape_helpers_are_pure_arithmetic(helper, expected):
    peak, shape = peak_bytes(helper)
    assert shape == expected
    assert peak < 1 << 16


def _brute_force_empty(L, k, s, p, d, ceil_mode):
    """The first window (by the definition: taps j s - p + t d) with no tap in [0, L)."""
    span = L + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    for j in range(out):
        if not any(0 <= j * s - p + t * d < L for t in range(k)):
            return j
    return None


def test_empty_windows_are_found_by_arithmetic():
    """Every small configuration: refused exactly when a window holds no input element,
    and the message names that window."""
    import itertools

    for L, k, s, d in itertools.product(range(1, 7), range(1, 5), range(1, 4), range(1, 5)):
        for p, ceil_mode in itertools.product(range(k // 2 + 1), (False, True)):
            if L + 2 * p < d * (k - 1) + 1:
                continue  # no window at all: refused for that reason
            kw = dict(stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
            j = _brute_force_empty(L, k, s, p, d, ceil_mode)
            if j is None:
                pool_output_shape((1, L), k, **kw)
            else:
                with pytest.raises(ValueError, match=f"pooling window {j} of spatial "):
                    pool_output_shape((1, L), k, **kw)


def test_max_pool_temporaries_stay_within_twice_the_result():
    """125 taps per window: the windows' taps are made a block at a time, never all at
    once (that alone would be 262,144 x 125 x 9 bytes, 300 MB)."""
    x = np.zeros((1, 64, 64, 64), np.float32)
    peak, (S, idx) = peak_bytes(lambda: max_pool_selection(x, 5, stride=1, padding=2))
    result = S.data.nbytes + S.indices.nbytes + S.indptr.nbytes + idx.nbytes
    assert S.shape == (64**3, 64**3) and S.nnz == 64**3
    assert peak < 2 * result


@pytest.mark.parametrize("kw, error", [
    (dict(divisor_override=2), TypeError),                   # 1-D: torch has no such argument
    (dict(divisor_override=0, shape=(1, 4, 4)), ValueError),
    (dict(divisor_override=2.5, shape=(1, 4, 4)), TypeError),
    (dict(count_include_pad=1), TypeError),
    (dict(padding=2), ValueError),
    (dict(shape=(1, 1, 1, 1), kernel_size=2, padding=1), ValueError),  # avg_pool3d's check
])
def test_avg_pool_output_shape_validates_like_the_builder(kw, error):
    kw = dict(shape=(1, 8), kernel_size=3) | kw
    shape = kw.pop("shape")
    with pytest.raises(error):
        avg_pool_matrix(shape, **kw)
    with pytest.raises(error):
        avg_pool_output_shape(shape, **kw)


# --------------------------------------------------------------------------- the shared pieces
def test_selection_matrix_of_an_index_map_by_hand():
    """Row i holds a 1 at column src[i], nothing where src[i] = -1; the row pointers may
    be written over the map itself."""
    expected = [[0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 0, 0]]
    S = selection_matrix(np.array([2, -1, 0, -1], np.int32), 3)
    np.testing.assert_array_equal(S.toarray(), expected)
    assert_canonical(S)
    buf = np.empty(5, np.int32)
    buf[1:] = [2, -1, 0, -1]
    S = selection_matrix(buf[1:], 3, indptr=buf)
    np.testing.assert_array_equal(S.toarray(), expected)
    assert S.indptr is buf
    full = selection_matrix(np.array([1, 1, 0], np.int32), 2, np.float32)
    np.testing.assert_array_equal(full.toarray(), [[0, 1], [0, 1], [1, 0]])
    assert full.dtype == np.float32


def test_avg_pool_factors_by_hand():
    """Pairs over 4 inputs with one padding zero at each end: the edge windows hold one
    input and are halved (count_include_pad) or not (without). divisor_override: window
    sums, the first factor carrying 1 / divisor_override."""
    def dense(axis):
        out = np.zeros((axis.n_rows, axis.n_cols))
        valid = np.ones(axis.cols.shape, bool) if axis.valid is None else axis.valid
        rows = np.broadcast_to(np.arange(axis.n_rows)[:, None], axis.cols.shape)
        np.add.at(out, (rows[valid], axis.cols[valid]), axis.values[valid])
        return out

    (f,) = avg_pool_factors(avg_pool_geometry((1, 4), 2, padding=1))
    np.testing.assert_array_equal(dense(f), [[.5, 0, 0, 0], [0, .5, .5, 0], [0, 0, 0, .5]])
    (f,) = avg_pool_factors(avg_pool_geometry((1, 4), 2, padding=1, count_include_pad=False))
    np.testing.assert_array_equal(dense(f), [[1, 0, 0, 0], [0, .5, .5, 0], [0, 0, 0, 1]])
    f0, f1 = avg_pool_factors(avg_pool_geometry((1, 4, 2), 2, divisor_override=3))
    np.testing.assert_allclose(dense(f0), [[1 / 3, 1 / 3, 0, 0], [0, 0, 1 / 3, 1 / 3]])
    np.testing.assert_array_equal(dense(f1), [[1, 1]])
