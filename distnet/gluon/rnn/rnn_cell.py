"""Recurrent cells: one time step per call, ``unroll`` for a whole sequence.

``RNNCell``, ``LSTMCell`` and ``GRUCell`` compute with ``FullyConnected`` and elementwise
operators, so they run imperatively, hybridized and in Symbol graphs; their parameters
(``i2h_weight``, ``h2h_weight``, ``i2h_bias``, ``h2h_bias``) and gate orders are MXNet's,
so a fused layer's ``l0_*`` parameters drive the matching cell to the same numbers.
"""

from ...base import MXNetError
from ..block import Block, HybridBlock
from ._seq import format_sequence, mask_variable_length, begin_state_for

__all__ = ["RecurrentCell", "HybridRecurrentCell", "RNNCell", "LSTMCell", "GRUCell"]


def _zeros():
    from ... import ndarray

    return ndarray.zeros


class RecurrentCell(Block):
    """Base class of the cells: ``cell(x_t, states) -> (output, new_states)``."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._modified = False
        self.reset()

    def reset(self):
        """Reset the step counters before a new sequence (``unroll`` calls it)."""
        self._init_counter = -1
        self._counter = -1
        for cell in self._children.values():
            cell.reset()

    def state_info(self, batch_size=0):
        """Shape and layout of each state."""
        raise NotImplementedError()

    def begin_state(self, batch_size=0, func=None, **kwargs):
        """Initial states made by ``func`` (``nd.zeros`` by default), named
        ``<prefix>begin_state_<n>``."""
        if self._modified:
            raise MXNetError(
                "After applying modifier cells (e.g. ZoneoutCell) the base cell "
                "cannot be called directly. Call the modifier cell instead."
            )
        func = func or _zeros()
        states = []
        for info in self.state_info(batch_size):
            self._init_counter += 1
            info = dict(info or {}, **kwargs)
            states.append(func(name=f"{self._prefix}begin_state_{self._init_counter}", **info))
        return states

    def unroll(
        self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None
    ):
        """Run ``length`` steps over ``inputs`` (a tensor in ``layout`` or a list of
        per-step tensors); returns ``(outputs, states)``. With ``valid_length`` the
        outputs past each sequence's end are zero and the states are those at its end."""
        self.reset()
        inputs, axis, F, batch = format_sequence(length, inputs, layout, False)
        states = begin_state_for(self, F, begin_state, inputs, batch)
        outputs, all_states = [], []
        for i in range(length):
            output, states = self(inputs[i], states)
            outputs.append(output)
            if valid_length is not None:
                all_states.append(states)
        if valid_length is not None:
            states = [
                F.SequenceLast(
                    F.stack(*steps, axis=0), valid_length, use_sequence_length=True, axis=0
                )
                for steps in zip(*all_states)
            ]
            outputs = mask_variable_length(F, outputs, length, valid_length, axis, True)
        outputs, _, _, _ = format_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, F, inputs, activation, **kwargs):
        """Apply ``activation`` (an operator name such as 'tanh', or a callable)."""
        if isinstance(activation, str):
            return F.Activation(inputs, act_type=activation, **kwargs)
        return activation(inputs, **kwargs)

    def forward(self, inputs, states):
        """One step: advance the counter, compute."""
        self._counter += 1
        return super().forward(inputs, states)


class HybridRecurrentCell(RecurrentCell, HybridBlock):
    """A cell written as ``hybrid_forward(F, inputs, states, **params)``."""

    def hybrid_forward(self, F, x, *args, **kwargs):
        """The step, for ``F`` = nd or sym. Override in subclasses."""
        raise NotImplementedError


