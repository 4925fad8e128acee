"""conv_matrix and conv_transpose_matrix: torch as the oracle, the seed's worked examples,
the convolution-arithmetic relationships, and the transpose / adjoint identities."""

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import F, assert_canonical, from_torch, needs_torch, to_torch, torch
from hypothesis import assume, given
from hypothesis import strategies as st

import convmat
from convmat import (
    conv_matrix,
    conv_output_shape,
    conv_taps,
    conv_transpose_matrix,
    conv_transpose_output_shape,
    conv_transpose_taps,
)

MODES = ["zeros", "reflect", "replicate", "circular"]


# --------------------------------------------------------------------------- strategies
@st.composite
def conv_configs(draw, *, modes=MODES, valid_only=False):
    """A random convolution: weight, input shape and keyword arguments (maybe invalid)."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    per_dim = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(nd))
    kernel = per_dim(1, 4)
    size = per_dim(1, 7 if nd < 3 else 5)
    stride = per_dim(1, 3)
    dilation = per_dim(1, 3)
    mode = draw(st.sampled_from(modes))
    # Negative padding crops with a non-zero padding mode (F.pad) and is an error with zeros.
    padding = draw(st.one_of(
        st.integers(-1, 3), st.just(per_dim(0, 3)), st.sampled_from(["same", "valid"])))
    if padding == "same" and valid_only:
        stride = (1,) * nd
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
              padding_mode=mode)
    return (c_out, c_in // groups, *kernel), (c_in, *size), kw


def torch_conv(x, w, kw):
    """torch's nn.ConvNd (any padding mode) on one sample, as a flat vector."""
    nd = w.ndim - 2
    Conv = [torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d][nd - 1]
    m = Conv(w.shape[1] * kw["groups"], w.shape[0], w.shape[2:], bias=False,
             dtype=torch.from_numpy(w).dtype, **kw)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        return from_torch(m(to_torch(x)))


def torch_conv_transpose(x, w, kw):
    nd = w.ndim - 2
    f = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][nd - 1]
    return from_torch(f(to_torch(x), torch.from_numpy(w), **kw))


# --------------------------------------------------------------------------- oracle
@needs_torch
@given(conv_configs(), st.sampled_from([np.float64, np.float32]), st.integers(0, 2**32 - 1))
def test_conv_matrix_equals_torch(config, dtype, seed):
    wshape, in_shape, kw = config
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(wshape).astype(dtype)
    x = rng.standard_normal(in_shape).astype(dtype)
    try:
        expected = torch_conv(x, w, kw)
    except (RuntimeError, ValueError):
        with pytest.raises((ValueError, TypeError)):
            conv_matrix(w, in_shape, **kw)
        return
    C = conv_matrix(w, in_shape, **kw)
    assert C.dtype == dtype
    assert C.shape == (expected.size, x.size)
    assert conv_output_shape(w, in_shape, **kw) == conv_output_shape(wshape, in_shape, **kw)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(C @ x.ravel(), expected, rtol=tol, atol=tol)
    assert_canonical(C)


