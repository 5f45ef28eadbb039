"""mx.kv: MXNet's KVStore API on NDArrays, backed by the framework-free `kvstore` package.

NDArrays are handed to the package as their numpy/cupy arrays.  A push or pull in flight
marks the NDArrays it reads or writes with `_pending` (the handle), so reading one of
them (through `NDArray._read()`: asnumpy, nd.save, an operator) waits for it, as MXNet's
engine does; a push marks its source too, because it is sent without a copy.
`mx.nd.waitall()` waits for every transfer in flight (kvstore.ps.client.wait_all).
Errors of the package (kvstore.KVStoreError) are re-raised as MXNetError.
"""

import functools

from ._sibling import import_sibling
from .base import MXNetError
from . import profiler as _prof
from .ndarray import NDArray
from . import _kvstore_sparse as _sparse

_kvs = import_sibling("kvstore")  # a user's kvstore.py must not stand in for it

__all__ = ["KVStore", "KVStoreBase", "create", "register"]

KVStoreBase, register = _kvs.KVStoreBase, _kvs.register  # MXNet's plug-in registry


def _mx_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            if _prof.ON:
                return _prof.kvstore_call(fn, args, kwargs)  # noqa: E701
            return fn(*args, **kwargs)
        except _kvs.KVStoreError as e:
            raise MXNetError(str(e)) from e

    return wrapper


def _raw(x):
    """NDArray (or nested lists of them) -> the backing arrays, after pending work on them."""
    if isinstance(x, (list, tuple)):
        return [_raw(v) for v in x]
    if isinstance(x, NDArray):
        x.wait_to_read()  # NDArray._read()'s wait, and on a GPU the kernels writing x
        return x._data
    raise MXNetError(f"kvstore values must be NDArrays, got {type(x).__name__}")


def _mark(x, handle):
    """Make readers of x wait for `handle` (a kvstore handle with .wait and .done)."""
    if handle is None or getattr(handle, "done", True):
        return
    if isinstance(x, (list, tuple)):
        for v in x:
            _mark(v, handle)
    elif isinstance(x, NDArray):
        x._pending = handle


class _UpdaterAdapter:
    """Runs an NDArray updater (distnet.optimizer.get_updater) on the package's raw arrays."""

    def __init__(self, updater):
        self.updater = updater

    def __call__(self, key, grad, weight):
        self.updater(key, _sparse.kv_value(grad), NDArray(weight))

    def get_states(self, dump_optimizer=False):
        return self.updater.get_states(dump_optimizer=dump_optimizer)

    def set_states(self, states):
        self.updater.set_states(states)


