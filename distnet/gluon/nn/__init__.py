"""``gluon.nn``: neural network layers (basic, convolution/pooling, activations)."""

from .activations import *  # noqa: F401,F403
from .basic_layers import *  # noqa: F401,F403
from .conv_layers import *  # noqa: F401,F403
from ..block import Block, HybridBlock, __getattr__ as _block_getattr  # noqa: F401


def __getattr__(name):
    if name == "SymbolBlock":
        return _block_getattr(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
