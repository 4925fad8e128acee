"""Write the notebooks of notebooks/ as .ipynb and execute them in a fresh kernel.

    python notebooks/_build.py            # write and execute every notebook
    python notebooks/_build.py 03         # only those whose name contains "03"
    python notebooks/_build.py --no-run   # write them without outputs

The committed .ipynb files (with their outputs) are the product; this script is how they
are made, so that a change to one is a change to its source text here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import numpy as np
import matplotlib.pyplot as plt
np.set_printoptions(precision=4, suppress=True, linewidth=110)
try:  # torch is optional: only the comparisons with PyTorch need it
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None
    print("PyTorch is not installed: the comparisons with torch are skipped.")"""


def md(text):
    return new_markdown_cell(text.strip("\n"))


def code(text):
    return new_code_cell(text.strip("\n"))


# --------------------------------------------------------------------------------------
NB01 = [md("""
# 1. Pooling and the three unpoolings, as matrices

The seed article (*[DL] 12. Unsampling: Unpooling and Transpose Convolution*) starts with
max pooling of a 4×4 feature map to 2×2, and three ways back to 4×4: **nearest
neighbour**, **bed of nails** and **max unpooling**. All of them are *linear* in the map
they move (max pooling once its choice of maxima is fixed), so each is a matrix.

convmat's convention: one sample of shape `(C, *spatial)` is flattened in C order, and
`A @ x.ravel()` is the torch op on `x[None]`. The example below is the seed's
(after CS231n, lecture 11).
"""), code(SETUP + """
from convmat import (max_pool_selection, avg_pool_matrix, interpolate_matrix,
                     bed_of_nails_matrix, max_unpool_matrix, conv_transpose_matrix)
from convmat.plot import plot_before_after, plot_sparsity

x = np.array([[1, 2, 6, 3],
              [3, 5, 2, 1],
              [1, 2, 2, 1],
              [7, 3, 4, 8]], dtype=float)[None]        # one channel: shape (1, 4, 4)
x.shape"""), md("""
## Max pooling: a selection matrix

`max_pool_selection` returns the matrix `S` with exactly one 1 per row, at the maximum
of that row's window, and torch's `return_indices` (flat positions inside the 4×4 plane).
"""), code("""
S, idx = max_pool_selection(x, kernel_size=2)
print(S.toarray().astype(int))
print("S @ x =", S @ x.ravel(), "  indices =", idx.ravel())"""), code("""
chosen = np.zeros(16, bool); chosen[S.indices] = True
plot_before_after(x, (S @ x.ravel()).reshape(2, 2), block=(2, 2),
                  highlight_before=chosen.reshape(4, 4),
                  title="Max pooling 2×2, stride 2 (S @ x: one 1 per row of S)");"""), md("""
`S` depends on `x` (on *where* the maxima are), but once they are found, the pooling is
the linear map `S`, and its gradient is `S.T`: the upstream gradient goes back to the
positions of the maxima only.

## Nearest neighbour: copy each value into its block

The seed's first unpooling is `F.interpolate(mode="nearest")` with scale 2. Each row of
its matrix holds one 1; each column four.
"""), code("""
small = np.array([[1, 2], [3, 4]], dtype=float)[None]
N = interpolate_matrix((1, 2, 2), scale_factor=2, mode="nearest")
plot_sparsity(N, in_shape=(1, 2, 2), out_shape=(1, 4, 4),
              title="Nearest-neighbour upsampling 2×2 → 4×4: N (16×4)");"""), code("""
plot_before_after(small, (N @ small.ravel()).reshape(4, 4), block=(2, 2),
                  title="Nearest neighbour: blocky, every pixel of a block the same");"""), md("""
Its transpose sums each 2×2 block: `N.T / 4` **is** 2×2 average pooling.
"""), code("""
P = avg_pool_matrix((1, 4, 4), 2)
print("avg_pool_matrix == N.T / 4:", np.allclose(P.toarray(), N.T.toarray() / 4))"""), md("""
## Bed of nails: the value in a fixed corner, zeros elsewhere
"""), code("""
B = bed_of_nails_matrix((1, 2, 2), 2)
up = (B @ small.ravel()).reshape(4, 4)
plot_before_after(small, up, block=(2, 2), highlight_after=up != 0,
                  title="Bed of nails: each value at the top-left corner of its block");"""), md("""
Bed of nails is a transposed convolution: the one whose 2×2 filter is a single 1 in the
top-left corner, at stride 2. (Its transpose `B.T` is plain subsampling `x[::2, ::2]`.)
"""), code("""
delta = np.zeros((1, 1, 2, 2)); delta[0, 0, 0, 0] = 1
T = conv_transpose_matrix(delta, (1, 2, 2), stride=2)
print("bed of nails == conv_transpose with a one-hot 2×2 filter:",
      np.array_equal(B.toarray(), T.toarray()))
print("B.T @ x == x[::2, ::2]:", np.array_equal(B.T @ x.ravel(), x[0, ::2, ::2].ravel()))"""),
    md("""
## Max unpooling: back to where the maxima were

Max unpooling remembers the indices of the max pooling and puts each value back there.
Its matrix is exactly `S.T`: the max pooling's own transpose (for windows that tile the
map, as here).
"""), code("""
U = max_unpool_matrix(idx, 2)
print("U == S.T:", np.array_equal(U.toarray(), S.T.toarray()))
decoded = small                     # what the decoder hands to the unpooling
up = (U @ decoded.ravel()).reshape(4, 4)
plot_before_after(decoded, up, block=(2, 2), highlight_after=up != 0,
                  title="Max unpooling: each value where max pooling found its maximum");"""),
    md("""
### What the seed means by "restoring"

The unpoolings restore the **size** of the map, not its values: `S.T @ S` keeps the
four maxima and zeroes the twelve other pixels. No matrix of rank 4 can undo a map
from 16 numbers to 4.
"""), code("""
print((S.T @ (S @ x.ravel())).reshape(4, 4))
print("rank of S:", np.linalg.matrix_rank(S.toarray()))"""), md("""
### The same results from PyTorch
"""), code("""
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
    print("skipped: PyTorch is not installed")"""),
]

