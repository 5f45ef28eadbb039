"""mx.model: checkpoints (``prefix-symbol.json`` + ``prefix-%04d.params``), as in MXNet 1.x.
(MXNet's kvstore helpers of this module, ``_create_kvstore`` & co., live in
distnet/gradsync.py, shared by Module and the Gluon Trainer.)

A checkpoint's ``.params`` file is MXNet's binary NDArray file with ``arg:<name>`` and
``aux:<name>`` keys, so checkpoints move both ways between MXNet 1.9.1 and distnet.
Every file is written atomically and durably (``kvstore.atomic.write_atomic``: a temp file
beside the target, fsync, rename, fsync of the folder): a crash mid-save leaves the previous
checkpoint intact, and the next save removes the temp files crashed writers left.
"""

import logging
from collections import namedtuple


from ._sibling import import_sibling
from .base import MXNetError

write_atomic = import_sibling("kvstore.atomic").write_atomic  # checked: no user kvstore.py

_LOG = logging.getLogger(__name__)  # named: the root logger is the user's to configure

__all__ = ["BatchEndParam", "save_checkpoint", "load_checkpoint", "load_params"]

BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])
BatchEndParam.__doc__ = """What a batch-end (or score-end) callback receives: the epoch, the
batch number, the EvalMetric being accumulated and the caller's locals()."""

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
            raise MXNetError(
                f"{source} holds a list of {len(save_dict)} unnamed arrays; a "
                "checkpoint needs 'arg:<name>'/'aux:<name>' keys"
            )
        return arg_params, aux_params
    for key, value in save_dict.items():
        kind, sep, name = key.partition(":")
        if not sep or kind not in ("arg", "aux"):
            raise MXNetError(
                f"{source}: key {key!r} is not 'arg:<name>' or 'aux:<name>' "
                "(a Gluon save_parameters file? load it with "
                "net.load_parameters)"
            )
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
