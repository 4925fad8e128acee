"""The skeleton every matrix-free operator of convmat shares.

A :class:`_SampleOperator` is a :class:`scipy.sparse.linalg.LinearOperator` between flat
samples ``(C, *spatial)``: subclasses give the map and its adjoint on batches, and the
public products (``matvec``, ``A @ x``, ``A.H @ y``, ...) read their argument once, here:
a torch tensor (even one that requires grad) or a list is an array, and a vector of the
wrong size is refused with its name and the shape wanted. ``A.H`` and ``A.T`` stay
operators of this kind, so their products read their arguments the same way.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator

from ._args import as_array

__all__: list[str] = []


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
