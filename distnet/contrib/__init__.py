"""``mx.contrib``: MXNet's contributed extras that distnet provides (``tensorboard``; ``amp``
exists so that code importing it loads, and refuses when used), and ``mx.contrib.ndarray`` /
``mx.contrib.symbol``: the contrib operators, as ``mx.nd.contrib`` / ``mx.sym.contrib``).

Submodules load on first use.
"""

import importlib

_SUBMODULES = ("tensorboard", "amp")


# mx.contrib.ndarray / mx.contrib.symbol are MXNet's names for mx.nd.contrib / mx.sym.contrib
_OP_NAMESPACES = {
    "ndarray": "distnet.ndarray",
    "nd": "distnet.ndarray",
    "symbol": "distnet.symbol",
    "sym": "distnet.symbol",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _OP_NAMESPACES:
        return importlib.import_module(_OP_NAMESPACES[name]).contrib
    raise AttributeError(f"module 'distnet.contrib' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES) + list(_OP_NAMESPACES))
