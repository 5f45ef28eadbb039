"""``mx.rnn``: MXNet's legacy symbolic RNN API (cells, ``FusedRNNCell``,
``BucketSentenceIter``, ``encode_sentences``, RNN checkpoints)."""

from .rnn_cell import RNNParams, BaseRNNCell, RNNCell, LSTMCell, GRUCell  # noqa: F401
from .containers import (
    SequentialRNNCell,
    BidirectionalCell,
    DropoutCell,  # noqa: F401
    ModifierCell,
    ZoneoutCell,
    ResidualCell,
)
from .fused import FusedRNNCell  # noqa: F401
from .io import encode_sentences, BucketSentenceIter  # noqa: F401
from .rnn import save_rnn_checkpoint, load_rnn_checkpoint, do_rnn_checkpoint  # noqa: F401
