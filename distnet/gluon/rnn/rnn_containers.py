"""Cells made of cells: ``SequentialRNNCell``/``HybridSequentialRNNCell`` (stacks),
``BidirectionalCell``, ``DropoutCell`` and the modifiers ``ZoneoutCell``/``ResidualCell``."""

from numbers import Number

from ...base import MXNetError
from .._common import indent
from .rnn_cell import RecurrentCell, HybridRecurrentCell
from ._seq import (
    format_sequence,
    mask_variable_length,
    reverse_sequences,
    is_tensor,
    begin_state_for,
    zoneout,
    NO_BIDIRECTIONAL_ZONEOUT,
)

__all__ = [
    "SequentialRNNCell",
    "HybridSequentialRNNCell",
    "DropoutCell",
    "ModifierCell",
    "ZoneoutCell",
    "ResidualCell",
    "BidirectionalCell",
]


def _state_info(cells, batch_size):
    return sum([c.state_info(batch_size) for c in cells], [])


def _begin_state(cells, **kwargs):
    return sum([c.begin_state(**kwargs) for c in cells], [])


class _StackMixin:
    """Shared behaviour of the two sequential stacks."""

    def __repr__(self):
        mods = "\n".join(f"({i}): {indent(repr(m), 2)}" for i, m in self._children.items())
        return f"{self.__class__.__name__}(\n{mods}\n)"

    def add(self, cell):
        """Append a cell to the stack."""
        self.register_child(cell)

    def state_info(self, batch_size=0):
        """The states of every cell, in order."""
        return _state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        """The begin states of every cell, in order."""
        if self._modified:
            raise MXNetError(
                "After applying modifier cells (e.g. ZoneoutCell) the base cell "
                "cannot be called directly. Call the modifier cell instead."
            )
        return _begin_state(self._children.values(), **kwargs)

    def _step(self, inputs, states):
        self._counter += 1
        next_states, p = [], 0
        for cell in self._children.values():
            if isinstance(cell, BidirectionalCell):
                raise MXNetError(
                    "a stack holding a BidirectionalCell cannot be stepped; use unroll"
                )
            n = len(cell.state_info())
            inputs, state = cell(inputs, states[p : p + n])
            p += n
            next_states.extend(state)
        return inputs, next_states

    def unroll(
        self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None
    ):
        """Unroll every cell in turn over the whole sequence."""
        self.reset()
        inputs, axis, F, batch = format_sequence(length, inputs, layout, None)
        begin_state = begin_state_for(self, F, begin_state, inputs, batch, axis)
        cells = list(self._children.values())
        p, next_states = 0, []
        for i, cell in enumerate(cells):
            n = len(cell.state_info())
            inputs, states = cell.unroll(
                length,
                inputs=inputs,
                begin_state=begin_state[p : p + n],
                layout=layout,
                merge_outputs=merge_outputs if i == len(cells) - 1 else None,
                valid_length=valid_length,
            )
            p += n
            next_states.extend(states)
        return inputs, next_states

    def __getitem__(self, i):
        return self._children[str(i)]

    def __len__(self):
        return len(self._children)


class SequentialRNNCell(_StackMixin, RecurrentCell):
    """A stack of cells; each step feeds one cell's output to the next."""

    def __call__(self, inputs, states):
        return self._step(inputs, states)


class HybridSequentialRNNCell(_StackMixin, HybridRecurrentCell):
    """A stack of hybrid cells, itself hybridizable."""

    def __call__(self, inputs, states):
        return self._step(inputs, states)

    def hybrid_forward(self, F, inputs, states):
        """One step through the stack."""
        return self._step(inputs, states)


class DropoutCell(HybridRecurrentCell):
    """Dropout on the inputs of a step (``rate``; ``axes`` share the mask); no state."""

    def __init__(self, rate, axes=(), prefix=None, params=None):
        super().__init__(prefix, params)
        if not isinstance(rate, Number):
            raise MXNetError(f"DropoutCell: rate must be a number, got {rate!r}")
        self._rate, self._axes = rate, axes

    def __repr__(self):
        return f"{self.__class__.__name__}(rate={self._rate}, axes={self._axes})"

    def state_info(self, batch_size=0):
        """No states."""
        return []

    def _alias(self):
        return "dropout"

    def hybrid_forward(self, F, inputs, states):
        """Dropout on ``inputs``; states pass through."""
        if self._rate > 0:
            inputs = F.Dropout(
                data=inputs, p=self._rate, axes=self._axes, name=f"t{self._counter}_fwd"
            )
        return inputs, states

    def unroll(
        self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None
    ):
        """Dropout over the whole sequence at once when it comes as one tensor."""
        self.reset()
        inputs, _, F, _ = format_sequence(length, inputs, layout, merge_outputs)
        if is_tensor(inputs):
            return self.hybrid_forward(F, inputs, begin_state if begin_state else [])
        return super().unroll(
            length,
            inputs,
            begin_state=begin_state,
            layout=layout,
            merge_outputs=merge_outputs,
            valid_length=None,
        )


