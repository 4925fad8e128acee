"""
The three unpoolings
====================

Three ways back from the 2×2 map to 4×4: **nearest neighbour** copies each value to its
whole block, **bed of nails** puts it at one corner and zeros elsewhere, **max
unpooling** puts it where the max pooling found its maximum. Each is a matrix applied to
the small map; max unpooling with the pooling's indices is the transpose ``S.T`` of the
max pooling's selection.
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat
from convmat.plot import plot_before_after

x = np.array([[1., 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
y = np.array([[1., 2], [3, 4]])  # the small map to blow up
S, indices = convmat.max_pool_selection(x[None], 2)

unpoolings = {
    "Nearest neighbour: each value copied to its block":
        convmat.interpolate_matrix((1, 2, 2), scale_factor=2, mode="nearest"),
    "Bed of nails: each value at its block's top-left corner":
        convmat.bed_of_nails_matrix((1, 2, 2), 2),
    "Max unpooling: each value where the max pooling found its maximum":
        convmat.max_unpool_matrix(indices, 2),
}
for title, U in unpoolings.items():
    up = (U @ y.ravel()).reshape(4, 4)
    plot_before_after(y, up, block=(2, 2), highlight_after=up != 0, title=title)

print("max unpooling is S.T:", (unpoolings[title] != S.T).nnz == 0)
plt.show()
