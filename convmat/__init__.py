"""convmat: every convolution, pooling and unpooling of a neural network as a sparse matrix.

One sample ``x`` of shape ``(C, *spatial)`` is flattened in C order; each builder returns
the ``scipy.sparse.csr_array`` ``A`` with ``A @ x.ravel()`` equal to the matching
``torch.nn.functional`` op. A transposed convolution is then literally ``C.T``.
"""

from ._sparse import get_max_entries, set_max_entries
from .convolution import (
    TapPattern,
    conv_matrix,
    conv_taps,
    conv_transpose_matrix,
    conv_transpose_taps,
)
from .shapes import conv_output_shape, conv_transpose_output_shape

__version__ = "0.1.0"

__all__ = [
    "TapPattern",
    "conv_matrix",
    "conv_output_shape",
    "conv_taps",
    "conv_transpose_matrix",
    "conv_transpose_output_shape",
    "conv_transpose_taps",
    "get_max_entries",
    "set_max_entries",
]
