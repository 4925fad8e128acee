"""A whole network's Jacobian: convmat.network.linearize against torch's autograd, one thread.

    python benchmarks/bench_network.py

The network has 6 layers (conv, ReLU, max pool, conv, ReLU, upsample) on one 3x64x64 float32
sample. It prints

* the time of ``linearize`` (the exact Jacobian as sparse factors) against
  ``torch.autograd.functional.jacobian(..., vectorize=True)`` (the same Jacobian, dense) in
  the same run (target: linearize at least 100x faster), both checked against each other;
* the memory of the factors against the sum of the layers' own matrices built one by one
  with convmat's builders (target: at most 2x), and of the multiplied-out ``J``.

torch's dense Jacobian of this network holds 12,288 x 12,288 float32 values (600 MB) and
needs a few GB while it is computed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads its BLAS

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import sparse  # noqa: E402
from torch import nn  # noqa: E402

import convmat  # noqa: E402
from convmat.network import linearize  # noqa: E402

torch.set_num_threads(1)


def network() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 3, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
    ).eval()


def nbytes(A) -> int:
    return A.data.nbytes + A.indices.nbytes + A.indptr.nbytes


def layer_matrices(model, x) -> list:
    """Each layer's own matrix, built on its own by convmat's builders (the ReLUs are
    diagonals of the same size as their input)."""
    mats, t = [], torch.from_numpy(x)[None]
    with torch.no_grad():
        for layer in model:
            a = t[0].numpy()
            if isinstance(layer, nn.Conv2d):
                mats.append(convmat.conv_matrix(layer.weight.numpy(), a.shape, padding=1))
            elif isinstance(layer, nn.MaxPool2d):
                mats.append(convmat.max_pool_selection(a, 2)[0])
            elif isinstance(layer, nn.Upsample):
                mats.append(convmat.interpolate_matrix(a.shape, scale_factor=2,
                                                       dtype=np.float32))
            else:
                mats.append(sparse.diags_array(np.ones(a.size, np.float32), format="csr"))
            t = layer(t)
    return mats


def best_of(f, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    model = network()
    x = np.random.default_rng(0).standard_normal((3, 64, 64)).astype(np.float32)
    t_lin, lin = best_of(lambda: linearize(model, x), 5)

    f = lambda t: model(t[None])[0]
    start = time.perf_counter()
    J_torch = torch.autograd.functional.jacobian(f, torch.from_numpy(x), vectorize=True)
    t_torch = time.perf_counter() - start
    J_torch = J_torch.reshape(-1, x.size).numpy()

    t_mat, J = best_of(lin.matrix, 3)
    assert np.abs(J.toarray() - J_torch).max() <= 1e-5 * max(1.0, np.abs(J_torch).max())
    del J_torch

    factors = sum(nbytes(M) for node in lin.nodes for M in node.matrices) + sum(
        node.offset.nbytes for node in lin.nodes if node.offset is not None)
    own = sum(nbytes(M) for M in layer_matrices(model, x))

    rows = [
        ("linearize (sparse factors)", f"{t_lin * 1e3:9.1f} ms", ""),
        ("torch jacobian(vectorize=True)", f"{t_torch * 1e3:9.1f} ms",
         f"linearize {t_torch / t_lin:,.0f}x faster (target >= 100x)"),
        ("Linearization.matrix() (J, csr)", f"{t_mat * 1e3:9.1f} ms", f"J: {J.nnz:,} entries"),
        ("memory of the factors", f"{factors / 2**20:9.2f} MiB",
         f"{factors / own:.2f}x the layers' own matrices (target <= 2x)"),
        ("memory of the layers' own matrices", f"{own / 2**20:9.2f} MiB", ""),
        ("memory of J (csr)", f"{nbytes(J) / 2**20:9.2f} MiB",
         f"torch's dense J: {J.shape[0] * J.shape[1] * 4 / 2**20:,.0f} MiB"),
    ]
    print(f"6-layer conv/ReLU/max-pool/upsample network on 3x64x64 float32, one thread "
          f"({len(lin.nodes)} nodes, J {J.shape[0]:,} x {J.shape[1]:,})")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value}  {note}")


if __name__ == "__main__":
    main()
