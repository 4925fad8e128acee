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
from convmat.testing import assert_adjoint, dottest, materialize

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
