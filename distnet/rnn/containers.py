"""Legacy (``mx.rnn``) stacks, bidirectional, dropout and modifier cells."""

from ..base import MXNetError
from .. import symbol
from .rnn_cell import BaseRNNCell

__all__ = [
    "SequentialRNNCell",
    "BidirectionalCell",
    "DropoutCell",
    "ModifierCell",
    "ZoneoutCell",
    "ResidualCell",
]


def _seq():
    from ..gluon.rnn import _seq

    return _seq


class _CellList(BaseRNNCell):
    """A cell made of the cells in ``self._cells``: their states and weights in order."""

    @property
    def state_info(self):
        """Every cell's states, in order."""
        return sum([c.state_info for c in self._cells], [])

    def begin_state(self, **kwargs):
        """Every cell's begin states."""
        return sum([c.begin_state(**kwargs) for c in self._cells], [])

    def unpack_weights(self, args):
        """Each cell's ``unpack_weights`` in turn."""
        for cell in self._cells:
            args = cell.unpack_weights(args)
        return args

    def pack_weights(self, args):
        """Each cell's ``pack_weights`` in turn."""
        for cell in self._cells:
            args = cell.pack_weights(args)
        return args


class SequentialRNNCell(_CellList):
    """A stack of cells."""

    def __init__(self, params=None):
        super().__init__(prefix="", params=params)
        self._override_cell_params = params is not None
        self._cells = []

    def add(self, cell):
        """Append a cell."""
        self._cells.append(cell)
        if self._override_cell_params:
            cell.params._params.update(self.params._params)
        self.params._params.update(cell.params._params)

    def __call__(self, inputs, states):
        self._counter += 1
        next_states, p = [], 0
        for cell in self._cells:
            if isinstance(cell, BidirectionalCell):
                raise MXNetError(
                    "a stack holding a BidirectionalCell cannot be stepped; use unroll"
                )
            n = len(cell.state_info)
            inputs, state = cell(inputs, states[p : p + n])
            p += n
            next_states.extend(state)
        return inputs, next_states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Unroll each cell over the whole sequence in turn."""
        self.reset()
        inputs, axis, F, batch = _seq().format_sequence(length, inputs, layout, None)
        begin_state = _seq().begin_state_for(self, F, begin_state, inputs, batch, axis)
        p, next_states = 0, []
        for i, cell in enumerate(self._cells):
            n = len(cell.state_info)
            inputs, states = cell.unroll(
                length,
                inputs=inputs,
                begin_state=begin_state[p : p + n],
                layout=layout,
                merge_outputs=merge_outputs if i == len(self._cells) - 1 else None,
            )
            p += n
            next_states.extend(states)
        return inputs, next_states


class BidirectionalCell(_CellList):
    """Forward ``l_cell`` and backward ``r_cell``; outputs concatenated."""

    def __init__(self, l_cell, r_cell, params=None, output_prefix="bi_"):
        super().__init__("", params=params)
        self._output_prefix = output_prefix
        self._cells = [l_cell, r_cell]
        for cell in self._cells:
            self.params._params.update(cell.params._params)

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Unroll both directions; states come back as ``[l_states, r_states]`` (MXNet's
        legacy nesting)."""
        self.reset()
        seq = _seq()
        inputs, axis, F, batch = seq.format_sequence(length, inputs, layout, False)
        states = seq.begin_state_for(self, F, begin_state, inputs, batch)
        l_cell, r_cell = self._cells
        nl = len(l_cell.state_info)
        l_out, l_states = l_cell.unroll(
            length,
            inputs=inputs,
            begin_state=states[:nl],
            layout=layout,
            merge_outputs=merge_outputs,
        )
        r_out, r_states = r_cell.unroll(
            length,
            inputs=list(reversed(inputs)),
            begin_state=states[nl:],
            layout=layout,
            merge_outputs=merge_outputs,
        )
        if merge_outputs is None:
            merge_outputs = seq.is_tensor(l_out) and seq.is_tensor(r_out)
            if not merge_outputs:
                l_out = seq.format_sequence(length, l_out, layout, False)[0]
                r_out = seq.format_sequence(length, r_out, layout, False)[0]
        if merge_outputs:
            outputs = symbol.Concat(
                l_out, symbol.reverse(r_out, axis=axis), dim=2, name=f"{self._output_prefix}out"
            )
        else:
            outputs = [
                symbol.Concat(lo, ro, dim=1, name=f"{self._output_prefix}t{i}")
                for i, (lo, ro) in enumerate(zip(l_out, reversed(r_out)))
            ]
        return outputs, [l_states, r_states]


