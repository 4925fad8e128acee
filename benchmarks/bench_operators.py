"""Matrix-free operators against torch's CPU ops (convolutions, pooling, interpolation), one thread.

    python benchmarks/bench_operators.py

For each case it prints the best-of-N time of ``matvec`` (forward) and ``rmatvec``
(adjoint) of the convmat operator, torch's forward op on the same sample, and the ratio
(target: forward within 3x of torch). Both libraries are pinned to one thread so that the
comparison does not depend on how they share the machine.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads its BLAS

import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

import convmat  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    torch = None


@dataclass
class Case:
    name: str
    weight_shape: tuple  # None: a weightless map, ``op`` names it
    input_shape: tuple
    kwargs: dict
    transpose: bool = False
    dtype: type = np.float32
    op: str = "conv"  # or "avg_pool", "interpolate", "pad", "grid_sample", "unfold", "fold"


CASES = [
    Case("conv2d 16->16 128x128 k3 p1 float32", (16, 16, 3, 3), (16, 128, 128), dict(padding=1)),
    Case("conv2d 16->16 128x128 k3 s2 p1 float32", (16, 16, 3, 3), (16, 128, 128),
         dict(stride=2, padding=1)),
    Case("conv2d 32->32 64x64 k3 p1 groups=4 float32", (32, 8, 3, 3), (32, 64, 64),
         dict(padding=1, groups=4)),
    Case("conv_transpose2d 16->16 64x64 k4 s2 p1 float32", (16, 16, 4, 4), (16, 64, 64),
         dict(stride=2, padding=1), transpose=True),
    Case("conv3d 8->8 32^3 k3 p1 float32", (8, 8, 3, 3, 3), (8, 32, 32, 32), dict(padding=1)),
    Case("avg_pool2d 16x128x128 k3 s2 p1 float64", None, (16, 128, 128),
         dict(kernel_size=3, stride=2, padding=1), dtype=np.float64, op="avg_pool"),
    Case("interpolate bilinear 16x64x64 x2 float32", None, (16, 64, 64),
         dict(scale_factor=2, mode="bilinear"), op="interpolate"),
    Case("pad reflect 16x512x512 (3, 3, 3, 3) float32", None, (16, 512, 512),
         dict(pad=(3, 3, 3, 3), mode="reflect"), op="pad"),
    Case("grid_sample bilinear 16x128x128 random affine float32", None, (16, 128, 128),
         dict(mode="bilinear", padding_mode="zeros", align_corners=False), op="grid_sample"),
    Case("unfold 16x128x128 k3 p1 float32", None, (16, 128, 128),
         dict(kernel_size=3, padding=1), op="unfold"),
    Case("fold 144x16384 -> 16x128x128 k3 p1 float32", None, (16 * 9, 128 * 128),
         dict(output_size=(128, 128), kernel_size=3, padding=1), op="fold"),
]


def best_of(f, repeat: int = 15) -> float:
    f()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def build(case: Case, rng):
    """The convmat operator and the matching torch call on a batch of one."""
    nd = len(case.input_shape) - 1
    if case.op == "avg_pool":
        return (convmat.avg_pool_operator(case.input_shape, **case.kwargs),
                lambda xt: getattr(F, f"avg_pool{nd}d")(xt, **case.kwargs))
    if case.op == "grid_sample":
        theta = np.eye(2, 3) + 0.2 * rng.standard_normal((2, 3))
        grid = convmat.affine_grid(theta.astype(case.dtype), case.input_shape)
        return (convmat.grid_sample_operator(case.input_shape, grid, **case.kwargs),
                lambda xt: F.grid_sample(xt, torch.from_numpy(grid)[None], **case.kwargs))
    if case.op == "pad":
        return (convmat.pad_operator(case.input_shape, **case.kwargs),
                lambda xt: F.pad(xt, **case.kwargs))
    if case.op == "unfold":
        return (convmat.unfold_operator(case.input_shape, **case.kwargs),
                lambda xt: F.unfold(xt, **case.kwargs))
    if case.op == "fold":
        return (convmat.fold_operator(case.input_shape, **case.kwargs),
                lambda xt: F.fold(xt, **case.kwargs))
    if case.op == "interpolate":
        return (convmat.interpolate_operator(case.input_shape, dtype=case.dtype,
                                             **case.kwargs),
                lambda xt: F.interpolate(xt, **case.kwargs))
    w = rng.standard_normal(case.weight_shape).astype(case.dtype)
    make = convmat.conv_transpose_operator if case.transpose else convmat.conv_operator
    kind = "conv_transpose" if case.transpose else "conv"
    return (make(w, case.input_shape, **case.kwargs),
            lambda xt: getattr(F, f"{kind}{nd}d")(xt, torch.from_numpy(w), **case.kwargs))


def measure(case: Case) -> dict:
    rng = np.random.default_rng(0)
    op, torch_op = build(case, rng)
    x = rng.standard_normal(op.shape[1]).astype(case.dtype)
    y = rng.standard_normal(op.shape[0]).astype(case.dtype)
    r = {"name": case.name, "matvec": best_of(lambda: op.matvec(x)),
         "rmatvec": best_of(lambda: op.rmatvec(y)), "torch": np.nan}
    if torch is not None:
        xt = torch.from_numpy(x.reshape(1, *case.input_shape))
        with torch.no_grad():
            r["torch"] = best_of(lambda: torch_op(xt))
            ref = torch_op(xt).numpy().ravel()
        r["error"] = float(np.abs(op.matvec(x) - ref).max() / np.abs(ref).max())
    return r


def main(argv: list[str]) -> int:
    pattern = argv[0] if argv else ""
    print(f"{'case':50s} {'matvec ms':>10s} {'rmatvec ms':>11s} {'torch ms':>9s} "
          f"{'x torch':>8s} {'rel err':>8s}")
    for case in CASES:
        if pattern not in case.name:
            continue
        r = measure(case)
        print(f"{r['name']:50s} {1e3 * r['matvec']:10.2f} {1e3 * r['rmatvec']:11.2f} "
              f"{1e3 * r['torch']:9.2f} {r['matvec'] / r['torch']:8.2f} "
              f"{r.get('error', np.nan):8.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
