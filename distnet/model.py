"""mx.model: checkpoints (``prefix-symbol.json`` + ``prefix-%04d.params``) and the kvstore
helpers Module uses to aggregate gradients and update parameters, as in MXNet 1.x.

A checkpoint's ``.params`` file is MXNet's binary NDArray file with ``arg:<name>`` and
``aux:<name>`` keys, so checkpoints move both ways between MXNet 1.9.1 and distnet.
Every file is written atomically and durably (``kvstore.atomic.write_atomic``: a temp file
beside the target, fsync, rename, fsync of the folder): a crash mid-save leaves the previous
checkpoint intact, and the next save removes the temp files crashed writers left.
"""
import logging
import os
from collections import namedtuple

from kvstore.atomic import write_atomic

from .base import MXNetError

_LOG = logging.getLogger(__name__)  # named: the root logger is the user's to configure

__all__ = ["BatchEndParam", "save_checkpoint", "load_checkpoint", "load_params"]

BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])
BatchEndParam.__doc__ = """What a batch-end (or score-end) callback receives: the epoch, the
batch number, the EvalMetric being accumulated and the caller's locals()."""

# MXNet keeps big 'local' stores off the kvstore updater (it would copy them to the CPU).
_LOCAL_UPDATE_MAX_SIZE = 1024 * 1024 * 16


_write_atomic = write_atomic  # the name Module and BucketingModule import


