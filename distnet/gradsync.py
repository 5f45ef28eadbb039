"""Gradient synchronisation, once, for Module and ``gluon.Trainer``.

`GradientSync` owns what both training APIs need from a kvstore: MXNet's rule for which
store to create (``model._create_kvstore``, plus distnet's ``'mpi'``), rank-0
initialisation, the update-on-kvstore choice, the overlap policy (sending a gradient while
backward still runs), the "gradient is final" hook target and the set of parameters
already sent, which ``step()``/``update()`` skip. Trainer and Module keep only their
optimizer loops; the walk of a gradient through this file is in docs/architecture.md.
"""

import copy

from . import config

__all__ = ["GradientSync", "create_kvstore", "is_job_store", "kvstore_arg"]

# MXNet keeps big 'local' stores off the kvstore updater (it would copy them to the CPU).
LOCAL_UPDATE_MAX_SIZE = 1024 * 1024 * 16


def is_job_store(kv_type):
    """Whether a kvstore type spans processes: MXNet's rule (the name contains 'dist')
    plus distnet's ``'mpi'``."""
    return "dist" in kv_type or kv_type == "mpi"


def kvstore_arg(kv):
    """What to pass Trainer/Module for an already created store ``kv``: the store itself in
    a job; its name otherwise, so that MXNet's "no kvstore for one device" rule applies."""
    return kv if is_job_store(kv.type) else kv.type


def create_kvstore(kvstore, num_device, sizes, update_on_kvstore=None):
    """``(kvstore or None, update_on_kvstore)`` by MXNet's ``model._create_kvstore`` and
    Trainer's rules.

    One device with a non-job store name needs no store; 'local' with a parameter over
    16M elements updates on the devices; ``MXNET_UPDATE_ON_KVSTORE=0`` turns updates on
    the store off; a dist_async store always updates on the store. ``sizes`` is an
    iterable of the parameters' element counts (read only for 'local'). Unlike MXNet,
    ``'mpi'`` counts as a job store, so one device per rank under ``mpiexec`` still syncs.
    ``update_on_kvstore`` is the user's explicit choice (Trainer's argument): None keeps
    the rule's.
    """
    kv, chosen = _mxnet_rule(kvstore, num_device, sizes)
    return kv, _choose_update_on_kvstore(kv, chosen, update_on_kvstore)


def _mxnet_rule(kvstore, num_device, sizes):
    """MXNet's ``model._create_kvstore`` (plus 'mpi' as a job store)."""
    from . import kvstore as kvs

    update_on_kvstore = config.get("MXNET_UPDATE_ON_KVSTORE")
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, (kvs.KVStore, kvs.KVStoreBase)):  # a registered store too
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and not is_job_store(kvstore):
            kv = None
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local" and max(sizes, default=0) > LOCAL_UPDATE_MAX_SIZE:
                update_on_kvstore = False
    else:
        from .gluon._common import GluonTypeError  # MXNet raised TypeError here

        raise GluonTypeError(
            f"kvstore must be a KVStore, a str or None, got {type(kvstore).__name__}"
        )
    if kv is None:
        return None, False
    return kv, update_on_kvstore and kv.is_capable(kv.OPTIMIZER)


def _choose_update_on_kvstore(kv, chosen, requested):
    """Apply the async rule and a user's explicit ``update_on_kvstore`` to MXNet's choice."""
    from .gluon._common import GluonValueError

    if kv is not None and "dist" in kv.type and "async" in kv.type:
        if requested is False:
            raise GluonValueError("Please set update_on_kvstore=True when training in async mode.")
        chosen = True
    if requested is not None:
        chosen = requested
    if chosen and (kv is None or not kv.is_capable(kv.OPTIMIZER)):
        if requested:
            # MXNet crashed with an AttributeError here when there was no kvstore.
            raise GluonValueError(
                f"Please set update_on_kvstore=False when training with {type(kv)}"
                + (
                    ""
                    if kv
                    else " (no kvstore is used for a single context and a non-distributed kvstore)"
                )
            )
        chosen = False
    return chosen


