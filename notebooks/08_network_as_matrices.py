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
# # 8. A whole network as a chain of matrices
#
# *Unsampling: Unpooling and Transpose Convolution* writes one layer at a time as a matrix:
# a convolution `C`, its transpose `Cᵀ`, a pooling that keeps one entry per window. A
# network is those layers one after another, so near one input `x` it is their product.
# Only the nonlinear layers depend on `x`: a ReLU is a diagonal of 0s and 1s (which units
# are on at `x`), a max pooling picks the entry that is largest at `x`. So, around `x`,
#
# `model(x) = J x + c`,   `J = M_L ⋯ M_2 M_1`,
#
# with the branches of a skip connection added. `convmat.network.linearize` traces the
# model with `torch.fx` and returns those factors as sparse matrices.

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

np.set_printoptions(precision=4, suppress=True, linewidth=110)
try:  # this notebook is about torch models: without torch there is nothing to show
    import torch
    from torch import nn
except ImportError as err:
    raise SystemExit('This notebook needs PyTorch: pip install "convmat[torch]"') from err
from convmat.network import (
    effective_receptive_field,
    linearize,
    plot_effective_receptive_field,
    plot_receptive_field,
    receptive_field,
)
from convmat.plot import plot_sparsity

# %% [markdown]
# ## A small encoder-decoder
#
# One encoder convolution and ReLU, a 2×2 max pooling, a convolution at half resolution,
# a transposed convolution back up (the article's unsampling), and a skip connection that
# concatenates the encoder's features with the upsampled ones before the last
# convolution: a U-Net in miniature. Small sizes keep every matrix readable: one channel of
# 8×8 in, one channel of 8×8 out. Everything in float64, so "equal" means to rounding.

# %%
class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(1, 2, 3, padding=1)            # 1×8×8 -> 2×8×8
        self.pool = nn.MaxPool2d(2)                         # 2×8×8 -> 2×4×4
        self.mid = nn.Conv2d(2, 2, 3, padding=1)            # 2×4×4 -> 2×4×4
        self.up = nn.ConvTranspose2d(2, 2, 2, stride=2)     # 2×4×4 -> 2×8×8
        self.dec = nn.Conv2d(4, 1, 3, padding=1)            # 4×8×8 -> 1×8×8

    def forward(self, x):
        e = torch.relu(self.enc(x))
        m = torch.relu(self.mid(self.pool(e)))
        u = self.up(m)
        return self.dec(torch.cat([e, u], dim=1))          # the skip connection


torch.manual_seed(0)                                       # reproducible weights and x
model = TinyUNet().double().eval()
x = torch.randn(1, 8, 8, dtype=torch.float64).numpy()      # one sample, (C, H, W)
print(torch.fx.symbolic_trace(model).graph)

# %% [markdown]
# ## The factors
#
# `linearize` runs the model once on `x` and keeps one node per layer or call, in the
# graph's order. Each node holds one matrix per input it reads (`cat` reads two) and its
# own offset (a bias).

# %%
lin = linearize(model, x)
print(lin)
for node in lin.nodes:
    print(f"  {node.name:7s} {node.op:16s} reads {', '.join(node.inputs):10s}"
          f" -> {node.out_shape}, matrices {[M.shape for M in node.matrices]},"
          f" offset: {node.offset is not None}")

# %% [markdown]
# Their sparsity patterns, with lines between channels (thick) and image rows (thin). The
# convolutions are the banded blocks of the earlier notebooks — one block per pair of
# channels; the transposed convolution is tall (each input feeds a 2×2 patch), the
# pooling wide (one entry per row: the window's maximum at `x`). A ReLU is a diagonal that
# stores all its entries, 1 where its input is positive at `x` and 0 elsewhere; the
# pictures drop those zeros to show which units are on. `cat` is two stacked identities,
# one per branch.

