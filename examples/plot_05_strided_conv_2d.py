"""
Down with a strided convolution, up with a transposed one
=========================================================

A 3×3 filter of ones at stride 2 takes the 4×4 map down to 2×2 (it needs padding 1 to
do so). The transposed convolution with the same filter takes a 2×2 map back up to 4×4:
where stamps overlap, their values add up (``output_padding=1`` picks 4×4 among the
sizes that stride 2 maps back to 2×2).
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat
from convmat.plot import plot_before_after

x = np.array([[1., 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
w = np.ones((1, 1, 3, 3))

C = convmat.conv_matrix(w, (1, 4, 4), stride=2, padding=1)
plot_before_after(x, (C @ x.ravel()).reshape(2, 2),
                  title="Strided convolution 4×4 → 2×2: 3×3 ones, stride 2, padding 1")

y = np.array([[1., 2], [3, 4]])
T = convmat.conv_transpose_matrix(w, (1, 2, 2), stride=2, padding=1, output_padding=1)
plot_before_after(y, (T @ y.ravel()).reshape(4, 4),
                  title="Transposed convolution 2×2 → 4×4: overlapping stamps add up")
plt.show()
