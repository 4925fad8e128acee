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
# # 6. Learning the filter
#
# *"Clearly, the filter parameters, x, y, and z, are updated in the backpropagation step,
# and this is why the transpose convolution is a learnable upsampling approach."*
#
# The matrix makes this concrete. A transposed convolution is linear in its **weights** as
# well as in its input: `T(w) = Σ_k w_k E_k`, with one fixed 0/1 matrix `E_k` per filter tap
# (where that tap lands). So for `y = T(w) a` and a loss `L(y)` with gradient
# `g = ∂L/∂y`,
#
#     ∂L/∂w_k = gᵀ E_k a,
#
# which is `TapPattern.weight_gradient(g, a)`.

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
from convmat import conv_matrix, conv_transpose_matrix, conv_transpose_taps
from scipy.sparse.linalg import lsqr

# %% [markdown]
# ## The tap matrices of the article's Fig. 7

# %%
taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=2)
for k, name in enumerate("xyz"):
    print(f"E_{name} =\n{taps.basis(k).toarray().astype(int)}")

# %% [markdown]
# ## The gradient, three ways
#
# A squared error against a target output: `L = ½‖T(w) a − t‖²`, so `g = T(w) a − t`.

# %%
a = np.array([1., 10.])                      # the input [a, b]
w = np.array([[[0.5, -1.0, 2.0]]])           # the current filter [x, y, z]
t = np.array([1., 2., 13., 20., 30.])        # target: what [1, 2, 3] would give
T = taps.matrix(w)
g = T @ a - t
grad = taps.weight_gradient(g, a)
print("weight_gradient :", grad.ravel())

# by hand, from the article's outputs ax, ay, az+bx, by, bz:
# dL/dx = g0 a + g2 b,  dL/dy = g1 a + g3 b,  dL/dz = g2 a + g4 b
by_hand = np.array([g[0] * a[0] + g[2] * a[1], g[1] * a[0] + g[3] * a[1],
                    g[2] * a[0] + g[4] * a[1]])
print("by hand         :", by_hand)

eps = 1e-6
loss = lambda w: 0.5 * np.sum((conv_transpose_matrix(w, (1, 2), stride=2) @ a - t) ** 2)
numeric = [(loss(w + eps * np.eye(3)[k].reshape(w.shape)) -
            loss(w - eps * np.eye(3)[k].reshape(w.shape))) / (2 * eps) for k in range(3)]
print("finite difference:", np.array(numeric))

# %%
if torch is not None:
    wt = torch.from_numpy(w.copy()).requires_grad_(True)
    y = F.conv_transpose1d(torch.from_numpy(a)[None, None], wt, stride=2)
    (0.5 * ((y[0, 0] - torch.from_numpy(t)) ** 2).sum()).backward()
    print("torch autograd  :", wt.grad.numpy().ravel())
    print("agrees:", np.allclose(wt.grad.numpy(), grad))
else:
    print("skipped: PyTorch is not installed")

# %% [markdown]
# ## Learning `[x, y, z]` by gradient descent
#
# Start from a wrong filter and follow the gradient on a few random inputs whose target is
# the output of the true filter `[1, 2, 3]`. The loss is quadratic in `w`, so plain
# gradient descent converges.

# %%
rng = np.random.default_rng(0)
true_w = np.array([[[1., 2., 3.]]])
A = rng.standard_normal((8, 2))                           # a batch of 8 inputs [a, b]
targets = A @ conv_transpose_matrix(true_w, (1, 2), stride=2).T
w = np.zeros((1, 1, 3))
history = []
for _ in range(60):
    Y = A @ taps.matrix(w).T
    G = Y - targets
    history.append(0.5 * np.sum(G ** 2) / len(A))
    w = w - 0.1 * taps.weight_gradient(G, A) / len(A)
print("learned [x, y, z] =", w.ravel().round(4))
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.semilogy(history); ax.set_xlabel("step"); ax.set_ylabel("loss")
ax.set_title("Gradient descent on the filter of a transposed conv");

# %% [markdown]
# ## Going the other way: deblurring with the convolution matrix
#
# The matrix also lets a sparse solver *invert* a convolution, where that is possible. A
# signal blurred by a 5-tap filter (`padding="same"`) plus a little noise is recovered by
# damped least squares, `scipy.sparse.linalg.lsqr` on `C` — which only needs `C @ v` and
# `C.T @ u`: the convolution and the transposed convolution.
#
# This works because the 5-tap blur `[1, 2, 4, 2, 1] / 10` keeps every frequency (its
# response never vanishes). The binomial `[1, 4, 6, 4, 1] / 16` erases the alternating
# signal `+1, −1, +1, ...` entirely: that part of the input is lost, and no solver gets it
# back.

# %%
n = 120
signal = np.zeros(n); signal[20:40] = 1; signal[60:65] = 2; signal[80:110] = np.linspace(0, 1.5, 30)
blur = np.array([[[1., 2., 4., 2., 1.]]]) / 10
C = conv_matrix(blur, (1, n), padding="same")
observed = C @ signal + 0.01 * rng.standard_normal(n)
recovered = lsqr(C, observed, damp=0.01)[0]
fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
ax.plot(signal, label="signal", linewidth=2)
ax.plot(observed, label="blurred + noise (C @ signal)")
ax.plot(recovered, "--", label="lsqr on C, damp 0.01")
ax.set_xlabel("position"); ax.legend(); ax.set_title("Deblurring with the convolution matrix")
print("relative error, blurred  :", np.linalg.norm(observed - signal) / np.linalg.norm(signal))
print("relative error, recovered:", np.linalg.norm(recovered - signal) / np.linalg.norm(signal))
