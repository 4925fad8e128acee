"""convmat.plot: every function draws under Agg, returns its Axes or Figure, sets a title
and axis labels, and writes the right tap in the right cell (checked against the matrices
worked by hand in *Unsampling: Unpooling and Transpose Convolution*)."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from convmat import (  # noqa: E402
    conv_matrix,
    conv_taps,
    conv_transpose_matrix,
    conv_transpose_output_shape,
    conv_transpose_taps,
)
from convmat.figures import FIGURES  # noqa: E402
from convmat.plot import (  # noqa: E402
    coverage,
    plot_before_after,
    plot_conv_transpose_stamps,
    plot_conv_windows,
    plot_coverage,
    plot_max_unpooling,
    plot_sparsity,
    plot_stride_comparison,
    plot_taps,
    plot_transpose_pair,
)

# The article's 1-D transposed convolution 2 -> 5: inputs [a, b], filter [x, y, z],
# stride 2 -> ax, ay, az+bx, by, bz.
TRANSPOSED_STRIDE2 = [["x", ""], ["y", ""], ["z", "x"], ["", "y"], ["", "z"]]
TRANSPOSED_STRIDE2_ROWS = ["= ax", "= ay", "= az + bx", "= by", "= bz"]
# ... and 2 -> 4 at stride 1: ax, ay+bx, az+by, bz.
TRANSPOSED_STRIDE1 = [["x", ""], ["y", "x"], ["z", "y"], ["", "z"]]
# The convolution C whose transpose is a transposed convolution: 4 inputs, [x, y, z],
# stride 1 (padding 1 keeps 4 outputs).
CONV_PADDED = [["y", "z", "", ""], ["x", "y", "z", ""], ["", "x", "y", "z"], ["", "", "x", "y"]]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def cell_texts(ax, shape):
    """The text written in each cell of a matrix drawn by plot_sparsity."""
    grid = [["" for _ in range(shape[1])] for _ in range(shape[0])]
    for t in ax.texts:
        x, y = t.get_position()
        grid[int(round(y))][int(round(x))] = t.get_text()
    return grid


def right_labels(ax):
    """The texts written to the right of each row (a secondary y axis)."""
    (secondary,) = [c for c in ax.child_axes]
    return [t.get_text() for t in secondary.get_yticklabels()]


def assert_titled(ax):
    assert ax.get_title(), "the Axes has no title"
    assert ax.get_xlabel() and ax.get_ylabel(), "the Axes has no axis labels"


def test_plot_taps_labels_the_articles_transposed_conv():
    taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=2)
    ax = plot_taps(taps, "xyz", in_names="ab")
    assert isinstance(ax, Axes)
    assert_titled(ax)
    assert cell_texts(ax, (5, 2)) == TRANSPOSED_STRIDE2
    assert right_labels(ax) == TRANSPOSED_STRIDE2_ROWS
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]


def test_plot_taps_names_a_three_tap_filter_xyz_by_default():
    ax = plot_taps(conv_transpose_taps((1, 1, 3), (1, 2), stride=1))
    assert cell_texts(ax, (4, 2)) == TRANSPOSED_STRIDE1


def test_plot_taps_transpose_draws_the_transposed_labels():
    taps = conv_taps((1, 1, 3), (1, 4), padding=1)
    assert cell_texts(plot_taps(taps), (4, 4)) == CONV_PADDED
    assert cell_texts(plot_taps(taps, transpose=True), (4, 4)) == [list(r) for r in
                                                                    zip(*CONV_PADDED)]


def test_plot_taps_rejects_a_matrix():
    with pytest.raises(TypeError, match="TapPattern"):
        plot_taps(conv_matrix(np.ones((1, 1, 3)), (1, 4)))


def test_plot_sparsity_small_matrix_shows_values_and_positions():
    C = conv_matrix(np.array([[[1.0, 2.0, 3.0]]]), (1, 4), padding=1)
    ax = plot_sparsity(C, in_shape=(1, 4), out_shape=(1, 4))
    assert_titled(ax)
    assert cell_texts(ax, (4, 4)) == [["2", "3", "", ""], ["1", "2", "3", ""],
                                      ["", "1", "2", "3"], ["", "", "1", "2"]]
    assert "input" in ax.get_xlabel() and "output" in ax.get_ylabel()


def test_plot_sparsity_draws_channel_and_row_blocks():
    # 2 channels of a 3x4 image: a thick line between the channels, thin ones between rows.
    C = conv_matrix(np.ones((1, 2, 3, 3)), (2, 3, 4), padding=1)
    ax = plot_sparsity(C, in_shape=(2, 3, 4), out_shape=(1, 3, 4), annotate=False)
    assert_titled(ax)
    vertical = sorted(ln.get_xdata()[0] + 0.5 for ln in ax.lines
                      if ln.get_xdata()[0] == ln.get_xdata()[1])
    horizontal = sorted(ln.get_ydata()[0] + 0.5 for ln in ax.lines
                        if ln.get_ydata()[0] == ln.get_ydata()[1])
    # columns: the channel boundary at 12, row boundaries at 4, 8, 16, 20; rows: 4, 8
    assert vertical == [4, 8, 12, 16, 20]
    assert horizontal == [4, 8]


def test_plot_sparsity_large_matrix_as_points():
    C = conv_matrix(np.ones((1, 1, 3, 3)), (1, 40, 40), padding=1)
    ax = plot_sparsity(C, in_shape=(1, 40, 40), out_shape=(1, 40, 40))
    assert not ax.texts
    assert "1600\u00d71600" in ax.get_title()


@pytest.mark.parametrize("bad, match", [
    (dict(in_shape=(1, 5)), "in_shape"),
    (dict(out_shape=(2, 4)), "out_shape"),
    (dict(labels=["x"]), "one label per stored entry"),
])
def test_plot_sparsity_rejects_inconsistent_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        plot_sparsity(conv_matrix(np.ones((1, 1, 3)), (1, 4), padding=1), **bad)


def test_plot_sparsity_uses_a_given_axes():
    fig, ax = plt.subplots()
    assert plot_sparsity(np.eye(3), ax=ax, title="identity") is ax
    assert ax.get_title() == "identity"


def test_plot_stride_comparison_is_the_articles_2_to_4_and_2_to_5():
    fig = plot_stride_comparison((1, 1, 3), (1, 2), transpose=True)
    assert isinstance(fig, Figure)
    assert fig.get_suptitle()
    left, right = fig.axes[:2]
    assert_titled(left)
    assert_titled(right)
    assert cell_texts(left, (4, 2)) == TRANSPOSED_STRIDE1
    assert cell_texts(right, (5, 2)) == TRANSPOSED_STRIDE2
    assert "stride 2" in right.get_title() and "2 \u2192 5" in right.get_title()


def test_plot_stride_comparison_2d_patterns():
    fig = plot_stride_comparison((1, 1, 3, 3), (1, 6, 6), padding=1)
    left, right = fig.axes[:2]
    assert "6\u00d76 \u2192 3\u00d73" in right.get_title()
    assert right.get_legend() is not None  # taps told apart by colour


def test_plot_transpose_pair_is_c_beside_its_transpose():
    fig = plot_transpose_pair((1, 1, 3), (1, 4), padding=1)
    assert isinstance(fig, Figure)
    left, right = fig.axes[:2]
    assert_titled(left)
    assert_titled(right)
    assert cell_texts(left, (4, 4)) == CONV_PADDED
    assert cell_texts(right, (4, 4)) == [list(r) for r in zip(*CONV_PADDED)]
    assert "C\u1d40" in right.get_title()


def test_plot_transpose_pair_stride_2_transpose_is_2_to_5():
    fig = plot_transpose_pair((1, 1, 3), (1, 5), stride=2)
    assert cell_texts(fig.axes[1], (5, 2)) == TRANSPOSED_STRIDE2


def test_coverage_counts_by_hand():
    # kernel 3, stride 2: the windows [0,3), [2,5), [4,7), ... overlap on every 2nd output.
    np.testing.assert_array_equal(coverage(3, 5, 2), [1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1])
    np.testing.assert_array_equal(coverage(4, 3, 2), [1, 1, 2, 2, 2, 2, 1, 1])
    c2 = coverage((3, 3), (2, 2), 2)
    np.testing.assert_array_equal(c2, np.outer([1, 1, 2, 1, 1], [1, 1, 2, 1, 1]))
    # a weight array gives its kernel size; the channel count of input_shape is ignored
    np.testing.assert_array_equal(coverage(np.zeros((2, 3, 3)), (2, 5), 2),
                                  coverage(3, 5, 2))


@pytest.mark.parametrize("kernel, size, stride, padding, dilation, output_padding", [
    (3, 5, 2, 0, 1, 0), (4, 3, 3, 1, 1, 2), (2, 4, 1, 0, 3, 2), (3, 3, 2, 1, 3, 2),
    ((3, 2), (4, 3), (2, 1), (1, 0), (1, 2), (1, 0)), ((1, 5), (2, 2), 3, 0, 1, (2, 0)),
])
def test_coverage_is_the_transposed_conv_of_ones_applied_to_ones(
        kernel, size, stride, padding, dilation, output_padding):
    """By definition, coverage is T @ 1 for T = conv_transpose_matrix of an all-ones
    filter, including torch's stride <= output_padding < dilation."""
    kernel = np.broadcast_to(kernel, np.shape(size) or (1,))
    ones = np.ones((1, 1, *kernel))
    kw = dict(stride=stride, padding=padding, dilation=dilation,
              output_padding=output_padding)
    T = conv_transpose_matrix(ones, (1, *np.atleast_1d(size)), **kw)
    out = conv_transpose_output_shape(ones, (1, *np.atleast_1d(size)), **kw)[1:]
    np.testing.assert_array_equal(coverage(tuple(kernel), size, **kw),
                                  (T @ np.ones(T.shape[1])).reshape(out))


