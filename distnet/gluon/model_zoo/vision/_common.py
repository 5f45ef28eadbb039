"""Blocks shared by the model-zoo networks and the pretrained-loading helper."""

from ...block import HybridBlock
from ... import nn


class Concurrent(nn.HybridSequential):
    """Run every child on the same input and concatenate the outputs along ``axis``
    (MXNet's ``gluon.contrib.nn.HybridConcurrent``, which the zoo builds with prefix '')."""

    def __init__(self, axis=1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def hybrid_forward(self, F, x):
        """Concatenate the children's outputs."""
        return F.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class Identity(HybridBlock):
    """Return the input (MXNet's ``gluon.contrib.nn.Identity``)."""

    def hybrid_forward(self, F, x):
        """``x`` unchanged."""
        return x


def load_pretrained(net, name, ctx, root):
    """Load MXNet's published parameters of model ``name`` into ``net``."""
    from ..model_store import get_model_file
    from ....context import cpu

    net.load_parameters(get_model_file(name, root=root), ctx=ctx or cpu())
    return net
