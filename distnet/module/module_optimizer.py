"""Module's optimizer side: init_optimizer (with MXNet's kvstore rules), update,
borrow_optimizer and the optimizer states files."""
import os
import warnings

from ..base import MXNetError
from ..model import (_create_kvstore, _initialize_kvstore, _pushpull_param, _update_params,
                     _update_params_on_kvstore, _write_atomic)
from .. import optimizer as opt
from ..optimizer.updater import read_states_file

__all__ = ["OptimizerMixin"]

_PICKLE_MAGIC = 0x80  # first byte of a pickle (protocol >= 2)


class OptimizerMixin:
    """init_optimizer, update and optimizer states of Module (uses its _exec_group,
    _context, _arg_params and _symbol)."""

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
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
        kvstore, update_on_kvstore = _create_kvstore(kvstore, len(self._context),
                                                     self._arg_params)
        optimizer = self._make_optimizer(optimizer, optimizer_params, kvstore,
                                         update_on_kvstore)
        self._optimizer = optimizer
        self._kvstore = kvstore
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        self._fast_update = None
        self._pushed = set()
        if kvstore:
            if self._compression_params:
                kvstore.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kvstore.set_optimizer(self._optimizer)
            _initialize_kvstore(kvstore=kvstore, param_arrays=self._exec_group.param_arrays,
                                arg_params=self._arg_params, param_names=self._param_names,
                                update_on_kvstore=update_on_kvstore)
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
        if kvstore and kvstore.num_workers > 1 and (
                ("dist" in kvstore.type and "_sync" in kvstore.type)
                or kvstore.type == "mpi"):
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
            return opt.create(optimizer, sym=self.symbol, param_idx2name=idx2name,
                              **optimizer_params)
        if not isinstance(optimizer, opt.Optimizer):
            raise MXNetError(f"optimizer must be a str or an Optimizer, got "
                             f"{type(optimizer).__name__}")
        if optimizer.rescale_grad != rescale_grad:
            warnings.warn("Optimizer created manually outside Module but rescale_grad is not "
                          "normalized to 1.0/batch_size/num_workers (%s vs. %s). Is this "
                          "intended?" % (optimizer.rescale_grad, rescale_grad), stacklevel=3)
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
        self._updater = shared_module._updater
        self._fast_update = None
        self._pushed = set()
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
            raise MXNetError(f"{fname} is a Python pickle (MXNet's .states format); distnet "
                             "does not unpickle files, as that can run arbitrary code. "
                             "Re-create the optimizer states with distnet (or start the "
                             "optimizer fresh).")
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
        else:
            self._updater.set_states(data)

    # ---- sending gradients while backward runs ----
    def _grad_ready_hook(self):
        """The callback backward calls as each parameter's gradient becomes final, or
        None. Only the parameter server's client sends in the background (local and MPI
        stores reduce in the calling thread, so there is nothing to overlap), and only
        gradients that backward overwrites ('write') are final after one backward."""
        if not self.optimizer_initialized:
            return None
        kv = self._kvstore
        if not kv or "dist" not in kv.type or os.getenv("DISTNET_GRAD_OVERLAP", "1") == "0":
            return None
        reqs = self._exec_group.grad_req
        if any(reqs.get(name) == "add" for name in self._exec_group.param_names):
            return None
        return self._grad_final

    def _grad_final(self, index):
        """Parameter ``index``'s gradients are final on every context: send them now
        instead of in update() (which then skips them)."""
        if index in self._pushed:
            if self._update_on_kvstore:
                return  # already applied this round: another push would be another round
            # backward ran again before update(): the summed gradient was overwritten
        group = self._exec_group
        _pushpull_param(self._kvstore, index, group.param_names[index],
                        group.grad_arrays[index], group.param_arrays[index],
                        self._update_on_kvstore)
        self._pushed.add(index)

    def update(self):
        """Update the parameters with the optimizer (through the kvstore if any)."""
        if not (self.binded and self.params_initialized and self.optimizer_initialized):
            self._require("update", optimizer=True)
        self._params_dirty = True
        group = self._exec_group
        pushed, self._pushed = self._pushed, set()
        if self._update_on_kvstore:
            _update_params_on_kvstore(group.param_arrays, group.grad_arrays, self._kvstore,
                                      group.param_names, pushed)
        elif self._kvstore is None and len(self._context) == 1:
            fast = self._fast_update
            if fast is None or fast[0] != group.generation:
                fast = self._fast_update = _fast_update_lists(group)
            self._updater(fast[1], fast[2], fast[3])
        else:
            _update_params(group.param_arrays, group.grad_arrays, updater=self._updater,
                           num_device=len(self._context), kvstore=self._kvstore,
                           param_names=group.param_names, pushed=pushed)


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
