"""Matrix-free operators equal the builders' matrices; spectral facts equal a dense SVD."""

import numpy as np
import pytest
from helpers import (
    F,
    avg_configs,
    conv_configs,
    from_torch,
    interpolate_configs,
    needs_torch,
    peak_bytes,
    to_torch,
    torch,
)
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator

from convmat import (
    ConvOperator,
    SeparableOperator,
    affine_grid,
    avg_pool_matrix,
    avg_pool_operator,
    bed_of_nails_matrix,
    bed_of_nails_operator,
    conv_matrix,
    conv_operator,
    conv_transpose_matrix,
    conv_transpose_operator,
    get_max_entries,
    interpolate_matrix,
    interpolate_operator,
    max_pool_operator,
    max_pool_selection,
    max_unpool_matrix,
    max_unpool_operator,
    pad_operator,
    pixel_shuffle_matrix,
    pixel_shuffle_operator,
    pixel_unshuffle_matrix,
    pixel_unshuffle_operator,
    set_max_entries,
)
from convmat.testing import assert_adjoint


def _build(transpose, w, shape, kwargs):
    builder = conv_transpose_matrix if transpose else conv_matrix
    op = conv_transpose_operator if transpose else conv_operator
    try:
        A = builder(w, shape, **kwargs)
    except ValueError:
        assume(False)
    return A, op(w, shape, **kwargs)


# --------------------------------------------------------------------------- equality
@pytest.mark.parametrize("transpose", [False, True], ids=["conv", "conv_transpose"])
@given(data=st.data())
def test_operator_equals_matrix(transpose, data):
    w, shape, kwargs = data.draw(conv_configs(transpose=transpose))
    A, op = _build(transpose, w, shape, kwargs)
    assert isinstance(op, LinearOperator) and op.shape == A.shape
    rng = np.random.default_rng(0)
    m, n = A.shape
    x = rng.standard_normal(n)
    y = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    X = rng.standard_normal((n, 3))
    np.testing.assert_allclose(op.matvec(x), A @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(y), A.conj().T @ y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.matmat(X), A @ X, rtol=1e-12, atol=1e-12)
    Y = rng.standard_normal((m, 2))
    np.testing.assert_allclose(op.rmatmat(Y), A.conj().T @ Y, rtol=1e-12, atol=1e-12)
    assert_adjoint(op)


def test_float32_operator_keeps_float32():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    op = conv_operator(w, (2, 9, 8), stride=2, padding=1)
    x = rng.standard_normal(op.shape[1]).astype(np.float32)
    assert op.dtype == np.float32 and (op @ x).dtype == np.float32
    A = conv_matrix(w, (2, 9, 8), stride=2, padding=1)
    np.testing.assert_allclose(op @ x, A @ x, rtol=1e-5, atol=1e-5)
    assert_adjoint(op, dtype=np.float32, rng=0)


def test_operator_validates_through_shapes():
    with pytest.raises(ValueError, match="stride"):
        conv_operator(np.ones((1, 1, 3)), (1, 5), stride=0)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_operator(np.ones((1, 1, 3)), (1, 5), stride=2, output_padding=2)


def test_transpose_operator_with_output_padding_beyond_stride():
    # stride <= output_padding < dilation: T is a block of C.T (the conv has more outputs).
    w = np.arange(1.0, 4.0).reshape(1, 1, 3)
    kwargs = dict(stride=1, dilation=3, output_padding=2)
    T = conv_transpose_matrix(w, (1, 4), **kwargs)
    op = conv_transpose_operator(w, (1, 4), **kwargs)
    np.testing.assert_array_equal(op @ np.eye(4), T.toarray())
    np.testing.assert_array_equal(op.H @ np.eye(T.shape[0]), T.T.toarray())


