"""softmax, log_softmax and softmin along an axis, with temperature."""

from .attrs import Attr, Int, OptFloat, Bool, Dtype
from .registry import Op, register
from ._util import xp_of

_PARAMS = {"axis": Attr(Int, -1), "temperature": Attr(OptFloat, None),
           "dtype": Attr(Dtype, None), "use_length": Attr(Bool, False)}


def _softmax(xp, x, axis, t):
    z = x if t is None or t == 1.0 else x / t
    z = z - z.max(axis=axis, keepdims=True)
    e = xp.exp(z)
    e /= e.sum(axis=axis, keepdims=True)
    return e


class _SoftmaxBase(Op):
    params = _PARAMS
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    @staticmethod
    def _t(a):
        t = a["temperature"]
        return 1.0 if t is None else t


@register
class softmax(_SoftmaxBase):
    """``exp(x/T) / sum(exp(x/T))`` along ``axis``."""

    name = "softmax"

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (_softmax(xp_of(x), x, a["axis"], a["temperature"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        y, g = outs[0], ograds[0]
        s = F.sum(g * y, axis=a["axis"], keepdims=True)
        return ((g - s) * y / self._t(a),)


@register
class softmin(_SoftmaxBase):
    """Softmax of ``-x``."""

    name = "softmin"

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (_softmax(xp_of(x), -x, a["axis"], a["temperature"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        y, g = outs[0], ograds[0]
        s = F.sum(g * y, axis=a["axis"], keepdims=True)
        return (-(g - s) * y / self._t(a),)


@register
class log_softmax(_SoftmaxBase):
    """``log(softmax(x/T))`` along ``axis``, computed stably."""

    name = "log_softmax"

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        t = a["temperature"]
        z = x if t is None or t == 1.0 else x / t
        z = z - z.max(axis=a["axis"], keepdims=True)
        return (z - xp.log(xp.exp(z).sum(axis=a["axis"], keepdims=True)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        y, g = outs[0], ograds[0]
        s = F.sum(g, axis=a["axis"], keepdims=True)
        return ((g - F.exp(y) * s) / self._t(a),)
