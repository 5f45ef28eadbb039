"""Reductions over axes: sum, mean, prod, max, min, norm, argmax, argmin."""

import numpy as np

from .attrs import Attr, Axis, Bool, Int, OptInt, Str
from .registry import Op, register
from ._util import xp_of, normalize_axis

_REDUCE_PARAMS = {
    "axis": Attr(Axis, None),
    "keepdims": Attr(Bool, False),
    "exclude": Attr(Bool, False),
}


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _result_shape(shape, axes, keepdims):
    if keepdims:
        return _kept_shape(shape, axes)
    out = tuple(d for i, d in enumerate(shape) if i not in axes)
    return out if out else (1,)  # MXNet has no 0-d arrays: a full reduction gives (1,)


class _Reduce(Op):
    """Reduction over ``axis`` (all axes by default) with ``keepdims`` and ``exclude``."""

    params = _REDUCE_PARAMS
    nd_backward = True
    fn = None

    def _axes(self, a, ndim):
        return normalize_axis(a["axis"], ndim, a["exclude"])

    def infer_shape(self, a, in_shapes, aux_shapes):
        shape = in_shapes[0]
        if shape is None:
            return in_shapes, [None], aux_shapes
        axes = self._axes(a, len(shape))
        return in_shapes, [_result_shape(shape, axes, a["keepdims"])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        axes = self._axes(a, x.ndim)
        out = self.fn(xp_of(x), x, axes)
        return (out.reshape(_result_shape(x.shape, axes, a["keepdims"])),), None

    def _spread(self, F, a, x, g):
        """``g`` reshaped to keep the reduced axes and broadcast to ``x``'s shape."""
        axes = self._axes(a, x.ndim)
        g = g.reshape(_kept_shape(x.shape, axes))
        return F.broadcast_to(g, x.shape), axes


def _reduce(name, fn, grad, aliases=(), doc=""):
    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        g, axes = self._spread(F, a, x, ograds[0])
        return (grad(F, x, outs[0], g, axes, self),)

    register(
        type(
            name,
            (_Reduce,),
            {
                "name": name,
                "aliases": tuple(aliases),
                "fn": staticmethod(fn),
                "backward": backward,
                "__doc__": doc,
            },
        )
    )


def _count(x, axes):
    n = 1
    for i in axes:
        n *= x.shape[i]
    return n


def _arg_mask(F, x, y, axes, op, a):
    # gradient flows to every element equal to the extreme value, as MXNet does
    yk = y.reshape(_kept_shape(x.shape, axes))
    return x == F.broadcast_to(yk, x.shape)


_reduce(
    "sum",
    lambda xp, x, ax: x.sum(axis=ax),
    lambda F, x, y, g, ax, op: g,
    ("sum_axis",),
    "Sum over ``axis``.",
)
_reduce(
    "mean",
    lambda xp, x, ax: (
        x.mean(axis=ax, dtype=x.dtype) if x.dtype.kind == "f" else x.mean(axis=ax).astype(x.dtype)
    ),
    lambda F, x, y, g, ax, op: g / _count(x, ax),
    (),
    "Mean over ``axis``.",
)
_reduce(
    "prod",
    lambda xp, x, ax: x.prod(axis=ax),
    lambda F, x, y, g, ax, op: g * F.broadcast_to(y.reshape(_kept_shape(x.shape, ax)), x.shape) / x,
    (),
    "Product over ``axis``.",
)
_reduce(
    "nansum",
    lambda xp, x, ax: xp.nansum(x, axis=ax),
    lambda F, x, y, g, ax, op: g * (x == x),
    (),
    "Sum treating NaN as zero.",
)
_reduce(
    "max",
    lambda xp, x, ax: x.max(axis=ax),
    lambda F, x, y, g, ax, op: g * _arg_mask(F, x, y, ax, op, None),
    ("max_axis",),
    "Maximum over ``axis``.",
)
_reduce(
    "min",
    lambda xp, x, ax: x.min(axis=ax),
    lambda F, x, y, g, ax, op: g * _arg_mask(F, x, y, ax, op, None),
    ("min_axis",),
    "Minimum over ``axis``.",
)


@register
class norm(_Reduce):
    """L2 (``ord=2``, default) or L1 norm over ``axis`` (all elements by default)."""

    name = "norm"
    params = {
        "ord": Attr(Int, 2),
        "axis": Attr(Axis, None),
        "out_dtype": Attr(Str, "None"),
        "keepdims": Attr(Bool, False),
    }

    def _axes(self, a, ndim):
        return normalize_axis(a["axis"], ndim)

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        axes = self._axes(a, x.ndim)
        if a["ord"] == 1:
            out = xp.abs(x).sum(axis=axes)
        else:
            out = xp.sqrt((x * x).sum(axis=axes))
        return (out.reshape(_result_shape(x.shape, axes, a["keepdims"])),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        g, axes = self._spread(F, a, x, ograds[0])
        if a["ord"] == 1:
            return (g * F.sign(x),)
        y = F.broadcast_to(outs[0].reshape(_kept_shape(x.shape, axes)), x.shape)
        return (g * x / y,)


class _ArgReduce(Op):
    """Index of the extreme value along ``axis`` (float32 indices, as MXNet)."""

    params = {"axis": Attr(OptInt, None), "keepdims": Attr(Bool, False)}
    zero_grad = True
    fn = None

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        axis = a["axis"]
        idx = self.fn(x, axis=axis)
        if axis is not None and a["keepdims"]:
            idx = xp_of(x).expand_dims(idx, axis)
        out = idx.astype(np.float32)
        return (out.reshape(1) if out.ndim == 0 else out,), None

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.float32)], aux_types

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class argmax(_ArgReduce):
    """Indices of maxima along ``axis``."""

    name = "argmax"
    fn = staticmethod(lambda x, axis: x.argmax(axis=axis))


