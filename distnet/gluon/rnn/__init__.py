"""``mx.gluon.rnn``: fused recurrent layers (``RNN``, ``LSTM``, ``GRU``) and the
recurrent cells that run one step at a time (``LSTMCell``, ``unroll``, ...)."""

from .rnn_layer import RNN, LSTM, GRU  # noqa: F401
from .rnn_cell import (
    RecurrentCell,
    HybridRecurrentCell,
    RNNCell,
    LSTMCell,  # noqa: F401
    GRUCell,
)
from .rnn_containers import (
    SequentialRNNCell,
    HybridSequentialRNNCell,
    DropoutCell,  # noqa: F401
    ModifierCell,
    ZoneoutCell,
    ResidualCell,
    BidirectionalCell,
)
