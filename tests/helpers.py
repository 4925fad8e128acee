"""What the test modules share: torch as the oracle, the canonical-CSR check, memory tracing
and the hypothesis strategies that more than one module draws from.

Test modules import from here and never from each other.
"""

import math
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume
from hypothesis import strategies as st

# --------------------------------------------------------------------------- torch, the oracle
# Imported once here; tests that need it are skipped where it is absent.
try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)  # max_unpool's CPU kernel races with more threads
except ImportError:  # pragma: no cover - CI always installs torch
    torch = None
    F = None

needs_torch = pytest.mark.skipif(
    torch is None,
    reason="PyTorch is not installed: oracle tests need `pip install torch==2.13.0`",
)


def to_torch(x):
    """One sample as a batch of one, float64 unless the array says otherwise."""
    return torch.from_numpy(np.ascontiguousarray(x))[None]


def from_torch(t):
    """A batch of one back to a flat numpy vector."""
    return t.detach()[0].numpy().ravel()


def torch_op(name, nd):
    """``F.<name><nd>d``, e.g. ``torch_op("max_pool", 2) is F.max_pool2d``."""
    return getattr(F, f"{name}{nd}d")


def raises_like(torch_call, convmat_call):
    """convmat raises ValueError/TypeError exactly when torch raises; else both results."""
    try:
        expected = torch_call()
    except (RuntimeError, ValueError, TypeError, NotImplementedError):
        with pytest.raises((ValueError, TypeError)):
            convmat_call()
        return None
    return expected, convmat_call()


# --------------------------------------------------------------------------- matrices
def assert_canonical(A, index_dtype=np.int32):
    """A ``csr_array`` in canonical form: consistent ``indptr``, strictly increasing
    (so sorted and duplicate-free) in-range columns in every row, and index arrays of
    ``index_dtype`` (int32 whenever they fit, which is every test's case but one)."""
    assert isinstance(A, sp.csr_array), type(A)
    assert A.indices.dtype == index_dtype and A.indptr.dtype == index_dtype
    assert A.indptr.shape == (A.shape[0] + 1,)
    assert A.indptr[0] == 0 and A.indptr[-1] == A.indices.size == A.data.size
    counts = np.diff(A.indptr)
    assert np.all(counts >= 0)
    rows = np.repeat(np.arange(A.shape[0]), counts)
    same_row = rows[1:] == rows[:-1]
    assert np.all(np.diff(A.indices)[same_row] > 0)
    assert np.all((A.indices >= 0) & (A.indices < A.shape[1]))


def same_matrix(A, B):
    """Equal shapes and exactly equal entries (the patterns may differ by explicit zeros)."""
    assert A.shape == B.shape
    assert (abs(A - B) > 0).nnz == 0


def peak_bytes(call, error=None):
    """Peak memory traced while ``call()`` runs (and raises ``error``, when given)."""
    tracemalloc.start()
    try:
        if error is None:
            result = call()
        else:
            with pytest.raises(error, match="max_entries=1,000,000"):
                call()
            result = None
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------- strategies
seeds = st.integers(0, 2**32 - 1)

POOL_MAX_SIZE = {1: 9, 2: 6, 3: 4}
INTERPOLATE_MODES = {1: ["nearest", "nearest-exact", "linear"],
                     2: ["nearest", "nearest-exact", "bilinear", "bicubic"],
                     3: ["nearest", "nearest-exact", "trilinear"]}


