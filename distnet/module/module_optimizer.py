"""Module's optimizer side: init_optimizer (with MXNet's kvstore rules), update,
borrow_optimizer and the optimizer states files."""
import warnings

from ..base import MXNetError
from ..gradsync import GradientSync, create_kvstore
from ..model import _write_atomic
from .. import optimizer as opt

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
        group = self._exec_group
        kv, update_on_kvstore = create_kvstore(kvstore, len(self._context),
                                               (p.size for p in self._arg_params.values()))
        optimizer = self._make_optimizer(optimizer, optimizer_params, kv, update_on_kvstore)
        sync = kv and GradientSync(kv, update_on_kvstore, group.param_names, optimizer,
                                   len(self._context), _write_indices(group),
                                   self._compression_params)
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
        group = self._exec_group
        self._sync = shared_module._sync and shared_module._sync.for_keys(
            group.param_names, _write_indices(group))
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
        with open(fname, "rb") as f:
            data = f.read()
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
            sync.sync(zip(range(len(group.param_names)), group.grad_arrays,
                          group.param_arrays), skip=sync.take_sent())
            if self._update_on_kvstore:
                return
        elif len(self._context) == 1:
            fast = self._fast_update
            if fast is None or fast[0] != group.generation:
                fast = self._fast_update = _fast_update_lists(group)
            self._updater(fast[1], fast[2], fast[3])
            return
        _update_on_devices(group, self._updater, len(self._context))


def _update_on_devices(group, updater, num_device):
    """Run the updater on every device's copy of each trainable parameter (MXNet's
    ``model._update_params`` after the kvstore has summed the gradients)."""
    updates = [[] for _ in range(num_device)]
    for index, (arg_list, grad_list) in enumerate(zip(group.param_arrays,
                                                      group.grad_arrays)):
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
    return [i for i, name in enumerate(group.param_names)
            if group.grad_req.get(name) == "write"]


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