@st.composite
def transpose_configs(draw):
    wshape, in_shape, kw = draw(conv_configs(modes=["zeros"]))
    nd = len(wshape) - 2
    kw.pop("padding_mode")
    if isinstance(kw["padding"], str):
        kw["padding"] = draw(st.integers(0, 3))
    # conv_transpose's weight is (C_in, C_out // groups, *k); reuse the drawn numbers.
    groups = kw["groups"]
    c_in = in_shape[0]
    assume(c_in % groups == 0)
    wshape = (c_in, wshape[0] // groups, *wshape[2:])
    kw["output_padding"] = tuple(draw(st.integers(0, 3)) for _ in range(nd))
    return wshape, in_shape, kw


@needs_torch
@given(transpose_configs(), st.integers(0, 2**32 - 1))
def test_conv_transpose_matrix_equals_torch(config, seed):
    wshape, in_shape, kw = config
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(wshape)
    x = rng.standard_normal(in_shape)
    try:
        expected = torch_conv_transpose(x, w, kw)
    except (RuntimeError, ValueError):
        with pytest.raises((ValueError, TypeError)):
            conv_transpose_matrix(w, in_shape, **kw)
        return
    T = conv_transpose_matrix(w, in_shape, **kw)
    assert T.shape == (expected.size, x.size)
    np.testing.assert_allclose(T @ x.ravel(), expected, rtol=1e-10, atol=1e-10)
    assert_canonical(T)


@needs_torch
@given(transpose_configs(), st.integers(0, 50), st.integers(0, 2**32 - 1))
def test_output_size_equals_torch_module(config, extra, seed):
    """nn.ConvTransposeNd(...)(x, output_size=...) picks output_padding from the size."""
    wshape, in_shape, kw = config
    kw.pop("output_padding")
    nd = len(wshape) - 2
    try:
        base = conv_transpose_output_shape(wshape, in_shape, **kw)[1:]
    except ValueError:
        return
    size = [b + (extra >> (2 * i)) % (s + 1) for i, (b, s) in enumerate(zip(base, kw["stride"]))]
    rng = np.random.default_rng(seed)
    w, x = rng.standard_normal(wshape), rng.standard_normal(in_shape)
    Conv = [torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d][nd - 1]
    m = Conv(in_shape[0], wshape[1] * kw["groups"], wshape[2:], bias=False,
             dtype=torch.float64, **kw)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        try:
            expected = from_torch(m(to_torch(x), output_size=size))
        except (RuntimeError, ValueError):
            with pytest.raises(ValueError):
                conv_transpose_matrix(w, in_shape, output_size=size, **kw)
            return
    T = conv_transpose_matrix(w, in_shape, output_size=size, **kw)
    np.testing.assert_allclose(T @ x.ravel(), expected, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- identities
def _block_columns(conv_out_shape, in_shape):
    """Columns of C.T that belong to the transposed input (a leading block per dim)."""
    grids = np.meshgrid(*[np.arange(n) for n in in_shape], indexing="ij")
    return np.ravel_multi_index([g.ravel() for g in grids], conv_out_shape)


@given(transpose_configs(), st.integers(0, 2**32 - 1))
def test_conv_transpose_is_literally_the_transpose(config, seed):
    wshape, in_shape, kw = config
    try:
        out_shape = conv_transpose_output_shape(wshape, in_shape, **kw)
    except ValueError:
        return
    w = np.random.default_rng(seed).standard_normal(wshape)
    T = conv_transpose_matrix(w, in_shape, **kw)
    conv_kw = {k: v for k, v in kw.items() if k != "output_padding"}
    C = conv_matrix(w, out_shape, **conv_kw)
    CT = C.T.tocsr()
    if C.shape[0] != T.shape[1]:
        # stride <= output_padding < dilation: the convolution has more outputs.
        CT = CT[:, _block_columns(conv_output_shape(w, out_shape, **conv_kw), in_shape)]
        CT = sp.csr_array(CT)
        CT.sort_indices()
    assert T.shape == CT.shape
    assert np.array_equal(T.indptr, CT.indptr)
    assert np.array_equal(T.indices, CT.indices)
    assert np.array_equal(T.data, CT.data)


@given(conv_configs(modes=MODES, valid_only=True), st.integers(0, 2**32 - 1))
def test_adjoint_identity(config, seed):
    """<C x, y> = <x, T y>, with T built by conv_transpose_matrix's own code path."""
    wshape, in_shape, kw = config
    if kw["padding_mode"] != "zeros" or isinstance(kw["padding"], str):
        return
    kw.pop("padding_mode")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(wshape)
    try:
        C = conv_matrix(w, in_shape, **kw)
    except ValueError:
        return
    out_shape = conv_output_shape(w, in_shape, **kw)
    # The output_padding that maps back onto in_shape exactly (Dumoulin & Visin).
    geo_in = np.array(in_shape[1:])
    ek = np.array(kw["dilation"]) * (np.array(wshape[2:]) - 1) + 1
    p = np.broadcast_to(kw["padding"], geo_in.shape)
    op = tuple(int(v) for v in (geo_in + 2 * p - ek) % np.array(kw["stride"]))
    T = conv_transpose_matrix(w, out_shape, output_padding=op, **kw)
    x, y = rng.standard_normal(C.shape[1]), rng.standard_normal(C.shape[0])
    np.testing.assert_allclose((C @ x) @ y, x @ (T @ y), rtol=1e-10)


@given(conv_configs(), st.integers(0, 2**32 - 1))
def test_tap_pattern_rebuilds_the_matrix(config, seed):
    """C = sum_k w_k E_k, from the tap structure, for every padding mode."""
    wshape, in_shape, kw = config
    try:
        conv_output_shape(wshape, in_shape, **kw)
    except ValueError:
        return
    w = np.random.default_rng(seed).standard_normal(wshape)
    taps = conv_taps(wshape, in_shape, **kw)
    A, B = taps.matrix(w), conv_matrix(w, in_shape, **kw)
    assert np.array_equal(A.indices, B.indices) and np.array_equal(A.indptr, B.indptr)
    np.testing.assert_allclose(A.data, B.data, rtol=1e-12, atol=1e-12)
    total = sum(w.flat[k] * taps.basis(k) for k in range(w.size))
    np.testing.assert_allclose(total.toarray(), B.toarray(), atol=1e-12)


def test_zero_weights_keep_their_entries():
    w = np.zeros((2, 1, 3, 3))
    w[0, 0, 1, 1] = 1.0
    A = conv_matrix(w, (1, 5, 5), padding=1)
    B = conv_matrix(np.ones_like(w), (1, 5, 5), padding=1)
    assert A.nnz == B.nnz == 2 * 9 * 25 - 2 * (4 * 3 * 5 - 4)


# --------------------------------------------------------------------------- gradients
@needs_torch
@given(conv_configs(modes=MODES, valid_only=True), st.integers(0, 2**32 - 1))
def test_weight_gradient_equals_autograd(config, seed):
    """dL/dw_k = g^T E_k x: the filter is learnable through the matrix."""
    wshape, in_shape, kw = config
    rng = np.random.default_rng(seed)
    w, x = rng.standard_normal(wshape), rng.standard_normal(in_shape)
    try:
        taps = conv_taps(wshape, in_shape, **kw)
    except ValueError:
        return
    g = rng.standard_normal(taps.shape[0])
    wt = torch.tensor(w, requires_grad=True)
    nd = len(wshape) - 2
    Conv = [torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d][nd - 1]
    m = Conv(in_shape[0], wshape[0], wshape[2:], bias=False, dtype=torch.float64, **kw)
    y = m._conv_forward(to_torch(x), wt, None)
    (y.reshape(-1) @ torch.from_numpy(g)).backward()
    np.testing.assert_allclose(taps.weight_gradient(g, x), wt.grad.numpy(), rtol=1e-9,
                               atol=1e-9)


@needs_torch
def test_transposed_weight_gradient_equals_autograd():
    """The transposed convolution learns its filter the same way (seed, section 3)."""
    rng = np.random.default_rng(1)
    w, x = rng.standard_normal((2, 3, 3, 2)), rng.standard_normal((2, 4, 5))
    kw = dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=1)
    taps = conv_transpose_taps(w.shape, x.shape, **kw)
    g = rng.standard_normal(taps.shape[0])
    wt = torch.tensor(w, requires_grad=True)
    (F.conv_transpose2d(to_torch(x), wt, **kw).reshape(-1) @ torch.from_numpy(g)).backward()
    np.testing.assert_allclose(taps.weight_gradient(g, x), wt.grad.numpy(), rtol=1e-10)
    batch_x, batch_g = np.stack([x, 2 * x]), np.stack([g, g])
    np.testing.assert_allclose(taps.weight_gradient(batch_g, batch_x),
                               3 * wt.grad.numpy(), rtol=1e-10)


# --------------------------------------------------------------------------- the seed
def test_seed_transposed_convolution_stride_2():
    """Fig. 7: inputs a, b, filter x, y, z, stride 2 -> ax, ay, az + bx, by, bz."""
    taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=2)
    labels = taps.tap_labels("xyz")
    rows = taps.rows()
    inputs = "ab"
    written = ["+".join(f"{inputs[c]}{labels[e]}" for e, c in enumerate(taps.indices)
                        if rows[e] == r) for r in range(taps.shape[0])]
    assert written == ["ax", "ay", "az+bx", "by", "bz"]
    a, b, x, y, z = 2.0, 5.0, 1.0, 10.0, 100.0
    T = conv_transpose_matrix(np.array([[[x, y, z]]]), (1, 2), stride=2)
    np.testing.assert_array_equal(T @ [a, b], [a * x, a * y, a * z + b * x, b * y, b * z])


