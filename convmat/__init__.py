"""convmat: every convolution, pooling and unpooling of a neural network as a sparse matrix.

One sample ``x`` of shape ``(C, *spatial)`` is flattened in C order; each builder returns
the ``scipy.sparse.csr_array`` ``A`` with ``A @ x.ravel()`` equal to the matching
``torch.nn.functional`` op. A transposed convolution is then literally ``C.T``.
"""

from . import testing  # noqa: F401  (a submodule: convmat.testing.dottest, not re-exported)
from ._sparse import get_max_entries, set_max_entries
from .adaptive import (
    adaptive_avg_pool_matrix,
    adaptive_avg_pool_operator,
    adaptive_max_pool_operator,
    adaptive_max_pool_selection,
    adaptive_pool_output_shape,
)
from .convolution import (
    TapPattern,
    conv_matrix,
    conv_taps,
    conv_transpose_matrix,
    conv_transpose_taps,
)
from .interpolation import interpolate_matrix
from .operators import (
    ConvOperator,
    IndexOperator,
    SeparableOperator,
    avg_pool_operator,
    bed_of_nails_operator,
    conv_operator,
    conv_transpose_operator,
    interpolate_operator,
    max_pool_operator,
    max_unpool_operator,
    pixel_shuffle_operator,
    pixel_unshuffle_operator,
)
from .padding import PadOperator, pad_matrix, pad_operator, pad_output_shape
from .pooling import avg_pool_matrix, max_pool_selection
from .sampling import (
    GridSampleOperator,
    affine_grid,
    grid_sample_matrix,
    grid_sample_operator,
    grid_sample_output_shape,
)
from .shapes import (
    avg_pool_output_shape,
    bed_of_nails_output_shape,
    conv_output_shape,
    conv_transpose_output_shape,
    interpolate_output_shape,
    max_unpool_output_shape,
    pixel_shuffle_output_shape,
    pixel_unshuffle_output_shape,
    pool_output_shape,
)
from .spectral import OperatorNorm, conv_operator_norm, conv_singular_values
from .unfolding import (
    UnfoldOperator,
    fold_matrix,
    fold_operator,
    fold_output_shape,
    unfold_matrix,
    unfold_operator,
    unfold_output_shape,
)
from .unpooling import (
    bed_of_nails_matrix,
    max_unpool_matrix,
    pixel_shuffle_matrix,
    pixel_unshuffle_matrix,
)
from .weights import (
    ConvWeightOperator,
    conv_weight_matrix,
    conv_weight_operator,
    conv_weight_output_shape,
)

__version__ = "0.2.0"

__all__ = [
    "adaptive_avg_pool_matrix",
    "adaptive_avg_pool_operator",
    "adaptive_max_pool_operator",
    "adaptive_max_pool_selection",
    "adaptive_pool_output_shape",
    "ConvWeightOperator",
    "UnfoldOperator",
    "conv_weight_matrix",
    "conv_weight_operator",
    "conv_weight_output_shape",
    "fold_matrix",
    "fold_operator",
    "fold_output_shape",
    "unfold_matrix",
    "unfold_operator",
    "unfold_output_shape",
    "GridSampleOperator",
    "affine_grid",
    "grid_sample_matrix",
    "grid_sample_operator",
    "grid_sample_output_shape",
    "PadOperator",
    "pad_matrix",
    "pad_operator",
    "pad_output_shape",
    "ConvOperator",
    "conv_operator",
    "conv_transpose_operator",
    "IndexOperator",
    "bed_of_nails_operator",
    "max_pool_operator",
    "max_unpool_operator",
    "pixel_shuffle_operator",
    "pixel_unshuffle_operator",
    "SeparableOperator",
    "avg_pool_operator",
    "interpolate_operator",
    "OperatorNorm",
    "conv_operator_norm",
    "conv_singular_values",
    "TapPattern",
    "conv_matrix",
    "conv_output_shape",
    "conv_taps",
    "conv_transpose_matrix",
    "conv_transpose_output_shape",
    "conv_transpose_taps",
    "get_max_entries",
    "set_max_entries",
    "avg_pool_matrix",
    "avg_pool_output_shape",
    "bed_of_nails_matrix",
    "bed_of_nails_output_shape",
    "interpolate_matrix",
    "interpolate_output_shape",
    "max_pool_selection",
    "max_unpool_matrix",
    "max_unpool_output_shape",
    "pixel_shuffle_matrix",
    "pixel_shuffle_output_shape",
    "pixel_unshuffle_matrix",
    "pixel_unshuffle_output_shape",
    "pool_output_shape",
]