class DropoutCell(BaseRNNCell):
    """Dropout on each step's input; no state."""

    def __init__(self, dropout, prefix="dropout_", params=None):
        super().__init__(prefix, params)
        self.dropout = dropout

    @property
    def state_info(self):
        """No states."""
        return []

    def __call__(self, inputs, states):
        if self.dropout > 0:
            inputs = symbol.Dropout(data=inputs, p=self.dropout)
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Dropout on the whole sequence at once when it is one tensor."""
        self.reset()
        inputs, _, _, _ = _seq().format_sequence(length, inputs, layout, merge_outputs)
        if _seq().is_tensor(inputs):
            return self(inputs, begin_state or [])
        return super().unroll(
            length, inputs, begin_state=begin_state, layout=layout, merge_outputs=merge_outputs
        )


class ModifierCell(BaseRNNCell):
    """Wraps ``base_cell`` and shares its parameters."""

    def __init__(self, base_cell):
        super().__init__()
        base_cell._modified = True
        self.base_cell = base_cell

    @property
    def params(self):
        """The base cell's parameters."""
        self._own_params = False
        return self.base_cell.params

    @property
    def state_info(self):
        """The base cell's states."""
        return self.base_cell.state_info

    def begin_state(self, init_sym=None, **kwargs):
        """The base cell's begin states."""
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(**kwargs)
        finally:
            self.base_cell._modified = True

    def unpack_weights(self, args):
        """The base cell's."""
        return self.base_cell.unpack_weights(args)

    def pack_weights(self, args):
        """The base cell's."""
        return self.base_cell.pack_weights(args)

    def __call__(self, inputs, states):
        raise NotImplementedError


class ZoneoutCell(ModifierCell):
    """Zoneout on outputs and/or states (keep the previous value with probability p)."""

    def __init__(self, base_cell, zoneout_outputs=0.0, zoneout_states=0.0):
        if isinstance(base_cell, BidirectionalCell):
            raise MXNetError(_seq().NO_BIDIRECTIONAL_ZONEOUT)
        super().__init__(base_cell)
        self.zoneout_outputs, self.zoneout_states = zoneout_outputs, zoneout_states
        self.prev_output = None

    def reset(self):
        """Also forget the previous output."""
        super().reset()
        self.prev_output = None

    def __call__(self, inputs, states):
        out, next_states = self.base_cell(inputs, states)
        out, next_states = _seq().zoneout(
            symbol,
            out,
            next_states,
            states,
            self.prev_output,
            self.zoneout_outputs,
            self.zoneout_states,
        )
        self.prev_output = out
        return out, next_states


class ResidualCell(ModifierCell):
    """Output of the base cell plus its input."""

    def __call__(self, inputs, states):
        out, states = self.base_cell(inputs, states)
        return symbol.elemwise_add(out, inputs, name=f"{out.name}_plus_residual"), states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Unroll the base cell, then add the inputs."""
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(
                length,
                inputs=inputs,
                begin_state=begin_state,
                layout=layout,
                merge_outputs=merge_outputs,
            )
        finally:
            self.base_cell._modified = True
        seq = _seq()
        merge = seq.is_tensor(outputs) if merge_outputs is None else merge_outputs
        inputs = seq.format_sequence(length, inputs, layout, merge)[0]
        if merge:
            return symbol.elemwise_add(
                outputs, inputs, name=f"{outputs.name}_plus_residual"
            ), states
        return [
            symbol.elemwise_add(o, i, name=f"{o.name}_plus_residual")
            for o, i in zip(outputs, inputs)
        ], states
