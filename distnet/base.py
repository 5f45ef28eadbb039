"""Errors and small helpers shared by every part of distnet."""

__all__ = ["MXNetError", "DistnetError", "numeric_types", "integer_types", "string_types"]

import numbers


class MXNetError(Exception):
    """The error distnet raises for every user-facing failure (MXNet's name, kept for
    compatibility: ``except mx.base.MXNetError`` works as it did)."""


DistnetError = MXNetError

numeric_types = (numbers.Number,)
integer_types = (numbers.Integral,)
string_types = (str,)


def _as_list(obj):
    """Return ``obj`` as a list: lists and tuples as they are, anything else wrapped."""
    if isinstance(obj, (list, tuple)):
        return list(obj)
    return [obj]
