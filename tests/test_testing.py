"""convmat.testing: the dot test passes true adjoints and catches the classic mistakes (in
numpy maps and in torch's own backward); a map that is not linear is refused as such;
adjoint_mismatch points at the wrong rows; materialize recovers matrices exactly, with the
probes the sparsity allows, and refuses hostile functions and sizes by name."""

import numpy as np
import pytest
from helpers import F, conv_configs, needs_torch, peak_bytes, torch
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import sparse

from convmat import (
    conv_matrix,
    conv_operator,
    conv_output_shape,
    conv_taps,
    conv_transpose_matrix,
)
from convmat.testing import (
    AdjointMismatch,
    adjoint_mismatch,
    assert_adjoint,
    colour_columns,
    default_rtol,
    dottest,
    materialize,
)


def _transpose_of(w, shape, kwargs):
    """The ``conv_transpose_matrix`` mapping ``conv_matrix(w, shape, **kwargs)``'s output
    back to ``shape`` (``output_size`` picks the output padding)."""
    out = conv_output_shape(w.shape, shape, **kwargs)
    return conv_transpose_matrix(w, out, stride=kwargs["stride"], padding=kwargs["padding"],
                                 dilation=kwargs["dilation"], groups=kwargs["groups"],
                                 output_size=shape[1:])


# --------------------------------------------------------------------------- true pairs
@given(data=st.data())
def test_conv_and_its_transpose_are_adjoint(data):
    w, shape, kwargs = data.draw(conv_configs(modes=("zeros",), same=False))
    try:
        C = conv_matrix(w, shape, **kwargs)
    except ValueError:
        assume(False)
    # C^H is the transposed convolution with the conjugate weight (T alone for real w).
    T, Tc = _transpose_of(w, shape, kwargs), _transpose_of(w.conj(), shape, kwargs)
    dtype = np.complex128 if np.iscomplexobj(w) else np.float64
    assert dottest(C, Tc, dtype=dtype, rng=0) < 1e-12
    assert_adjoint(C, Tc, dtype=dtype, rng=1)
    assert_adjoint(conv_operator(w, shape, **kwargs), dtype=dtype, rng=2)
    if np.iscomplexobj(w) and np.any(C.data):  # the plain transpose is not the adjoint
        with pytest.raises(AssertionError):
            assert_adjoint(C, T, dtype=dtype, rng=3)


def test_matrix_operator_and_callable_forms_agree():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 5))
    S = sparse.csr_array(A)
    for forward, adjoint in [(A, None), (S, None), (S, A.T),
                             (lambda x: A @ x, lambda y: A.T @ y)]:
        assert dottest(forward, adjoint, in_shape=(5,), rng=1) < 1e-14
    # Shaped callables: in_shape given, out_shape discovered.
    f = lambda x: (A @ x.ravel()).reshape(7, 1)
    g = lambda y: (A.T @ y.ravel()).reshape(5, 1)
    assert dottest(f, g, in_shape=(5, 1), rng=2) < 1e-14


def test_float32_and_complex_pairs():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    C = conv_matrix(w, (3, 20, 20), padding=1)
    T = conv_transpose_matrix(w, (4, 20, 20), padding=1)
    assert_adjoint(C, T, dtype=np.float32, rng=0)
    wc = (rng.standard_normal((2, 2, 3)) + 1j * rng.standard_normal((2, 2, 3))).astype(np.complex64)
    assert_adjoint(conv_matrix(wc, (2, 9)), conv_transpose_matrix(wc.conj(), (2, 7)),
                   dtype=np.complex64, rng=1)
    assert default_rtol(np.complex64) == default_rtol(np.float32) > default_rtol(np.float64)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_torch_conv_and_conv_transpose_are_adjoint(dtype):
    rng = np.random.default_rng(4)
    w = torch.from_numpy(rng.standard_normal((6, 2, 3, 4)).astype(dtype))
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    shape = (4, 9, 10)
    out_hw = F.conv2d(torch.zeros((1, *shape), dtype=w.dtype), w, **kw).shape[2:]

    def forward(x):
        return F.conv2d(torch.from_numpy(x)[None], w, **kw)[0].numpy()

    def adjoint(y):
        return F.conv_transpose2d(torch.from_numpy(y)[None], w, output_padding=(0, 0),
                                  **kw)[0].numpy()

    # 9 = (5 - 1) * 2 - 2 + 2 + 0 + 1 and 10 = (8 - 1) * 1 - 4 + 6 + 0 + 1: no output
    # padding needed to map the 5 x 8 output back.
    assert tuple(out_hw) == (5, 8)
    assert_adjoint(forward, adjoint, in_shape=shape, dtype=dtype, rng=0)


