"""``mx.AttrScope``: attributes attached to every symbol created inside a ``with`` block.

``with mx.AttrScope(ctx_group='dev1', lr_mult='0.5'):`` gives each operator and variable
made in the block these attributes. MXNet's *hidden* keys (``ctx_group``, ``lr_mult``,
``wd_mult``, ``force_mirroring``, ``mirror_stage``, ``profiler_scope``) are stored as
``__ctx_group__`` etc., which is how they appear in graph JSON; other keys an operator
does not know must be written ``__key__`` themselves, as in MXNet.
"""

import threading

from .base import MXNetError, _thread_state_meta

__all__ = ["AttrScope", "HIDDEN_KEYS", "hidden_key", "current"]

HIDDEN_KEYS = (
    "ctx_group",
    "lr_mult",
    "wd_mult",
    "force_mirroring",
    "mirror_stage",
    "profiler_scope",
)

_local = threading.local()


def hidden_key(key):
    """The key under which attribute ``key`` is stored (``lr_mult`` -> ``__lr_mult__``)."""
    return f"__{key}__" if key in HIDDEN_KEYS else key


class AttrScope(metaclass=_thread_state_meta("current", lambda: current(), lambda s: _set(s))):
    """Attribute scope: string attributes for all symbols created in a ``with`` block.

    Scopes nest; an inner scope adds to (and overrides) the outer one's attributes.
    ``AttrScope.current`` reads or replaces this thread's scope, as in MXNet; other
    threads keep theirs.
    """

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise MXNetError(
                    f"AttrScope: attribute {key!r} must be a string, got "
                    f"{type(value).__name__} {value!r}"
                )
        self._attr = kwargs
        self._old_scope = None

    def get(self, attr):
        """The scope's attributes updated with ``attr`` (the symbol's own attributes)."""
        if self._attr:
            merged = dict(self._attr)
            if attr:
                merged.update(attr)
            return merged
        return dict(attr) if attr else {}

    def __enter__(self):
        self._old_scope = current()
        merged = dict(self._old_scope._attr)
        merged.update(self._attr)
        self._attr = merged
        _local.value = self
        return self

    def __exit__(self, *exc):
        _local.value = self._old_scope
        self._old_scope = None


def _set(scope):
    if not isinstance(scope, AttrScope):
        raise MXNetError(f"AttrScope.current must be an AttrScope, got {scope!r}")
    _local.value = scope


def current():
    """The attribute scope in effect on this thread (an empty one if none was entered)."""
    scope = getattr(_local, "value", None)
    if scope is None:
        scope = _local.value = AttrScope()
    return scope
