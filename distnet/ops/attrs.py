"""Typed operator attributes: parsed from Python values or from the strings of MXNet JSON."""

import ast
import warnings

import numpy as np

from ..base import MXNetError

REQUIRED = object()


def _literal(text):
    """Parse a Python literal written as MXNet writes attributes: '(2, 2)', 'None', '1.5'."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


class Attr:
    """One attribute: a parser from Python value or string, and a default (or REQUIRED)."""

    __slots__ = ("parse_value", "default", "doc")

    def __init__(self, parse_value, default=REQUIRED, doc=""):
        self.parse_value = parse_value
        self.default = default
        self.doc = doc

    def parse(self, value):
        """Return the typed value for ``value`` (a Python object or an MXNet string)."""
        return self.parse_value(value)


def _int(v):
    if isinstance(v, str):
        v = _literal(v.strip())
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer()):
        return int(v)
    raise ValueError(f"expected an integer, got {v!r}")


def _float(v):
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("inf", "+inf", "-inf", "nan"):
            return float(low)
        v = _literal(v.strip())
    return float(v)


def _bool(v):
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueError(f"expected a boolean, got {v!r}")
    return bool(v)


def _str(v):
    return str(v)


def _optional(parser):
    def parse(v):
        if v is None or (isinstance(v, str) and v.strip() in ("None", "")):
            return None
        return parser(v)

    parse.inner = parser  # what mx.operator.get_operator_arguments describes
    return parse


def _shape(v):
    """A tuple of ints; a bare int is a 1-tuple; '(2, 2)' and '[2,2]' parse."""
    if isinstance(v, str):
        v = _literal(v.strip())
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(int(x) for x in v)


def _tuple_with_none(v):
    """A tuple whose entries are ints or None (slice begin/end/step)."""
    if isinstance(v, str):
        v = _literal(v.strip().replace("None", "None"))
    if v is None:
        return None
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(None if x is None else int(x) for x in v)


def _float_tuple(v):
    if isinstance(v, str):
        v = _literal(v.strip())
    if isinstance(v, (int, float)):
        return (float(v),)
    return tuple(float(x) for x in v)


def _dtype(v):
    if v is None:
        return None
    if isinstance(v, str) and v.strip() in ("None", ""):
        return None
    return np.dtype(v)


def _axis(v):
    """An axis attribute: None, an int, or a tuple of ints."""
    if isinstance(v, str):
        v = _literal(v.strip())
    if v is None or isinstance(v, tuple) and len(v) == 0:
        return None if v is None else ()
    if isinstance(v, (int, np.integer)):
        return int(v)
    return tuple(int(x) for x in v)


def enum(*choices):
    """A parser accepting one of ``choices`` (strings)."""

    def parse(v):
        s = str(v)
        if s not in choices:
            raise ValueError(f"expected one of {list(choices)}, got {v!r}")
        return s

    parse.choices = choices  # what mx.operator.get_operator_arguments describes
    return parse


Int = _int
Float = _float
Bool = _bool
Str = _str
Shape = _shape
Axis = _axis
Dtype = _dtype
FloatTuple = _float_tuple
IntOrNoneTuple = _tuple_with_none
OptInt = _optional(_int)
OptFloat = _optional(_float)
OptShape = _optional(_shape)
OptStr = _optional(_str)


_WARNED = set()


def _ignored(op, key):
    """MXNet ignores any argument given to an operator that takes none (its test suite
    calls ``broadcast_maximum(a, b, axis=1)``); so does distnet, but it says so, once."""
    if (op.name, key) not in _WARNED:
        _WARNED.add((op.name, key))
        warnings.warn(
            f"operator {op.name} takes no arguments; {key!r} is ignored (as in MXNet)",
            stacklevel=4,
        )


def parse_attrs(op, kwargs):
    """Fill ``op``'s defaults and parse ``kwargs``; errors name the operator and attribute."""
    spec = op.params
    out = dict(op.defaults)
    for key, value in kwargs.items():
        attr = spec.get(key)
        if attr is None:
            if key.startswith("__") or key in ("name", "ctx", "out"):
                continue
            if not spec:
                _ignored(op, key)
                continue
            raise MXNetError(
                f"operator {op.name}: unknown argument {key!r}; it takes {sorted(spec)}"
            )
        try:
            out[key] = attr.parse(value)
        except (ValueError, TypeError) as err:
            raise MXNetError(
                f"operator {op.name}: invalid value {value!r} for argument {key!r}: {err}"
            ) from None
    for key in op.required:
        if key not in kwargs:
            raise MXNetError(f"operator {op.name}: required argument {key!r} is missing")
    return out
