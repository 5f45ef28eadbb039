"""``gluon.Trainer``: applies an optimizer to a set of Parameters, summing gradients over
their contexts (and over workers) through a kvstore, as MXNet's Trainer."""

import os

import numpy as np

from kvstore.atomic import write_atomic

from ..optimizer.updater import read_states_file
from ._common import (GluonAssertionError, GluonRuntimeError, GluonTypeError,
                      GluonValueError, StaleGradientError)
from .parameter import Parameter, ParameterDict

__all__ = ["Trainer"]


def _create_kvstore(kvstore, num_device, params):
    """(kvstore or None, update_on_kvstore) by MXNet's rules (``model._create_kvstore``):
    no kvstore for one device unless distributed; 'local' with a parameter over 16M
    elements updates locally; ``MXNET_UPDATE_ON_KVSTORE=0`` turns updating on the kvstore
    off."""
    from .. import kvstore as kvs
    update_on_kvstore = bool(int(os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStore):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and "dist" not in kvstore:
            kv = None
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local":
                largest = max(int(np.prod(p.shape)) for p in params)
                if largest > 1024 * 1024 * 16:
                    update_on_kvstore = False
    else:
        raise GluonTypeError("kvstore must be KVStore, str or None")
    if kv is None:
        update_on_kvstore = False
    else:
        update_on_kvstore = update_on_kvstore and kv.is_capable(kv.OPTIMIZER)
    return kv, update_on_kvstore


class Trainer:
    """Applies an optimizer to Parameters; call ``step(batch_size)`` after backward.

    Parameters
    ----------
    params : ParameterDict, dict or list of Parameter
        The Parameters to optimize (a dict is taken in sorted name order, as MXNet).
    optimizer : str or Optimizer
        Optimizer name ('sgd', 'adam', ...) or instance.
    optimizer_params : dict, optional
        Arguments of the optimizer (``{'learning_rate': 0.1}``).
    kvstore : str or KVStore, default 'device'
        Gradient aggregation across contexts / workers ('device', 'local', 'dist_sync',
        ...). With one context and a non-distributed name no kvstore is used.
    compression_params : dict, optional
        Gradient compression (``{'type': '2bit', 'threshold': 0.5}``).
    update_on_kvstore : bool, optional
        Whether the kvstore runs the optimizer; chosen by MXNet's rules when None.
    """

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device",
                 compression_params=None, update_on_kvstore=None):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[key] for key in sorted(params.keys())]
        if not isinstance(params, (list, tuple)):
            raise GluonValueError(f"First argument must be a list or dict of Parameters, got "
                                  f"{type(params)}.")
        self._params = []
        self._param2idx = {}
        for i, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise GluonValueError(f"First argument must be a list or dict of Parameters, "
                                      f"got list of {type(param)}.")
            self._param2idx[param.name] = i
            self._params.append(param)
            param._set_trainer(self)
        self._compression_params = compression_params
        self._contexts = self._check_contexts()
        self._init_optimizer(optimizer, optimizer_params or {})
        self._scale = self._optimizer.rescale_grad
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        self._kv_initialized = False
        self._kvstore = None
        self._update_on_kvstore = None
        self._distributed = None
        self._params_to_init = []
        self._overlap = False
        self._sent = set()        # parameters already communicated since the last step
        self._final_ctx = {}      # parameter index -> contexts whose gradient is final
        self._reset_kvstore()

    def _check_contexts(self):
        contexts = None
        for param in self._params:
            ctx = list(param.list_ctx())
            if contexts is not None and contexts != ctx:
                raise GluonAssertionError(
                    "All Parameters must be initialized on the same set of contexts, but "
                    f"Parameter {param.name} is initialized on {ctx} while previous "
                    f"Parameters are initialized on {contexts}.")
            contexts = ctx
        return contexts

    def _init_optimizer(self, optimizer, optimizer_params):
        from .. import optimizer as opt
        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise GluonAssertionError("optimizer_params must be None if optimizer is an "
                                          "instance of Optimizer instead of str")
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict
        else:
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        self._updaters = [opt.get_updater(self._optimizer) for _ in self._contexts]

    def _init_params(self):
        """Put every initialized Parameter into the kvstore and pull it back to all its
        contexts: in a distributed job everyone starts from rank 0's values."""
        pending = []
        if self._kvstore:
            for param in self._params_to_init:
                if param._deferred_init:
                    pending.append(param)
                    continue
                arrays = param._check_and_get(param._data, list)
                idx = self._param2idx[param.name]
                self._kvstore.broadcast(idx, arrays[0], arrays)
        self._params_to_init = pending

    def _reset_kvstore(self):
        if self._kvstore and "dist" in self._kvstore.type:
            raise GluonRuntimeError("Cannot reset distributed KVStore.")
        self._kv_initialized = False
        self._kvstore = None
        self._distributed = None
        self._update_on_kvstore = None
        self._params_to_init = list(self._params)
        self._overlap = False
        self._sent.clear()
        self._final_ctx.clear()

    def _init_kvstore(self):
        config = self._kvstore_params
        kvstore, update_on_kvstore = _create_kvstore(config["kvstore"], len(self._contexts),
                                                     self._params)
        self._distributed = bool(kvstore) and "dist" in kvstore.type
        if self._distributed and "async" in kvstore.type:
            update_on_kvstore = True
            if config["update_on_kvstore"] is False:
                raise GluonValueError("Please set update_on_kvstore=True when training in "
                                      "async mode.")
        if config["update_on_kvstore"] is not None:
            update_on_kvstore = config["update_on_kvstore"]
        if update_on_kvstore and (kvstore is None or not kvstore.is_capable("optimizer")):
            if config["update_on_kvstore"]:
                # MXNet crashed with an AttributeError here when there was no kvstore.
                raise GluonValueError(
                    "Please set update_on_kvstore=False when training with "
                    f"{type(kvstore)}" + ("" if kvstore else
                                          " (no kvstore is used for a single context and a "
                                          "non-distributed kvstore)"))
            update_on_kvstore = False
        if kvstore:
            if self._compression_params:
                kvstore.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kvstore.set_optimizer(self._optimizer)
            self._kvstore = kvstore
            self._update_on_kvstore = update_on_kvstore
            # Updating on a local kvstore applies the optimizer at push time, with the
            # rescale_grad of the step that has not been called yet: no early push there.
            self._overlap = (os.getenv("DISTNET_GRAD_OVERLAP", "1") != "0"
                             and (self._distributed or not update_on_kvstore))
        else:
            self._kvstore = None
            self._update_on_kvstore = None
        self._kv_initialized = True

    def _ready(self):
        if not self._kv_initialized:
            self._init_kvstore()
        if self._params_to_init:
            self._init_params()

    @property
    def learning_rate(self):
        """The optimizer's current learning rate."""
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        """The Optimizer."""
        return self._optimizer

    def set_learning_rate(self, lr):
        """Set the optimizer's learning rate."""
        self._optimizer.set_learning_rate(lr)

    def _check_and_rescale_grad(self, scale):
        if self._update_on_kvstore and self._distributed and self._kv_initialized:
            if self._optimizer.rescale_grad != scale:
                raise StaleGradientError(
                    "Possible change in the `batch_size` from previous `step` detected. "
                    "Optimizer gradient normalizing factor will not change w.r.t new "
                    "batch_size when update_on_kvstore=True and when distributed kvstore is "
                    "used.")
        self._optimizer.rescale_grad = scale

    def step(self, batch_size, ignore_stale_grad=False):
        """One update: sum gradients over contexts/workers, then apply the optimizer with
        gradients scaled by ``1/batch_size``.

        Parameters
        ----------
        batch_size : int
            Gradients are normalized by ``1/batch_size`` (use 1 if the loss is a mean).
        ignore_stale_grad : bool, default False
            Skip Parameters whose gradient was not recomputed since the last step instead
            of raising an error.
        """
        rescale_grad = self._scale / batch_size
        self._check_and_rescale_grad(rescale_grad)
        self._ready()
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum the gradients over contexts (and workers) in place, without updating; use
        with ``update`` to transform gradients in between (clipping)."""
        self._ready()
        if self._kvstore and self._update_on_kvstore:
            raise GluonAssertionError(
                "allreduce_grads() when parameters are updated on kvstore is not supported. "
                "Try setting `update_on_kvstore` to False when creating trainer.")
        self._allreduce_grads()

    def _allreduce_grads(self):
        kv = self._kvstore
        if not kv:
            return
        sent = self._sent
        for i, param in enumerate(self._params):
            if param.grad_req == "null" or i in sent:
                continue
            self._pushpull(i, param)
        sent.clear()
        self._final_ctx.clear()
        if self._overlap:
            self._arm_grad_hooks()

    def _pushpull(self, i, param):
        """Sum parameter i's gradients over contexts and workers (into the weights when
        the kvstore updates them)."""
        grads = param.list_grad()
        if self._update_on_kvstore:
            self._kvstore.pushpull(i, grads, out=param.list_data(), priority=-i)
        else:
            self._kvstore.pushpull(i, grads, priority=-i)

    def _arm_grad_hooks(self):
        """Have backward tell us when each gradient is final, so that it is communicated
        while the rest of backward runs (keys exist in the kvstore only after the first
        step). Arrays replaced since (cast, re-attached gradients) get a hook here."""
        from ..autograd import Leaf
        not_in_kv = {id(p) for p in self._params_to_init}
        for i, param in enumerate(self._params):
            if param.grad_req != "write" or param._data is None or id(param) in not_in_kv:
                continue
            for c, data in enumerate(param._data):
                leaf = data._ag
                if leaf.__class__ is Leaf and leaf.hook is None:
                    leaf.hook = self._grad_hook(i, c)

    def _grad_hook(self, i, c):
        def hook(_var):
            self._grad_final(i, c)
        return hook

    def _grad_final(self, i, c):
        """Context c's gradient of parameter i is final: once all contexts' are, push it
        now instead of in the next step (step then skips it)."""
        param = self._params[i]
        if not self._overlap or param.grad_req != "write":
            return
        if i in self._sent:
            if self._update_on_kvstore:
                return  # already applied: a second push would add an extra kvstore round
            self._sent.discard(i)   # backward ran again since: send the new gradients
        done = self._final_ctx.setdefault(i, set())
        done.add(c)
        if len(done) == len(self._contexts):
            done.clear()
            self._pushpull(i, param)
            self._sent.add(i)

    def update(self, batch_size, ignore_stale_grad=False):
        """Apply the optimizer to the (already reduced) gradients; see ``step``."""
        self._ready()
        if self._kvstore and self._update_on_kvstore:
            raise GluonAssertionError(
                "update() when parameters are updated on kvstore is not supported. Try "
                "setting `update_on_kvstore` to False when creating trainer.")
        self._check_and_rescale_grad(self._scale / batch_size)
        self._update(ignore_stale_grad)

    def _update(self, ignore_stale_grad=False):
        on_kvstore = bool(self._kvstore and self._update_on_kvstore)
        batches = tuple(([], [], []) for _ in self._updaters)
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            datas = param._data
            if datas is None:
                param._check_and_get(None, list)  # raises: not (or deferred) initialized
            if not ignore_stale_grad:
                for data in datas:
                    if not data._ag.fresh:
                        self._raise_stale(param, data)
            for batch, data, grad in zip(batches, datas, param._grad):
                leaf = data._ag
                if leaf.fresh:  # all are, unless stale gradients are to be ignored
                    leaf.fresh = False
                    if not on_kvstore:
                        batch[0].append(i)
                        batch[1].append(data)
                        batch[2].append(grad)
        if on_kvstore:
            return
        for updater, (indices, weights, grads) in zip(self._updaters, batches):
            if indices:
                updater(indices, grads, weights)

    @staticmethod
    def _raise_stale(param, data):
        raise StaleGradientError(
            f"Gradient of Parameter `{param.name}` on context {data.context} has not been "
            "updated by backward since last `step`. This could mean a bug in your model that "
            "made it only use a subset of the Parameters (Blocks) for this iteration. If you "
            "are intentionally only using a subset, call step with ignore_stale_grad=True to "
            "suppress this warning and skip updating of Parameters with stale gradient")

    def save_states(self, fname):
        """Save the optimizer's states (momentum, ...) to ``fname`` (no pickle)."""
        self._ready()
        if self._update_on_kvstore:
            if self._params_to_init:
                raise GluonAssertionError("Cannot save trainer states when some parameters "
                                          "are not yet initialized in kvstore.")
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
            return
        write_atomic(fname, self._updaters[0].get_states(dump_optimizer=True))

    def load_states(self, fname):
        """Load optimizer states written by ``save_states``."""
        self._ready()
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
            updater = getattr(self._kvstore, "_updater", None)
            if updater is not None and hasattr(updater, "optimizer"):
                self._optimizer = updater.optimizer
        else:
            states = read_states_file(fname, "load_states")
            for updater in self._updaters:
                updater.set_states(states)
                updater.optimizer = self._updaters[0].optimizer
            self._optimizer = self._updaters[0].optimizer
        self._optimizer.param_dict = dict(enumerate(self._params))
