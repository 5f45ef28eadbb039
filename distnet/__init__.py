"""distnet: the MXNet 1.x training stack on numpy (CPU) and cupy (GPU).

``import distnet as mx`` gives MXNet's namespaces (``mx.nd``, ``mx.sym``, ``mx.gluon``,
``mx.mod``, ``mx.kv``, ...). Submodules load on first use, so importing distnet is cheap.
"""

import importlib

from .base import MXNetError, DistnetError  # noqa: F401 - mx.MXNetError, as MXNet's
from .context import Context, cpu, gpu, cpu_pinned, current_context, num_gpus  # noqa: F401

__version__ = "0.1.0"

# Public name -> submodule that provides it (MXNet's short aliases included).
_SUBMODULES = {
    "nd": "ndarray",
    "ndarray": "ndarray",
    "autograd": "autograd",
    "random": "random",
    "sym": "symbol",
    "symbol": "symbol",
    "executor": "executor",
    "io": "io",
    "init": "initializer",
    "initializer": "initializer",
    "optimizer": "optimizer",
    "lr_scheduler": "lr_scheduler",
    "metric": "metric",
    "callback": "callback",
    "model": "model",
    "viz": "viz",
    "mon": "monitor",
    "monitor": "monitor",
    "visualization": "viz",
    "mod": "module",
    "module": "module",
    "gluon": "gluon",
    "kv": "kvstore",
    "kvstore": "kvstore",
    "test_utils": "test_utils",
    "testing": "testing",
    "name": "name",
    "attribute": "attribute",
    "base": "base",
    "context": "context",
    "recordio": "recordio",
    "image": "image",
    "img": "image",
    "profiler": "profiler",
    "util": "util",
    "rnn": "rnn",
    "contrib": "contrib",
    "operator": "operator",
    "engine": "engine",
    "runtime": "runtime",
    "rnd": "random",
}
# mx.util functions MXNet also exports at the top level.
_UTIL_NAMES = (
    "is_np_shape",
    "set_np_shape",
    "np_shape",
    "use_np_shape",
    "is_np_array",
    "np_array",
    "use_np_array",
    "use_np",
)


def __getattr__(name):
    """Load a submodule on first use; a name with no module behind it raises
    AttributeError, so ``hasattr(mx, 'x')`` and ``getattr(mx, 'x', None)`` answer as
    for any module (MXNet namespaces distnet does not provide yet are such names)."""
    if name in _SUBMODULES:
        target = f"{__name__}.{_SUBMODULES[name]}"
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as e:
            if e.name != target:  # the module exists but one of its imports failed
                raise
            raise AttributeError(
                f"module 'distnet' has no attribute {name!r} ({target} is not part of this version)"
            ) from None
        globals()[name] = module
        return module
    if name == "AttrScope":
        from .attribute import AttrScope

        return AttrScope
    if name in _UTIL_NAMES:  # mx.np_shape & co., as MXNet's top level has them
        from . import util

        return getattr(util, name)
    raise AttributeError(f"module 'distnet' has no attribute {name!r}")


def __dir__():
    """Public names, listing only the submodules that exist (found without importing)."""
    from importlib.util import find_spec

    present = [n for n, m in _SUBMODULES.items() if find_spec(f"{__name__}.{m}") is not None]
    return sorted(set(globals()) | set(present) | {"AttrScope"} | set(_UTIL_NAMES))
