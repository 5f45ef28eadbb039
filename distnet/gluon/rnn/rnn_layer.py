"""Fused recurrent layers: ``RNN``, ``LSTM`` and ``GRU`` over whole sequences, with
MXNet's parameter names (``l0_i2h_weight``, ``r0_h2h_bias``, ...) and the packed layout of
the ``RNN`` operator, so parameters saved by MXNet load unchanged."""

from ...base import MXNetError
from ..block import HybridBlock

__all__ = ["RNN", "LSTM", "GRU"]

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


class _RNNLayer(HybridBlock):
    """Shared implementation: parameters, states, layout handling, the fused kernel."""

    def __init__(
        self,
        hidden_size,
        num_layers,
        layout,
        dropout,
        bidirectional,
        input_size,
        i2h_weight_initializer,
        h2h_weight_initializer,
        i2h_bias_initializer,
        h2h_bias_initializer,
        mode,
        projection_size,
        h2r_weight_initializer,
        lstm_state_clip_min,
        lstm_state_clip_max,
        lstm_state_clip_nan,
        dtype,
        use_sequence_length=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if layout not in ("TNC", "NTC"):
            raise MXNetError(f"Invalid layout {layout}; must be one of ['TNC' or 'NTC']")
        if use_sequence_length:
            raise MXNetError(
                "use_sequence_length is not supported by distnet's RNN layers "
                "(MXNet supports it only with cuDNN)"
            )
        self._hidden_size, self._num_layers, self._mode = hidden_size, num_layers, mode
        self._layout, self._dropout, self._dir = layout, dropout, 2 if bidirectional else 1
        self._input_size, self._dtype = input_size, dtype
        self._projection_size = projection_size or None
        self._clip = (lstm_state_clip_min, lstm_state_clip_max, lstm_state_clip_nan)
        self._inits = (
            i2h_weight_initializer,
            h2h_weight_initializer,
            i2h_bias_initializer,
            h2h_bias_initializer,
        )
        self._gates = _GATES[mode]
        ng, ni, nh = self._gates, input_size, hidden_size
        nr = self._projection_size or nh  # LSTMP: recurrent state and output of size P
        for i in range(num_layers):
            for j in ["l", "r"][: self._dir]:
                specs = [
                    ("i2h_weight", (ng * nh, ni), i2h_weight_initializer),
                    ("h2h_weight", (ng * nh, nr), h2h_weight_initializer),
                    ("i2h_bias", (ng * nh,), i2h_bias_initializer),
                    ("h2h_bias", (ng * nh,), h2h_bias_initializer),
                ]
                if self._projection_size:
                    specs.append(("h2r_weight", (nr, nh), h2r_weight_initializer))
                for kind, shape, init in specs:
                    name = f"{j}{i}_{kind}"
                    setattr(
                        self,
                        name,
                        self.params.get(
                            name, shape=shape, init=init, allow_deferred_init=True, dtype=dtype
                        ),
                    )
            ni = nr * self._dir

    def __repr__(self):
        s = f"{self.__class__.__name__}({{mapping}}, {self._layout}"
        if self._num_layers != 1:
            s += f", num_layers={self._num_layers}"
        if self._dropout != 0:
            s += f", dropout={self._dropout}"
        if self._dir == 2:
            s += ", bidirectional"
        shape = self.l0_i2h_weight.shape
        mapping = f"{shape[1] if shape[1] else None} -> {shape[0] // self._gates}"
        return s.format(mapping=mapping) + ")"

    def state_info(self, batch_size=0):
        """Shapes and layouts of the begin states (with LSTMP ``h`` has the projection's
        size and ``c`` the hidden size)."""
        sizes = [self._projection_size or self._hidden_size]
        if self._mode == "lstm":
            sizes.append(self._hidden_size)
        return [
            {
                "shape": (self._num_layers * self._dir, batch_size, size),
                "__layout__": "LNC",
                "dtype": self._dtype,
            }
            for size in sizes
        ]

    def begin_state(self, batch_size=0, func=None, **kwargs):
        """Initial states (zeros by default), named ``<prefix>h0_<i>``."""
        if func is None:
            from ... import ndarray

            func = ndarray.zeros
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            info.update(kwargs)
            states.append(func(name=f"{self.prefix}h0_{i}", **info))
        return states

    def cast(self, dtype):
        """Cast the parameters and the default state dtype."""
        super().cast(dtype)
        self._dtype = dtype

    def __call__(self, inputs, states=None, sequence_length=None, **kwargs):
        """``layer(x)`` returns the output; ``layer(x, states)`` returns
        ``(output, new_states)``."""
        from ...ndarray.ndarray import NDArray

        self.skip_states = states is None
        if states is None and isinstance(inputs, NDArray):
            batch = inputs.shape[self._layout.find("N")]
            states = self.begin_state(batch, ctx=inputs.context, dtype=inputs.dtype)
        if isinstance(states, NDArray) or hasattr(states, "list_outputs"):
            states = [states]
        if states is None:
            return super().__call__(inputs, **kwargs)
        return super().__call__(inputs, states, **kwargs)

    def hybrid_forward(self, F, inputs, states=None, **kwargs):
        """Check the states, run the fused ``RNN`` operator."""
        if states is None:  # symbolic call without states: zeros shaped from the input
            states = self._zero_states(F, inputs)
        elif hasattr(inputs, "shape") and not hasattr(inputs, "list_outputs"):
            batch = inputs.shape[self._layout.find("N")]
            for state, info in zip(states, self.state_info(batch)):
                if tuple(state.shape) != info["shape"]:
                    raise MXNetError(
                        f"Invalid recurrent state shape. Expecting "
                        f"{info['shape']}, got {tuple(state.shape)}."
                    )
        out = self._forward_kernel(F, inputs, states, **kwargs)
        return out[0] if self.skip_states else out

    def _zero_states(self, F, inputs):
        x = inputs if self._layout == "TNC" else F.swapaxes(inputs, dim1=0, dim2=1)
        z = F.zeros_like(
            F.slice_axis(F.slice_axis(x, axis=0, begin=0, end=1), axis=2, begin=0, end=1)
        )
        return [
            F.tile(z, reps=(self._num_layers * self._dir, 1, info["shape"][2]))
            for info in self.state_info()
        ]

    def _pack(self, F, inputs, params):
        """The packed parameter vector. A graph traced with every parameter shape known
        uses MXNet's own nodes (``Reshape`` and ``_rnn_param_concat``), so its export
        loads in MXNet; otherwise ``_rnn_param_pack`` infers the shapes from the data."""
        known = all(p.shape and all(p.shape) for p in self._reg_params.values())
        if F.__name__.endswith("symbol") and known:
            return F._rnn_param_concat(
                *[F.reshape(p, shape=(-1,)) for p in params], num_args=len(params), dim=0
            )
        return F._rnn_param_pack(
            inputs,
            *params,
            num_args=len(params) + 1,
            state_size=self._hidden_size,
            num_layers=self._num_layers,
            bidirectional=self._dir == 2,
            mode=self._mode,
            projection_size=self._projection_size,
        )

    def _forward_kernel(self, F, inputs, states, **kwargs):
        """Pack the parameters (weights then biases; LSTMP's ``h2r`` weight after each
        ``h2h``) and call the ``RNN`` operator."""
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, dim1=0, dim2=1)
        groups = ("i2h", "h2h", "h2r") if self._projection_size else ("i2h", "h2h")
        order = [
            f"{d}{i}_{g}_{t}"
            for t in ("weight", "bias")
            for i in range(self._num_layers)
            for d in ["l", "r"][: self._dir]
            for g in groups
            if g != "h2r" or t == "weight"
        ]
        params = self._pack(F, inputs, [kwargs[k] for k in order])
        lo, hi, nan = self._clip
        rnn = F.RNN(
            inputs,
            params,
            *states,
            state_size=self._hidden_size,
            projection_size=self._projection_size,
            num_layers=self._num_layers,
            bidirectional=self._dir == 2,
            p=self._dropout,
            state_outputs=True,
            mode=self._mode,
            lstm_state_clip_min=lo,
            lstm_state_clip_max=hi,
            lstm_state_clip_nan=nan,
        )
        outputs = rnn[0]
        states = [rnn[1], rnn[2]] if self._mode == "lstm" else [rnn[1]]
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, dim1=0, dim2=1)
        return outputs, states