def _params_dict(arg_params, aux_params):
    """{'arg:name': cpu NDArray, 'aux:name': ...} as a checkpoint stores them."""
    from .context import cpu
    save = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    save.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in (aux_params or {}).items()})
    return save


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Save ``prefix-symbol.json`` (when symbol is given) and ``prefix-%04d.params``.

    Parameters
    ----------
    prefix : str
        Path prefix of the checkpoint files.
    epoch : int
        Epoch number, written as ``%04d`` in the params file name.
    symbol : Symbol or None
        The network; None saves only the parameters.
    arg_params, aux_params : dict of str to NDArray
        Parameters and auxiliary states, stored as ``arg:<name>`` / ``aux:<name>``.
    remove_amp_cast : bool
        Accepted for MXNet compatibility (distnet graphs carry no AMP casts).
    """
    from . import ndarray as nd
    if symbol is not None:
        _write_atomic(f"{prefix}-symbol.json", symbol.tojson())
    param_name = "%s-%04d.params" % (prefix, epoch)
    nd.save(param_name, _params_dict(arg_params, aux_params))
    _LOG.info('Saved checkpoint to "%s"', param_name)


def split_params(save_dict, source):
    """Split a loaded ``{'arg:x': .., 'aux:y': ..}`` dict into (arg_params, aux_params)."""
    arg_params, aux_params = {}, {}
    if isinstance(save_dict, list):
        if save_dict:
            raise MXNetError(f"{source} holds a list of {len(save_dict)} unnamed arrays; a "
                             "checkpoint needs 'arg:<name>'/'aux:<name>' keys")
        return arg_params, aux_params
    for key, value in save_dict.items():
        kind, sep, name = key.partition(":")
        if not sep or kind not in ("arg", "aux"):
            raise MXNetError(f"{source}: key {key!r} is not 'arg:<name>' or 'aux:<name>' "
                             "(a Gluon save_parameters file? load it with "
                             "net.load_parameters)")
        (arg_params if kind == "arg" else aux_params)[name] = value
    return arg_params, aux_params


def load_params(prefix, epoch):
    """Load ``prefix-%04d.params`` into (arg_params, aux_params) dicts of cpu NDArrays."""
    from . import ndarray as nd
    fname = "%s-%04d.params" % (prefix, epoch)
    save_dict = nd.load(fname)
    if not save_dict:
        _LOG.warning("Params file '%s' is empty", fname)
    return split_params(save_dict, fname)


def load_checkpoint(prefix, epoch):
    """Load a checkpoint: returns (symbol, arg_params, aux_params).

    Reads ``prefix-symbol.json`` and ``prefix-%04d.params`` as written by
    ``save_checkpoint`` here or in MXNet 1.x.
    """
    from . import symbol as sym
    symbol = sym.load(f"{prefix}-symbol.json")
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params


# ---- kvstore helpers (MXNet's model._create_kvstore & co., used by Module) ----

def _is_job_store(kv_type):
    """Whether a kvstore type spans processes ('dist_*', or distnet's 'mpi')."""
    return "dist" in kv_type or kv_type == "mpi"


def _create_kvstore(kvstore, num_device, arg_params):
    """(kvstore or None, update_on_kvstore) for a kvstore name/object and device count.

    One device with a non-dist name needs no store; 'local' with a parameter over 16M
    elements updates on the devices; ``MXNET_UPDATE_ON_KVSTORE=0`` turns updates on the
    store off, as in MXNet.
    """
    from . import kvstore as kvs
    update_on_kvstore = bool(int(os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStore):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and not _is_job_store(kvstore):
            kv = None
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local" and arg_params:
                max_size = max(int(p.size) for p in arg_params.values())
                if max_size > _LOCAL_UPDATE_MAX_SIZE:
                    update_on_kvstore = False
    else:
        raise MXNetError(f"kvstore must be a KVStore, a str or None, got "
                         f"{type(kvstore).__name__}")
    if kv is None:
        update_on_kvstore = False
    else:
        update_on_kvstore = update_on_kvstore and kv.is_capable(kv.OPTIMIZER)
    return kv, update_on_kvstore


def _initialize_kvstore(kvstore, param_arrays, arg_params, param_names, update_on_kvstore):
    """Put every parameter in the store; devices then hold rank 0's value.

    MXNet 1.9.1 only pulls rank 0's value back when updating on the store; distnet also
    does it for dist stores that update on the devices, so no worker starts from its own
    random initialisation.
    """
    pull_back = update_on_kvstore or _is_job_store(kvstore.type)
    for idx, param_on_devs in enumerate(param_arrays):
        name = param_names[idx]
        if pull_back:
            kvstore.broadcast(name, arg_params[name], out=param_on_devs, priority=-idx)
        else:
            kvstore.init(name, arg_params[name])


def _pushpull_param(kvstore, index, name, grad_list, arg_list, update_on_kvstore):
    """Send parameter ``index``'s gradients (one per device); the servers' updated weights
    come back into ``arg_list`` (update_on_kvstore) or the summed gradients into
    ``grad_list``. Earlier parameters get higher priority: the next forward needs them
    first."""
    if update_on_kvstore:
        kvstore.pushpull(name, grad_list, out=arg_list, priority=-index)
    else:
        kvstore.pushpull(name, grad_list, priority=-index)


def _update_params_on_kvstore(param_arrays, grad_arrays, kvstore, param_names,
                              pushed=()):
    """Push each parameter's gradients (one per device) and pull the updated weights
    (except the indices in ``pushed``: sent while backward ran)."""
    for index, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None or index in pushed:
            continue
        _pushpull_param(kvstore, index, param_names[index], grad_list, arg_list, True)


def _update_params(param_arrays, grad_arrays, updater, num_device, kvstore=None,
                   param_names=None, pushed=()):
    """Sum gradients through the store (if any; except the indices in ``pushed``, sent
    while backward ran), then update every device's copy."""
    updates = [[] for _ in range(num_device)]
    for index, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None:
            continue
        if kvstore and index not in pushed:
            _pushpull_param(kvstore, index, param_names[index], grad_list, arg_list, False)
        for k, (w, g) in enumerate(zip(arg_list, grad_list)):
            updates[k].append((index * num_device + k, g, w))
    for dev_updates in updates:
        if dev_updates:
            idx, grads, weights = zip(*dev_updates)
            updater(list(idx), list(grads), list(weights))
