"""``FusedRNNCell``: a whole multi-layer (bidirectional) RNN as one ``RNN`` operator with
one packed ``<prefix>parameters`` Variable, and the ``FusedRNN`` initializer for it."""

import numpy as np

from ..base import MXNetError
from .. import symbol
from .. import initializer as _init
from ..ops.rnn import packed_shapes
from .rnn_cell import BaseRNNCell, RNNCell, LSTMCell, GRUCell
from .containers import SequentialRNNCell, BidirectionalCell, DropoutCell

__all__ = ["FusedRNNCell", "FusedRNN"]

_GATE_NAMES = {
    "rnn_relu": ("",),
    "rnn_tanh": ("",),
    "lstm": ("_i", "_f", "_c", "_o"),
    "gru": ("_r", "_z", "_o"),
}


def _slices(prefix, mode, num_layers, input_size, num_hidden, bidirectional):
    """``[(name, offset, shape)]`` of every per-gate array inside the packed vector."""
    gates = _GATE_NAMES[mode]
    dirs = ["l", "r"][: 2 if bidirectional else 1]
    shapes = packed_shapes(mode, num_layers, input_size, num_hidden, bidirectional)
    names = [
        (f"{d}{layer}", g, "weight")
        for layer in range(num_layers)
        for d in dirs
        for g in ("i2h", "h2h")
    ]
    names += [
        (f"{d}{layer}", g, "bias")
        for layer in range(num_layers)
        for d in dirs
        for g in ("i2h", "h2h")
    ]
    out, off = [], 0
    for (where, group, kind), shape in zip(names, shapes):
        per_gate = (shape[0] // len(gates),) + tuple(shape[1:])
        size = int(np.prod(per_gate))
        for gate in gates:
            out.append((f"{prefix}{where}_{group}{gate}_{kind}", off, per_gate))
            off += size
    return out


def _input_size(total, mode, num_layers, num_hidden, bidirectional):
    """Solve the packed vector's length for the input size of layer 0."""
    g, d, h = {"lstm": 4, "gru": 3}.get(mode, 1), 2 if bidirectional else 1, num_hidden
    rest = total // d - g * h * (h + 2) - (num_layers - 1) * g * h * (d * h + h + 2)
    if rest <= 0 or rest % (g * h):
        raise MXNetError(
            f"FusedRNNCell: a parameter vector of length {total} does not fit "
            f"mode={mode}, num_layers={num_layers}, num_hidden={num_hidden}, "
            f"bidirectional={bidirectional}"
        )
    return rest // (g * h)


@_init.register
class FusedRNN(_init.Initializer):
    """Initialise a packed RNN parameter vector: weights with ``init`` (or the global
    initializer), biases zero, LSTM forget-gate biases ``forget_bias``."""

    def __init__(self, init, num_hidden, num_layers, mode, bidirectional=False, forget_bias=1.0):
        if isinstance(init, str):
            init = _init.create(init)
        super().__init__(
            init=init.dumps() if init is not None else None,
            num_hidden=num_hidden,
            num_layers=num_layers,
            mode=mode,
            bidirectional=bidirectional,
            forget_bias=forget_bias,
        )
        self._init = init
        self._spec = (num_hidden, num_layers, mode, bidirectional, forget_bias)

    def _init_weight(self, desc, arr):
        from .. import ndarray as nd

        num_hidden, num_layers, mode, bidir, forget_bias = self._spec
        total = int(np.prod(arr.shape))
        ni = _input_size(total, mode, num_layers, num_hidden, bidir)
        inner = self._init or getattr(desc, "global_init", None) or _init.Uniform()
        flat = np.zeros(total, np.float32)
        for name, off, shape in _slices("", mode, num_layers, ni, num_hidden, bidir):
            size = int(np.prod(shape))
            if name.endswith("bias"):
                if mode == "lstm" and name.endswith("_f_bias"):
                    flat[off : off + size] = forget_bias
                continue
            part = nd.zeros(shape)
            inner(_init.InitDesc(name, global_init=inner), part)
            flat[off : off + size] = part.asnumpy().reshape(-1)
        _init._assign(arr, flat.reshape(arr.shape))


class FusedRNNCell(BaseRNNCell):
    """A fused multi-layer RNN (``mode`` rnn_relu, rnn_tanh, lstm or gru). ``unroll``
    returns the outputs and, with ``get_next_state``, the final states."""

    def __init__(
        self,
        num_hidden,
        num_layers=1,
        mode="lstm",
        bidirectional=False,
        dropout=0.0,
        get_next_state=False,
        forget_bias=1.0,
        prefix=None,
        params=None,
    ):
        if prefix is None:
            prefix = f"{mode}_"
        super().__init__(prefix=prefix, params=params)
        self._num_hidden, self._num_layers, self._mode = num_hidden, num_layers, mode
        self._bidirectional, self._dropout = bidirectional, dropout
        self._get_next_state, self._directions = get_next_state, ["l", "r"][: 1 + bidirectional]
        self._forget_bias = forget_bias
        init = FusedRNN(None, num_hidden, num_layers, mode, bidirectional, forget_bias)
        self._parameter = self.params.get("parameters", init=init)

    @property
    def state_info(self):
        """``(layers * directions, batch, num_hidden)`` states (two for LSTM)."""
        b = self._bidirectional + 1
        n = 2 if self._mode == "lstm" else 1
        return [
            {"shape": (b * self._num_layers, 0, self._num_hidden), "__layout__": "LNC"}
            for _ in range(n)
        ]

    def _slices(self, total):
        ni = _input_size(total, self._mode, self._num_layers, self._num_hidden, self._bidirectional)
        return _slices(
            self._prefix, self._mode, self._num_layers, ni, self._num_hidden, self._bidirectional
        )

    def unpack_weights(self, args):
        """Split ``<prefix>parameters`` into per-layer, per-gate arrays
        (``lstm_l0_i2h_i_weight``, ...), MXNet's checkpoint form."""
        args = dict(args)
        arr = args.pop(self._prefix + "parameters")
        flat = arr.reshape((-1,))
        for name, off, shape in self._slices(arr.size):
            args[name] = flat[off : off + int(np.prod(shape))].reshape(shape).copy()
        return args

    def pack_weights(self, args):
        """Inverse of ``unpack_weights``."""
        from .. import ndarray as nd

        args = dict(args)
        first = f"{self._prefix}l0_i2h{_GATE_NAMES[self._mode][0]}_weight"
        ni = args[first].shape[1]
        parts = [
            args.pop(name).reshape((-1,))
            for name, _, _ in _slices(
                self._prefix,
                self._mode,
                self._num_layers,
                ni,
                self._num_hidden,
                self._bidirectional,
            )
        ]
        args[self._prefix + "parameters"] = nd.concat(*parts, dim=0)
        return args

    def __call__(self, inputs, states):
        raise NotImplementedError("FusedRNNCell cannot be stepped. Please use unroll")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Run the fused operator over the sequence."""
        from ..gluon.rnn import _seq

        self.reset()
        inputs, axis, _, _ = _seq.format_sequence(length, inputs, layout, True)
        if axis == 1:
            inputs = symbol.swapaxes(inputs, dim1=0, dim2=1)
        if begin_state is None:
            column = symbol.zeros_like(
                symbol.slice_axis(
                    symbol.slice_axis(inputs, axis=0, begin=0, end=1), axis=2, begin=0, end=1
                )
            )
            reps = (len(self._directions) * self._num_layers, 1, self._num_hidden)
            begin_state = [
                symbol.tile(column, reps=reps) for _ in range(2 if self._mode == "lstm" else 1)
            ]
        extra = {"state_cell": begin_state[1]} if self._mode == "lstm" else {}
        rnn = symbol.RNN(
            data=inputs,
            parameters=self._parameter,
            state=begin_state[0],
            state_size=self._num_hidden,
            num_layers=self._num_layers,
            bidirectional=self._bidirectional,
            p=self._dropout,
            state_outputs=self._get_next_state,
            mode=self._mode,
            name=self._prefix + "rnn",
            **extra,
        )
        if self._get_next_state:
            outputs, states = rnn[0], [rnn[i] for i in range(1, len(rnn.list_outputs()))]
        else:
            outputs, states = rnn, []
        if axis == 1:
            outputs = symbol.swapaxes(outputs, dim1=0, dim2=1)
        outputs, _, _, _ = _seq.format_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def unfuse(self):
        """The equivalent ``SequentialRNNCell`` of unfused cells, sharing names
        (``<prefix>l0_``, ``<prefix>r0_``) with ``unpack_weights``."""
        make = {
            "rnn_relu": lambda p: RNNCell(self._num_hidden, activation="relu", prefix=p),
            "rnn_tanh": lambda p: RNNCell(self._num_hidden, activation="tanh", prefix=p),
            "lstm": lambda p: LSTMCell(self._num_hidden, prefix=p, forget_bias=self._forget_bias),
            "gru": lambda p: GRUCell(self._num_hidden, prefix=p),
        }[self._mode]
        stack = SequentialRNNCell()
        for i in range(self._num_layers):
            if self._bidirectional:
                stack.add(
                    BidirectionalCell(
                        make(f"{self._prefix}l{i}_"),
                        make(f"{self._prefix}r{i}_"),
                        output_prefix=f"{self._prefix}bi_l{i}_",
                    )
                )
            else:
                stack.add(make(f"{self._prefix}l{i}_"))
            if self._dropout > 0 and i != self._num_layers - 1:
                stack.add(DropoutCell(self._dropout, prefix=f"{self._prefix}_dropout{i}_"))
        return stack