# --------------------------------------------------------------------------- caught mistakes
RNG = np.random.default_rng(5)
W = RNG.standard_normal((4, 2, 3, 3))  # groups=2: 4 input channels, 4 output channels
SHAPE = (4, 8, 8)
KW = dict(stride=2, padding=1, groups=2)


def _conv(x, w=W, **kw):
    return F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(w), **(kw or KW))[0].numpy()


def _conv_t(y, w=W, **kw):
    return F.conv_transpose2d(torch.from_numpy(y)[None], torch.from_numpy(w), **kw)[0].numpy()


def _right(y):  # 8 = (4 - 1) * 2 - 2 + 3 + output_padding + 1: output_padding = 1
    return _conv_t(y, output_padding=1, **KW)


def _flipped_kernel(y):
    return _conv_t(y, w=np.ascontiguousarray(W[..., ::-1, ::-1]), output_padding=1, **KW)


def _wrong_output_padding(y):
    # output_padding=0 gives 7x7; the shape is then "fixed" with a row/column of zeros.
    return np.pad(_conv_t(y, output_padding=0, **KW), ((0, 0), (0, 1), (0, 1)))


def _padding_off_by_one(y):
    # Transposed convolution without padding, then cropped one pixel too early.
    full = _conv_t(y, stride=2, padding=0, output_padding=1, groups=2)
    return full[:, 0:8, 0:8]  # the true crop is [1:9]


def _groups_forgotten(y):
    # The grouped weight used as if it were dense: every group sees every channel.
    dense = np.concatenate([W, W], axis=1)
    return _conv_t(y, w=dense, stride=2, padding=1, output_padding=1)


@needs_torch
def test_right_adjoint_passes():
    assert_adjoint(_conv, _right, in_shape=SHAPE, rng=0)


@needs_torch
@pytest.mark.parametrize("buggy", [_flipped_kernel, _wrong_output_padding, _padding_off_by_one,
                                   _groups_forgotten])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_buggy_adjoints_are_caught(buggy, dtype):
    def f(x):
        return _conv(x.astype(np.float64)).astype(dtype)

    def g(y):
        return buggy(y.astype(np.float64)).astype(dtype)

    with pytest.raises(AssertionError, match="not adjoint"):
        assert_adjoint(f, g, in_shape=SHAPE, dtype=dtype, rng=0)


@needs_torch
def test_missing_scale_factor_is_caught():
    # The adjoint of 2x2 average pooling spreads each value over its window *divided by 4*.
    def pool(x):
        return F.avg_pool2d(torch.from_numpy(x)[None], 2)[0].numpy()

    def spread(y, scale):
        return F.interpolate(torch.from_numpy(y)[None], scale_factor=2)[0].numpy() * scale

    assert_adjoint(pool, lambda y: spread(y, 0.25), in_shape=(3, 6, 8), rng=0)
    with pytest.raises(AssertionError, match="not adjoint"):
        assert_adjoint(pool, lambda y: spread(y, 1.0), in_shape=(3, 6, 8), rng=0)


def test_missing_conjugate_is_caught():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((2, 1, 3)) + 1j * rng.standard_normal((2, 1, 3))
    op = conv_operator(w, (1, 10), padding=1)
    C = conv_matrix(w, (1, 10), padding=1)
    assert_adjoint(op, C.conj().T, dtype=np.complex128, rng=0)
    with pytest.raises(AssertionError, match="complex128"):
        assert_adjoint(op, C.T, dtype=np.complex128, rng=0)


