"""Broadcasting operators: broadcast_to, broadcast_axis and broadcast_like."""

from .attrs import Attr, Shape
from .registry import Op, register
from ._util import xp_of, unbroadcast


@register
class broadcast_to(Op):
    """Broadcast to ``shape`` (0 keeps the input's dim)."""

    name = "broadcast_to"
    params = {"shape": Attr(Shape, ())}
    nd_backward = True

    def _target(self, a, shape):
        target = a["shape"]
        pad = len(target) - len(shape)
        src = (1,) * pad + tuple(shape)
        return tuple(s if t == 0 else t for s, t in zip(src, target))

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else self._target(a, s)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        return (xp.ascontiguousarray(xp.broadcast_to(x, self._target(a, x.shape))),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (unbroadcast(F, ograds[0], ins[0].shape),)


@register
class broadcast_axis(Op):
    """Broadcast axes of length 1 listed in ``axis`` to the lengths in ``size``."""

    name = "broadcast_axis"
    aliases = ("broadcast_axes",)
    params = {"axis": Attr(Shape, ()), "size": Attr(Shape, ())}
    nd_backward = True

    def _target(self, a, shape):
        out = list(shape)
        for ax, n in zip(a["axis"], a["size"]):
            out[ax % len(shape)] = n
        return tuple(out)

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else self._target(a, s)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        return (xp.ascontiguousarray(xp.broadcast_to(x, self._target(a, x.shape))),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (unbroadcast(F, ograds[0], ins[0].shape),)


@register
class broadcast_like(Op):
    """Broadcast ``lhs`` to the shape of ``rhs``."""

    name = "broadcast_like"
    inputs = ("lhs", "rhs")
    params = {"lhs_axes": Attr(Shape, ()), "rhs_axes": Attr(Shape, ())}
    nd_backward = True

    def _target(self, a, lshape, rshape):
        if not a["lhs_axes"]:
            return tuple(rshape)
        out = list(lshape)
        for la, ra in zip(a["lhs_axes"], a["rhs_axes"]):
            out[la % len(lshape)] = rshape[ra % len(rshape)]
        return tuple(out)

    def infer_shape(self, a, in_shapes, aux_shapes):
        l, r = in_shapes
        if l is None or r is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._target(a, l, r)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        l, r = ins
        xp = xp_of(l)
        return (xp.ascontiguousarray(xp.broadcast_to(l, self._target(a, l.shape, r.shape))),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (unbroadcast(F, ograds[0], ins[0].shape), None)