def test_seed_transposed_convolution_stride_1():
    """'If the stride is one, then the output size becomes 4x1': ax, ay+bx, az+by, bz."""
    a, b, x, y, z = 2.0, 5.0, 1.0, 10.0, 100.0
    T = conv_transpose_matrix(np.array([[[x, y, z]]]), (1, 2), stride=1)
    np.testing.assert_array_equal(T @ [a, b], [a * x, a * y + b * x, a * z + b * y, b * z])


def test_seed_convolution_matrix_and_its_transpose():
    """Section 3.1: a 4x1 input, a 3x1 filter, stride 1, output 4x1 (this needs padding
    1), written as a matrix X; X.T maps 4 back to 4 with the filter reversed in its rows."""
    x, y, z = 1.0, 10.0, 100.0
    X = conv_matrix(np.array([[[x, y, z]]]), (1, 4), padding=1)
    expected = np.array([[y, z, 0, 0],
                         [x, y, z, 0],
                         [0, x, y, z],
                         [0, 0, x, y]])
    np.testing.assert_array_equal(X.toarray(), expected)
    np.testing.assert_array_equal(conv_transpose_matrix(np.array([[[x, y, z]]]), (1, 4),
                                                        padding=1).toarray(), expected.T)
    # Without padding the same filter gives 2 outputs, and the transpose maps 2 -> 4.
    V = conv_matrix(np.array([[[x, y, z]]]), (1, 4))
    np.testing.assert_array_equal(V.toarray(), [[x, y, z, 0], [0, x, y, z]])


