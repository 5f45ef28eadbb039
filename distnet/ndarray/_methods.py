"""Python operators (+, -, *, ..., comparisons, in-place forms) and the op methods of
NDArray, attached once when ``distnet.ndarray`` is imported."""

import numpy as np

from ..base import MXNetError, numeric_types
from .. import autograd as _ag
from .ndarray import NDArray, invoke, _op
from . import _gen


def _binary(bname, sname, rname=None):
    """A function for ``lhs <op> rhs`` choosing the broadcast or the scalar operator."""
    bop, sop = _op(bname), _op(sname)
    rop = _op(rname) if rname else sop

    def apply(lhs, rhs, reflected=False):
        if isinstance(rhs, NDArray):
            args = [rhs, lhs] if reflected else [lhs, rhs]
            return invoke(bop, args, bop.defaults)[0]
        if isinstance(rhs, numeric_types):
            op = rop if reflected else sop
            return invoke(op, [lhs], {"scalar": float(rhs), "is_int": isinstance(rhs, int)})[0]
        if isinstance(rhs, np.ndarray):
            from . import array

            rhs = array(rhs, ctx=lhs.context, dtype=rhs.dtype)
            return apply(lhs, rhs, reflected)
        return NotImplemented

    return apply


def _inplace(apply):
    def method(self, other):
        if (
            _ag._recording
            and _ag._state.recording
            and (self._ag is not None or getattr(other, "_ag", None) is not None)
        ):
            raise MXNetError(
                "in-place operators (+=, -=, ...) on arrays recorded by "
                "autograd are not supported; write y = x + v instead"
            )
        res = apply(self, other)
        if res is NotImplemented:
            return res
        self._read()  # a kvstore push/pull may still use the buffer
        if res.shape != self.shape:
            raise MXNetError(
                f"in-place operation: result shape {res.shape} differs from "
                f"the array's shape {self.shape}"
            )
        self._data[...] = res._data
        return self

    return method


_OPERATORS = {
    "add": ("broadcast_add", "_plus_scalar", None),
    "sub": ("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
    "mul": ("broadcast_mul", "_mul_scalar", None),
    "truediv": ("broadcast_div", "_div_scalar", "_rdiv_scalar"),
    "mod": ("broadcast_mod", "_mod_scalar", "_rmod_scalar"),
    "pow": ("broadcast_power", "_power_scalar", "_rpower_scalar"),
}
_COMPARISONS = {
    "eq": ("broadcast_equal", "_equal_scalar"),
    "ne": ("broadcast_not_equal", "_not_equal_scalar"),
    "gt": ("broadcast_greater", "_greater_scalar"),
    "ge": ("broadcast_greater_equal", "_greater_equal_scalar"),
    "lt": ("broadcast_lesser", "_lesser_scalar"),
    "le": ("broadcast_lesser_equal", "_lesser_equal_scalar"),
}

# Names NDArray defines itself or that must not become methods.
_NOT_METHODS = {
    "reshape",
    "astype",
    "copy",
    "copyto",
    "grad",
    "size",
    "shape",
    "dtype",
    "T",
    "context",
    "ctx",
    "detach",
    "backward",
    "attach_grad",
}


def attach(functions):
    """Attach Python operators and op methods to NDArray (``functions``: name -> fn)."""
    for name, (bname, sname, rname) in _OPERATORS.items():
        apply = _binary(bname, sname, rname)
        setattr(NDArray, f"__{name}__", lambda s, o, f=apply: f(s, o))
        setattr(NDArray, f"__r{name}__", lambda s, o, f=apply: f(s, o, True))
        setattr(NDArray, f"__i{name}__", _inplace(apply))
    NDArray.__div__ = NDArray.__truediv__
    NDArray.__rdiv__ = NDArray.__rtruediv__
    NDArray.__idiv__ = NDArray.__itruediv__
    for name, (bname, sname) in _COMPARISONS.items():
        apply = _binary(bname, sname)
        setattr(NDArray, f"__{name}__", lambda s, o, f=apply: f(s, o))
    NDArray.__hash__ = lambda self: id(self)
    neg = functions["negative"]
    NDArray.__neg__ = lambda self: neg(self)
    NDArray.__pos__ = lambda self: self
    NDArray.__abs__ = lambda self: functions["abs"](self)
    for name, fn in functions.items():
        if name.startswith("_") or name in _NOT_METHODS or not name[0].islower():
            continue
        if name in NDArray.__dict__:
            continue
        setattr(NDArray, name, _gen.make_method(fn))
