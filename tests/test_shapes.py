"""Geometries, their errors and argument coercion, tested directly.

Expected shapes come from torch (the oracle, on hypothesis-drawn configurations), from
cases worked by hand in the comments, or from brute-force loops over the window formula.
"""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import F, needs_torch, torch
from hypothesis import event, given
from hypothesis import strategies as st

from convmat import (
    avg_pool_output_shape,
    bed_of_nails_output_shape,
    conv_matrix,
    conv_output_shape,
    conv_transpose_output_shape,
    interpolate_output_shape,
    max_pool_selection,
    max_unpool_matrix,
    max_unpool_output_shape,
    pixel_shuffle_output_shape,
    pixel_unshuffle_output_shape,
    pool_output_shape,
)
from convmat._args import as_array, as_bool, as_int, as_shape, as_tuple, shape_of
from convmat.shapes import (
    avg_pool_geometry,
    bed_of_nails_geometry,
    conv_geometry,
    conv_transpose_geometry,
    interpolate_geometry,
    max_unpool_geometry,
    pixel_shuffle_geometry,
    pixel_unshuffle_geometry,
    pool_geometry,
)
from convmat.window import Window

TORCH_ERRORS = (RuntimeError, ValueError, TypeError, NotImplementedError)


def torch_or_error(call):
    """torch's result, or ``None`` when torch refuses the configuration."""
    try:
        return call()
    except TORCH_ERRORS:
        return None


def assert_same_shape(torch_call, convmat_call, *, also_refused=()):
    """convmat refuses (ValueError/TypeError) exactly when torch does, else same shape.

    ``also_refused``: message fragments of refusals convmat adds on purpose where torch
    returns a result (an empty pooling window, where torch gives -inf).
    """
    expected = torch_or_error(torch_call)
    event("torch refuses" if expected is None else "torch accepts")
    if expected is None:
        with pytest.raises((ValueError, TypeError)):
            convmat_call()
        return
    try:
        got = convmat_call()
    except ValueError as err:
        if any(part in str(err) for part in also_refused):
            return
        raise
    assert got == tuple(expected.shape[1:])


# =========================================================================== coercion
INT_LIKE = [3, np.int8(3), np.int16(3), np.int32(3), np.int64(3), np.uint8(3), np.uint64(3)]
NOT_INT = [True, False, np.bool_(True), 3.0, np.float64(3.0), np.float32(3), "3", None,
           1 + 0j]


@pytest.mark.parametrize("value", INT_LIKE)
def test_numpy_integers_are_integers(value):
    assert as_int(value, "groups") == 3 and type(as_int(value, "groups")) is int
    assert as_tuple(value, 2, "stride") == (3, 3)
    assert as_tuple([value, 1], 2, "stride") == (3, 1)
    assert as_shape((value, 4)) == (3, 4)


@pytest.mark.parametrize("value", NOT_INT)
def test_bools_floats_and_others_are_type_errors(value):
    with pytest.raises(TypeError, match=r"groups must be an integer, got groups="):
        as_int(value, "groups")
    with pytest.raises(TypeError, match=r"stride must be an integer or a sequence of 2 "
                                        r"integers, got stride="):
        as_tuple(value, 2, "stride")
    with pytest.raises(TypeError, match=r"stride must be an integer or a sequence of 2 "
                                        r"integers, got stride=\(1, "):
        as_tuple((1, value), 2, "stride")
    with pytest.raises(TypeError, match=r"input_shape\[1\] must be an integer, got "
                                        r"input_shape=\(1, "):
        as_shape((1, value))


def test_float_message_names_the_argument_and_the_value():
    with pytest.raises(TypeError, match=r"^groups must be an integer, got groups=2\.0$"):
        as_int(2.0, "groups")


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**100, np.uint64(2**63)])
def test_values_beyond_int64_are_value_errors(value):
    """torch cannot convert them either ("Overflow when unpacking long long")."""
    shown = repr(value)
    for call in (lambda: as_int(value, "stride"), lambda: as_tuple(value, 2, "stride"),
                 lambda: as_tuple((1, value), 2, "stride"), lambda: as_shape((1, value))):
        with pytest.raises(ValueError, match="does not fit in a 64-bit integer") as info:
            call()
        assert shown in str(info.value)


