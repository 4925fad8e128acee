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
# # 3. Why "transpose"? The convolution as a matrix `C`, the transposed convolution as `Cᵀ`
#
# The article *Unsampling: Unpooling and Transpose Convolution* answers its own question
# by writing a convolution as a matrix multiplication. Here is the answer first, in the
# example it ends with, stride 2:
#
# **the stride-2 convolution of 5 inputs with the filter `[x, y, z]` is a 2×5 matrix `C`;
# its transpose `Cᵀ` (5×2) maps 2 inputs `[a, b]` to the 5 outputs `ax, ay, az+bx, by,
# bz` — exactly the transposed convolution of the article's Fig. 7.**

# %%
import matplotlib.pyplot as plt
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
    conv_output_shape,
    conv_taps,
    conv_transpose_matrix,
    conv_transpose_output_shape,
    conv_transpose_taps,
)
from convmat.plot import plot_sparsity, plot_stride_comparison, plot_taps, plot_transpose_pair

w = np.array([[[1., 2., 3.]]])           # [x, y, z] = [1, 2, 3] where numbers are needed

# %%
taps_C = conv_taps((1, 1, 3), (1, 5), stride=2)       # where x, y, z sit in C
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained",
                                  width_ratios=[6, 4])
plot_taps(taps_C, in_shape=(1, 5), out_shape=(1, 2), ax=left,
          title="C: the stride-2 convolution of 5 inputs (2×5)")
plot_taps(taps_C, transpose=True, in_shape=(1, 2), out_shape=(1, 5), in_names="ab", ax=right,
          title="Cᵀ (5×2): inputs [a, b], the article's Fig. 7");

# %% [markdown]
# The right-hand matrix is the left one transposed, nothing else. Read it row by row:
# output 2 is `az + bx`, the one place where the two copies of the filter overlap. The
# tap structure of the transposed convolution says the same in text:

# %%
taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=2)
grid = np.full(taps.shape, "", dtype=object)
grid[taps.rows(), taps.indices] = taps.tap_labels("xyz")
print([" + ".join(f"{n}{t}" for n, t in zip("ab", row) if t) for row in grid])

# %% [markdown]
# With numbers, the transposed convolution *is* the transpose: `conv_transpose_matrix`
# of the 2-element input equals `conv_matrix(...).T` of the 5-element one, entry for
# entry, and PyTorch's `conv_transpose1d` is `Cᵀ @ [a, b]`.

# %%
C = conv_matrix(w, (1, 5), stride=2)
T = conv_transpose_matrix(w, (1, 2), stride=2)
print("C =\n", C.toarray())
print("conv_transpose_matrix == C.T:", np.array_equal(T.toarray(), C.T.toarray()))
a_b = np.array([1., 10.])
print("C.T @ [1, 10] =", C.T @ a_b)
if torch is not None:
    y = F.conv_transpose1d(torch.from_numpy(a_b)[None, None], torch.from_numpy(w), stride=2)
    print("torch          ", y[0, 0].numpy())

# %% [markdown]
# ## Why the transpose, and not something else
#
# `Cᵀ` is the **adjoint** of `C`: `⟨C u, v⟩ = ⟨u, Cᵀ v⟩` for every `u`, `v`. That is why a
# transposed convolution is what the backward pass of a convolution computes (the gradient
# with respect to the input is `Cᵀ g`), and why it goes back from the output's shape to
# the input's.

# %%
rng = np.random.default_rng(0)
u, v = rng.standard_normal(5), rng.standard_normal(2)
print("<C u, v> =", (C @ u) @ v, "   <u, C.T v> =", u @ (C.T @ v))

# %% [markdown]
# ### Transpose is not inverse
#
# `Cᵀ` undoes the *shape* change of `C`, not `C` itself: `Cᵀ C` is not the identity (and a
# 2×5 matrix has no inverse at all). Transposed convolutions are learnable upsamplers, not
# deconvolutions.

# %%
print((C.T @ C).toarray())

# %% [markdown]
# ## Stride 1: the same filter, the same story
#
# The article first writes the stride-1 convolution of a 4-element input as a matrix `X`
# whose output has 4 elements, "the same as input size". With torch's arguments that is
# `padding=1` (`"same"`): `X` is 4×4 and so is `Xᵀ`. (What the article then says about
# `Xᵀ` is read in the appendix.)

# %%
plot_transpose_pair((1, 1, 3), (1, 4), padding=1)

# %% [markdown]
# Side by side, stride 1 and stride 2 for the transposed convolution of `[a, b]`: 4
# outputs against 5 (*"if the stride is one, then the output size becomes 4×1"*). At
# stride 1 the copies of the filter overlap on two outputs, at stride 2 on one.

# %%
plot_stride_comparison((1, 1, 3), (1, 2), transpose=True)

