"""Row-sparse gradients inside backward (operators' side of ``nd.sparse``).

``RowSparseGrad`` is what an operator's backward returns for a ``row_sparse`` input
gradient (``Embedding(sparse_grad=True)``): the row ids and the rows, never the dense
table. Backward sums gradients with ``+``: two row-sparse gradients concatenate their rows
(summed once, when written into the variable's RowSparseNDArray buffer); a dense one plus a
row-sparse one is dense, as MXNet's elemwise_add(default, row_sparse).
"""

import numpy as np

from ._util import xp_of

__all__ = ["RowSparseGrad", "canonical_rows"]


def canonical_rows(xp, rows, values):
    """``(unique sorted rows, values summed per row)`` of possibly repeated ``rows``."""
    uniq, inv = xp.unique(rows, return_inverse=True)
    out = xp.zeros((uniq.shape[0],) + tuple(values.shape[1:]), values.dtype)
    if xp is np:
        np.add.at(out, inv.reshape(-1), values)
    else:  # cupy's spelling of add.at
        import cupyx

        cupyx.scatter_add(out, inv.reshape(-1), values)
    return uniq.astype(np.int64, copy=False), out


class RowSparseGrad:
    """A gradient made of ``values[i]`` added to row ``rows[i]`` of a ``shape`` array
    (rows may repeat; see ``canonical``)."""

    __slots__ = ("rows", "values", "shape")
    __array_ufunc__ = None  # numpy: dense + RowSparseGrad calls our __radd__

    def __init__(self, rows, values, shape):
        self.rows, self.values, self.shape = rows, values, tuple(shape)

    @property
    def dtype(self):
        """The dtype of the rows."""
        return self.values.dtype

    def canonical(self):
        """``(sorted unique row ids, summed rows)``."""
        return canonical_rows(xp_of(self.values), self.rows, self.values)

    def dense(self):
        """The dense gradient (only for the dense fallbacks)."""
        xp = xp_of(self.values)
        out = xp.zeros(self.shape, self.values.dtype)
        rows, vals = self.canonical()
        out[rows] = vals
        return out

    def __add__(self, other):
        if isinstance(other, RowSparseGrad):
            xp = xp_of(self.values)
            return RowSparseGrad(
                xp.concatenate([self.rows, other.rows]),
                xp.concatenate([self.values, other.values]),
                self.shape,
            )
        return self.dense() + other

    __radd__ = __add__
