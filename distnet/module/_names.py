"""Checks of a module's data/label names against its symbol, and DataDesc parsing."""

import warnings

from ..base import MXNetError
from ..io import DataDesc


def _check_input_names(symbol, names, typename, throw):
    """Every name in `names` must be an argument of `symbol` (else raise or warn)."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma", "_beta"))]
        msg = (
            f"You created Module with Module(..., {typename}_names={list(names)}) but "
            f"input with name '{name}' is not found in symbol.list_arguments(). "
            "Did you mean one of:\n\t" + "\n\t".join(candidates)
        )
        if throw:
            raise MXNetError(msg)
        warnings.warn(msg, stacklevel=3)


def _check_names_match(data_names, data_shapes, name, throw):
    """The names of the given shapes must be the module's data (or label) names."""
    actual = [x[0] for x in data_shapes]
    if sorted(data_names) != sorted(actual):
        msg = (
            f"Data provided by {name}_shapes don't match names specified by "
            f"{name}_names ({data_shapes} vs. {list(data_names)})"
        )
        if throw:
            raise MXNetError(msg)
        warnings.warn(msg, stacklevel=3)


def _as_desc(x):
    if isinstance(x, DataDesc):
        return x
    if not isinstance(x, (list, tuple)) or len(x) < 2:
        raise MXNetError(f"a data/label shape must be a DataDesc or (name, shape), got {x!r}")
    return DataDesc(*x)


def _parse_data_desc(data_names, label_names, data_shapes, label_shapes):
    """Turn (name, shape) pairs into DataDescs and check their names."""
    data_shapes = [_as_desc(x) for x in data_shapes]
    _check_names_match(data_names, data_shapes, "data", True)
    if label_shapes is not None:
        label_shapes = [_as_desc(x) for x in label_shapes]
        _check_names_match(label_names, label_shapes, "label", False)
    else:
        _check_names_match(label_names, [], "label", False)
    return data_shapes, label_shapes