class KVStore:
    """A key-value store for gradient aggregation (MXNet's mx.kv.KVStore)."""

    OPTIMIZER = "optimizer"

    def __init__(self, store, name=None):
        self._store = store
        self._updater = None
        self._name = name.lower() if name else None
        self._key_type = None  # int or str, fixed by the first key used

    def _check_keys(self, key):
        """MXNet allows int keys or str keys in one store, never both: the first key used
        fixes the kind; a key of the other kind raises. Enforced for the in-process stores
        only: in a job, ``metric.allreduce_metric`` sums under a str key next to the
        Trainer's int keys."""
        if getattr(self._store, "type", None) not in ("local", "device"):
            return
        for k in key if isinstance(key, (list, tuple)) else [key]:
            kind = str if isinstance(k, str) else int
            if self._key_type is None:
                self._key_type = kind
            elif kind is not self._key_type:
                raise MXNetError(
                    f"kvstore key {k!r}: mixed key types are not allowed; this store "
                    f"uses {self._key_type.__name__} keys"
                )

    @property
    def type(self):
        """The name the store was created with, lower-cased, as MXNet ('local',
        'local_allreduce_cpu', 'dist_sync', ...); ``_kind`` is the backend it selected."""
        return self._name if self._name is not None else self._store.type

    @property
    def _kind(self):
        """The backend: 'local', 'device', 'dist_sync', 'dist_async', 'dist_device_sync'
        or 'mpi' (``kvstore.base.canonical_name`` of the type)."""
        return self._store.type

    @property
    def rank(self):
        """This worker's rank."""
        return self._store.rank

    @property
    def num_workers(self):
        """Number of workers in the job."""
        return self._store.num_workers

    @_mx_errors
    def init(self, key, value):
        """Initialise key(s) with NDArray value(s); in a job, rank 0's value wins.
        RowSparseNDArray values make row_sparse keys (servers hold them by row ranges)."""
        self._check_keys(key)
        if _sparse.has_sparse(value):
            return _sparse.init(self._store, key, value)
        self._store.init(key, _raw(value))

    @_mx_errors
    def push(self, key, value, priority=0):
        """Push NDArray(s); a list per key (one per device) is summed. RowSparseNDArrays
        send only their rows (MXNet's row_sparse push)."""
        self._check_keys(key)
        if _sparse.has_sparse(value):
            _sparse.push(self._store, key, value, priority)
            return
        h = self._store.push(key, _raw(value), priority)
        _mark(value, h)

    @_mx_errors
    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Pull into NDArray(s); reading them waits for the pull. RowSparseNDArray outs are
        skipped with ``ignore_sparse`` (MXNet's default), else get every row."""
        self._check_keys(key)
        if out is not None and _sparse.has_sparse(out):
            return _sparse.pull_sparse_outs(self, key, out, priority, ignore_sparse)
        h = self._store.pull(key, _raw(out) if out is not None else None, priority)
        _mark(out, h)

    @_mx_errors
    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        """Pull only the rows ``row_ids`` of key(s) into RowSparseNDArray ``out``: out
        holds exactly those rows (sorted, unique) afterwards, as MXNet. Returns when the
        rows are in ``out``."""
        self._check_keys(key)
        if out is None or row_ids is None:
            raise MXNetError("row_sparse_pull needs out= and row_ids=")
        _sparse.row_sparse_pull(self._store, key, out, row_ids)

    @_mx_errors
    def pushpull(self, key, value, out=None, priority=0):
        """push then pull (into value when out is None)."""
        self._check_keys(key)
        if _sparse.has_sparse(value):
            _sparse.pushpull(self, key, value, out)
            return
        h = self._store.pushpull(key, _raw(value), _raw(out) if out is not None else None, priority)
        _mark(value, h)  # it may still be sent from (zero-copy) until the pull is done
        if out is not None:
            _mark(out, h)

    @_mx_errors
    def broadcast(self, key, value, out, priority=0):
        """Initialise with rank 0's value and pull it into out on every worker."""
        self._check_keys(key)
        h = self._store.broadcast(key, _raw(value), _raw(out), priority)
        _mark(out, h)

    @_mx_errors
    def set_optimizer(self, optimizer):
        """Run `optimizer` in the store: on the servers (as name + hyperparameters) in dist
        mode, in this process otherwise."""
        if self._kind.startswith("dist") and self._store.is_capable(self.OPTIMIZER):
            name, params = optimizer.describe()
            self._store.set_optimizer(name, params)
        else:
            from . import optimizer as opt

            self._set_updater(opt.get_updater(optimizer))

    @_mx_errors
    def _set_updater(self, updater):
        """updater(key, grad NDArray, weight NDArray) runs on every push."""
        self._updater = updater
        self._store.set_updater(_UpdaterAdapter(updater))

    set_updater = _set_updater

    @_mx_errors
    def set_gradient_compression(self, compression_params):
        """{'type': '2bit', 'threshold': t} (MXNet's) or {'type': 'fp16'} (distnet's)."""
        self._store.set_gradient_compression(compression_params)

    @_mx_errors
    def is_capable(self, capability):
        """KVStore.OPTIMIZER: whether the store can run the optimizer itself."""
        return self._store.is_capable(capability)

    @_mx_errors
    def barrier(self):
        """Wait for every worker."""
        self._store.barrier()

    _barrier = barrier

    @_mx_errors
    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Save the optimizer states (the servers' too, in dist mode), atomically."""
        self._store.save_optimizer_states(fname, dump_optimizer)

    @_mx_errors
    def load_optimizer_states(self, fname):
        """Load states written by save_optimizer_states."""
        self._store.load_optimizer_states(fname)

    @_mx_errors
    def close(self):
        """Leave the job (dist): later sync rounds no longer wait for this worker."""
        self._store.close()


@_mx_errors
def create(name="local"):
    """Create a KVStore, as MXNet's ``mx.kv.create``.

    A store class registered with ``KVStoreBase.register`` (or ``mx.kv.register``) is
    returned as its own instance, created with no arguments. Otherwise: 'local',
    'device' ('nccl'), 'dist_sync', 'dist_async', 'dist_device_sync' (and every name
    MXNet maps to them: 'dist', 'dist_sync_device', 'dist_async_device', ...) or 'mpi';
    see ``kvstore.base.canonical_name``.
    """
    if not isinstance(name, str):
        raise MXNetError(f"name must be a string, got {type(name).__name__}")
    store = _kvs.create(name)
    if name.lower() in _kvs.base.kv_registry:
        return store  # a user's store speaks NDArrays itself, as in MXNet
    return KVStore(store, name)


@register
class TestStore(KVStoreBase):
    """MXNet's example plug-in store (``mx.kv.create('teststore')``): ``broadcast`` copies,
    ``pushpull`` sums the values of one process; no optimizer. MXNet's own tests and users'
    templates for their stores use it."""

    def __init__(self):
        super().__init__("teststore")

    def broadcast(self, key, value, out, priority=0):
        """Copy ``value`` into ``out`` (an NDArray or a list of them)."""
        for o in out if isinstance(out, (list, tuple)) else [out]:
            o[:] = value

    def pushpull(self, key, value, out=None, priority=0):
        """Sum ``value`` (an NDArray or a list of them) into ``out``, or into ``value``."""
        values = value if isinstance(value, (list, tuple)) else [value]
        total = values[0].copy()
        for v in values[1:]:
            total += v.as_in_context(total.context)
        for o in (out if isinstance(out, (list, tuple)) else [out]) if out is not None else values:
            o[:] = total.as_in_context(o.context)

    @staticmethod
    def is_capable(capability):
        """No capability: it runs no optimizer."""
        return False

    def set_optimizer(self, optimizer):
        """Not supported, as in MXNet's TestStore."""
        raise NotImplementedError("teststore runs no optimizer")

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Not supported, as in MXNet's TestStore."""
        raise NotImplementedError("teststore has no optimizer states")

    def load_optimizer_states(self, fname):
        """Not supported, as in MXNet's TestStore."""
        raise NotImplementedError("teststore has no optimizer states")
