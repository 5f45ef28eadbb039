"""Creation operators for graphs: _zeros, _ones, _full, _arange, _linspace, _eye and
_zeros_without_dtype (the nodes ``sym.zeros``, ``sym.arange``, ... write into MXNet JSON).

They have no inputs. The output is computed with numpy and placed on the ``ctx``
attribute's device, or on the current context when it is unset (an executor running a
graph on a GPU runs it inside ``with ctx:``). ``nd.zeros`` and friends are plain Python
functions in ``distnet.ndarray``; only the underscore names are registered here.
"""

import numpy as np

from ..base import DTYPE_OF_FLAG, MXNetError
from ..context import Context, current_context
from .attrs import Attr, Bool, Dtype, Float, Int, OptFloat, Shape
from .registry import Op, register
from .random import _place

_FLOAT32 = np.dtype(np.float32)


def _ctx(value):
    """The ``ctx`` attribute: a Context, a string as MXNet writes it ('gpu(1)'), or None."""
    if value is None or isinstance(value, Context):
        return value
    text = str(value).strip()
    if text in ("", "None"):
        return None
    dev, _, rest = text.partition("(")
    return Context(dev, int(rest.rstrip(")") or 0))


def _emit(out, a):
    """``out`` (numpy) on the device of ``a['ctx']`` or of the current context."""
    ctx = a.get("ctx") or current_context()
    if ctx.device_typeid != 2:
        return out
    with ctx.xp.cuda.Device(ctx.device_id):
        return _place(out, {"ctx": ctx})


_COMMON = {"ctx": Attr(_ctx, None), "dtype": Attr(Dtype, _FLOAT32)}


class _Creator(Op):
    """An operator without inputs making an array of a known shape and ``dtype``."""

    inputs = ()

    def shape(self, a):
        raise NotImplementedError

    def make(self, a, shape):
        raise NotImplementedError

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [self.shape(a)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [a["dtype"]], aux_types

    def forward(self, a, ins, aux, is_train):
        return (_emit(self.make(a, self.shape(a)), a),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return ()


class _Filled(_Creator):
    """An array of ``shape`` filled with one value."""

    value = 0.0

    def shape(self, a):
        shape = tuple(a["shape"])
        if not shape:
            raise MXNetError(f"{self.name}: the shape attribute is required")
        return shape

    def make(self, a, shape):
        return np.full(shape, a.get("value", self.value), dtype=a["dtype"])


@register
class _zeros(_Filled):
    """An array of zeros (the graph node of ``sym.zeros``)."""

    name = "_zeros"
    params = dict(shape=Attr(Shape, ()), **_COMMON)
    value = 0.0


@register
class _ones(_Filled):
    """An array of ones (the graph node of ``sym.ones``)."""

    name = "_ones"
    params = dict(shape=Attr(Shape, ()), **_COMMON)
    value = 1.0


@register
class _full(_Filled):
    """An array filled with ``value`` (the graph node of ``sym.full``)."""

    name = "_full"
    params = dict(shape=Attr(Shape, ()), **_COMMON, value=Attr(Float))


@register
class _zeros_without_dtype(_zeros):
    """Zeros whose ``dtype`` is an MXNet type flag (-1: float32; MXNet 1.9.1 rejected
    -1 imperatively)."""

    name = "_zeros_without_dtype"
    params = {"shape": Attr(Shape, ()), "ctx": Attr(_ctx, None), "dtype": Attr(Int, -1)}

    def _dtype(self, a):
        flag = a["dtype"]
        if flag == -1:
            return _FLOAT32
        if flag not in DTYPE_OF_FLAG:
            raise MXNetError(f"_zeros_without_dtype: unknown type flag {flag}")
        return np.dtype(DTYPE_OF_FLAG[flag])

    def infer_type(self, a, in_types, aux_types):
        return in_types, [self._dtype(a)], aux_types

    def make(self, a, shape):
        return np.zeros(shape, dtype=self._dtype(a))


def _arange_size(a):
    start, stop, step = a["start"], a["stop"], a["step"]
    if stop is None:
        start, stop = 0.0, start
    if step == 0:
        raise MXNetError("_arange: step must not be 0")
    if (stop - start) / step <= 0:
        raise MXNetError(
            f"_arange: invalid range (start, stop, step) = ({start:g}, {stop:g}, {step:g})"
        )
    if a["repeat"] < 1:
        raise MXNetError(f"_arange: repeat must be positive, got {a['repeat']}")
    return start, step, int(np.ceil((stop - start) / step)) * a["repeat"]


@register
class _arange(_Creator):
    """``start, start + step, ...`` below ``stop`` (``[0, start)`` when ``stop`` is None),
    each value ``repeat`` times. Values are computed in ``dtype``, as MXNet: an integer
    dtype truncates ``start`` and ``step`` first."""

    name = "_arange"
    params = dict(
        start=Attr(Float),
        stop=Attr(OptFloat, None),
        step=Attr(Float, 1.0),
        repeat=Attr(Int, 1),
        infer_range=Attr(Bool, False),
        **_COMMON,
    )

    def shape(self, a):
        if a["infer_range"]:
            raise MXNetError(
                "_arange: infer_range=True (a length taken from the graph) is "
                "not supported by distnet; give stop explicitly"
            )
        return (_arange_size(a)[2],)

    def make(self, a, shape):
        start, step, size = _arange_size(a)
        dtype = a["dtype"]
        i = (np.arange(size) // a["repeat"]).astype(dtype)
        return (_cast_scalar(dtype, start) + i * _cast_scalar(dtype, step)).astype(dtype)


def _cast_scalar(dtype, v):
    return np.dtype(dtype).type(int(v) if np.dtype(dtype).kind in "iub" else v)


@register
class _linspace(_Creator):
    """``num`` evenly spaced values from ``start`` to ``stop`` (excluded unless
    ``endpoint``)."""

    name = "_linspace"
    params = dict(
        start=Attr(Float), stop=Attr(Float), num=Attr(Int), endpoint=Attr(Bool, True), **_COMMON
    )

    def shape(self, a):
        if a["num"] < 0:
            raise MXNetError(f"_linspace: num must not be negative, got {a['num']}")
        return (a["num"],)

    def make(self, a, shape):
        values = np.linspace(a["start"], a["stop"], a["num"], endpoint=a["endpoint"])
        return values.astype(a["dtype"])


@register
class _eye(_Creator):
    """An ``N x M`` matrix (``M=0``: square) with ones on diagonal ``k``."""

    name = "_eye"
    params = dict(N=Attr(Int), M=Attr(Int, 0), k=Attr(Int, 0), **_COMMON)

    def shape(self, a):
        return (a["N"], a["M"] or a["N"])

    def make(self, a, shape):
        return np.eye(shape[0], shape[1], a["k"], dtype=a["dtype"])
