"""MXNet's fused multi-head attention products on interleaved projections
(``contrib.interleaved_matmul_selfatt_qk`` / ``_valatt`` and ``_encdec_qk`` /
``_valatt``).

Projections are (seq_length, batch, heads * parts * head_dim): for each head the
``parts`` (3 for query/key/value, 2 for key/value, 1 for queries alone) lie side by side.
Attention maps are (batch * heads, query_length, key_length), batch-major.
"""

import math

from ..base import MXNetError
from .attrs import Attr, Int
from .registry import Op, register
from ._util import xp_of


def _heads(x, heads, parts, name):
    """``x`` (L, B, heads*parts*D) viewed as (L, B, heads, parts, D)."""
    if x.ndim != 3 or heads <= 0 or x.shape[2] % (heads * parts):
        raise MXNetError(
            f"operator {name}: input of shape {tuple(x.shape)} must be (seq_length, "
            f"batch, heads * {parts} * head_dim) with heads={heads}"
        )
    return x.reshape(x.shape[0], x.shape[1], heads, parts, -1)


def _part(x5, idx):
    """Part ``idx`` of every head as (B*heads, L, D)."""
    p = x5[:, :, :, idx, :].transpose(1, 2, 0, 3)
    return p.reshape(-1, p.shape[2], p.shape[3])


def _unpart(t, length, batch, heads):
    """(B*heads, L, D) back to (L, B, heads, D)."""
    return t.reshape(batch, heads, length, -1).transpose(2, 0, 1, 3)


class _QK(Op):
    """``(q / sqrt(head_dim)) @ k^T`` for every batch element and head."""

    params = {"heads": Attr(Int)}
    # (query input, its parts, its part index), (key input, its parts, its part index)
    layout = None

    def _qk(self, a, ins):
        (qi, qparts, qidx), (ki, kparts, kidx) = self.layout
        q5 = _heads(ins[qi], a["heads"], qparts, self.name)
        k5 = _heads(ins[ki], a["heads"], kparts, self.name)
        scale = ins[qi].dtype.type(1.0 / math.sqrt(q5.shape[-1]))
        return q5, k5, _part(q5, qidx) * scale, _part(k5, kidx), scale

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        _, _, q, k, _ = self._qk(a, ins)
        return (xp.matmul(q, k.transpose(0, 2, 1)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        xp = xp_of(ins[0])
        (qi, _, qidx), (ki, _, kidx) = self.layout
        q5, k5, q, k, scale = self._qk(a, ins)
        g = ograds[0]
        grads = [xp.zeros_like(q5)] if qi == ki else [xp.zeros_like(q5), xp.zeros_like(k5)]
        heads = a["heads"]
        dq = xp.matmul(g, k) * scale
        dk = xp.matmul(g.transpose(0, 2, 1), q)
        grads[qi][:, :, :, qidx, :] = _unpart(dq, q5.shape[0], q5.shape[1], heads)
        grads[ki][:, :, :, kidx, :] = _unpart(dk, k5.shape[0], k5.shape[1], heads)
        return tuple(gr.reshape(x.shape) for gr, x in zip(grads, ins))


class _ValAtt(Op):
    """``attention @ v`` for every batch element and head, back in (L, B, heads*D)."""

    params = {"heads": Attr(Int)}
    parts = None  # parts interleaved in the first input
    vidx = None  # the index of the value part

    def _v(self, a, ins):
        kv, att = ins
        v5 = _heads(kv, a["heads"], self.parts, self.name)
        v = _part(v5, self.vidx)
        if att.ndim != 3 or att.shape[0] != v.shape[0] or att.shape[2] != v.shape[1]:
            raise MXNetError(
                f"operator {self.name}: attention of shape {tuple(att.shape)} must be "
                f"(batch*heads, query_length, {v.shape[1]}) with batch*heads={v.shape[0]}"
            )
        return v5, v

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        v5, v = self._v(a, ins)
        out = xp.matmul(ins[1], v)
        length, batch = ins[1].shape[1], v5.shape[1]
        out = _unpart(out, length, batch, a["heads"])
        return (xp.ascontiguousarray(out).reshape(length, batch, -1),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        xp = xp_of(ins[0])
        v5, v = self._v(a, ins)
        att = ins[1]
        g = _part(ograds[0].reshape(ograds[0].shape[0], ograds[0].shape[1], a["heads"], 1, -1), 0)
        datt = xp.matmul(g, v.transpose(0, 2, 1))
        dv5 = xp.zeros_like(v5)
        dv = xp.matmul(att.transpose(0, 2, 1), g)
        dv5[:, :, :, self.vidx, :] = _unpart(dv, v5.shape[0], v5.shape[1], a["heads"])
        return dv5.reshape(ins[0].shape), datt


@register
class _contrib_interleaved_matmul_selfatt_qk(_QK):
    """Self-attention scores from interleaved (L, B, heads*3*D) query/key/value
    projections: (B*heads, L, L)."""

    name = "_contrib_interleaved_matmul_selfatt_qk"
    inputs = ("queries_keys_values",)
    layout = ((0, 3, 0), (0, 3, 1))


@register
class _contrib_interleaved_matmul_encdec_qk(_QK):
    """Encoder-decoder attention scores from queries (Lq, B, heads*D) and interleaved
    keys/values (Lk, B, heads*2*D): (B*heads, Lq, Lk)."""

    name = "_contrib_interleaved_matmul_encdec_qk"
    inputs = ("queries", "keys_values")
    layout = ((0, 1, 0), (1, 2, 0))


@register
class _contrib_interleaved_matmul_selfatt_valatt(_ValAtt):
    """Self-attention output from interleaved (L, B, heads*3*D) projections and the
    attention maps (B*heads, L, L): (L, B, heads*D)."""

    name = "_contrib_interleaved_matmul_selfatt_valatt"
    inputs = ("queries_keys_values", "attention")
    parts, vidx = 3, 2


@register
class _contrib_interleaved_matmul_encdec_valatt(_ValAtt):
    """Encoder-decoder attention output from interleaved keys/values (Lk, B, heads*2*D)
    and the attention maps (B*heads, Lq, Lk): (Lq, B, heads*D)."""

    name = "_contrib_interleaved_matmul_encdec_valatt"
    inputs = ("keys_values", "attention")
    parts, vidx = 2, 1
