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
# # 5. Checkerboard artefacts and coverage
#
# A transposed convolution writes each input pixel's weighted copy of the filter into the
# output, at steps of `stride`. When the kernel size is not a multiple of the stride, the
# copies overlap unevenly: some outputs receive contributions from more inputs than their
# neighbours. Odena, Dumoulin & Olah (*Deconvolution and Checkerboard Artifacts*, Distill
# 2016) showed that this produces the checkerboard patterns of many generated images.
#
# With the matrix `T` of the transposed convolution and an all-ones filter, `T @ 1` counts
# how many inputs write each output: the **coverage map**.

# %%
import matplotlib.pyplot as plt
import numpy as np

np.set_printoptions(precision=4, suppress=True, linewidth=110)
from convmat import conv_matrix, conv_transpose_matrix, interpolate_matrix
from convmat.plot import coverage, plot_coverage

# %% [markdown]
# ## 1-D: kernel 3 against kernel 4, stride 2

# %%
print("kernel 3:", coverage(3, 6, 2))
print("kernel 4:", coverage(4, 6, 2))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
plot_coverage(3, 6, 2, ax=axes[0]); plot_coverage(4, 6, 2, ax=axes[1]);

# %% [markdown]
# Kernel 3 at stride 2 alternates 1, 2, 1, 2 inside the signal; kernel 4 gives 2 everywhere
# away from the borders. The article's Fig. 7 (2 inputs, 3 taps, stride 2: `ax, ay, az+bx,
# by, bz`) is the smallest case: the middle output sums two products, its neighbours one.
#
# ## 2-D: the checkerboard

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 6.2), layout="constrained")
plot_coverage((3, 3), (4, 4), 2, ax=axes[0]); plot_coverage((4, 4), (4, 4), 2, ax=axes[1]);

# %% [markdown]
# In 2-D the two axes multiply: counts 1, 2 and 4 in a grid. The pattern is there even
# with learned weights, unless they are exactly balanced: below, a random positive 3×3
# filter upsamples a *constant* image.

# %%
rng = np.random.default_rng(0)
w = rng.uniform(0.5, 1.5, size=(1, 1, 3, 3))
T = conv_transpose_matrix(w, (1, 16, 16), stride=2)
flat = T @ np.ones(16 * 16)
out = flat.reshape(33, 33)
fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
ax.imshow(out[2:-2, 2:-2], cmap="gray")
ax.set_title("conv_transpose (3×3, stride 2) of a constant image:\n"
             "random positive filter, borders cropped")
ax.set_xlabel("output column"); ax.set_ylabel("output row");

# %% [markdown]
# ## Kernel 4 with stride 2 overlaps evenly, stride 3 with kernel 3 not at all

# %%
for k, s in [(4, 2), (3, 3), (2, 2), (5, 2), (6, 3)]:
    c = coverage(k, 8, s)
    inner = c[k - 1 : len(c) - k + 1]
    print(f"kernel {k}, stride {s}: interior coverage {sorted(set(inner.astype(int).tolist()))}",
          "even" if k % s == 0 else "uneven")

# %% [markdown]
# ## The remedy: resize, then convolve
#
# Odena et al. recommend nearest-neighbour (or bilinear) upsampling followed by an ordinary
# convolution. As matrices: `C @ N`, with `N = interpolate_matrix(...)` and `C` a
# `padding="same"` convolution. Every output is then computed from the same number of
# inputs, whatever the filter: the coverage of the product is flat inside the image.

# %%
N = interpolate_matrix((1, 8, 8), scale_factor=2, mode="nearest")
C = conv_matrix(np.ones((1, 1, 3, 3)), (1, 16, 16), padding="same")
R = C @ N
cov_resize = (R @ np.ones(64)).reshape(16, 16)
cov_transpose = coverage((3, 3), (8, 8), 2)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained")
for ax, m, t in [(axes[0], cov_transpose, "conv_transpose 3×3, stride 2"),
                 (axes[1], cov_resize, "nearest ×2, then conv 3×3 'same'")]:
    im = ax.imshow(m, cmap="Blues", vmin=0); fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(f"{t}\ninterior values: {sorted(set(m[2:-2, 2:-2].astype(int).ravel().tolist()))}")
fig.suptitle("Weight each output receives from an all-ones input");
