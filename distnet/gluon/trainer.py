"""``gluon.Trainer``: applies an optimizer to a set of Parameters, summing gradients over
their contexts (and over workers) through a kvstore, as MXNet's Trainer."""

import math


from .._sibling import import_sibling
from ..gradsync import GradientSync, create_kvstore
from ..optimizer.updater import read_states_file
from . import _sparse_param
from ._common import GluonAssertionError, GluonRuntimeError, GluonValueError, StaleGradientError
from .parameter import Parameter, ParameterDict

write_atomic = import_sibling("kvstore.atomic").write_atomic  # checked: no user kvstore.py

__all__ = ["Trainer"]


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
        Gradient compression (``{'type': '2bit', 'threshold': 0.5}``, or distnet's
        ``{'type': 'fp16'}``).
    update_on_kvstore : bool, optional
        Whether the kvstore runs the optimizer; chosen by MXNet's rules when None.
    """

    def __init__(
        self,
        params,
        optimizer,
        optimizer_params=None,
        kvstore="device",
        compression_params=None,
        update_on_kvstore=None,
    ):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[key] for key in sorted(params.keys())]
        if not isinstance(params, (list, tuple)):
            raise GluonValueError(
                f"First argument must be a list or dict of Parameters, got {type(params)}."
            )
        self._params = []
        self._param2idx = {}
        for i, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise GluonValueError(
                    f"First argument must be a list or dict of Parameters, "
                    f"got list of {type(param)}."
                )
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
        self._sync = None  # the GradientSync, when a kvstore is used
        self._params_to_init = []
        # row_sparse weights: pushed as rows, pulled by row_sparse_data() (_sparse_param)
        self._sparse_idx = {i for i, p in enumerate(self._params) if p._stype != "default"}
        self._reset_kvstore()

    def _check_contexts(self):
        contexts = None
        for param in self._params:
            ctx = list(param.list_ctx())
            if contexts is not None and contexts != ctx:
                raise GluonAssertionError(
                    "All Parameters must be initialized on the same set of contexts, but "
                    f"Parameter {param.name} is initialized on {ctx} while previous "
                    f"Parameters are initialized on {contexts}."
                )
            contexts = ctx
        return contexts

    def _init_optimizer(self, optimizer, optimizer_params):
        from .. import optimizer as opt

        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise GluonAssertionError(
                    "optimizer_params must be None if optimizer is an "
                    "instance of Optimizer instead of str"
                )
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict
        else:
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        self._updaters = [opt.get_updater(self._optimizer) for _ in self._contexts]

    def _init_params(self):
        """Put every initialized Parameter into the kvstore and pull it back to all its
        contexts: in a distributed job everyone starts from rank 0's values."""
        pending = []
        if self._sync:
            for param in self._params_to_init:
                if param._deferred_init:
                    pending.append(param)
                    continue
                arrays = param._check_and_get(param._data, list)
                idx = self._param2idx[param.name]
                if idx in self._sparse_idx:  # the table goes to the store; no pull back
                    self._kvstore.init(idx, arrays[0])
                    continue
                self._sync.init_param(idx, arrays[0], arrays)
        self._params_to_init = pending

    def _reset_kvstore(self):
        if self._kvstore and "dist" in self._kvstore.type:
            raise GluonRuntimeError("Cannot reset distributed KVStore.")
        self._kv_initialized = False
        self._kvstore = None
        self._distributed = None
        self._update_on_kvstore = None
        self._sync = None
        self._params_to_init = list(self._params)

    @property
    def _overlap(self):
        """Whether gradients are sent while backward runs (GradientSync's policy)."""
        return bool(self._sync and self._sync.overlap)

    def _init_kvstore(self):
        config = self._kvstore_params
        hookable = [
            i
            for i, p in enumerate(self._params)
            if p.grad_req == "write" and i not in self._sparse_idx
        ]
        if self._sparse_idx:
            kv = _sparse_param.create_store(config["kvstore"], config["update_on_kvstore"])
            update_on_kvstore = True
        else:
            kv, update_on_kvstore = create_kvstore(
                config["kvstore"],
                len(self._contexts),
                (math.prod(p.shape or ()) for p in self._params),
                config["update_on_kvstore"],
            )
            sparse_grad = any(p._grad_stype != "default" for p in self._params)
            if kv and sparse_grad and config["update_on_kvstore"] is None:
                # MXNet: dense weights with row_sparse gradients update on the devices
                # (lazily, faster on one machine) unless the job is distributed
                update_on_kvstore = "dist" in kv.type
        sync = self._sync = kv and GradientSync(
            kv,
            update_on_kvstore,
            list(range(len(self._params))),
            self._optimizer,
            len(self._contexts),
            hookable,
            self._compression_params,
            overlap_default=False,
        )
        self._kvstore = kv
        self._distributed = bool(sync) and sync.distributed
        self._update_on_kvstore = update_on_kvstore if sync else None
        self._kv_initialized = True

    def _ready(self):
        if not self._kv_initialized:
            self._init_kvstore()
        if self._params_to_init:
            self._init_params()

    def _row_sparse_pull(self, parameter, out, row_id, full_idx=False):
        """Pull the rows ``row_id`` of the row_sparse ``parameter`` from the kvstore into
        ``out`` (a RowSparseNDArray or a list of them), as MXNet's Trainer."""
        self._ready()
        idx = self._param2idx[parameter.name]
        self._kvstore.row_sparse_pull(idx, out=out, row_ids=row_id, priority=-idx)

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
                    "used."
                )
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
                "Try setting `update_on_kvstore` to False when creating trainer."
            )
        self._allreduce_grads()

    def _allreduce_grads(self):
        sync = self._sync
        if not sync:
            return
        sparse = self._sparse_idx
        for i in sorted(sparse):  # the store updates the table; rows are pulled on use
            if self._params[i].grad_req != "null":
                grads = [g if g._sparse else g.tostype("row_sparse") for g in self._params[i]._grad]
                self._kvstore.push(i, grads, priority=-i)
        sync.sync(
            (
                (i, p.list_grad(), p.list_data())
                for i, p in enumerate(self._params)
                if p.grad_req != "null" and i not in sparse
            ),
            skip=sync.take_sent(),
        )
        if sync.overlap:
            self._arm_grad_hooks()

    def _arm_grad_hooks(self):
        """Have backward tell the GradientSync when each gradient is final, so that it is
        communicated while the rest of backward runs (keys exist in the kvstore only after
        the first step). Arrays replaced since (cast, re-attached gradients) get a hook
        here."""
        from ..autograd import get_grad_hook, register_grad_hook

        not_in_kv = {id(p) for p in self._params_to_init}
        for i in self._sync.hookable:
            param = self._params[i]
            if param._data is None or id(param) in not_in_kv:
                continue
            for c, data in enumerate(param._data):
                if data.grad is not None and get_grad_hook(data) is None:
                    register_grad_hook(data, self._grad_hook(i, c))

    def _grad_hook(self, i, c):
        param, sync = self._params[i], self._sync

        def hook(_var, _grad):
            if param.grad_req == "write":
                sync.grad_final(i, param.list_grad(), param.list_data(), c)

        return hook

    def update(self, batch_size, ignore_stale_grad=False):
        """Apply the optimizer to the (already reduced) gradients; see ``step``."""
        self._ready()
        if self._kvstore and self._update_on_kvstore:
            raise GluonAssertionError(
                "update() when parameters are updated on kvstore is not supported. Try "
                "setting `update_on_kvstore` to False when creating trainer."
            )
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
            for batch, data, grad in zip(batches, datas, param._grad or ()):
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
            "suppress this warning and skip updating of Parameters with stale gradient"
        )

    def save_states(self, fname):
        """Save the optimizer's states (momentum, ...) to ``fname`` (no pickle)."""
        self._ready()
        if self._update_on_kvstore:
            if self._params_to_init:
                raise GluonAssertionError(
                    "Cannot save trainer states when some parameters "
                    "are not yet initialized in kvstore."
                )
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
