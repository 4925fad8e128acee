"""
Coverage and the checkerboard artefact
======================================

How many input values does each output of a transposed convolution receive? It is
``T @ 1`` for the transposed convolution ``T`` with a filter of ones. At stride 2, a
kernel of size 3 (not a multiple of the stride) covers outputs unevenly — 1, 2, 1, 2, ...
— and, in 2-D, in a checkerboard; a kernel of size 4 covers them evenly.
"""

import matplotlib.pyplot as plt

from convmat.plot import coverage, plot_coverage

for size in [(5,), (4, 4)]:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8 if len(size) == 1 else 6.6),
                             layout="constrained")
    for ax, kernel in zip(axes, (3, 4)):
        plot_coverage(kernel, size, 2, ax=ax)

print("1-D coverage, kernel 3:", coverage(3, (5,), 2))
print("1-D coverage, kernel 4:", coverage(4, (5,), 2))
plt.show()
