"""The casts that MXNet's automatic mixed precision (AMP) inserts into graphs: ``amp_cast``
and ``amp_multicast``. Unlike ``Cast`` they leave non-float inputs alone."""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Dtype, Int
from .registry import Op, register


def _is_float(dtype):
    return np.dtype(dtype).kind == "f"


@register
class amp_cast(Op):
    """Cast a float input to ``dtype``; integer and bool inputs pass through unchanged.
    The gradient is cast back to the input's dtype."""

    name = "amp_cast"
    params = {"dtype": Attr(Dtype)}

    def _target(self, a, dtype):
        return np.dtype(a["dtype"]) if _is_float(dtype) else np.dtype(dtype)

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        t = in_types[0]
        return in_types, [None if t is None else self._target(a, t)], aux_types

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (x.astype(self._target(a, x.dtype), copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0].astype(ins[0].dtype, copy=False),)


@register
class amp_multicast(Op):
    """Cast every float input to the widest float dtype among them (the narrowest with
    ``cast_narrow``); non-float inputs pass through. ``num_outputs`` is the number of
    inputs (and outputs)."""

    name = "amp_multicast"
    variadic = True
    params = {"num_outputs": Attr(Int), "cast_narrow": Attr(Bool, False), "num_args": Attr(Int, 0)}

    def input_names(self, a):
        return tuple(f"data_{i}" for i in range(a["num_outputs"]))

    def output_names(self, a):
        return tuple(f"output{i}" for i in range(a["num_outputs"]))

    def _target(self, a, dtypes):
        floats = [np.dtype(t) for t in dtypes if t is not None and _is_float(t)]
        if not floats:
            return None
        pick = min if a["cast_narrow"] else max
        return pick(floats, key=lambda t: t.itemsize)

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, list(in_shapes), aux_shapes

    def infer_type(self, a, in_types, aux_types):
        target = self._target(a, in_types)
        outs = [t if t is None or not _is_float(t) else target for t in in_types]
        return in_types, outs, aux_types

    def forward(self, a, ins, aux, is_train):
        if len(ins) != a["num_outputs"]:
            raise MXNetError(
                f"operator amp_multicast: num_outputs={a['num_outputs']} but "
                f"{len(ins)} inputs were given"
            )
        target = self._target(a, [x.dtype for x in ins])
        outs = tuple(x.astype(target, copy=False) if _is_float(x.dtype) else x for x in ins)
        return outs, None

    def backward(self, F, a, ins, outs, saved, ograds):
        return tuple(g.astype(x.dtype, copy=False) for g, x in zip(ograds, ins))
