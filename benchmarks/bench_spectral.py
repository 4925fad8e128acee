"""The certified operator norm against plain power iteration, one thread.

    python benchmarks/bench_spectral.py

For each case it prints the time of ``convmat.conv_operator_norm`` (circulant upper bound,
windowed plane wave and Lanczos lower bound), its certified relative gap
``(upper - lower) / upper``, and, for scale, 100 steps of power iteration with torch's own
``conv2d`` / ``conv_transpose2d`` (its estimate is a lower bound with no upper bound: how far
it is below the certified interval is printed as its relative deficit).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads its BLAS

import time  # noqa: E402

import numpy as np  # noqa: E402

import convmat  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    torch = None

# (name, weight shape, input shape, kwargs, rtol)
CASES = [
    ("conv2d 3->2 256x256 k3 p1", (2, 3, 3, 3), (3, 256, 256), dict(padding=1), 1e-4),
    ("conv2d 3->2 256x256 k3 s2 p1", (2, 3, 3, 3), (3, 256, 256),
     dict(stride=2, padding=1), 1e-4),
    ("conv2d 16->16 64x64 k3 p1", (16, 16, 3, 3), (16, 64, 64), dict(padding=1), 1e-3),
    ("conv2d 3->2 256x256 k3 circular s2", (2, 3, 3, 3), (3, 256, 256),
     dict(stride=2, padding=1, padding_mode="circular"), 1e-4),
]


def power_iteration(w, shape, kwargs, steps=100):
    """Power iteration on ``A^T A`` with torch's conv and its transpose (autograd-free)."""
    wt = torch.from_numpy(w)
    x = torch.randn((1, *shape), dtype=wt.dtype, generator=torch.Generator().manual_seed(0))
    sigma = 0.0
    for _ in range(steps):
        x = x / x.norm()
        y = F.conv2d(x, wt, **kwargs)
        sigma = float(y.norm())
        pad = [(s - 1) - (o - 1) * st + p * 2 - (k - 1)
               for s, o, st, p, k in zip(shape[1:], y.shape[2:], _pair(kwargs.get("stride", 1)),
                                         _pair(kwargs.get("padding", 0)), w.shape[2:])]
        x = F.conv_transpose2d(y, wt, stride=kwargs.get("stride", 1),
                               padding=kwargs.get("padding", 0), output_padding=tuple(pad))
    return sigma


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def main():
    rng = np.random.default_rng(0)
    print(f"{'case':38} {'rtol':>7} {'time':>8} {'gap':>9} {'method':>7} {'norm':>12} "
          f"| {'power x100':>10} {'deficit':>9}")
    for name, wshape, shape, kwargs, rtol in CASES:
        w = rng.standard_normal(wshape)
        start = time.perf_counter()
        norm = convmat.conv_operator_norm(w, shape, rtol=rtol, **kwargs)
        took = time.perf_counter() - start
        line = (f"{name:38} {rtol:7.0e} {took:7.3f}s {norm.gap:9.2e} {norm.method:>7} "
                f"{float(norm):12.8f}")
        if torch is not None and kwargs.get("padding_mode", "zeros") == "zeros":
            start = time.perf_counter()
            sigma = power_iteration(w, shape, kwargs)
            took = time.perf_counter() - start
            line += f" | {took:9.3f}s {(norm.lower - sigma) / norm.lower:9.2e}"
        print(line)


if __name__ == "__main__":
    main()
