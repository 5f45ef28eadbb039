"""``mx.util``: MXNet's utility functions (GPU queries, environment, NumPy-mode switches).

distnet has no ``mx.np``/``mx.npx`` front end, so NumPy *array* mode cannot be turned on:
``is_np_array()`` is False and ``set_np(array=True)``/``np_array(True)`` raise an MXNetError
saying so. ``set_np_shape``/``np_shape`` keep MXNet's per-thread flag so code that saves,
sets and restores it runs; distnet's arrays accept zero-size dimensions either way, and
operators keep MXNet's default output shapes (a full reduction gives shape ``(1,)``) whatever
the flag says.
"""

import contextlib
import functools
import os
import threading

from .base import MXNetError

__all__ = [
    "get_gpu_count",
    "get_gpu_memory",
    "set_np_shape",
    "is_np_shape",
    "np_shape",
    "use_np_shape",
    "np_array",
    "is_np_array",
    "use_np_array",
    "use_np",
    "set_np",
    "reset_np",
    "getenv",
    "setenv",
    "set_module",
    "get_cuda_compute_capability",
]

_FLAGS = threading.local()


def get_gpu_count():
    """Number of GPUs distnet can use (0 without cupy or a GPU)."""
    from .context import num_gpus

    return num_gpus()


def get_gpu_memory(gpu_dev_id):
    """``(free, total)`` bytes of GPU ``gpu_dev_id``."""
    from .backend import _cupy

    if _cupy is None or not 0 <= gpu_dev_id < get_gpu_count():
        raise MXNetError(
            f"get_gpu_memory: there is no GPU {gpu_dev_id} (this process sees {get_gpu_count()})"
        )
    with _cupy.cuda.Device(gpu_dev_id):
        free, total = _cupy.cuda.runtime.memGetInfo()
    return free, total


def get_cuda_compute_capability(ctx):
    """The compute capability of ``ctx``'s GPU as an int (8.0 -> 80)."""
    if ctx.device_type != "gpu":
        raise ValueError(
            f"Expecting a gpu context to get cuda compute capability, while received ctx {ctx}"
        )
    from .backend import _cupy

    if _cupy is None:
        raise MXNetError(
            "get_cuda_compute_capability: cupy is not installed (pip install 'distnet[gpu]')"
        )
    return int(_cupy.cuda.Device(ctx.device_id).compute_capability)


_NP_SHAPE_GLOBAL = [False]  # set_np_shape(2): on for every thread


def set_np_shape(active):
    """Turn NumPy shape semantics on or off, as MXNet: ``1``/``True`` for this thread,
    ``2`` for every thread, ``0``/``False`` off (here and globally). Returns the previous
    state of this thread."""
    previous = is_np_shape()
    level = int(active)
    if level not in (0, 1, 2):
        raise MXNetError(
            f"set_np_shape: expected 0 (off), 1 (this thread) or 2 (global), got {active!r}"
        )
    _FLAGS.np_shape = level > 0
    if level != 1:
        _NP_SHAPE_GLOBAL[0] = level == 2
    return previous


def is_np_shape():
    """Whether NumPy shape semantics are on in this thread, or globally (off by default,
    as MXNet)."""
    return _NP_SHAPE_GLOBAL[0] or getattr(_FLAGS, "np_shape", False)


@contextlib.contextmanager
def np_shape(active=True):
    """Scope with NumPy shape semantics set to ``active``, restored on exit."""
    previous = set_np_shape(active)
    try:
        yield
    finally:
        set_np_shape(previous)


def use_np_shape(func):
    """Decorator: run ``func`` (or every method of a class) inside ``np_shape(True)``."""
    return _scoped(func, np_shape)


def _scoped(func, scope):
    if isinstance(func, type):
        for name, member in list(vars(func).items()):
            if callable(member) and not name.startswith("__"):
                setattr(func, name, _scoped(member, scope))
        return func

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with scope(True):
            return func(*args, **kwargs)

    return wrapper


class _NumpyArrayScope:
    """MXNet's internal scope object of NumPy array mode, importable because code and
    tests import it; entering one that turns the mode on raises MXNetError (no ``mx.np``)."""

    _current = threading.local()

    def __init__(self, is_np_array):  # noqa: F811 - MXNet's parameter name
        self._is_np_array = bool(is_np_array)

    def __enter__(self):
        if self._is_np_array:
            _no_np_array()
        return self

    def __exit__(self, *exc):
        return False


def is_np_array():
    """Whether NumPy array mode (``mx.np``) is on: never in distnet."""
    return False


def _no_np_array():
    raise MXNetError(
        "NumPy array mode (mx.np/mx.npx) is not implemented in distnet; use "
        "mx.nd NDArrays (their shapes already follow NumPy's rules)"
    )


@contextlib.contextmanager
def np_array(active=True):
    """Scope for NumPy array mode: ``active=False`` is allowed (it is always off);
    ``True`` raises MXNetError (no ``mx.np`` in distnet)."""
    if active:
        _no_np_array()
    yield


def use_np_array(func):
    """MXNet's decorator for NumPy array mode: decorating works (so modules that use it
    import), calling the result raises MXNetError (no ``mx.np`` in distnet)."""
    if isinstance(func, type):
        return func

    @functools.wraps(func)
    def refuse(*args, **kwargs):
        _no_np_array()

    return refuse


def use_np(func):
    """MXNet's decorator for NumPy shape and array mode: as ``use_np_array``."""
    return use_np_array(func)


def set_np(shape=True, array=True):
    """Set NumPy shape semantics; ``array=True`` raises MXNetError (no ``mx.np``)."""
    if array:
        _no_np_array()
    set_np_shape(shape)


def reset_np():
    """Turn NumPy shape semantics off (array mode is never on)."""
    set_np_shape(False)


def getenv(name):
    """The value of environment variable ``name``, or None."""
    return os.environ.get(name)


def setenv(name, value):
    """Set (``value`` a string) or unset (``value`` None) environment variable ``name``."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)


def set_module(module):
    """Decorator that sets ``__module__`` of a function or class (MXNet's helper for its
    public API pages)."""

    def decorator(func):
        if module is not None:
            func.__module__ = module
        return func

    return decorator