def test_int64_limits_themselves_are_accepted():
    assert as_int(2**63 - 1, "stride") == 2**63 - 1
    assert as_int(-(2**63), "padding") == -(2**63)


@pytest.mark.parametrize("call, message", [
    (lambda: as_int(0, "groups", at_least=1), "groups must be positive, got groups=0"),
    (lambda: as_int(-1, "padding", at_least=0), "padding must be at least 0, got padding=-1"),
    (lambda: as_int(5, "k", at_most=4), "k must be at most 4, got k=5"),
    (lambda: as_tuple((1, 0), 2, "stride", at_least=1),
     "stride must be positive, got stride=(1, 0)"),
    (lambda: as_tuple([-1], 2, "padding", at_least=0),
     "padding must be at least 0, got padding=[-1]"),
    (lambda: as_tuple(np.int64(0), 3, "dilation", at_least=1),
     "dilation must be positive, got dilation=np.int64(0)"),
    (lambda: as_tuple(3, 2, "stride", at_least=1, at_most=2),
     "stride must be at most 2, got stride=3"),
])
def test_range_messages_echo_the_value_as_given(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_sequence_lengths_and_shapes():
    assert as_tuple([2], 3, "stride") == (2, 2, 2)  # torch's expansion of one value
    assert as_tuple(np.array([1, 2]), 2, "stride") == (1, 2)
    with pytest.raises(ValueError, match=r"sequence of 2 integers \(one per spatial"):
        as_tuple((1, 2, 3), 2, "stride")
    with pytest.raises(ValueError, match="non-negative sizes, got input_shape=\\(1, -2\\)"):
        as_shape((1, -2))
    with pytest.raises(ValueError, match="at least 3 entries"):
        as_shape((1, 2), min_ndim=3)
    with pytest.raises(TypeError, match="input_shape must be a sequence of integers"):
        as_shape(5)


def test_as_bool():
    assert as_bool(np.bool_(True), "ceil_mode") is True
    for value in (1, 0, "yes", None):
        with pytest.raises(TypeError, match="ceil_mode must be a bool, got ceil_mode="):
            as_bool(value, "ceil_mode")


@pytest.mark.parametrize("value", [None, "abc", b"ab", np.array([object()]),
                                   np.array(["a", "b"]), [1, None]])
def test_as_array_refuses_what_is_not_numbers(value):
    with pytest.raises(TypeError, match="^weight must hold numbers, got"):
        as_array(value, "weight")


def test_as_array_refuses_ragged_lists_and_wrong_kinds():
    with pytest.raises(ValueError, match="weight must be a rectangular array"):
        as_array([[1, 2], [3]], "weight")
    with pytest.raises(TypeError, match="indices must hold int, unsigned int values, got an "
                                        "array of dtype float64"):
        as_array([1.5], "indices", kinds="iu")


def test_as_array_takes_lists_and_arrays():
    a = np.arange(6.0).reshape(2, 3)
    assert as_array(a, "x") is a
    np.testing.assert_array_equal(as_array([[1, 2]], "x"), [[1, 2]])


@needs_torch
def test_as_array_takes_torch_tensors():
    t = torch.arange(6.0).reshape(2, 3).requires_grad_()
    np.testing.assert_array_equal(as_array(t, "x"), np.arange(6.0).reshape(2, 3))
    # A lazily conjugated view and a bfloat16 tensor (numpy has no bfloat16: float32).
    c = torch.tensor([1 + 2j]).conj()
    np.testing.assert_array_equal(as_array(c, "x"), [1 - 2j])
    b = as_array(torch.tensor([1.5, 2.0], dtype=torch.bfloat16), "x")
    np.testing.assert_array_equal(b, np.array([1.5, 2.0], np.float32))


@needs_torch
def test_builders_take_torch_tensors():
    w = torch.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True)
    np.testing.assert_array_equal(conv_matrix(w, (1, 5)).toarray(),
                                  conv_matrix(w.detach().numpy(), (1, 5)).toarray())
    assert conv_output_shape(w, (1, 5)) == (1, 3)
    x = torch.tensor([[1.0, 3.0, 2.0, 2.0]], requires_grad=True)
    S, idx = max_pool_selection(x, 2)
    np.testing.assert_array_equal(idx, [[1, 2]])
    U = max_unpool_matrix(torch.from_numpy(idx), 2)
    np.testing.assert_array_equal(U.toarray(), S.T.toarray())