def test_seed_strided_convolution_halves_the_map():
    """Section 3: a 3x3 filter moving 2 pixels at a time takes 4x4 to 2x2."""
    assert conv_output_shape((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1) == (1, 2, 2)
    C = conv_matrix(np.arange(1.0, 10.0).reshape(1, 1, 3, 3), (1, 4, 4), stride=2, padding=1)
    # Output (0, 0) reads input rows/cols -1..1: the lower-right 2x2 of the filter.
    first = np.zeros((4, 4))
    first[:2, :2] = [[5, 6], [8, 9]]
    np.testing.assert_array_equal(C.toarray()[0], first.ravel())
    assert C.T.shape == (16, 4)


# --------------------------------------------------------------------------- arithmetic
@given(st.integers(1, 30), st.integers(1, 7), st.integers(1, 4), st.integers(0, 4),
       st.integers(1, 3))
def test_convolution_arithmetic_relationships(i, k, s, p, d):
    """Dumoulin & Visin (2016): o = floor((i + 2p - k') / s) + 1 with k' = d (k - 1) + 1,
    and the transposed convolution with a = (i + 2p - k') mod s restores i."""
    kk = d * (k - 1) + 1
    if i + 2 * p < kk:
        with pytest.raises(ValueError, match="kernel"):
            conv_output_shape((1, 1, k), (1, i), stride=s, padding=p, dilation=d)
        return
    o = (i + 2 * p - kk) // s + 1
    assert conv_output_shape((1, 1, k), (1, i), stride=s, padding=p, dilation=d) == (1, o)
    a = (i + 2 * p - kk) % s
    assert conv_transpose_output_shape((1, 1, k), (1, o), stride=s, padding=p, dilation=d,
                                       output_padding=a) == (1, i)


@pytest.mark.parametrize("i,k", [(5, 3), (6, 4), (7, 1)])
def test_named_paddings(i, k):
    """No padding: o = i - k + 1; half (same): o = i; full (p = k - 1): o = i + k - 1."""
    assert conv_output_shape((1, 1, k), (1, i))[1] == i - k + 1
    assert conv_output_shape((1, 1, k), (1, i), padding="same")[1] == i
    assert conv_output_shape((1, 1, k), (1, i), padding=k - 1)[1] == i + k - 1
    assert conv_transpose_output_shape((1, 1, k), (1, i - k + 1))[1] == i


def test_same_padding_puts_the_extra_pixel_at_the_end():
    """k = 4: pads (1, 2), so output 0 reads inputs -1..2 and the last reads L-3..L."""
    C = conv_matrix(np.array([[[1.0, 2.0, 3.0, 4.0]]]), (1, 5), padding="same")
    np.testing.assert_array_equal(C.toarray()[0], [2, 3, 4, 0, 0])
    np.testing.assert_array_equal(C.toarray()[-1], [0, 0, 0, 1, 2])


def test_padding_modes_by_hand():
    """Row 0 of a 3-tap [1, 10, 100] filter over [a, b, c, d] with padding 1."""
    w = np.array([[[1.0, 10.0, 100.0]]])
    first = {
        "zeros": [10, 100, 0, 0],        # 0, a, b
        "reflect": [10, 101, 0, 0],      # b, a, b
        "replicate": [11, 100, 0, 0],    # a, a, b
        "circular": [10, 100, 0, 1],     # d, a, b
    }
    for mode, row in first.items():
        np.testing.assert_array_equal(conv_matrix(w, (1, 4), padding=1, padding_mode=mode)
                                      .toarray()[0], row)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,match", [
    (dict(stride=0), "stride must be positive, got stride=0"),
    (dict(stride=(1, -1)), "stride"),
    (dict(dilation=0), "dilation must be positive"),
    (dict(padding=-1), "padding must be at least 0"),
    (dict(padding="full"), "padding must be .*'valid' or 'same', got padding='full'"),
    (dict(padding="same", stride=2), "not supported for strided"),
    (dict(groups=0), "groups must be a positive integer"),
    (dict(groups=3), "groups=3 must divide"),
    (dict(padding_mode="mirror"), "padding_mode must be one of"),
    (dict(padding=5, padding_mode="reflect"), "smaller than the input size"),
    (dict(padding=(1, 2, 3)), "sequence of 2 integers"),
])
def test_conv_rejects_what_torch_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_matrix(np.ones((4, 2, 3, 3)), (2, 5, 5), **kwargs)