def test_a_small_local_mistake_is_caught_in_a_large_map():
    # One wrong entry among 65,536 rows: the mismatch is small but far above rounding.
    C = conv_matrix(np.ones((1, 1, 3, 3)), (1, 256, 256), padding=1)
    B = C.T.tolil()
    B[0, 0] = 2.0
    mismatch = dottest(C, B.tocsr(), rng=0)
    assert 1e-6 < mismatch < 1e-1


def test_a_map_that_produces_nan_or_inf_fails():
    # NaN compares false with everything: it must not pass as a perfect adjoint.
    assert dottest(lambda x: x * np.nan, lambda y: y, in_shape=(3,), rng=0) == np.inf
    assert dottest(lambda x: x, lambda y: y * np.nan, in_shape=(3,), rng=0) == np.inf
    assert dottest(lambda x: x * np.inf, lambda y: y * np.inf, in_shape=(3,), rng=0) == np.inf
    with pytest.raises(AssertionError, match="NaN or inf"):
        assert_adjoint(np.full((2, 2), np.nan), rng=0)
    with pytest.raises(AssertionError, match="NaN or inf"):
        assert_adjoint(np.eye(2), np.array([[1.0, np.inf], [0.0, 1.0]]), rng=0)


def test_default_rtol_follows_the_precision_of_the_map():
    # A float32 map is adjoint to float32 rounding only, whatever the probes' dtype.
    A = np.random.default_rng(5).standard_normal((300, 200)).astype(np.float32)
    f = lambda x: A @ x.astype(np.float32)
    g = lambda y: A.T @ y.astype(np.float32)
    assert assert_adjoint(f, g, in_shape=(200,), rng=0) <= default_rtol(np.float32)
    # ... and a 1 % error is still caught at that tolerance.
    with pytest.raises(AssertionError, match="rtol=0.000345"):
        assert_adjoint(f, lambda y: 1.01 * g(y), in_shape=(200,), rng=0)
    # Only the lowest precision counts: a float64 map with float32 probes keeps float32's.
    B = A.astype(np.float64)
    assert_adjoint(lambda x: B @ x, lambda y: B.T @ y, in_shape=(200,), dtype=np.float32,
                   rng=0)


# --------------------------------------------------------------------------- the report
def test_assertion_message_reports_everything():
    A = np.array([[1.0, 2.0], [0.0, 3.0], [1.0, 1.0]])
    with pytest.raises(AssertionError) as info:
        assert_adjoint(A, 1.01 * A.T, rng=0, trials=2)
    msg = str(info.value)
    for part in ["<A x, y> =", "<x, B y> =", "relative mismatch", "rtol=1.49e-08",
                 "of 2", "dtype float64", "x of shape (2,) -> y of shape (3,)"]:
        assert part in msg
    # A 1 % scale error: at most 0.01 / 1.01 (less when <A x, y> is small by chance).
    assert 1e-3 < dottest(A, 1.01 * A.T, rng=0) <= 0.01 / 1.01 + 1e-12
    assert_adjoint(A, 1.01 * A.T, rng=0, rtol=0.02)


def test_verbose_prints_both_inner_products(capsys):
    dottest(np.eye(3), rng=0, trials=2, verbose=True)
    out = capsys.readouterr().out
    assert out.count("<A x, y> =") == 2 and "<x, A^H y> =" in out


def test_bad_arguments_are_named():
    A = np.eye(3)
    with pytest.raises(TypeError, match="in_shape"):
        dottest(lambda x: x, lambda y: y)
    # A numpy function has no backward to stand for its adjoint (torch or not).
    with pytest.raises(TypeError, match="adjoint must be given"):
        dottest(lambda x: np.cumsum(x), in_shape=(3,))
    with pytest.raises(ValueError, match="dtype"):
        dottest(A, dtype=np.int64)
    with pytest.raises(ValueError, match="trials"):
        dottest(A, trials=0)
    with pytest.raises(ValueError, match="in_shape"):
        dottest(A, in_shape=(4,))
    with pytest.raises(ValueError, match="adjoint returned"):
        dottest(A, lambda y: np.zeros(4))
    with pytest.raises(TypeError, match="forward"):
        dottest("not a map")


