"""
im2col: a convolution is one matrix product
===========================================

``F.unfold`` (im2col) copies every k×k patch of the image into a column; a convolution
is then the weights, one row per filter, times that matrix of patches. For one image the
unfolding is itself a 0/1 matrix ``U`` with one 1 per row, and ``F.fold`` (col2im) is its
transpose, which adds the overlapping patches back together.
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat
from convmat.plot import plot_sparsity

x = np.arange(1.0, 10.0).reshape(1, 3, 3)  # one 3×3 image
U = convmat.unfold_matrix(x.shape, 2)  # 2×2 patches: (4 taps × 4 patches) × 9 pixels
patches = (U @ x.ravel()).reshape(4, 4)  # column j: the j-th patch, flattened
print("patches as columns:\n", patches)

w = np.array([[1.0, 0.0, 0.0, -1.0]])  # one 2×2 filter, flattened
C = convmat.conv_matrix(w.reshape(1, 1, 2, 2), x.shape)
print("w @ patches == conv(x, w):", np.allclose(w @ patches, C @ x.ravel()))

fold = convmat.fold_matrix((4, 4), (3, 3), 2)
print("fold is U.T:", (fold != U.T).nnz == 0)
plot_sparsity(U, in_shape=x.shape, title="U = unfold: 16 rows (tap, patch), 9 pixels")
plt.show()
