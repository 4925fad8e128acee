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
# # 4. Adjoint testing a hand-written operator
#
# A transposed convolution is the adjoint (transpose) of a convolution. Writing one by hand
# — in a custom layer, a solver, a physics model — is easy to get *almost* right. The
# **dot-product test** catches it: for random `x`, `y`,
# `⟨A x, y⟩ = ⟨x, Aᵀ y⟩` holds for the true adjoint and fails, by far more than rounding,
# for anything else (PyLops' `dottest`). `convmat.testing` has it as `dottest` (the
# mismatch) and `assert_adjoint` (raises).

# %%
import numpy as np

np.set_printoptions(precision=4, suppress=True, linewidth=110)
try:  # torch is optional: only the comparisons with PyTorch need it
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None
    print("PyTorch is not installed: the comparisons with torch are skipped.")
from convmat import conv_matrix, conv_transpose_matrix
from convmat.testing import adjoint_mismatch, assert_adjoint, dottest, materialize

# %% [markdown]
# ## The operator: a 1-D strided convolution, written by hand
#
# `forward` correlates a signal with a 3-tap filter at stride 2 (torch's `conv1d`, no
# flip), `adjoint` is meant to be its transpose: scatter each output back, weighted by the
# filter — the article's "copy each input value weighted by the filter, summing the overlaps".

# %%
w = np.array([1., 2., 3.])
L, s = 9, 2
n_out = (L - len(w)) // s + 1

def forward(x):                      # x: (1, L) -> (1, n_out)
    return np.array([[x[0, j * s : j * s + 3] @ w for j in range(n_out)]])

def adjoint_buggy(y):                # (1, n_out) -> (1, L)
    out = np.zeros((1, L))
    for j in range(n_out):
        out[0, j * s : j * s + 3] += y[0, j] * w[::-1]   # flipped filter: a classic slip
    return out

def adjoint(y):
    out = np.zeros((1, L))
    for j in range(n_out):
        out[0, j * s : j * s + 3] += y[0, j] * w
    return out


# %% [markdown]
# The bug is invisible on a symmetric filter and plausible on paper: "the adjoint of a
# correlation is a correlation with the flipped filter" is true when the adjoint is written
# as a sliding window over the zero-padded output, but this adjoint is written as a
# scatter, where the filter is not flipped. The dot-product test sees it at once:

# %%
print("buggy adjoint: mismatch", dottest(forward, adjoint_buggy, in_shape=(1, L), rng=0))
print("fixed adjoint: mismatch", dottest(forward, adjoint, in_shape=(1, L), rng=0))

# %%
try:
    assert_adjoint(forward, adjoint_buggy, in_shape=(1, L), rng=0)
except AssertionError as err:
    print("AssertionError:", err)
assert_adjoint(forward, adjoint, in_shape=(1, L), rng=0)
print("the fixed adjoint passes")

# %% [markdown]
# ## Against convmat's matrices
#
# `materialize` probes a black-box linear function and returns its exact sparse matrix.
# The hand-written forward is `conv_matrix`, the fixed adjoint is its transpose, which is
# `conv_transpose_matrix` — and the buggy one is neither.

# %%
A = materialize(forward, (1, L))
At = materialize(adjoint, (1, n_out))
C = conv_matrix(w[None, None], (1, L), stride=s)
print("forward == conv_matrix:", np.allclose(A.toarray(), C.toarray()))
T = conv_transpose_matrix(w[None, None], (1, n_out), stride=s)
print("adjoint == conv_transpose_matrix:", np.allclose(At.toarray(), T.toarray()))
Ab = materialize(adjoint_buggy, (1, n_out))
print("buggy adjoint == C.T:", np.allclose(Ab.toarray(), C.T.toarray()))

# %% [markdown]
# ## In 2-D, with channels and a stride: *where* is it wrong?
#
# The dot-product test says *that* an adjoint is wrong, not *where*. A 2-D example:
# `forward2d` correlates 2 input channels with a 3×3 filter bank into 3 output channels,
# at stride 2 with one pixel of zero padding, on an 8×7 image (torch's `conv2d`). Its
# adjoint scatters each output back through the filter into a buffer of the padded
# geometry the windows reach, `(n - 1) s + k` per axis, then crops the padding off.
#
# The buggy version crops `p` from both ends of that buffer. But the windows stop short of
# the bottom padding when `(H + 2p - k)` is not a multiple of the stride: the buffer is
# then `(n - 1) s + k - 2p = 7` rows once cropped, not `H = 8` — the size of a transposed
# convolution *without* `output_padding` — and the image's last row is never written.
# Along the width, `(7 + 2 - 3)` is a multiple of 2 and the same crop is right: the bug
# hides in one axis.

# %%
rng2 = np.random.default_rng(2)
C_in, C_out, k, s2, p = 2, 3, 3, 2, 1
H, W = 8, 7
w2 = rng2.standard_normal((C_out, C_in, k, k))
n_h, n_w = (H + 2 * p - k) // s2 + 1, (W + 2 * p - k) // s2 + 1   # 4, 4

def windows(i, j):                   # the strided positions tap (i, j) touches
    return (slice(None), slice(i, i + s2 * (n_h - 1) + 1, s2),
            slice(j, j + s2 * (n_w - 1) + 1, s2))

