"""unfold_matrix / fold_matrix (im2col, col2im) and conv_weight_matrix: torch as the
oracle, hand-worked examples, and the identities (fold = unfold^T, the im2col product,
the convolution linear in its weight, the weight gradient)."""

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import (
    F,
    assert_canonical,
    from_torch,
    needs_torch,
    peak_bytes,
    raises_like,
    to_torch,
    torch,
)
from hypothesis import given
from hypothesis import strategies as st

from convmat import (
    conv_matrix,
    conv_weight_matrix,
    conv_weight_operator,
    conv_weight_output_shape,
    fold_matrix,
    fold_operator,
    fold_output_shape,
    unfold_matrix,
    unfold_operator,
    unfold_output_shape,
)
from convmat.testing import dottest

MODES = ["zeros", "reflect", "replicate", "circular"]


# --------------------------------------------------------------------------- strategies
@st.composite
def unfold_configs(draw):
    """A random (input_shape, kwargs) for F.unfold, valid or not (torch decides)."""
    pair = lambda lo, hi: draw(st.one_of(st.integers(lo, hi),
                                         st.tuples(st.integers(lo, hi), st.integers(lo, hi))))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    kw = dict(kernel_size=pair(1, 3), dilation=pair(1, 2), padding=pair(0, 3),
              stride=pair(1, 3))
    return shape, kw


