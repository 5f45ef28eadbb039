"""Matrix products: dot (2-d and tensordot over one axis) and batch_dot."""

import numpy as np

from .attrs import Attr, Bool, Str
from .registry import Op, register
from ._util import xp_of


def _mat(x, transpose):
    return x.T if transpose and x.ndim == 2 else x


@register
class dot(Op):
    """Matrix product; for N-d inputs, sums over the last axis of ``lhs`` and the first of
    ``rhs``. ``transpose_a``/``transpose_b`` transpose 2-d inputs first."""

    name = "dot"
    inputs = ("lhs", "rhs")
    params = {"transpose_a": Attr(Bool, False), "transpose_b": Attr(Bool, False),
              "forward_stype": Attr(Str, "None")}

    def infer_shape(self, a, in_shapes, aux_shapes):
        l, r = in_shapes
        if l is None or r is None:
            return in_shapes, [None], aux_shapes
        l = l[::-1] if a["transpose_a"] and len(l) == 2 else l
        r = r[::-1] if a["transpose_b"] and len(r) == 2 else r
        out = tuple(l[:-1]) + tuple(r[1:])
        return in_shapes, [out if out else (1,)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        l, r = ins
        lm, rm = _mat(l, a["transpose_a"]), _mat(r, a["transpose_b"])
        xp = xp_of(l)
        if lm.ndim <= 2 and rm.ndim <= 2:
            out = xp.dot(lm, rm)
        else:
            out = xp.tensordot(lm, rm, axes=1)
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        l, r = ins
        xp = xp_of(l)
        lm, rm = _mat(l, a["transpose_a"]), _mat(r, a["transpose_b"])
        g2 = ograds[0].reshape(int(np.prod(lm.shape[:-1], dtype=np.int64)), -1)
        l2 = lm.reshape(-1, lm.shape[-1])
        r2 = rm.reshape(rm.shape[0], -1)
        gl = xp.dot(g2, r2.T).reshape(lm.shape)
        gr = xp.dot(l2.T, g2).reshape(rm.shape)
        return _mat(gl, a["transpose_a"]), _mat(gr, a["transpose_b"])


@register
class batch_dot(Op):
    """Batched matrix product of ``(B, M, K)`` and ``(B, K, N)`` arrays."""

    name = "batch_dot"
    inputs = ("lhs", "rhs")
    params = {"transpose_a": Attr(Bool, False), "transpose_b": Attr(Bool, False),
              "forward_stype": Attr(Str, "None")}

    def forward(self, a, ins, aux, is_train):
        l, r = ins
        xp = xp_of(l)
        lm = l.swapaxes(-1, -2) if a["transpose_a"] else l
        rm = r.swapaxes(-1, -2) if a["transpose_b"] else r
        return (xp.matmul(lm, rm),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        l, r = ins
        xp = xp_of(l)
        g = ograds[0]
        lm = l.swapaxes(-1, -2) if a["transpose_a"] else l
        rm = r.swapaxes(-1, -2) if a["transpose_b"] else r
        gl = xp.matmul(g, rm.swapaxes(-1, -2))
        gr = xp.matmul(lm.swapaxes(-1, -2), g)
        if a["transpose_a"]:
            gl = gl.swapaxes(-1, -2)
        if a["transpose_b"]:
            gr = gr.swapaxes(-1, -2)
        return xp.ascontiguousarray(gl), xp.ascontiguousarray(gr)