class GradientSync:
    """Sums each parameter's gradients over contexts and workers through one kvstore.

    Parameter ``index`` is stored under ``keys[index]`` and sent with priority
    ``-index`` (the next forward needs the first layers first). ``grad_final`` is the
    target of the gradient hooks (see ``distnet.autograd.register_grad_hook``): with
    ``overlap`` on it sends a gradient as soon as every context's copy is final, and
    ``take_sent`` hands the step the set of indices it must skip.

    Parameters
    ----------
    kvstore : KVStore
        The store, from `create_kvstore` (which also decides ``update_on_kvstore``).
    update_on_kvstore : bool
        Whether the store runs ``optimizer`` (installed here) on the pushed gradients.
    keys : list
        The store key of each parameter index (Trainer: the index; Module: the name).
    optimizer : Optimizer
    num_contexts : int
        Devices each parameter lives on.
    hookable : iterable of int
        Indices whose gradient backward overwrites ('write'): those may be sent early.
    compression_params : dict, optional
        Gradient compression for the store.
    overlap_default : bool
        Whether to send early when ``DISTNET_GRAD_OVERLAP`` is unset. Module: True. The
        Gluon Trainer: False, because a loop may change gradients between ``backward()`` and
        ``step()`` (``clip_global_norm``) and an early send would bypass that, as MXNet's
        Trainer, which sends in ``step()``, never does.
    """

    def __init__(
        self,
        kvstore,
        update_on_kvstore,
        keys,
        optimizer,
        num_contexts,
        hookable=(),
        compression_params=None,
        overlap_default=True,
    ):
        if compression_params:
            kvstore.set_gradient_compression(compression_params)
        if update_on_kvstore:
            kvstore.set_optimizer(optimizer)
        self.kvstore = kvstore
        self.update_on_kvstore = bool(update_on_kvstore)
        self.keys = list(keys)
        self.num_contexts = num_contexts
        self.distributed = is_job_store(kvstore.type)
        # Updating on a local store applies the optimizer at push time, before the step
        # has set rescale_grad: no early push there. Only 'write' gradients are final
        # after one backward ('add' accumulates over several).
        wanted = config.get("DISTNET_GRAD_OVERLAP")
        self.overlap = (overlap_default if wanted is None else wanted) and (
            self.distributed or not self.update_on_kvstore
        )
        self.hookable = set(hookable) if self.overlap else set()
        self._sent = set()
        self._final_ctx = {}

    def for_keys(self, keys, hookable=()):
        """A GradientSync on the same store (optimizer already installed) for another
        parameter list: a bucket of BucketingModule borrowing the optimizer."""
        other = copy.copy(self)
        other.keys = list(keys)
        other.hookable = set(hookable) if self.overlap else set()
        other._sent = set()
        other._final_ctx = {}
        return other

    def init_param(self, index, value, outs):
        """Put parameter ``index`` in the store and pull it back into ``outs``: in a job
        every worker starts from rank 0's value. Only ``broadcast`` is used (with
        ``pushpull``, the whole interface of MXNet's KVStoreBase), so registered stores
        work too. (MXNet 1.9.1's Module pulled the value back only when updating on the
        store, so workers could start from different random weights.)"""
        self.kvstore.broadcast(self.keys[index], value, out=outs, priority=-index)

    def send(self, index, grads, weights):
        """Sum parameter ``index``'s gradients (one per context) over contexts and
        workers: the updated weights come back into ``weights`` (update on kvstore) or the
        summed gradient into ``grads``."""
        if self.update_on_kvstore:
            self.kvstore.pushpull(self.keys[index], grads, out=weights, priority=-index)
        else:
            self.kvstore.pushpull(self.keys[index], grads, priority=-index)

    def grad_final(self, index, grads, weights, context=None):
        """Hook target: context ``context``'s gradient of parameter ``index`` is final
        (None: every context's). Once all are, send it now; the step then skips it."""
        if index not in self.hookable:
            return
        if index in self._sent:
            if self.update_on_kvstore:
                return  # already applied: another push would be another store round
            self._sent.discard(index)  # backward ran again since: send the new gradient
        if context is not None and self.num_contexts > 1:
            done = self._final_ctx.setdefault(index, set())
            done.add(context)
            if len(done) < self.num_contexts:
                return
            done.clear()
        self.send(index, grads, weights)
        self._sent.add(index)

    def take_sent(self):
        """The indices sent while backward ran since the last call (the step skips them)."""
        sent, self._sent = self._sent, set()
        self._final_ctx.clear()
        return sent

    def sync(self, arrays, skip=()):
        """Send every parameter not in ``skip``: ``arrays`` yields ``(index, grads,
        weights)``; an index whose ``grads`` is None (or starts with None) has none."""
        for index, grads, weights in arrays:
            if index in skip or grads is None or grads[0] is None:
                continue
            self.send(index, grads, weights)
