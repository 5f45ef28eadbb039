"""MXNet's legacy symbolic cells (``mx.rnn``): ``RNNCell``, ``LSTMCell``, ``GRUCell``
(``FusedRNNCell`` and the containers live beside this module). They build Symbols for Module/BucketingModule; parameters are
``Variable``s named ``<prefix>i2h_weight`` etc., and ``unpack_weights``/``pack_weights``
convert between MXNet's fused and per-gate checkpoint forms."""

from ..base import MXNetError
from .. import symbol
from .. import initializer as _init

__all__ = ["RNNParams", "BaseRNNCell", "RNNCell", "LSTMCell", "GRUCell"]


class RNNParams:
    """The Variables of a cell, created on first ``get`` and shared from then on."""

    def __init__(self, prefix=""):
        self._prefix = prefix
        self._params = {}

    def get(self, name, **kwargs):
        """The Variable ``<prefix><name>`` (created with ``kwargs`` the first time)."""
        name = self._prefix + name
        if name not in self._params:
            self._params[name] = symbol.Variable(name, **kwargs)
        return self._params[name]


def _as_list(x):
    return x if isinstance(x, (list, tuple)) else [x]


class BaseRNNCell:
    """Base of the legacy cells: ``cell(inputs, states) -> (output, states)`` on Symbols."""

    def __init__(self, prefix="", params=None):
        if params is None:
            params = RNNParams(prefix)
            self._own_params = True
        else:
            self._own_params = False
        self._prefix = prefix
        self._params = params
        self._modified = False
        self.reset()

    def reset(self):
        """Reset the step counters (before each unroll)."""
        self._init_counter = -1
        self._counter = -1
        for cell in getattr(self, "_cells", []):
            cell.reset()

    def __call__(self, inputs, states):
        raise NotImplementedError()

    @property
    def params(self):
        """The cell's RNNParams."""
        self._own_params = False
        return self._params

    @property
    def state_info(self):
        """Shape and layout of each state (batch 0 = inferred)."""
        raise NotImplementedError()

    @property
    def state_shape(self):
        """The state shapes."""
        return [ele["shape"] for ele in self.state_info]

    @property
    def _gate_names(self):
        return ()

    def begin_state(self, func=None, **kwargs):
        """Initial states made by ``func`` (``sym.zeros``), named
        ``<prefix>begin_state_<n>``."""
        if self._modified:
            raise MXNetError(
                "After applying modifier cells (e.g. DropoutCell) the base cell "
                "cannot be called directly. Call the modifier cell instead."
            )
        func = func or symbol.zeros
        states = []
        for info in self.state_info:
            self._init_counter += 1
            kw = dict(info or {}, **kwargs)
            kw.pop("__layout__", None)
            states.append(func(name=f"{self._prefix}begin_state_{self._init_counter}", **kw))
        return states

    def unpack_weights(self, args):
        """Split each ``i2h``/``h2h`` weight and bias into one array per gate
        (``lstm_i2h_i_weight``, ...), as MXNet's checkpoints of unfused cells hold them."""
        args = dict(args)
        if not self._gate_names:
            return args
        h = self._num_hidden
        for group in ("i2h", "h2h"):
            weight = args.pop(f"{self._prefix}{group}_weight")
            bias = args.pop(f"{self._prefix}{group}_bias")
            for j, gate in enumerate(self._gate_names):
                args[f"{self._prefix}{group}{gate}_weight"] = weight[j * h : (j + 1) * h].copy()
                args[f"{self._prefix}{group}{gate}_bias"] = bias[j * h : (j + 1) * h].copy()
        return args

    def pack_weights(self, args):
        """Inverse of ``unpack_weights``."""
        from .. import ndarray as nd

        args = dict(args)
        if not self._gate_names:
            return args
        for group in ("i2h", "h2h"):
            for kind in ("weight", "bias"):
                parts = [
                    args.pop(f"{self._prefix}{group}{gate}_{kind}") for gate in self._gate_names
                ]
                args[f"{self._prefix}{group}_{kind}"] = nd.concat(*parts, dim=0)
        return args

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Unroll ``length`` steps; returns ``(outputs, states)`` (see gluon's unroll)."""
        from ..gluon.rnn._seq import format_sequence, begin_state_for

        self.reset()
        inputs, _, F, batch = format_sequence(length, inputs, layout, False)
        states = begin_state_for(self, F, begin_state, inputs, batch)
        outputs = []
        for i in range(length):
            output, states = self(inputs[i], states)
            outputs.append(output)
        outputs, _, _, _ = format_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, inputs, activation, **kwargs):
        if isinstance(activation, str):
            return symbol.Activation(inputs, act_type=activation, **kwargs)
        return activation(inputs, **kwargs)

    def _projections(self, inputs, h, n):
        name = f"{self._prefix}t{self._counter}_"
        i2h = symbol.FullyConnected(
            data=inputs, weight=self._iW, bias=self._iB, num_hidden=n, name=f"{name}i2h"
        )
        h2h = symbol.FullyConnected(
            data=h, weight=self._hW, bias=self._hB, num_hidden=n, name=f"{name}h2h"
        )
        return name, i2h, h2h