@st.composite
def conv_weight_configs(draw):
    """A random convolution, valid or not: (weight_shape, input_shape, kwargs)."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    per_dim = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(nd))
    kernel, size = per_dim(1, 3), per_dim(1, 6 if nd < 3 else 4)
    padding = draw(st.one_of(st.integers(-1, 2), st.just(per_dim(0, 2)),
                             st.sampled_from(["same", "valid"])))
    stride = (1,) * nd if padding == "same" else per_dim(1, 3)
    kw = dict(stride=stride, padding=padding, dilation=per_dim(1, 2), groups=groups,
              padding_mode=draw(st.sampled_from(MODES)))
    return (c_out, c_in // groups, *kernel), (c_in, *size), kw


def torch_conv_module(wshape, kw):
    """nn.ConvNd (every padding mode), whose ``_conv_forward`` takes any weight."""
    Conv = [torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d][len(wshape) - 3]
    return Conv(wshape[1] * kw["groups"], wshape[0], wshape[2:], bias=False,
                dtype=torch.float64, **kw)


# --------------------------------------------------------------------------- oracle
@needs_torch
@given(unfold_configs(), st.integers(0, 2**32 - 1))
def test_unfold_and_fold_equal_torch(config, seed):
    shape, kw = config
    x = np.random.default_rng(seed).standard_normal(shape)
    got = raises_like(lambda: F.unfold(to_torch(x), **kw), lambda: unfold_matrix(shape, **kw))
    if got is None:
        with pytest.raises(ValueError):
            unfold_operator(shape, **kw)
        return
    expected, U = got
    assert unfold_output_shape(shape, **kw) == tuple(expected.shape[1:])
    assert_canonical(U)
    np.testing.assert_array_equal(U @ x.ravel(), from_torch(expected))
    np.testing.assert_array_equal(unfold_operator(shape, **kw) @ x.ravel(), from_torch(expected))

    cols = expected.shape[1:]
    v = np.random.default_rng(seed + 1).standard_normal(cols)
    ref = from_torch(F.fold(to_torch(v), shape[1:], **kw))
    Fm = fold_matrix(cols, shape[1:], **kw)
    assert fold_output_shape(cols, shape[1:], **kw) == shape
    assert_canonical(Fm)
    np.testing.assert_allclose(Fm @ v.ravel(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fold_operator(cols, shape[1:], **kw) @ v.ravel(), ref,
                               rtol=1e-12, atol=1e-12)


@needs_torch
@given(conv_weight_configs(), st.integers(0, 2**32 - 1))
def test_conv_weight_matrix_equals_torch_and_its_transpose_the_weight_gradient(config, seed):
    wshape, in_shape, kw = config
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(in_shape), rng.standard_normal(wshape)
    try:
        m = torch_conv_module(wshape, kw)
        wt = torch.tensor(w, requires_grad=True)
        y = m._conv_forward(to_torch(x), wt, None)
    except (RuntimeError, ValueError):
        with pytest.raises(ValueError):
            conv_weight_matrix(x, wshape, **kw)
        return
    X = conv_weight_matrix(x, wshape, **kw)
    assert_canonical(X)
    assert X.shape == (y.numel(), w.size)
    assert conv_weight_output_shape(x, wshape, **kw) == tuple(y.shape[1:])
    np.testing.assert_allclose(X @ w.ravel(), from_torch(y), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(y.numel())
    (wgrad,) = torch.autograd.grad((y.reshape(-1) * torch.from_numpy(g)).sum(), wt)
    np.testing.assert_allclose(X.T @ g, wgrad.numpy().ravel(), rtol=1e-10, atol=1e-10)
    A = conv_weight_operator(x, wshape, **kw)
    np.testing.assert_allclose(A @ w.ravel(), from_torch(y), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(A.H @ g, wgrad.numpy().ravel(), rtol=1e-10, atol=1e-10)


@needs_torch
@pytest.mark.parametrize("shape,kw", [
    ((1, 3, 3), dict(kernel_size=4)),                        # no block fits
    ((1, 3, 3), dict(kernel_size=(4, 1), stride=2)),         # floor division, as torch's
    ((1, 3, 3), dict(kernel_size=0)),
    ((1, 3, 3), dict(kernel_size=(1, 0))),
    ((1, 3, 3), dict(kernel_size=2, stride=(0, 1))),
    ((1, 3, 3), dict(kernel_size=2, dilation=0)),
    ((1, 3, 3), dict(kernel_size=2, padding=-1)),
    ((1, 3, 3), dict(kernel_size=(2, 2, 2))),
    ((1, 3, 3), dict(kernel_size=2, padding=(1,))),          # int[2]: 1 entry is refused
    ((1, 3, 3), dict(kernel_size=2.0)),
    ((1, 3, 3), dict(kernel_size=True)),
    ((0, 3, 3), dict(kernel_size=1)),
    ((1, 0, 3), dict(kernel_size=1, padding=1)),
    ((1, 1, 3, 3), dict(kernel_size=1)),                     # x[None] is 5-D
])
def test_unfold_rejects_what_torch_rejects(shape, kw):
    x = np.ones(shape)
    assert raises_like(lambda: F.unfold(to_torch(x), **kw),
                       lambda: unfold_matrix(shape, **kw)) is None


@needs_torch
@pytest.mark.parametrize("shape,size,kw", [
    ((4, 9), (4, 4), dict(kernel_size=2, padding=1)),        # 25 blocks, not 9
    ((5, 9), (4, 4), dict(kernel_size=2)),                   # 5 rows, kernel of 4
    ((4, 1), (1, 1), dict(kernel_size=2)),                   # 0 blocks
    ((4, 1), (0, 0), dict(kernel_size=2)),                   # (-1) * (-1) blocks
    ((1, 4), (0, 0), dict(kernel_size=1, padding=1)),        # empty output
    ((4, 9), (4,), dict(kernel_size=2)),
    ((4, 9), (4, 4, 4), dict(kernel_size=2)),
    ((4, 9), (4.0, 4), dict(kernel_size=2)),
    ((4, 9), (4, 4), dict(kernel_size=(2,))),
    ((4, 0), (4, 4), dict(kernel_size=2)),
    ((4, 9), (4, 4), dict(kernel_size=2, stride=0)),
    ((1, 4, 9), (4, 4), dict(kernel_size=2)),                # x[None] is 4-D
])
def test_fold_rejects_what_torch_rejects(shape, size, kw):
    v = np.ones(shape)
    assert raises_like(lambda: F.fold(to_torch(v), size, **kw),
                       lambda: fold_matrix(shape, size, **kw)) is None
    with pytest.raises((ValueError, TypeError)):
        fold_operator(shape, size, **kw)


@pytest.mark.parametrize("call,error,match", [
    (lambda: unfold_matrix((1, 3, 3), 4), ValueError,
     r"kernel_size=\(4, 4\).*sliding blocks would have shape \(0, 0\)"),
    (lambda: unfold_matrix((1, 3, 3), 2, padding=(1,)), ValueError,
     r"padding must be an integer or a pair .*padding=\(1,\)"),
    (lambda: unfold_matrix((1, 3, 3), 2, stride=(1, 0)), ValueError,
     r"stride must be positive, got stride=\(1, 0\)"),
    (lambda: unfold_matrix((1, 3, 3), 2, dilation=True), TypeError, "dilation=True"),
    # torch would read a (1, C, L) tensor as an unbatched image: one sample is (C, H, W).
    (lambda: unfold_matrix((2, 5), 2), ValueError, r"\(C, H, W\).*input_shape=\(2, 5\)"),
    (lambda: unfold_matrix((1, 2, 3, 4), 2), ValueError, "2-D images only"),
    (lambda: fold_matrix((5, 9), (4, 4), 2), ValueError,
     r"input_shape\[0\]=5 must be divisible by the product of kernel_size \(4"),
    (lambda: fold_matrix((4, 10), (4, 4), 2), ValueError,
     r"input_shape\[1\]=10 must be the number of sliding blocks, 3 \* 3 = 9"),
    (lambda: fold_matrix((4, 9), (0, 4), 2), ValueError, r"output_size must be positive"),
    (lambda: fold_matrix((4, 9), (4, 4), 2, dtype=str), TypeError, "dtype"),
    (lambda: conv_weight_matrix(np.ones((1, 4)), (1, 2, 3)), ValueError, "channels"),
    (lambda: conv_weight_matrix(np.ones((1, 4)), (1, 1, 3), padding="full"), ValueError,
     "padding="),
    (lambda: conv_weight_matrix(np.ones((1, 4)), (1, 1, 3), stride=2, padding="same"),
     ValueError, "strided"),
    (lambda: conv_weight_matrix("abc", (1, 1, 3)), TypeError, "x must hold numbers"),
])
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- by hand
def test_unfold_by_hand_2d():
    """A 3x3 image, 2x2 blocks: tap (a, b) of block (q, r) reads pixel (q + a, r + b)."""
    U = unfold_matrix((1, 3, 3), 2)
    np.testing.assert_array_equal(U @ np.arange(9.0), [0, 1, 3, 4, 1, 2, 4, 5,
                                                        3, 4, 6, 7, 4, 5, 7, 8])
    assert U.shape == (16, 9) and U.nnz == 16


def test_unfold_by_hand_padded_strided_two_channels():
    """Two channels of a row of 3, blocks of 2 at stride 2, padded by 1: blocks read
    (pad, 0) and (1, 2) of each channel; rows are channel, tap, then block."""
    U = unfold_matrix((2, 1, 3), (1, 2), padding=(0, 1), stride=(1, 2))
    x = np.array([1.0, 2, 3, 10, 20, 30])
    np.testing.assert_array_equal(U @ x, [0, 2, 1, 3, 0, 20, 10, 30])
    assert U.nnz == 6  # the two taps in the padding hold no entry


def test_fold_by_hand_adds_the_overlaps():
    Fm = fold_matrix((2, 3), (1, 4), (1, 2))
    np.testing.assert_array_equal(Fm @ np.array([1.0, 2, 3, 10, 20, 30]), [1, 12, 23, 30])


def test_conv_weight_by_hand_1d():
    """x = [1, 2, 3, 4], filter [u, v, w], padding 1: y_j = u x_{j-1} + v x_j + w x_{j+1}."""
    X = conv_weight_matrix(np.array([[1.0, 2, 3, 4]]), (1, 1, 3), padding=1)
    np.testing.assert_array_equal(X.toarray(), [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0]])
    assert X.nnz == 10


def test_conv_weight_by_hand_groups():
    """groups=2: output channel 0 sees input channel 0 with weights w[0], channel 1 sees
    channel 1 with w[1]; columns are the flat weight (o, c, t)."""
    x = np.array([[1.0, 2, 3], [10, 20, 30]])
    X = conv_weight_matrix(x, (2, 1, 2), groups=2)
    np.testing.assert_array_equal(X.toarray(), [[1, 2, 0, 0], [2, 3, 0, 0],
                                                [0, 0, 10, 20], [0, 0, 20, 30]])


def test_conv_weight_by_hand_reflect_2d():
    """Reflect padding reads pixels again: a 1x3 image, a 1x3 kernel, padding (0, 1)."""
    x = np.array([[[1.0, 2, 3]]])
    X = conv_weight_matrix(x, (1, 1, 1, 3), padding=(0, 1), padding_mode="reflect")
    np.testing.assert_array_equal(X.toarray(), [[2, 1, 2], [1, 2, 3], [2, 3, 2]])


# --------------------------------------------------------------------------- identities
@given(unfold_configs())
def test_fold_is_the_transpose_of_unfold_entry_for_entry(config):
    shape, kw = config
    try:
        U = unfold_matrix(shape, **kw)
    except ValueError:
        return
    Fm = fold_matrix(unfold_output_shape(shape, **kw), shape[1:], **kw)
    T = U.T.tocsr()
    assert Fm.shape == T.shape
    np.testing.assert_array_equal(Fm.indptr, T.indptr)
    np.testing.assert_array_equal(Fm.indices, T.indices)
    np.testing.assert_array_equal(Fm.data, T.data)


@given(unfold_configs(), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_im2col_identity(config, c_out, seed):
    """conv2d(x, w) = W_2d @ unfold(x): ``conv_matrix == kron(W_2d, I_L) @ U``."""
    shape, kw = config
    k = kw["kernel_size"]
    k = (k, k) if isinstance(k, int) else k
    w = np.random.default_rng(seed).standard_normal((c_out, shape[0], *k))
    try:
        U = unfold_matrix(shape, **kw)
    except ValueError:
        return
    kw.pop("kernel_size")
    C = conv_matrix(w, shape, **kw)
    L = U.shape[0] // (shape[0] * k[0] * k[1])
    K = sp.kron(sp.csr_array(w.reshape(c_out, -1)), sp.identity(L), format="csr") @ U
    np.testing.assert_allclose(K.toarray(), C.toarray(), rtol=1e-13, atol=1e-13)


@given(conv_weight_configs(), st.integers(0, 2**32 - 1))
def test_conv_linear_in_input_and_in_weight(config, seed):
    """``X(x) @ w == C(w) @ x``, and X has exactly conv_matrix's entry count structure."""
    wshape, in_shape, kw = config
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(in_shape), rng.standard_normal(wshape)
    try:
        C = conv_matrix(w, in_shape, **kw)
    except ValueError:
        return
    X = conv_weight_matrix(x, wshape, **kw)
    np.testing.assert_allclose(X @ w.ravel(), C @ x.ravel(), rtol=1e-11, atol=1e-11)
    if kw["padding_mode"] == "zeros":  # no merged columns: one entry per (row, tap)
        assert X.nnz == C.nnz


