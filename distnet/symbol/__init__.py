"""``mx.sym`` / ``mx.symbol``: Symbol, Variable, Group, the operators as symbol functions
(generated from the registry, as ``nd.*``), MXNet's graph JSON and binding to executors."""

from .symbol import Symbol
from .compose import Variable, var, Group
from .json_io import load, load_json
from ._arith import maximum, minimum, pow, power, hypot
from .creation import zeros, ones, full, arange, linspace, eye, split_v2
from . import _gen, _arith

__all__ = [
    "Symbol",
    "Variable",
    "var",
    "Group",
    "load",
    "load_json",
    "zeros",
    "ones",
    "full",
    "arange",
    "linspace",
    "eye",
    "split_v2",
    "maximum",
    "minimum",
    "pow",
    "power",
    "hypot",
    "contrib",
    "linalg",
    "sparse",
]


def _generate():
    from ..ops.registry import all_ops

    return {name: _gen.make_function(op, name) for name, op in all_ops().items()}


_FUNCTIONS = _generate()
globals().update({k: v for k, v in _FUNCTIONS.items() if k not in globals()})
_arith.attach(_FUNCTIONS)
Symbol.split_v2 = lambda self, *args, **kwargs: split_v2(self, *args, **kwargs)


class _Namespace:
    """A namespace of symbol functions made from registry names (``sym.contrib``)."""

    def __init__(self, prefix, functions):
        for name, fn in functions.items():
            if name.startswith(prefix):
                setattr(self, name[len(prefix) :], fn)


contrib = _Namespace("_contrib_", _FUNCTIONS)
# MXNet's sym.contrib.rand_zipfian returns its three outputs as a tuple of Symbols
contrib.rand_zipfian = lambda *args, **kwargs: tuple(
    _FUNCTIONS["_contrib_rand_zipfian"](*args, **kwargs)
)
linalg = _Namespace("_linalg_", _FUNCTIONS)
# MXNet's `sym.sparse`: the operators that take sparse storage types (all of them here:
# a symbol's storage types are resolved when it runs)
sparse = _Namespace("", _FUNCTIONS)
image = _Namespace("_image_", _FUNCTIONS)
# MXNet's `_internal` namespace: the operators whose names start with "_", by full name
_internal = type(
    "_internal", (), {k: staticmethod(v) for k, v in _FUNCTIONS.items() if k.startswith("_")}
)


def histogram(a, bins=10, range=None, **kwargs):  # noqa: A002 - MXNet's argument name
    """``_histogram`` as a Symbol: ``bins`` equal bins over ``range`` (default: the data's
    min and max) or the bin edges given by the Symbol ``bins``; outputs counts and edges."""
    if isinstance(bins, Symbol):
        return _FUNCTIONS["_histogram"](a, bins, **kwargs)
    return _FUNCTIONS["_histogram"](a, bin_cnt=bins, range=range, **kwargs)


def __getattr__(name):
    if name == "random":  # importlib: `from . import random` would re-enter __getattr__
        import importlib

        return importlib.import_module(f"{__name__}.random")
    raise AttributeError(f"module 'distnet.symbol' has no attribute {name!r}")
