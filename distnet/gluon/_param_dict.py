"""``ParameterDict``: an ordered, prefixed name -> Parameter mapping with save/load."""

import os
from collections import OrderedDict

import numpy as np

from ..ndarray.ndarray import NDArray
from ._common import GluonAssertionError, GluonKeyError, GluonValueError, indent, \
    brief_print_list
from .parameter import Parameter, Constant

__all__ = ["ParameterDict"]

_NAMING_HELP = ("For more info on naming, please see "
                "https://mxnet.io/api/python/docs/tutorials/packages/gluon/blocks/naming.html")


class ParameterDict:
    """A dictionary of Parameters whose names start with ``prefix``.

    Parameters
    ----------
    prefix : str, default ''
        Prepended to the names of the Parameters that ``get`` creates.
    shared : ParameterDict, optional
        ``get`` looks a name up here before creating a new Parameter (parameter sharing).
    """

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    def __repr__(self):
        name = self._prefix + " " if self._prefix else ""
        content = "\n".join(indent(f"  {v}", 2) for v in self.values())
        return f"{name}(\n{content}\n)"

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __contains__(self, key):
        return key in self._params

    def items(self):
        """(name, Parameter) pairs in insertion order."""
        return self._params.items()

    def keys(self):
        """Parameter names in insertion order."""
        return self._params.keys()

    def values(self):
        """Parameters in insertion order."""
        return self._params.values()

    @property
    def prefix(self):
        """The prefix of the Parameters' names."""
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._params[name]
        return None

    def get(self, name, **kwargs):
        """The Parameter ``prefix + name``, created with ``kwargs`` if it does not exist.

        An existing Parameter must agree with the given attributes; unknown (0)
        dimensions of its shape are filled from ``shape``.
        """
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for key, value in kwargs.items():
            existing = getattr(param, key, None)
            if existing is None:
                setattr(param, key, value)
                continue
            if key == "shape" and value is not None and _merge_shape(param, value):
                continue
            if key == "dtype" and value is not None and np.dtype(value) == np.dtype(existing):
                continue
            if value is not None and value != existing:
                raise GluonAssertionError(
                    f"Cannot retrieve Parameter '{name}' because desired attribute does not "
                    f"match with stored for attribute '{key}': desired '{value}' vs stored "
                    f"'{existing}'.")
        return param

    def get_constant(self, name, value=None):
        """The Constant ``prefix + name``, created from ``value`` if it does not exist."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise GluonKeyError(f"No constant named '{name}'. Please specify value if you "
                                    "want to create a new constant.")
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise GluonAssertionError(f"Parameter '{name}' already exists but it is not a "
                                          "constant.")
            value = value.asnumpy() if isinstance(value, NDArray) else np.asarray(value)
            if param.shape != value.shape or not (param.value.asnumpy() == value).all():
                raise GluonAssertionError(f"Constant '{name}' already exists but it's value "
                                          "doesn't match new value")
        return param

    def update(self, other):
        """Add the Parameters of ``other``; a name may not map to two different objects."""
        for key, value in other.items():
            if key in self._params and self._params[key] is not value:
                raise GluonAssertionError(
                    "Cannot update self with other because they have different Parameters "
                    f"with the same name '{key}'")
        for key, value in other.items():
            self._params[key] = value

    def initialize(self, init=None, ctx=None, verbose=False, force_reinit=False):
        """Initialize every Parameter (``init`` is the default for those without their
        own initializer; ``Uniform()`` when None)."""
        if init is None:
            from .. import initializer
            init = initializer.Uniform()
        if verbose and hasattr(init, "set_verbosity"):
            init.set_verbosity(verbose=verbose)
        for param in self.values():
            param.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        """Set every gradient buffer to 0."""
        for param in self.values():
            param.zero_grad()

    def reset_ctx(self, ctx):
        """Move every Parameter to ``ctx`` (a Context or a list)."""
        for param in self.values():
            param.reset_ctx(ctx)

    def list_ctx(self):
        """The contexts the Parameters are initialized on."""
        found = []
        for param in self.values():
            for ctx in param.list_ctx():
                if ctx not in found:
                    found.append(ctx)
        return found

    def setattr(self, name, value):
        """Set attribute ``name`` of every Parameter (``params.setattr('grad_req', 'null')``)."""
        for param in self.values():
            setattr(param, name, value)

    def save(self, filename, strip_prefix=""):
        """Save the Parameters to ``filename`` (MXNet's .params format), names without
        ``strip_prefix``."""
        from .. import ndarray
        arg_dict = {}
        for param in self.values():
            if not param.name.startswith(strip_prefix):
                raise GluonValueError(
                    f"Prefix '{strip_prefix}' is to be striped before saving, but Parameter's "
                    f"name '{param.name}' does not start with '{strip_prefix}'. this may be due "
                    "to your Block shares parameters from other Blocks or you forgot to use "
                    "'with name_scope()' when creating child blocks. " + _NAMING_HELP)
            arg_dict[param.name[len(strip_prefix):]] = param._reduce()
        ndarray.save(filename, arg_dict)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
             restore_prefix="", cast_dtype=False, dtype_source="current"):
        """Load Parameters from ``filename``; file names get ``restore_prefix`` prepended.

        ``arg:``/``aux:`` prefixes of checkpoint files are dropped.
        """
        from .. import ndarray
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise GluonAssertionError(
                        f"restore_prefix is '{restore_prefix}' but Parameters name '{name}' "
                        f"does not start with '{restore_prefix}'. " + _NAMING_HELP)
        loaded = ndarray.load(os.fspath(filename))
        if not isinstance(loaded, dict):
            raise GluonValueError(f"file {filename} holds a list of arrays without names; "
                                  "ParameterDict.load needs a dict saved by save()")
        self.load_dict(loaded, ctx, allow_missing, ignore_extra, restore_prefix, filename,
                       cast_dtype, dtype_source)

    def load_dict(self, param_dict, ctx=None, allow_missing=False, ignore_extra=False,
                  restore_prefix="", filename=None, cast_dtype=False, dtype_source="current"):
        """Load Parameters from a dict name -> NDArray (see ``load``)."""
        lprefix = len(restore_prefix)
        arg_dict = {}
        for key, value in param_dict.items():
            if key.startswith(("arg:", "aux:")):
                key = key[4:]
            arg_dict[restore_prefix + key] = value
        source = f"file: {filename}" if filename else "param_dict"
        if not allow_missing:
            for name in self.keys():
                if name not in arg_dict:
                    raise GluonAssertionError(
                        f"Parameter '{name[lprefix:]}' is missing in {source}, which contains "
                        f"parameters: {brief_print_list(arg_dict.keys())}. Please make sure "
                        "source and target networks have the same prefix." + _NAMING_HELP)
        for name, value in arg_dict.items():
            if name not in self._params:
                if not ignore_extra:
                    raise GluonAssertionError(
                        f"Parameter '{name[lprefix:]}' loaded from {source} is not present in "
                        f"ParameterDict, choices are: {brief_print_list(self._params.keys())}. "
                        "Set ignore_extra to True to ignore. Please make sure source and "
                        "target networks have the same prefix." + _NAMING_HELP)
                continue
            self._params[name]._load_init(value, ctx, cast_dtype=cast_dtype,
                                          dtype_source=dtype_source)


def _merge_shape(param, shape):
    """Fill unknown dims of ``param``'s shape from ``shape``; False if they conflict."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    existing = param.shape
    if len(shape) != len(existing):
        return False
    merged = []
    for new, old in zip(shape, existing):
        if new != old and new > 0 and old > 0:
            return False
        merged.append(old if new in (0, -1) else new)
    param._shape = tuple(merged)
    return True
