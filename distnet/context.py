"""Devices: ``cpu(i)``, ``gpu(i)``, ``cpu_pinned(i)`` and the current-context stack."""

import threading

from .base import MXNetError, _thread_state_meta
from . import backend

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "current_context", "num_gpus"]

_DEVTYPE2STR = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
_DEVSTR2TYPE = {v: k for k, v in _DEVTYPE2STR.items()}


class Context(
    metaclass=_thread_state_meta(
        "default_ctx", lambda: current_context(), lambda c: _set_current(c)
    )
):
    """A device: its type (``cpu``, ``gpu``, ``cpu_pinned``) and id.

    Distinct CPU ids are distinct devices for data parallelism (each holds its own copy of
    parameters and executors), although all CPU arrays live in host memory. Usable as a
    ``with`` block to set the default context. ``Context.default_ctx`` reads or sets this
    thread's current context, as in MXNet.
    """

    _default = threading.local()
    devtype2str = _DEVTYPE2STR
    devstr2type = _DEVSTR2TYPE

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if isinstance(device_type, int):
            device_type = _DEVTYPE2STR.get(device_type, device_type)
        if device_type not in _DEVSTR2TYPE:
            raise MXNetError(
                f"unknown device type {device_type!r}; expected one of {sorted(_DEVSTR2TYPE)}"
            )
        self.device_type = device_type
        self.device_typeid = _DEVSTR2TYPE[device_type]
        self.device_id = int(device_id)
        self._old = None

    @property
    def xp(self):
        """The array module of this device: numpy for CPUs, cupy for GPUs."""
        if self.device_typeid == 2:
            return backend.require_cupy()
        import numpy

        return numpy

    def __hash__(self):
        return hash((self.device_typeid, self.device_id))

    def __eq__(self, other):
        return (
            isinstance(other, Context)
            and self.device_typeid == other.device_typeid
            and self.device_id == other.device_id
        )

    def __ne__(self, other):
        return not self == other

    def __str__(self):
        return f"{self.device_type}({self.device_id})"

    __repr__ = __str__

    def __enter__(self):
        # a GPU context also makes its device cupy's current one, so arrays made in the
        # block (and graphs an executor runs in it) land on this GPU, not on GPU 0
        # (without cupy the block only sets the default context, as before)
        gpu = self.device_typeid == 2 and backend.cupy_or_none() is not None
        scope = backend.device_scope(self if gpu else None)
        scope.__enter__()
        _stack().append(self)
        _scopes().append(scope)
        return self

    def __exit__(self, *exc):
        _stack().pop()
        _scopes().pop().__exit__(*exc)

    def empty_cache(self):
        """Release cached GPU memory blocks (a no-op on CPUs)."""
        if self.device_typeid == 2:
            backend.require_cupy().get_default_memory_pool().free_all_blocks()


def _stack():
    local = Context._default
    if not hasattr(local, "stack"):
        local.stack = []
    return local.stack


def _scopes():
    """The device scopes of this thread's open ``with ctx:`` blocks (parallel to _stack)."""
    local = Context._default
    if not hasattr(local, "scopes"):
        local.scopes = []
    return local.scopes


_CACHE = {}


def _interned(device_type, device_id):
    key = (device_type, device_id)
    ctx = _CACHE.get(key)
    if ctx is None:
        ctx = _CACHE[key] = Context(device_type, device_id)
    return ctx


def cpu(device_id=0):
    """The CPU context ``cpu(device_id)``."""
    return _interned("cpu", device_id)


def gpu(device_id=0):
    """The GPU context ``gpu(device_id)`` (arrays on it need cupy; see README)."""
    return _interned("gpu", device_id)


def cpu_pinned(device_id=0):
    """Page-locked host memory context; behaves as a CPU context here."""
    return _interned("cpu_pinned", device_id)


def _set_current(ctx):
    """``Context.default_ctx = ctx``: as MXNet, it replaces this thread's current context;
    an open ``with ctx:`` block restores its outer context when it ends."""
    if not isinstance(ctx, Context):
        raise MXNetError(f"Context.default_ctx must be a Context, got {ctx!r}")
    stack = _stack()
    if stack:
        stack[-1] = ctx
    else:
        stack.append(ctx)


def current_context():
    """The innermost context set with ``with ctx:``, else ``cpu(0)``."""
    stack = _stack()
    return stack[-1] if stack else cpu(0)


def num_gpus():
    """Number of GPUs distnet can use."""
    return backend.num_gpus()
