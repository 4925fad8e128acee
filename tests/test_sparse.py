"""kron_axes, the CSR assembly every builder shares, against a plain reference: broadcast
every (row, slot) pair of every factor, keep the used ones as COO, and let scipy sum the
duplicates. Small chunk sizes send small inputs through every path of the chunked code."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convmat._kernels as K
import convmat._sparse as S
from convmat._sparse import Axis, kron_axes


def reference(axes, weight=None, values=False):
    """The Kronecker product of the factors, the obvious way."""
    grids = np.meshgrid(*[np.arange(a.n_rows) for a in axes],
                        *[np.arange(a.cols.shape[1]) for a in axes], indexing="ij")
    nf = len(axes)
    rows, slots = grids[:nf], grids[nf:]
    used = np.ones(rows[0].shape, bool)
    row = np.zeros(rows[0].shape, np.int64)
    col = np.zeros(rows[0].shape, np.int64)
    tap = np.zeros(rows[0].shape, np.int64)
    val = np.ones(rows[0].shape)
    for a, r, t in zip(axes, rows, slots):
        if a.valid is not None:
            used &= a.valid[r, t]
        row = row * a.n_rows + r
        col = col * a.n_cols + a.cols[r, t]
        tap = tap * a.n_taps + (0 if a.taps is None else a.taps[r, t])
        if values and a.values is not None:
            val = val * a.values[r, t]
    if weight is not None:
        val = val * weight[tap]
    shape = (math.prod(a.n_rows for a in axes), math.prod(a.n_cols for a in axes))
    A = sp.csr_array((val[used], (row[used], col[used])), shape=shape)
    A.sum_duplicates()
    return A


@st.composite
def axes_strategy(draw):
    """Factors of every kind: sliding windows (masked at the borders), sorted random
    columns, and unordered columns with repeats (as reflect padding makes)."""
    axes = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["window", "sorted", "unordered"]))
        m = draw(st.integers(0, 7))
        w = draw(st.integers(0, 4))
        n_cols = draw(st.integers(max(w, 1), 9))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        if kind == "window":
            s, d, p = rng.integers(1, 3), rng.integers(1, 3), rng.integers(0, 3)
            cols = np.arange(m)[:, None] * s - p + np.arange(w)[None, :] * d
            valid = (cols >= 0) & (cols < n_cols)
            taps = np.broadcast_to(np.arange(w), (m, w))
            ordered = True
        elif kind == "sorted":
            cols = np.sort(np.array([rng.choice(n_cols, w, replace=False)
                                     for _ in range(m)], np.int64).reshape(m, w), axis=1)
            valid = rng.random((m, w)) < 0.8
            taps = rng.integers(0, 3, (m, w))
            ordered = True
        else:
            cols = rng.integers(0, n_cols, (m, w))
            valid = None
            taps = rng.integers(0, 3, (m, w))
            ordered = False
        values = rng.choice([0.5, 1.0, 2.0, 3.0], (m, w)) if draw(st.booleans()) else None
        axes.append(Axis(cols, n_cols, taps, max(int(taps.max(initial=0)) + 1, 1),
                         None if valid is None or valid.all() else valid, values,
                         ordered=ordered))
    return axes


@pytest.fixture(params=[(1 << 17, 1 << 11), (8, 4), (1, 1)], ids=["chunks", "small", "tiny"])
def chunking(request, monkeypatch):
    chunk, run = request.param
    monkeypatch.setattr(S, "CHUNK", chunk)
    monkeypatch.setattr(S, "MIN_RUN", run)
    monkeypatch.setattr(K, "SHORT_ROW", 2)


# The chunk sizes are fixed for a whole test, on purpose: not reset between examples.
fixed_chunking = settings(suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_same(A, B):
    assert A.shape == B.shape
    assert np.array_equal(A.indptr, B.indptr)
    assert np.array_equal(A.indices, B.indices)
    np.testing.assert_allclose(A.data, B.data, rtol=1e-12, atol=0)


@fixed_chunking
@given(axes_strategy(), st.integers(0, 2**32 - 1))
def test_matrix_with_weights_and_values(chunking, axes, seed):
    n_taps = math.prod(a.n_taps for a in axes)
    weight = np.random.default_rng(seed).standard_normal(n_taps)
    p = kron_axes(axes, taps=False, values=True, weight=weight)
    assert_same(p.csr(p.values), reference(axes, weight, values=True))


@fixed_chunking
@given(axes_strategy(), st.integers(0, 2**32 - 1))
def test_tap_pattern_gathers_the_same_matrix(chunking, axes, seed):
    n_taps = math.prod(a.n_taps for a in axes)
    weight = np.random.default_rng(seed).standard_normal(n_taps)
    p = kron_axes(axes, taps=True)
    assert_same(p.csr(p.gather(weight)), reference(axes, weight))


@fixed_chunking
@given(axes_strategy())
def test_values_only(chunking, axes):
    p = kron_axes(axes, taps=False, values=True)
    assert_same(p.csr(p.values), reference(axes, values=True))


def truncated(a, n):
    """The first ``n`` rows of a factor."""
    cut = lambda arr: None if arr is None else arr[:n]
    return Axis(a.cols[:n], a.n_cols, cut(a.taps), a.n_taps, cut(a.valid), cut(a.values),
                ordered=a.ordered)


@fixed_chunking
@given(axes_strategy(), st.data())
def test_transposed_factors_give_the_transpose(chunking, axes, data):
    """Identity: the product of the transposed factors (of each factor's first rows) is the
    transpose of the product of those rows, taps and values included."""
    keep = [data.draw(st.integers(0, a.n_rows)) for a in axes]
    cut = [truncated(a, n) for a, n in zip(axes, keep)]
    flipped = [a.transpose(n) for a, n in zip(axes, keep)]
    n_taps = math.prod(a.n_taps for a in axes)
    weight = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).standard_normal(n_taps)
    for values in (True, False):
        expected = reference(cut, weight, values=values).T.tocsr()
        expected.sort_indices()
        assert_same(reference(flipped, weight, values=values), expected)
        p = kron_axes(flipped, taps=False, values=values, weight=weight)
        assert_same(p.csr(p.values), expected)
    p = kron_axes(flipped, taps=True)
    assert_same(p.csr(p.gather(weight)), expected)


def window_axes(n=1000):
    cols = np.arange(n)[:, None] + np.arange(3)[None, :] - 1
    valid = (cols >= 0) & (cols < n)
    return [Axis(cols, n, np.broadcast_to(np.arange(3), cols.shape), 3, valid)]


@pytest.mark.parametrize("taps", [True, False])
def test_budget_refuses_before_filling_and_names_the_operator(taps):
    budget = S.Budget("demo_matrix", "convmat.demo_operator", 4, max_entries=2997)
    with pytest.raises(ValueError, match=r"demo_matrix would store 2,998 entries .*"
                                         r"max_entries=2,997.*convmat\.demo_operator"):
        kron_axes(window_axes(), taps=taps, weight=np.ones(3), budget=budget)
    with pytest.raises(ValueError, match="convmat.demo_operator"):
        S.plan_kron(window_axes(), taps=taps, budget=budget)
    ok = S.Budget("demo_matrix", "convmat.demo_operator", 4, max_entries=2998)
    assert kron_axes(window_axes(), taps=taps, budget=ok).nnz == 2998


def test_budget_counts_rows_too():
    """Each row costs an indptr slot: a matrix of empty rows is refused by its rows."""
    axis = Axis(np.zeros((5000, 0), np.int64), 3)
    with pytest.raises(ValueError, match=r"5,000 rows \(0 entries\).*convmat\.x_operator"):
        kron_axes([axis], budget=S.Budget("x_matrix", "convmat.x_operator", max_entries=4999))


def test_plan_is_the_csr_layout():
    """The plan's nnz and indptr are those of the finished matrix; its runs and border rows
    cover every row once."""
    axes = window_axes(50) + window_axes(40)
    plan = S.plan_kron(axes, taps=False, weight=np.ones(9))
    A = reference(axes, np.ones(9))
    assert plan.nnz == A.nnz and plan.shape == A.shape
    assert np.array_equal(plan.indptr, A.indptr)
    covered = np.concatenate([np.arange(a, b) for a, b in plan.runs] + [plan.border_rows])
    assert np.array_equal(np.sort(covered), np.arange(A.shape[0]))