@pytest.mark.parametrize("weight_shape,input_shape,match", [
    ((4, 2, 3, 3), (3, 5, 5), "input_shape has 3 channels, but weight of shape"),
    ((4, 2, 7, 3), (2, 5, 5), "kernel is larger than the padded input"),
    ((4, 2, 3, 3), (2, 5), "input_shape must be \\(C, \\*spatial\\) with 2 spatial"),
    ((4, 2), (2, 5), "weight must have 3, 4 or 5 dimensions"),
    ((1, 1, 3, 3, 3, 3), (1, 5, 5, 5, 5), "weight must have 3, 4 or 5 dimensions"),
])
def test_conv_rejects_bad_shapes(weight_shape, input_shape, match):
    with pytest.raises(ValueError, match=match):
        conv_matrix(np.ones(weight_shape), input_shape)


def test_non_integer_sizes_are_type_errors():
    with pytest.raises(TypeError, match="stride"):
        conv_matrix(np.ones((1, 1, 3)), (1, 5), stride=1.5)
    with pytest.raises(TypeError, match="input_shape"):
        conv_matrix(np.ones((1, 1, 3)), (1, 5.0))
    with pytest.raises(TypeError, match="padding"):
        conv_transpose_matrix(np.ones((1, 1, 3)), (1, 5), padding="same")