# --------------------------------------------------------------------------------------
NB02 = [md("""
# 2. The 1-D transposed convolution of the seed's Fig. 7, from its matrix

The seed: *"Suppose we have 2×1 input, 3×1 filter, and transpose convolution with the
stride of 2. Then the output of the operation has the size of 5×1, which is obtained by
copying each input value weighted by the filter, summing the overlaps."* With input
`[a, b]` and filter `[x, y, z]`, the five outputs are `ax, ay, az+bx, by, bz`.
"""), code(SETUP + """
from convmat import (conv_transpose_matrix, conv_transpose_taps, conv_matrix,
                     conv_transpose_output_shape)
from convmat.plot import plot_taps, plot_stride_comparison"""), md("""
## The matrix, symbolically

`conv_transpose_taps` gives the matrix without its values: which filter tap sits in each
entry. Labelled with the seed's names, row *j* of the matrix reads off output *j*.
"""), code("""
taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=2)   # weight shape (C_in, C_out, 3)
plot_taps(taps, "xyz", in_shape=(1, 2), out_shape=(1, 5), in_names="ab",
          title="Fig. 7: [a, b] through [x, y, z] at stride 2 → 5 outputs");"""), code("""
grid = np.full(taps.shape, "", dtype=object)
grid[taps.rows(), taps.indices] = taps.tap_labels("xyz")
outputs = [" + ".join(f"{n}{t}" for n, t in zip("ab", row) if t) for row in grid]
print(outputs)
assert outputs == ["ax", "ay", "az + bx", "by", "bz"]      # the seed's Fig. 7"""), md("""
## The matrix, with numbers

With `[a, b] = [1, 10]` and `[x, y, z] = [1, 2, 3]`, the matrix applied to the input is
the same as the seed's recipe: copy each input value weighted by the filter, shift by
the stride, sum the overlaps.
"""), code("""
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
print("by hand     =", by_hand(a_b, w[0, 0], 2))"""), md("""
## Stride 1 gives 4 outputs

*"Note that if the stride is one, then the output size becomes 4×1."* Right: the output
size of a transposed convolution is `O = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1`,
here `(2 − 1)·1 + 3 = 4`, against `(2 − 1)·2 + 3 = 5` at stride 2.
"""), code("""
for s in (1, 2):
    print(f"stride {s}:", conv_transpose_output_shape((1, 1, 3), (1, 2), stride=s))
plot_stride_comparison((1, 1, 3), (1, 2), transpose=True);"""), md("""
At stride 1 the copies of the filter overlap on two outputs each (`ay + bx`,
`az + by`), at stride 2 on one (`az + bx`).

## It is the transpose of a convolution

The same 5×2 matrix is the transpose of the stride-2 convolution of a 5-element input
with the same filter — the subject of the next notebook.
"""), code("""
C = conv_matrix(w, (1, 5), stride=2)
print(C.toarray())
print("T == C.T:", np.array_equal(T.toarray(), C.T.toarray()))"""), md("""
## PyTorch agrees
"""), code("""
if torch is not None:
    for s in (1, 2):
        y = F.conv_transpose1d(torch.from_numpy(a_b)[None, None], torch.from_numpy(w),
                               stride=s)
        print(f"stride {s}: torch", y[0, 0].numpy(), " matrix",
              conv_transpose_matrix(w, (1, 2), stride=s) @ a_b)
else:
    print("skipped: PyTorch is not installed")"""),
]