# --------------------------------------------------------------------------- materialize
def _assert_same_csr(A, B):
    assert A.shape == B.shape and A.has_canonical_format
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data)


def test_naive_probing_recovers_a_matrix_with_one_probe_per_input():
    w = np.random.default_rng(7).standard_normal((3, 2, 2, 3))
    C = conv_matrix(w, (2, 5, 6), stride=(1, 2), padding=1)
    A, probes = materialize(lambda x: C @ x.ravel(), (2, 5, 6), return_probes=True)
    assert probes == 60 + 1  # and the check probe
    _assert_same_csr(A, C)


@needs_torch
def test_pattern_probing_of_torch_conv_needs_nine_probes():
    w = np.random.default_rng(8).standard_normal((1, 1, 3, 3))
    shape = (1, 256, 256)

    def f(X):  # batched: one torch call for all probes
        return F.conv2d(torch.from_numpy(X), torch.from_numpy(w), padding=1).numpy()

    A, probes = materialize(f, shape, pattern=conv_taps(w.shape, shape, padding=1),
                            batched=True, return_probes=True)
    assert probes == 9 + 1  # and the check probe
    _assert_same_csr(A, conv_matrix(w, shape, padding=1))


@needs_torch
def test_pattern_probing_keeps_structural_zeros_and_channels():
    w = np.random.default_rng(9).standard_normal((3, 2, 3, 3))
    w[0, 1, 1, 1] = 0.0  # still a stored entry of conv_matrix
    shape = (2, 7, 9)
    f = lambda x: F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(w), stride=2)[0].numpy()
    C = conv_matrix(w, shape, stride=2)
    A, probes = materialize(f, shape, pattern=C, return_probes=True)
    assert probes == 2 * 9 + 1  # channels mix, so C_in * 3 * 3 colours; and the check
    _assert_same_csr(A, C)


@needs_torch
def test_receptive_field_probing_of_torch_conv_transpose():
    rng = np.random.default_rng(10)
    w = rng.standard_normal((2, 3, 4, 4))
    shape = (2, 6, 5)
    kw = dict(stride=2, padding=1)
    f = lambda x: F.conv_transpose2d(torch.from_numpy(x)[None], torch.from_numpy(w),
                                     **kw)[0].numpy()
    # An output of a stride-2, 4-tap transposed convolution sees 4 / 2 = 2 inputs per axis.
    A, probes = materialize(f, shape, receptive_field=2, return_probes=True)
    assert probes == 2 * (2 * 2 * 2) + 1  # ones and ranks per colour, one check probe
    T = conv_transpose_matrix(w, shape, **kw)
    np.testing.assert_array_equal(A.toarray(), T.toarray())
    with pytest.raises(ValueError, match="receptive_field=1 is too small"):
        materialize(f, shape, receptive_field=1)


def test_receptive_field_per_axis_with_channels_apart():
    # Depthwise: channels never mix, so the receptive field of the channel axis is 1.
    w = np.random.default_rng(11).standard_normal((3, 1, 3))
    C = conv_matrix(w, (3, 12), padding=1, groups=3)
    A, probes = materialize(C, (3, 12), receptive_field=(1, 3), return_probes=True)
    assert probes == 2 * 3 + 1
    np.testing.assert_array_equal(A.toarray(), C.toarray())


@pytest.mark.parametrize("f, true_row", [
    (lambda x: np.array([x[0, 0] + x[0, 2]]), [1.0, 0.0, 1.0]),  # ranks 1 + 3 = 2 * (1 + 1)
    (lambda x: np.array([x[0, 0] - x[0, 2]]), [1.0, 0.0, -1.0]),  # ones probe gives 0
    (lambda x: np.array([x[0, 0] + 2 * x[0, 1] - x[0, 2]]), [1.0, 2.0, -1.0]),
], ids=["sum", "difference", "three"])
def test_receptive_field_too_small_is_refused(f, true_row):
    # Every input of one output probed together: the ratio of the two probes can be a
    # valid rank by chance, or the ones probe can cancel to 0.
    with pytest.raises(ValueError, match="receptive_field=1 is too small"):
        materialize(f, (1, 3), receptive_field=1)
    with pytest.raises(ValueError, match="receptive_field=1 is too small"):
        materialize(f, (1, 3), receptive_field=1, check=True)
    A, probes = materialize(f, (1, 3), receptive_field=3, return_probes=True)
    np.testing.assert_array_equal(A.toarray(), [true_row])
    assert probes == 2 * 3 + 1


