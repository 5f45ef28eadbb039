"""``mx.contrib``: MXNet's contributed extras that distnet provides (``tensorboard``; ``amp``
exists so that code importing it loads, and refuses when used).

Submodules load on first use.
"""

import importlib

_SUBMODULES = ("tensorboard", "amp")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'distnet.contrib' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