def test_as_array_does_not_import_torch():
    """With torch unimportable, a duck-typed tensor is still read (detach, cpu, numpy)."""
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # any `import torch` now raises ImportError
        import numpy as np
        import convmat

        class Tensor:
            def __init__(self, a): self.a = np.asarray(a)
            shape = property(lambda self: self.a.shape)
            def detach(self): return self
            def cpu(self): return self
            def numpy(self): return self.a

        C = convmat.conv_matrix(Tensor([[[1.0, 2.0]]]), (1, 3))
        print(C.toarray().tolist())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[[1.0, 2.0, 0.0], [0.0, 1.0, 2.0]]"


def test_shape_of():
    assert shape_of((1, np.int64(1), 3), "weight") == (1, 1, 3)
    assert shape_of(np.zeros((2, 1, 3)), "weight") == (2, 1, 3)
    assert shape_of([[[1.0, 2.0]]], "weight") == (1, 1, 2)  # a nested list is an array
    for bad in (None, "abc"):
        with pytest.raises(TypeError, match="weight must hold numbers"):
            shape_of(bad, "weight")


# Every shape helper with one integer argument, and the value that gives a valid call.
INT_ARGUMENTS = [
    (lambda v: conv_output_shape((1, 1, 3), (1, 8), stride=v), "stride"),
    (lambda v: conv_output_shape((1, 1, 3), (1, 8), dilation=v), "dilation"),
    (lambda v: conv_output_shape((3, 1, 3), (3, 8), groups=v), "groups"),
    (lambda v: conv_output_shape((1, 1, 3), (1, 8), padding=v), "padding"),
    (lambda v: conv_output_shape((1, 1, 3), (1, v)), "input_shape"),
    (lambda v: conv_transpose_output_shape((1, 1, 3), (1, 4), stride=v), "stride"),
    (lambda v: conv_transpose_output_shape((1, 1, 3), (1, 8), padding=v), "padding"),
    (lambda v: conv_transpose_output_shape((1, 1, 3), (1, 4), stride=4, output_padding=v),
     "output_padding"),
    (lambda v: pool_output_shape((1, 8), v), "kernel_size"),
    (lambda v: pool_output_shape((1, 8), 2, stride=v), "stride"),
    (lambda v: avg_pool_output_shape((1, 8), 2, stride=v), "stride"),
    (lambda v: avg_pool_output_shape((1, 8, 8), 2, divisor_override=v), "divisor_override"),
    (lambda v: max_unpool_output_shape((1, 4), 2, stride=v), "stride"),
    (lambda v: interpolate_output_shape((1, 4), size=v), "size"),
    (lambda v: bed_of_nails_output_shape((1, 4), v), "scale_factor"),
    (lambda v: bed_of_nails_output_shape((1, 4), 4, offset=v), "offset"),
    (lambda v: pixel_shuffle_output_shape((9, 2, 2), v), "upscale_factor"),
    (lambda v: pixel_unshuffle_output_shape((1, 6, 6), v), "downscale_factor"),
]


@pytest.mark.parametrize("call, name", INT_ARGUMENTS)
def test_every_helper_coerces_integers_alike(call, name):
    assert call(np.int64(3)) == call(3)
    for bad in (True, np.bool_(True), 3.0):
        with pytest.raises(TypeError, match=f"{name}.* must be an integer"):
            call(bad)
    with pytest.raises(ValueError, match=f"{name} does not fit in a 64-bit integer"):
        call(2**63)


# =========================================================================== the window
@st.composite
def windows(draw):
    """A window of 1 or 2 dimensions, any number of outputs (not only the fitting ones)."""
    nd = draw(st.integers(1, 2))
    fields = [tuple(draw(st.integers(lo, hi)) for _ in range(nd))
              for lo, hi in [(1, 8), (1, 4), (1, 3), (1, 3), (-2, 4), (0, 0), (0, 6)]]
    return Window(*fields)


def brute_positions(win, dim, n_out, first=0):
    s, p, d = win.stride[dim], win.pad_before[dim], win.dilation[dim]
    return [[j * s - p + t * d for t in range(win.kernel[dim])]
            for j in range(first, first + n_out)]


