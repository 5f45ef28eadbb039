"""Broadcasting operators: broadcast_to, broadcast_axis and broadcast_like."""

from ..base import MXNetError
from .attrs import Attr, Shape
from .registry import Op, register
from ._util import xp_of, unbroadcast


class _Broadcast(Op):
    """Broadcast the first input to ``_target(a, *input_shapes)``; the gradient is summed
    back over the broadcast axes. Later inputs (``broadcast_like``'s rhs) get none."""

    nd_backward = True

    def _target(self, a, *shapes):
        raise NotImplementedError

    def infer_shape(self, a, in_shapes, aux_shapes):
        if any(s is None for s in in_shapes):
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._target(a, *in_shapes)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        target = self._target(a, *(x.shape for x in ins))
        return (xp.ascontiguousarray(xp.broadcast_to(ins[0], target)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (unbroadcast(F, ograds[0], ins[0].shape),) + (None,) * (len(ins) - 1)


@register
class broadcast_to(_Broadcast):
    """Broadcast to ``shape`` (0 keeps the input's dim)."""

    name = "broadcast_to"
    params = {"shape": Attr(Shape, ())}

    def _target(self, a, shape):
        target = a["shape"]
        src = (1,) * (len(target) - len(shape)) + tuple(shape)
        return tuple(s if t == 0 else t for s, t in zip(src, target))


@register
class broadcast_axis(_Broadcast):
    """Broadcast axes of length 1 listed in ``axis`` to the lengths in ``size``."""

    name = "broadcast_axis"
    aliases = ("broadcast_axes",)
    params = {"axis": Attr(Shape, ()), "size": Attr(Shape, ())}

    def _target(self, a, shape):
        out = list(shape)
        for ax, n in zip(a["axis"], a["size"]):
            out[ax % len(shape)] = n
        return tuple(out)


@register
class broadcast_like(_Broadcast):
    """Broadcast ``lhs`` to the shape of ``rhs`` (or only ``lhs_axes`` to ``rhs_axes``)."""

    name = "broadcast_like"
    inputs = ("lhs", "rhs")
    params = {"lhs_axes": Attr(Shape, None), "rhs_axes": Attr(Shape, None)}

    def _target(self, a, lshape, rshape):
        lhs_axes, rhs_axes = a["lhs_axes"], a["rhs_axes"]
        if lhs_axes is None and rhs_axes is None:
            return tuple(rshape)
        if len(lhs_axes or ()) != len(rhs_axes or ()):
            raise MXNetError(
                f"broadcast_like: lhs_axes {lhs_axes} and rhs_axes {rhs_axes} must have "
                "the same length"
            )
        if not lhs_axes:
            raise MXNetError(
                "broadcast_like: lhs_axes/rhs_axes: an empty axes tuple is not allowed"
            )
        out = list(lshape)
        for la, ra in zip(a["lhs_axes"], a["rhs_axes"]):
            out[la % len(lshape)] = rshape[ra % len(rshape)]
        return tuple(out)