# --------------------------------------------------------------------------------------
NB03 = [md("""
# 3. Why "transpose"? C and C.T, stride 1 and 2, 2-D patterns

The seed writes the convolution of a 4×1 input with the 3×1 filter `[x, y, z]` at stride
1 as a matrix `X`, and says that the output has 4 elements, "the same as input size", and
that multiplying by `X.T` instead gives a 5×1 output from a 4×1 input. Taken literally,
the two statements cannot both hold: below is exactly which matrices do what.
"""), code(SETUP + """
from convmat import conv_matrix, conv_taps, conv_output_shape, conv_transpose_matrix
from convmat import conv_transpose_output_shape
from convmat.plot import plot_transpose_pair, plot_taps, plot_stride_comparison, plot_sparsity
w = np.array([[[1., 2., 3.]]])           # [x, y, z] = [1, 2, 3] where numbers are needed"""),
    md("""
## "4×1 input, 3×1 filter, stride 1 → 4×1 output" needs padding 1

Without padding (torch's default, `padding=0` or `"valid"`) a 3-tap filter fits at only 2
positions of a 4-element input. Four outputs need one zero of padding at each end
(`padding=1`, equivalently `padding="same"`).
"""), code("""
for p in (0, 1):
    print(f"padding={p}: output shape", conv_output_shape((1, 1, 3), (1, 4), padding=p))"""),
    code("""
plot_transpose_pair((1, 1, 3), (1, 4), padding=1);"""), md("""
With padding 1, `X` is **4×4**, and so is `X.T`: a 4-element input gives 4 outputs, not 5.
So the seed's "5×1" does not come from this matrix. Three readings give an exact answer:

1. **The padding written into the matrix** (as CS231n draws it): `X` acts on the padded
   input `[0, a, b, c, d, 0]`, so it is 4×6, and `X.T` gives **6** outputs, the two at the
   ends landing on the padding. A transposed convolution with `padding=1` crops exactly
   those two, which gives back the 4×4 `X.T`.
2. **Padding on one side only** (one zero before the input, none after): `X` is 4×5 and
   `X.T` maps **4 inputs to 5 outputs** — the seed's shapes. In torch terms it is
   `conv_transpose1d` with `padding=0` (6 outputs) with its first output cropped.
3. **No torch argument set with stride 1 and symmetric padding gives 4 → 5 with a 3-tap
   filter**: `O = (4 − 1)·s − 2p + d·(3 − 1) + output_padding + 1` is even at stride 1,
   dilation 1. The search below lists what does give 5.
"""), code("""
# Reading 1: the 4×6 matrix on the padded input
X_padded = conv_matrix(w, (1, 6))                  # 'valid' on the 6 padded positions
print("X on [0,a,b,c,d,0]:", X_padded.shape); print(X_padded.toarray())
print("X.T: 4 inputs ->", X_padded.T.shape[0], "outputs")
print("cropping the 2 padding outputs gives conv_transpose(padding=1):",
      np.array_equal(X_padded.T.toarray()[1:-1], conv_transpose_matrix(w, (1, 4), padding=1).toarray()))"""),
    code("""
# Reading 2: one zero before the input only -> X is 4×5, X.T is 5×4
X_one_sided = conv_matrix(w, (1, 5), padding=1)[:4]   # drop the output that reads the right pad
print(X_one_sided.toarray())
T5 = X_one_sided.T
print("X.T:", T5.shape, "= conv_transpose(padding=0) without its first output:",
      np.array_equal(T5.toarray(), conv_transpose_matrix(w, (1, 4)).toarray()[1:]))
x4 = np.array([1., 10., 100., 1000.])
print("X.T @ [1, 10, 100, 1000] =", T5 @ x4)"""), code("""
# Reading 3: every torch configuration (3 taps, 4 inputs) whose transposed conv has 5 outputs
found = []
for s in (1, 2, 3):
    for d in (1, 2):
        for p in range(4):
            for op in range(max(s, d)):
                try:
                    out = conv_transpose_output_shape((1, 1, 3), (1, 4), stride=s, padding=p,
                                                      dilation=d, output_padding=op)
                except ValueError:
                    continue
                if out == (1, 5):
                    found.append(dict(stride=s, padding=p, dilation=d, output_padding=op))
found"""), md("""
None of them has stride 1 and dilation 1. The closest in spirit is stride 2, padding 2:
the transpose of the stride-2 convolution of a 5-element input padded by 2.
"""), code("""
plot_transpose_pair((1, 1, 3), (1, 5), stride=2, padding=2,
                    title="A 3-tap filter with 4 inputs → 5 outputs: stride 2, padding 2");"""),
    md("""
## "More clear with stride 2": the transpose is the seed's Fig. 7

The stride-2 convolution of 5 inputs has 2 outputs; its transpose maps 2 inputs to 5
outputs — `ax, ay, az+bx, by, bz`, the transposed convolution of notebook 2.
"""), code("""
plot_transpose_pair((1, 1, 3), (1, 5), stride=2);"""), md("""
### Transpose is not inverse

`C.T` undoes the *shape* change of `C`, not `C` itself: `C.T @ C` is not the identity
(and a 2×5 matrix has no inverse at all). Transposed convolutions are learnable
upsamplers, not deconvolutions.
"""), code("""
C = conv_matrix(w, (1, 5), stride=2)
print((C.T @ C).toarray())"""), md("""
## 2-D: the seed's Fig. 6 also needs padding

*"As a result of strided convolution operation, the resolution decreases from 4×4 to
2×2"* with a 3×3 filter and stride 2: without padding, a 3×3 window fits a 4×4 image at
only one position per axis (`(4 − 3) // 2 + 1 = 1`). With `padding=1` it is 2×2.
"""), code("""
for p in (0, 1):
    print(f"padding={p}:", conv_output_shape((1, 1, 3, 3), (1, 4, 4), stride=2, padding=p))"""),
    md("""
In 2-D the matrix has a block structure: one block row per output image row, one block
column per input image row (the thin lines), each block a 1-D convolution matrix. Stride 2
keeps every other row and every other column of the stride-1 matrix.
"""), code("""
plot_stride_comparison((1, 1, 3, 3), (1, 6, 6), padding=1);"""), code("""
C2 = conv_matrix(np.ones((1, 1, 3, 3)), (1, 6, 6), stride=2, padding=1)
plot_sparsity(C2.T, in_shape=(1, 3, 3), out_shape=(1, 6, 6),
              title="C.T of the stride-2 conv: the transposed conv 3×3 → 6×6", annotate=False);"""),
    md("""
### And PyTorch's transposed convolution is that transpose
"""), code("""
if torch is not None:
    rng = np.random.default_rng(0)
    w2 = rng.standard_normal((1, 1, 3, 3)); y = rng.standard_normal((1, 3, 3))
    C2 = conv_matrix(w2, (1, 6, 6), stride=2, padding=1)
    ref = F.conv_transpose2d(torch.from_numpy(y)[None], torch.from_numpy(w2), stride=2,
                             padding=1, output_padding=1)[0].numpy().ravel()
    print("conv_transpose2d == C.T @ y:", np.allclose(ref, C2.T @ y.ravel()))
else:
    print("skipped: PyTorch is not installed")"""),
]