# %%
shapes = {lin.input_name: lin.in_shape} | {node.name: node.out_shape for node in lin.nodes}
factors = [(node, src, M) for node in lin.nodes for src, M in zip(node.inputs, node.matrices)]
fig, axes = plt.subplots(3, 3, figsize=(14, 15), layout="constrained")
for ax, (node, src, M) in zip(axes.flat, factors):
    shown = M.copy()
    shown.eliminate_zeros()                                 # the ReLUs' off units
    plot_sparsity(shown, in_shape=shapes[src], out_shape=node.out_shape, ax=ax,
                  title=f"{node.name} ({node.op}) ← {src}: {shown.nnz} nonzero")

# %% [markdown]
# ## Their product: the Jacobian
#
# `lin.matrix()` multiplies the factors along the graph (the two branches of `cat` summed)
# into one 64×64 sparse `J`; `lin.offset` carries every bias through the layers after it.
# Together they reproduce the network's output at `x`:

# %%
J, c = lin.matrix(), lin.offset
with torch.no_grad():
    y = model(torch.from_numpy(x)[None])[0].numpy()
print(J.shape, f"{J.nnz} stored entries of {J.shape[0] * J.shape[1]},"
      f" {np.count_nonzero(J.data)} of them nonzero at x")
print("max |J x + c - model(x)| =", np.abs(J @ x.ravel() + c - y.ravel()).max())

# %% [markdown]
# `J` is the Jacobian of the model at `x`: the same as torch's automatic differentiation,
# `torch.func.jacrev`, which never forms a matrix of layers.

# %%
J_torch = torch.func.jacrev(lambda t: model(t[None])[0])(torch.from_numpy(x))
J_torch = J_torch.reshape(J.shape).detach().numpy()
print("max |J - jacrev| =", np.abs(J.toarray() - J_torch).max())
plot_sparsity(J, in_shape=lin.in_shape, out_shape=lin.out_shape,
              title=f"J = product of the factors: {J.nnz} stored entries")

# %% [markdown]
# ## Receptive fields
#
# Which input pixels can change one output pixel? The **structural** receptive field
# multiplies the factors' patterns — whatever the weights and the input, and with a max
# pooling's whole window (any entry may be its maximum). The **effective** receptive field
# is that output's row of `J` at this `x`: the gradient `|∂y/∂x|`, which is far from
# uniform inside the structural one (Luo et al., 2016).
#
# On 8×8 the field of a central pixel is the whole image, so here the same (fully
# convolutional) model reads a 16×16 sample. The skip path alone sees 5×5 (two 3×3
# convolutions); the path through the pooling sees 10×10.

# %%
x16 = torch.randn(1, 16, 16, dtype=torch.float64).numpy()
pixel = (0, 8, 8)
field = receptive_field(model, x16.shape, pixel)
erf = effective_receptive_field(model, x16, pixel)
print("structural field:\n", field[0].astype(int))
print("nonzero in the row of J:", np.count_nonzero(erf), "of the", int(field.sum()),
      "positions the structure allows")
fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(16, 4.5), layout="constrained")
plot_receptive_field(model, x16, pixel, ax=ax0)
plot_effective_receptive_field(model, x16, pixel, ax=ax1)
image = ax2.imshow(np.where(erf[0] > 0, erf[0], np.nan), cmap="magma",
                   norm=LogNorm(), interpolation="nearest")
ax2.contour(field[0].astype(float), levels=[0.5], colors=["tab:red"])
fig.colorbar(image, ax=ax2, label="|dy/dx|, log scale")
ax2.set_title("the row of J alone: blank where it is 0");

# %% [markdown]
# The row of `J` has entries only where a path of *active* units joins the pixel to the
# input: ReLUs off at `x` and pooling entries that were not the maximum cut their paths.

