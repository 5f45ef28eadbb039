"""Small operators of MXNet's ``contrib`` namespace and the finiteness checks used by
mixed-precision training: ``isnan``/``isinf``/``isfinite``, ``all_finite``,
``multi_all_finite``, ``allclose``, ``index_array``, ``index_copy``, ``arange_like``,
``div_sqrt_dim``, ``quadratic``."""

import math

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Float, Int, OptInt, OptShape
from .registry import Op, register
from ._util import xp_of


class _Predicate(Op):
    """Elementwise test giving 1 or 0 in the input's dtype; no gradient."""

    test = None

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (self.test(xp_of(x), x).astype(x.dtype),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


def _predicate(name, test, doc):
    register(type(name, (_Predicate,), {"name": name, "test": staticmethod(test),
                                        "__doc__": doc}))


_predicate("_contrib_isnan", lambda xp, x: x != x, "1 where ``data`` is NaN, else 0.")
_predicate("_contrib_isinf", lambda xp, x: xp.abs(x) == np.inf,
           "1 where ``data`` is +inf or -inf, else 0.")
_predicate("_contrib_isfinite", lambda xp, x: (x == x) & (xp.abs(x) != np.inf),
           "1 where ``data`` is neither NaN nor infinite, else 0.")


class _AllFinite(Op):
    """Base of the finiteness flags: a float32 array of shape (1,)."""

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [(1,)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.float32)], aux_types

    def forward(self, a, ins, aux, is_train):
        xp = xp_of(ins[0])
        ok = all(bool(xp.isfinite(x).all()) for x in ins)
        return (xp.full((1,), 1.0 if ok else 0.0, np.float32),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * len(ins)


@register
class all_finite(_AllFinite):
    """1.0 if every element of ``data`` is finite, else 0.0 (shape (1,), float32)."""

    name = "all_finite"
    params = {"init_output": Attr(Bool, True)}


@register
class multi_all_finite(_AllFinite):
    """1.0 if every element of every input is finite, else 0.0 (shape (1,), float32)."""

    name = "multi_all_finite"
    variadic = True
    # num_args: the count distnet's variadic calls fill in; MXNet's own is num_arrays
    params = {"num_arrays": Attr(Int, 1), "init_output": Attr(Bool, True),
              "num_args": Attr(Int, 0)}


@register
class _contrib_allclose(Op):
    """1 (uint8) if ``|a - b| <= atol + rtol*|b|`` everywhere (NaNs equal when
    ``equal_nan``), else 0."""

    name = "_contrib_allclose"
    inputs = ("a", "b")
    zero_d = True  # MXNet: shape ()
    params = {"rtol": Attr(Float, 1e-5), "atol": Attr(Float, 1e-8),
              "equal_nan": Attr(Bool, True)}

    def forward(self, a, ins, aux, is_train):
        x, y = ins
        xp = xp_of(x)
        ok = xp.allclose(x, y, rtol=a["rtol"], atol=a["atol"], equal_nan=a["equal_nan"])
        return (xp.full((), int(bool(ok)), np.uint8),), None

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [()], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.uint8)], aux_types

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None, None)


@register
class _contrib_index_array(Op):
    """The index of every element: shape ``data.shape + (len(axes),)``, int64; ``axes``
    (default all) picks which coordinates to keep."""

    name = "_contrib_index_array"
    params = {"axes": Attr(OptShape, None)}

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        axes = range(x.ndim) if a["axes"] is None else a["axes"]
        axes = [ax + x.ndim if ax < 0 else ax for ax in axes]
        if any(not 0 <= ax < x.ndim for ax in axes):
            raise MXNetError(f"index_array: axes {a['axes']} out of range for "
                             f"{x.ndim}-d data")
        grids = xp.indices(x.shape, dtype=np.int64)
        return (xp.stack([grids[ax] for ax in axes], axis=-1),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class _contrib_index_copy(Op):
    """``old_tensor`` with the rows listed in ``index_vector`` replaced by the rows of
    ``new_tensor``."""

    name = "_contrib_index_copy"
    inputs = ("old_tensor", "index_vector", "new_tensor")

    def forward(self, a, ins, aux, is_train):
        old, idx, new = ins
        rows = idx.astype(np.int64).reshape(-1)
        if new.shape != (rows.size,) + tuple(old.shape[1:]):
            raise MXNetError(f"index_copy: new_tensor has shape {tuple(new.shape)}, "
                             f"expected {(rows.size,) + tuple(old.shape[1:])}")
        out = old.copy()
        out[rows] = new
        return (out,), rows

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        g_old = g.copy()
        g_old[saved] = 0
        return (g_old, None, g[saved])


@register
class _contrib_arange_like(Op):
    """``start, start+step, ...`` shaped like ``data`` (or along ``axis``), each value
    repeated ``repeat`` times."""

    name = "_contrib_arange_like"
    params = {"start": Attr(Float, 0.0), "step": Attr(Float, 1.0), "repeat": Attr(Int, 1),
              "ctx": Attr(lambda c: c, None), "axis": Attr(OptInt, None)}

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        shape = x.shape if a["axis"] is None else (x.shape[a["axis"]],)
        n = int(np.prod(shape))
        vals = a["start"] + a["step"] * (xp.arange(n) // a["repeat"])
        return (vals.reshape(shape).astype(x.dtype),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class _contrib_div_sqrt_dim(Op):
    """``data / sqrt(data.shape[-1])`` (scaled dot-product attention)."""

    name = "_contrib_div_sqrt_dim"
    nd_backward = True

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return ((x / math.sqrt(x.shape[-1])).astype(x.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0] / math.sqrt(ins[0].shape[-1]),)


@register
class _contrib_quadratic(Op):
    """``a*x^2 + b*x + c``, elementwise."""

    name = "_contrib_quadratic"
    params = {"a": Attr(Float, 0.0), "b": Attr(Float, 0.0), "c": Attr(Float, 0.0)}
    nd_backward = True

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return ((a["a"] * x * x + a["b"] * x + a["c"]).astype(x.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0] * (2 * a["a"] * ins[0] + a["b"]),)
