"""
Adaptive pooling: windows of different sizes
============================================

Adaptive pooling asks for an output size, not a kernel: output ``i`` of ``O`` averages
inputs ``floor(i L / O)`` to ``ceil((i + 1) L / O) - 1``. From 5 inputs to 3 outputs the
windows are ``[0, 1]``, ``[1, 2, 3]`` and ``[3, 4]``: of different sizes, and
overlapping — no single kernel size and stride describe them, but one matrix does.
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat
from convmat.plot import plot_sparsity

A = convmat.adaptive_avg_pool_matrix((1, 5), 3)
print(A.toarray().round(3))

x = np.array([[4.0, 1.0, 7.0, 2.0, 5.0]])
S, indices = convmat.adaptive_max_pool_selection(x, 3)
print("adaptive max pooling picks", indices, "->", S @ x.ravel())

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
plot_sparsity(A, in_names="abcde", ax=axes[0], title="adaptive average pooling 5 → 3")
plot_sparsity(S, in_names="abcde", ax=axes[1], title="adaptive max pooling of x")
plt.show()
