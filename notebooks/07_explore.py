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
# # 7. Explore: move a slider, watch the matrix
#
# `convmat.explore.explore` puts an operation's matrix on sliders: kernel, stride,
# padding, dilation, output padding and the input size, for a convolution, a transposed
# convolution, max and average pooling, and the three unpoolings of the article
# *Unsampling: Unpooling and Transpose Convolution* (nearest neighbour, bed of nails, max
# unpooling). It shows the matrix beside its transpose, the output size with its formula
# filled in, and the coverage: how many windows read each input (or, for a transposed
# convolution, how many inputs write each output).
#
# The sliders need a running kernel and `ipywidgets` (`pip install ".[notebooks]"`, then
# `jupyter lab notebooks/`). On a static page the widget is not drawn, so every step below
# also sets the controls in code and shows the picture they give.

# %%
# %matplotlib inline
from convmat.explore import explore

ex = explore("conv", size=5, kernel=3, stride=2, padding=1)
ex

# %% [markdown]
# The explorer's state is in plain attributes: `ex.controls` (the widgets, by name),
# `ex.formula`, `ex.figure`, and `ex.view.matrix`, the `csr_array` that is drawn. The
# filter is `1, 2, ..., K` — for 3 taps, the article's `[x, y, z] = [1, 2, 3]`.

# %%
print(ex.formula)
print(ex.view.matrix.toarray())
ex.figure

# %% [markdown]
# ## 1. Stride 2 keeps every other row of stride 1
#
# Move the stride slider to 1 (or run the cell): the matrix gains the rows in between, and
# each input is read by up to 3 windows instead of 1 or 2.

# %%
ex.controls["stride"].value = 1
print(ex.formula)
ex.figure

# %% [markdown]
# ## 2. The transposed convolution is the transpose
#
# Choose `conv_transpose` with an input of 2 and stride 2: the matrix is the article's
# Fig. 7 (`ax, ay, az+bx, by, bz`), and its transpose is the stride-2 convolution of 5
# inputs. `set` changes several controls with one redraw.

# %%
ex.set(op="conv_transpose", size=2, stride=2, padding=0)
print(ex.formula)
ex.figure

# %% [markdown]
# ## 3. The checkerboard, in 2-D
#
# A 3×3 kernel at stride 2 writes some outputs 4 times, their neighbours 2 or 1 times —
# the checkerboard artefact of notebook 5. Try kernel 4: the coverage is even inside the
# border.

# %%
ex.set(dims=2, size=4, kernel=3, stride=2, padding=1, output_padding=1)
print(ex.formula)
ex.figure

# %% [markdown]
# ## 4. What torch refuses, the explorer explains
#
# `output_padding` must be smaller than the stride or the dilation (it picks one of the
# output sizes a strided convolution maps back from). An invalid combination shows the
# library's message instead of a picture; nothing is raised.

# %%
ex.set(output_padding=2)
print(ex.error)

# %% [markdown]
# ## 5. Pooling and the unpoolings
#
# Max pooling of the 4×4 map of notebook 1 is a selection matrix, one 1 per row; max
# unpooling is its transpose; bed of nails puts each value in a fixed corner (for
# `nearest` and `bed-of-nails`, the stride slider is the scale factor).

# %%
ex.set(op="maxpool", dims=2, size=4, kernel=2, stride=2, padding=0, output_padding=0)
print(ex.formula)
ex.figure

# %%
ex.set(op="maxunpool")
print(ex.formula)
ex.figure

# %%
ex.set(op="bed-of-nails", size=2)
print(ex.formula)
ex.figure

# %% [markdown]
# ## Questions to try with the sliders
#
# 1. For which kernel sizes is the coverage of a stride-2 transposed convolution even?
#    And at stride 3?
# 2. Average pooling with kernel 3 and stride 2 reads some inputs twice: where?
# 3. Which `output_padding` values does a transposed convolution with stride 1 and
#    dilation 2 accept, and what do they add to the output?
# 4. Set a 1-D convolution with `padding` larger than `kernel − 1`: what do the first and
#    last rows of the matrix hold?
