"""
A convolution matrix and its transpose
======================================

Why "transpose"? Write the convolution with the filter ``[x, y, z]`` as a matrix ``C``:
the transposed convolution is ``C.T``, entry for entry. At stride 1 with padding 1, ``C``
takes 4 inputs to 4 outputs; at stride 2 without padding it takes 5 inputs to 2, and
``C.T`` takes 2 back to 5 — the article's transposed convolution.
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat
from convmat.plot import plot_transpose_pair

plot_transpose_pair((1, 1, 3), (1, 4), stride=1, padding=1,
                    title="C (stride 1, padding 1) and C.T")
plot_transpose_pair((1, 1, 3), (1, 5), stride=2,
                    title="C (stride 2) and C.T, the transposed convolution 2 → 5")

# %%
# The transposed convolution built directly is that transpose:
w = np.array([[[1., 2., 3.]]])
C = convmat.conv_matrix(w, (1, 5), stride=2)
T = convmat.conv_transpose_matrix(w, (1, 2), stride=2)
print("conv_transpose_matrix == conv_matrix.T:", (T != C.T).nnz == 0)
plt.show()
