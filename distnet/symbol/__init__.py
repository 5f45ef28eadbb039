"""``mx.sym`` / ``mx.symbol``: Symbol, Variable, Group, the operators as symbol functions
(generated from the registry, as ``nd.*``), MXNet's graph JSON and binding to executors."""

from ..base import MXNetError
from .symbol import Symbol
from .compose import Variable, var, Group
from .json_io import load, load_json
from ._arith import maximum, minimum, pow, power, hypot
from . import _gen, _arith

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json", "zeros", "ones",
           "full", "arange", "maximum", "minimum", "pow", "power", "hypot"]


def _generate():
    from ..ops.registry import all_ops
    return {name: _gen.make_function(op, name) for name, op in all_ops().items()}


_FUNCTIONS = _generate()
globals().update({k: v for k, v in _FUNCTIONS.items() if k not in globals()})
_arith.attach(_FUNCTIONS)


def _creation(op_name, hint, name, attrs):
    from ..ops.registry import get_op
    from .compose import create
    return create(get_op(op_name), hint, (), attrs, name)


def zeros(shape, dtype=None, name=None, **kwargs):
    """A Symbol of zeros of ``shape`` (float32 by default)."""
    return _creation("_zeros", "_zeros", name,
                     dict(kwargs, shape=shape, dtype=dtype or "float32"))


def ones(shape, dtype=None, name=None, **kwargs):
    """A Symbol of ones of ``shape`` (float32 by default)."""
    return _creation("_ones", "_ones", name,
                     dict(kwargs, shape=shape, dtype=dtype or "float32"))


def full(shape, val, dtype=None, name=None, **kwargs):
    """A Symbol of ``shape`` filled with ``val``."""
    return _creation("_full", "_full", name,
                     dict(kwargs, shape=shape, value=float(val), dtype=dtype or "float32"))


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, name=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` as a Symbol."""
    return _creation("_arange", "_arange", name,
                     dict(start=start, stop=stop, step=step, repeat=repeat,
                          infer_range=infer_range, dtype=dtype or "float32"))


def __getattr__(name):
    if name == "random":  # importlib: `from . import random` would re-enter __getattr__
        import importlib
        return importlib.import_module(f"{__name__}.random")
    raise AttributeError(f"module 'distnet.symbol' has no attribute {name!r}")


del MXNetError
