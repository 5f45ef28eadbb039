"""The Optimizer base class, its registry, and optimizer descriptions.

An optimizer travels (to a parameter server, into a states file) as its *description*:
``opt.describe() -> (name, hyperparams)``, the registered name and the constructor
arguments with msgpack-safe values; ``create(name, **hyperparams)`` (or
``Optimizer.from_description((name, hyperparams))``) rebuilds an equal optimizer. The
description holds everything that shapes an update: learning rate, its scheduler (as the
scheduler's own ``(name, params)`` pair, with its state), weight decay, rescale/clip,
``param_idx2name`` and the final ``lr_mult``/``wd_mult`` dicts (str keys; keys made of
digits are parameter indices and come back as ints). A ``sym``'s ``__lr_mult__`` and
``__wd_mult__`` attributes are already folded into those dicts, so no symbol travels.
"""

import warnings

import numpy as np

from ..base import MXNetError
from .. import lr_scheduler as _lrs

__all__ = ["Optimizer", "register", "create", "from_description"]

# constructor argument -> attribute that holds its current value (when the names differ)
_BASE_ARG_ATTRS = {"learning_rate": "lr", "param_idx2name": "idx2name"}
# constructor arguments that never travel (live objects, not hyperparameters)
_NOT_DESCRIBED = ("sym", "param_dict")


class UnknownOptimizerError(MXNetError, ValueError):
    """``create`` got a name that no optimizer is registered under (a ValueError too, as
    MXNet raised)."""