@st.composite
def conv_configs(draw, transpose=False, modes=("zeros", "reflect", "replicate", "circular"),
                 same=True):
    """A valid (weight, input_shape, kwargs) for conv_matrix or conv_transpose_matrix."""
    nd = draw(st.integers(1, 3))
    small = 6 if nd < 3 else 4
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    size = tuple(draw(st.lists(st.integers(1, small), min_size=nd, max_size=nd)))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    dilation = tuple(draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    dtype = draw(st.sampled_from([np.float64, np.complex128]))
    if transpose:
        w = rng.standard_normal((c_in, c_out // groups, *kernel))
        padding = tuple(draw(st.lists(st.integers(0, 2), min_size=nd, max_size=nd)))
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                               for s, d in zip(stride, dilation))
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding,
                      dilation=dilation, groups=groups)
    else:
        w = rng.standard_normal((c_out, c_in // groups, *kernel))
        mode = draw(st.sampled_from(modes))
        if same and mode == "zeros" and draw(st.booleans()):
            padding = "same"
            stride = 1
        else:
            low = -1 if mode != "zeros" else 0  # non-zero modes crop with a negative pad
            padding = tuple(draw(st.lists(st.integers(low, 2), min_size=nd, max_size=nd)))
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                      padding_mode=mode)
    if dtype is np.complex128:
        w = w + 1j * rng.standard_normal(w.shape)
    return w, (c_in, *size), kwargs


@st.composite
def pool_configs(draw, dilation=True):
    """A valid pooling configuration (torch's limits), 1-3 spatial dimensions."""
    nd = draw(st.integers(1, 3))
    size, kernel, stride, padding, dil = [], [], [], [], []
    for _ in range(nd):
        k = draw(st.integers(1, 4 if nd == 1 else 3))
        d = draw(st.integers(1, 3)) if dilation else 1
        p = draw(st.integers(0, k // 2))
        s = draw(st.integers(1, 3))
        ek = d * (k - 1) + 1
        L = draw(st.integers(max(1, ek - 2 * p), max(1, ek - 2 * p) + POOL_MAX_SIZE[nd]))
        size.append(L), kernel.append(k), stride.append(s), padding.append(p), dil.append(d)
    channels = draw(st.integers(1, 3))
    kw = dict(kernel_size=tuple(kernel), padding=tuple(padding),
              ceil_mode=draw(st.booleans()))
    kw["stride"] = draw(st.sampled_from([None, tuple(stride)]))
    if dilation:
        kw["dilation"] = tuple(dil)
    return (channels, *size), kw


@st.composite
def avg_configs(draw):
    """A valid (input_shape, kwargs) for avg_pool_matrix."""
    shape, kw = draw(pool_configs(dilation=False))
    if len(shape) == 4:  # avg_pool3d also wants the unpadded input >= the kernel
        shape = (shape[0], *(max(L, k) for L, k in zip(shape[1:], kw["kernel_size"])))
    kw["count_include_pad"] = draw(st.booleans())
    if len(shape) > 2:
        kw["divisor_override"] = draw(st.one_of(st.none(), st.integers(-3, 5).filter(bool)))
    return shape, kw


@st.composite
def interpolate_configs(draw):
    """A valid (input_shape, kwargs) for interpolate_matrix, one of INTERPOLATE_MODES."""
    nd = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(INTERPOLATE_MODES[nd]))
    # 2-D outputs with H + W > 128 take torch's other nearest kernel: cover both.
    big = nd == 2 and draw(st.booleans())
    lo, hi = (30, 70) if big else (1, {1: 12, 2: 8, 3: 5}[nd])
    shape = (draw(st.integers(1, 2)), *(draw(st.integers(lo, hi)) for _ in range(nd)))
    kw = dict(mode=mode)
    if draw(st.booleans()):
        kw["size"] = tuple(draw(st.integers(max(1, L // 3), 3 * L)) for L in shape[1:])
    else:
        factors = st.one_of(st.integers(1, 4), st.floats(0.2, 3.5).map(lambda f: round(f, 2)))
        kw["scale_factor"] = tuple(draw(factors) for _ in range(nd))
        assume(all(math.floor(L * f) >= 1 for L, f in zip(shape[1:], kw["scale_factor"])))
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    if not mode.startswith("nearest"):
        kw["align_corners"] = draw(st.sampled_from([None, False, True]))
    return shape, kw
