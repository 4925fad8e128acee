"""Hypothesis strategies for convolution configurations, shared by the operator tests."""

import numpy as np
from hypothesis import strategies as st


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