# %% [markdown]
# ## 2-D: the same transpose, with a block structure
#
# The article's strided convolution reduces a 4×4 map to 2×2 with a 3×3 filter at stride
# 2. That needs `padding=1`: without it, a 3×3 window fits a 4×4 image at only one
# position per axis (`(4 − 3) // 2 + 1 = 1`).

# %%
for p in (0, 1):
    print(f"padding={p}:", conv_output_shape((1, 1, 3, 3), (1, 4, 4), stride=2, padding=p))

# %% [markdown]
# In 2-D the matrix has a block structure: one block row per output image row, one block
# column per input image row (the thin lines), each block a 1-D convolution matrix. Stride
# 2 keeps every other row and every other column of the stride-1 matrix.

# %%
plot_stride_comparison((1, 1, 3, 3), (1, 6, 6), padding=1)

# %%
C2 = conv_matrix(np.ones((1, 1, 3, 3)), (1, 6, 6), stride=2, padding=1)
plot_sparsity(C2.T, in_shape=(1, 3, 3), out_shape=(1, 6, 6),
              title="Cᵀ of the stride-2 conv: the transposed conv 3×3 → 6×6", annotate=False)

# %% [markdown]
# And PyTorch's `conv_transpose2d` is that transpose (`output_padding=1` picks the 6×6
# output among the sizes that a stride-2 convolution maps to 3×3):

# %%
if torch is not None:
    w2 = rng.standard_normal((1, 1, 3, 3)); y = rng.standard_normal((1, 3, 3))
    C2 = conv_matrix(w2, (1, 6, 6), stride=2, padding=1)
    ref = F.conv_transpose2d(torch.from_numpy(y)[None], torch.from_numpy(w2), stride=2,
                             padding=1, output_padding=1)[0].numpy().ravel()
    print("conv_transpose2d == C.T @ y:", np.allclose(ref, C2.T @ y.ravel()))
else:
    print("skipped: PyTorch is not installed")

# %% [markdown]
# ---
# ## Appendix: reading the article's stride-1 passage exactly
#
# The article writes the stride-1 convolution of a 4×1 input with the 3×1 filter as a
# matrix `X` with a 4×1 output, then says that multiplying by `Xᵀ` gives a **5×1** output
# from a 4×1 input. Taken literally the two statements cannot both hold: with padding 1,
# `X` is 4×4 and `Xᵀ` gives 4 outputs. Three exact readings:
#
# 1. **The padding written into the matrix** (as CS231n draws it): `X` acts on the padded
#    input `[0, a, b, c, d, 0]`, so it is 4×6, and `Xᵀ` gives **6** outputs, the two at
#    the ends landing on the padding. A transposed convolution with `padding=1` crops
#    exactly those two.
# 2. **Padding on one side only** (one zero before the input, none after): `X` is 4×5 and
#    `Xᵀ` maps 4 inputs to 5 outputs, the shapes the article states. In torch terms it is
#    `conv_transpose1d` with `padding=0` (6 outputs) without its first output.
# 3. **No torch argument set gives 4 → 5 at stride 1 and dilation 1.** The output size is
#    `O = (4 − 1)·s − 2p + d·(3 − 1) + output_padding + 1`; at `s = d = 1`,
#    `output_padding` must be 0 (it must be smaller than the stride or the dilation), so
#    `O = 6 − 2p` is even.

# %%
# Reading 1: the 4×6 matrix on the padded input
X_padded = conv_matrix(w, (1, 6))                  # 'valid' on the 6 padded positions
print("X on [0,a,b,c,d,0]:", X_padded.shape); print(X_padded.toarray())
print("cropping the 2 padding outputs of X.T gives conv_transpose(padding=1):",
      np.array_equal(X_padded.T.toarray()[1:-1],
                     conv_transpose_matrix(w, (1, 4), padding=1).toarray()))

# %%
# Reading 2: one zero before the input only -> X is 4×5, X.T is 5×4
X_one_sided = conv_matrix(w, (1, 5), padding=1)[:4]   # drop the output that reads the right pad
print(X_one_sided.toarray())
print("X.T = conv_transpose(padding=0) without its first output:",
      np.array_equal(X_one_sided.T.toarray(), conv_transpose_matrix(w, (1, 4)).toarray()[1:]))

# %%
# Reading 3: at stride 1 and dilation 1 the output size is 6 - 2p, never 5
print({p: conv_transpose_output_shape((1, 1, 3), (1, 4), padding=p)[1] for p in range(3)})

# %% [markdown]
# A 3-tap filter does map 4 inputs to 5 outputs with other arguments, e.g. stride 2 and
# padding 2: `(4 − 1)·2 − 2·2 + 2 + 1 = 5`, the transpose of the stride-2 convolution of
# a 5-element input padded by 2.

# %%
print(conv_transpose_output_shape((1, 1, 3), (1, 4), stride=2, padding=2))
plot_transpose_pair((1, 1, 3), (1, 5), stride=2, padding=2,
                    title="A 3-tap filter, 4 inputs → 5 outputs: stride 2, padding 2")