@register
class argmin(_ArgReduce):
    """Indices of minima along ``axis``."""

    name = "argmin"
    fn = staticmethod(lambda x, axis: x.argmin(axis=axis))


@register
class argmax_channel(_ArgReduce):
    """Indices of maxima along the last axis."""

    name = "argmax_channel"
    params = {}

    def forward(self, a, ins, aux, is_train):
        return (ins[0].argmax(axis=-1).astype(np.float32),), None


def _nanprod_grad(F, x, y, g, axes, op):
    # d/dx of a product skipping NaNs: y / x where x is a number, 0 where it is NaN
    full = F.broadcast_to(y.reshape(_kept_shape(x.shape, axes)), x.shape)
    ok = x == x
    return g * F.where(ok, full / F.where(ok, x, F.ones_like(x)), F.zeros_like(x))


_reduce(
    "nanprod",
    lambda xp, x, ax: xp.nanprod(x, axis=ax),
    _nanprod_grad,
    (),
    "Product treating NaN as one.",
)


@register
class moments(Op):
    """Mean and variance of ``data`` over ``axes`` (all axes by default)."""

    name = "moments"
    params = {"axes": Attr(Axis, None), "keepdims": Attr(Bool, False)}
    nd_backward = True

    def output_names(self, a):
        return ("mean", "var")

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        axes = normalize_axis(a["axes"], x.ndim)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        if not a["keepdims"]:
            shape = _result_shape(x.shape, axes, False)
            mean, var = mean.reshape(shape), var.reshape(shape)
        return (mean.astype(x.dtype, copy=False), var.astype(x.dtype, copy=False)), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        axes = normalize_axis(a["axes"], x.ndim)
        kept = _kept_shape(x.shape, axes)
        n = _count(x, axes)
        gm = F.broadcast_to(ograds[0].reshape(kept), x.shape)
        gv = F.broadcast_to(ograds[1].reshape(kept), x.shape)
        mean = F.broadcast_to(outs[0].reshape(kept), x.shape)
        return (gm / n + gv * 2 * (x - mean) / n,)
