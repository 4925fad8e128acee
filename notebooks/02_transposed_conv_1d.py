# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. The 1-D transposed convolution of the article's Fig. 7, from its matrix
#
# The article: *"Suppose we have 2×1 input, 3×1 filter, and transpose convolution with the
# stride of 2. Then the output of the operation has the size of 5×1, which is obtained by
# copying each input value weighted by the filter, summing the overlaps."* With input
# `[a, b]` and filter `[x, y, z]`, the five outputs are `ax, ay, az+bx, by, bz`.

# %%
import numpy as np

np.set_printoptions(precision=4, suppress=True, linewidth=110)
try:  # torch is optional: only the comparisons with PyTorch need it
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None
    print("PyTorch is not installed: the comparisons with torch are skipped.")
from convmat import (
    conv_matrix,
    conv_transpose_matrix,
    conv_transpose_output_shape,
    conv_transpose_taps,
)
from convmat.plot import plot_stride_comparison, plot_taps

# %% [markdown]
# ## The matrix, symbolically
#
# `conv_transpose_taps` gives the matrix without its values: which filter tap sits in each
# entry. Labelled with the article's names, row *j* of the matrix reads off output *j*.

# %%
taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=2)   # weight shape (C_in, C_out, 3)
plot_taps(taps, "xyz", in_shape=(1, 2), out_shape=(1, 5), in_names="ab",
          title="Fig. 7: [a, b] through [x, y, z] at stride 2 → 5 outputs")

# %%
grid = np.full(taps.shape, "", dtype=object)
grid[taps.rows(), taps.indices] = taps.tap_labels("xyz")
outputs = [" + ".join(f"{n}{t}" for n, t in zip("ab", row) if t) for row in grid]
print(outputs)
assert outputs == ["ax", "ay", "az + bx", "by", "bz"]      # the article's Fig. 7

# %% [markdown]
# ## The matrix, with numbers
#
# With `[a, b] = [1, 10]` and `[x, y, z] = [1, 2, 3]`, the matrix applied to the input is
# the same as the article's recipe: copy each input value weighted by the filter, shift by
# the stride, sum the overlaps.

# %%
w = np.array([[[1., 2., 3.]]])
T = conv_transpose_matrix(w, (1, 2), stride=2)
print(T.toarray())
a_b = np.array([1., 10.])

def by_hand(inputs, filt, stride):
    out = np.zeros((len(inputs) - 1) * stride + len(filt))
    for i, v in enumerate(inputs):
        out[i * stride : i * stride + len(filt)] += v * filt   # copy, weighted; overlaps add
    return out

print("T @ [a, b]  =", T @ a_b)
print("by hand     =", by_hand(a_b, w[0, 0], 2))

# %% [markdown]
# ## Watching the stamps add up
#
# `convmat.animation.animate_conv` draws the recipe one input at a time: frame *i* adds
# the stamp of input *i* (its value times the filter, at `i · stride`), which is column *i*
# of the matrix, to the running sum. Press play below; `save_animation(anim, "fig7.gif")`
# writes the same frames as a GIF, and `convmat.animation.animate_conv(w, 5, stride=2)`
# (no `transpose`) slides the window of the convolution instead, row by row of `C`.

# %%
from convmat.animation import animate_conv

anim = animate_conv(w, (1, 2), stride=2, transpose=True, x=a_b, interval=1500)
print("running sum after each stamp:", [step.result.tolist() for step in anim.steps])
anim

# %% [markdown]
# ## Stride 1 gives 4 outputs
#
# *"Note that if the stride is one, then the output size becomes 4×1."* Right: the output
# size of a transposed convolution is `O = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1`,
# here `(2 − 1)·1 + 3 = 4`, against `(2 − 1)·2 + 3 = 5` at stride 2.

# %%
for s in (1, 2):
    print(f"stride {s}:", conv_transpose_output_shape((1, 1, 3), (1, 2), stride=s))
plot_stride_comparison((1, 1, 3), (1, 2), transpose=True)

# %% [markdown]
# At stride 1 the copies of the filter overlap on two outputs each (`ay + bx`,
# `az + by`), at stride 2 on one (`az + bx`).
#
# ## It is the transpose of a convolution
#
# The same 5×2 matrix is the transpose of the stride-2 convolution of a 5-element input
# with the same filter — the subject of the next notebook.

# %%
C = conv_matrix(w, (1, 5), stride=2)
print(C.toarray())
print("T == C.T:", np.array_equal(T.toarray(), C.T.toarray()))

# %% [markdown]
# ## PyTorch agrees

# %%
if torch is not None:
    for s in (1, 2):
        y = F.conv_transpose1d(torch.from_numpy(a_b)[None, None], torch.from_numpy(w),
                               stride=s)
        print(f"stride {s}: torch", y[0, 0].numpy(), " matrix",
              conv_transpose_matrix(w, (1, 2), stride=s) @ a_b)
else:
    print("skipped: PyTorch is not installed")