@pytest.mark.parametrize("kwargs,match", [
    (dict(output_padding=2, stride=2), "output_padding must be smaller than either stride"),
    (dict(output_padding=-1), "output_padding must be at least 0"),
    (dict(output_size=(12,), stride=2), "valid sizes range from \\[9\\] to \\[10\\]"),
    (dict(output_size=(1, 2, 3, 4)), "output_size must have 1 entries"),
    (dict(padding=5), "output size is too small"),
])
def test_conv_transpose_rejects_what_torch_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_transpose_matrix(np.ones((1, 1, 3)), (1, 4), **kwargs)


def test_entry_limit_is_checked_before_allocating():
    with pytest.raises(ValueError, match=r"would store 9,424,900 entries .*conv_operator"):
        conv_matrix(np.ones((1, 1, 3, 3)), (1, 1024, 1024), padding=1, max_entries=10**6)
    previous = convmat.set_max_entries(100)
    try:
        with pytest.raises(ValueError, match="max_entries=100"):
            conv_matrix(np.ones((1, 1, 3)), (1, 100))
        assert conv_matrix(np.ones((1, 1, 3)), (1, 100), max_entries=1000).nnz == 294
    finally:
        convmat.set_max_entries(previous)


# --------------------------------------------------------------------------- dtypes
def test_dtypes_follow_the_weight():
    x = np.arange(5.0)
    assert conv_matrix(np.ones((1, 1, 3), np.float32), (1, 5)).dtype == np.float32
    assert conv_matrix(np.ones((1, 1, 3), int), (1, 5)).dtype == np.float64
    wc = np.array([[[1 + 2j, 3 - 1j]]])
    Cc = conv_matrix(wc, (1, 5), padding=1, padding_mode="reflect")
    assert Cc.dtype == np.complex128
    # Complex entries are summed where reflect padding repeats a column.
    expected = [wc[0, 0, 0] * x[j - 1 if j else 1] + wc[0, 0, 1] * x[j] for j in range(5)]
    expected.append(wc[0, 0, 0] * x[4] + wc[0, 0, 1] * x[3])
    np.testing.assert_allclose(Cc @ x, expected)
    with pytest.raises(TypeError, match="weight must hold numbers"):
        conv_matrix(np.array([[["a"]]]), (1, 5))


@needs_torch
def test_an_output_no_input_reaches():
    """output_padding < dilation can add outputs that no tap writes: empty rows, all zero."""
    w, x = np.array([[[2.0]]]), np.array([[5.0]])
    kw = dict(stride=1, padding=1, dilation=3, output_padding=2)
    T = conv_transpose_matrix(w, x.shape, **kw)
    assert T.shape == (1, 1) and T.nnz == 0
    np.testing.assert_array_equal(T @ x.ravel(), torch_conv_transpose(x, w, kw))


def test_int64_indices_when_int32_does_not_fit():
    """A 2000^3 volume has 8e9 columns: int64 indices, and the right ones."""
    C = conv_matrix(np.ones((1, 1, 2, 1, 1)), (1, 2000, 2000, 2000), stride=1000)
    assert C.shape == (8, 8 * 10**9) and C.indices.dtype == np.int64
    plane = 2000 * 2000
    # Output (0, 0, 1) reads input (0, 0, 1000) and (1, 0, 1000).
    assert C.indices[C.indptr[1]:C.indptr[2]].tolist() == [1000, plane + 1000]


def test_rows_count_against_the_limit_too():
    """8e9 rows would need a 64 GB indptr even with 16 entries: refused up front."""
    with pytest.raises(ValueError, match="8,000,000,000 rows"):
        conv_transpose_matrix(np.ones((1, 1, 2, 1, 1)), (1, 2, 2, 2), stride=1000,
                              output_padding=(998, 999, 999))


