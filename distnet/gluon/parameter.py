"""Gluon parameters: ``Parameter`` (one copy per context, deferred initialization),
``Constant`` and ``ParameterDict`` (an ordered, prefixed name -> Parameter mapping with
save/load)."""

import os
import warnings
from collections import OrderedDict

import numpy as np

from .. import autograd
from . import _sparse_param
from ..base import MXNetError
from ..context import Context, cpu, current_context
from ..ndarray.ndarray import NDArray, wrap, _to_device, _copy_into
from ._common import (
    GluonAssertionError,
    GluonKeyError,
    GluonRuntimeError,
    GluonValueError,
    brief_print_list,
    indent,
)

__all__ = ["DeferredInitializationError", "Parameter", "Constant", "ParameterDict"]


class DeferredInitializationError(MXNetError):
    """Error for unfinished deferred initialization (the shape is not known yet)."""


_GRAD_REQS = ("write", "add", "null")


def _default_init():
    from .. import initializer

    return initializer.Uniform()


def _ctx_list(ctx):
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    return list(ctx)


class Parameter:
    """A Block's parameter: one array (and gradient) per context it is initialized on.

    Parameters
    ----------
    name : str
        Name of the parameter (``dense0_weight``).
    grad_req : {'write', 'add', 'null'}, default 'write'
        How gradients are stored; ``'null'`` means no gradient.
    shape : int or tuple of int, optional
        Shape; a 0 dimension is unknown until the first forward (deferred initialization).
    dtype : numpy dtype or str, default numpy.float32
    lr_mult, wd_mult : float, default 1.0
        Multipliers of the learning rate and weight decay for this parameter.
    init : Initializer or str, optional
        Initializer of this parameter; the block's default is used when None.
    allow_deferred_init : bool, default False
        Whether ``initialize`` may wait for the shape to be known.
    differentiable : bool, default True
        A non-differentiable parameter always has ``grad_req='null'``.
    """

    def __init__(
        self,
        name,
        grad_req="write",
        shape=None,
        dtype=np.float32,
        lr_mult=1.0,
        wd_mult=1.0,
        init=None,
        allow_deferred_init=False,
        differentiable=True,
        stype="default",
        grad_stype="default",
    ):
        _sparse_param.check_stypes(name, stype, grad_stype)
        self._var = None
        self._data = None
        self._grad = None
        self._ctx_list = None
        self._ctx_map = None
        self._trainer = None
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        self._shape = (
            (shape,) if isinstance(shape, int) else (None if shape is None else tuple(shape))
        )
        self.name = name
        self._dtype = dtype
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.grad_req = grad_req
        self.init = init
        self._stype = stype
        self._grad_stype = grad_stype

    def __repr__(self):
        return f"Parameter {self.name} (shape={self.shape}, dtype={self.dtype})"

    # ---- attributes ----
    @property
    def grad_req(self):
        """How the gradient is stored: 'write', 'add' or 'null'."""
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in _GRAD_REQS:
            raise GluonAssertionError(
                f"grad_req must be one of 'write', 'add', or 'null', but got '{req}'"
            )
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            self._data = [d.detach() for d in self._data]
            self._ctx_map = dict(zip(self._ctx_list, self._data))
        elif self._data is not None:
            self._init_grad()

    @property
    def dtype(self):
        """The data type; setting it casts the data (and gradients)."""
        return self._dtype

    @dtype.setter
    def dtype(self, dtype):
        self.cast(dtype)

    @property
    def shape(self):
        """The shape; unknown dimensions are 0 until deferred initialization completes."""
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        new_shape = None if new_shape is None else tuple(new_shape)
        if self._shape is None:
            self._shape = new_shape
            return
        if (
            new_shape is None
            or len(self._shape) != len(new_shape)
            or not all(j in (-1, 0, i) for i, j in zip(new_shape, self._shape))
        ):
            raise GluonAssertionError(
                f"Expected shape {new_shape} is incompatible with given shape {self._shape} "
                f"for Parameter '{self.name}'."
            )
        self._shape = new_shape

    def _shape_known(self):
        return self._shape is not None and all(d > 0 for d in self._shape)

    def _set_trainer(self, trainer):
        """Attach ``trainer`` (None detaches). A row_sparse Parameter's rows are pulled by its
        one Trainer each batch, so a second Trainer is refused, as in MXNet."""
        if self._stype != "default" and trainer is not None:
            if self._trainer is not None and self._trainer is not trainer:
                raise RuntimeError(
                    f"Failed to set the trainer for Parameter '{self.name}' because it was "
                    "already set. More than one trainers for a "
                    f"{self._stype} Parameter is not supported."
                )
        self._trainer = trainer

    # ---- array access ----
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            if ctx.device_typeid == 3:  # cpu_pinned(i) reads cpu(i)'s copy, as in MXNet
                ctx = Context("cpu", ctx.device_id)
            for i, c in enumerate(self._ctx_list):
                if c == ctx:
                    return arr_list[i]
            raise GluonRuntimeError(
                f"Parameter '{self.name}' was not initialized on context {ctx}. It was only "
                f"initialized on {self._ctx_list}."
            )
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                "was deferred. Actual initialization happens during the first forward pass. "
                "Please pass one batch of data through the network before accessing "
                "Parameters. You can also avoid deferred initialization by specifying "
                "in_units, num_features, etc., for network layers."
            )
        raise GluonRuntimeError(
            f"Parameter '{self.name}' has not been initialized. Note that you should "
            "initialize parameters and create Trainer with Block.collect_params() instead of "
            "Block.params because the later does not include Parameters of nested child "
            "Blocks"
        )

    def data(self, ctx=None):
        """This parameter's array on ``ctx`` (the only one when ``ctx`` is None)."""
        # Hot path of every forward: a dict lookup by context.
        if self._stype != "default":
            _sparse_param.refuse_dense_access(self, "data()", ctx)
        ctx_map = self._ctx_map
        if ctx_map is not None:
            if ctx is None:
                if len(ctx_map) == 1:
                    return self._data[0]
            elif len(ctx_map) == 1 and self._data[0]._ctx is ctx:
                return self._data[0]  # the map's one entry, without hashing the context
            else:
                arr = ctx_map.get(ctx)
                if arr is not None:
                    return arr
        return self._check_and_get(self._data, ctx)

    def list_data(self):
        """This parameter's arrays on all its contexts, in initialization order."""
        if self._stype != "default":
            _sparse_param.refuse_dense_access(self, "list_data()")
        return self._check_and_get(self._data, list)

    def row_sparse_data(self, row_id):
        """The rows ``row_id`` (an NDArray) of a row_sparse Parameter, pulled from the
        Trainer's kvstore into the array on ``row_id``'s context (a RowSparseNDArray)."""
        return _sparse_param.get_row_sparse(self, row_id.context, row_id)

    def list_row_sparse_data(self, row_id):
        """``row_sparse_data`` on every context (in initialization order)."""
        return _sparse_param.get_row_sparse(self, list, row_id)

    def grad(self, ctx=None):
        """The gradient buffer on ``ctx``."""
        if self._data is not None and self._grad is None:
            raise GluonRuntimeError(
                f"Cannot get gradient array for Parameter '{self.name}' because grad_req='null'"
            )
        return self._check_and_get(self._grad, ctx)

    def list_grad(self):
        """The gradient buffers on all contexts, in the order of ``list_data``."""
        if self._data is not None and self._grad is None:
            raise GluonRuntimeError(
                f"Cannot get gradient array for Parameter '{self.name}' because grad_req='null'"
            )
        return self._check_and_get(self._grad, list)

    def list_ctx(self):
        """The contexts this parameter is (or will be, when deferred) initialized on."""
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise GluonRuntimeError(f"Parameter '{self.name}' has not been initialized")
        return self._ctx_list

    def zero_grad(self):
        """Set the gradient buffers on all contexts to 0 (no-op without gradients)."""
        if self._grad is None:
            return
        for g in self._grad:
            if g._sparse:
                g[:] = 0
                continue
            g._read()[...] = 0  # after a push still sending it

    # ---- initialization ----
    def initialize(self, init=None, ctx=None, default_init=None, force_reinit=False):
        """Allocate and initialize the arrays on each context of ``ctx``.

        ``init`` (or else this parameter's own ``init``, else ``default_init``, else
        ``Uniform()``) fills the values. With an unknown shape and ``allow_deferred_init``
        the work waits for the first forward pass.
        """
        if self._data is not None and not force_reinit:
            warnings.warn(
                f"Parameter '{self.name}' is already initialized, ignoring. Set "
                "force_reinit=True to re-initialize.",
                stacklevel=2,
            )
            return
        self._data = self._grad = self._ctx_map = None
        ctx = _ctx_list(ctx)
        if default_init is None:
            default_init = _default_init()
        if init is None:
            init = default_init if self.init is None else self.init
        if not self._shape_known():
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise GluonValueError(
                f"Cannot initialize Parameter '{self.name}' because it has "
                f"invalid shape: {self.shape}."
            )
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _initial_value(self, init, default_init):
        """A CPU NDArray holding the initial value drawn from the initializers."""
        from .. import initializer

        data = wrap(np.zeros(self._shape, dtype=np.dtype(self.dtype)), cpu())
        initializer.create(default_init)(initializer.InitDesc(self.name, {"__init__": init}), data)
        return data

    def _finish_deferred_init(self):
        """Complete a deferred initialization once the shape is known."""
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        if not self._shape_known():
            raise GluonAssertionError(
                f"Cannot initialize Parameter '{self.name}' because it has invalid shape: "
                f"{self.shape}. Please specify in_units, in_channels, etc for `Block`s."
            )
        with autograd.pause():
            if data is None:
                data = self._initial_value(init, default_init)
            self._init_impl(data, ctx)
        self._deferred_init = ()

    def _init_impl(self, data, ctx_list):
        """Copy ``data`` to every context and attach gradient buffers."""
        self._ctx_list = list(ctx_list)
        if self._stype != "default":
            arrays = _sparse_param.sparse_data(self, data, self._ctx_list)
        else:
            src = data._read() if isinstance(data, NDArray) else np.asarray(data)
            arrays = [wrap(_to_device(src, ctx, copy=True), ctx) for ctx in self._ctx_list]
        self._data = arrays
        self._ctx_map = dict(zip(self._ctx_list, arrays))
        self._init_grad()

    def _init_grad(self):
        if self.grad_req == "null":
            self._grad = None
            return
        from ..backend import array_scope

        self._grad = []
        if self._grad_stype != "default" or self._stype != "default":
            from ..ndarray.sparse import zeros_like  # row_sparse: only touched rows

            self._grad = [zeros_like(d, self._grad_stype) for d in self._data]
        for d in self._data if not self._grad else ():
            with array_scope(d._data):  # cupy's zeros_like allocates on the current device
                self._grad.append(wrap(d._ctx.xp.zeros_like(d._data), d._ctx))
        autograd.mark_variables(self._data, self._grad, self.grad_req)

    def _reduce(self):
        """The average of the copies on all contexts, as a CPU NDArray (after the pending
        kvstore pull into each: save_parameters and export save what training computed)."""
        if self._stype != "default":
            return _sparse_param.reduce_sparse(self)
        arrays = [_host(d._read()) for d in self.list_data()]
        if len(arrays) == 1:
            return wrap(arrays[0].copy(), cpu())
        total = arrays[0].astype(arrays[0].dtype, copy=True)
        for arr in arrays[1:]:
            total += arr
        total /= len(arrays)
        return wrap(total, cpu())

    def reset_ctx(self, ctx):
        """Move the parameter to other context(s), keeping its (averaged) value."""
        ctx = _ctx_list(ctx)
        if self._data:
            data = self._reduce()
            with autograd.pause():
                self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise GluonValueError(
                f"Cannot reset context for Parameter '{self.name}' because "
                "it has not been initialized."
            )

    def set_data(self, data):
        """Set the value on every context (or the value a deferred init will use)."""
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise GluonAssertionError(f"Parameter '{self.name}' has not been initialized")
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        trainer = self._trainer
        if trainer is not None and trainer._kv_initialized and trainer._update_on_kvstore:
            if self not in trainer._params_to_init:
                trainer._reset_kvstore()
        if self._stype != "default":
            for arr in self._data:
                arr[:] = data if isinstance(data, NDArray) else wrap(np.asarray(data), cpu())
            return
        src = data._read() if isinstance(data, NDArray) else np.asarray(data)
        for arr in self._data:
            _copy_into(arr._read(), src)

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """(Re)initialize from loaded ``data``, checking shape and dtype."""
        if cast_dtype and dtype_source not in ("current", "saved"):
            raise GluonAssertionError(
                f"dtype_source must be 'current' or 'saved', got {dtype_source!r}"
            )
        if self.shape:
            if len(self.shape) != len(data.shape) or not all(
                s in (0, d) for s, d in zip(self.shape, data.shape)
            ):
                raise GluonAssertionError(
                    f"Failed loading Parameter '{self.name}' from saved params: shape "
                    f"incompatible expected {self.shape} vs saved {data.shape}"
                )
            self.shape = tuple(d if s == 0 else s for s, d in zip(self.shape, data.shape))
        if self.dtype is not None and np.dtype(self.dtype) != np.dtype(data.dtype):
            if not cast_dtype:
                raise GluonAssertionError(
                    f"Failed loading Parameter '{self.name}' from saved params: dtype "
                    f"incompatible expected {self.dtype} vs saved {data.dtype}. Set "
                    "cast_dtype=True to cast the dtype of saved params."
                )
            if dtype_source == "current":
                data = data.astype(self.dtype, copy=False)
            else:
                self.cast(data.dtype)  # the arrays too, when already initialized
        if isinstance(ctx, Context):
            ctx = [ctx]
        if self._data is None:
            if self._deferred_init:
                if ctx is not None and set(ctx) != set(self._deferred_init[1]):
                    raise GluonAssertionError(
                        f"Failed to load Parameter '{self.name}' on {ctx} because it was "
                        f"previous initialized on {self.list_ctx()}."
                    )
                ctx = self._deferred_init[1]
            elif ctx is None:
                ctx = [cpu()]
            self._init_impl(data, ctx)
        else:
            if ctx is not None and set(ctx) != set(self.list_ctx()):
                raise GluonAssertionError(
                    f"Failed to load Parameter '{self.name}' on {ctx} because it was previous "
                    f"initialized on {self.list_ctx()}."
                )
            self.set_data(data)
        self._deferred_init = ()

    # ---- symbol and dtype ----
    def var(self):
        """The Symbol variable of this parameter (name, shape, dtype, lr/wd mult, init)."""
        if self._var is None:
            from .. import symbol

            self._var = symbol.var(
                self.name,
                shape=self.shape,
                dtype=self.dtype,
                lr_mult=self.lr_mult,
                wd_mult=self.wd_mult,
                init=self.init,
                stype=self._stype,
            )
        return self._var

    def cast(self, dtype):
        """Cast the data and gradients to ``dtype``."""
        self._dtype = dtype
        self._var = None
        if self._data is None:
            if self._deferred_init and self._deferred_init[3] is not None:
                init, ctx, default_init, data = self._deferred_init
                self._deferred_init = (init, ctx, default_init, data.astype(dtype))
            return
        np_dtype = np.dtype(dtype)
        with autograd.pause():
            self._data = [_cast(d, np_dtype) for d in self._data]
            self._ctx_map = dict(zip(self._ctx_list, self._data))
            if self._grad is None:
                return
            self._grad = [_cast(g, np_dtype) for g in self._grad]
            autograd.mark_variables(self._data, self._grad, self.grad_req)


