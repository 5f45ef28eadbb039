"""Automatic naming of symbols: ``mx.name.NameManager`` and ``mx.name.Prefix``.

An operator created without ``name=`` is named from a hint (the lower-cased operator
function name) and a per-hint counter of the current manager: ``fullyconnected0``,
``fullyconnected1``, ``activation0``. Managers nest with ``with``; each thread starts with
its own default manager, as in MXNet.
"""

import threading

from .base import _thread_state_meta

__all__ = ["NameManager", "Prefix", "current"]

_local = threading.local()


class NameManager(metaclass=_thread_state_meta("current", lambda: current(), lambda m: _set(m))):
    """Gives names to symbols: the user's name if there is one, else ``<hint><count>``.

    Use as ``with mx.name.NameManager():`` to start fresh counters for a block of code.
    ``NameManager.current`` reads or replaces this thread's manager, as in MXNet; other
    threads keep theirs.
    """

    def __init__(self):
        self._counter = {}
        self._old_manager = None

    def get(self, name, hint):
        """Return ``name`` if given, else the next automatic name for ``hint``."""
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return f"{hint}{count}"

    def __enter__(self):
        self._old_manager = current()
        _local.value = self
        return self

    def __exit__(self, *exc):
        _local.value = self._old_manager
        self._old_manager = None


class Prefix(NameManager):
    """A name manager that prepends ``prefix`` to every name it gives, automatic or not.

    >>> with mx.name.Prefix('mynet_'):
    ...     net = mx.sym.FullyConnected(data, num_hidden=10, name='fc1')
    >>> net.list_arguments()
    ['data', 'mynet_fc1_weight', 'mynet_fc1_bias']
    """

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        """Return the prefixed user name, or the prefixed automatic name."""
        return self._prefix + super().get(name, hint)


def _set(manager):
    if not isinstance(manager, NameManager):
        raise TypeError(f"NameManager.current must be a NameManager, got {manager!r}")
    _local.value = manager


def current():
    """The name manager in effect on this thread (a default one if none was entered)."""
    manager = getattr(_local, "value", None)
    if manager is None:
        manager = _local.value = NameManager()
    return manager
