"""``gluon.contrib.rnn``: ``VariationalDropoutCell`` (one dropout mask per sequence)
and ``LSTMPCell`` (LSTM with a projected recurrent state)."""

from ...rnn.rnn_cell import HybridRecurrentCell, _GatedCell
from ...rnn.rnn_containers import ModifierCell, BidirectionalCell
from ....base import MXNetError

__all__ = ["VariationalDropoutCell", "LSTMPCell"]


class VariationalDropoutCell(ModifierCell):
    """Variational dropout (Gal & Ghahramani 2016): the masks on inputs, states and outputs
    are drawn once per sequence (after ``reset``/``unroll``) and reused at every step."""

    def __init__(self, base_cell, drop_inputs=0.0, drop_states=0.0, drop_outputs=0.0):
        if isinstance(base_cell, BidirectionalCell):
            raise MXNetError(
                "BidirectionalCell doesn't support variational state dropout. "
                "Please add VariationalDropoutCell to the cells underneath "
                "instead."
            )
        super().__init__(base_cell)
        self.drop_inputs, self.drop_states, self.drop_outputs = (
            drop_inputs,
            drop_states,
            drop_outputs,
        )
        self.drop_inputs_mask = self.drop_states_mask = self.drop_outputs_mask = None

    def _alias(self):
        return "vardrop"

    def reset(self):
        """Draw new masks for the next sequence."""
        super().reset()
        self.drop_inputs_mask = self.drop_states_mask = self.drop_outputs_mask = None

    def hybrid_forward(self, F, inputs, states):
        """One step with the sequence's masks."""

        def mask(p, like):
            return F.Dropout(F.ones_like(like), p=p)

        if self.drop_states:
            if self.drop_states_mask is None:
                self.drop_states_mask = mask(self.drop_states, states[0])
            states = [states[0] * self.drop_states_mask] + list(states[1:])
        if self.drop_inputs:
            if self.drop_inputs_mask is None:
                self.drop_inputs_mask = mask(self.drop_inputs, inputs)
            inputs = inputs * self.drop_inputs_mask
        out, states = self.base_cell(inputs, states)
        if self.drop_outputs:
            if self.drop_outputs_mask is None:
                self.drop_outputs_mask = mask(self.drop_outputs, out)
            out = out * self.drop_outputs_mask
        return out, states

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(p_out = {self.drop_outputs}, p_state = {self.drop_states})"
        )


class LSTMPCell(_GatedCell):
    """LSTM with a projection (Sak et al. 2014): states ``[r, c]`` with ``r`` of size
    ``projection_size`` = ``h2r_weight @ h``; gates i, f, c, o as ``LSTMCell``."""

    _ngates, _nstates = 4, 2

    def __init__(
        self,
        hidden_size,
        projection_size,
        i2h_weight_initializer=None,
        h2h_weight_initializer=None,
        h2r_weight_initializer=None,
        i2h_bias_initializer="zeros",
        h2h_bias_initializer="zeros",
        input_size=0,
        prefix=None,
        params=None,
    ):
        HybridRecurrentCell.__init__(self, prefix=prefix, params=params)
        self._hidden_size, self._input_size = hidden_size, input_size
        self._projection_size = projection_size
        g = 4 * hidden_size
        for name, shape, init in (
            ("i2h_weight", (g, input_size), i2h_weight_initializer),
            ("h2h_weight", (g, projection_size), h2h_weight_initializer),
            ("h2r_weight", (projection_size, hidden_size), h2r_weight_initializer),
            ("i2h_bias", (g,), i2h_bias_initializer),
            ("h2h_bias", (g,), h2h_bias_initializer),
        ):
            setattr(
                self, name, self.params.get(name, shape=shape, init=init, allow_deferred_init=True)
            )

    def state_info(self, batch_size=0):
        """``r`` ``(batch, projection_size)`` and ``c`` ``(batch, hidden_size)``."""
        return [
            {"shape": (batch_size, self._projection_size), "__layout__": "NC"},
            {"shape": (batch_size, self._hidden_size), "__layout__": "NC"},
        ]

    def _alias(self):
        return "lstmp"

    def __repr__(self):
        shape = self.i2h_weight.shape
        return (
            f"{self.__class__.__name__}({shape[1] if shape[1] else None} -> "
            f"{self._hidden_size} -> {self._projection_size})"
        )

    def hybrid_forward(
        self, F, inputs, states, i2h_weight, h2h_weight, h2r_weight, i2h_bias, h2h_bias
    ):
        """One step."""
        prefix, i2h, h2h = self._projections(
            F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias, h2h_bias
        )
        g = F.SliceChannel(i2h + h2h, num_outputs=4, name=prefix + "slice")
        i = F.Activation(g[0], act_type="sigmoid", name=prefix + "i")
        f = F.Activation(g[1], act_type="sigmoid", name=prefix + "f")
        c_in = F.Activation(g[2], act_type="tanh", name=prefix + "c")
        o = F.Activation(g[3], act_type="sigmoid", name=prefix + "o")
        c = F.elemwise_add(f * states[1], i * c_in, name=prefix + "state")
        h = F.elemwise_mul(o, F.Activation(c, act_type="tanh"), name=prefix + "hidden")
        r = F.FullyConnected(
            data=h,
            num_hidden=self._projection_size,
            weight=h2r_weight,
            no_bias=True,
            name=prefix + "out",
        )
        return r, [r, c]