def test_circular_padding_needs_the_greedy_colouring():
    w = np.random.default_rng(12).standard_normal((1, 1, 3, 3))
    shape = (1, 7, 7)
    C = conv_matrix(w, shape, padding=1, padding_mode="circular")
    A, probes = materialize(lambda x: C @ x.ravel(), shape, pattern=C, return_probes=True)
    # Every input meets 24 others in some row: at least 9, and far fewer than 49 probes.
    assert 9 <= probes <= 16
    _assert_same_csr(A, C)


def test_pattern_that_misses_entries_is_refused():
    C = conv_matrix(np.ones((1, 1, 3)), (1, 8), padding=1)
    f = lambda x: C @ x.ravel()
    # An output the pattern says is empty: seen by the probes themselves.
    holed = C.tolil()
    holed[0, :] = 0
    holed = sparse.csr_array(holed)
    holed.eliminate_zeros()
    with pytest.raises(ValueError, match="not confined to pattern"):
        materialize(f, (1, 8), pattern=holed)
    # A pattern too narrow everywhere (every output sums three inputs, the pattern says one):
    # the probes cannot tell, the check probe can.
    narrow = sparse.eye_array(8, format="csr")
    assert materialize(f, (1, 8), pattern=narrow, check=False, return_probes=True)[1] == 1
    with pytest.raises(ValueError, match="check probe"):
        materialize(f, (1, 8), pattern=narrow)
    A, probes = materialize(f, (1, 8), pattern=C, check=True, return_probes=True)
    assert probes == 3 + 1
    _assert_same_csr(A, C)
    with pytest.raises(ValueError, match="either pattern or receptive_field"):
        materialize(C, (1, 8), pattern=C, receptive_field=3)


def test_materialize_float32_and_complex_maps():
    rng = np.random.default_rng(13)
    w32 = rng.standard_normal((2, 1, 3)).astype(np.float32)
    C32 = conv_matrix(w32, (1, 9))
    A = materialize(lambda x: C32 @ x.ravel(), (1, 9), pattern=C32, dtype=np.float32)
    assert A.dtype == np.float32
    _assert_same_csr(A, C32)
    # A float32 map probed in float64: its check probe agrees to float32 rounding only.
    w32 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    C32 = conv_matrix(w32, (3, 30, 30), padding=1)
    A = materialize(lambda x: C32 @ x.ravel().astype(np.float32), (3, 30, 30),
                    receptive_field=3)
    assert A.dtype == np.float32
    _assert_same_csr(A, C32)
    wc = rng.standard_normal((2, 2, 3)) + 1j * rng.standard_normal((2, 2, 3))
    Cc = conv_matrix(wc, (2, 9), padding=2, dilation=2)
    for kwargs in [{}, {"pattern": Cc}, {"receptive_field": 5}]:
        A = materialize(Cc, (2, 9), **kwargs)
        assert A.dtype == np.complex128
        np.testing.assert_array_equal(A.toarray(), Cc.toarray())


