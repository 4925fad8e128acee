"""Max unpooling, bed of nails and pixel shuffle matrices against torch."""

import math

import numpy as np
import pytest
from helpers import (
    F,
    assert_canonical,
    from_torch,
    needs_torch,
    peak_bytes,
    pool_configs,
    raises_like,
    same_matrix,
    seeds,
    to_torch,
    torch,
    torch_op,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from convmat import (
    bed_of_nails_matrix,
    bed_of_nails_operator,
    bed_of_nails_output_shape,
    conv_transpose_matrix,
    interpolate_matrix,
    max_pool_selection,
    max_unpool_matrix,
    max_unpool_output_shape,
    pixel_shuffle_matrix,
    pixel_shuffle_output_shape,
    pixel_unshuffle_matrix,
    pixel_unshuffle_output_shape,
)


# --------------------------------------------------------------------------- the article's example
def test_article_4x4_example_by_hand():
    x = np.array([[[1, 2, 6, 3],
                   [3, 5, 2, 1],
                   [1, 2, 2, 1],
                   [7, 3, 4, 8]]], dtype=float)
    S, idx = max_pool_selection(x, 2)
    # The maxima 5, 6, 7, 8 sit at flat positions 1*4+1, 0*4+2, 3*4+0, 3*4+3.
    np.testing.assert_array_equal(idx, [[[5, 2], [12, 15]]])
    expected_S = np.zeros((4, 16))
    expected_S[[0, 1, 2, 3], [5, 2, 12, 15]] = 1
    np.testing.assert_array_equal(S.toarray(), expected_S)
    pooled = S @ x.ravel()
    np.testing.assert_array_equal(pooled, [5, 6, 7, 8])

    nearest = interpolate_matrix((1, 2, 2), scale_factor=2) @ pooled
    np.testing.assert_array_equal(nearest.reshape(4, 4), [[5, 5, 6, 6],
                                                          [5, 5, 6, 6],
                                                          [7, 7, 8, 8],
                                                          [7, 7, 8, 8]])
    nails = bed_of_nails_matrix((1, 2, 2), 2) @ pooled
    np.testing.assert_array_equal(nails.reshape(4, 4), [[5, 0, 6, 0],
                                                        [0, 0, 0, 0],
                                                        [7, 0, 8, 0],
                                                        [0, 0, 0, 0]])
    unpooled = max_unpool_matrix(idx, 2) @ pooled
    np.testing.assert_array_equal(unpooled.reshape(4, 4), [[0, 0, 6, 0],
                                                           [0, 5, 0, 0],
                                                           [0, 0, 0, 0],
                                                           [7, 0, 0, 8]])


# --------------------------------------------------------------------------- max unpooling
@needs_torch
@given(pool_configs(dilation=False), seeds, st.integers(-1, 1))
def test_max_unpool_of_pooling_indices_matches_torch(config, seed, extra):
    shape, kw = config
    kw.pop("ceil_mode")
    nd = len(shape) - 1
    rng = np.random.default_rng(seed)
    _, idx = torch_op("max_pool", nd)(to_torch(rng.integers(0, 3, shape).astype(float)),
                                      return_indices=True, **kw)
    y = rng.standard_normal(tuple(idx.shape[1:]))
    unpool_kw = dict(kw, output_size=None)
    if extra:  # an output size away from the default, inside torch's range
        stride = kw["stride"] or kw["kernel_size"]
        default = max_unpool_output_shape(idx.shape[1:], **kw)[1:]
        unpool_kw["output_size"] = tuple(
            o + extra if abs(extra) < s else o for o, s in zip(default, stride))
    result = raises_like(
        lambda: torch_op("max_unpool", nd)(to_torch(y), idx, **unpool_kw),
        lambda: max_unpool_matrix(idx[0].numpy(), **unpool_kw))
    if result is None:  # the shrunk output no longer holds an index
        return
    expected, U = result
    np.testing.assert_array_equal(U @ y.ravel(), from_torch(expected))
    assert_canonical(U)
    assert max_unpool_output_shape(idx[0].numpy(), **unpool_kw) == tuple(expected.shape[1:])


@needs_torch
@given(st.integers(1, 3), seeds)
def test_max_unpool_duplicate_indices_last_wins_like_torch(nd, seed):
    rng = np.random.default_rng(seed)
    in_shape = (2,) + tuple(rng.integers(1, 4, nd))
    kernel = tuple(int(k) for k in rng.integers(1, 3, nd))
    plane = math.prod((L - 1) * k + k for L, k in zip(in_shape[1:], kernel))
    idx = rng.integers(0, min(plane, 3), in_shape)  # many duplicates
    y = rng.standard_normal(in_shape)
    expected = torch_op("max_unpool", nd)(to_torch(y), torch.from_numpy(idx)[None], kernel)
    U = max_unpool_matrix(idx, kernel)
    np.testing.assert_array_equal(U @ y.ravel(), from_torch(expected))
    assert_canonical(U)


@needs_torch
@given(st.integers(1, 3), seeds, st.integers(-2, 3), st.one_of(st.none(), st.integers(-1, 3)),
       st.integers(-2, 2), st.one_of(st.none(), st.integers(0, 7)), st.integers(-2, 2))
def test_max_unpool_errors_like_torch(nd, seed, k, s, p, out, shift):
    rng = np.random.default_rng(seed)
    in_shape = (1,) + tuple(rng.integers(1, 4, nd))
    idx = rng.integers(0, 4, in_shape) + shift  # sometimes negative or too large
    y = rng.standard_normal(in_shape)
    kw = dict(kernel_size=k, stride=s, padding=p,
              output_size=None if out is None else (out,) * nd)
    result = raises_like(
        lambda: torch_op("max_unpool", nd)(to_torch(y), torch.from_numpy(idx)[None], **kw),
        lambda: max_unpool_matrix(idx, **kw))
    if result is not None:
        expected, U = result
        np.testing.assert_array_equal(U @ y.ravel(), from_torch(expected))


def test_max_unpool_refuses_float_indices():
    with pytest.raises(TypeError, match="integers"):
        max_unpool_matrix(np.zeros((1, 2)), 2)


@st.composite
def tiling_configs(draw):
    """Non-overlapping windows that tile the (padded) input exactly."""
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    out = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    size = tuple(o * k - 2 * p for o, k, p in zip(out, kernel, padding))
    assume(all(L >= 1 for L in size))
    return (draw(st.integers(1, 2)), *size), dict(kernel_size=kernel, padding=padding)


@given(tiling_configs(), seeds)
def test_max_unpool_is_transposed_selection(config, seed):
    shape, kw = config
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(float)
    S, idx = max_pool_selection(x, **kw)
    same_matrix(max_unpool_matrix(idx, **kw), S.T)


# --------------------------------------------------------------------------- bed of nails
@given(st.integers(1, 3), seeds)
def test_bed_of_nails_places_each_value_at_offset(nd, seed):
    rng = np.random.default_rng(seed)
    shape = (2,) + tuple(rng.integers(1, 4, nd))
    scale = tuple(rng.integers(1, 4, nd))
    offset = tuple(rng.integers(0, s) for s in scale)
    x = rng.standard_normal(shape)
    expected = np.zeros(bed_of_nails_output_shape(shape, scale, offset=offset))
    expected[(slice(None),) + tuple(slice(o, None, s) for o, s in zip(offset, scale))] = x
    B = bed_of_nails_matrix(shape, scale, offset=offset)
    np.testing.assert_array_equal(B @ x.ravel(), expected.ravel())
    assert_canonical(B)
    # ... which is max unpooling with every index at that position of its block.
    grids = np.meshgrid(*[np.arange(L) * s + o for L, s, o in zip(shape[1:], scale, offset)],
                        indexing="ij")
    out_size = tuple(L * s for L, s in zip(shape[1:], scale))
    corner = np.broadcast_to(np.ravel_multi_index(grids, out_size), shape)
    same_matrix(B, max_unpool_matrix(corner, scale))


@pytest.mark.parametrize("scale, offset", [(0, 0), (2, 2), (2, -1), ((2, 2), 0), (2.0, 0)])
def test_bed_of_nails_errors(scale, offset):
    with pytest.raises((ValueError, TypeError)):
        bed_of_nails_matrix((1, 3), scale, offset=offset)


# --------------------------------------------------------------------------- pixel shuffle
@needs_torch
@given(st.integers(0, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), seeds)
def test_pixel_shuffle_matches_torch(batch, c, h, w, r, seed):
    shape = (2,) * batch + (c * r * r, h, w)
    x = np.random.default_rng(seed).standard_normal(shape)
    P = pixel_shuffle_matrix(shape, r)
    expected = F.pixel_shuffle(to_torch(x), r)
    np.testing.assert_array_equal(P @ x.ravel(), from_torch(expected))
    assert pixel_shuffle_output_shape(shape, r) == tuple(expected.shape[1:])
    assert_canonical(P)
    big = pixel_shuffle_output_shape(shape, r)
    y = np.random.default_rng(seed).standard_normal(big)
    Q = pixel_unshuffle_matrix(big, r)
    np.testing.assert_array_equal(Q @ y.ravel(), from_torch(F.pixel_unshuffle(to_torch(y), r)))
    assert pixel_unshuffle_output_shape(big, r) == shape
    same_matrix(Q, P.T)


@needs_torch
@given(st.integers(0, 5), st.integers(0, 4), st.integers(0, 4), st.integers(-1, 3),
       st.booleans())
def test_pixel_shuffle_errors_like_torch(c, h, w, r, unshuffle):
    shape = (c, h, w)
    fn, build = ((F.pixel_unshuffle, pixel_unshuffle_matrix) if unshuffle
                 else (F.pixel_shuffle, pixel_shuffle_matrix))
    result = raises_like(lambda: fn(to_torch(np.zeros(shape)), r), lambda: build(shape, r))
    if result is not None:
        expected, P = result
        assert P.shape == (expected.numel(), math.prod(shape))


# --------------------------------------------------------------------------- sizes and memory
@pytest.mark.parametrize("build", [
    lambda: bed_of_nails_matrix((1, 10**9), 2, max_entries=10**6),
    lambda: bed_of_nails_matrix((1, 10**10), 3, offset=1, max_entries=10**6),
])
def test_oversized_upsampling_is_refused_before_any_allocation(build):
    """In 1-D the per-axis factors are as large as the matrix: the size comes first (with
    10**10 elements they used to raise MemoryError)."""
    peak, _ = peak_bytes(build, ValueError)
    assert peak < 1 << 20


@pytest.mark.parametrize("shape", [(0, 2), (1, 0), (0, 2, 2), (2, 3, 0), (1, 0, 0)])
def test_bed_of_nails_of_an_empty_input_is_the_empty_matrix(shape):
    """No torch op to follow; an empty input has an empty output (C * prod(L * s) = 0
    rows), the same as the matrix-free bed_of_nails_operator."""
    B = bed_of_nails_matrix(shape, 2)
    out = bed_of_nails_output_shape(shape, 2)
    assert B.shape == (math.prod(out), math.prod(shape)) == (0, 0)
    assert B.nnz == 0
    assert bed_of_nails_operator(shape, 2).shape == B.shape


# --------------------------------------------------------------------------- output_size
@pytest.mark.parametrize("output_size, error, match", [
    ((4, 5, 6), ValueError, r"output_size must have 2 entries \(or 4 with batch and "
                            r"channels in front\), got output_size=\(4, 5, 6\)"),
    ((5,), ValueError, "output_size must have 2 entries"),
    ("45", TypeError, "output_size must be a sequence of integers, got output_size='45'"),
    (4, TypeError, "output_size must be a sequence of integers, got output_size=4"),
    ((4.0, 4), TypeError, "output_size must be an integer, got output_size=4.0"),
    ((4, 7), ValueError, "dimension 1 must lie strictly between 2 and 6"),
])
def test_max_unpool_output_size_errors(output_size, error, match):
    """torch's max_unpool2d takes 2 or 4 sizes (batch and channels dropped), not 3."""
    with pytest.raises(error, match=match):
        max_unpool_matrix(np.zeros((1, 2, 2), np.int64), 2, output_size=output_size)


@pytest.mark.parametrize("output_size, error, match", [
    ((1, 2, 3, 4), ValueError, r"output_size must have 1 entries \(or 2 with the channels "
                               r"in front, or 3 with batch and channels in front\)"),
    ("ab", TypeError, "output_size must be a sequence of integers, got output_size='ab'"),
    (5, TypeError, "output_size must be a sequence of integers, got output_size=5"),
    ((5.0,), TypeError, "output_size must be an integer, got output_size=5.0"),
    ((12,), ValueError, r"valid sizes range from \[9\] to \[10\]"),
])
def test_conv_transpose_output_size_errors(output_size, error, match):
    """The same parser as max unpooling; a transposed convolution also takes an unbatched
    (channels, *spatial) size, as nn.ConvTranspose1d does for an unbatched input."""
    with pytest.raises(error, match=match):
        conv_transpose_matrix(np.ones((1, 1, 3)), (1, 4), stride=2, output_size=output_size)


def test_leading_output_sizes_are_dropped():
    """By hand: 4 inputs, kernel 3, stride 2 give 9 outputs, up to 10 with output_size."""
    w = np.ones((1, 1, 3))
    for size in [(10,), (1, 10), (1, 1, 10)]:
        assert conv_transpose_matrix(w, (1, 4), stride=2, output_size=size).shape == (10, 4)
    idx = np.zeros((1, 2, 2), np.int64)
    assert max_unpool_matrix(idx, 2, output_size=(1, 1, 5, 4)).shape == (20, 4)
