"""convmat.explore: the controls set from code change what is drawn (the formula, the
matrix, the error message), and every op shows the library's own matrix."""

import re
import sys

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from convmat import (  # noqa: E402
    avg_pool_matrix,
    bed_of_nails_matrix,
    conv_matrix,
    conv_transpose_matrix,
    interpolate_matrix,
    max_pool_selection,
    max_unpool_matrix,
)
from convmat.explore import OPS, Explorer, explore  # noqa: E402


def _value_of(formula):
    """Evaluate each ``... = O`` of a formula text and check it gives the O it states."""
    for part in formula.split(";"):
        expr, stated = part.split("(scale")[0].rsplit("=", 1)
        expr = expr.split("=", 1)[1]
        expr = expr.replace("\u2212", "-").replace("\u00b7", "*")
        assert eval(expr, {}) == int(stated), part  # the arithmetic shown is right
    return int(stated)


def _drawn_matrix_shape(ex):
    """The shape of the cell image of the first panel: the matrix as drawn."""
    return ex.figure.axes[0].images[0].get_array().shape[:2]


def test_the_brief_example_formula_and_matrix():
    ex = explore("conv", size=5, kernel=3, stride=2, padding=1)
    assert isinstance(ex, Explorer) and ex.error is None
    assert ex.formula == "O = (5 + 2\u00b71 \u2212 3)//2 + 1 = 3"
    w = np.array([[[1.0, 2.0, 3.0]]])
    expected = conv_matrix(w, (1, 5), stride=2, padding=1)
    np.testing.assert_array_equal(ex.view.matrix.toarray(), expected.toarray())
    assert _drawn_matrix_shape(ex) == (3, 5)
    assert "3\u00d75" in ex.figure.axes[0].get_title()
    assert "O = (5 + 2\u00b71 \u2212 3)//2 + 1 = 3" in ex._formula.value


def test_moving_a_slider_redraws():
    ex = explore("conv", size=5, kernel=3, stride=2, padding=1)
    ex.controls["stride"].value = 1
    assert ex.formula == "O = (5 + 2\u00b71 \u2212 3)//1 + 1 = 5"
    assert _drawn_matrix_shape(ex) == (5, 5)
    ex.controls["dilation"].value = 2  # effective kernel 5
    assert ex.formula == "O = (5 + 2\u00b71 \u2212 2\u00b7(3 \u2212 1) \u2212 1)//1 + 1 = 3"
    assert _value_of(ex.formula) == 3


