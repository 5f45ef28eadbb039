"""``mx.engine``: MXNet's execution-engine controls.

distnet runs every operator synchronously as it is called (numpy, or cupy on a GPU stream),
so there is no engine queue to bundle operators in. ``set_bulk_size``/``bulk`` keep MXNet's
API and remember the size (per thread, as MXNet's engine setting is), so code that sets and
restores it runs unchanged; the value does not change how operators run.
"""

import contextlib
import threading

__all__ = ["set_bulk_size", "bulk"]

_STATE = threading.local()


def set_bulk_size(size):
    """Set the bulk size (the most operators MXNet's engine would bundle); returns the
    previous one (0 at first, as in MXNet)."""
    previous = getattr(_STATE, "size", 0)
    _STATE.size = int(size)
    return previous


@contextlib.contextmanager
def bulk(size):
    """Scope with the bulk size set to ``size``, restored on exit."""
    previous = set_bulk_size(size)
    try:
        yield
    finally:
        set_bulk_size(previous)
