"""
The 1-D transposed convolution, stride 2 and stride 1
=====================================================

Inputs ``[a, b]`` and the filter ``[x, y, z]``: each input stamps the filter on the
output, shifted by the stride, and overlapping stamps add up. At stride 2 the two stamps
overlap in one place and give 5 outputs, ``a x, a y, a z + b x, b y, b z``; at stride 1
they overlap in two and give 4. Each entry of the matrix is labelled by the filter tap it
holds (:func:`convmat.conv_transpose_taps`).
"""

import matplotlib.pyplot as plt

import convmat
from convmat.plot import plot_taps

for stride in (2, 1):
    taps = convmat.conv_transpose_taps((1, 1, 3), (1, 2), stride=stride)
    n_out = taps.shape[0]
    fig, ax = plt.subplots(figsize=(5.2, 1.6 + 0.55 * n_out), layout="constrained")
    plot_taps(taps, "xyz", in_shape=(1, 2), out_shape=(1, n_out), in_names="ab", ax=ax,
              title=f"Transposed conv, stride {stride}: 2 inputs → {n_out} outputs")
plt.show()
