"""The skeleton every matrix-free operator of convmat shares, and its two generic kinds.

A :class:`_SampleOperator` is a :class:`scipy.sparse.linalg.LinearOperator` between flat
samples ``(C, *spatial)``: subclasses give the map and its adjoint on batches, and the
public products (``matvec``, ``A @ x``, ``A.H @ y``, ...) read their argument once, here:
a torch tensor (even one that requires grad) or a list is an array, and a vector of the
wrong size is refused with its name and the shape wanted. ``A.H`` and ``A.T`` stay
operators of this kind, so their products read their arguments the same way.

Two kinds serve many ops: :class:`IndexOperator` (an index map: max pooling with known
winners, max unpooling, bed of nails, the pixel shuffles) and :class:`SeparableOperator`
(one small matrix per spatial axis: average and adaptive pooling, interpolation). They
live here, below every op's module, so that each op's module can make its own operator.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.sparse import csr_array, issparse
from scipy.sparse.linalg import LinearOperator

from ._args import as_array
from ._sparse import Axis, get_max_entries, kron_axes

__all__ = ["IndexOperator", "SeparableOperator"]


class _SampleOperator(LinearOperator):
    """A ``LinearOperator`` from flat samples of ``in_shape`` to flat samples of
    ``out_shape``, one sample a column.

    Subclasses give ``_forward`` and ``_backward`` (the map and its adjoint) on batches
    shaped ``(N, *in_shape)`` and ``(N, *out_shape)``, or override ``_matmat`` and
    ``_rmatmat`` to work on the flat columns themselves.
    """

    def __init__(self, in_shape, out_shape, dtype):
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        super().__init__(dtype=np.dtype(dtype),
                         shape=(math.prod(self.out_shape), math.prod(self.in_shape)))

    def _matmat(self, X):
        X = np.asarray(X)
        k = X.shape[1]
        return self._forward(X.T.reshape(k, *self.in_shape)).reshape(k, -1).T

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        k = Y.shape[1]
        return self._backward(Y.T.reshape(k, *self.out_shape)).reshape(k, -1).T

    # The public entries read a torch tensor (requires_grad or not) or a list as an array,
    # and refuse what holds no numbers with the argument named: scipy's own would raise
    # a raw torch RuntimeError or "dimension mismatch".
    def matvec(self, x):
        return super().matvec(self._vector(x, "x", self.in_shape))

    def rmatvec(self, x):
        return super().rmatvec(self._vector(x, "x", self.out_shape))

    def matmat(self, X):
        return super().matmat(self._vector(X, "X", self.in_shape, columns=True))

    def rmatmat(self, X):
        return super().rmatmat(self._vector(X, "X", self.out_shape, columns=True))

    def _vector(self, x, name: str, shape, *, columns: bool = False) -> np.ndarray:
        """``x`` as an array of flat samples of ``shape``, or an error naming ``name``."""
        x = as_array(x, name)
        n = math.prod(shape)
        fits = (x.ndim == 2 and x.shape[0] == n) if columns else (
            x.shape in ((n,), (n, 1)))
        if not fits:
            wanted = (f"({n}, k): one flattened sample of {shape} a column" if columns
                      else f"({n},) or ({n}, 1): one flattened sample of {shape}")
            raise ValueError(f"{name} must have shape {wanted}, got {name} of shape "
                             f"{x.shape}")
        return x

    def dot(self, x):
        # Behind ``A @ x`` and ``A * x``: scipy reads x with np.asarray, which a tensor
        # with requires_grad refuses with a raw RuntimeError.
        if not (isinstance(x, LinearOperator) or np.isscalar(x) or issparse(x)):
            x = as_array(x, "x")
        return super().dot(x)

    # ``A.H`` and ``A.T`` stay operators of this kind (scipy's own wrappers would read their
    # argument with np.asarray again); a subclass with a better adjoint overrides _adjoint.
    def _adjoint(self):
        return _AdjointOperator(self)

    def _transpose(self):
        return self._adjoint() if self.dtype.kind in "biuf" else super()._transpose()

    def _matvec(self, x):
        return self._matmat(np.reshape(x, (-1, 1))).reshape(-1)

    def _rmatvec(self, y):
        return self._rmatmat(np.reshape(y, (-1, 1))).reshape(-1)

    def __repr__(self) -> str:
        return (f"<{self.shape[0]}x{self.shape[1]} {type(self).__name__} {self.in_shape} -> "
                f"{self.out_shape} with dtype={self.dtype}>")


class _AdjointOperator(_SampleOperator):
    """``A^H`` of a :class:`_SampleOperator`: its products swapped."""

    def __init__(self, A: _SampleOperator):
        self.A = A
        super().__init__(A.out_shape, A.in_shape, A.dtype)

    def _matmat(self, X):
        return self.A._rmatmat(X)

    def _rmatmat(self, Y):
        return self.A._matmat(Y)

    def _adjoint(self):
        return self.A


# --------------------------------------------------------------------------- index maps
class IndexOperator(_SampleOperator):
    """``y[i] = x[src[i]]`` (``0`` where ``src[i] < 0``): a 0/1 matrix with at most one 1
    per row, applied by a gather; the adjoint scatter-adds ``y`` back.

    Max pooling with known winners, max unpooling, bed-of-nails upsampling and the pixel
    (un)shuffles are all of this kind.

    Attributes
    ----------
    src : ndarray of int, shape (m,)
        The index map: the flat input read by each output, ``-1`` for none. Built on
        first use when the operator was given a function for it, so that making an
        operator costs nothing however large its shapes (it is as large as one output).
    in_shape, out_shape : tuple of int
        Sample shapes.
    """

    def __init__(self, src, in_shape, out_shape, dtype=np.float64):
        self._make_src = src if callable(src) else (lambda: src)
        super().__init__(in_shape, out_shape, dtype)
        if not callable(src):
            _ = self.src  # an array given: check it now, not at the first product

    @functools.cached_property
    def src(self) -> np.ndarray:
        src = np.asarray(self._make_src()).reshape(-1)
        if src.dtype.kind not in "iu":
            raise TypeError(f"src must hold integers, got an array of dtype {src.dtype}")
        return src

    @functools.cached_property
    def _zeros(self) -> bool:
        return bool(self.src.size) and self.src.min() < 0

    @functools.cached_property
    def _read(self) -> np.ndarray:
        # A missing input reads an extra zero row, one past the end.
        return np.where(self.src < 0, self.shape[1], self.src) if self._zeros else self.src

    def _matmat(self, X):
        X = np.asarray(X)
        if self._zeros:
            X = np.concatenate([X, np.zeros((1, X.shape[1]), X.dtype)])
        return X[self._read]

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        out = np.zeros((self.shape[1] + 1, Y.shape[1]), dtype=Y.dtype)
        np.add.at(out, self._read, Y)  # windows may share a winner: add, never overwrite
        return out[:-1]


# --------------------------------------------------------------------------- separable maps
def _along_axes(factors, x: np.ndarray) -> np.ndarray:
    """``(N, C, *size) -> (N, C, *out)``: the 1-D matrix ``factors[d]`` applied along
    spatial axis ``d``, one sparse-times-dense product per dimension."""
    for axis, M in enumerate(factors, start=2):
        moved = np.moveaxis(x, axis, 0)
        y = M @ moved.reshape(moved.shape[0], -1)
        x = np.moveaxis(y.reshape(M.shape[0], *moved.shape[1:]), 0, axis)
    return np.ascontiguousarray(x)


class SeparableOperator(_SampleOperator):
    r"""``I_C \otimes M_1 \otimes \dots \otimes M_n`` on flat samples, never built.

    Average pooling and interpolation act on each spatial axis independently, and on each
    channel alike: ``matvec`` applies the small 1-D matrix ``M_d`` along axis ``d`` in
    turn, ``rmatvec`` applies the ``M_d^H``.

    Attributes
    ----------
    factors : list of csr_array
        ``M_d`` of shape ``(out[d], size[d])``, one per spatial dimension.
    in_shape, out_shape : tuple of int
        Sample shapes ``(C, *size)`` and ``(C, *out)``.
    geometry
        The validated geometry from :mod:`convmat.shapes`.
    """

    def __init__(self, factors, channels: int, dtype, geometry):
        self.factors = list(factors)
        self._adjoints = [M.T.conj().tocsr() for M in self.factors]
        self.geometry = geometry
        super().__init__((channels, *(M.shape[1] for M in self.factors)),
                         (channels, *(M.shape[0] for M in self.factors)), dtype)

    def _forward(self, x):
        return _along_axes(self.factors, x)

    def _backward(self, y):
        return _along_axes(self._adjoints, y)

    def _adjoint(self):
        return SeparableOperator(self._adjoints, self.in_shape[0], self.dtype, self.geometry)


def _separable(what: str, entries, out, channels: int, factors, dtype,
               geometry) -> SeparableOperator:
    """A :class:`SeparableOperator` from the :class:`~convmat._sparse.Axis` factors that
    ``factors()`` makes, once their sizes are known to fit.

    ``entries`` bounds each factor's stored entries (Python ints, by arithmetic) and
    ``out`` is the output's spatial size: a huge ``scale_factor`` is refused here, before
    any factor exists, instead of failing with a ``MemoryError`` while building one.
    """
    n_entries, n_rows, limit = sum(entries), sum(out), get_max_entries()
    if max(n_entries, n_rows) > limit:
        raise ValueError(
            f"{what} would build 1-D factors with {n_entries:,} stored entries and "
            f"{n_rows:,} rows for an output of spatial size {tuple(out)} (one output "
            f"sample alone would hold {channels * math.prod(out):,} values), more than "
            f"max_entries={limit:,}. Raise the limit with convmat.set_max_entries to "
            f"allow it."
        )
    return SeparableOperator([_axis_matrix(a, dtype) for a in factors()], channels, dtype,
                             geometry)


def _axis_matrix(axis: Axis, dtype) -> csr_array:
    """The 1-D matrix of one factor, assembled as the builders assemble theirs."""
    pattern = kron_axes([axis], taps=False, values=axis.values is not None)
    values = np.ones(pattern.nnz) if pattern.values is None else pattern.values
    return pattern.csr(values.astype(dtype, copy=False))