@needs_torch
def test_operator_matches_torch_batch():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 2, 3, 2))
    x = rng.standard_normal((5, 4, 7, 6))
    op = conv_operator(w, (4, 7, 6), stride=(2, 1), padding=1, dilation=(1, 2), groups=2)

    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=(2, 1), padding=1,
                   dilation=(1, 2), groups=2).numpy()
    np.testing.assert_allclose(op.matmat(x.reshape(5, -1).T).T, ref.reshape(5, -1),
                               rtol=1e-12, atol=1e-12)
    one = op @ x[0].ravel()
    np.testing.assert_allclose(one, from_torch(F.conv2d(to_torch(x[0]), torch.from_numpy(w),
                                                        stride=(2, 1), padding=1,
                                                        dilation=(1, 2), groups=2)),
                               rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- index maps
def _index_cases():
    rng = np.random.default_rng(30)
    x = rng.standard_normal((2, 7, 6))
    _, idx = max_pool_selection(x, 2)  # (2, 3, 3) winners, non-overlapping
    dup = np.array([[4, 4, 4, 0]])     # a repeated index: the last write wins
    return [
        ("pixel_shuffle", pixel_shuffle_operator((2, 8, 3, 2), 2),
         pixel_shuffle_matrix((2, 8, 3, 2), 2)),
        ("pixel_unshuffle", pixel_unshuffle_operator((3, 4, 6), 2),
         pixel_unshuffle_matrix((3, 4, 6), 2)),
        ("bed_of_nails", bed_of_nails_operator((2, 3, 4), (2, 3), offset=(1, 2)),
         bed_of_nails_matrix((2, 3, 4), (2, 3), offset=(1, 2))),
        ("max_unpool", max_unpool_operator(idx, 2, output_size=(7, 6)),
         max_unpool_matrix(idx, 2, output_size=(7, 6))),
        ("max_unpool_dup", max_unpool_operator(dup, 2), max_unpool_matrix(dup, 2)),
        ("max_unpool_uint64", max_unpool_operator(idx.astype(np.uint64), 2, output_size=(7, 6)),
         max_unpool_matrix(idx.astype(np.uint64), 2, output_size=(7, 6))),
        ("max_pool", max_pool_operator(x, 3, stride=2, padding=1),
         max_pool_selection(x, 3, stride=2, padding=1)[0]),
        ("max_pool_dilated", max_pool_operator(x[:, :, :5], (2, 2), dilation=2, stride=1),
         max_pool_selection(x[:, :, :5], (2, 2), dilation=2, stride=1)[0]),
    ]


@pytest.mark.parametrize("name, op, A", _index_cases(), ids=[c[0] for c in _index_cases()])
def test_index_operators_equal_the_builders(name, op, A):
    rng = np.random.default_rng(31)
    m, n = A.shape
    assert op.shape == A.shape
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 2))
    np.testing.assert_array_equal(op @ np.eye(n), A.toarray())
    np.testing.assert_allclose(op.matmat(X), A @ X, rtol=1e-14)
    np.testing.assert_allclose(op.rmatmat(Y), A.T @ Y, rtol=1e-14)
    np.testing.assert_allclose(op.rmatvec(Y[:, 0]), A.T @ Y[:, 0], rtol=1e-14)
    assert_adjoint(op, rng=0)


def test_index_operator_arguments_are_checked():
    with pytest.raises(ValueError, match="indices must lie"):
        max_unpool_operator(np.array([[0, 9]]), 2)
    with pytest.raises(TypeError, match="indices must hold integers"):
        max_unpool_operator(np.array([[0.0, 1.0]]), 2)
    with pytest.raises(ValueError, match="offset"):
        bed_of_nails_operator((1, 3), 2, offset=2)


def test_max_unpool_to_an_empty_plane_checks_no_index():
    # torch: max_unpool1d(zeros(1, 2, 1), zeros(1, 2, 1, long), 3, stride=3, padding=1,
    # output_size=(0,)) has shape (1, 2, 0): nothing to write, nothing checked.
    idx = np.array([[0], [0]])
    kw = dict(stride=3, padding=1, output_size=(0,))
    U = max_unpool_operator(idx, 3, **kw)
    assert U.shape == (0, 2) == max_unpool_matrix(idx, 3, **kw).shape
    assert (U @ np.ones(2)).shape == (0,)
    np.testing.assert_array_equal(U.H @ np.zeros(0), np.zeros(2))
    # An output to write to: both refuse the same index with the same message.
    for build in (max_unpool_operator, max_unpool_matrix):
        with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\) .* found index -1"):
            build(np.array([[1, -1]]), 2)
        with pytest.raises(ValueError, match=r"found index 18446744073709551615"):
            build(np.array([[1, 2**64 - 1]], dtype=np.uint64), 2)