def test_transposed_conv_is_the_article_fig_7():
    ex = explore("conv", transpose=True, size=2, kernel=3, stride=2, padding=0)
    assert ex.formula == ("O = (2 \u2212 1)\u00b72 \u2212 2\u00b70 + 1\u00b7(3 \u2212 1) + 0 "
                          "+ 1 = 5")
    w = np.array([[[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(ex.view.matrix.toarray(),
                                  conv_transpose_matrix(w, (1, 2), stride=2).toarray())
    texts = {t.get_text() for t in ex.figure.axes[0].texts}
    assert {"x", "y", "z"} <= texts


def test_an_invalid_combination_shows_the_library_message():
    ex = explore("conv_transpose", size=3, kernel=3, stride=2)
    ex.controls["output_padding"].value = 2  # torch: output_padding < max(stride, dilation)
    assert ex.view is None and ex.formula == ""
    assert ex.error.startswith("output_padding must be smaller than either stride or "
                               "dilation, got output_padding=(2,)")
    assert "output_padding must be smaller" in ex._formula.value
    assert any("output_padding must be smaller" in t.get_text() for t in ex.figure.texts)
    ex.controls["stride"].value = 3  # now valid again: the picture comes back
    assert ex.error is None and _value_of(ex.formula) == 9


def test_pooling_padding_over_half_the_kernel_is_refused():
    ex = explore("maxpool", size=4, kernel=2, stride=2, padding=0)
    ex.controls["padding"].value = 2
    assert "padding must be at most half the kernel size" in ex.error


def _expected(op, ndim, size, kernel, stride, padding, dilation, output_padding):
    """The library's matrix for the explorer's convention (filter 1..K; pooled map)."""
    shape = (1,) + (size,) * ndim
    w = np.arange(1.0, kernel**ndim + 1).reshape((1, 1) + (kernel,) * ndim)
    if op == "conv":
        return conv_matrix(w, shape, stride=stride, padding=padding, dilation=dilation)
    if op == "conv_transpose":
        return conv_transpose_matrix(w, shape, stride=stride, padding=padding,
                                     dilation=dilation, output_padding=output_padding)
    if op == "avgpool":
        return avg_pool_matrix(shape, kernel, stride=stride, padding=padding)
    if op == "nearest":
        return interpolate_matrix(shape, scale_factor=stride, mode="nearest")
    if op == "bed-of-nails":
        return bed_of_nails_matrix(shape, stride)
    return None


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("op", list(OPS))
def test_every_op_draws_the_library_matrix(op, ndim):
    settings = dict(size=4, kernel=2, stride=2, padding=1, dilation=1, output_padding=1)
    ex = explore(op, dims=ndim, **settings)
    assert ex.error is None, ex.error
    expected = _expected(op, ndim, **settings)
    if op in ("maxpool", "maxunpool"):  # data-dependent: the map is the article's in 2-D
        S, idx = max_pool_selection(ex.view.data["x"], 2, stride=2, padding=1)
        expected = S if op == "maxpool" else max_unpool_matrix(idx, 2, stride=2, padding=1)
    np.testing.assert_array_equal(ex.view.matrix.toarray(), expected.toarray())
    assert ex.view.matrix.shape == (np.prod(ex.view.out_shape), np.prod(ex.view.in_shape))
    assert _value_of(ex.formula) == ex.view.out_shape[1]
    # The first panel draws the matrix, the second its transpose.
    n_out, n_in = ex.view.matrix.shape
    assert f"{n_out}\u00d7{n_in}" in ex.figure.axes[0].get_title()
    assert f"{n_in}\u00d7{n_out}" in ex.figure.axes[1].get_title()


def test_controls_an_op_does_not_read_are_disabled():
    ex = explore("nearest")
    assert ex.controls["kernel"].disabled and not ex.controls["stride"].disabled
    assert ex.controls["stride"].description == "scale"
    ex.controls["op"].value = "conv"
    assert not ex.controls["kernel"].disabled
    assert ex.controls["stride"].description == "stride"


def test_set_changes_several_controls_with_one_redraw():
    ex = explore("conv")
    calls = []
    update = ex.update
    ex.update = lambda: (calls.append(1), update())
    ex.set(size=7, kernel=5, stride=1, padding=2)
    assert len(calls) == 1 and ex.formula == "O = (7 + 2\u00b72 \u2212 5)//1 + 1 = 7"


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(op="bogus"), ValueError, "op must be one of"),
    (dict(op="maxpool", transpose=True), ValueError, "transpose=True applies to op='conv'"),
    (dict(speed=3), TypeError, "unknown control 'speed'"),
    (dict(stride=0), ValueError, "stride must be an integer of at least 1"),
    (dict(dims=3), ValueError, "dims must be 1 or 2"),
])
def test_bad_initial_values_are_refused(kwargs, error, text):
    with pytest.raises(error, match=re.escape(text)):
        explore(**kwargs)


def test_a_large_initial_value_widens_its_slider():
    ex = explore("conv", size=20)
    assert ex.controls["size"].value == 20 and ex.controls["size"].max == 20


def test_without_ipywidgets_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets fails
    with pytest.raises(ImportError, match=re.escape('pip install "convmat[notebooks]"')):
        explore()


# --------------------------------------------------------------------------- hostile input
_BUILD = dict(op="conv", ndim=1, size=5, kernel=3, stride=1, padding=0, dilation=1,
              output_padding=0)


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(op=np.array(["conv"])), TypeError, "op"),
    (dict(ndim=1.5), TypeError, "ndim"),
    (dict(ndim=3), ValueError, "ndim"),
    (dict(size=2**62), ValueError, "size"),  # refused before the matrix is built
    (dict(size=1000, ndim=2), ValueError, "size"),  # a 10**6 x 10**6 matrix
    (dict(kernel=2.0), TypeError, "kernel"),
    (dict(kernel=np.ones(3, bool)), TypeError, "kernel"),
    (dict(op="nearest", stride=0), ValueError, "stride"),  # not interpolate's scale_factor
    (dict(op="nearest", stride=10**12), ValueError, "stride"),  # O = 5 * 10**12
    (dict(output_padding=np.ones(2)), TypeError, "output_padding"),  # conv ignored it
])
def test_hostile_build_arguments_are_named(kwargs, error, name):
    from convmat.explore import build

    with pytest.raises(error) as err:
        build(**dict(_BUILD, **kwargs))
    assert name in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(op={"a": 1}), TypeError, "op"),  # was "unhashable type: 'dict'"
    (dict(dims=np.ones(2)), TypeError, "dims"),
    (dict(transpose=np.ones(3)), TypeError, "transpose"),
    (dict(size=10**9), ValueError, "size"),  # a slider up to 10**9 would be drawn
])
def test_hostile_explore_arguments_are_named(kwargs, error, name):
    with pytest.raises(error, match=name):
        explore(**kwargs)