class Optimizer:
    """The base class of all optimizers (MXNet's ``mx.optimizer.Optimizer``).

    Parameters
    ----------
    rescale_grad : float
        Gradients are multiplied by it first (often ``1/batch_size``).
    param_idx2name : dict of int to str
        Parameter names by index; names not ending in ``_weight``/``_gamma`` get
        ``wd_mult`` 0.
    wd : float
        Weight decay (L2 penalty) coefficient.
    clip_gradient : float or None
        Clip the rescaled gradient to ``[-clip_gradient, clip_gradient]``.
    learning_rate : float or None
        The learning rate (0.01 when neither it nor ``lr_scheduler`` is given).
    lr_scheduler : LRScheduler, its ``(name, params)`` description, or None
    sym : Symbol or None
        Its variables' ``__lr_mult__``/``__wd_mult__`` attributes set the multipliers.
    begin_num_update : int
        Update count to start from.
    multi_precision : bool
        Keep a float32 master copy of float16 weights.
    param_dict : dict of index to gluon Parameter
        Per-parameter ``lr_mult``/``wd_mult`` looked up live (Gluon's Trainer).
    lr_mult, wd_mult : dict or None
        distnet extension: multipliers applied after the defaults (used when rebuilding
        an optimizer from its description).
    """

    opt_registry = {}
    _arg_attrs = {}
    # state attributes an optimizer mutates while training (saved with Updater states)
    _runtime_attrs = ()
    # multi-precision state layout: (master, state) in the base class as in MXNet;
    # SGD/NAG/LARS use (state, master)
    _master_first = True

    def __init__(
        self,
        rescale_grad=1.0,
        param_idx2name=None,
        wd=0.0,
        clip_gradient=None,
        learning_rate=None,
        lr_scheduler=None,
        sym=None,
        begin_num_update=0,
        multi_precision=False,
        param_dict=None,
        lr_mult=None,
        wd_mult=None,
    ):
        self.rescale_grad = rescale_grad
        if lr_scheduler is not None and not isinstance(lr_scheduler, _lrs.LRScheduler):
            # a description is restored as it was: its base_lr already is the optimizer's
            self.lr_scheduler = _lrs.from_description(lr_scheduler)
        else:
            self.lr_scheduler = lr_scheduler
            if (
                lr_scheduler is not None
                and learning_rate is not None
                and lr_scheduler.base_lr != learning_rate
            ):
                warnings.warn(
                    "learning rate from ``lr_scheduler`` has been overwritten by "
                    "``learning_rate`` in optimizer.",
                    UserWarning,
                    stacklevel=2,
                )
                lr_scheduler.base_lr = learning_rate
        if self.lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        self.wd = wd
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise MXNetError(
                "param_idx2name should be a dict of param indexes to names, "
                f"got {type(param_idx2name).__name__}"
            )
        self.idx2name = _int_keys(param_idx2name)
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.allow_np_array = False
        self._scratch = {}
        self.set_lr_mult(_int_keys(lr_mult or {}))
        self.set_wd_mult(_int_keys(wd_mult or {}))

    # ---- registry ----
    @staticmethod
    def register(klass):
        """Register an optimizer class under its lower-cased class name."""
        if not (isinstance(klass, type) and issubclass(klass, Optimizer)):
            raise MXNetError(f"register: {klass!r} is not an Optimizer subclass")
        name = klass.__name__.lower()
        old = Optimizer.opt_registry.get(name)
        if old is not None and old is not klass:
            warnings.warn(
                f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is "
                f"overriding existing optimizer {old.__module__}.{old.__name__}"
            )
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """Instantiate the optimizer registered as ``name`` (case-insensitive)."""
        if not isinstance(name, str):
            raise MXNetError(f"optimizer name must be a string, got {name!r}")
        klass = Optimizer.opt_registry.get(name.lower())
        if klass is None:
            raise UnknownOptimizerError(
                f"Cannot find optimizer {name}; registered optimizers: "
                f"{sorted(Optimizer.opt_registry)}"
            )
        return klass(**kwargs)

    # ---- descriptions ----
    def describe(self):
        """``(name, hyperparams)``: the registered name and msgpack-safe constructor
        arguments that rebuild this optimizer with ``create(name, **hyperparams)``."""
        name = type(self).__name__.lower()
        if Optimizer.opt_registry.get(name) is not type(self):
            raise MXNetError(
                f"cannot describe optimizer {type(self).__name__}: it is not "
                "registered (decorate it with mx.optimizer.register)"
            )
        params = {}
        for arg in _lrs._ctor_args(type(self)):
            if arg in _NOT_DESCRIBED:
                continue
            attr = self._arg_attrs.get(arg) or _BASE_ARG_ATTRS.get(arg, arg)
            if not hasattr(self, attr):
                raise MXNetError(
                    f"cannot describe optimizer {name}: constructor argument "
                    f"{arg!r} is not stored as attribute {attr!r}; store it "
                    "or override describe()"
                )
            value = getattr(self, attr)
            if arg == "lr_scheduler" and value is not None:
                value = list(value.describe())
            params[arg] = _lrs._plain(value, f"optimizer {name}: {arg}")
        return name, params

    @staticmethod
    def from_description(desc):
        """Rebuild an optimizer from ``describe()``'s ``(name, hyperparams)``."""
        if not (isinstance(desc, (list, tuple)) and len(desc) == 2 and isinstance(desc[1], dict)):
            raise MXNetError(
                f"optimizer description must be a (name, hyperparams) pair, got {desc!r}"
            )
        return Optimizer.create_optimizer(desc[0], **desc[1])

    # ---- learning rate and multipliers ----
    @property
    def learning_rate(self):
        """The current learning rate (from the scheduler when there is one)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """Set the learning rate (not allowed when an lr_scheduler drives it)."""
        if self.lr_scheduler is not None:
            raise UserWarning(
                "LRScheduler of the optimizer has already been defined. Note "
                "that set_learning_rate can mutate the value of the learning "
                "rate of the optimizer only when the LRScheduler of the "
                "optimizer is undefined."
            )
        self.lr = lr

    def set_lr_scale(self, args_lrscale):
        """[DEPRECATED] Use set_lr_mult."""
        raise DeprecationWarning

    def set_lr_mult(self, args_lr_mult):
        """Set per-parameter learning-rate multipliers (by name or index); a ``sym``'s
        ``__lr_mult__`` attributes are the defaults."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Set per-parameter weight-decay multipliers. Names from ``param_idx2name`` not
        ending in ``_weight`` or ``_gamma`` default to 0; a ``sym``'s ``__wd_mult__``
        attributes come next; ``args_wd_mult`` last."""
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not self._decays(n):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    @staticmethod
    def _decays(name):
        return name.endswith("_weight") or name.endswith("_gamma")

    def _set_current_context(self, device_id):
        """Use the update counters of device ``device_id``."""
        counts = self._all_index_update_counts
        if device_id not in counts:
            counts[device_id] = {}
        self._index_update_count = counts[device_id]

    def _update_count(self, index):
        """Count one more update of ``index`` (an index or a list of them)."""
        counts = self._index_update_count
        for idx in index if isinstance(index, (list, tuple)) else (index,):
            n = counts.get(idx, self.begin_num_update) + 1
            counts[idx] = n
            if n > self.num_update:
                self.num_update = n

    def _get_lrs(self, indices):
        """Learning rates for ``indices`` (scheduler or lr, times the multipliers)."""
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return [lr * self._mult(i, self.lr_mult, "lr_mult") for i in indices]

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        """Weight decays for ``indices`` (wd times the multipliers)."""
        return [self.wd * self._mult(i, self.wd_mult, "wd_mult") for i in indices]

    def _get_wd(self, index):
        return self._get_wds([index])[0]

    def _mult(self, index, mults, attr):
        if index in self.param_dict:
            return getattr(self.param_dict[index], attr)
        if index in mults:
            return mults[index]
        name = self.idx2name.get(index)
        return mults.get(name, 1.0) if name is not None else 1.0

    # ---- states and updates ----
    def create_state(self, index, weight):
        """Create the auxiliary state (e.g. momentum) of ``weight``; None if none."""
        return None

    def create_state_multi_precision(self, index, weight):
        """``create_state``, plus a float32 master copy for float16 weights when
        ``multi_precision`` is set. A sparse weight gets dense states."""
        if getattr(weight, "_sparse", False):
            weight = weight.tostype("default")
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            inner = self.create_state(index, master)
            return (master, inner) if self._master_first else (inner, master)
        if weight.dtype == np.float16 and not self.multi_precision:
            warnings.warn(
                "Accumulating with float16 in optimizer can lead to poor accuracy "
                "or slow convergence. Consider using multi_precision=True option "
                f"of the {type(self).__name__} optimizer"
            )
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update ``weight`` (NDArray, in place) with ``grad`` and ``state``."""
        raise NotImplementedError()

    def update_multi_precision(self, index, weight, grad, state):
        """``update``, through the float32 master copy for float16 weights. A sparse
        weight (a row_sparse/csr NDArray) is updated through a dense copy written back in
        its storage type (rows the gradient does not touch keep their values)."""
        if getattr(weight, "_sparse", False):
            dense = weight.tostype("default")
            self.update_multi_precision(index, dense, grad, state)
            weight[:] = dense
        elif self.multi_precision and weight.dtype == np.float16:
            master, inner = state if self._master_first else state[::-1]
            self.update(index, master, grad.astype(np.float32), inner)
            weight[:] = master
        else:
            self.update(index, weight, grad, state)

    def update_multi(self, indices, weights, grads, states):
        """Update several parameters (distnet extension the Updater calls with lists);
        built-in optimizers fuse the bookkeeping, others loop update_multi_precision."""
        for i, w, g, s in zip(indices, weights, grads, states):
            self.update_multi_precision(i, w, g, s)

    def _tmp(self, like, slot=0):
        """A scratch array shaped like ``like``, reused across updates (never a state)."""
        # host arrays have no device: skip _device_of's lookups (a step calls this per weight)
        key = (
            like.shape,
            like.dtype.char,
            slot,
            None if type(like) is np.ndarray else _device_of(like),
        )
        scratch = self.__dict__.get("_scratch")
        if scratch is None:
            scratch = self.__dict__.setdefault("_scratch", {})
        buf = scratch.get(key)
        if buf is None:
            from ..backend import array_scope

            xp = np if isinstance(like, np.ndarray) else _xp(like)
            with array_scope(like):  # cupy allocates on its current device: like's
                buf = scratch[key] = xp.empty(like.shape, like.dtype)
        return buf

    # ---- extra runtime state saved with Updater states ----
    def _runtime_state(self):
        return {a: getattr(self, a) for a in self._runtime_attrs}

    def _set_runtime_state(self, state):
        for a, v in state.items():
            if a in self._runtime_attrs:
                setattr(self, a, v)


def _device_of(arr):
    dev = getattr(arr, "device", None)
    return None if isinstance(arr, np.ndarray) or dev is None else getattr(dev, "id", dev)


def _xp(arr):
    from ..backend import xp_of

    return xp_of(arr)


def _int_keys(d):
    """A copy of ``d`` with keys made only of digits turned back into int indices."""
    return {(int(k) if isinstance(k, str) and k.isdigit() else k): v for k, v in d.items()}


register = Optimizer.register
create = Optimizer.create_optimizer
from_description = Optimizer.from_description
