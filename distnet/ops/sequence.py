"""Sequence operators: ``SequenceLast`` and ``SequenceReverse`` (``SequenceMask`` lives in
index_mask.py), and ``_sample_multinomial`` with its ``get_prob`` gradient.

Sequences are ``(T, B, ...)`` (``axis=0``) or, for ``SequenceLast``, ``(B, T, ...)``
(``axis=1``); ``sequence_length`` holds one length per batch entry.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Int, Shape, Dtype
from .registry import Op, register
from ._util import xp_of


def _lengths(name, xp, a, x, ins, low=1):
    """Per-batch lengths (int64), or the full length when none are used."""
    axis = a["axis"]
    if axis not in (0, 1) or x.ndim < 2:
        raise MXNetError(
            f"{name}: data needs axis 0 or 1 and at least 2 dimensions; got "
            f"axis={axis}, data shape {tuple(x.shape)}"
        )
    steps, batch = (x.shape[0], x.shape[1]) if axis == 0 else (x.shape[1], x.shape[0])
    if not a["use_sequence_length"]:
        return xp.full((batch,), steps, np.int64)
    lens = ins[1]
    if tuple(lens.shape) != (batch,):
        raise MXNetError(
            f"{name}: sequence_length has shape {tuple(lens.shape)}, expected "
            f"({batch},) for data {tuple(x.shape)} and axis={axis}"
        )
    lens = lens.astype(np.int64)
    if int(lens.min()) < low or int(lens.max()) > steps:
        raise MXNetError(
            f"{name}: sequence_length must lie in [{low}, {steps}], got {lens.tolist()}"
        )
    return lens


class _SeqOp(Op):
    inputs = ("data", "sequence_length")
    params = {"use_sequence_length": Attr(Bool, False), "axis": Attr(Int, 0)}

    def input_names(self, a):
        return self.inputs if a["use_sequence_length"] else ("data",)

    def _tail(self, grads, a):
        return grads + ((None,) if a["use_sequence_length"] else ())


@register
class SequenceLast(_SeqOp):
    """The last valid step of every sequence: ``(B, ...)``."""

    name = "SequenceLast"

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [tuple(d[1:]) if a["axis"] == 0 else (d[0],) + tuple(d[2:])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        idx = _lengths(self.name, xp, a, x, ins) - 1
        b = xp.arange(idx.shape[0])
        out = x[idx, b] if a["axis"] == 0 else x[b, idx]
        return (out,), idx

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        dx = xp.zeros_like(x)
        b = xp.arange(saved.shape[0])
        if a["axis"] == 0:
            dx[saved, b] = ograds[0]
        else:
            dx[b, saved] = ograds[0]
        return self._tail((dx,), a)


@register
class SequenceReverse(_SeqOp):
    """Reverse the first ``length`` steps of each sequence along axis 0; later steps stay
    where they are."""

    name = "SequenceReverse"

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    @staticmethod
    def _index(xp, a, x, lens):
        if a["axis"] != 0:
            raise MXNetError(
                f"SequenceReverse: only axis=0 is supported (as in MXNet), got axis={a['axis']}"
            )
        t = xp.arange(x.shape[0])[:, None]
        src = xp.where(t < lens[None, :], lens[None, :] - 1 - t, t)
        return src, xp.arange(x.shape[1])[None, :]

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        # a length of 0 reverses nothing, as in MXNet
        src, b = self._index(xp, a, x, _lengths(self.name, xp, a, x, ins, low=0))
        return (x[src, b],), (src, b)

    def backward(self, F, a, ins, outs, saved, ograds):
        src, b = saved
        # the index map is its own inverse: reversing twice is the identity
        return self._tail((ograds[0][src, b],), a)


@register
class _sample_multinomial(Op):
    """``shape`` draws from each distribution in the last axis of ``data`` (probabilities
    summing to 1). With ``get_prob`` a second output holds the log-probability of each
    draw, whose gradient (REINFORCE) flows back to ``data``."""

    name = "_sample_multinomial"
    aliases = ("sample_multinomial", "_random_multinomial")
    params = {
        "shape": Attr(Shape, ()),
        "get_prob": Attr(Bool, False),
        "dtype": Attr(Dtype, np.dtype(np.int32)),
    }

    def output_names(self, a):
        return ("output", "prob") if a["get_prob"] else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        out = None if d is None else tuple(d[:-1]) + tuple(a["shape"])
        return in_shapes, [out] * self.num_outputs(a), aux_shapes

    def infer_type(self, a, in_types, aux_types):
        dt = in_types[0] or np.dtype(np.float32)
        return [dt], [np.dtype(a["dtype"]), dt][: self.num_outputs(a)], aux_types

    def forward(self, a, ins, aux, is_train):
        from .. import random as _random
        from .nn import _uniform

        p = ins[0]
        xp = xp_of(p)
        k = p.shape[-1]
        extra = tuple(a["shape"])
        n = int(np.prod(extra)) if extra else 1
        flat = p.reshape(-1, k)
        cdf = xp.cumsum(flat, axis=1)
        u = _uniform(_random.generator(xp), (flat.shape[0], n), p.dtype) * cdf[:, -1:]
        idx = xp.minimum((u[:, :, None] >= cdf[:, None, :]).sum(axis=2), k - 1)
        shape = tuple(p.shape[:-1]) + extra
        outs = [idx.reshape(shape).astype(a["dtype"])]
        if a["get_prob"]:
            picked = xp.take_along_axis(flat, idx, axis=1)
            outs.append(xp.log(picked).reshape(shape).astype(p.dtype))
        return tuple(outs), idx

    def backward(self, F, a, ins, outs, saved, ograds):
        p = ins[0]
        xp = xp_of(p)
        k = p.shape[-1]
        flat = p.reshape(-1, k)
        dp = xp.zeros_like(flat)
        if a["get_prob"] and ograds[1] is not None:
            g = ograds[1].reshape(saved.shape) / xp.take_along_axis(flat, saved, axis=1)
            rows = xp.broadcast_to(xp.arange(flat.shape[0])[:, None], saved.shape)
            if xp is np:
                np.add.at(dp, (rows, saved), g)
            else:
                import cupyx

                cupyx.scatter_add(dp, (rows, saved), g)
        return (dp.reshape(p.shape),)