@given(windows(), st.integers(0, 5), st.integers(0, 3))
def test_window_positions_inside_and_count_by_brute_force(win, n_out, first):
    for dim in range(win.ndim):
        L = win.size[dim]
        for n in (None, n_out):
            n_rows = win.out[dim] if n is None else n
            expected = brute_positions(win, dim, n_rows)
            inside = [[0 <= q < L for q in row] for row in expected]
            got = win.positions(dim, n)
            assert got.dtype == np.int64 and got.shape == (n_rows, win.kernel[dim])
            assert got.tolist() == expected
            assert win.inside(dim, n).tolist() == inside
            assert win.count_inside(dim, n) == sum(map(sum, inside))
        shifted = brute_positions(win, dim, n_out, first)
        assert win.positions(dim, n_out, first=first).tolist() == shifted
        assert win.inside(dim, n_out, first=first).tolist() == [
            [0 <= q < L for q in row] for row in shifted]


def test_window_by_hand():
    # 3 taps, stride 2, one padding element before an input of 4: windows at -1 and 1.
    win = Window((4,), (3,), (2,), (1,), (1,), (1,), (2,))
    assert win.positions(0).tolist() == [[-1, 0, 1], [1, 2, 3]]
    assert win.inside(0).tolist() == [[False, True, True], [True, True, True]]
    assert win.count_inside(0) == 5


def test_count_inside_is_arithmetic_for_huge_windows():
    # A 10**12-tap window must be counted without a loop over its taps. Without padding
    # every tap is inside: n_out * k. With 'same' padding p on both sides (stride 1), the
    # outputs at distance i < p from each edge lose p - i taps: n * k - p (p + 1).
    k, n = 10**12 + 1, 3 * 10**12
    valid = Window((n,), (k,), (1,), (1,), (0,), (0,), (n - k + 1,))
    assert valid.count_inside(0) == (n - k + 1) * k
    p = k // 2
    same = Window((n,), (k,), (1,), (1,), (p,), (p,), (n,))
    assert same.count_inside(0) == n * k - p * (p + 1)


# =========================================================================== geometries
@pytest.mark.parametrize("geo, in_shape, out_shape", [
    # (4 - 3) // 1 + 1 = 2; with padding 1: (6 - 3) + 1 = 4.
    (lambda: conv_geometry((1, 1, 3), (1, 4)), (1, 4), (1, 2)),
    (lambda: conv_geometry((2, 1, 3), (1, 4), padding=1), (1, 4), (2, 4)),
    # stride 2, L = 7, k = 3, dilation 2 (ek = 5): (7 - 5) // 2 + 1 = 2.
    (lambda: conv_geometry((1, 1, 3), (1, 7), stride=2, dilation=2), (1, 7), (1, 2)),
    # (2 - 1) * 2 + (3 - 1) + 1 = 5; with output_padding 1: 6.
    (lambda: conv_transpose_geometry((1, 3, 3), (1, 2), stride=2), (1, 2), (3, 5)),
    (lambda: conv_transpose_geometry((1, 1, 3), (1, 2), stride=2, output_padding=1),
     (1, 2), (1, 6)),
    # 5 // 2 = 2 windows; ceil_mode adds the one starting at 4 (inside the input).
    (lambda: pool_geometry((2, 5), 2), (2, 5), (2, 2)),
    (lambda: pool_geometry((2, 5), 2, ceil_mode=True), (2, 5), (2, 3)),
    (lambda: avg_pool_geometry((1, 4, 4), 2), (1, 4, 4), (1, 2, 2)),
    # (2 - 1) * 2 - 0 + 2 = 4 per dimension.
    (lambda: max_unpool_geometry((3, 2, 2), 2), (3, 2, 2), (3, 4, 4)),
    # floor(10 * 0.35) = 3.
    (lambda: interpolate_geometry((3, 10), scale_factor=0.35, mode="linear"), (3, 10),
     (3, 3)),
    (lambda: bed_of_nails_geometry((1, 2, 3), (2, 3)), (1, 2, 3), (1, 4, 9)),
    (lambda: pixel_shuffle_geometry((5, 8, 1, 2), 2), (5, 8, 1, 2), (5, 2, 2, 4)),
    (lambda: pixel_unshuffle_geometry((5, 2, 2, 4), 2), (5, 2, 2, 4), (5, 8, 1, 2)),
])
def test_every_geometry_has_in_and_out_shape(geo, in_shape, out_shape):
    g = geo()
    assert (g.in_shape, g.out_shape) == (in_shape, out_shape)


