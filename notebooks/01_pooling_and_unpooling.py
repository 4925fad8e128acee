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
# # 1. Pooling and the three unpoolings, as matrices
#
# The article *Unsampling: Unpooling and Transpose Convolution* starts with max pooling
# of a 4×4 feature map to 2×2, and three ways back to 4×4: **nearest neighbour**, **bed
# of nails** and **max unpooling**. All of them are *linear* in the map they move (max
# pooling once its choice of maxima is fixed), so each is a matrix.
#
# convmat's convention: one sample of shape `(C, *spatial)` is flattened in C order, and
# `A @ x.ravel()` is the torch op on `x[None]`. The 4×4 map below is the max-unpooling
# example of CS231n (lecture 11).

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
    avg_pool_matrix,
    bed_of_nails_matrix,
    conv_transpose_matrix,
    interpolate_matrix,
    max_pool_selection,
    max_unpool_matrix,
)
from convmat.plot import plot_before_after, plot_sparsity

x = np.array([[1, 2, 6, 3],
              [3, 5, 2, 1],
              [1, 2, 2, 1],
              [7, 3, 4, 8]], dtype=float)[None]        # one channel: shape (1, 4, 4)
x.shape

# %% [markdown]
# ## Max pooling: a selection matrix
#
# `max_pool_selection` returns the matrix `S` with exactly one 1 per row, at the maximum
# of that row's window, and torch's `return_indices` (flat positions inside the 4×4 plane).

# %%
S, idx = max_pool_selection(x, kernel_size=2)
print(S.toarray().astype(int))
print("S @ x =", S @ x.ravel(), "  indices =", idx.ravel())

# %%
chosen = np.zeros(16, bool); chosen[S.indices] = True
plot_before_after(x, (S @ x.ravel()).reshape(2, 2), block=(2, 2),
                  highlight_before=chosen.reshape(4, 4),
                  title="Max pooling 2×2, stride 2 (S @ x: one 1 per row of S)")

# %% [markdown]
# `S` depends on `x` (on *where* the maxima are), but once they are found, the pooling is
# the linear map `S`, and its gradient is `S.T`: the upstream gradient goes back to the
# positions of the maxima only.
#
# ## Nearest neighbour: copy each value into its block
#
# The article's first unpooling is `F.interpolate(mode="nearest")` with scale 2. Each row of
# its matrix holds one 1; each column four.

# %%
small = np.array([[1, 2], [3, 4]], dtype=float)[None]
N = interpolate_matrix((1, 2, 2), scale_factor=2, mode="nearest")
plot_sparsity(N, in_shape=(1, 2, 2), out_shape=(1, 4, 4),
              title="Nearest-neighbour upsampling 2×2 → 4×4: N (16×4)")

# %%
plot_before_after(small, (N @ small.ravel()).reshape(4, 4), block=(2, 2),
                  title="Nearest neighbour: blocky, every pixel of a block the same")

# %% [markdown]
# Its transpose sums each 2×2 block: `N.T / 4` **is** 2×2 average pooling.

# %%
P = avg_pool_matrix((1, 4, 4), 2)
print("avg_pool_matrix == N.T / 4:", np.allclose(P.toarray(), N.T.toarray() / 4))

# %% [markdown]
# ## Bed of nails: the value in a fixed corner, zeros elsewhere

# %%
B = bed_of_nails_matrix((1, 2, 2), 2)
up = (B @ small.ravel()).reshape(4, 4)
plot_before_after(small, up, block=(2, 2), highlight_after=up != 0,
                  title="Bed of nails: each value at the top-left corner of its block")

# %% [markdown]
# Bed of nails is a transposed convolution: the one whose 2×2 filter is a single 1 in the
# top-left corner, at stride 2. (Its transpose `B.T` is plain subsampling `x[::2, ::2]`.)

# %%
delta = np.zeros((1, 1, 2, 2)); delta[0, 0, 0, 0] = 1
T = conv_transpose_matrix(delta, (1, 2, 2), stride=2)
print("bed of nails == conv_transpose with a one-hot 2×2 filter:",
      np.array_equal(B.toarray(), T.toarray()))
print("B.T @ x == x[::2, ::2]:", np.array_equal(B.T @ x.ravel(), x[0, ::2, ::2].ravel()))

# %% [markdown]
# ## Max unpooling: back to where the maxima were
#
# Max unpooling remembers the indices of the max pooling and puts each value back there.
# Its matrix is exactly `S.T`: the max pooling's own transpose (for windows that tile the
# map, as here).

# %%
U = max_unpool_matrix(idx, 2)
print("U == S.T:", np.array_equal(U.toarray(), S.T.toarray()))
decoded = small                     # what the decoder hands to the unpooling
up = (U @ decoded.ravel()).reshape(4, 4)
plot_before_after(decoded, up, block=(2, 2), highlight_after=up != 0,
                  title="Max unpooling: each value where max pooling found its maximum")

# %% [markdown]
# ### What the article means by "restoring"
#
# The unpoolings restore the **size** of the map, not its values: `S.T @ S` keeps the
# four maxima and zeroes the twelve other pixels. No matrix of rank 4 can undo a map
# from 16 numbers to 4.

# %%
print((S.T @ (S @ x.ravel())).reshape(4, 4))
print("rank of S:", np.linalg.matrix_rank(S.toarray()))

# %% [markdown]
# ### The same results from PyTorch

# %%
if torch is not None:
    xt = torch.from_numpy(x)[None]
    pooled, ind = F.max_pool2d(xt, 2, return_indices=True)
    print("max_pool2d     :", np.allclose(pooled[0].numpy().ravel(), S @ x.ravel()),
          np.array_equal(ind[0].numpy(), idx))
    st = torch.from_numpy(small)[None]
    print("interpolate    :", np.allclose(F.interpolate(st, scale_factor=2)[0].numpy().ravel(),
                                          N @ small.ravel()))
    print("max_unpool2d   :", np.allclose(F.max_unpool2d(st, ind, 2)[0].numpy().ravel(),
                                          U @ small.ravel()))
else:
    print("skipped: PyTorch is not installed")
