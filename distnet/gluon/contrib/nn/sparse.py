"""``gluon.contrib.nn.SparseEmbedding``: an Embedding whose table is a row_sparse
Parameter, so each batch pulls only the rows it looks up (MXNet 1.x)."""

from ...block import Block
from ...nn.basic_layers import Embedding

__all__ = ["SparseEmbedding"]


class SparseEmbedding(Block):
    """Map integer indices to vectors of size ``output_dim`` through a row_sparse weight.

    The weight (``stype='row_sparse'``, ``grad_stype='row_sparse'``) lives in the Trainer's
    kvstore; ``forward`` pulls the rows of ``x`` with ``weight.row_sparse_data(x)``, so a
    Trainer must exist before the first forward, as in MXNet.

    Takes ``gluon.nn.Embedding``'s arguments (``input_dim``, ``output_dim``, ``dtype``,
    ``weight_initializer``); the gradient is always row_sparse.
    """

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = dict(
            input_dim=input_dim, output_dim=output_dim, dtype=dtype, sparse_grad=True
        )
        table = dict(shape=(input_dim, output_dim), init=weight_initializer, dtype=dtype)
        self.weight = self.params.get(
            "weight", grad_stype="row_sparse", stype="row_sparse", **table
        )

    def forward(self, x):
        """The rows of ``x`` in the table (pulled from the kvstore first)."""
        from .... import ndarray

        weight = self.weight.row_sparse_data(x)
        return ndarray.Embedding(x, weight, name="fwd", **self._kwargs)

    __repr__ = Embedding.__repr__