class RNN(_RNNLayer):
    """Multi-layer Elman RNN (``activation`` 'relu' or 'tanh') over a whole sequence.

    Parameters
    ----------
    hidden_size : int
    num_layers : int, default 1
    activation : {'relu', 'tanh'}, default 'relu'
    layout : {'TNC', 'NTC'}, default 'TNC'
    dropout : float, default 0
        Dropout on the outputs of every layer but the last.
    bidirectional : bool, default False
    input_size : int, default 0 (inferred from the first input)
    """

    def __init__(
        self,
        hidden_size,
        num_layers=1,
        activation="relu",
        layout="TNC",
        dropout=0,
        bidirectional=False,
        i2h_weight_initializer=None,
        h2h_weight_initializer=None,
        i2h_bias_initializer="zeros",
        h2h_bias_initializer="zeros",
        input_size=0,
        dtype="float32",
        **kwargs,
    ):
        super().__init__(
            hidden_size,
            num_layers,
            layout,
            dropout,
            bidirectional,
            input_size,
            i2h_weight_initializer,
            h2h_weight_initializer,
            i2h_bias_initializer,
            h2h_bias_initializer,
            "rnn_" + activation,
            None,
            None,
            None,
            None,
            False,
            dtype,
            **kwargs,
        )


class LSTM(_RNNLayer):
    """Multi-layer LSTM over a whole sequence (gates i, f, g, o); states ``[h, c]``.
    Parameters as ``RNN`` plus ``state_clip_min``/``state_clip_max``/``state_clip_nan``
    (clip the cell state) and ``projection_size`` P with ``h2r_weight_initializer``
    (LSTMP: per layer and direction an ``h2r_weight`` ``(P, hidden)``, ``h2h_weight``
    ``(4*hidden, P)``, output and ``h`` of size P, ``c`` of size hidden; unlike MXNet
    1.9.1 on CPU, it also trains)."""

    def __init__(
        self,
        hidden_size,
        num_layers=1,
        layout="TNC",
        dropout=0,
        bidirectional=False,
        input_size=0,
        i2h_weight_initializer=None,
        h2h_weight_initializer=None,
        i2h_bias_initializer="zeros",
        h2h_bias_initializer="zeros",
        projection_size=None,
        h2r_weight_initializer=None,
        state_clip_min=None,
        state_clip_max=None,
        state_clip_nan=False,
        dtype="float32",
        **kwargs,
    ):
        super().__init__(
            hidden_size,
            num_layers,
            layout,
            dropout,
            bidirectional,
            input_size,
            i2h_weight_initializer,
            h2h_weight_initializer,
            i2h_bias_initializer,
            h2h_bias_initializer,
            "lstm",
            projection_size,
            h2r_weight_initializer,
            state_clip_min,
            state_clip_max,
            state_clip_nan,
            dtype,
            **kwargs,
        )


class GRU(_RNNLayer):
    """Multi-layer GRU over a whole sequence (gates r, z, n in cuDNN's form). Parameters
    as ``RNN``."""

    def __init__(
        self,
        hidden_size,
        num_layers=1,
        layout="TNC",
        dropout=0,
        bidirectional=False,
        input_size=0,
        i2h_weight_initializer=None,
        h2h_weight_initializer=None,
        i2h_bias_initializer="zeros",
        h2h_bias_initializer="zeros",
        dtype="float32",
        **kwargs,
    ):
        super().__init__(
            hidden_size,
            num_layers,
            layout,
            dropout,
            bidirectional,
            input_size,
            i2h_weight_initializer,
            h2h_weight_initializer,
            i2h_bias_initializer,
            h2h_bias_initializer,
            "gru",
            None,
            None,
            None,
            None,
            False,
            dtype,
            **kwargs,
        )