# --------------------------------------------------------------------------------------
NB04 = [md("""
# 4. Adjoint testing a hand-written operator

A transposed convolution is the adjoint (transpose) of a convolution. Writing one by hand
— in a custom layer, a solver, a physics model — is easy to get *almost* right. The
**dot-product test** catches it: for random `x`, `y`,
`⟨A x, y⟩ = ⟨x, Aᵀ y⟩` holds for the true adjoint and fails, by far more than rounding,
for anything else (PyLops' `dottest`). `convmat.testing` has it as `dottest` (the
mismatch) and `assert_adjoint` (raises).
"""), code(SETUP + """
from convmat import conv_matrix, conv_transpose_matrix
from convmat.testing import dottest, assert_adjoint, materialize"""), md("""
## The operator: a 1-D strided convolution, written by hand

`forward` correlates a signal with a 3-tap filter at stride 2 (torch's `conv1d`, no
flip), `adjoint` is meant to be its transpose: scatter each output back, weighted by the
filter — the seed's "copy each input value weighted by the filter, summing the overlaps".
"""), code("""
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
    return out"""), md("""
The bug is invisible on a symmetric filter and plausible on paper: "the adjoint of a
correlation is a correlation with the flipped filter" is true when the adjoint is written
as a sliding window over the zero-padded output, but this adjoint is written as a
scatter, where the filter is not flipped. The dot-product test sees it at once:
"""), code("""
print("buggy adjoint: mismatch", dottest(forward, adjoint_buggy, in_shape=(1, L), rng=0))
print("fixed adjoint: mismatch", dottest(forward, adjoint, in_shape=(1, L), rng=0))"""), code("""
try:
    assert_adjoint(forward, adjoint_buggy, in_shape=(1, L), rng=0)
except AssertionError as err:
    print("AssertionError:", err)
assert_adjoint(forward, adjoint, in_shape=(1, L), rng=0)
print("the fixed adjoint passes")"""), md("""
## Against convmat's matrices

`materialize` probes a black-box linear function and returns its exact sparse matrix.
The hand-written forward is `conv_matrix`, the fixed adjoint is its transpose, which is
`conv_transpose_matrix` — and the buggy one is neither.
"""), code("""
A = materialize(forward, (1, L))
At = materialize(adjoint, (1, n_out))
C = conv_matrix(w[None, None], (1, L), stride=s)
print("forward == conv_matrix:", np.allclose(A.toarray(), C.toarray()))
print("adjoint == conv_transpose_matrix:",
      np.allclose(At.toarray(), conv_transpose_matrix(w[None, None], (1, n_out), stride=s).toarray()))
print("buggy adjoint == C.T:", np.allclose(materialize(adjoint_buggy, (1, n_out)).toarray(), C.T.toarray()))"""),
    md("""
## Every convmat matrix passes the same test

The builders are tested this way: a matrix and the transposed-convolution matrix built
independently for the same geometry must be adjoint. Here with channels, 2-D, stride,
padding and dilation; the mismatch is at the level of rounding.
"""), code("""
rng = np.random.default_rng(1)
wt = rng.standard_normal((4, 3, 3, 3))                 # (C_out, C_in, kh, kw)
kw = dict(stride=2, padding=1, dilation=(1, 2))
C = conv_matrix(wt, (3, 9, 10), **kw)
T = conv_transpose_matrix(wt, (4, 5, 4), output_padding=(0, 1), **kw)
print(C.shape, T.shape)
print("mismatch:", dottest(C, T, rng=0))"""), md("""
### And torch's autograd is an adjoint too

The gradient of `conv2d` with respect to its input is `Cᵀ g`: a vector-Jacobian
product *is* the adjoint applied to `g`, so the dot-product test can check a framework's
backward pass as well.
"""), code("""
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
    print("skipped: PyTorch is not installed")"""),
]

