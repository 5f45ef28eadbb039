"""Sorting: topk, sort and argsort (stable: equal values keep their order, in both
directions, as MXNet's CPU and GPU kernels do).

Registered when ``distnet.ops.index`` is imported.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Dtype, Int, OptInt, enum
from .registry import Op, register
from ._util import xp_of
from ._indexing import along_axis_key, check_axis

_INDEX_DTYPE = Attr(Dtype, np.dtype(np.float32))


def _stable_argsort(xp, x, axis, ascending):
    """Positions that sort ``x`` along ``axis``; ties keep their original order."""
    if ascending:
        return _argsort(xp, x, axis)
    # Sort the reversed array ascending, reverse the result and map positions back:
    # descending order with ties still in their original order (no negation, so
    # unsigned types work too).
    n = x.shape[axis]
    return (n - 1) - xp.flip(_argsort(xp, xp.flip(x, axis), axis), axis)


def _argsort(xp, x, axis):
    if xp is not np:
        return xp.argsort(x, axis=axis)  # cupy sorts with a stable radix sort
    return np.argsort(x, axis=axis, kind="stable")


def _sort_axis(op, a, x):
    """``(array, axis)``: the array flattened when ``axis`` is None."""
    if a["axis"] is None:
        return x.reshape(-1), 0
    return x, check_axis(op, a["axis"], x.ndim)


def _out_shape(op, a, shape, k=None):
    if a["axis"] is None:
        n = int(np.prod(shape, dtype=np.int64))
        return (n if k is None else k,)
    axis = check_axis(op, a["axis"], len(shape))
    return tuple(shape[:axis]) + ((shape[axis] if k is None else k),) + tuple(shape[axis + 1 :])


def _topk_k(a, n):
    k = a["k"]
    if k > n:
        raise MXNetError(f"topk: k must be at most {n} (the length of the sorted axis), got k={k}")
    return n if k < 1 else k  # MXNet: k <= 0 means the whole axis


@register
class topk(Op):
    """The ``k`` largest (``is_ascend``: smallest) entries along ``axis`` (flattened when
    None): their indices (``dtype``), values, both (values first) or a 0/1 mask."""

    name = "topk"
    params = {
        "axis": Attr(OptInt, -1),
        "k": Attr(Int, 1),
        "ret_typ": Attr(enum("both", "indices", "mask", "value"), "indices"),
        "is_ascend": Attr(Bool, False),
        "dtype": _INDEX_DTYPE,
    }

    def output_names(self, a):
        return ("output0", "output1") if a["ret_typ"] == "both" else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        if a["ret_typ"] == "mask":
            return in_shapes, [tuple(s)], aux_shapes
        full = _out_shape("topk", a, s)
        n = full[0] if a["axis"] is None else full[check_axis("topk", a["axis"], len(s))]
        out = _out_shape("topk", a, s, _topk_k(a, n))
        return in_shapes, [out] * self.num_outputs(a), aux_shapes

    def infer_type(self, a, in_types, aux_types):
        t = in_types[0] or np.dtype(np.float32)
        outs = {"value": [t], "indices": [a["dtype"]], "mask": [t], "both": [t, a["dtype"]]}[
            a["ret_typ"]
        ]
        return [t], outs, aux_types

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        flat, axis = _sort_axis("topk", a, x)
        k = _topk_k(a, flat.shape[axis])
        order = _stable_argsort(xp, flat, axis, a["is_ascend"])
        idx = order[(slice(None),) * axis + (slice(0, k),)]
        ret = a["ret_typ"]
        if ret == "mask":
            mask = xp.zeros(flat.shape, dtype=x.dtype)
            mask[along_axis_key(xp, idx, axis)] = 1
            return (mask.reshape(x.shape),), None
        if ret == "indices":
            return (idx.astype(a["dtype"]),), None
        values = flat[along_axis_key(xp, idx, axis)]
        if ret == "value":
            return (values,), idx
        return (values, idx.astype(a["dtype"])), idx

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        g = xp.zeros_like(x)
        if saved is None:  # indices and mask carry no gradient
            return (g,)
        flat, axis = _sort_axis("topk", a, g)
        flat[along_axis_key(xp, saved, axis)] = ograds[0]
        return (g,)


@register
class sort(Op):
    """Values sorted along ``axis`` (flattened when None), ascending unless
    ``is_ascend=False``. (MXNet 1.9.1's backward of sort fails; this one works.)"""

    name = "sort"
    params = {"axis": Attr(OptInt, -1), "is_ascend": Attr(Bool, True)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else _out_shape("sort", a, s)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        flat, axis = _sort_axis("sort", a, x)
        order = _stable_argsort(xp, flat, axis, a["is_ascend"])
        return (flat[along_axis_key(xp, order, axis)],), order

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        g = xp.zeros_like(x)
        flat, axis = _sort_axis("sort", a, g)
        flat[along_axis_key(xp, saved, axis)] = ograds[0]
        return (g,)


@register
class argsort(Op):
    """Positions that sort ``data`` along ``axis`` (flattened when None), as ``dtype``
    (float32 by default, as MXNet)."""

    name = "argsort"
    zero_grad = True
    params = {"axis": Attr(OptInt, -1), "is_ascend": Attr(Bool, True), "dtype": _INDEX_DTYPE}

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else _out_shape("argsort", a, s)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return [in_types[0] or np.dtype(np.float32)], [a["dtype"]], aux_types

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        flat, axis = _sort_axis("argsort", a, x)
        order = _stable_argsort(xp_of(x), flat, axis, a["is_ascend"])
        return (order.astype(a["dtype"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)
