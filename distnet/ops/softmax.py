"""softmax, log_softmax and softmin along an axis, with temperature."""

import numpy as np

from .attrs import Attr, Int, OptFloat, Bool, Dtype
from .registry import Op, register
from ._util import xp_of

_PARAMS = {
    "axis": Attr(Int, -1),
    "temperature": Attr(OptFloat, None),
    "dtype": Attr(Dtype, None),
    "use_length": Attr(Bool, False),
}


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
    """``exp(x/T) / sum(exp(x/T))`` along ``axis``. With ``use_length=True`` a second input
    ``length`` (the shape of ``data`` without ``axis``) limits each softmax to its first
    ``length`` entries; the rest of the output is 0."""

    name = "softmax"
    inputs = ("data", "length")

    def input_names(self, a):
        return ("data", "length") if a["use_length"] else ("data",)

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        if not a["use_length"]:
            return (_softmax(xp, x, a["axis"], a["temperature"]),), None
        axis = a["axis"] % x.ndim
        steps = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
        mask = steps < xp.expand_dims(ins[1].astype(np.int64), axis)
        z = xp.where(mask, x, -np.inf).astype(x.dtype, copy=False)
        with np.errstate(invalid="ignore"):  # an all-masked row (length 0) gives 0s
            y = _softmax(xp, z, axis, a["temperature"])
        return (xp.where(mask, y, 0).astype(x.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        y, g = outs[0], ograds[0]
        s = F.sum(g * y, axis=a["axis"], keepdims=True)
        grad = (g - s) * y / self._t(a)  # 0 outside the length: y is 0 there
        return (grad, None) if a["use_length"] else (grad,)


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