@given(data=st.data())
def test_materialize_recovers_random_convolutions(data):
    w, shape, kwargs = data.draw(conv_configs())
    try:
        C = conv_matrix(w, shape, **kwargs)
    except ValueError:
        assume(False)
    A, probes = materialize(conv_operator(w, shape, **kwargs), shape, pattern=C,
                            return_probes=True)
    np.testing.assert_allclose(A.data, C.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(A.indices, C.indices)
    # Never more probes than inputs, never fewer than the fullest row has entries.
    assert int(np.diff(C.indptr).max(initial=0)) + 1 <= probes <= C.shape[1] + 1


@given(st.integers(1, 40), st.integers(1, 40), st.floats(0.02, 0.5), st.integers(0, 2**16))
def test_colouring_is_valid_on_random_patterns(m, n, density, seed):
    P = sparse.random_array((m, n), density=density, format="csr", rng=seed)
    colour = colour_columns(P)
    assert colour.shape == (n,) and set(np.unique(colour)) == set(range(colour.max() + 1))
    # No row holds two columns of one colour.
    rows = np.repeat(np.arange(m), np.diff(P.indptr))
    pairs = rows * n + colour[P.indices]
    assert np.unique(pairs).size == pairs.size


# --------------------------------------------------------------------------- linearity first
@pytest.mark.parametrize("forward", [lambda x: x + 1.0, lambda x: np.maximum(x, 0.0),
                                     lambda x: x * np.abs(x)],
                         ids=["affine", "relu", "quadratic"])
def test_a_map_that_is_not_linear_is_never_called_not_adjoint(forward):
    for check in (dottest, assert_adjoint, adjoint_mismatch):
        with pytest.raises(ValueError, match="^forward is not linear: "):
            check(forward, lambda y: y, in_shape=(2, 3))
    with pytest.raises(ValueError, match="^adjoint is not linear: "):
        assert_adjoint(lambda x: 2 * x, lambda y: 2 * forward(y), in_shape=(2, 3))
    # materialize checks by default: the check probe sees it.
    with pytest.raises(ValueError, match="f is not linear"):
        materialize(forward, (2, 3))


@needs_torch
def test_a_torch_layer_with_a_bias_is_not_linear():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, bias=True).double()
    with pytest.raises(ValueError, match="forward is not linear: f\\(x \\+ y\\)"):
        assert_adjoint(conv, in_shape=(2, 5, 5))
    with pytest.raises(ValueError, match="forward is not linear"):
        dottest(torch.nn.Sequential(conv, torch.nn.ReLU()), in_shape=(2, 5, 5))


# --------------------------------------------------------------------------- torch callables
WT = torch.from_numpy(W) if torch is not None else None


def _torch_conv_function(bug=None):
    """``conv2d`` (KW on SHAPE) as a custom ``autograd.Function``, with a backward written
    by hand: right, or with one of the classic slips."""

    class Conv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return F.conv2d(x[None], WT.to(x.dtype), **KW)[0]

        @staticmethod
        def backward(ctx, g):
            w = WT.to(g.dtype)
            if bug == "flipped":
                w = w.flip(-1, -2)
            gx = F.conv_transpose2d(g[None], w, output_padding=1, **KW)[0]
            if bug == "last row":
                gx = gx.clone()
                gx[:, -1, :] = 0  # the border crop off by one: the last row never written
            if bug == "scale":
                gx = 0.5 * gx
            return gx

    return Conv.apply


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_torch_backward_is_the_adjoint_tested(dtype):
    # A right backward passes, in float32 and float64, with no adjoint given.
    right = _torch_conv_function()
    assert_adjoint(right, in_shape=SHAPE, dtype=dtype, rng=0)
    assert dottest(right, in_shape=SHAPE, dtype=dtype, rng=1) <= default_rtol(dtype)
    for bug in ("flipped", "last row", "scale"):
        with pytest.raises(AssertionError, match="not adjoint"):
            assert_adjoint(_torch_conv_function(bug), in_shape=SHAPE, dtype=dtype, rng=0)


@needs_torch
@pytest.mark.parametrize("dtype", [torch.float32 if torch else None,
                                   torch.float64 if torch else None])
def test_torch_modules_and_functions_of_tensors(dtype):
    conv = torch.nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2, bias=False).to(dtype)
    # float64 probes, a float32 layer: it is fed its own dtype and judged at its precision.
    assert_adjoint(conv, in_shape=SHAPE, rng=0)
    # A function of tensors with a hand-written adjoint of tensors: both detected.
    w = WT.to(dtype)
    f = lambda t: F.conv2d(t[None].to(dtype), w, **KW)[0]  # noqa: E731
    g = lambda t: F.conv_transpose2d(t[None].to(dtype), w, output_padding=1, **KW)[0]  # noqa: E731
    assert_adjoint(f, g, in_shape=SHAPE, rng=1)
    with pytest.raises(AssertionError, match="not adjoint"):
        assert_adjoint(f, lambda t: 2 * g(t), in_shape=SHAPE, rng=1)


