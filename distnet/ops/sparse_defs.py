"""Operators of MXNet's sparse API that also run on dense arrays: ``_square_sum``
(sum of squares) and ``_contrib_SparseEmbedding`` (Embedding with row_sparse weight
gradients)."""

from .attrs import Attr, Bool
from .nn import Embedding
from .reduce import _reduce
from .registry import register

_reduce(
    "_square_sum",
    lambda xp, x, ax: (x * x).sum(axis=ax),
    lambda F, x, y, g, ax, op: 2 * g * x,
    (),
    "Sum of squares over ``axis`` (MXNet's ``_square_sum``).",
)


@register
class SparseEmbedding(Embedding):
    """MXNet's ``contrib.SparseEmbedding``: ``Embedding`` whose weight gradient is
    row_sparse (only the looked-up rows)."""

    name = "_contrib_SparseEmbedding"
    params = dict(Embedding.params, sparse_grad=Attr(Bool, True), deterministic=Attr(Bool, False))