class _Cell(BaseRNNCell):
    """Cells with the four i2h/h2h parameters."""

    _ngates = 1

    def __init__(self, num_hidden, prefix, params, bias_init=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._iW = self.params.get("i2h_weight")
        self._iB = self.params.get("i2h_bias", **({"init": bias_init} if bias_init else {}))
        self._hW = self.params.get("h2h_weight")
        self._hB = self.params.get("h2h_bias")

    @property
    def state_info(self):
        """``(batch, num_hidden)`` states."""
        return [
            {"shape": (0, self._num_hidden), "__layout__": "NC"}
            for _ in range(2 if self._ngates == 4 else 1)
        ]


class RNNCell(_Cell):
    """Elman cell (``activation`` 'tanh' by default)."""

    def __init__(self, num_hidden, activation="tanh", prefix="rnn_", params=None):
        super().__init__(num_hidden, prefix, params)
        self._activation = activation

    @property
    def _gate_names(self):
        return ("",)

    def __call__(self, inputs, states):
        self._counter += 1
        name, i2h, h2h = self._projections(inputs, states[0], self._num_hidden)
        out = self._get_activation(i2h + h2h, self._activation, name=f"{name}out")
        return out, [out]


class LSTMCell(_Cell):
    """LSTM cell (gates i, f, c, o); ``forget_bias`` initialises the forget gate's bias."""

    _ngates = 4

    def __init__(self, num_hidden, prefix="lstm_", params=None, forget_bias=1.0):
        super().__init__(num_hidden, prefix, params, _init.LSTMBias(forget_bias=forget_bias))

    @property
    def _gate_names(self):
        return ("_i", "_f", "_c", "_o")

    def __call__(self, inputs, states):
        self._counter += 1
        name, i2h, h2h = self._projections(inputs, states[0], self._num_hidden * 4)
        g = symbol.SliceChannel(i2h + h2h, num_outputs=4, name=f"{name}slice")
        i = symbol.Activation(g[0], act_type="sigmoid", name=f"{name}i")
        f = symbol.Activation(g[1], act_type="sigmoid", name=f"{name}f")
        c_in = symbol.Activation(g[2], act_type="tanh", name=f"{name}c")
        o = symbol.Activation(g[3], act_type="sigmoid", name=f"{name}o")
        c = symbol.elemwise_add(f * states[1], i * c_in, name=f"{name}state")
        h = symbol.elemwise_mul(o, symbol.Activation(c, act_type="tanh"), name=f"{name}out")
        return h, [h, c]


class GRUCell(_Cell):
    """GRU cell (gates r, z and the candidate 'o' in checkpoints)."""

    _ngates = 3

    def __init__(self, num_hidden, prefix="gru_", params=None):
        super().__init__(num_hidden, prefix, params)

    @property
    def _gate_names(self):
        return ("_r", "_z", "_o")

    def __call__(self, inputs, states):
        self._counter += 1
        h = states[0]
        name, i2h, h2h = self._projections(inputs, h, self._num_hidden * 3)
        i_r, i_z, i_n = symbol.SliceChannel(i2h, num_outputs=3, name=f"{name}_i2h_slice")
        h_r, h_z, h_n = symbol.SliceChannel(h2h, num_outputs=3, name=f"{name}_h2h_slice")
        r = symbol.Activation(i_r + h_r, act_type="sigmoid", name=f"{name}_r_act")
        z = symbol.Activation(i_z + h_z, act_type="sigmoid", name=f"{name}_z_act")
        n = symbol.Activation(i_n + r * h_n, act_type="tanh", name=f"{name}_h_act")
        out = symbol.elemwise_add((1.0 - z) * n, z * h, name=f"{name}out")
        return out, [out]