@needs_torch
def test_torch_backward_of_a_complex_map():
    rng = np.random.default_rng(40)
    M = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    Mt = torch.from_numpy(M)
    assert dottest(lambda t: torch.matmul(Mt, t), in_shape=(3,), dtype=np.complex128,
                   rng=0) < 1e-14


@needs_torch
def test_tensors_that_require_grad_are_detached():
    A = np.random.default_rng(41).standard_normal((4, 3))
    f = lambda x: torch.from_numpy(A @ x).requires_grad_()  # noqa: E731
    g = lambda y: torch.from_numpy(A.T @ y).requires_grad_()  # noqa: E731
    assert dottest(f, g, in_shape=(3,), rng=0) < 1e-14
    np.testing.assert_array_equal(materialize(f, (3,)).toarray(), A)


# --------------------------------------------------------------------------- where
def _dropped_last_row(y):
    out = _right(y)
    out[:, -1, :] = 0  # the crop stops one row short
    return out


@needs_torch
def test_adjoint_mismatch_locates_a_dropped_border_row():
    mm = adjoint_mismatch(_conv, _dropped_last_row, in_shape=SHAPE)
    assert isinstance(mm, AdjointMismatch) and not mm.ok
    assert mm.difference.shape == (4 * 8 * 8, 4 * 4 * 4)
    # Every wrong input is on the last row (7), every wrong output on the last output row
    # (3: the only one whose window, 2 * 3 - 1 + t for t < 3, reaches row 7), all channels.
    bad_rows = np.flatnonzero(mm.input_error.max(axis=(0, 2)) > mm.tolerance)
    bad_out_rows = np.flatnonzero(mm.output_error.max(axis=(0, 2)) > mm.tolerance)
    assert list(bad_rows) == [7] and list(bad_out_rows) == [3]
    assert mm.worst_input[1] == 7 and mm.worst_output[1] == 3
    assert len(mm.worst_input) == 3 and 0 <= mm.worst_input[0] < 4
    # The difference is exactly -A^H on those entries (B holds 0 there).
    A = conv_matrix(W, SHAPE, **KW)
    D = mm.difference.toarray()
    expected = np.zeros_like(D)
    last = np.zeros(SHAPE, bool)
    last[:, -1, :] = True
    expected[last.ravel()] = -A.T.toarray()[last.ravel()]
    np.testing.assert_allclose(D, expected, atol=1e-12)
    text = str(mm)
    assert text.startswith("adjoint mismatch") and f"input {mm.worst_input}" in text
    assert "B holds 0" in text


@needs_torch
def test_adjoint_mismatch_of_a_right_adjoint_and_of_torch_backward():
    assert adjoint_mismatch(_conv, _right, in_shape=SHAPE).ok
    mm = adjoint_mismatch(_torch_conv_function(), in_shape=SHAPE)
    assert mm.ok and str(mm).startswith("adjoint matches")
    mm = adjoint_mismatch(_torch_conv_function("last row"), in_shape=SHAPE,
                          pattern=conv_taps(W, SHAPE, **KW))
    assert not mm.ok and mm.worst_input[1] == 7
    # A crop shifted by one pixel: B's band sits one row and column off A^H's.
    mm = adjoint_mismatch(_conv, _padding_off_by_one, in_shape=SHAPE)
    assert not mm.ok and mm.max_abs > 0.1


@needs_torch
def test_adjoint_mismatch_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    mm = adjoint_mismatch(_conv, _dropped_last_row, in_shape=SHAPE)
    fig = mm.plot()
    assert isinstance(fig, Figure) and len(fig.axes) >= 3
    assert "B - A^H" in fig.axes[0].get_title()
    _, ax = plt.subplots()
    assert mm.plot(ax=ax) is ax
    flat = adjoint_mismatch(np.eye(3), np.diag([1.0, 1.0, 2.0]))
    assert flat.worst_input == (2,) and isinstance(flat.plot(), Figure)
    plt.close("all")


