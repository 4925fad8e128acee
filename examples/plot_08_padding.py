"""
Padding as a matrix, and its transpose
======================================

``F.pad`` is linear too. Reflect padding of ``[a, b, c, d]`` by 2 before and 1 after
reads ``c b | a b c d | c``: each output row holds one 1, in the column it copies. The
transpose sends every output back to where it came from and adds up — the gradient of
padding, which folds the border onto the input.
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat
from convmat.plot import plot_sparsity

P = convmat.pad_matrix((1, 4), (2, 1), mode="reflect")
fig, axes = plt.subplots(1, 2, figsize=(8, 4.2), layout="constrained")
plot_sparsity(P, in_names="abcd", ax=axes[0], title="P: reflect padding (2, 1)")
plot_sparsity(P.T, out_names="abcd", ax=axes[1], title="P.T: folds the border back")

print("P @ [a, b, c, d] reads inputs", P.indices)
print("P.T @ ones =", P.T @ np.ones(P.shape[0]), "(how many outputs copy each input)")
plt.show()