class ModifierCell(HybridRecurrentCell):
    """Base of the cells that wrap one ``base_cell`` and share its parameters."""

    def __init__(self, base_cell):
        if base_cell._modified:
            raise MXNetError(
                f"Cell {base_cell.name} is already modified. One cell cannot be modified twice"
            )
        base_cell._modified = True
        super().__init__(prefix=base_cell.prefix + self._alias(), params=None)
        self.base_cell = base_cell

    @property
    def params(self):
        """The base cell's parameters."""
        return self.base_cell.params

    def state_info(self, batch_size=0):
        """The base cell's states."""
        return self.base_cell.state_info(batch_size)

    def begin_state(self, func=None, **kwargs):
        """The base cell's begin states."""
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(func=func, **kwargs)
        finally:
            self.base_cell._modified = True

    def hybrid_forward(self, F, inputs, states):
        """Override in subclasses."""
        raise NotImplementedError

    def __repr__(self):
        return f"{self.__class__.__name__}({self.base_cell})"


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al. 2016): while training, each output/state unit keeps its
    previous value with probability ``zoneout_outputs``/``zoneout_states``."""

    def __init__(self, base_cell, zoneout_outputs=0.0, zoneout_states=0.0):
        if isinstance(base_cell, BidirectionalCell):
            raise MXNetError(NO_BIDIRECTIONAL_ZONEOUT)
        super().__init__(base_cell)
        self.zoneout_outputs, self.zoneout_states = zoneout_outputs, zoneout_states
        self._prev_output = None

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(p_out={self.zoneout_outputs}, "
            f"p_state={self.zoneout_states}, {self.base_cell})"
        )

    def _alias(self):
        return "zoneout"

    def reset(self):
        """Forget the previous output too."""
        super().reset()
        self._prev_output = None

    def hybrid_forward(self, F, inputs, states):
        """One step of the base cell, then keep old values where the mask is zero."""
        out, new_states = self.base_cell(inputs, states)
        out, new_states = zoneout(
            F, out, new_states, states, self._prev_output, self.zoneout_outputs, self.zoneout_states
        )
        self._prev_output = out
        return out, new_states


class ResidualCell(ModifierCell):
    """The base cell's output plus its input (Wu et al. 2016)."""

    def hybrid_forward(self, F, inputs, states):
        """One step plus the residual connection."""
        out, states = self.base_cell(inputs, states)
        return F.elemwise_add(out, inputs, name=f"t{self._counter}_fwd"), states

    def unroll(
        self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None
    ):
        """Unroll the base cell, then add the (masked) inputs."""
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(
                length,
                inputs=inputs,
                begin_state=begin_state,
                layout=layout,
                merge_outputs=merge_outputs,
                valid_length=valid_length,
            )
        finally:
            self.base_cell._modified = True
        merge = is_tensor(outputs) if merge_outputs is None else merge_outputs
        inputs, axis, F, _ = format_sequence(length, inputs, layout, merge)
        if valid_length is not None:
            inputs = mask_variable_length(F, inputs, length, valid_length, axis, merge)
        if merge:
            return F.elemwise_add(outputs, inputs), states
        return [F.elemwise_add(i, j) for i, j in zip(outputs, inputs)], states


class BidirectionalCell(HybridRecurrentCell):
    """Runs ``l_cell`` forward and ``r_cell`` backward over the sequence and concatenates
    their outputs; only ``unroll`` is possible."""

    def __init__(self, l_cell, r_cell, output_prefix="bi_"):
        super().__init__(prefix="", params=None)
        self.register_child(l_cell, "l_cell")
        self.register_child(r_cell, "r_cell")
        self._output_prefix = output_prefix

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(forward={self._children['l_cell']}, "
            f"backward={self._children['r_cell']})"
        )

    def state_info(self, batch_size=0):
        """Forward cell's states, then backward cell's."""
        return _state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        """Forward cell's begin states, then backward cell's."""
        return _begin_state(self._children.values(), **kwargs)

    def unroll(
        self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None
    ):
        """Unroll both directions; outputs concatenated on the feature axis."""
        self.reset()
        inputs, axis, F, batch = format_sequence(length, inputs, layout, False)
        reversed_inputs = reverse_sequences(inputs, length, valid_length)
        states = begin_state_for(self, F, begin_state, inputs, batch)
        l_cell, r_cell = self._children.values()
        nl = len(l_cell.state_info(batch))
        l_out, l_states = l_cell.unroll(
            length,
            inputs=inputs,
            begin_state=states[:nl],
            layout=layout,
            merge_outputs=merge_outputs,
            valid_length=valid_length,
        )
        r_out, r_states = r_cell.unroll(
            length,
            inputs=reversed_inputs,
            begin_state=states[nl:],
            layout=layout,
            merge_outputs=False,
            valid_length=valid_length,
        )
        r_out = reverse_sequences(r_out, length, valid_length)
        if merge_outputs is None:
            merge_outputs = is_tensor(l_out)
            l_out, _, _, _ = format_sequence(None, l_out, layout, merge_outputs)
            r_out, _, _, _ = format_sequence(None, r_out, layout, merge_outputs)
        if merge_outputs:
            if not is_tensor(r_out):
                r_out = F.stack(*r_out, axis=axis)
            outputs = F.concat(l_out, r_out, dim=2, name=f"{self._output_prefix}out")
        else:
            outputs = [
                F.concat(lo, ro, dim=1, name=f"{self._output_prefix}t{i}")
                for i, (lo, ro) in enumerate(zip(l_out, r_out))
            ]
        if valid_length is not None:
            outputs = mask_variable_length(F, outputs, length, valid_length, axis, merge_outputs)
        return outputs, l_states + r_states
