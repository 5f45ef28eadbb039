"""Errors and small helpers shared by every part of distnet."""

__all__ = [
    "MXNetError",
    "DistnetError",
    "NotImplementedForSymbol",
    "NotSupportedForSparseNDArray",
    "numeric_types",
    "integer_types",
    "string_types",
    "py_str",
    "data_dir",
    "data_dir_default",
]

import numbers
import os

import numpy as _np


class MXNetError(RuntimeError):
    """The error distnet raises for every user-facing failure (MXNet's name, kept for
    compatibility: ``except mx.base.MXNetError`` works as it did, and so does
    ``except RuntimeError``, MXNet's base class for it)."""


class _NotForThisKind(MXNetError):
    """An operator function called with an argument kind it does not support."""

    _KIND = ""

    def __init__(self, function, alias, *args):
        super().__init__()
        self.function = getattr(function, "__name__", str(function))
        self.alias = alias
        self.args = [str(type(a)) for a in args]

    def __str__(self):
        msg = f"Function {self.function}"
        if self.alias:
            msg += f' (namely operator "{self.alias}")'
        if self.args:
            msg += f" with arguments ({', '.join(self.args)})"
        return msg + self._KIND


class NotImplementedForSymbol(_NotForThisKind):
    """A function that exists for NDArray but not for Symbol (MXNet's error)."""

    _KIND = " is not implemented for Symbol and only available in NDArray."


class NotSupportedForSparseNDArray(_NotForThisKind):
    """A function that exists for dense NDArrays only (MXNet's error)."""

    _KIND = " is not supported for SparseNDArray and only available in NDArray."


DistnetError = MXNetError

mx_real_t = _np.float32  # MXNet's default real type

#: MXNet's type flags (mshadow's): the integers its files, ``__dtype__`` attributes and
#: ``dtype`` arguments use for numpy dtypes.
DTYPE_OF_FLAG = {
    0: _np.float32,
    1: _np.float64,
    2: _np.float16,
    3: _np.uint8,
    4: _np.int32,
    5: _np.int8,
    6: _np.int64,
    7: _np.bool_,
    8: _np.int16,
    9: _np.uint16,
    10: _np.uint32,
    11: _np.uint64,
}

numeric_types = (numbers.Number,)
integer_types = (numbers.Integral,)
string_types = (str,)


def py_str(raw):
    """UTF-8 bytes (a C string in MXNet) as str."""
    return raw.decode("utf-8")


def data_dir_default():
    """MXNet's default folder for downloaded models and data sets: ``~/.mxnet``."""
    return os.path.join(os.path.expanduser("~"), ".mxnet")


def data_dir():
    """The folder for downloads: ``$MXNET_HOME``, else ``~/.mxnet`` (MXNet's rule)."""
    from . import config  # config imports this module

    return config.get("MXNET_HOME") or data_dir_default()


def _as_list(obj):
    """Return ``obj`` as a list: lists and tuples as they are, anything else wrapped."""
    if isinstance(obj, (list, tuple)):
        return list(obj)
    return [obj]


def _thread_state_meta(attr, getter, setter):
    """A metaclass giving its classes a class-level property ``attr`` read with
    ``getter()`` and assigned with ``setter(value)`` (MXNet's per-thread class properties
    ``Context.default_ctx``, ``AttrScope.current``, ``NameManager.current``)."""
    prop = property(lambda cls: getter(), lambda cls, value: setter(value))
    return type(f"_{attr}_meta", (type,), {attr: prop})