def test_groups_one_is_kron_identity_with_unfolded_input():
    """``X = I_{C_out} (x) U(x)^T`` for groups=1, zero padding."""
    x = np.random.default_rng(0).standard_normal((3, 5, 6))
    X = conv_weight_matrix(x, (4, 3, 2, 3), padding=1, stride=(1, 2))
    Ux = (unfold_matrix(x.shape, (2, 3), padding=1, stride=(1, 2)) @ x.ravel()).reshape(
        3 * 6, -1)
    expected = sp.kron(sp.identity(4), sp.csr_array(Ux.T))
    np.testing.assert_allclose(X.toarray(), expected.toarray())


# --------------------------------------------------------------------------- structure
def test_pattern_is_structural():
    """Pixels equal to 0 keep their entries: the pattern depends on x's shape only."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 5))
    x0 = x.copy()
    x0[:, ::2] = 0.0
    for kw in (dict(padding=1), dict(padding="same", padding_mode="reflect"),
               dict(groups=2, stride=2, dilation=2, padding=2, padding_mode="circular")):
        A = conv_weight_matrix(x, (2, 4 // kw.get("groups", 1), 3, 3), **kw)
        B = conv_weight_matrix(x0, (2, 4 // kw.get("groups", 1), 3, 3), **kw)
        np.testing.assert_array_equal(A.indptr, B.indptr)
        np.testing.assert_array_equal(A.indices, B.indices)
        assert np.count_nonzero(B.data == 0) > 0


def test_dtypes():
    x = np.arange(6).reshape(1, 6)
    assert conv_weight_matrix(x, (1, 1, 2)).dtype == np.float64       # ints -> float64
    assert conv_weight_matrix(x.astype(np.float32), (1, 1, 2)).dtype == np.float32
    xc = x + 1j * x
    np.testing.assert_allclose(conv_weight_matrix(xc, (1, 1, 2)) @ np.array([1.0, 1j]),
                               xc[0, :-1] + 1j * xc[0, 1:])
    assert unfold_matrix((1, 3, 3), 2, dtype=np.float32).dtype == np.float32
    assert fold_matrix((4, 4), (3, 3), 2, dtype=np.complex64).dtype == np.complex64


def test_sizes_accept_numpy_integers_and_lists():
    U = unfold_matrix([np.int64(2), 4, np.int32(5)], np.int8(2), stride=[np.int64(1), 2])
    assert U.shape == (2 * 4 * 3 * 2, 40)
    assert fold_output_shape((8, 6), [np.int64(4), 5], 2, stride=(1, 2)) == (2, 4, 5)


def test_torch_tensor_input():
    pytest.importorskip("torch")
    x = torch.arange(4.0, requires_grad=True).reshape(1, 4)
    assert conv_weight_matrix(x, (1, 1, 2)).toarray().tolist() == [[0, 1], [1, 2], [2, 3]]


# --------------------------------------------------------------------------- operators
@given(unfold_configs(), st.integers(0, 2**32 - 1))
def test_operators_equal_the_matrices_and_are_adjoint(config, seed):
    shape, kw = config
    try:
        U = unfold_matrix(shape, **kw)
    except ValueError:
        return
    rng = np.random.default_rng(seed)
    cols = unfold_output_shape(shape, **kw)
    for A, M in ((unfold_operator(shape, **kw), U),
                 (fold_operator(cols, shape[1:], **kw), fold_matrix(cols, shape[1:], **kw))):
        X = rng.standard_normal((M.shape[1], 2))
        Y = rng.standard_normal((M.shape[0], 2))
        np.testing.assert_allclose(A @ X, M @ X, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(A.H @ Y, M.T @ Y, rtol=1e-12, atol=1e-12)
        assert dottest(A) < 1e-12


@given(conv_weight_configs(), st.booleans(), st.integers(0, 2**32 - 1))
def test_conv_weight_operator_equals_the_matrix(config, complex_x, seed):
    wshape, in_shape, kw = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(in_shape) + (1j * rng.standard_normal(in_shape) if complex_x
                                         else 0)
    try:
        X = conv_weight_matrix(x, wshape, **kw)
    except ValueError:
        return
    A = conv_weight_operator(x, wshape, **kw)
    assert A.shape == X.shape and A.dtype == X.dtype
    W, Y = rng.standard_normal((X.shape[1], 2)), rng.standard_normal((X.shape[0], 2))
    np.testing.assert_allclose(A @ W, X @ W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A.H @ Y, X.conj().T @ Y, rtol=1e-12, atol=1e-12)
    assert dottest(A, dtype=A.dtype) < 1e-12


def test_operator_repr_and_adjoint_kind():
    U = unfold_operator((2, 4, 4), 3, padding=1)
    assert repr(U) == "<288x32 UnfoldOperator (2, 4, 4) -> (18, 16) with dtype=float64>"
    assert U.H.fold and U.H.shape == (32, 288)
    x = np.random.default_rng(0).standard_normal(32).astype(np.float32)
    assert (U @ x).dtype == np.float32  # the data keep their dtype


# --------------------------------------------------------------------------- sizes
_LONG = np.ones((1, 2 * 10**6))


@pytest.mark.parametrize("build", [
    lambda: unfold_matrix((1, 10**5, 10**5), 3, max_entries=10**6),
    lambda: fold_matrix((9, (10**5 - 2) ** 2), (10**5, 10**5), 3, max_entries=10**6),
    lambda: unfold_matrix((1, 1, 3), (1, 1), padding=(0, 10**12), max_entries=10**6),
    lambda: conv_weight_matrix(_LONG, (1, 1, 3), padding=1, max_entries=10**6),
])
def test_oversized_matrices_are_refused_before_any_allocation(build):
    """Sizes from arithmetic (Python ints), refused before any array is built."""
    peak, _ = peak_bytes(build, ValueError)
    assert peak < 1 << 20


def test_entry_count_is_exact():
    """13 of the 15 (tap, block) pairs per axis read the 5x5 image (padding 1); every one
    of the 450 rows counts against the limit too."""
    assert unfold_matrix((2, 5, 5), 3, padding=1).nnz == 2 * 13 * 13
    assert unfold_matrix((2, 5, 5), 3, padding=1, max_entries=450).shape == (450, 50)
    with pytest.raises(ValueError, match=r"unfold_matrix would store 450 rows \(338 entries"):
        unfold_matrix((2, 5, 5), 3, padding=1, max_entries=449)


def test_int64_indices_when_int32_does_not_fit():
    """A 50000^2 image has 2.5e9 columns: int64 indices, and the right ones."""
    U = unfold_matrix((1, 50000, 50000), 1, stride=25000)
    assert U.shape == (4, 50000**2) and U.indices.dtype == np.int64
    assert U.indices.tolist() == [0, 25000, 25000 * 50000, 25000 * 50001]
    with pytest.raises(ValueError, match="2,500,000,000 rows"):
        fold_matrix((1, 4), (50000, 50000), 1, stride=25000)


@needs_torch
def test_outputs_no_input_reaches_are_empty_rows():
    """Dilation can put every tap of an output in the padding: its row stays empty."""
    x = np.array([[5.0], [7.0]])
    X = conv_weight_matrix(x, (2, 1, 2), dilation=3, padding=2, groups=2)
    assert X.shape == (4, 4) and X.nnz == 0
    assert_canonical(X)
    y = F.conv1d(to_torch(x), torch.ones(2, 1, 2, dtype=torch.float64), dilation=3,
                 padding=2, groups=2)
    np.testing.assert_array_equal(X @ np.ones(4), from_torch(y))
