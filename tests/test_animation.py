"""convmat.animation: every frame is exact (the window of frame i is row i of conv_matrix,
the stamps add up to torch's conv_transpose), the article's Fig. 7 is drawn, files are
written."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from PIL import Image

from convmat import conv_matrix, conv_transpose_matrix
from convmat.animation import animate, animate_conv, save_animation


@st.composite
def geometries(draw, transpose):
    """A single-channel 1-D or 2-D (transposed) convolution, small enough to animate."""
    ndim = draw(st.integers(1, 2))
    per_axis = st.integers(1, 6 if ndim == 1 else 4)
    size = tuple(draw(per_axis) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    kw = dict(stride=tuple(draw(st.integers(1, 3)) for _ in range(ndim)),
              padding=tuple(draw(st.integers(0, 2)) for _ in range(ndim)),
              dilation=tuple(draw(st.integers(1, 2)) for _ in range(ndim)))
    if transpose:
        kw["output_padding"] = tuple(draw(st.integers(0, max(s, d) - 1))
                                     for s, d in zip(kw["stride"], kw["dilation"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((1, 1, *kernel))
    x = rng.standard_normal(size)
    return weight, x, kw


def _animation(weight, x, kw, transpose):
    try:
        return animate_conv(weight, x.shape, x=x, transpose=transpose, **kw)
    except ValueError:  # a geometry torch rejects, or too big to draw
        assume(False)


@given(geometries(transpose=False))
def test_conv_frame_i_is_row_i_of_the_matrix_and_torch_output_i(case):
    torch = pytest.importorskip("torch")
    weight, x, kw = case
    anim = _animation(weight, x, kw, transpose=False)
    C = conv_matrix(weight, (1, *x.shape), **kw)
    conv = getattr(torch.nn.functional, f"conv{x.ndim}d")
    expected = conv(torch.from_numpy(x)[None, None], torch.from_numpy(weight), **kw)
    expected = expected.numpy().ravel()
    assert len(anim.steps) == C.shape[0] == expected.size
    for i, step in enumerate(anim.steps):
        row = C[[i]]
        # The window's taps that fall inside the input are the row's stored entries ...
        np.testing.assert_array_equal(np.sort(step.positions), row.indices)
        np.testing.assert_array_equal(row[[0], step.positions], weight.ravel()[step.taps])
        # ... and the value it writes is torch's.
        np.testing.assert_allclose(step.value, expected[i], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(step.result.ravel()[: i + 1], expected[: i + 1],
                                   rtol=1e-12, atol=1e-12)
        assert np.isnan(step.result.ravel()[i + 1:]).all()


@given(geometries(transpose=True))
def test_transposed_stamps_add_up_to_torch_conv_transpose(case):
    torch = pytest.importorskip("torch")
    weight, x, kw = case
    anim = _animation(weight, x, kw, transpose=True)
    T = conv_transpose_matrix(weight, (1, *x.shape), **kw).tocsc()
    conv_t = getattr(torch.nn.functional, f"conv_transpose{x.ndim}d")
    expected = conv_t(torch.from_numpy(x)[None, None], torch.from_numpy(weight), **kw)
    expected = expected[0, 0].numpy()
    assert len(anim.steps) == T.shape[1] == x.size
    for i, step in enumerate(anim.steps):
        col = T[:, [i]]
        # The stamp's kept positions are column i's stored entries, holding its taps.
        np.testing.assert_array_equal(np.sort(step.positions), col.indices)
        np.testing.assert_array_equal(col[step.positions, [0]], weight.ravel()[step.taps])
        assert step.value == x.flat[i]
    # After the last stamp, the kept part of the running sum is F.conv_transpose.
    s = anim.setup
    kept = anim.steps[-1].result[tuple(slice(b, b + o) for b, o in zip(s.before, s.out))]
    np.testing.assert_allclose(kept, expected, rtol=1e-12, atol=1e-12)
    # Cells outside the kept part are only ever what stamps put there: all of it is the
    # uncropped sum, so the total equals sum_i x_i * sum(w).
    np.testing.assert_allclose(anim.steps[-1].result.sum(), x.sum() * weight.sum(),
                               rtol=1e-9, atol=1e-9)


def _texts(anim):
    return {t.get_text() for t in anim.figure.axes[0].texts}


def test_fig_7_of_the_article_frame_by_frame():
    # Inputs [a, b] = [1, 2], filter [x, y, z] = [1, 2, 3], stride 2: by hand, the stamps
    # a*[x, y, z] at 0..2 and b*[x, y, z] at 2..4 give ax, ay, az+bx, by, bz.
    anim = animate_conv(3, 2, stride=2, transpose=True)
    assert [s.result.tolist() for s in anim.steps] == [[1, 2, 3, 0, 0], [1, 2, 5, 4, 6]]
    anim.draw_frame(1)
    assert {"ax", "ay", "az+bx", "by", "bz"} <= _texts(anim)
    caption = anim.figure.texts[1].get_text()
    assert caption == ("step 2/2: b = 2 adds b\u00b7[x, y, z] = [2, 4, 6] at positions "
                       "2..4 of the uncropped output")


def test_conv_caption_is_the_article_arithmetic():
    # out[0] of [1, 2, 3, 4] padded by 1 with [x, y, z] = [1, 2, 3]: 0*1 + 1*2 + 2*3 = 8.
    anim = animate_conv(3, 4, padding=1)
    anim.draw_frame(0)
    assert anim.figure.texts[1].get_text() == (
        "step 1/4: out[0] = x\u00b70 + y\u00b7a + z\u00b7b = 1\u00b70 + 2\u00b71 + "
        "3\u00b72 = 8")


def test_crop_and_output_padding_are_labelled():
    anim = animate_conv(3, 3, stride=2, padding=1, output_padding=1, transpose=True)
    anim.draw_frame(2)
    assert {"cropped", "output_padding"} <= _texts(anim)
    # torch: conv_transpose1d([1, 2, 3], [1, 2, 3], stride 2, padding 1, output_padding 1)
    # is the uncropped [1, 2, 5, 4, 9, 6, 9] without its first element.
    assert anim.steps[-1].result.tolist() == [1, 2, 5, 4, 9, 6, 9]


@pytest.mark.parametrize("kw", [dict(weight_or_kernel=3, input_shape=6, stride=2),
                                dict(weight_or_kernel=(2, 3), input_shape=(3, 4),
                                     transpose=True, stride=2)])
def test_cells_are_square_and_frames_are_written(tmp_path, kw):
    anim = animate_conv(**kw)
    png = anim.frame_png(len(anim.steps) - 1, tmp_path / "last.png", dpi=50)
    ax = anim.figure.axes[0]  # one Axes in cell units: a cell is as wide as it is tall
    (x0, y0), (x1, y1) = ax.transData.transform([(0, 0), (1, 1)])
    assert abs(x1 - x0) == pytest.approx(abs(y1 - y0), rel=1e-6)
    width, height = Image.open(png).size
    assert (width, height) == tuple(round(v * 50) for v in anim.figure.get_size_inches())
    gif = save_animation(anim, tmp_path / "anim.gif", dpi=40)
    with Image.open(gif) as im:
        assert im.n_frames == len(anim.steps)


def test_animate_takes_convmat_show_options_and_defaults():
    # convmat show conv: input 4, kernel 3, stride 1, padding 0 -> a 2x4 matrix.
    anim = animate("conv")
    w = np.array([[[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(anim.matrix.toarray(), conv_matrix(w, (1, 4)).toarray())
    anim = animate("conv", input=(2, 2), kernel=(2,), stride=(1, 2), transpose=True,
                   weight=[1, -1, 2, 0], values=[1, 2, 3, 4])
    w = np.array([1.0, -1, 2, 0]).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(
        anim.matrix.toarray(),
        conv_transpose_matrix(w, (1, 2, 2), stride=(1, 2)).toarray())


@pytest.mark.parametrize("call, message", [
    (lambda: animate("maxpool"), "op='maxpool'"),
    (lambda: animate("conv", channels=2), "channels=2"),
    (lambda: animate("conv", input=(4,), stride=(1, 2)), "stride"),
    (lambda: animate("conv", kernel=(3,), weight=[1, 2]), "weight must give 3"),
    (lambda: animate_conv(3, (2, 2, 2)), "1-D and 2-D"),
    (lambda: animate_conv(3, 100), "too big to animate"),
    (lambda: animate_conv(5, 3), "kernel is larger than the padded input"),
    (lambda: animate_conv(3, 3, stride=2, output_padding=2, transpose=True),
     "output_padding must be smaller"),
    (lambda: animate_conv(3, 4, output_padding=1), "transposed convolution only"),
    (lambda: animate_conv(3, 4, x=[1, 2]), "x must hold 4 values"),
])
def test_bad_options_are_refused_with_the_library_message(call, message):
    with pytest.raises(ValueError, match=None) as err:
        call()
    assert message in str(err.value)


def test_save_animation_writes_gif_only(tmp_path):
    with pytest.raises(ValueError, match="must end in .gif"):
        save_animation(animate_conv(3, 3), tmp_path / "a.mp4")


# --------------------------------------------------------------------------- hostile input
# One hand-picked case per kind of bad argument: the error names the argument as the
# caller wrote it, on one line, before anything large is allocated.
_ANIM = dict(weight_or_kernel=3, input_shape=4)


def _tensor(*shape):
    torch = pytest.importorskip("torch")
    return torch.ones(*shape, requires_grad=True)


@pytest.mark.parametrize("call, error, name", [
    # a kernel of 10**12 taps was np.arange'd first: a MemoryError
    (lambda: animate_conv(10**12, 4, transpose=True), ValueError, "weight_or_kernel"),
    (lambda: animate_conv(np.zeros(0), 4), ValueError, "weight_or_kernel"),
    (lambda: animate_conv(3, 2.0), TypeError, "input_shape"),
    (lambda: animate_conv(3, True), TypeError, "input_shape"),
    (lambda: animate_conv(3, 4, padding=10**6, stride=10**7, dilation=10**5), ValueError,
     "padding"),  # one output, but a padded input of 2 million cells to draw
    (lambda: animate_conv(3, 4, transpose=np.ones(3, bool)), TypeError, "transpose"),
    (lambda: animate_conv(3, 4, output_padding=_tensor(3)), ValueError, "output_padding"),
    (lambda: animate_conv(3, 4, names=3), TypeError, "names"),
    (lambda: animate_conv(3, 4, interval=float("inf")), TypeError, "interval"),
    (lambda: animate_conv(3, 4, interval=0), ValueError, "interval"),
    (lambda: animate_conv(3, 4, cell=float("nan")), ValueError, "cell"),
    (lambda: animate_conv(3, 4, cell=5.0), ValueError, "cell"),
    (lambda: animate(np.array(["conv"])), TypeError, "op"),
    (lambda: animate("conv", input=1.5), TypeError, "input"),
    (lambda: animate("conv", kernel=10**200), ValueError, "kernel="),
    (lambda: animate("conv", stride=2.0), TypeError, "stride"),
    (lambda: animate("conv", values="3"), TypeError, "values"),
    (lambda: animate("conv", channels=np.ones(2)), TypeError, "channels"),
])
def test_hostile_animation_arguments_are_named(call, error, name):
    with pytest.raises(error) as err:
        call()
    message = str(err.value)
    assert name in message and "\n" not in message
    if name == "kernel=":  # animate's kernel, not animate_conv's weight_or_kernel
        assert "weight_or_kernel" not in message


@pytest.fixture(scope="module")
def small_anim():
    return animate_conv(3, (1, 4))


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(anim="not an animation"), TypeError, "anim"),
    (dict(path=None), TypeError, "path"),
    (dict(fps=0), ValueError, "fps"),  # was a ZeroDivisionError
    (dict(fps=-1), ValueError, "fps"),  # was an OverflowError in Pillow
    (dict(dpi=True), TypeError, "dpi"),
    (dict(dpi=1), ValueError, "dpi"),  # FreeType cannot draw labels under half a pixel
    (dict(dpi=10**200), ValueError, "dpi"),
])
def test_hostile_save_animation_arguments_are_named(small_anim, tmp_path, kwargs, error,
                                                    name):
    call = {"anim": small_anim, "path": tmp_path / "a.gif", **kwargs}
    with pytest.raises(error, match=name):
        save_animation(**call)
    assert not (tmp_path / "a.gif").exists()


def test_a_gif_too_large_is_refused_before_drawing(small_anim, tmp_path, monkeypatch):
    # 2 frames of 800x560 pixels at dpi=100 (8 x 5.6 inches): over a limit of 10**5
    monkeypatch.setattr("convmat._conv_steps.MAX_GIF_PIXELS", 10**5)
    with pytest.raises(ValueError, match="dpi=100"):
        save_animation(small_anim, tmp_path / "a.gif", dpi=100)


def test_long_names_at_the_lowest_dpi_are_still_drawn(tmp_path):
    # A 200-letter name shrank its label under half a pixel: FreeType's "invalid ppem".
    anim = animate_conv(3, 4, names=["a" * 200, "b", "c"], cell=0.1)
    png = anim.frame_png(0, tmp_path / "f.png", dpi=20)
    assert Image.open(png).size[0] > 0


def test_hostile_render_figures_arguments_are_named(tmp_path):
    from convmat.figures import render_figures

    with pytest.raises(TypeError, match="out"):
        render_figures(True)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="out"):  # was a FileExistsError
        render_figures(tmp_path / "file")
    with pytest.raises(ValueError, match="dpi"):  # was FreeType's "invalid ppem value"
        render_figures(tmp_path / "figs", dpi=1)
    with pytest.raises(TypeError, match="dpi"):
        render_figures(tmp_path / "figs", dpi=1.5)
