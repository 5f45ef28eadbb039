"""Module: a Symbol bound on one or more contexts, with parameters and an optimizer
(MXNet's mx.mod.Module), in one place: binding and the forward/backward pass, then the
parameters (init/get/set with MXNet's rules), then the optimizer, the kvstore (through
distnet/gradsync.py) and the update."""

import logging
import warnings

from ..base import MXNetError
from ..context import Context, cpu
from ..gradsync import GradientSync, create_kvstore
from ..initializer import InitDesc, Uniform
from ..io import DataDesc
from ..model import _write_atomic, load_checkpoint
from .. import ndarray as nd
from .. import optimizer as opt
from ..optimizer.updater import read_states_file
from .base_module import BaseModule
from ._names import _check_input_names, _parse_data_desc
from ._util import load_into
from .executor_group import DataParallelExecutorGroup

_LOG = _MODULE_LOG = logging.getLogger("distnet.module")  # named: root is the user's

__all__ = ["Module"]

_PICKLE_MAGIC = 0x80  # first byte of a pickle (protocol >= 2)


class Module(BaseModule):
    """A Symbol with its executors, parameters and optimizer.

    Parameters
    ----------
    symbol : Symbol
    data_names : list of str
        Data inputs (default ``('data',)``).
    label_names : list of str
        Label inputs (default ``('softmax_label',)``).
    logger : Logger
    context : Context or list of Context
        A list trains data-parallel: the batch is split among the contexts.
    work_load_list : list of float, optional
        Share of the batch of each context (default: equal).
    fixed_param_names : list of str, optional
        Parameters that are not updated.
    state_names : list of str, optional
        Inputs that are states (kept between batches, set with set_states).
    group2ctxs, compression_params : optional
        Context groups; kvstore gradient compression.
    """

    def __init__(
        self,
        symbol,
        data_names=("data",),
        label_names=("softmax_label",),
        logger=_MODULE_LOG,
        context=cpu(),
        work_load_list=None,
        fixed_param_names=None,
        state_names=None,
        group2ctxs=None,
        compression_params=None,
    ):
        super().__init__(logger=logger)
        self._context = _context_list(context)
        if work_load_list is None:
            work_load_list = [1] * len(self._context)
        if len(work_load_list) != len(self._context):
            raise MXNetError(
                f"work_load_list has {len(work_load_list)} entries for "
                f"{len(self._context)} contexts"
            )
        self._work_load_list = list(work_load_list)
        self._group2ctxs = group2ctxs
        self._symbol = symbol
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)
        input_names = set(data_names + label_names + state_names)
        self._param_names = [x for x in symbol.list_arguments() if x not in input_names]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()
        self._labels_bindable = bool(label_names) and all(
            n in symbol.list_arguments() for n in label_names
        )
        self._arg_params = None
        self._aux_params = None
        self._params_dirty = False
        self._compression_params = compression_params
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = None
        self._updater = None
        self._preload_opt_states = None
        self._grad_req = None
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None
        self._curr_shapes = None
        self._fast_update = None
        self._sync = None  # the GradientSync (gradsync.py) when a kvstore is used

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module from checkpoint ``prefix-symbol.json`` / ``prefix-%04d.params``.

        Parameters
        ----------
        prefix : str
        epoch : int
        load_optimizer_states : bool
            Load ``prefix-%04d.states`` when the optimizer is initialized.
        **kwargs
            Passed to Module (data_names, label_names, context, ...).
        """
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        """Save ``prefix-symbol.json``, ``prefix-%04d.params`` and, optionally, the
        optimizer states as ``prefix-%04d.states`` (all atomically)."""
        _write_atomic("%s-symbol.json" % prefix, self._symbol.tojson())
        param_name = "%s-%04d.params" % (prefix, epoch)
        self.save_params(param_name)
        _LOG.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = "%s-%04d.states" % (prefix, epoch)
            self.save_optimizer_states(state_name)
            _LOG.info('Saved optimizer state to "%s"', state_name)

    def _reset_bind(self):
        self.binded = False
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None
        self._curr_shapes = None
        self._fast_update = None

    # ---- names and shapes ----
    @property
    def data_names(self):
        """Names of the data inputs."""
        return self._data_names

    @property
    def label_names(self):
        """Names of the label inputs."""
        return self._label_names

    @property
    def output_names(self):
        """Names of the outputs."""
        return self._output_names

    @property
    def data_shapes(self):
        """DataDescs of the bound data."""
        self._require("data_shapes", params=False)
        return self._data_shapes

    @property
    def label_shapes(self):
        """DataDescs of the bound labels (None when bound without labels)."""
        self._require("label_shapes", params=False)
        return self._label_shapes

    @property
    def output_shapes(self):
        """(name, shape) of each output for the whole batch."""
        self._require("output_shapes", params=False)
        return self._exec_group.get_output_shapes()

    # ---- binding ----
    def bind(
        self,
        data_shapes,
        label_shapes=None,
        for_training=True,
        inputs_need_grad=False,
        force_rebind=False,
        shared_module=None,
        grad_req="write",
    ):
        """Bind executors for the given data/label shapes.

        Parameters
        ----------
        data_shapes : list of DataDesc or (name, shape)
        label_shapes : list of DataDesc or (name, shape), optional
        for_training : bool
            Allocate gradients (default True).
        inputs_need_grad : bool
            Also compute gradients of the data inputs.
        force_rebind : bool
            Rebind even when bound.
        shared_module : Module, optional
            Share its parameters (and optimizer) - bucketing.
        grad_req : str, list or dict
            'write', 'add' or 'null' (per argument with a dict).
        """
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if not for_training and inputs_need_grad:
            raise MXNetError("bind: inputs_need_grad=True needs for_training=True")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes
        )
        shared_group = self._shared_group(shared_module)
        self._exec_group = DataParallelExecutorGroup(
            self._symbol,
            self._context,
            self._work_load_list,
            self._data_shapes,
            self._label_shapes,
            self._param_names,
            for_training,
            inputs_need_grad,
            shared_group,
            logger=self.logger,
            fixed_param_names=self._fixed_param_names,
            grad_req=grad_req,
            group2ctxs=self._group2ctxs,
            state_names=self._state_names,
        )
        self._curr_shapes = tuple(tuple(d.shape) for d in self._data_shapes)
        self._fast_update = None
        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            self._exec_group.set_params(self._arg_params, self._aux_params)
        else:
            # get_params' arrays live on the CPU, whatever the current context
            attrs = self._symbol.attr_dict()  # row_sparse variables: row_sparse params
            self._arg_params = {
                name: nd.zeros(b[0].shape, ctx=cpu(), dtype=b[0].dtype, stype=_stype(attrs, name))
                for name, b in zip(self._param_names, self._exec_group.param_arrays)
            }
            self._aux_params = {
                name: nd.zeros(b[0].shape, ctx=cpu(), dtype=b[0].dtype)
                for name, b in zip(self._aux_names, self._exec_group.aux_arrays)
            }
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def _shared_group(self, shared_module):
        if shared_module is None:
            return None
        if not (
            isinstance(shared_module, Module)
            and shared_module.binded
            and shared_module.params_initialized
        ):
            raise MXNetError(
                "bind: shared_module must be a bound Module with initialized parameters"
            )
        group = shared_module._exec_group
        if len(group.execs) < len(self._context):
            raise MXNetError(
                f"bind: shared_module has {len(group.execs)} executors for "
                f"{len(self._context)} contexts"
            )
        return group

    def reshape(self, data_shapes, label_shapes=None):
        """Re-bind for new input shapes (e.g. another batch size), sharing parameters."""
        self._require("reshape", params=False)
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes
        )
        self._exec_group.reshape(self._data_shapes, self._label_shapes)
        self._curr_shapes = tuple(tuple(d.shape) for d in self._data_shapes)

    # ---- computation ----
    def forward(self, data_batch, is_train=None):
        """Forward; a batch of a new shape re-binds (sharing parameters) first."""
        if not (self.binded and self.params_initialized):
            self._require("forward")
        if isinstance(data_batch, list):
            new_shapes = _list_batch_shapes(data_batch)
            unbound_labels = False
        else:
            new_shapes = tuple(tuple(d.shape) for d in data_batch.data)
            # bound without labels (reshape/predict) but now given some: bind them too,
            # rather than train on whatever the label arrays held (MXNet's behaviour)
            unbound_labels = (
                self._labels_bindable
                and getattr(data_batch, "label", None)
                and self._exec_group.label_arrays is None
            )
        if new_shapes != self._curr_shapes or unbound_labels:
            self._reshape_for(data_batch, new_shapes)
        self._exec_group.forward(data_batch, is_train)

    def _reshape_for(self, data_batch, new_shapes):
        """Reshape to the batch's shapes (from provide_data/label when it has them)."""
        if len(new_shapes) != len(self._data_shapes):
            raise MXNetError(
                f"forward: the batch has {len(new_shapes)} data arrays but the "
                f"module's data names are {self._data_names}"
            )
        provided = getattr(data_batch, "provide_data", None)
        if provided and [d[0] for d in provided] == list(self._data_names):
            new_dshape = provided
        else:  # no names, or an iterator's own (NDArrayIter's _0_data): the module's
            new_dshape = [
                DataDesc(i.name, shape, i.dtype, i.layout)
                for i, shape in zip(self._data_shapes, new_shapes)
            ]
        provided = getattr(data_batch, "provide_label", None)
        if provided and [d[0] for d in provided] == list(self._label_names):
            new_lshape = provided
        elif getattr(data_batch, "label", None) and self._label_shapes:
            new_lshape = [
                DataDesc(i.name, j.shape, i.dtype, i.layout)
                for i, j in zip(self._label_shapes, data_batch.label)
            ]
        elif getattr(data_batch, "label", None) and self._labels_bindable:
            new_lshape = [DataDesc(n, j.shape) for n, j in zip(self._label_names, data_batch.label)]
        else:
            new_lshape = self._labels_for(new_dshape)
        self.reshape(new_dshape, new_lshape)

    def _labels_for(self, data_descs):
        """The bound label shapes with the new batch size, for a batch without labels.

        MXNet re-binds without labels here, after which a labelled batch of that shape
        trains on stale labels; keeping the labels (resized) avoids that.
        """
        if not self._label_shapes:
            return None
        first = data_descs[0] if isinstance(data_descs[0], DataDesc) else DataDesc(*data_descs[0])
        axis = DataDesc.get_batch_axis(first.layout)
        if axis < 0:
            return self._label_shapes
        batch = first.shape[axis]
        out = []
        for desc in self._label_shapes:
            shape = list(desc.shape)
            laxis = DataDesc.get_batch_axis(desc.layout)
            if laxis >= 0:
                shape[laxis] = batch
            out.append(DataDesc(desc.name, tuple(shape), desc.dtype, desc.layout))
        return out

    def backward(self, out_grads=None):
        """Backward from the last forward (out_grads for outputs that are not losses)."""
        if not (self.binded and self.params_initialized):
            self._require("backward")
        self._exec_group.backward(out_grads=out_grads, grad_ready=self._grad_ready_hook())

    def get_outputs(self, merge_multi_context=True):
        """Outputs of the last forward."""
        if not (self.binded and self.params_initialized):
            self._require("get_outputs")
        return self._exec_group.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """Gradients of the data inputs (bind with inputs_need_grad=True)."""
        self._require("get_input_grads")
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads: bind with inputs_need_grad=True first")
        return self._exec_group.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context=True):
        """State arrays (per state name, per context)."""
        self._require("get_states")
        return self._exec_group.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        """Set the states from arrays, or all to a scalar value."""
        self._require("set_states")
        self._exec_group.set_states(states, value)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate `eval_metric` on the last outputs and `labels`."""
        self._exec_group.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Install a Monitor on the executors."""
        self._require("install_monitor", params=False)
        self._exec_group.install_monitor(mon)

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Nothing to prepare for dense parameters (sparse_row_id_fn warns, as MXNet)."""
        if sparse_row_id_fn is not None:
            warnings.warn(
                UserWarning(
                    "Parameters are not updated in the KVStore. No need to call sparse_row_id_fn."
                )
            )

    # ---- parameters: init/get/set with MXNet's rules, kept in sync with the devices ----
    def get_params(self):
        """(arg_params, aux_params) on the CPU, synced from the devices when stale."""
        self._require("get_params", binded=False)
        if self._params_dirty:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(
        self,
        initializer=Uniform(0.01),
        arg_params=None,
        aux_params=None,
        allow_missing=False,
        force_init=False,
        allow_extra=False,
    ):
        """Initialize parameters: from arg_params/aux_params where given, else with
        `initializer` (names in sorted order, as MXNet).

        Parameters
        ----------
        initializer : Initializer or None
        arg_params, aux_params : dict of str to NDArray, optional
        allow_missing : bool
            Names missing from the dicts are initialized (or kept, with no
            initializer) instead of raising.
        force_init : bool
            Re-initialize already initialized parameters.
        allow_extra : bool
            Accepted as in MXNet; names the module does not have are ignored on this path.
        """
        if self.params_initialized and not force_init:
            warnings.warn(
                "Parameters already initialized and force_init=False. init_params call ignored.",
                stacklevel=2,
            )
            return
        if not self.binded:
            raise MXNetError("call bind before initializing the parameters")
        attrs = self._symbol.attr_dict()
        for params, given in ((self._arg_params, arg_params), (self._aux_params, aux_params)):
            for name, arr in sorted(params.items()):
                desc = InitDesc(name, attrs.get(name, None))
                self._init_one(desc, arr, given, initializer, allow_missing)
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params, allow_extra=allow_extra)

    @staticmethod
    def _init_one(name, arr, given, initializer, allow_missing):
        """Take the value from `given` when it has it, else run the initializer."""
        if given is not None:
            if name in given:
                value = given[name]
                if value is not arr:
                    if tuple(value.shape) != tuple(arr.shape):
                        raise MXNetError(
                            f"parameter {str(name)!r}: the given value has shape "
                            f"{tuple(value.shape)} but the module expects "
                            f"{tuple(arr.shape)}"
                        )
                    load_into(arr, value, f"parameter {str(name)!r}")
                return
            if not allow_missing:
                raise MXNetError(
                    f"{name} is not presented (parameter {str(name)!r} is "
                    "missing; pass allow_missing=True to initialize it)"
                )
            if initializer is not None:
                initializer(name, arr)
        else:
            if initializer is None:
                raise MXNetError(f"init_params: no value and no initializer for {str(name)!r}")
            initializer(name, arr)

    def set_params(
        self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False
    ):
        """Assign parameter and aux state values (see BaseModule.set_params).

        With allow_missing=False every parameter must be given (extra names are ignored,
        as in MXNet); with allow_missing=True the values are copied to the devices as
        they are, and names the module lacks raise unless allow_extra=True.
        """
        if self._set_params_done(arg_params, aux_params, allow_missing, force_init, allow_extra):
            return
        if not self.binded:
            raise MXNetError("call bind before setting the parameters")
        self._exec_group.set_params(arg_params, aux_params, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def _sync_params_from_devices(self):
        """Copy the devices' parameters into the CPU dicts get_params returns."""
        self._exec_group.get_params(self._arg_params, self._aux_params)
        self._params_dirty = False

    # ---- the optimizer, the kvstore (through GradientSync) and the update ----
    def init_optimizer(
        self,
        kvstore="local",
        optimizer="sgd",
        optimizer_params=(("learning_rate", 0.01),),
        force_init=False,
    ):
        """Install an optimizer (and a kvstore when there are several contexts or a
        distributed job).

        Parameters
        ----------
        kvstore : str or KVStore
        optimizer : str or Optimizer
        optimizer_params : dict or pairs
            ``rescale_grad`` defaults to 1/batch_size (times the workers for dist_sync).
        force_init : bool
        """
        self._require("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        if self._params_dirty:
            self._sync_params_from_devices()
        group = self._exec_group
        kv, update_on_kvstore = create_kvstore(
            kvstore, len(self._context), (p.size for p in self._arg_params.values())
        )
        optimizer = self._make_optimizer(optimizer, optimizer_params, kv, update_on_kvstore)
        sync = kv and GradientSync(
            kv,
            update_on_kvstore,
            group.param_names,
            optimizer,
            len(self._context),
            _write_indices(group),
            self._compression_params,
        )
        self._optimizer = optimizer
        self._sync = sync
        self._kvstore = kv
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        self._fast_update = None
        if sync:
            for idx, name in enumerate(group.param_names):
                sync.init_param(idx, self._arg_params[name], group.param_arrays[idx])
            self._params_dirty = True  # the devices may now hold rank 0's values
        if not update_on_kvstore:
            self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def _make_optimizer(self, optimizer, optimizer_params, kvstore, update_on_kvstore):
        """Create (or check) the optimizer with MXNet's rescale_grad and index names."""
        batch_size = self._exec_group.batch_size
        if (
            kvstore
            and kvstore.num_workers > 1
            and getattr(kvstore, "_kind", kvstore.type) in ("dist_sync", "dist_device_sync", "mpi")
        ):
            batch_size *= kvstore.num_workers
        rescale_grad = 1.0 / batch_size
        names = self._exec_group.param_names
        ndev = len(self._context)
        if update_on_kvstore:
            idx2name = dict(enumerate(names))
        else:
            idx2name = {i * ndev + k: n for k in range(ndev) for i, n in enumerate(names)}
        if isinstance(optimizer, str):
            optimizer_params = dict(optimizer_params)
            optimizer_params.setdefault("rescale_grad", rescale_grad)
            return opt.create(
                optimizer, sym=self.symbol, param_idx2name=idx2name, **optimizer_params
            )
        if not isinstance(optimizer, opt.Optimizer):
            raise MXNetError(
                f"optimizer must be a str or an Optimizer, got {type(optimizer).__name__}"
            )
        if optimizer.rescale_grad != rescale_grad:
            warnings.warn(
                "Optimizer created manually outside Module but rescale_grad is not "
                "normalized to 1.0/batch_size/num_workers (%s vs. %s). Is this "
                "intended?" % (optimizer.rescale_grad, rescale_grad),
                stacklevel=3,
            )
        if not optimizer.idx2name:
            optimizer.idx2name = idx2name.copy()
        return optimizer

    def borrow_optimizer(self, shared_module):
        """Use `shared_module`'s optimizer, kvstore and updater (bucketing)."""
        if not shared_module.optimizer_initialized:
            raise MXNetError("borrow_optimizer: the shared module has no optimizer")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        group = self._exec_group
        self._sync = shared_module._sync and shared_module._sync.for_keys(
            group.param_names, _write_indices(group)
        )
        self._updater = shared_module._updater
        self._fast_update = None
        self.optimizer_initialized = True

    def save_optimizer_states(self, fname):
        """Save the optimizer states to `fname` (distnet's safe format, atomically)."""
        self._require("save_optimizer_states", optimizer=True)
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname)
        else:
            _write_atomic(fname, self._updater.get_states())

    def load_optimizer_states(self, fname):
        """Load optimizer states written by save_optimizer_states.

        MXNet's own ``.states`` files are pickles, which can run code when read; they
        are refused with an MXNetError.
        """
        self._require("load_optimizer_states", optimizer=True)
        data = read_states_file(fname, "load_optimizer_states")
        if data[:1] == bytes([_PICKLE_MAGIC]):
            raise MXNetError(
                f"{fname} is a Python pickle (MXNet's .states format); distnet "
                "does not unpickle files, as that can run arbitrary code. "
                "Re-create the optimizer states with distnet (or start the "
                "optimizer fresh)."
            )
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
        else:
            self._updater.set_states(data)

    # ---- sending gradients while backward runs ----
    def _grad_ready_hook(self):
        """The callback backward calls as each parameter's gradient becomes final, or
        None when the GradientSync sends nothing early (see GradientSync.overlap)."""
        if not self.optimizer_initialized or not self._sync or not self._sync.hookable:
            return None
        return self._grad_final

    def _grad_final(self, index):
        """Parameter ``index``'s gradients are final on every context: the GradientSync
        sends them now instead of in update() (which then skips them)."""
        group = self._exec_group
        self._sync.grad_final(index, group.grad_arrays[index], group.param_arrays[index])

    def update(self):
        """Update the parameters with the optimizer (through the kvstore if any)."""
        if not (self.binded and self.params_initialized and self.optimizer_initialized):
            self._require("update", optimizer=True)
        self._params_dirty = True
        group = self._exec_group
        sync = self._sync
        if sync:
            sync.sync(
                zip(range(len(group.param_names)), group.grad_arrays, group.param_arrays),
                skip=sync.take_sent(),
            )
            if self._update_on_kvstore:
                return
        elif len(self._context) == 1:
            fast = self._fast_update
            if fast is None or fast[0] != group.generation:
                fast = self._fast_update = _fast_update_lists(group)
            self._updater(fast[1], fast[2], fast[3])
            return
        _update_on_devices(group, self._updater, len(self._context))