def forward2d(x):                    # (C_in, H, W) -> (C_out, n_h, n_w)
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    y = np.zeros((C_out, n_h, n_w))
    for i in range(k):
        for j in range(k):
            y += np.einsum("oc,chw->ohw", w2[:, :, i, j], xp[windows(i, j)])
    return y

def scatter(y):                      # (C_out, n_h, n_w) -> the padded positions reached
    buf = np.zeros((C_in, (n_h - 1) * s2 + k, (n_w - 1) * s2 + k))
    for i in range(k):
        for j in range(k):
            buf[windows(i, j)] += np.einsum("oc,ohw->chw", w2[:, :, i, j], y)
    return buf

def adjoint2d_buggy(y):
    crop = scatter(y)[:, p:-p, p:-p]               # strips p from the bottom as well
    x = np.zeros((C_in, H, W))
    x[:, : crop.shape[1], : crop.shape[2]] = crop  # 7 rows: the last one stays 0
    return x

def adjoint2d(y):
    return scatter(y)[:, p : p + H, p : p + W]     # crop to the input's size

x2 = rng2.standard_normal((C_in, H, W))
A2 = conv_matrix(w2, (C_in, H, W), stride=s2, padding=p)
print("forward2d == conv_matrix:", np.allclose(A2 @ x2.ravel(), forward2d(x2).ravel()))
if torch is not None:
    y_torch = F.conv2d(torch.from_numpy(x2)[None], torch.from_numpy(w2), stride=s2, padding=p)
    print("forward2d == torch conv2d:", np.allclose(y_torch[0].numpy(), forward2d(x2)))

# %% [markdown]
# `assert_adjoint` catches it:

# %%
try:
    assert_adjoint(forward2d, adjoint2d_buggy, in_shape=(C_in, H, W), rng=0)
except AssertionError as err:
    print("AssertionError:", err)

# %% [markdown]
# `adjoint_mismatch` finds where. It probes both functions into exact sparse matrices
# (`A` by `materialize`, the claimed adjoint `B` likewise) and returns their difference
# `B - Aᵀ`, rows indexed by input positions `(channel, row, column)` and columns by output
# positions. Every wrong entry is in input row 7, of both channels, and comes from the
# outputs of the last output row — the windows that reach the bottom of the image.

# %%
mm = adjoint_mismatch(forward2d, adjoint2d_buggy, in_shape=(C_in, H, W))
print(mm)
print("worst input (channel, row, col):", mm.worst_input)
print("worst output (channel, row, col):", mm.worst_output)
bad_in = np.argwhere(mm.input_error > mm.tolerance)
bad_out = np.argwhere(mm.output_error > mm.tolerance)
print("input rows that differ:", sorted(set(bad_in[:, 1].tolist())),
      "in channels", sorted(set(bad_in[:, 0].tolist())))
print("output rows that differ:", sorted(set(bad_out[:, 1].tolist())))
mm.plot();

# %% [markdown]
# Cropping to the input's size, `p : p + H` (equivalently, a transposed convolution with
# `output_padding = 1` along the height), fixes it: no entry differs, and the
# dot-product test passes.

# %%
fixed = adjoint_mismatch(forward2d, adjoint2d, in_shape=(C_in, H, W))
print(fixed)
print("ok:", fixed.ok, "| entries that differ:", fixed.difference.nnz)
assert_adjoint(forward2d, adjoint2d, in_shape=(C_in, H, W), rng=0)
print("the fixed 2-D adjoint passes")

# %% [markdown]
# ## Every convmat matrix passes the same test
#
# The builders are tested this way: a matrix and the transposed-convolution matrix built
# independently for the same geometry must be adjoint. Here with channels, 2-D, stride,
# padding and dilation; the mismatch is at the level of rounding.

# %%
rng = np.random.default_rng(1)
wt = rng.standard_normal((4, 3, 3, 3))                 # (C_out, C_in, kh, kw)
kw = dict(stride=2, padding=1, dilation=(1, 2))
C = conv_matrix(wt, (3, 9, 10), **kw)
T = conv_transpose_matrix(wt, (4, 5, 4), output_padding=(0, 1), **kw)
print(C.shape, T.shape)
print("mismatch:", dottest(C, T, rng=0))

# %% [markdown]
# ### And torch's autograd is an adjoint too
#
# The gradient of `conv2d` with respect to its input is `Cᵀ g`: a vector-Jacobian
# product *is* the adjoint applied to `g`, so the dot-product test can check a framework's
# backward pass as well.

# %%
if torch is not None:
    wt_t = torch.from_numpy(wt)
    def torch_forward(x):
        return F.conv2d(torch.from_numpy(x)[None], wt_t, **kw)[0].numpy()
    def torch_adjoint(g):
        x = torch.zeros((1, 3, 9, 10), dtype=torch.float64, requires_grad=True)
        F.conv2d(x, wt_t, **kw).backward(torch.from_numpy(g)[None])
        return x.grad[0].numpy()
    print("torch conv2d vs its autograd:",
          dottest(torch_forward, torch_adjoint, in_shape=(3, 9, 10), rng=0))
else:
    print("skipped: PyTorch is not installed")
