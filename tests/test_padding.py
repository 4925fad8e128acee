"""F.pad as a matrix and as an operator, against torch, by hand and by identities."""

import math

import numpy as np
import pytest
from helpers import F, assert_canonical, needs_torch, seeds, torch
from hypothesis import given
from hypothesis import strategies as st

from convmat import conv_matrix, pad_matrix, pad_operator, pad_output_shape
from convmat.testing import dottest

MODES = ("constant", "reflect", "replicate", "circular")
# Every refusal names the argument at fault and echoes it.
NAMED = r"(pad|mode|input_shape)="


# --------------------------------------------------------------------------- the oracle
def torch_pad(x, pad, mode, **kw):
    return F.pad(torch.from_numpy(x)[None], tuple(pad), mode=mode, **kw)


def torch_or_none(x, pad, mode):
    try:
        return torch_pad(x, pad, mode).numpy()
    except (RuntimeError, NotImplementedError, ValueError):
        return None


def pads_batch(shape, pad) -> bool:
    """pad reaches the batch axis of x[None] with a non-zero pair."""
    return len(pad) == 2 * (len(shape) + 1) and tuple(pad[-2:]) != (0, 0)


def overwraps(shape, pad) -> bool:
    """Circular padding that torch does not compute: it crops, then copies each border
    from inside its own output; a border longer than what the crop left (or a crop past
    the input) reads memory not yet written (torch raises, or returns garbage)."""
    for i in range(len(pad) // 2):
        b, a = pad[2 * i], pad[2 * i + 1]
        kept = shape[-1 - i] + min(b, 0) + min(a, 0)
        if kept < 0 or max(b, a) > kept:
            return True
    return False


def check_pad(shape, pad, mode, seed):
    """pad_matrix, pad_operator and pad_output_shape against F.pad; the matrix or None."""
    x = np.random.default_rng(seed).standard_normal(shape)
    expected = torch_or_none(x, pad, mode)
    refusal = NAMED
    if expected is not None and pads_batch(shape, pad):
        refusal = "batch axis"  # torch pads the batch; one sample's matrix cannot
    elif expected is not None and mode == "circular" and overwraps(shape, pad):
        refusal = "wraps what is left at most once"
    elif expected is not None:
        refusal = None
    if refusal is not None:
        for build in (pad_matrix, pad_operator, pad_output_shape):
            with pytest.raises(ValueError, match=refusal):
                build(shape, pad, mode=mode)
        return None
    P = pad_matrix(shape, pad, mode=mode)
    assert pad_output_shape(shape, pad, mode=mode) == expected.shape[1:]
    assert P.shape == (expected.size, x.size)
    np.testing.assert_array_equal(P @ x.ravel(), expected.ravel())
    assert_canonical(P)
    np.testing.assert_array_equal(pad_operator(shape, pad, mode=mode) @ x.ravel(),
                                  expected.ravel())
    return P


@st.composite
def pad_cases(draw, modes=MODES, wild=False):
    """``(input_shape, pad, mode)``, 1-3 spatial axes. Tame cases are mostly valid
    (crops of up to half an axis, widths torch allows); wild ones are anything near the
    limits: widths past them, too many or an odd number of entries, empty axes."""
    mode = draw(st.sampled_from(modes))
    nd = draw(st.integers(1, 3))
    low = 0 if wild or mode in ("constant", "circular") else 1
    shape = (draw(st.integers(low, 3)),) + tuple(draw(st.integers(low, 5)) for _ in range(nd))
    if wild:
        pairs = draw(st.integers(0, nd + 2))
    elif mode == "constant":
        pairs = draw(st.integers(0, nd + 1))  # nd + 1: the channel axis too
    else:
        pairs = draw(st.sampled_from([k for k in (nd, nd + 1) if k <= 3]))
    pad = []
    for i in range(pairs):
        L = shape[-1 - i] if i < len(shape) else 1
        lo, hi = {"reflect": (-(L // 2), L - 1), "circular": (-(L // 2), L // 2)}.get(
            mode, (-(L // 2), L + 1))
        if wild:
            lo, hi = -L - 2, L + 2
        pad += [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]
    if wild and pad and draw(st.booleans()):
        pad.pop()
    return shape, tuple(pad), mode


# --------------------------------------------------------------------------- torch
@needs_torch
@given(pad_cases(), seeds)
def test_pad_matrix_matches_torch(case, seed):
    check_pad(*case, seed)


@needs_torch
@given(pad_cases(wild=True), seeds)
def test_pad_refuses_what_torch_refuses(case, seed):
    check_pad(*case, seed)


@needs_torch
@given(pad_cases(), seeds)
def test_transpose_is_torchs_backward(case, seed):
    """P.T crops and folds back: it is the gradient of F.pad."""
    shape, pad, mode = case
    P = check_pad(shape, pad, mode, seed)
    if P is None:
        return
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal(shape)[None]).requires_grad_()
    y = F.pad(x, pad, mode=mode)
    g = rng.standard_normal(y.shape)
    if y.numel() == 0:
        # torch's reflection/replication backward leaves an empty output's gradient
        # uninitialised (torch 2.13); the transpose of an empty map is 0.
        np.testing.assert_array_equal(P.T @ g.ravel(), 0)
        return
    (grad,) = torch.autograd.grad(y, x, torch.from_numpy(g))
    np.testing.assert_allclose(P.T @ g.ravel(), grad.numpy().ravel(), rtol=1e-13, atol=1e-13)


@needs_torch
@given(pad_cases(modes=("constant",)), seeds, st.floats(-3, 3))
def test_constant_value_is_affine(case, seed, value):
    """F.pad(x, pad, value=v) == P @ x + v * (1 - P @ 1)."""
    shape, pad, _ = case
    if pads_batch(shape, pad):
        return
    x = np.random.default_rng(seed).standard_normal(shape)
    P = pad_matrix(shape, pad)
    expected = torch_pad(x, pad, "constant", value=value).numpy().ravel()
    ones = np.ones(P.shape[1])
    np.testing.assert_allclose(P @ x.ravel() + value * (1 - P @ ones), expected,
                               rtol=1e-15, atol=0)


@needs_torch
@given(pad_cases())
def test_pattern_is_where_torch_reads_the_input(case):
    """One stored 1 in exactly the rows F.pad fills from the input (structural)."""
    shape, pad, mode = case
    P = check_pad(shape, pad, mode, 0)
    if P is None:
        return
    read = torch_pad(np.ones(shape), pad, mode).numpy().ravel() == 1
    np.testing.assert_array_equal(np.diff(P.indptr), read.astype(int))
    assert (P.data == 1).all()


@needs_torch
@pytest.mark.parametrize("shape, pad, mode, says", [
    ((1, 5), (1, 1, 1), "constant", "even number"),
    ((1, 5), (0,) * 8, "constant", "at most 3 pairs"),
    ((1, 5), (5, 0), "reflect", "smaller than the size"),
    ((1, 5), (-9, 6), "reflect", "smaller than the size"),
    ((1, 5), (6, 0), "circular", "at most once"),
    ((1, 5), (2, -4), "circular", "at most once"),
    ((1, 5), (-6, 3), "circular", "at most once"),
    ((1, 5), (-6, 0), "constant", "crops more"),
    ((1, 5), (-3, -3), "constant", "crops more"),
    ((1, 5), (-3, -2), "replicate", "at least one padded axis"),
    ((1, 2, 3), (-3, 0, -2, 0), "reflect", "at least one padded axis"),
    ((1, 2, 3), (-4, 0, 0, 0), "replicate", "crops more"),
    ((3, 5), (1, 1, 3, 3), "reflect", "smaller than the size"),  # the channel axis
    ((3, 5), (1, 1, 1, 1, 1, 1), "reflect", "spatial and channel axes"),
    ((1, 4, 5), (1, 1), "replicate", "spatial and channel axes"),
    ((1, 2, 3, 4), (1,) * 8, "circular", "spatial and channel axes"),
    ((1, 2, 3, 4, 5), (1,) * 8, "reflect", "at most 3 axes"),
    ((0, 5), (1, 1), "reflect", "non-empty input"),
    ((2, 0), (0, 0), "replicate", "non-empty input"),
    ((1, 0), (1, 1), "circular", "at most once"),
    ((1, 5), (1, 1), "zeros", "'constant'"),
    ((1, 5), (1, 1), "foo", "one of"),
])
def test_refusals_name_the_argument_where_torch_refuses(shape, pad, mode, says):
    x = np.zeros(shape)
    with pytest.raises((RuntimeError, NotImplementedError, ValueError)):
        torch_pad(x, pad, mode)
    for build in (pad_matrix, pad_operator, pad_output_shape):
        with pytest.raises(ValueError, match=says) as info:
            build(shape, pad, mode=mode)
        assert any(f"{name}=" in str(info.value) for name in ("pad", "mode", "input_shape"))


@needs_torch
@pytest.mark.parametrize("pad", [(1, -5), (-5, 1), (-7, 4)])
def test_circular_refuses_what_torch_leaves_unwritten(pad):
    """torch does not raise here but returns uninitialised memory: the output border
    is copied from the output itself, where nothing was written (the crop left 0 or
    fewer elements). We refuse rather than guess."""
    assert overwraps((1, 5), pad)
    with pytest.raises(ValueError, match="at most once"):
        pad_matrix((1, 5), pad, mode="circular")


@needs_torch
def test_batch_axis_pair_may_only_be_zero():
    x = np.arange(6.0).reshape(2, 3)
    assert torch_pad(x, (1, 1, 0, 0, 1, 0), "constant").shape[0] == 2  # a batch of two
    with pytest.raises(ValueError, match="batch axis"):
        pad_matrix((2, 3), (1, 1, 0, 0, 1, 0))
    P = pad_matrix((2, 3), (1, 1, 0, 0, 0, 0))
    np.testing.assert_array_equal(P @ x.ravel(),
                                  torch_pad(x, (1, 1, 0, 0, 0, 0), "constant").numpy().ravel())


@needs_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_non_constant_modes_pad_the_channel_axis_too(mode):
    """With one pair more than spatial axes torch reads x[None] as unbatched."""
    x = np.arange(6.0).reshape(2, 3)
    expected = torch_pad(x, (1, 2, 1, 1), mode).numpy()
    assert expected.shape == (1, 4, 6)
    np.testing.assert_array_equal(pad_matrix((2, 3), (1, 2, 1, 1), mode=mode) @ x.ravel(),
                                  expected.ravel())


# --------------------------------------------------------------------------- by hand
def test_reflect_by_hand_and_its_fold():
    # Reflect 2 before and 1 after [a, b, c, d]: c b | a b c d | c; the edge a is not
    # repeated. P.T sends each output back: c collects outputs 0, 4 and 6.
    P = pad_matrix((1, 4), (2, 1), mode="reflect")
    src = [2, 1, 0, 1, 2, 3, 2]
    np.testing.assert_array_equal(P.toarray(), np.eye(4)[src])
    np.testing.assert_array_equal(P.T @ np.ones(7), [1, 2, 3, 1])
    np.testing.assert_array_equal(P.T @ np.arange(7.0), [2, 1 + 3, 0 + 4 + 6, 5])


@pytest.mark.parametrize("mode, pad, expected", [
    ("constant", (2, 1), [0, 0, 10, 11, 12, 13, 14, 0]),
    ("constant", (1, -2), [0, 10, 11, 12]),
    ("constant", (-5, 0), []),
    ("replicate", (2, 1), [10, 10, 10, 11, 12, 13, 14, 14]),
    ("replicate", (-6, 3), [14, 14]),  # q = 6, 7 clamped to the last element
    ("reflect", (-1, 2), [11, 12, 13, 14, 13, 12]),
    ("reflect", (-6, 3), [12, 11]),  # q = 6, 7 mirrored about 4: 2, 1
    ("circular", (2, 1), [13, 14, 10, 11, 12, 13, 14, 10]),
    ("circular", (2, -1), [12, 13, 10, 11, 12, 13]),  # crop [10..13] first, then wrap
    ("circular", (-1, 4), [11, 12, 13, 14, 11, 12, 13, 14]),
    ("circular", (-5, 0), []),
])
def test_one_dimension_by_hand(mode, pad, expected):
    x = np.arange(10.0, 15.0)
    np.testing.assert_array_equal(pad_matrix((1, 5), pad, mode=mode) @ x, expected)
    np.testing.assert_array_equal(pad_operator((1, 5), pad, mode=mode) @ x, expected)
    assert pad_output_shape((1, 5), pad, mode=mode) == (1, len(expected))


def test_two_dimensions_with_channels_by_hand():
    # Constant padding of the channel axis adds whole zero planes.
    x = np.arange(1.0, 5.0).reshape(1, 2, 2)
    y = (pad_matrix((1, 2, 2), (0, 1, 1, 0, 1, 0)) @ x.ravel()).reshape(2, 3, 3)
    np.testing.assert_array_equal(y[0], 0)
    np.testing.assert_array_equal(y[1], [[0, 0, 0], [1, 2, 0], [3, 4, 0]])


# --------------------------------------------------------------------------- identities
def _torch_pads(before, after):
    """Per-axis (before, after), first axis first -> torch's flat pad, last axis first."""
    return tuple(w for b, a in zip(before[::-1], after[::-1]) for w in (b, a))


@st.composite
def conv_padding_cases(draw):
    nd = draw(st.integers(1, 2))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    size = tuple(draw(st.integers(3, 6)) for _ in range(nd))
    if draw(st.booleans()):
        padding = "same"
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        before = [t // 2 for t in total]  # torch: the odd extra element goes after
        after = [t - b for t, b in zip(total, before)]
    else:
        padding = draw(st.integers(-1 if mode != "zeros" else 0, 2))
        before = after = [padding] * nd
    return nd, mode, kernel, dilation, size, padding, before, after


@given(conv_padding_cases(), seeds)
def test_conv_padding_mode_is_conv_after_pad(case, seed):
    nd, mode, kernel, dilation, size, padding, before, after = case
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((2, 3, *kernel))
    shape = (3, *size)
    try:
        C = conv_matrix(w, shape, padding=padding, dilation=dilation, padding_mode=mode)
    except ValueError:
        return  # a kernel longer than the padded input
    pads = _torch_pads([0, *before], [0, *after])[:2 * nd]
    pad_mode = "constant" if mode == "zeros" else mode
    padded = pad_output_shape(shape, pads, mode=pad_mode)
    P = pad_matrix(shape, pads, mode=pad_mode)
    product = conv_matrix(w, padded, dilation=dilation) @ P
    np.testing.assert_allclose(C.toarray(), product.toarray(), rtol=1e-12, atol=1e-12)


@given(pad_cases(), st.integers(1, 3))
def test_operator_equals_matrix_and_passes_the_dot_test(case, batch):
    shape, pad, mode = case
    try:
        P = pad_matrix(shape, pad, mode=mode)
    except ValueError:
        return
    A = pad_operator(shape, pad, mode=mode)
    assert A.shape == P.shape and A.in_shape == shape
    X = np.random.default_rng(0).standard_normal((P.shape[1], batch))
    Y = np.random.default_rng(1).standard_normal((P.shape[0], batch))
    np.testing.assert_array_equal(A @ X, P @ X)
    np.testing.assert_allclose(A.H @ Y, P.T @ Y, rtol=1e-14, atol=1e-14)
    if min(P.shape) > 0:
        assert dottest(A, rng=0) < 1e-12
        assert dottest(P, A.H, rng=1) < 1e-12


def test_operator_keeps_the_data_dtype():
    A = pad_operator((2, 4, 4), (1, 2, 2, 1), mode="replicate")
    x = np.ones(A.shape[1], np.float32)
    assert (A @ x).dtype == np.float32 and (A.H @ (A @ x)).dtype == np.float32
    # Each replicated corner is read 1 + its widths times: the fold sums them.
    P = pad_matrix((2, 4, 4), (1, 2, 2, 1), mode="replicate")
    np.testing.assert_array_equal(A.H @ (A @ x), P.T @ (P @ x))


# --------------------------------------------------------------------------- the matrix itself
def test_canonical_int32_and_dtypes():
    P = pad_matrix((2, 3, 4), (1, 1, 2, 0), mode="circular")
    assert_canonical(P)
    assert P.dtype == np.float64 and P.nnz == P.shape[0]  # no zero rows out of circular
    for dtype in (np.float32, np.complex128, np.int8):
        Q = pad_matrix((2, 3, 4), (1, 1, 2, 0), mode="circular", dtype=dtype)
        assert Q.dtype == dtype
        np.testing.assert_array_equal(Q.toarray(), P.toarray())
    for dtype in (bool, object, "U3", "float128x"):
        with pytest.raises(TypeError, match="dtype"):
            pad_matrix((1, 4), (1, 1), dtype=dtype)


def test_constant_nnz_is_the_kept_input():
    P = pad_matrix((3, 4, 5), (2, -1, -1, 3, 1, 0))
    assert P.shape == (4 * 6 * 6, 3 * 4 * 5)
    assert P.nnz == 3 * 3 * 4  # channels all kept, one row and one column cropped
    assert_canonical(P)


def test_arguments_are_checked_for_their_kind():
    for pad in (1, "11", (1.0, 1), (True, 1), None):
        with pytest.raises(TypeError, match="pad"):
            pad_matrix((1, 4), pad)
    with pytest.raises(TypeError, match="input_shape"):
        pad_matrix((True, 4), (1, 1))
    with pytest.raises(ValueError, match="64-bit"):
        pad_matrix((1, 4), (2**63, 0))
    # numpy integers are integers
    P = pad_matrix((np.int64(1), np.int32(4)), np.array([1, 2]), mode="reflect")
    Q = pad_matrix((1, 4), (np.int8(1), np.uint16(2)), mode="reflect")
    np.testing.assert_array_equal(P.toarray(), Q.toarray())


def test_size_budget_refuses_before_allocating():
    with pytest.raises(ValueError, match="convmat.pad_operator"):
        pad_matrix((16, 512, 512), (3, 3, 3, 3), mode="reflect", max_entries=10**6)
    # 10**12 zero rows: refused by arithmetic, not by running out of memory.
    with pytest.raises(ValueError, match="max_entries"):
        pad_matrix((1, 1), (0, 10**12))
    assert pad_output_shape((1, 1), (0, 10**12)) == (1, 10**12 + 1)
    # The limit counts stored entries and rows (each costs an indptr slot): 4 and 6.
    P = pad_matrix((1, 4), (1, 1), max_entries=6)
    assert P.nnz == 4 and math.prod(P.shape) == 24
    with pytest.raises(ValueError, match="6 rows"):
        pad_matrix((1, 4), (1, 1), max_entries=5)
