"""
Sparsity at stride 1 and stride 2
=================================

The same 3-tap filter as a matrix at stride 1 and at stride 2: a band that shifts by one
column per row, or by two (every other row of the stride-1 matrix). In 1-D with two
channels each block of the matrix is one (output channel, input channel) pair; in 2-D a
3×3 filter on a 6×6 image gives three bands per block row, one per filter row.
"""

import matplotlib.pyplot as plt

from convmat.plot import plot_stride_comparison

plot_stride_comparison((2, 2, 3), (2, 10), padding=1, in_names=None, annotate=False,
                       title="1-D: 2 channels of length 10, kernel 3, padding 1")
plot_stride_comparison((1, 1, 3, 3), (1, 6, 6), padding=1,
                       title="2-D: a 6×6 image, kernel 3×3, padding 1")
plt.show()
