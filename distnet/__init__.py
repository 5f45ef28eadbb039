"""distnet: the MXNet 1.x training stack on numpy (CPU) and cupy (GPU).

``import distnet as mx`` gives MXNet's namespaces (``mx.nd``, ``mx.sym``, ``mx.gluon``,
``mx.mod``, ``mx.kv``, ...). Submodules load on first use, so importing distnet is cheap.
"""

import importlib

from .base import MXNetError, DistnetError
from .context import Context, cpu, gpu, cpu_pinned, current_context, num_gpus

__version__ = "0.1.0"

# Public name -> submodule that provides it (MXNet's short aliases included).
_SUBMODULES = {
    "nd": "ndarray", "ndarray": "ndarray", "autograd": "autograd", "random": "random",
    "sym": "symbol", "symbol": "symbol", "executor": "executor", "io": "io",
    "init": "initializer", "initializer": "initializer", "optimizer": "optimizer",
    "lr_scheduler": "lr_scheduler", "metric": "metric", "callback": "callback",
    "model": "model", "viz": "viz", "visualization": "viz", "mod": "module",
    "module": "module", "gluon": "gluon", "kv": "kvstore", "kvstore": "kvstore",
    "test_utils": "test_utils", "testing": "testing", "name": "name", "attribute": "attribute",
    "base": "base", "context": "context", "recordio": "recordio", "image": "image",
    "profiler": "profiler", "util": "util", "rnn": "rnn", "contrib": "contrib",
    "operator": "operator", "engine": "engine", "runtime": "runtime",
}

_UTIL_NAMES = ("use_np_shape", "np_shape", "is_np_shape", "set_np_shape", "use_np",
               "is_np_array", "np_array", "use_np_array")


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{_SUBMODULES[name]}", __name__)
        globals()[name] = module
        return module
    if name == "AttrScope":
        from .attribute import AttrScope
        return AttrScope
    if name in _UTIL_NAMES:  # mx.use_np_shape & co., top-level in MXNet (from mx.util)
        return getattr(importlib.import_module(".util", __name__), name)
    raise AttributeError(f"module 'distnet' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES) + ["AttrScope"])
