"""Error classes shared by Gluon's parameter, block and trainer modules (and the repr /
message helpers of ``gluon.utils`` under short names).

The error classes derive from ``MXNetError`` and from the built-in exception MXNet raised
in the same place (``AssertionError``, ``ValueError``, ``RuntimeError``, ``UserWarning``),
so both ``except mx.base.MXNetError`` and code written against MXNet keep working.
"""

from ..base import MXNetError
from .utils import _indent as indent, _brief_print_list as brief_print_list  # noqa: F401

__all__ = []


class GluonAssertionError(MXNetError, AssertionError):
    """A check that MXNet made with ``assert`` failed (shape, dtype, name mismatch)."""


class GluonValueError(MXNetError, ValueError):
    """A bad argument value, where MXNet raised ``ValueError``."""


class GluonRuntimeError(MXNetError, RuntimeError):
    """An operation in the wrong state (uninitialized parameter...), MXNet's RuntimeError."""


class GluonTypeError(MXNetError, TypeError):
    """An argument of the wrong type, where MXNet raised ``TypeError``."""


class GluonKeyError(MXNetError, KeyError):
    """A missing key, where MXNet raised ``KeyError``."""

    def __str__(self):  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class StaleGradientError(MXNetError, UserWarning):
    """A gradient was not recomputed by backward since the last Trainer step (MXNet raised
    a ``UserWarning`` exception here)."""