def _cast(arr, dtype):
    """A copy of ``arr`` (dense or sparse) with ``dtype``, cut from autograd."""
    return arr.astype(dtype) if arr._sparse else wrap(arr._read().astype(dtype), arr._ctx)


def _host(data):
    return data if isinstance(data, np.ndarray) else data.get()


class Constant(Parameter):
    """A constant parameter: never updated, ``grad_req`` is always 'null'.

    Parameters
    ----------
    name : str
    value : array-like or NDArray
        The constant's value.
    """

    def __init__(self, name, value):
        if not isinstance(value, NDArray):
            value = wrap(np.array(value, dtype=np.float32), cpu())
        self.value = value
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype)

    def __repr__(self):
        return f"Constant {self.name} (shape={self.shape}, dtype={self.dtype})"

    def _initial_value(self, init, default_init):
        # A constant always starts from its value, whatever initializer is given.
        return wrap(_host(self.value._read()).astype(np.dtype(self.dtype)), cpu())

    @property
    def grad_req(self):
        """Always 'null'."""
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn(
                f'Constant parameter "{self.name}" does not support grad_req other '
                f'than "null", and new value "{req}" is ignored.'
            )


_NAMING_HELP = (
    "For more info on naming, please see "
    "https://mxnet.io/api/python/docs/tutorials/packages/gluon/blocks/naming.html"
)


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
                    f"'{existing}'."
                )
        return param

    def get_constant(self, name, value=None):
        """The Constant ``prefix + name``, created from ``value`` if it does not exist."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise GluonKeyError(
                    f"No constant named '{name}'. Please specify value if you "
                    "want to create a new constant."
                )
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise GluonAssertionError(
                    f"Parameter '{name}' already exists but it is not a constant."
                )
            value = value.asnumpy() if isinstance(value, NDArray) else np.asarray(value)
            if param.shape != value.shape or not (param.value.asnumpy() == value).all():
                raise GluonAssertionError(
                    f"Constant '{name}' already exists but it's value doesn't match new value"
                )
        return param

    def update(self, other):
        """Add the Parameters of ``other``; a name may not map to two different objects."""
        for key, value in other.items():
            if key in self._params and self._params[key] is not value:
                raise GluonAssertionError(
                    "Cannot update self with other because they have different Parameters "
                    f"with the same name '{key}'"
                )
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
                    "'with name_scope()' when creating child blocks. " + _NAMING_HELP
                )
            arg_dict[param.name[len(strip_prefix) :]] = param._reduce()
        ndarray.save(filename, arg_dict)

    def load(
        self,
        filename,
        ctx=None,
        allow_missing=False,
        ignore_extra=False,
        restore_prefix="",
        cast_dtype=False,
        dtype_source="current",
    ):
        """Load Parameters from ``filename``; file names get ``restore_prefix`` prepended.

        ``arg:``/``aux:`` prefixes of checkpoint files are dropped.
        """
        from .. import ndarray

        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise GluonAssertionError(
                        f"restore_prefix is '{restore_prefix}' but Parameters name '{name}' "
                        f"does not start with '{restore_prefix}'. " + _NAMING_HELP
                    )
        loaded = ndarray.load(os.fspath(filename))
        if not isinstance(loaded, dict):
            raise GluonValueError(
                f"file {filename} holds a list of arrays without names; "
                "ParameterDict.load needs a dict saved by save()"
            )
        self.load_dict(
            loaded,
            ctx,
            allow_missing,
            ignore_extra,
            restore_prefix,
            filename,
            cast_dtype,
            dtype_source,
        )

    def load_dict(
        self,
        param_dict,
        ctx=None,
        allow_missing=False,
        ignore_extra=False,
        restore_prefix="",
        filename=None,
        cast_dtype=False,
        dtype_source="current",
    ):
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
                        "source and target networks have the same prefix." + _NAMING_HELP
                    )
        for name, value in arg_dict.items():
            if name not in self._params:
                if not ignore_extra:
                    raise GluonAssertionError(
                        f"Parameter '{name[lprefix:]}' loaded from {source} is not present in "
                        f"ParameterDict, choices are: {brief_print_list(self._params.keys())}. "
                        "Set ignore_extra to True to ignore. Please make sure source and "
                        "target networks have the same prefix." + _NAMING_HELP
                    )
                continue
            self._params[name]._load_init(
                value, ctx, cast_dtype=cast_dtype, dtype_source=dtype_source
            )


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
