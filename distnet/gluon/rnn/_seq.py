"""Helpers of ``unroll``: a sequence as one tensor or a list of steps, masking by valid
length, reversing, default begin states."""

from ...base import MXNetError


NO_BIDIRECTIONAL_ZONEOUT = (
    "BidirectionalCell doesn't support zoneout since it doesn't "
    "support step. Please add ZoneoutCell to the cells underneath "
    "instead."
)


def is_tensor(x):
    """Whether ``x`` is one NDArray or Symbol (not a list of steps)."""
    from ...ndarray.ndarray import NDArray
    from ...symbol.symbol import Symbol

    return isinstance(x, (NDArray, Symbol))


def _namespace(x):
    from ...symbol.symbol import Symbol

    if isinstance(x, Symbol):
        from ... import symbol

        return symbol
    from ... import ndarray

    return ndarray


def format_sequence(length, inputs, layout, merge, in_layout=None):
    """``(inputs, time_axis, F, batch_size)``: ``inputs`` as a list of steps
    (``merge=False``), one tensor (``merge=True``) or as given (``None``)."""
    if inputs is None:
        raise MXNetError(
            "unroll(inputs=None) is not supported: create the input variables outside unroll"
        )
    axis, batch_axis = layout.find("T"), layout.find("N")
    in_axis = in_layout.find("T") if in_layout is not None else axis
    batch = 0
    if is_tensor(inputs):
        F = _namespace(inputs)
        if F.__name__.endswith("ndarray"):
            batch = inputs.shape[batch_axis]
            steps = inputs.shape[in_axis]
            if length is not None and length != steps:
                raise MXNetError(
                    f"unroll: length={length} but the input has {steps} steps "
                    f"on axis {in_axis} (layout {layout})"
                )
        else:
            steps = length
        if merge is False:
            parts = F.split(inputs, axis=in_axis, num_outputs=steps, squeeze_axis=1)
            inputs = [parts] if steps == 1 and is_tensor(parts) else list(parts)
    else:
        if length is not None and len(inputs) != length:
            raise MXNetError(f"unroll: length={length} but {len(inputs)} steps were given")
        F = _namespace(inputs[0])
        if F.__name__.endswith("ndarray"):
            batch = inputs[0].shape[0]
        if merge is True:
            inputs = F.stack(*inputs, axis=axis)
            in_axis = axis
    if is_tensor(inputs) and axis != in_axis:
        inputs = F.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis, F, batch


def mask_variable_length(F, data, length, valid_length, time_axis, merge):
    """Zero the steps past each sequence's valid length."""
    if not is_tensor(data):
        data = F.stack(*data, axis=time_axis)
    out = F.SequenceMask(data, valid_length, use_sequence_length=True, axis=time_axis)
    if not merge:
        parts = F.split(out, num_outputs=length, axis=time_axis, squeeze_axis=True)
        out = [parts] if length == 1 and is_tensor(parts) else list(parts)
    return out


def reverse_sequences(steps, length, valid_length=None):
    """The list of steps reversed (only the valid part of each sequence, if given)."""
    if valid_length is None:
        return list(reversed(steps))
    F = _namespace(steps[0])
    rev = F.SequenceReverse(F.stack(*steps, axis=0), valid_length, use_sequence_length=True)
    parts = F.split(rev, axis=0, num_outputs=length, squeeze_axis=True)
    return [parts] if length == 1 and is_tensor(parts) else list(parts)


def begin_state_for(cell, F, begin_state, inputs, batch, axis=1):
    """``begin_state`` or the cell's zero states for ``batch`` on the inputs' context.
    ``axis`` is the time axis when ``inputs`` is one tensor."""
    if begin_state is not None:
        return begin_state
    first = inputs if is_tensor(inputs) else inputs[0]
    if F.__name__.endswith("ndarray"):
        with first.context:
            return cell.begin_state(func=F.zeros, batch_size=batch)
    # a Symbol graph: zeros shaped from the data, so that the batch size follows from it
    # when the graph is bound
    if is_tensor(inputs):
        first = F.slice_axis(inputs, axis=axis, begin=0, end=1)
    column = F.reshape(F.zeros_like(F.slice_axis(first, axis=-1, begin=0, end=1)), shape=(-1, 1))
    info = cell.state_info(0) if callable(cell.state_info) else cell.state_info
    return [F.tile(column, reps=(1, i["shape"][-1])) for i in info]


def zoneout(F, out, new_states, old_states, prev_out, p_outputs, p_states):
    """One zoneout step: where a dropout mask of ones is zero, keep the previous output
    (``prev_out``, or zeros) and the previous states. Returns ``(out, states)``."""

    def keep_new(p, like):
        return F.Dropout(F.ones_like(like), p=p)

    if prev_out is None:
        prev_out = F.zeros_like(out)
    if p_outputs != 0.0:
        out = F.where(keep_new(p_outputs, out), out, prev_out)
    if p_states != 0.0:
        new_states = [F.where(keep_new(p_states, n), n, o) for n, o in zip(new_states, old_states)]
    return out, new_states
