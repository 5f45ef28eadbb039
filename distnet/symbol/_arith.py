"""Python operators on Symbols, mapped to the operators MXNet's graph JSON shows.

``x + y`` is ``elemwise_add`` named ``_plus0``, ``x + 1`` is ``_plus_scalar`` named
``_plusscalar0`` with attribute ``scalar: "1"``, ``1 - x`` is ``_rminus_scalar``, ``-x`` is
``x * -1.0``, ``2 ** x`` is ``_rpower_scalar``, comparisons ``_equal``/``_equal_scalar``...
"""

import numbers

from ..base import MXNetError
from .compose import create
from .symbol import Symbol

__all__ = ["attach", "maximum", "minimum", "pow", "power", "hypot"]

_OPS = {}


def _op(name):
    op = _OPS.get(name)
    if op is None:
        from ..ops.registry import get_op

        op = _OPS[name] = get_op(name)
    return op


def _make(op_name, hint, args, **attrs):
    return create(_op(op_name), hint, args, attrs)


# python name -> ((op, hint) with a Symbol, (op, hint) with a scalar, reflected scalar)
_BINARY = {
    "add": (("_Plus", "_plus"), ("_PlusScalar", "_plusscalar"), None),
    "sub": (
        ("_Minus", "_minus"),
        ("_MinusScalar", "_minusscalar"),
        ("_RMinusScalar", "_rminusscalar"),
    ),
    "mul": (("_Mul", "_mul"), ("_MulScalar", "_mulscalar"), None),
    "truediv": (("_Div", "_div"), ("_DivScalar", "_divscalar"), ("_RDivScalar", "_rdivscalar")),
    "mod": (("_Mod", "_mod"), ("_ModScalar", "_modscalar"), ("_RModScalar", "_rmodscalar")),
    "pow": (
        ("_Power", "_power"),
        ("_PowerScalar", "_powerscalar"),
        ("_rpower_scalar", "_rpower_scalar"),
    ),
}
_COMPARE = {
    "eq": "_equal",
    "ne": "_not_equal",
    "gt": "_greater",
    "ge": "_greater_equal",
    "lt": "_lesser",
    "le": "_lesser_equal",
}


def _binary(with_sym, with_scalar, reflected):
    def forward(self, other):
        if isinstance(other, Symbol):
            return _make(with_sym[0], with_sym[1], (self, other))
        if isinstance(other, numbers.Number):
            return _make(with_scalar[0], with_scalar[1], (self,), scalar=other)
        return NotImplemented

    def backward(self, other):
        if isinstance(other, numbers.Number):
            op, hint = reflected or with_scalar
            return _make(op, hint, (self,), scalar=other)
        return NotImplemented

    return forward, backward


def _compare(name):
    def method(self, other):
        if isinstance(other, Symbol):
            return _make(name, name, (self, other))
        if isinstance(other, numbers.Number):
            return _make(f"{name}_scalar", f"{name}_scalar", (self,), scalar=other)
        return NotImplemented

    return method


def _astype(self, dtype, **kwargs):
    """``Cast`` to ``dtype``."""
    return _make("Cast", "cast", (self,), dtype=dtype, **kwargs)


# Names Symbol defines itself or that must not become generated methods.
_NOT_METHODS = {"astype", "name", "attr", "bind", "save", "load", "eval", "grad"}


def attach(functions):
    """Attach Python operators and the operator methods (``name -> sym function``)."""
    from ._gen import make_method

    for name, (with_sym, with_scalar, reflected) in _BINARY.items():
        fwd, bwd = _binary(with_sym, with_scalar, reflected)
        setattr(Symbol, f"__{name}__", fwd)
        setattr(Symbol, f"__r{name}__", bwd)
    Symbol.__div__ = Symbol.__truediv__
    Symbol.__rdiv__ = Symbol.__rtruediv__
    for name, op_name in _COMPARE.items():
        setattr(Symbol, f"__{name}__", _compare(op_name))
    Symbol.__hash__ = lambda self: id(self)
    Symbol.__neg__ = lambda self: self.__mul__(-1.0)
    Symbol.__pos__ = lambda self: self
    Symbol.__abs__ = lambda self: functions["abs"](self)
    Symbol.astype = _astype
    for name, fn in functions.items():
        if name.startswith("_") or not name[0].islower() or name in _NOT_METHODS:
            continue
        if name in Symbol.__dict__:
            continue
        setattr(Symbol, name, make_method(fn))


def _pair(left, right, sym_op, scalar_op, rscalar_op, fallback):
    if isinstance(left, Symbol) and isinstance(right, Symbol):
        return _make(sym_op, sym_op.lower(), (left, right))
    if isinstance(left, Symbol) and isinstance(right, numbers.Number):
        return _make(scalar_op, scalar_op.lower(), (left,), scalar=right)
    if isinstance(right, Symbol) and isinstance(left, numbers.Number):
        return _make(rscalar_op, rscalar_op.lower(), (right,), scalar=left)
    if isinstance(left, numbers.Number) and isinstance(right, numbers.Number):
        return fallback(left, right)
    raise MXNetError(
        f"expected Symbols or numbers, got {type(left).__name__} and {type(right).__name__}"
    )


def maximum(left, right):
    """Elementwise maximum of Symbols and/or scalars."""
    return _pair(left, right, "_Maximum", "_MaximumScalar", "_MaximumScalar", max)


def minimum(left, right):
    """Elementwise minimum of Symbols and/or scalars."""
    return _pair(left, right, "_Minimum", "_MinimumScalar", "_MinimumScalar", min)


def pow(base, exp):  # noqa: A001 - MXNet's name
    """``base ** exp`` for Symbols and/or scalars."""
    return _pair(base, exp, "_Power", "_PowerScalar", "_RPowerScalar", lambda a, b: a**b)


power = pow


def hypot(left, right):
    """``sqrt(left**2 + right**2)`` for Symbols and/or scalars."""
    return _pair(
        left, right, "_hypot", "_HypotScalar", "_HypotScalar", lambda a, b: (a * a + b * b) ** 0.5
    )
