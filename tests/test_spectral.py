"""convmat.spectral: singular values equal a dense SVD (circulant, strided by polyphase, or
dense); the operator norm's bounds hold (lower <= exact <= upper) and meet rtol."""

import math
import pickle
import re
import time

import numpy as np
import pytest
from helpers import conv_configs
from hypothesis import assume, given
from hypothesis import strategies as st

from convmat import OperatorNorm, conv_matrix, conv_operator_norm, conv_singular_values

# Rounding of the dense reference and of the bounds themselves (double precision sums).
SLACK = 1e-11


def _dense_singular_values(w, shape, **kwargs):
    return np.linalg.svd(conv_matrix(w, shape, **kwargs).toarray(), compute_uv=False)


def _assert_bounds(norm, exact, rtol=None):
    assert isinstance(norm, OperatorNorm) and isinstance(norm, float)
    assert norm.lower <= exact * (1 + SLACK) + SLACK
    assert exact <= norm.upper * (1 + SLACK) + SLACK
    assert norm.lower <= float(norm) <= norm.upper
    if rtol is not None:
        assert norm.upper - norm.lower <= rtol * norm.upper


# --------------------------------------------------------------------------- singular values
@pytest.mark.parametrize("case", [
    dict(w=(3, 2, 3), shape=(2, 8), padding=1),
    dict(w=(2, 2, 3, 3), shape=(2, 5, 6), padding="same"),
    dict(w=(4, 1, 2, 3), shape=(2, 4, 5), padding="same", dilation=(1, 2), groups=2),
    dict(w=(2, 3, 3, 1, 3), shape=(3, 3, 4, 5), padding="same"),
    dict(w=(3, 3, 1, 1), shape=(3, 4, 4), padding=0),
])
@pytest.mark.parametrize("complex_weight", [False, True])
def test_fft_singular_values_equal_the_dense_svd(case, complex_weight):
    case = dict(case)
    rng = np.random.default_rng(20)
    w = rng.standard_normal(case.pop("w"))
    if complex_weight:
        w = w + 1j * rng.standard_normal(w.shape)
    shape = case.pop("shape")
    kwargs = dict(case, padding_mode="circular")
    expected = _dense_singular_values(w, shape, **kwargs)
    got = conv_singular_values(w, shape, method="fft", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    assert conv_operator_norm(w, shape, **kwargs) == pytest.approx(expected[0], rel=1e-12)


@st.composite
def polyphase_configs(draw):
    """A convolution whose output has ``N / s`` rows on every axis: stride ``s`` dividing
    ``N``, circular padding ``p`` with ``ek - s <= 2p <= ek - 1`` (``ek = d (k - 1) + 1``),
    or no padding at all and ``ek <= s`` (any padding mode then)."""
    nd = draw(st.integers(1, 2))
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    coarse = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    kernel = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    dilation = tuple(draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    size = tuple(s * m for s, m in zip(stride, coarse))
    padding = []
    for k, d, s, n in zip(kernel, dilation, stride, size):
        ek = d * (k - 1) + 1
        lo, hi = max(0, -(-(ek - s) // 2)), (ek - 1) // 2
        assume(lo <= hi and hi <= n)
        padding.append(draw(st.integers(lo, min(hi, n))))
    mode = "circular" if any(padding) else draw(st.sampled_from(["zeros", "reflect",
                                                                  "circular"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    w = rng.standard_normal((c_out, c_in // groups, *kernel))
    if draw(st.booleans()):
        w = w + 1j * rng.standard_normal(w.shape)
    return w, (c_in, *size), dict(stride=stride, padding=tuple(padding), dilation=dilation,
                                  groups=groups, padding_mode=mode)


@given(polyphase_configs())
def test_strided_circular_singular_values_equal_the_dense_svd(config):
    w, shape, kwargs = config
    expected = _dense_singular_values(w, shape, **kwargs)
    got = conv_singular_values(w, shape, method="fft", **kwargs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    norm = conv_operator_norm(w, shape, **kwargs)
    assert norm.method == "fft"
    assert norm == pytest.approx(expected[0], rel=1e-12, abs=1e-12)


def test_stride_two_by_hand():
    # [1, 2, 3] at stride 2 over 4 wrapped inputs: y = [x3 + 2 x0 + 3 x1, x1 + 2 x2 + 3 x3]
    # = [[2, 3, 0, 1], [0, 1, 2, 3]]; rows of squared norm 14, inner product 6: the Gram
    # matrix [[14, 6], [6, 14]] has eigenvalues 20 and 8.
    w = np.array([[[1., 2., 3.]]])
    got = conv_singular_values(w, (1, 4), stride=2, padding=1, padding_mode="circular")
    np.testing.assert_allclose(got, [math.sqrt(20), math.sqrt(8)], rtol=1e-14)


@pytest.mark.parametrize("kwargs", [
    dict(padding=1),                                   # zero padding: not circulant
    dict(padding=1, stride=2, padding_mode="circular"),
    dict(padding=2, padding_mode="reflect", dilation=2),
    dict(padding=(0, 1), groups=2),
])
def test_svds_norm_and_dense_fallback_equal_the_dense_svd(kwargs):
    rng = np.random.default_rng(21)
    w = rng.standard_normal((4, 1 if kwargs.get("groups") else 2, 3, 3))
    shape = (2, 7, 6)
    expected = _dense_singular_values(w, shape, **kwargs)
    assert conv_operator_norm(w, shape, method="svds", **kwargs) == pytest.approx(
        expected[0], rel=1e-9)
    np.testing.assert_allclose(conv_singular_values(w, shape, **kwargs), expected,
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="method='fft' needs a circulant"):
        conv_singular_values(w, shape, method="fft", **kwargs)


def test_spectral_arguments_are_checked():
    w = np.ones((1, 1, 3))
    with pytest.raises(ValueError, match="method must be one of"):
        conv_operator_norm(w, (1, 5), method="power")
    with pytest.raises(ValueError, match="largest singular value"):
        conv_singular_values(w, (1, 5), method="svds")
    with pytest.raises(ValueError, match="at least 2 rows"):
        conv_operator_norm(w, (1, 3), method="svds")
    # Past 4096 matrix entries "auto" means svds: compare with the dense SVD.
    w = np.random.default_rng(22).standard_normal((1, 1, 3, 3))
    dense = _dense_singular_values(w, (1, 12, 12), padding=1)[0]
    assert conv_operator_norm(w, (1, 12, 12), padding=1) == pytest.approx(dense, rel=1e-9)


# --------------------------------------------------------------------------- certified norm
@given(conv_configs(modes=("zeros", "circular")))
def test_bounds_hold_for_random_convolutions(config):
    w, shape, kwargs = config
    try:
        A = conv_matrix(w, shape, **kwargs)
    except ValueError:
        assume(False)
    try:
        # rtol just below 1: any honest pair of bounds qualifies, whatever the grid.
        norm = conv_operator_norm(w, shape, method="bounds", rtol=0.999, max_iter=20,
                                  **kwargs)
    except ValueError as err:
        if "needs zero or circular" in str(err):  # a cropping circular padding
            assert min(kwargs["padding"]) < 0
            return
        # Even lower < 0.001 upper (a map that is 0, or nearly): the bounds reached hold.
        lower, upper = map(float, re.search(r"reached \[(\S+), (\S+)\]", str(err)).groups())
        norm = OperatorNorm(lower, lower, upper, "bounds")
    _assert_bounds(norm, np.linalg.norm(A.toarray(), 2) if min(A.shape) else 0.0)


@given(conv_configs(modes=("zeros", "reflect", "replicate", "circular")),
       st.sampled_from([1e-2, 1e-6]))
def test_auto_meets_rtol_with_honest_bounds(config, rtol):
    w, shape, kwargs = config
    try:
        A = conv_matrix(w, shape, **kwargs)
    except ValueError:
        assume(False)
    norm = conv_operator_norm(w, shape, rtol=rtol, **kwargs)
    _assert_bounds(norm, np.linalg.norm(A.toarray(), 2), rtol=max(rtol, 1e-12))


@pytest.mark.parametrize("weight_shape, shape, kwargs, rtol", [
    ((2, 1, 3), (1, 600), dict(padding=1), 1e-4),
    ((2, 1, 3), (2, 600), dict(padding=2, stride=2, groups=2), 1e-3),
    ((1, 1, 3, 3), (1, 30, 30), dict(padding=1), 2e-2),
    ((2, 2, 2, 3), (2, 24, 30), dict(padding=(1, 2), stride=(1, 2)), 2e-2),
])
@pytest.mark.parametrize("complex_weight", [False, True])
def test_certified_bounds_on_grids_large_enough(weight_shape, shape, kwargs, rtol,
                                                complex_weight):
    rng = np.random.default_rng(23)
    w = rng.standard_normal(weight_shape)
    if complex_weight:
        w = w + 1j * rng.standard_normal(weight_shape)
    norm = conv_operator_norm(w, shape, rtol=rtol, method="bounds", **kwargs)
    A = conv_matrix(w, shape, **kwargs)
    G = (A.conj().T @ A) if A.shape[1] <= A.shape[0] else (A @ A.conj().T)
    exact = math.sqrt(np.linalg.eigvalsh(G.toarray())[-1])  # at most 900 x 900
    _assert_bounds(norm, exact, rtol=rtol)
    assert norm.method == "bounds" and norm.gap <= rtol


def test_target_case_certifies_quickly():
    # 3 -> 2 channels, 3x3, padding 1 on 3 x 256 x 256: power iteration needs thousands of
    # steps for 1e-4; the circulant bound and a windowed plane wave take well under 2 s.
    w = np.random.default_rng(24).standard_normal((2, 3, 3, 3))
    start = time.perf_counter()
    norm = conv_operator_norm(w, (3, 256, 256), padding=1, rtol=1e-4)
    elapsed = time.perf_counter() - start
    assert norm.method == "bounds" and norm.upper - norm.lower <= 1e-4 * norm.upper
    assert elapsed < 10  # 0.2-0.5 s alone; generous for a loaded machine
    # The circulant on the same grid is an upper bound of the zero-padded map, and the
    # lower bound is an actual Rayleigh quotient.
    circular = conv_operator_norm(w, (3, 258, 258), padding=1, padding_mode="circular")
    assert norm.upper <= float(circular) * (1 + 1e-12)


def test_loose_bounds_fall_back_to_exact_answers():
    w = np.random.default_rng(25).standard_normal((2, 3, 3, 3))
    shape = (3, 10, 10)
    exact = _dense_singular_values(w, shape, padding=1)[0]
    with pytest.raises(ValueError, match="relative gap"):
        conv_operator_norm(w, shape, padding=1, method="bounds", rtol=1e-6)
    norm = conv_operator_norm(w, shape, padding=1, rtol=1e-6)
    assert norm.method == "dense"
    _assert_bounds(norm, exact, rtol=1e-12)
    norm = conv_operator_norm(w, shape, padding=1, padding_mode="replicate")
    _assert_bounds(norm, _dense_singular_values(w, shape, padding=1,
                                                padding_mode="replicate")[0], rtol=1e-12)


def test_a_map_too_large_to_certify_is_refused_with_the_bounds_reached():
    # A 1-D grid of 300,000: the circulant is within ~1e-12 of the norm but not 1e-15.
    w = np.array([[[1.0, 2.0, 3.0]]])
    with pytest.raises(ValueError, match=r"cannot certify rtol=1e-15.*\[5\.99.*pass rtol"):
        conv_operator_norm(w, (1, 300_000), padding=1, rtol=1e-15, max_iter=20)


def test_float32_weight_is_measured_in_double_precision():
    w = np.random.default_rng(26).standard_normal((2, 2, 3)).astype(np.float32)
    a = conv_operator_norm(w, (2, 9), padding=1)
    b = conv_operator_norm(w.astype(np.float64), (2, 9), padding=1)
    assert float(a) == pytest.approx(float(b), rel=1e-12)


def test_operator_norm_is_a_float():
    norm = conv_operator_norm(np.array([[[1., 2., 3.]]]), (1, 4), padding=1,
                              padding_mode="circular")
    assert norm == 6.0 and norm + 1 == 7.0 and round(norm, 3) == 6.0 and f"{norm:.1f}" == "6.0"
    assert str(norm) == "6.0" and "lower=6.0" in repr(norm) and norm.gap == 0.0
    assert pickle.loads(pickle.dumps(norm)).upper == 6.0
    with pytest.raises(AttributeError, match="immutable"):
        norm.lower = 0.0


# --------------------------------------------------------------------------- hostile input
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("func", [conv_operator_norm, conv_singular_values])
def test_non_finite_weight_is_refused(func, bad):
    w = np.ones((1, 1, 3))
    w[0, 0, 1] = bad
    with pytest.raises(ValueError, match=r"weight must be finite, got weight\[\(0, 0, 1\)\]"):
        func(w, (1, 5), padding=1)


@pytest.mark.parametrize("value, error", [
    (-1, ValueError), (np.nan, ValueError), (1.0, ValueError), (np.inf, ValueError),
    (True, TypeError), ("1e-3", TypeError), (None, TypeError), (1j, TypeError),
])
def test_rtol_and_tol_are_checked(value, error):
    w = np.ones((1, 1, 3))
    with pytest.raises(error, match="rtol"):
        conv_operator_norm(w, (1, 5), rtol=value)
    if value is not None:
        with pytest.raises(error, match="tol"):
            conv_operator_norm(w, (1, 5), tol=value)


def test_other_arguments_are_checked():
    w = np.ones((1, 1, 3))
    with pytest.raises(ValueError, match="max_iter must be positive"):
        conv_operator_norm(w, (1, 5), max_iter=0)
    with pytest.raises(TypeError, match="max_iter"):
        conv_operator_norm(w, (1, 5), max_iter=2.5)
    with pytest.raises(ValueError, match="method must be one of"):
        conv_operator_norm(w, (1, 5), method=np.array(["fft"]))
    with pytest.raises(ValueError, match="needs zero or circular"):
        conv_operator_norm(w, (1, 5), padding=1, padding_mode="reflect", method="bounds")
    with pytest.raises(ValueError, match="method='bounds' finds only the largest"):
        conv_singular_values(w, (1, 5), method="bounds")
    # A size whose symbol or vectors would not fit is refused before allocating.
    with pytest.raises(ValueError, match="input_shape=.* is too large"):
        conv_operator_norm(w, (1, 10**12), padding=1)