def _context_list(context):
    """A Context or a list of them -> list of Context."""
    contexts = [context] if isinstance(context, Context) else list(context)
    if not contexts or not all(isinstance(c, Context) for c in contexts):
        raise MXNetError(
            f"context must be a Context or a non-empty list of Contexts, got {context!r}"
        )
    return contexts


def _list_batch_shapes(data_batch):
    """Total data shapes of a list of pre-sliced batches (one per context)."""
    if not data_batch:
        raise MXNetError("Encountered empty data batch")
    shapes = []
    for i in range(len(data_batch[0].data)):
        shape = tuple(data_batch[0].data[i].shape)
        for db in data_batch:
            if tuple(db.data[i].shape) != shape:
                raise MXNetError("All data batches in a list need to have the same shape")
        shapes.append((len(data_batch) * shape[0],) + shape[1:])
    return tuple(shapes)


def _update_on_devices(group, updater, num_device):
    """Run the updater on every device's copy of each trainable parameter (MXNet's
    ``model._update_params`` after the kvstore has summed the gradients)."""
    updates = [[] for _ in range(num_device)]
    for index, (arg_list, grad_list) in enumerate(zip(group.param_arrays, group.grad_arrays)):
        if grad_list[0] is None:
            continue
        for k, (w, g) in enumerate(zip(arg_list, grad_list)):
            updates[k].append((index * num_device + k, g, w))
    for dev_updates in updates:
        if dev_updates:
            idx, grads, weights = zip(*dev_updates)
            updater(list(idx), list(grads), list(weights))


def _write_indices(group):
    """Indices of the parameters whose gradient backward overwrites (may be sent early)."""
    return [i for i, name in enumerate(group.param_names) if group.grad_req.get(name) == "write"]


def _fast_update_lists(group):
    """(generation, indices, grads, weights) of one context's trainable parameters."""
    idx, grads, weights = [], [], []
    for i, (w, g) in enumerate(zip(group.param_arrays, group.grad_arrays)):
        if g[0] is None:
            continue
        idx.append(i)
        grads.append(g[0])
        weights.append(w[0])
    return group.generation, idx, grads, weights


def _stype(attrs, name):
    """The storage type a variable's ``__storage_type__`` attribute asks for (MXNet's
    ids: 1 row_sparse, 2 csr); 'default' otherwise."""
    sid = attrs.get(name, {}).get("__storage_type__")
    return {"1": "row_sparse", "2": "csr"}.get(sid, "default")