@needs_torch
def test_max_unpool_operator_with_empty_output_matches_torch():
    idx = np.array([[0], [0]])
    kw = dict(stride=3, padding=1, output_size=(0,))
    ref = F.max_unpool1d(torch.zeros(1, 2, 1, dtype=torch.float64),
                         torch.from_numpy(idx)[None], 3, **kw)
    assert max_unpool_operator(idx, 3, **kw).shape == (ref[0].numel(), idx.size)


def test_max_pool_operator_of_float16_has_the_matrix_dtype():
    # scipy.sparse has no float16: the selection matrix is float32, and so is the operator.
    x = np.array([[1.0, 5.0, 2.0, 0.0]], dtype=np.float16)
    S, _ = max_pool_selection(x, 2)
    M = max_pool_operator(x, 2)
    assert S.dtype == M.dtype == np.float32
    assert max_pool_operator(x.astype(np.int64), 2).dtype == np.float64


def test_index_operator_repr_names_its_shapes():
    P = pixel_shuffle_operator((4, 1, 2), 2)
    assert repr(P) == "<8x8 IndexOperator (4, 1, 2) -> (1, 2, 4) with dtype=float64>"


# --------------------------------------------------------------------------- separable maps
@st.composite
def separable_cases(draw):
    """``(operator, matrix, tolerance)`` for a drawn average pooling or interpolation."""
    if draw(st.booleans()):
        shape, kw = draw(avg_configs())
        return avg_pool_operator(shape, **kw), avg_pool_matrix(shape, **kw), 1e-12
    shape, kw = draw(interpolate_configs())
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    return (interpolate_operator(shape, dtype=dtype, **kw),
            interpolate_matrix(shape, dtype=dtype, **kw), tol)


@given(separable_cases())
def test_separable_operators_equal_the_builders(case):
    op, A, tol = case
    assert isinstance(op, LinearOperator) and op.shape == A.shape and op.dtype == A.dtype
    rng = np.random.default_rng(40)
    m, n = A.shape
    x = rng.standard_normal(n).astype(A.dtype)
    y = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 2))
    np.testing.assert_allclose(op.matvec(x), A @ x, rtol=tol, atol=tol)
    assert op.matvec(x).dtype == A.dtype
    np.testing.assert_allclose(op.rmatvec(y), A.T @ y, rtol=tol, atol=tol)
    np.testing.assert_allclose(op.matmat(X), A @ X, rtol=tol, atol=tol)
    np.testing.assert_allclose(op.rmatmat(Y), A.T @ Y, rtol=tol, atol=tol)
    assert_adjoint(op, dtype=A.dtype, rng=0)


