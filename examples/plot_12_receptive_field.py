"""
The receptive field of a network
================================

Which inputs can reach one output of a network, whatever its weights? Multiply the
sparsity patterns of its layers: a convolution's taps, a max pooling's whole window.
:func:`convmat.network.receptive_field` does it for a ``torch.nn.Module``; for two 3×3
convolutions around a 2×2 max pooling, an output sees a square of 1 + 2 + 1 + 2·2 = 8 pixels.
(This example needs PyTorch.)
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from convmat.network import plot_receptive_field, receptive_field

model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(4, 1, 3),
).eval()

x = np.random.default_rng(0).standard_normal((1, 16, 16))
field = receptive_field(model, x.shape, (0, 2, 3))
rows, cols = np.nonzero(field[0])
print(f"output (0, 2, 3) sees rows {rows.min()}-{rows.max()}, columns {cols.min()}-{cols.max()}")

fig, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
plot_receptive_field(model, x, (0, 2, 3), ax=ax)
plt.show()
