"""Block naming scopes (``with block.name_scope():``) and forward-hook handles."""

import threading

from ._common import GluonAssertionError
from .parameter import ParameterDict

__all__ = ["HookHandle"]


def _names():
    """``distnet.name`` (NameManager, Prefix), shared with Symbol's automatic names."""
    from .. import name

    return name


class _BlockScope:
    """The ``with block.name_scope():`` scope: children created inside get the block's
    prefix plus a per-class counter (``dense0_``); symbols traced inside get the prefix."""

    _current = threading.local()

    def __init__(self, block):
        self._block = block
        self._counter = {}
        self._old_scope = None
        self._name_scope = None

    @staticmethod
    def create(prefix, params, hint):
        """The (prefix, ParameterDict) of a new block whose class alias is ``hint``."""
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _names().current().get(None, hint) + "_"
            params = (
                ParameterDict(prefix) if params is None else ParameterDict(params.prefix, params)
            )
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self):
        if self._block._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = _names().Prefix(self._block.prefix)
        self._name_scope.__enter__()
        return self

    def __exit__(self, ptype, value, trace):
        if self._block._empty_prefix:
            return
        self._name_scope.__exit__(ptype, value, trace)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope


class HookHandle:
    """Handle of a forward hook; ``detach()`` (or leaving a ``with`` block) removes it."""

    _next_id = 0

    def __init__(self):
        self._hooks = None
        self._id = None

    def attach(self, hooks_dict, hook):
        """Add ``hook`` to ``hooks_dict`` under a fresh id."""
        if self._hooks is not None:
            raise GluonAssertionError("The same handle cannot be attached twice.")
        HookHandle._next_id += 1
        self._id = HookHandle._next_id
        hooks_dict[self._id] = hook
        self._hooks = hooks_dict

    def detach(self):
        """Remove the hook (no-op when already removed)."""
        if self._hooks is not None and self._id in self._hooks:
            del self._hooks[self._id]
        self._hooks = None

    def __enter__(self):
        return self

    def __exit__(self, ptype, value, trace):
        self.detach()