@pytest.mark.parametrize("call, error, message", [
    (lambda: conv_geometry((1, 1, 3), (1, 4, 4)), ValueError,
     "input_shape must be (C, *spatial) with 1 spatial"),
    (lambda: conv_geometry((1, 1, 3, 3), (1, 5, 5), stride=(1, 0)), ValueError,
     "stride must be positive, got stride=(1, 0)"),
    (lambda: conv_geometry((1, 1, 3), (1, 5), padding=-1), ValueError,
     "padding must be at least 0, got padding=-1"),
    (lambda: conv_geometry((1, 1, 3), (1, 5), padding="full"), ValueError,
     "padding must be an integer, a tuple, 'valid' or 'same', got padding='full'"),
    (lambda: conv_geometry((1, 1, 3), (1, 5), padding="same", stride=2), ValueError,
     "padding='same' is not supported for strided convolutions, got stride=(2,)"),
    (lambda: conv_geometry((1, 1, 3), (1, 5), padding=5, padding_mode="reflect"),
     ValueError, "padding_mode='reflect' needs padding smaller than the input size"),
    (lambda: conv_geometry((1, 1, 3), (1, 5), stride=2**63), ValueError,
     "stride does not fit in a 64-bit integer"),
    (lambda: conv_transpose_geometry((1, 1, 3), (1, 4), padding="same"), TypeError,
     "padding must be an integer or a tuple for a transposed convolution"),
    (lambda: conv_transpose_geometry((1, 1, 3), (1, 4), stride=2, output_padding=2),
     ValueError, "output_padding must be smaller than either stride or dilation"),
    (lambda: pool_geometry((1, 5), 0), ValueError,
     "kernel_size must be positive, got kernel_size=0"),
    (lambda: pool_geometry((1, 5), 2, padding=2), ValueError,
     "padding must be at most half the kernel size"),
    # L = 2, k = 2, d = 3, p = 1: window 0 reads -1 and 2, both outside the input.
    (lambda: pool_geometry((1, 2), 2, stride=1, padding=1, dilation=3), ValueError,
     "pooling window 0 of spatial dimension 0 holds no input element (positions [-1, 2]"),
    (lambda: pool_geometry((1, 5), 2, ceil_mode=1), TypeError,
     "ceil_mode must be a bool, got ceil_mode=1"),
    (lambda: avg_pool_geometry((1, 5), 2, divisor_override=2), TypeError,
     "divisor_override is only available for 2-D and 3-D average pooling"),
    (lambda: max_unpool_geometry((1, 2, 2), 2, output_size=(4, 7)), ValueError,
     "dimension 1 must lie strictly between 2 and 6"),
    (lambda: interpolate_geometry((1, 4), size=3, mode="lanczos"), ValueError,
     "mode must be one of"),
    (lambda: interpolate_geometry((1, 4), size=3, mode="bilinear"), ValueError,
     "mode='bilinear' needs an input with 2 spatial dimension(s)"),
    (lambda: bed_of_nails_geometry((1, 4), 2, offset=2), ValueError,
     "offset must satisfy 0 <= offset < scale_factor"),
    # torch reads the channels at size(-3): 2 here, whatever the leading axes.
    (lambda: pixel_shuffle_geometry((8, 2, 2, 2), 2), ValueError,
     "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
     "of upscale_factor, but input.size(-3)=2 is not divisible by 4"),
    (lambda: pixel_shuffle_geometry((4, 2), 2), ValueError,
     "pixel_shuffle expects input to have at least 3 dimensions, but got input with 2 "
     "dimension(s)"),
    (lambda: pixel_unshuffle_geometry((1, 2, 3), 2), ValueError,
     "pixel_unshuffle expects width to be divisible by downscale_factor, but "
     "input.size(-1)=3 is not divisible by 2"),
    (lambda: pixel_unshuffle_geometry((1, 2, 2), 0), ValueError,
     "pixel_unshuffle expects a positive downscale_factor, but got 0"),
])
def test_geometry_errors(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_pixel_shuffle_source_by_hand():
    # Four channels of a 1x2 map, r = 2: output (0, i, 2 w + j) reads channel 2 i + j at w,
    # i.e. input position (2 i + j) * 2 + w.
    assert pixel_shuffle_geometry((4, 1, 2), 2).source().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    geo = pixel_unshuffle_geometry((1, 2, 4), 2)
    assert geo.source(np.int32).dtype == np.int32
    assert geo.source().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


# =========================================================================== torch
@st.composite
def shuffle_cases(draw):
    shape = tuple(draw(st.lists(st.integers(0, 8), min_size=2, max_size=5)))
    return shape, draw(st.integers(-1, 3))


@needs_torch
@given(shuffle_cases(), st.booleans())
def test_pixel_shuffle_against_torch(case, unshuffle):
    """Same shape, same refusal in torch's own words, and source() is torch's gather."""
    shape, r = case
    op = F.pixel_unshuffle if unshuffle else F.pixel_shuffle
    geometry = pixel_unshuffle_geometry if unshuffle else pixel_shuffle_geometry
    helper = pixel_unshuffle_output_shape if unshuffle else pixel_shuffle_output_shape
    x = torch.arange(math.prod(shape)).reshape(shape)
    try:
        y = op(x, r)
    except RuntimeError as err:
        with pytest.raises(ValueError) as info:
            geometry(shape, r)
        assert str(info.value) == str(err).splitlines()[0]
        return
    expected = tuple(y.shape)
    if unshuffle and y.numel() == 0:
        # torch's CPU kernel returns an empty input unchanged; its meta kernel gives the
        # shape of the documented reshape, (*B, C r^2, H / r, W / r). convmat follows it.
        expected = tuple(op(torch.empty(shape, device="meta"), r).shape)
    geo = geometry(shape, r)
    assert geo.out_shape == helper(shape, r) == expected
    assert geo.in_shape == shape
    np.testing.assert_array_equal(geo.source(), y.reshape(-1).numpy())


@st.composite
def conv_cases(draw, transpose=False):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in, c_out = (groups * draw(st.integers(1, 2)) for _ in range(2))
    per_dim = lambda lo, hi: tuple(draw(st.lists(st.integers(lo, hi), min_size=nd,
                                                 max_size=nd)))
    kernel, size = per_dim(1, 4), per_dim(1, 6 if nd < 3 else 4)
    kw = dict(stride=per_dim(1, 3), dilation=per_dim(1, 2), groups=groups)
    if transpose:
        kw.update(padding=per_dim(0, 2), output_padding=per_dim(0, 2))
        if draw(st.booleans()):
            kw["output_size"] = per_dim(1, 14)
    else:
        kw["padding_mode"] = draw(st.sampled_from(["zeros", "reflect", "replicate",
                                                   "circular"]))
        kw["padding"] = draw(st.sampled_from(["same", "valid", per_dim(-1, 3)]))
        if kw["padding"] == "same" and draw(st.booleans()):
            kw["stride"] = 1
    return nd, c_in, c_out, kernel, size, kw


@needs_torch
@given(conv_cases())
def test_conv_output_shape_against_torch(case):
    nd, c_in, c_out, kernel, size, kw = case
    module = getattr(torch.nn, f"Conv{nd}d")

    def run():
        m = module(c_in, c_out, kernel, bias=False, **kw)
        return m(torch.zeros((1, c_in, *size)))

    weight = (c_out, c_in // kw["groups"], *kernel)
    assert_same_shape(run, lambda: conv_output_shape(weight, (c_in, *size), **kw))


@needs_torch
@given(conv_cases(transpose=True))
def test_conv_transpose_output_shape_against_torch(case):
    nd, c_in, c_out, kernel, size, kw = case
    module = getattr(torch.nn, f"ConvTranspose{nd}d")
    output_size = kw.pop("output_size", None)

    def run():
        m = module(c_in, c_out, kernel, bias=False, **kw)
        return m(torch.zeros((1, c_in, *size)), output_size=output_size)

    weight = (c_in, c_out // kw["groups"], *kernel)
    ours = lambda: conv_transpose_output_shape(
        weight, (c_in, *size), output_size=output_size, **kw)
    expected = torch_or_error(run)
    if expected is not None and 0 in expected.shape[2:]:
        # torch refuses an output size of 0 ("Output size is too small") with groups=1
        # but returns an empty map with groups > 1: convmat refuses both.
        assert kw["groups"] > 1
        with pytest.raises(ValueError, match="output size is too small"):
            ours()
        return
    assert_same_shape(run, ours)


@st.composite
def pool_cases(draw):
    nd = draw(st.integers(1, 3))
    per_dim = lambda lo, hi: tuple(draw(st.lists(st.integers(lo, hi), min_size=nd,
                                                 max_size=nd)))
    shape = (draw(st.integers(1, 2)), *per_dim(1, 7 if nd < 3 else 4))
    kw = dict(kernel_size=per_dim(1, 4), stride=draw(st.sampled_from([None, per_dim(1, 3)])),
              padding=per_dim(0, 2), ceil_mode=draw(st.booleans()))
    return nd, shape, kw


@needs_torch
@given(pool_cases(), st.tuples(*[st.integers(1, 3)] * 3))
def test_pool_output_shape_against_torch(case, dilation):
    nd, shape, kw = case
    kw["dilation"] = dilation[:nd]
    x = torch.zeros((1, *shape))
    # convmat refuses a window with no input element, where torch returns -inf.
    assert_same_shape(lambda: getattr(F, f"max_pool{nd}d")(x, **kw),
                      lambda: pool_output_shape(shape, **kw),
                      also_refused=("holds no input element",))


@needs_torch
@given(pool_cases(), st.booleans(), st.sampled_from([None, -2, 0, 3]))
def test_avg_pool_output_shape_against_torch(case, include_pad, divisor):
    nd, shape, kw = case
    kw["count_include_pad"] = include_pad
    if nd > 1:
        kw["divisor_override"] = divisor
    x = torch.zeros((1, *shape))
    assert_same_shape(lambda: getattr(F, f"avg_pool{nd}d")(x, **kw),
                      lambda: avg_pool_output_shape(shape, **kw),
                      also_refused=("holds no input element",))


@needs_torch
@given(st.integers(1, 3), st.data())
def test_max_unpool_output_shape_against_torch(nd, data):
    per_dim = lambda lo, hi: tuple(data.draw(st.lists(st.integers(lo, hi), min_size=nd,
                                                      max_size=nd)))
    shape = (data.draw(st.integers(1, 2)), *per_dim(1, 4))
    # torch checks no range here but max_unpool3d's stride (the default: the kernel).
    kw = dict(kernel_size=per_dim(-1, 3),
              stride=data.draw(st.sampled_from([None, per_dim(-1, 3)])),
              padding=per_dim(-1, 2))
    if data.draw(st.booleans()):
        kw["output_size"] = per_dim(0, 12)
    x = torch.zeros((1, *shape))
    idx = torch.zeros((1, *shape), dtype=torch.int64)
    assert_same_shape(lambda: getattr(F, f"max_unpool{nd}d")(x, idx, **kw),
                      lambda: max_unpool_output_shape(shape, **kw))


MODES = {1: ["nearest", "nearest-exact", "linear"], 2: ["nearest", "bilinear", "bicubic"],
         3: ["nearest-exact", "trilinear"]}


@needs_torch
@given(st.integers(1, 3), st.data())
def test_interpolate_output_shape_against_torch(nd, data):
    size = tuple(data.draw(st.lists(st.integers(1, 6), min_size=nd, max_size=nd)))
    kw = dict(mode=data.draw(st.sampled_from(MODES[nd])))
    if data.draw(st.booleans()):
        kw["size"] = tuple(data.draw(st.lists(st.integers(0, 7), min_size=nd, max_size=nd)))
    else:
        kw["scale_factor"] = data.draw(st.sampled_from([0.1, 0.35, 0.5, 1.0, 1.7, 2, 3.25]))
        kw["recompute_scale_factor"] = data.draw(st.sampled_from([None, True, False]))
    if kw["mode"] not in ("nearest", "nearest-exact"):
        kw["align_corners"] = data.draw(st.sampled_from([None, True, False]))
    x = torch.zeros((1, 2, *size))
    assert_same_shape(lambda: F.interpolate(x, **kw),
                      lambda: interpolate_output_shape((2, *size), **kw))