# --------------------------------------------------------------------------- hostile input
def test_functions_that_return_no_array_are_named():
    for value, kind in [(None, "NoneType"), ("abc", "str"), (object(), "object")]:
        with pytest.raises(TypeError, match=f"f must return an array.*{kind}"):
            materialize(lambda x, v=value: v, (3,))
        with pytest.raises(TypeError, match="forward must return an array") as info:
            dottest(lambda x, v=value: v, lambda y: y, in_shape=(3,))
        assert "in_shape" not in str(info.value)


def test_a_function_whose_output_size_changes_is_refused():
    calls = []

    def f(x):
        calls.append(1)
        return x.ravel()[: 5 if len(calls) == 1 else 4]

    with pytest.raises(ValueError, match="f returned 4 values .* one output size"):
        materialize(f, (5,))
    with pytest.raises(ValueError, match="batched: it must return a stack of"):
        materialize(lambda X: X[0], (3,), batched=True)


def test_empty_and_oversize_inputs_are_refused_before_allocating():
    with pytest.raises(ValueError, match=r"in_shape=\(0,\) holds no values"):
        materialize(lambda x: x, (0,))
    # Ten million inputs: refused before a single probe of 80 MB exists.
    peak, _ = peak_bytes(lambda: materialize(lambda x: x, (10**7,), max_entries=10**6),
                         error=ValueError)
    assert peak < 2**20
    with pytest.raises(ValueError, match=r"in_shape=\(100000, 100000\) holds 10,000,000,000"):
        materialize(lambda x: x, (10**5, 10**5))
    # A dense map: refused while probing, as the entries add up, not after.
    with pytest.raises(ValueError, match="max_entries=1,000"):
        materialize(lambda x: np.full(100, x.sum()), (100,), max_entries=1000)


@pytest.mark.parametrize("rng, error", [("seed", TypeError), (-1, ValueError),
                                        (1.5, TypeError), (True, TypeError)])
def test_rng_is_checked(rng, error):
    with pytest.raises(error, match="rng"):
        dottest(np.eye(2), rng=rng)


@pytest.mark.parametrize("rtol, error", [(-1, ValueError), (np.nan, ValueError),
                                         (np.inf, ValueError), ("1e-3", TypeError),
                                         (True, TypeError)])
def test_rtol_is_checked(rtol, error):
    with pytest.raises(error, match="rtol"):
        assert_adjoint(np.eye(2), rtol=rtol)


def test_other_arguments_are_named():
    f = lambda x: 2 * x  # noqa: E731
    for kwargs, error, name in [
            (dict(receptive_field=1.5), TypeError, "receptive_field"),
            (dict(receptive_field="3"), TypeError, "receptive_field"),
            (dict(receptive_field=(1, 2, 3)), ValueError, "receptive_field"),
            (dict(pattern=[[1, 2], [3]]), ValueError, "pattern"),
            (dict(pattern="abc"), TypeError, "pattern"),
            (dict(check="yes"), TypeError, "check"),
            (dict(dtype="no such dtype"), TypeError, "dtype"),
            (dict(dtype=np.int32), ValueError, "dtype")]:
        with pytest.raises(error, match=name):
            materialize(f, (1, 3), **kwargs)
    with pytest.raises(ValueError, match="trials"):
        dottest(np.eye(2), trials=2**63)
    with pytest.raises(TypeError, match="verbose"):
        dottest(np.eye(2), verbose="yes")


def test_mismatch_plot_names_a_bad_ax_and_an_empty_forward():
    mm = adjoint_mismatch(np.array([[1.0, 2.0], [0.0, 3.0]]))
    with pytest.raises(TypeError, match=r"ax must be a matplotlib Axes .* got ax=.left."):
        mm.plot(ax="left")
    with pytest.raises(ValueError, match=r"forward of shape \(1, 0\) maps from an empty space"):
        adjoint_mismatch(np.zeros((1, 0)))
    with pytest.raises(ValueError, match=r"forward of shape \(0, 2\) maps to an empty space"):
        adjoint_mismatch(np.zeros((0, 2)))
