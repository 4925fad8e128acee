"""PyTorch as the oracle: imported once here; tests that need it are skipped without it."""

import numpy as np
import pytest

try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)  # max_unpool's CPU kernel races with more threads
except ImportError:  # pragma: no cover - CI always installs torch
    torch = None
    F = None

needs_torch = pytest.mark.skipif(
    torch is None,
    reason="PyTorch is not installed: oracle tests need `pip install torch==2.13.0`",
)


def to_torch(x):
    """One sample as a batch of one, float64 unless the array says otherwise."""
    return torch.from_numpy(np.ascontiguousarray(x))[None]


def from_torch(t):
    """A batch of one back to a flat numpy vector."""
    return t.detach()[0].numpy().ravel()