@pytest.mark.parametrize("build", [
    lambda: conv_matrix(np.ones((1, 1, 3)), (1, 10**9), max_entries=10**6),
    lambda: conv_taps((1, 1, 3), (1, 10**9), max_entries=10**6),
    lambda: conv_matrix(np.ones((1, 1, 3)), (1, 10**9), padding=1, padding_mode="reflect",
                        max_entries=10**6),
    lambda: conv_transpose_matrix(np.ones((1, 1, 3)), (1, 10**9), stride=2,
                                  max_entries=10**6),
    lambda: conv_transpose_taps((1, 1, 3), (1, 10**12), max_entries=10**6),
])
def test_oversized_matrices_are_refused_before_any_allocation(build):
    """A billion-element 1-D input: the count comes from arithmetic, not from arrays."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="max_entries=1,000,000"):
            build()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


@needs_torch
@pytest.mark.parametrize("wshape,in_shape,kw", [
    ((1, 1, 3), (1, 0), dict(padding=2)),            # an empty input, padded
    ((0, 1, 3), (1, 5), dict()),                      # no filter
    ((1, 1, 3, 3), (1, 0, 4), dict(padding=(2, 0))),
])
def test_empty_sizes_are_refused_like_torch(wshape, in_shape, kw):
    with pytest.raises((RuntimeError, ValueError)):
        torch_conv(np.zeros(in_shape), np.zeros(wshape), dict(kw, groups=1,
                                                              padding_mode="zeros"))
    with pytest.raises(ValueError):
        conv_matrix(np.zeros(wshape), in_shape, **kw)


@needs_torch
@pytest.mark.parametrize("wshape,in_shape", [((0, 1, 3), (0, 5)), ((1, 0, 3), (1, 5))])
def test_empty_transposed_weights_are_refused_like_torch(wshape, in_shape):
    with pytest.raises((RuntimeError, ValueError)):
        torch_conv_transpose(np.zeros(in_shape), np.zeros(wshape), {})
    with pytest.raises(ValueError):
        conv_transpose_matrix(np.zeros(wshape), in_shape)


def test_shapes_may_be_lists():
    assert conv_output_shape([1, 1, 3], [1, 4], padding=1) == (1, 4)
    assert conv_transpose_output_shape([1, 1, 3], [1, 2], stride=2) == (1, 5)


@needs_torch
def test_zero_input_channels_are_refused():
    """torch returns a (1, 0, 3) tensor for a 1-filter weight over 0 channels, a shape that
    contradicts C_out = 1; convmat refuses rather than invent that matrix."""
    y = F.conv1d(torch.zeros(1, 0, 5), torch.zeros(1, 0, 3))
    assert tuple(y.shape) == (1, 0, 3)
    with pytest.raises(ValueError, match="at least one filter and one channel per group"):
        conv_matrix(np.zeros((1, 0, 3)), (0, 5))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, kind, match", [
    (lambda T: T.basis(None), TypeError, r"tap must be an integer"),
    (lambda T: T.basis(3), ValueError, r"tap must be .*3"),
    (lambda T: T.basis(float("inf")), TypeError, r"tap"),
    (lambda T: T.basis((0, 0, 5)), ValueError, r"tap must be .*\(0, 0, 5\)"),
    (lambda T: T.tap_labels(3), TypeError, r"names must be a sequence of strings"),
    (lambda T: T.tap_labels([1, 2, 3]), TypeError, r"names must be a sequence of strings"),
    (lambda T: T.weight_gradient(None, np.ones(5)), TypeError, r"grad_output must hold"),
    (lambda T: T.weight_gradient(np.ones(3), np.ones(4)), ValueError,
     r"x must hold one or more flattened samples of 5 values, got x of shape \(4,\)"),
])
def test_tap_pattern_methods_name_their_arguments(call, kind, match):
    with pytest.raises(kind, match=match):
        call(conv_taps((1, 1, 3), (1, 5)))
