"""convmat.plot: every function draws under Agg, returns its Axes or Figure, sets a title
and axis labels, and writes the right tap in the right cell (checked against the matrices
worked by hand in *Unsampling: Unpooling and Transpose Convolution*)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from convmat import (  # noqa: E402
    conv_matrix,
    conv_taps,
    conv_transpose_matrix,
    conv_transpose_output_shape,
    conv_transpose_taps,
)
from convmat.plot import (  # noqa: E402
    coverage,
    plot_before_after,
    plot_coverage,
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