# --------------------------------------------------------------------------------------
NB05 = [md("""
# 5. Checkerboard artefacts and coverage

A transposed convolution writes each input pixel's weighted copy of the filter into the
output, at steps of `stride`. When the kernel size is not a multiple of the stride, the
copies overlap unevenly: some outputs receive contributions from more inputs than their
neighbours. Odena, Dumoulin & Olah (*Deconvolution and Checkerboard Artifacts*, Distill
2016) showed that this produces the checkerboard patterns of many generated images.

With the matrix `T` of the transposed convolution and an all-ones filter, `T @ 1` counts
how many inputs write each output: the **coverage map**.
"""), code(SETUP + """
from convmat import conv_transpose_matrix, conv_matrix, interpolate_matrix
from convmat.plot import plot_coverage, coverage"""), md("""
## 1-D: kernel 3 against kernel 4, stride 2
"""), code("""
print("kernel 3:", coverage(3, 6, 2))
print("kernel 4:", coverage(4, 6, 2))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
plot_coverage(3, 6, 2, ax=axes[0]); plot_coverage(4, 6, 2, ax=axes[1]);"""), md("""
Kernel 3 at stride 2 alternates 1, 2, 1, 2 inside the signal; kernel 4 gives 2 everywhere
away from the borders. The seed's Fig. 7 (2 inputs, 3 taps, stride 2: `ax, ay, az+bx,
by, bz`) is the smallest case: the middle output sums two products, its neighbours one.

## 2-D: the checkerboard
"""), code("""
fig, axes = plt.subplots(1, 2, figsize=(11, 6.2), layout="constrained")
plot_coverage((3, 3), (4, 4), 2, ax=axes[0]); plot_coverage((4, 4), (4, 4), 2, ax=axes[1]);"""),
    md("""
In 2-D the two axes multiply: counts 1, 2 and 4 in a grid. The pattern is there even
with learned weights, unless they are exactly balanced: below, a random positive 3×3
filter upsamples a *constant* image.
"""), code("""
rng = np.random.default_rng(0)
w = rng.uniform(0.5, 1.5, size=(1, 1, 3, 3))
T = conv_transpose_matrix(w, (1, 16, 16), stride=2)
flat = T @ np.ones(16 * 16)
out = flat.reshape(33, 33)
fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
ax.imshow(out[2:-2, 2:-2], cmap="gray")
ax.set_title("conv_transpose (3×3, stride 2) of a constant image:\\nrandom positive filter, borders cropped")
ax.set_xlabel("output column"); ax.set_ylabel("output row");"""), md("""
## Kernel 4 with stride 2 overlaps evenly, stride 3 with kernel 3 not at all
"""), code("""
for k, s in [(4, 2), (3, 3), (2, 2), (5, 2), (6, 3)]:
    c = coverage(k, 8, s)
    inner = c[k - 1 : len(c) - k + 1]
    print(f"kernel {k}, stride {s}: interior coverage {sorted(set(inner.astype(int).tolist()))}",
          "even" if k % s == 0 else "uneven")"""), md("""
## The remedy: resize, then convolve

Odena et al. recommend nearest-neighbour (or bilinear) upsampling followed by an ordinary
convolution. As matrices: `C @ N`, with `N = interpolate_matrix(...)` and `C` a
`padding="same"` convolution. Every output is then computed from the same number of
inputs, whatever the filter: the coverage of the product is flat inside the image.
"""), code("""
N = interpolate_matrix((1, 8, 8), scale_factor=2, mode="nearest")
C = conv_matrix(np.ones((1, 1, 3, 3)), (1, 16, 16), padding="same")
R = C @ N
cov_resize = (R @ np.ones(64)).reshape(16, 16)
cov_transpose = coverage((3, 3), (8, 8), 2)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained")
for ax, m, t in [(axes[0], cov_transpose, "conv_transpose 3×3, stride 2"),
                 (axes[1], cov_resize, "nearest ×2, then conv 3×3 'same'")]:
    im = ax.imshow(m, cmap="Blues", vmin=0); fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(f"{t}\\ninterior values: {sorted(set(m[2:-2, 2:-2].astype(int).ravel().tolist()))}")
fig.suptitle("Weight each output receives from an all-ones input");"""),
]