@pytest.mark.parametrize("kernel, verdict", [(3, "checkerboard"), (4, "even overlap")])
def test_plot_coverage_says_whether_there_is_a_checkerboard(kernel, verdict):
    ax = plot_coverage(kernel, (4, 4), 2)
    assert_titled(ax)
    assert verdict in ax.get_title()
    ax1 = plot_coverage(kernel, 5, 2)
    assert_titled(ax1)
    assert verdict in ax1.get_title()


def test_plot_coverage_writes_the_counts():
    ax = plot_coverage(3, (2, 2), 2)
    assert cell_texts(ax, (5, 5)) == [[str(int(v)) for v in row] for row in
                                      np.outer([1, 1, 2, 1, 1], [1, 1, 2, 1, 1])]


def test_plot_coverage_refuses_3d():
    with pytest.raises(ValueError, match="1-D and 2-D"):
        plot_coverage(3, (3, 3, 3), 2)


def test_plot_before_after_writes_the_values():
    x = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
    y = np.array([[5, 6], [7, 8]])
    fig = plot_before_after(x, y, op="max pooling", block=(2, 2),
                            highlight_before=x == np.kron(y, np.ones((2, 2))))
    assert isinstance(fig, Figure)
    assert "max pooling" in fig.get_suptitle()
    left, right = fig.axes[:2]
    assert left.get_title() == "input 4\u00d74" and right.get_title() == "output 2\u00d72"
    assert cell_texts(left, (4, 4)) == [[str(v) for v in row] for row in x]
    assert cell_texts(right, (2, 2)) == [[str(v) for v in row] for row in y]
    bold = sorted((t.get_text(), t.get_fontweight()) for t in left.texts
                  if t.get_fontweight() == "bold")
    assert [b[0] for b in bold] == ["5", "6", "7", "8"]


