"""
Max pooling is a selection matrix
=================================

Max pooling 2×2 with stride 2 takes a 4×4 map to 2×2, keeping each window's maximum.
For one input ``x`` it is a matrix ``S`` with a single 1 per row, in the column of that
window's maximum, so that the pooled map is ``S @ x``. :func:`convmat.max_pool_selection`
returns ``S`` and the indices torch's ``F.max_pool2d(..., return_indices=True)`` returns.
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat
from convmat.plot import plot_before_after, plot_sparsity

x = np.array([[1., 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
S, indices = convmat.max_pool_selection(x[None], 2)
pooled = (S @ x.ravel()).reshape(2, 2)

chosen = np.zeros(x.size, bool)
chosen[S.indices] = True  # the one column of each row: the window's maximum
plot_before_after(x, pooled, highlight_before=chosen.reshape(4, 4), block=(2, 2),
                  title="Max pooling 2×2, stride 2: each window keeps its maximum")

# %%
# The matrix itself: 4 rows (the outputs), 16 columns (the inputs), one 1 per row.
plot_sparsity(S, in_shape=(1, 4, 4), out_shape=(1, 2, 2), title="S, the max pooling of x")
print("indices, as torch returns them:\n", indices)
plt.show()