# --------------------------------------------------------------------------------------
NB06 = [md("""
# 6. Learning the filter

*"Clearly, the filter parameters, x, y, and z, are updated in the backpropagation step,
and this is why the transpose convolution is a learnable upsampling approach."*

The matrix makes this concrete. A transposed convolution is linear in its **weights** as
well as in its input: `T(w) = Σ_k w_k E_k`, with one fixed 0/1 matrix `E_k` per filter tap
(where that tap lands). So for `y = T(w) a` and a loss `L(y)` with gradient
`g = ∂L/∂y`,

    ∂L/∂w_k = gᵀ E_k a,

which is `TapPattern.weight_gradient(g, a)`.
"""), code(SETUP + """
from convmat import conv_transpose_taps, conv_transpose_matrix, conv_matrix
from scipy.sparse.linalg import lsqr"""), md("""
## The tap matrices of the seed's Fig. 7
"""), code("""
taps = conv_transpose_taps((1, 1, 3), (1, 2), stride=2)
for k, name in enumerate("xyz"):
    print(f"E_{name} =\\n{taps.basis(k).toarray().astype(int)}")"""), md("""
## The gradient, three ways

A squared error against a target output: `L = ½‖T(w) a − t‖²`, so `g = T(w) a − t`.
"""), code("""
a = np.array([1., 10.])                      # the input [a, b]
w = np.array([[[0.5, -1.0, 2.0]]])           # the current filter [x, y, z]
t = np.array([1., 2., 13., 20., 30.])        # target: what [1, 2, 3] would give
T = taps.matrix(w)
g = T @ a - t
grad = taps.weight_gradient(g, a)
print("weight_gradient :", grad.ravel())

# by hand, from the seed's outputs ax, ay, az+bx, by, bz:
# dL/dx = g0 a + g2 b,  dL/dy = g1 a + g3 b,  dL/dz = g2 a + g4 b
by_hand = np.array([g[0] * a[0] + g[2] * a[1], g[1] * a[0] + g[3] * a[1],
                    g[2] * a[0] + g[4] * a[1]])
print("by hand         :", by_hand)

eps = 1e-6
loss = lambda w: 0.5 * np.sum((conv_transpose_matrix(w, (1, 2), stride=2) @ a - t) ** 2)
numeric = [(loss(w + eps * np.eye(3)[k].reshape(w.shape)) -
            loss(w - eps * np.eye(3)[k].reshape(w.shape))) / (2 * eps) for k in range(3)]
print("finite difference:", np.array(numeric))"""), code("""
if torch is not None:
    wt = torch.from_numpy(w.copy()).requires_grad_(True)
    y = F.conv_transpose1d(torch.from_numpy(a)[None, None], wt, stride=2)
    (0.5 * ((y[0, 0] - torch.from_numpy(t)) ** 2).sum()).backward()
    print("torch autograd  :", wt.grad.numpy().ravel())
    print("agrees:", np.allclose(wt.grad.numpy(), grad))
else:
    print("skipped: PyTorch is not installed")"""), md("""
## Learning `[x, y, z]` by gradient descent

Start from a wrong filter and follow the gradient on a few random inputs whose target is
the output of the true filter `[1, 2, 3]`. The loss is quadratic in `w`, so plain
gradient descent converges.
"""), code("""
rng = np.random.default_rng(0)
true_w = np.array([[[1., 2., 3.]]])
A = rng.standard_normal((8, 2))                           # a batch of 8 inputs [a, b]
targets = A @ conv_transpose_matrix(true_w, (1, 2), stride=2).T
w = np.zeros((1, 1, 3))
history = []
for step in range(60):
    Y = A @ taps.matrix(w).T
    G = Y - targets
    history.append(0.5 * np.sum(G ** 2) / len(A))
    w = w - 0.1 * taps.weight_gradient(G, A) / len(A)
print("learned [x, y, z] =", w.ravel().round(4))
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.semilogy(history); ax.set_xlabel("step"); ax.set_ylabel("loss")
ax.set_title("Gradient descent on the filter of a transposed conv");"""), md("""
## Going the other way: deblurring with the convolution matrix

The matrix also lets a sparse solver *invert* a convolution, where that is possible. A
signal blurred by a 5-tap filter (`padding="same"`) plus a little noise is recovered by
damped least squares, `scipy.sparse.linalg.lsqr` on `C` — which only needs `C @ v` and
`C.T @ u`: the convolution and the transposed convolution.

This works because the 5-tap blur `[1, 2, 4, 2, 1] / 10` keeps every frequency (its
response never vanishes). The binomial `[1, 4, 6, 4, 1] / 16` erases the alternating
signal `+1, −1, +1, ...` entirely: that part of the input is lost, and no solver gets it
back.
"""), code("""
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
print("relative error, recovered:", np.linalg.norm(recovered - signal) / np.linalg.norm(signal))"""),
]

NOTEBOOKS = {
    "01_pooling_and_unpooling.ipynb": NB01,
    "02_transposed_conv_1d.ipynb": NB02,
    "03_why_transpose.ipynb": NB03,
    "04_adjoint_testing.ipynb": NB04,
    "05_checkerboard_artefacts.ipynb": NB05,
    "06_learning_the_filter.ipynb": NB06,
}


def build(name, cells, run=True):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    if run:
        from nbclient import NotebookClient

        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.validate(nb)
    nbformat.write(nb, HERE / name)
    return HERE / name


def main(argv):
    run = "--no-run" not in argv
    wanted = [a for a in argv if not a.startswith("--")]
    for name, cells in NOTEBOOKS.items():
        if wanted and not any(w in name for w in wanted):
            continue
        print(build(name, cells, run=run))


if __name__ == "__main__":
    main(sys.argv[1:])