def test_plot_before_after_checks_shapes():
    with pytest.raises(ValueError, match="highlight_after"):
        plot_before_after(np.ones((2, 2)), np.ones((4, 4)), highlight_after=np.ones((2, 2)))
    with pytest.raises(ValueError, match="2 Axes"):
        plot_before_after(np.ones((2, 2)), np.ones((4, 4)), ax=plt.subplots()[1])


def test_nothing_calls_show(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show was called"))
    plot_stride_comparison((1, 1, 3), (1, 2), transpose=True)
    plot_transpose_pair((1, 1, 3), (1, 4), padding=1)
    plot_coverage(3, (3, 3), 2)
    plot_before_after(np.ones((2, 2)), np.ones((4, 4)))


# --------------------------------------------------------------------------- how a result arises
def drawn(ax, gid="value"):
    """``{(row, col): number}`` of the texts tagged ``gid`` on a grid drawn in cell units."""
    found = {}
    for t in ax.texts:
        if t.get_gid() == gid:
            x, y = t.get_position()
            found[(int(np.floor(y)), int(np.floor(x)))] = float(t.get_text())
    return found


def drawn_map(ax, shape, gid="value"):
    m = np.full(shape, np.nan)
    for (r, c), v in drawn(ax, gid).items():
        m[r, c] = v
    return m


small_maps = st.tuples(st.integers(1, 4), st.integers(1, 4))
geometry = st.fixed_dictionaries({
    "kernel": st.tuples(st.integers(1, 3), st.integers(1, 3)),
    "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
    "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
    "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
    "seed": st.integers(0, 2**16),
})


@settings(max_examples=15)
@given(size=small_maps, g=geometry)
def test_plot_conv_windows_draws_torchs_conv2d(size, g):
    torch = pytest.importorskip("torch")
    k, s, d, p = g["kernel"], g["stride"], g["dilation"], g["padding"]
    padded = tuple(size[i] + 2 * p[i] for i in range(2))
    assume(all(padded[i] >= d[i] * (k[i] - 1) + 1 for i in range(2)))
    rng = np.random.default_rng(g["seed"])
    x = rng.integers(-4, 5, size).astype(float)
    w = rng.integers(-3, 4, k).astype(float)
    fig = plot_conv_windows(w, x, stride=s, padding=p, dilation=d)
    a_in, a_w, a_out = fig.axes
    want = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None],
                                      stride=s, padding=p, dilation=d)[0, 0].numpy()
    np.testing.assert_array_equal(drawn_map(a_out, want.shape), want)
    np.testing.assert_array_equal(drawn_map(a_w, w.shape), w)
    inside = drawn_map(a_in, padded)[p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    np.testing.assert_array_equal(inside, x)
    # the padding ring: every other cell of the padded grid, each a 0
    ring = drawn(a_in, "padding")
    assert len(ring) == padded[0] * padded[1] - x.size and set(ring.values()) <= {0.0}
    # the window of output (i, j) is outlined from (i * s0, j * s1): the stride is visible
    outlines = [pt for pt in a_in.patches if isinstance(pt, Rectangle) and not pt.get_fill()
                and pt.get_edgecolor()[:3] != (1.0, 1.0, 1.0)]
    corners = sorted((round(pt.get_y()), round(pt.get_x())) for pt in outlines)
    assert corners == sorted((i * s[0], j * s[1]) for i, j in np.ndindex(want.shape))


@settings(max_examples=15)
@given(size=small_maps, g=geometry, op=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_plot_conv_transpose_stamps_draws_torchs_conv_transpose2d(size, g, op):
    torch = pytest.importorskip("torch")
    k, s, d, p = g["kernel"], g["stride"], g["dilation"], g["padding"]
    assume(all(op[i] < max(s[i], d[i]) for i in range(2)))  # torch's rule
    full = tuple((size[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 for i in range(2))
    assume(all(full[i] - 2 * p[i] + op[i] >= 1 for i in range(2)))
    rng = np.random.default_rng(g["seed"])
    x = rng.integers(-4, 5, size).astype(float)
    w = rng.integers(-3, 4, k).astype(float)
    fig = plot_conv_transpose_stamps(w, x, stride=s, padding=p, output_padding=op,
                                     dilation=d)
    a_in, a_w, a_full, a_out = fig.axes
    F = torch.nn.functional
    xt, wt = torch.tensor(x)[None, None], torch.tensor(w)[None, None]
    want_full = F.conv_transpose2d(xt, wt, stride=s, dilation=d)[0, 0].numpy()
    want = F.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=op,
                              dilation=d)[0, 0].numpy()
    np.testing.assert_array_equal(drawn_map(a_in, x.shape), x)
    grid = drawn_map(a_full, (int(a_full.get_ylim()[0]), int(a_full.get_xlim()[1])))
    np.testing.assert_array_equal(grid[:full[0], :full[1]], want_full)
    np.testing.assert_array_equal(grid[full[0]:], 0)  # past the last stamp: output_padding
    np.testing.assert_array_equal(grid[:, full[1]:], 0)
    np.testing.assert_array_equal(drawn_map(a_out, want.shape), want)
    # a cell several stamps write shows its terms, and they add up to its value
    for ax in (a_full, a_out):
        values = drawn(ax)
        for t in ax.texts:
            if t.get_gid() == "terms":
                x0, y0 = t.get_position()
                terms = [float(v) for v in t.get_text().replace("+-", "+ -").split("+")]
                assert sum(terms) == values[(int(np.floor(y0)), int(np.floor(x0)))]


def test_plot_conv_transpose_stamps_article_example_by_hand():
    """[[1, 2], [3, 4]] through a 3x3 all-ones filter at stride 2: the centre of the full
    5x5 grid gets all four stamps, 1+2+3+4 = 10; padding 1 crops the first row and column,
    output_padding 1 keeps the last ones."""
    fig = plot_conv_transpose_stamps(3, [[1, 2], [3, 4]], stride=2, padding=1,
                                     output_padding=1)
    a_full, a_out = fig.axes[2:]
    assert drawn(a_full)[(2, 2)] == 10
    assert [t.get_text() for t in a_full.texts if t.get_gid() == "terms"
            and t.get_position() == (2.5, 2.3)] == ["1+2+3+4"]
    np.testing.assert_array_equal(drawn_map(a_out, (4, 4)),
                                  [[1, 3, 2, 2], [4, 10, 6, 6], [3, 7, 4, 4], [3, 7, 4, 4]])


def test_plot_max_unpooling_draws_torchs_max_unpool2d():
    torch = pytest.importorskip("torch")
    x = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], dtype=float)
    _, idx = torch.nn.functional.max_pool2d(torch.tensor(x)[None, None], 2,
                                            return_indices=True)
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    fig = plot_max_unpooling(y, idx[0, 0].numpy(), 2)
    a_y, a_i, a_z = fig.axes
    want = torch.nn.functional.max_unpool2d(torch.tensor(y)[None, None], idx, 2)[0, 0]
    np.testing.assert_array_equal(drawn_map(a_z, (4, 4)), want.numpy())
    np.testing.assert_array_equal(drawn_map(a_i, (2, 2)), [[5, 2], [12, 15]])
    positions = sorted(t.get_text() for t in a_i.texts if t.get_gid() == "position")
    assert positions == ["(0,2)", "(1,1)", "(3,0)", "(3,3)"]


def test_mechanism_pictures_refuse_bad_input():
    with pytest.raises(ValueError, match="at most 16 per side"):
        plot_conv_windows(3, np.ones((20, 20)))
    with pytest.raises(ValueError, match="single 2-D filter"):
        plot_conv_windows(np.ones((2, 1, 3, 3)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="indices must have the shape of y"):
        plot_max_unpooling(np.ones((2, 2)), np.zeros((3, 3), int), 2)
    with pytest.raises(ValueError, match="stride"):  # the builder's own refusal
        plot_conv_windows(3, np.ones((4, 4)), stride=0)


# --------------------------------------------------------------------------- layout
def cell_inches_of(ax):
    box = ax.get_position()
    w, h = ax.figure.get_size_inches()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return box.width * w / abs(x1 - x0), box.height * h / abs(y1 - y0)


@pytest.mark.parametrize("make, n_panels", [
    (lambda: plot_stride_comparison((1, 1, 3, 3), (1, 6, 6), padding=1), 2),
    (lambda: plot_stride_comparison((2, 2, 3), (2, 10), padding=1, annotate=False), 2),
    (lambda: plot_stride_comparison((1, 1, 3), (1, 2), transpose=True), 2),
    (lambda: plot_transpose_pair((1, 1, 3), (1, 5), stride=2), 4),
    (lambda: plot_transpose_pair((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1), 4),
    (lambda: plot_conv_windows(3, np.ones((4, 4)), stride=2, padding=1), 3),
    (lambda: plot_conv_transpose_stamps(3, np.ones((2, 2)), stride=2, padding=1,
                                        output_padding=1), 4),
    (lambda: plot_max_unpooling(np.ones((2, 2)), [[5, 2], [12, 15]], 2), 3),
])
def test_every_panel_has_the_same_cell_size(make, n_panels):
    """No tiny stride-2 panel: one matrix cell, one pixel, is as big in every panel."""
    fig = make()
    cells = [cell_inches_of(ax) for ax in fig.axes[:n_panels]]
    np.testing.assert_allclose(cells, [cells[0]] * n_panels, rtol=1e-6)
    np.testing.assert_allclose(cells[0][0], cells[0][1], rtol=1e-6)  # square cells


def test_stride_comparison_stacks_wide_matrices_with_their_columns_aligned():
    fig = plot_stride_comparison((1, 1, 3, 3), (1, 6, 6), padding=1)
    top, bottom = (ax.get_position() for ax in fig.axes[:2])
    assert top.y0 > bottom.y1  # one above the other
    assert top.x0 == pytest.approx(bottom.x0) and top.x1 == pytest.approx(bottom.x1)


def test_sparsity_ticks_fall_on_image_rows():
    """Ticks at multiples of the row width (0, 6, 12, ... for 6-wide rows), not
    matplotlib's 0, 4, 8."""
    C = conv_matrix(np.ones((1, 1, 3, 3)), (1, 6, 6), padding=1, stride=2)
    ax = plot_sparsity(C, in_shape=(1, 6, 6), out_shape=(1, 3, 3), annotate=False)
    assert list(ax.get_xticks()) == [0, 6, 12, 18, 24, 30]
    assert list(ax.get_yticks()) == [0, 3, 6]
    fig = plot_stride_comparison((1, 1, 3, 3), (1, 6, 6), padding=1)
    for ax in fig.axes[:2]:
        assert list(ax.get_xticks()) == [0, 6, 12, 18, 24, 30]


def all_texts(fig):
    fig.draw_without_rendering()  # lay out ticks and legends as they will be saved
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("name, make", FIGURES, ids=[n for n, _ in FIGURES])
def test_every_figure_is_legible_and_fills_its_frame(name, make):
    fig = make()
    small = {(t.get_text(), t.get_fontsize()) for t in all_texts(fig)
             if t.get_fontsize() < 9}
    assert not small, f"text below 9 pt at the saved size: {sorted(small)[:5]}"
    assert plt.get_fignums() == []
    # no empty quadrant: each quarter of the saved (tight) figure holds some panel or text
    renderer = fig._get_renderer()
    frame = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
    boxes = [ax.get_window_extent(renderer) for ax in fig.axes]
    boxes += [t.get_window_extent(renderer) for t in all_texts(fig)
              if t is not fig._suptitle]
    mid_x, mid_y = (frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2
    for qx, qy in itertools.product((0, 1), (0, 1)):
        x0, x1 = (frame.x0, mid_x) if qx == 0 else (mid_x, frame.x1)
        y0, y1 = (frame.y0, mid_y) if qy == 0 else (mid_y, frame.y1)
        covered = sum(max(0, min(b.x1, x1) - max(b.x0, x0)) *
                      max(0, min(b.y1, y1) - max(b.y0, y0)) for b in boxes)
        assert covered > 0.1 * (x1 - x0) * (y1 - y0), f"quadrant {qx, qy} of {name} is empty"


# --------------------------------------------------------------------------- C and C.T
def test_plot_transpose_pair_right_panel_is_conv_transpose_with_the_output_padding():
    """A 4x4 input at stride 2, padding 1 (kernel 3) gives 2x2; conv_transpose maps 2x2
    back to 4x4 only with output_padding=1, and then it is C.T."""
    fig = plot_transpose_pair((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1)
    left, right = fig.axes[:2]
    assert cell_texts(right, (16, 4)) == [list(r) for r in zip(*cell_texts(left, (4, 16)))]
    assert "output_padding=1" in fig.get_suptitle()
    C = conv_matrix(np.arange(1.0, 10).reshape(1, 1, 3, 3), (1, 4, 4), stride=2, padding=1)
    T = conv_transpose_matrix(np.arange(1.0, 10).reshape(1, 1, 3, 3), (1, 2, 2), stride=2,
                              padding=1, output_padding=1)
    assert (C.T != T).nnz == 0
    same = plot_transpose_pair((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1,
                               output_padding=1)
    assert cell_texts(same.axes[1], (16, 4)) == cell_texts(right, (16, 4))
    by_size = plot_transpose_pair((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1,
                                  output_size=(4, 4))
    assert cell_texts(by_size.axes[1], (16, 4)) == cell_texts(right, (16, 4))


@pytest.mark.parametrize("kw, match", [
    (dict(output_padding=0), r"not back to the input's 4×4: C.T is conv_transpose_matrix "
                             r"with output_padding=1"),
    (dict(output_size=(3, 3)), r"output_size=\(3, 3\) must be the input's spatial shape"),
    (dict(output_padding=1, output_size=(4, 4)), "not both"),
])
def test_plot_transpose_pair_refuses_an_output_padding_that_is_not_C_T(kw, match):
    with pytest.raises(ValueError, match=match):
        plot_transpose_pair((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1, **kw)


def test_plot_transpose_pair_links_row_i_of_C_to_column_i_of_C_T():
    fig = plot_transpose_pair((1, 1, 3), (1, 5), stride=2)
    left, right = fig.axes[:2]

    def frames(ax):
        return {mcolors.to_hex(p.get_edgecolor()): (p.get_x(), p.get_y(), p.get_width(),
                                                    p.get_height())
                for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()}

    rows, cols = frames(left), frames(right)
    assert len(rows) == 2 and rows.keys() == cols.keys()  # one colour per output
    for colour, (_, y, width, _) in rows.items():
        i = round(y + 0.5)  # row i of C ...
        x, _, _, height = cols[colour]
        assert round(x + 0.5) == i and width > 4 and height > 4  # ... is column i of C.T
    names = [(t.get_text(), mcolors.to_hex(t.get_color())) for t in left.get_yticklabels()]
    tnames = [(t.get_text(), mcolors.to_hex(t.get_color())) for t in right.get_xticklabels()]
    assert names == tnames and [n for n, _ in names] == ["p", "q"]


def test_plot_transpose_pair_tap_labels_are_legible():
    fig = plot_transpose_pair((1, 1, 3, 3), (1, 4, 4), stride=2, padding=1)
    sizes = [t.get_fontsize() for ax in fig.axes[:2] for t in ax.texts]
    assert sizes and min(sizes) >= 9


# --------------------------------------------------------------------------- no double display
PUBLIC_CALLS = {
    "plot_sparsity": lambda: plot_sparsity(np.eye(3)),
    "plot_taps": lambda: plot_taps(conv_taps((1, 1, 3), (1, 4))),
    "plot_stride_comparison": lambda: plot_stride_comparison((1, 1, 3), (1, 2),
                                                             transpose=True),
    "plot_transpose_pair": lambda: plot_transpose_pair((1, 1, 3), (1, 4), padding=1),
    "plot_coverage": lambda: plot_coverage(3, (3, 3), 2),
    "plot_coverage_1d": lambda: plot_coverage(3, 5, 2),
    "plot_before_after": lambda: plot_before_after(np.ones((2, 2)), np.ones((4, 4))),
    "plot_conv_windows": lambda: plot_conv_windows(3, np.ones((4, 4)), stride=2, padding=1),
    "plot_conv_transpose_stamps": lambda: plot_conv_transpose_stamps(3, np.ones((2, 2)),
                                                                     stride=2),
    "plot_max_unpooling": lambda: plot_max_unpooling(np.ones((2, 2)), [[5, 2], [12, 15]], 2),
}


@pytest.mark.parametrize("name", sorted(PUBLIC_CALLS))
def test_pyplot_never_holds_a_figure_we_return(name):
    """A figure pyplot holds is shown by Jupyter's inline backend as well as returned, so
    twice; figures made with matplotlib.figure.Figure are shown once."""
    plt.close("all")
    result = PUBLIC_CALLS[name]()
    assert plt.get_fignums() == []
    fig = result if isinstance(result, Figure) else result.figure
    assert isinstance(fig, Figure)


@pytest.mark.parametrize("inline", [False, True])
def test_a_returned_figure_or_axes_displays_once_in_ipython(inline):
    """The cell's value is shown as one PNG, with or without pyplot's inline backend
    (``%matplotlib inline`` registers a PNG printer for figures)."""
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    shell = InteractiveShell.instance()
    select_figure_formats(shell, {"png"} if inline else set())
    for name in ("plot_transpose_pair", "plot_taps", "plot_coverage"):
        data, _ = shell.display_formatter.format(PUBLIC_CALLS[name]())
        png = data["image/png"]  # base64 text from the inline printer, bytes otherwise
        png = base64.b64decode(png) if isinstance(png, str) else png
        assert png.startswith(b"\x89PNG")
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- hostile input
# Each bad argument is refused with a TypeError or ValueError whose one-line message names
# the argument as the caller wrote it; tensors (requires_grad too) are arrays.
def refused(kind, name, call, *args, **kwargs):
    with pytest.raises(kind) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert name in message, message
    assert "\n" not in message, message
    return message


def grad_tensor(values):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(values, dtype=float), requires_grad=True)


def test_coverage_reads_a_tensor_that_requires_grad():
    w = np.arange(1.0, 4.0).reshape(1, 1, 3)
    np.testing.assert_array_equal(coverage(grad_tensor(w), (1, 4), 2), coverage(w, (1, 4), 2))
    np.testing.assert_array_equal(coverage(w, (1, 4), 2),
                                  [1, 1, 2, 1, 2, 1, 2, 1, 1])  # by hand: k=3, s=2


@pytest.mark.parametrize("input_shape", [(1, 10**9, 10**9), (1, 10**5, 10**5), (10**9,)])
def test_coverage_refuses_a_map_too_large_to_count_before_allocating(input_shape):
    message = refused(ValueError, "input_shape", lambda: coverage(3, input_shape, 2))
    assert "10,000,000" in message  # the limit, named
    w = np.ones((1, 1, 3, 3))
    refused(ValueError, "input_shape", lambda: coverage(w, (1, 10**5, 10**5), 2))


@pytest.mark.parametrize("input_shape", [(10**5, 10**5), (2001,), (1, 10**9, 10**9)])
def test_plot_coverage_refuses_a_map_no_picture_can_hold(input_shape):
    w = np.ones((1, 1, 3, 3)) if len(input_shape) == 2 else 3
    refused(ValueError, "input_shape", lambda: plot_coverage(w, input_shape, 1))


@pytest.mark.parametrize("value, kind", [(math.inf, TypeError), (math.nan, TypeError),
                                         (None, TypeError), ((1, 4.0), TypeError),
                                         ((1, 0), ValueError), ((1, 2, 3, 4, 5), ValueError)])
def test_coverage_names_a_bad_input_shape(value, kind):
    refused(kind, "input_shape", lambda: coverage(3, value, 2))
    refused(kind, "input_shape", lambda: plot_coverage(3, value, 2))


@pytest.mark.parametrize("value, kind", [(0, ValueError), (-1, ValueError), (True, TypeError),
                                         (2.0, TypeError), (None, TypeError),
                                         ((3, 3.0), TypeError), ([[1, 2], [3]], ValueError),
                                         ((), ValueError), (np.zeros((1, 1, 0)), ValueError),
                                         ((2**63,), ValueError)])
def test_coverage_names_a_bad_weight_or_kernel(value, kind):
    refused(kind, "weight_or_kernel", lambda: coverage(value, (1, 4), 2))


def test_plot_sparsity_reads_tensors_and_names_its_arguments():
    C = conv_matrix(np.ones((1, 1, 3)), (1, 4), padding=1)
    ax = plot_sparsity(grad_tensor(C.toarray()))
    assert cell_texts(ax, (4, 4)) == [["1", "1", "", ""], ["1", "1", "1", ""],
                                      ["", "1", "1", "1"], ["", "", "1", "1"]]
    refused(ValueError, "A", lambda: plot_sparsity([[1, 2], [3]]))
    refused(TypeError, "A", lambda: plot_sparsity(np.array([["a"]])))
    for name in ("in_shape", "out_shape"):
        refused(TypeError, name, plot_sparsity, C, **{name: math.inf})
        refused(TypeError, name, plot_sparsity, C, **{name: (1, math.nan)})
        refused(TypeError, name, plot_sparsity, C, **{name: grad_tensor([1, 4])})
    refused(TypeError, "row_text", lambda: plot_sparsity(C, row_text=5))
    refused(ValueError, "in_names", lambda: plot_sparsity(C, in_names="ab"))
    refused(ValueError, "annotate", lambda: plot_sparsity(np.eye(200), annotate=True))
    refused(TypeError, "ax", lambda: plot_sparsity(C, ax="left"))


@pytest.mark.parametrize("A", [np.zeros((0, 5)), np.zeros((1, 0)), np.zeros((3, 3))])
def test_plot_sparsity_of_a_matrix_without_entries_says_so(A):
    ax = plot_sparsity(A)
    assert "no stored entries" in ax.get_title()
    assert f"{A.shape[0]}\u00d7{A.shape[1]}" in ax.get_title()


def test_plot_taps_names_bad_names_and_shapes():
    taps = conv_taps((1, 1, 3), (1, 4))
    refused(TypeError, "names", lambda: plot_taps(taps, 0))
    refused(TypeError, "names", lambda: plot_taps(taps, (1, 2, 3)))
    refused(ValueError, "names", lambda: plot_taps(taps, "xy"))
    refused(TypeError, "in_shape", lambda: plot_taps(taps, in_shape=math.inf))
    refused(ValueError, "out_shape", lambda: plot_taps(taps, out_shape=(1, 10**9, 10**9)))


def test_plot_taps_labels_a_large_matrix_without_a_dense_grid():
    from convmat.plot_matrices import tap_view

    taps = conv_taps((1, 1, 3, 3), (1, 40, 40), padding=1)
    A, labels, _, _ = tap_view(taps, None, True, None, None, None, annotate=False)
    assert labels.shape == (taps.nnz,)  # one label per stored entry, not 1600 x 1600
    # C.T's entry (i, j) is C's (j, i), with its tap
    C, grid = tap_view(taps, None, False, None, None, None, annotate=False)[:2]
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    back = dict(zip(zip(np.repeat(np.arange(C.shape[0]), np.diff(C.indptr)).tolist(),
                        C.indices.tolist()), grid))
    assert all(back[(j, i)] == lab for i, j, lab in zip(rows.tolist(), A.indices.tolist(),
                                                        labels))
    ax = plot_taps(taps)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"w[{r},{c}]" for r in range(3) for c in range(3)]


@pytest.mark.parametrize("strides, kind", [(0, TypeError), ((1, 0), ValueError),
                                           ((), ValueError), ((1, 2.0), TypeError),
                                           ((2**63,), ValueError), ([[1, 2]], ValueError),
                                           (np.zeros((3, 3)), TypeError)])
def test_plot_stride_comparison_names_strides(strides, kind):
    refused(kind, "strides", lambda: plot_stride_comparison((1, 1, 3), (1, 5),
                                                            strides=strides))


def test_plot_pairs_name_weight_and_input_shape():
    for plot in (plot_stride_comparison, plot_transpose_pair):
        refused(ValueError, "weight", plot, [[1, 2], [3]], (1, 5))
        refused(TypeError, "input_shape", plot, (1, 1, 3), 5)
        refused(TypeError, "input_shape", plot, (1, 1, 3), None)
        refused(ValueError, "in_names", plot, (1, 1, 3), (1, 5), in_names="abc")
    refused(TypeError, "output_padding",
            lambda: plot_transpose_pair((1, 1, 3), (1, 4), stride=2, output_padding=0.5))
    refused(TypeError, "output_size",
            lambda: plot_transpose_pair((1, 1, 3), (1, 4), stride=2, output_size=4))


def test_plot_before_after_reads_tensors_and_names_its_maps():
    fig = plot_before_after(grad_tensor([[1, 2], [3, 4]]), grad_tensor(np.ones((4, 4))))
    assert cell_texts(fig.axes[0], (2, 2)) == [["1", "2"], ["3", "4"]]
    refused(ValueError, "before", lambda: plot_before_after((), np.ones(4)))
    refused(ValueError, "before", lambda: plot_before_after(np.zeros((1, 0)), np.ones(4)))
    refused(TypeError, "after", lambda: plot_before_after(np.ones(2), 1 + 2j))
    refused(ValueError, "after", lambda: plot_before_after(np.ones(2), [[1, 2], [3]]))
    refused(ValueError, "after", lambda: plot_before_after(np.ones(2), np.ones((1000, 2))))
    refused(ValueError, "block", lambda: plot_before_after(np.ones(2), np.ones(4), block=0))
    refused(TypeError, "ax", lambda: plot_before_after(np.ones(2), np.ones(4), ax=[1, 2]))


def test_mechanism_pictures_read_tensors_that_require_grad():
    expected = [t.get_text() for t in
                plot_conv_windows([1, 2, 3], [1, 2, 3, 4], padding=1).axes[2].texts]
    fig = plot_conv_windows(grad_tensor([1, 2, 3]), grad_tensor([1, 2, 3, 4]), padding=1)
    assert [t.get_text() for t in fig.axes[2].texts] == expected == ["8", "14", "20", "11"]
    fig = plot_conv_transpose_stamps(grad_tensor([1, 2, 3]), grad_tensor([1, 2]), stride=2)
    assert [t.get_text() for t in fig.axes[3].texts] == ["1", "2", "3+2", "5", "4", "6"]
    fig = plot_max_unpooling(grad_tensor([5, 7]), [1, 2], 2)
    assert [t.get_text() for t in fig.axes[2].texts] == ["0", "5", "7", "0"]


@pytest.mark.parametrize("plot", [plot_conv_windows, plot_conv_transpose_stamps])
def test_mechanism_pictures_name_their_arguments(plot):
    w, x = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    for name in ("stride", "padding", "dilation"):
        refused(TypeError, name, plot, w, x, **{name: None})
        refused(TypeError, name, plot, w, x, **{name: 1.5})
    refused(ValueError, "padding", lambda: plot(w, x, padding=10**4))
    refused(ValueError, "stride", lambda: plot(w, x, stride=0))
    refused(ValueError, "weight_or_kernel", lambda: plot(0, x))
    refused(ValueError, "weight_or_kernel", lambda: plot((10**9,), x))
    refused(TypeError, "weight_or_kernel", lambda: plot(None, x))
    refused(ValueError, "weight_or_kernel", lambda: plot([[1, 2], [3]], x))
    refused(ValueError, "x", lambda: plot(w, []))
    refused(TypeError, "x", lambda: plot(w, ["a", "b"]))


def test_plot_conv_windows_names_a_filter_wider_than_the_padded_input():
    refused(ValueError, "weight_or_kernel", lambda: plot_conv_windows(9, np.ones(4)))


def test_plot_max_unpooling_refuses_a_zero_kernel_by_name():
    refused(ValueError, "kernel_size", lambda: plot_max_unpooling([5, 7], [1, 2], 0))
    refused(ValueError, "kernel_size", lambda: plot_max_unpooling([5, 7], [1, 2], (0,)))
    refused(ValueError, "stride", lambda: plot_max_unpooling([5, 7], [1, 2], 2, stride=0))
    refused(ValueError, "stride", lambda: plot_max_unpooling([5, 7], [1, 2], 2,
                                                             stride=10**6))
    refused(ValueError, "indices", lambda: plot_max_unpooling([5, 7], [[1, 2], [3]], 2))
    refused(TypeError, "indices", lambda: plot_max_unpooling([5, 7], [1.0, 2.0], 2))


@pytest.mark.parametrize("call", [
    lambda **kw: plot_sparsity(conv_matrix(np.ones((1, 1, 3)), (1, 5)), **kw),
    lambda **kw: plot_stride_comparison(np.ones((1, 1, 3)), (1, 5), **kw),
    lambda **kw: plot_transpose_pair(np.ones((1, 1, 3)), (1, 5), **kw),
    lambda **kw: plot_conv_windows(np.ones(3), np.ones(4), **kw),
])
def test_a_title_is_text_and_an_ax_is_an_axes(call):
    with pytest.raises(TypeError, match=r"title must be a string \(or None\), got title=True"):
        call(title=True)
    with pytest.raises(TypeError, match=r"title must be a string .* got title=array"):
        call(title=np.zeros(2))
    with pytest.raises(TypeError, match=r"ax must be .*matplotlib Axes, got ax='left'"):
        call(ax="left")