# %% [markdown]
# ## Crossing a ReLU boundary
#
# `J` and `c` are exact on the whole **linear region** of `x`: the inputs where every ReLU
# keeps its sign and every pooling its choice. The encoder's pre-activation
# `z = W x + b` is affine in `x`, so ReLU unit `k` flips on the hyperplane `z_k = 0`, at
# distance `|z_k| / ‖W_k‖`. Walk from `x` straight towards the nearest of those
# hyperplanes, along `d`:

# %%
enc = lin.nodes[0]                                         # the encoder convolution
W, b = enc.matrices[0], enc.offset
z = W @ x.ravel() + b
distance = np.abs(z) / np.sqrt(W.multiply(W).sum(axis=1))
k = int(np.argmin(distance))
t_flip = distance[k]
d = (-np.sign(z[k]) * W[[k], :].toarray() / np.linalg.norm(W[[k], :].toarray())).reshape(x.shape)
unit = tuple(int(i) for i in np.unravel_index(k, enc.out_shape))
print(f"nearest ReLU boundary: unit (channel, row, col) = {unit}, z = {z[k]:.4g},"
      f" at distance {t_flip:.4g}")
print("the next few distances:", np.sort(distance)[1:5])

# %% [markdown]
# Just before the boundary nothing changes: the same factors, the same `J`, and `J, c`
# still give the model's output. Just after, one ReLU factor has changed and the old map
# is wrong.

# %%
def model_at(v):
    with torch.no_grad():
        return model(torch.from_numpy(v)[None])[0].numpy().ravel()

def changed(a, b):
    """The nodes whose factors differ between two linearizations."""
    return [na.name for na, nb in zip(a.nodes, b.nodes)
            if any((Ma != Mb).nnz for Ma, Mb in zip(na.matrices, nb.matrices))]

for t in (0.99 * t_flip, 1.01 * t_flip):
    x_t = x + t * d
    lin_t = linearize(model, x_t)
    print(f"t = {t / t_flip:.2f} × distance: factors changed: {changed(lin, lin_t) or 'none'};"
          f" max |J x' + c - model(x')| = {np.abs(J @ x_t.ravel() + c - model_at(x_t)).max():.3g}")

# %% [markdown]
# Which rows of `J` changed? The flipped unit reaches the output through the skip
# connection and the last 3×3 convolution, so exactly the output pixels within one step
# of it change — unless the flip also changes what its max pooling picks.

# %%
J_after = linearize(model, x + 1.01 * t_flip * d).matrix()
rows = np.flatnonzero(abs(J_after - J).sum(axis=1))
print("changed rows (output pixels):", [tuple(int(i) for i in np.unravel_index(r, lin.out_shape))
                                        for r in rows])
mask = np.zeros(lin.out_shape[1:])
mask.flat[rows] = 1

ts = np.linspace(0, 2 * t_flip, 201)
error = [np.abs(J @ (x + t * d).ravel() + c - model_at(x + t * d)).max() for t in ts]
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
ax0.imshow(mask, cmap="Reds", vmin=0, vmax=1.5)
ax0.plot(unit[2], unit[1], "kx", ms=12, mew=2, label=f"flipped ReLU {unit}")
ax0.set_title("output pixels whose row of J changed")
ax0.set_xlabel("column"); ax0.set_ylabel("row"); ax0.legend(loc="lower right")
ax1.plot(ts / t_flip, error)
ax1.axvline(1, color="tab:red", ls="--", label="the ReLU boundary")
ax1.set_xlabel("t / distance to the boundary   (x' = x + t d)")
ax1.set_ylabel("max |J x' + c - model(x')|")
ax1.set_title("the map of x's region, used at x'")
ax1.legend();

# %% [markdown]
# Up to the boundary the error is rounding (about 1e-16); past it, it grows linearly with
# the distance travelled beyond: the flipped unit's contribution, which the old `J` and `c`
# leave out. A piecewise-linear network is a patchwork of such regions, each with
# its own chain of matrices — and the convolutions and transposed convolutions in every
# chain are the same: only the diagonals of the ReLUs and the pooling's choices move.
