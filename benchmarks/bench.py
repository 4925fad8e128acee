"""Build time and peak memory of each builder, against copying the finished matrix.

    python benchmarks/bench.py            # every case
    python benchmarks/bench.py conv       # cases whose name contains "conv"

For each case it prints the best-of-N build time, the time to copy the finished
``data``, ``indices`` and ``indptr`` arrays, their ratio (target: at most 3), and the peak
memory traced during one build against the finished arrays' bytes (target: at most 2).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable

import numpy as np

import convmat


@dataclass
class Case:
    name: str
    build: Callable[[], object]
    repeat: int = 5


def _conv_1x1024() -> object:
    w = np.random.default_rng(0).standard_normal((1, 1, 3, 3))
    return convmat.conv_matrix(w, (1, 1024, 1024), padding=1)


def _conv_16x128_f32() -> object:
    w = np.random.default_rng(0).standard_normal((16, 16, 3, 3)).astype(np.float32)
    return convmat.conv_matrix(w, (16, 128, 128), padding=1)


def _conv_transpose_16x64_f32() -> object:
    w = np.random.default_rng(0).standard_normal((16, 16, 4, 4)).astype(np.float32)
    return convmat.conv_transpose_matrix(w, (16, 64, 64), stride=2, padding=1)


def _conv_reflect_1x512() -> object:
    w = np.random.default_rng(0).standard_normal((1, 1, 3, 3))
    return convmat.conv_matrix(w, (1, 512, 512), padding=1, padding_mode="reflect")


def _conv_weight_16x128_f32() -> object:
    x = np.random.default_rng(0).standard_normal((16, 128, 128)).astype(np.float32)
    return convmat.conv_weight_matrix(x, (16, 16, 3, 3), padding=1)


_X16x256 = np.random.default_rng(0).standard_normal((16, 256, 256)).astype(np.float32)
_IDX16x128 = convmat.max_pool_selection(_X16x256, 2)[1]
# A random affine map near the identity: rotated, sheared, shifted; some outputs fall outside.
_GRID16x256 = convmat.affine_grid(
    (np.eye(2, 3) + 0.2 * np.random.default_rng(0).standard_normal((2, 3))).astype(np.float32),
    (16, 256, 256))


CASES: list[Case] = [
    Case("conv2d 1->1 1024x1024 k3 p1 float64", _conv_1x1024),
    Case("conv2d 16->16 128x128 k3 p1 float32", _conv_16x128_f32),
    Case("conv_transpose2d 16->16 64x64 k4 s2 p1 float32", _conv_transpose_16x64_f32),
    Case("conv2d 1->1 512x512 k3 p1 reflect (sorts and merges)", _conv_reflect_1x512),
    Case("max_pool_selection 16x256x256 k2 float32 (S and indices)",
         lambda: convmat.max_pool_selection(_X16x256, 2)),
    Case("max_pool_selection 16x256x256 k3 s2 p1 float32 (overlapping)",
         lambda: convmat.max_pool_selection(_X16x256, 3, stride=2, padding=1)),
    Case("avg_pool 16x256x256 k2", lambda: convmat.avg_pool_matrix((16, 256, 256), 2)),
    Case("max_unpool 16x128x128 -> 16x256x256",
         lambda: convmat.max_unpool_matrix(_IDX16x128, 2)),
    Case("interpolate bilinear 16x128x128 x2",
         lambda: convmat.interpolate_matrix((16, 128, 128), scale_factor=2, mode="bilinear")),
    Case("interpolate nearest 16x128x128 x2",
         lambda: convmat.interpolate_matrix((16, 128, 128), scale_factor=2)),
    Case("pixel_shuffle 64x128x128 r2", lambda: convmat.pixel_shuffle_matrix((64, 128, 128), 2)),
    Case("pad reflect 16x512x512 (3, 3, 3, 3)",
         lambda: convmat.pad_matrix((16, 512, 512), (3, 3, 3, 3), mode="reflect")),
    Case("grid_sample bilinear 16x256x256 random affine float32",
         lambda: convmat.grid_sample_matrix((16, 256, 256), _GRID16x256)),
    Case("unfold 16x128x128 k3", lambda: convmat.unfold_matrix((16, 128, 128), 3)),
    Case("conv_weight 16->16 128x128 k3 p1 float32", _conv_weight_16x128_f32),
]


def _arrays(result) -> list[np.ndarray]:
    """The finished arrays of a builder's result: a sparse matrix's three, plus any array
    returned beside it (max pooling's indices)."""
    parts = result if isinstance(result, tuple) else (result,)
    out = []
    for part in parts:
        out += [part.data, part.indices, part.indptr] if hasattr(part, "indptr") else [part]
    return out


def _copy_time(result, repeat: int) -> float:
    """Best time to copy the finished matrix: all its arrays, held together as a built
    matrix holds them (a copy dropped before the next one is made would reuse warm pages
    and time a smaller job than any builder's)."""
    arrays = _arrays(result)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        copies = [a.copy() for a in arrays]
        best = min(best, time.perf_counter() - t0)
        del copies
    return best


def measure(case: Case) -> dict:
    best = np.inf
    for _ in range(case.repeat):
        t0 = time.perf_counter()
        result = case.build()
        best = min(best, time.perf_counter() - t0)
        del result
    result = case.build()
    copy = _copy_time(result, case.repeat)
    size = sum(a.nbytes for a in _arrays(result))
    first = result[0] if isinstance(result, tuple) else result
    nnz = first.nnz
    del result, first
    tracemalloc.start()
    result = case.build()  # kept alive while the peak is read
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return {"name": case.name, "nnz": nnz, "build": best, "copy": copy,
            "time_ratio": best / copy, "mib": size / 2**20, "mem_ratio": peak / size}


def main(argv: list[str]) -> int:
    pattern = argv[0] if argv else ""
    print(f"{'case':58s} {'nnz':>11s} {'build ms':>9s} {'copy ms':>8s} {'x copy':>7s} "
          f"{'MiB':>7s} {'peak/size':>9s}")
    for case in CASES:
        if pattern not in case.name:
            continue
        r = measure(case)
        print(f"{r['name']:58s} {r['nnz']:11,d} {1e3 * r['build']:9.1f} {1e3 * r['copy']:8.1f} "
              f"{r['time_ratio']:7.2f} {r['mib']:7.1f} {r['mem_ratio']:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
