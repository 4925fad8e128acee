"""
Rotating an image is a sparse matrix
====================================

``F.affine_grid`` turns a 2×3 affine matrix into sampling positions, and
``F.grid_sample`` reads the image there with bilinear weights: for a fixed grid that is a
matrix with (at most) four entries per output pixel. Its transpose is the adjoint of the
warp, which spreads each output back over the four pixels it was read from.
"""

import matplotlib.pyplot as plt
import numpy as np

import convmat

n = 32
yy, xx = np.mgrid[:n, :n]
image = ((xx // 8 + yy // 8) % 2 + (xx > n // 2)).astype(float)[None]  # (C, H, W)

angle = np.deg2rad(30)
theta = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0]])
grid = convmat.affine_grid(theta, image.shape)
A = convmat.grid_sample_matrix(image.shape, grid)
print(f"{A.shape[0]}x{A.shape[1]} matrix, {A.nnz} stored entries (≤ 4 per row)")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), layout="constrained")
for ax, img, title in zip(axes, [image, A @ image.ravel(), A.T @ (A @ image.ravel())],
                          ["image x", "A @ x: rotated by 30°", "A.T @ A @ x"]):
    ax.imshow(np.reshape(img, (n, n)), cmap="viridis")
    ax.set(title=title, xticks=[], yticks=[])
plt.show()