@needs_torch
@pytest.mark.parametrize("shape, kw", [
    ((3, 9), dict(kernel_size=4, stride=2, padding=2, ceil_mode=True,
                  count_include_pad=False)),
    ((2, 7, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))),
    ((2, 5, 6, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        divisor_override=5)),
])
def test_avg_pool_operator_matches_torch(shape, kw):
    x = np.random.default_rng(41).standard_normal((4, *shape))
    op = avg_pool_operator(shape, **kw)
    pool = getattr(F, f"avg_pool{len(shape) - 1}d")
    ref = pool(torch.from_numpy(x), **kw).numpy().reshape(4, -1)
    np.testing.assert_allclose(op.matmat(x.reshape(4, -1).T).T, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op @ x[0].ravel(), from_torch(pool(to_torch(x[0]), **kw)),
                               rtol=1e-12, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("shape, kw", [
    ((2, 7), dict(scale_factor=2.5, mode="linear", align_corners=True)),
    ((2, 5, 6), dict(size=(9, 4), mode="bicubic")),
    ((2, 40, 50), dict(scale_factor=1.7, mode="nearest")),  # torch's generic nearest kernel
    ((1, 3, 4, 5), dict(scale_factor=(2, 0.5, 1.5), mode="trilinear")),
    ((2, 6, 5), dict(size=(13, 7), mode="nearest-exact")),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_interpolate_operator_matches_torch(shape, kw, dtype):
    x = np.random.default_rng(42).standard_normal((3, *shape)).astype(dtype)
    op = interpolate_operator(shape, dtype=dtype, **kw)
    ref = F.interpolate(torch.from_numpy(x), **kw).numpy().reshape(3, -1)
    got = op.matmat(x.reshape(3, -1).T).T
    assert got.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_separable_operator_arguments_are_checked():
    with pytest.raises(ValueError, match="padding must be at most half"):
        avg_pool_operator((1, 5), 2, padding=2)
    with pytest.raises(TypeError, match="divisor_override"):
        avg_pool_operator((1, 5), 2, divisor_override=2)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        interpolate_operator((1, 5))
    with pytest.raises(TypeError, match="dtype"):
        interpolate_operator((1, 5), size=3, dtype=np.int64)


def test_separable_operators_are_not_convolutions():
    """A SeparableOperator applies 1-D factors; its adjoint is one too, with the
    transposed factors, and equals the matrix's transpose."""
    op = avg_pool_operator((2, 5, 6), 3, stride=2, padding=1)
    A = avg_pool_matrix((2, 5, 6), 3, stride=2, padding=1)
    assert isinstance(op, SeparableOperator) and not isinstance(op, ConvOperator)
    H = op.H
    assert isinstance(H, SeparableOperator) and H.shape == A.T.shape
    assert [M.shape for M in H.factors] == [M.T.shape for M in op.factors]
    np.testing.assert_allclose(H @ np.eye(A.shape[0]), A.T.toarray(), rtol=1e-15)


def test_divisor_override_is_carried_by_the_factors():
    """By hand: 2x2 windows summed and divided by 3, whatever the padding."""
    x = np.arange(16.0).reshape(1, 4, 4)
    op = avg_pool_operator(x.shape, 2, divisor_override=3)
    expected = x.reshape(2, 2, 2, 2).sum(axis=(1, 3)).ravel() / 3
    np.testing.assert_allclose(op @ x.ravel(), expected, rtol=1e-15)
    np.testing.assert_allclose(op @ x.ravel(), avg_pool_matrix(x.shape, 2, divisor_override=3)
                               @ x.ravel(), rtol=1e-15)


# --------------------------------------------------------------------------- sizes
@pytest.fixture
def entry_limit():
    """Set the default entry limit for one test, and put it back."""
    previous = get_max_entries()
    yield set_max_entries
    set_max_entries(previous)


def test_max_pool_operator_never_builds_the_selection(entry_limit):
    """Under a default limit far below the selection's size the operator still works
    (it gathers through the winners), and equals the selection built with a limit."""
    x = np.random.default_rng(50).standard_normal((2, 8, 8))
    entry_limit(4)
    op = max_pool_operator(x, 3, stride=2, padding=1)
    S, _ = max_pool_selection(x, 3, stride=2, padding=1, max_entries=10**3)
    np.testing.assert_array_equal(op @ np.eye(x.size), S.toarray())
    with pytest.raises(ValueError, match="max_entries=4"):
        max_pool_selection(x, 3, stride=2, padding=1)


# Each builder refused for its size names its matrix-free twin, which takes the same
# arguments: (builder, operator, arguments).
_TWINS = [
    (max_pool_selection, max_pool_operator, ((np.zeros((1, 4, 4)), 2), {})),
    (avg_pool_matrix, avg_pool_operator, (((1, 4, 4), 2), {})),
    (max_unpool_matrix, max_unpool_operator, ((np.array([[0, 3]]), 2), {})),
    (bed_of_nails_matrix, bed_of_nails_operator, (((1, 4), 2), {})),
    (interpolate_matrix, interpolate_operator, (((1, 4),), dict(size=7, mode="linear"))),
    (pixel_shuffle_matrix, pixel_shuffle_operator, (((4, 2, 2), 2), {})),
    (pixel_unshuffle_matrix, pixel_unshuffle_operator, (((1, 4, 4), 2), {})),
]


@pytest.mark.parametrize("builder, operator, call", _TWINS, ids=[t[0].__name__ for t in _TWINS])
def test_an_oversized_matrix_points_to_its_operator(builder, operator, call):
    args, kw = call
    with pytest.raises(ValueError, match=rf"{builder.__name__} would store .* use the "
                                         rf"matrix-free convmat\.{operator.__name__} instead"):
        builder(*args, max_entries=1, **kw)
    A = builder(*args, **kw)
    A = A[0] if isinstance(A, tuple) else A
    np.testing.assert_array_equal(operator(*args, **kw) @ np.eye(A.shape[1]), A.toarray())


@pytest.mark.parametrize("build", [
    lambda: interpolate_operator((1, 10), scale_factor=1e12),
    lambda: interpolate_operator((2, 3, 4), scale_factor=(1e7, 0.5), mode="bilinear"),
    lambda: avg_pool_operator((1, 10**12), 1),
])
def test_oversized_separable_factors_are_refused_before_any_allocation(build, entry_limit):
    """A huge scale_factor used to raise MemoryError while building a 1-D factor; the
    factors are sized by arithmetic first (here 10**13 and 3 * 10**7 rows)."""
    entry_limit(10**6)
    peak, _ = peak_bytes(build, ValueError)
    assert peak < 1 << 20


# An operator is as large as one of its products: making one allocates nothing, so a shape
# no machine could apply it to is still an operator with the right shape (its index map
# or padding sources are built at the first product).
@pytest.mark.parametrize("make, shape", [
    (lambda: bed_of_nails_operator((1, 10**9, 10**9), 2), (4 * 10**18, 10**18)),
    (lambda: pixel_unshuffle_operator((1, 10**5, 10**5), 2), (10**10, 10**10)),
    (lambda: pixel_shuffle_operator((4, 10**5, 10**5), 2), (4 * 10**10, 4 * 10**10)),
    (lambda: pad_operator((1, 10**9, 10**9), (1, 1)), (10**18 + 2 * 10**9, 10**18)),
], ids=["bed_of_nails", "pixel_unshuffle", "pixel_shuffle", "pad"])
def test_making_a_huge_operator_allocates_nothing(make, shape):
    A = make()
    assert A.shape == shape


def test_lazy_index_map_is_the_builders():
    # The same operator, its map built at the first product: bed of nails by hand.
    B = bed_of_nails_operator((1, 3), 2, offset=1)
    np.testing.assert_array_equal(B @ np.array([1.0, 2.0, 3.0]), [0, 1, 0, 2, 0, 3])
    np.testing.assert_array_equal(B.src, [-1, 0, -1, 1, -1, 2])


def test_operator_products_name_the_vector_and_its_shape():
    B = bed_of_nails_operator((1, 3), 2)
    with pytest.raises(ValueError, match=r"x must have shape \(3,\) or \(3, 1\).*\(4,\)"):
        B @ np.ones(4)
    with pytest.raises(ValueError, match=r"x must have shape \(6,\) or \(6, 1\).*\(3,\)"):
        B.H @ np.ones(3)
    with pytest.raises(ValueError, match=r"X must have shape \(3, k\)"):
        B.matmat(np.ones(3))
    # A.H and A.T stay convmat operators: their products read tensors and name x too.
    assert type(B.H).__module__.startswith("convmat") and B.H.H is B
    with pytest.raises(TypeError, match="x must hold numbers"):
        B.T @ None


def test_affine_grid_past_the_limit_is_refused_by_size():
    with pytest.raises(ValueError, match=r"size=\(1, 100000, 100000\).*max_entries"):
        affine_grid(np.eye(2, 3), (1, 10**5, 10**5))
    # its own limit, as every builder takes one: a 2x2 grid holds 2 * 2 * 2 = 8 values
    assert affine_grid(np.eye(2, 3), (1, 2, 2), max_entries=8).shape == (2, 2, 2)
    with pytest.raises(ValueError, match=r"the grid for size=\(1, 2, 2\) holds 8 values"):
        affine_grid(np.eye(2, 3), (1, 2, 2), max_entries=7)