class _GatedCell(HybridRecurrentCell):
    """The four parameters and repr shared by RNNCell, LSTMCell and GRUCell."""

    _ngates = 1

    def __init__(
        self,
        hidden_size,
        i2h_weight_initializer,
        h2h_weight_initializer,
        i2h_bias_initializer,
        h2h_bias_initializer,
        input_size,
        prefix,
        params,
    ):
        super().__init__(prefix=prefix, params=params)
        self._hidden_size, self._input_size = hidden_size, input_size
        g = self._ngates * hidden_size
        for name, shape, init in (
            ("i2h_weight", (g, input_size), i2h_weight_initializer),
            ("h2h_weight", (g, hidden_size), h2h_weight_initializer),
            ("i2h_bias", (g,), i2h_bias_initializer),
            ("h2h_bias", (g,), h2h_bias_initializer),
        ):
            setattr(
                self, name, self.params.get(name, shape=shape, init=init, allow_deferred_init=True)
            )

    def state_info(self, batch_size=0):
        """One ``(batch, hidden)`` state per entry of ``_nstates``."""
        return [
            {"shape": (batch_size, self._hidden_size), "__layout__": "NC"}
            for _ in range(self._nstates)
        ]

    _nstates = 1

    def __repr__(self):
        shape = self.i2h_weight.shape
        act = f", {self._activation}" if type(self) is RNNCell else ""
        return f"{self.__class__.__name__}({shape[1] if shape[1] else None} -> {shape[0]}{act})"

    def _projections(self, F, inputs, h, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        n = self._hidden_size * self._ngates
        i2h = F.FullyConnected(
            data=inputs, weight=i2h_weight, bias=i2h_bias, num_hidden=n, name=prefix + "i2h"
        )
        h2h = F.FullyConnected(
            data=h, weight=h2h_weight, bias=h2h_bias, num_hidden=n, name=prefix + "h2h"
        )
        return prefix, i2h, h2h


class RNNCell(_GatedCell):
    """Elman cell: ``h' = activation(W_i x + b_i + W_h h + b_h)``.

    Parameters
    ----------
    hidden_size : int
    activation : str or callable, default 'tanh'
    i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
    h2h_bias_initializer : Initializer or str
    input_size : int, default 0 (inferred)
    prefix, params : as for any Block
    """

    def __init__(
        self,
        hidden_size,
        activation="tanh",
        i2h_weight_initializer=None,
        h2h_weight_initializer=None,
        i2h_bias_initializer="zeros",
        h2h_bias_initializer="zeros",
        input_size=0,
        prefix=None,
        params=None,
    ):
        super().__init__(
            hidden_size,
            i2h_weight_initializer,
            h2h_weight_initializer,
            i2h_bias_initializer,
            h2h_bias_initializer,
            input_size,
            prefix,
            params,
        )
        self._activation = activation

    def _alias(self):
        return "rnn"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        """One step; the output is the new state."""
        prefix, i2h, h2h = self._projections(
            F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias, h2h_bias
        )
        out = self._get_activation(
            F,
            F.elemwise_add(i2h, h2h, name=prefix + "plus0"),
            self._activation,
            name=prefix + "out",
        )
        return out, [out]


class LSTMCell(_GatedCell):
    """LSTM cell with gates i, f, g, o (MXNet's order); states ``[h, c]``. Arguments as
    ``RNNCell`` plus ``activation`` (default 'tanh') and ``recurrent_activation``
    (default 'sigmoid')."""

    _ngates, _nstates = 4, 2

    def __init__(
        self,
        hidden_size,
        i2h_weight_initializer=None,
        h2h_weight_initializer=None,
        i2h_bias_initializer="zeros",
        h2h_bias_initializer="zeros",
        input_size=0,
        prefix=None,
        params=None,
        activation="tanh",
        recurrent_activation="sigmoid",
    ):
        super().__init__(
            hidden_size,
            i2h_weight_initializer,
            h2h_weight_initializer,
            i2h_bias_initializer,
            h2h_bias_initializer,
            input_size,
            prefix,
            params,
        )
        self._activation = activation
        self._recurrent_activation = recurrent_activation

    def _alias(self):
        return "lstm"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        """One step: ``c' = f*c + i*g``, ``h' = o * act(c')``."""
        prefix, i2h, h2h = self._projections(
            F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias, h2h_bias
        )
        gates = F.SliceChannel(
            F.elemwise_add(i2h, h2h, name=prefix + "plus0"), num_outputs=4, name=prefix + "slice"
        )
        rec, act = self._recurrent_activation, self._activation
        i = self._get_activation(F, gates[0], rec, name=prefix + "i")
        f = self._get_activation(F, gates[1], rec, name=prefix + "f")
        g = self._get_activation(F, gates[2], act, name=prefix + "c")
        o = self._get_activation(F, gates[3], rec, name=prefix + "o")
        c = F.elemwise_add(
            F.elemwise_mul(f, states[1], name=prefix + "mul0"),
            F.elemwise_mul(i, g, name=prefix + "mul1"),
            name=prefix + "state",
        )
        h = F.elemwise_mul(
            o, F.Activation(c, act_type=act, name=prefix + "activation0"), name=prefix + "out"
        )
        return h, [h, c]


class GRUCell(_GatedCell):
    """GRU cell with gates r, z, n in cuDNN's form
    (``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``).
    Arguments as ``RNNCell`` without ``activation``."""

    _ngates = 3

    def __init__(
        self,
        hidden_size,
        i2h_weight_initializer=None,
        h2h_weight_initializer=None,
        i2h_bias_initializer="zeros",
        h2h_bias_initializer="zeros",
        input_size=0,
        prefix=None,
        params=None,
    ):
        super().__init__(
            hidden_size,
            i2h_weight_initializer,
            h2h_weight_initializer,
            i2h_bias_initializer,
            h2h_bias_initializer,
            input_size,
            prefix,
            params,
        )

    def _alias(self):
        return "gru"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        """One step."""
        h = states[0]
        prefix, i2h, h2h = self._projections(
            F, inputs, h, i2h_weight, h2h_weight, i2h_bias, h2h_bias
        )
        i_r, i_z, i_n = F.SliceChannel(i2h, num_outputs=3, name=prefix + "i2h_slice")
        h_r, h_z, h_n = F.SliceChannel(h2h, num_outputs=3, name=prefix + "h2h_slice")
        r = F.Activation(F.elemwise_add(i_r, h_r), act_type="sigmoid", name=prefix + "r_act")
        z = F.Activation(F.elemwise_add(i_z, h_z), act_type="sigmoid", name=prefix + "z_act")
        n = F.Activation(
            F.elemwise_add(i_n, F.elemwise_mul(r, h_n)), act_type="tanh", name=prefix + "h_act"
        )
        out = F.elemwise_add(
            F.elemwise_mul(F.elemwise_sub(F.ones_like(z), z), n),
            F.elemwise_mul(z, h),
            name=prefix + "out",
        )
        return out, [out]
