"""The KVStore interface shared by every backend, key/value normalisation, `create` and the
plug-in registry (`register`, MXNet's ``KVStoreBase.register``).

Values are plain numpy or cupy arrays; nothing here knows NDArray (distnet/kvstore.py
adapts those).  Errors are raised as `KVStoreError`; `mx.kv` re-raises them as MXNetError.
"""

import os
import warnings

from .atomic import write_atomic  # noqa: F401  (re-exported for the backends)

KVSTORE_TYPES = (
    "local",
    "device",
    "dist_sync",
    "dist_async",
    "dist_device_sync",
    "dist_sync_device",
    "mpi",
)


class KVStoreError(Exception):
    """A kvstore operation failed; the message names key, peer, operation and cause."""


def _is_seq(x):
    return isinstance(x, (list, tuple))


def check_key(key):
    """Keys are ints or strs (MXNet allows both, never mixed in one call)."""
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise KVStoreError(f"kvstore key must be int or str, got {type(key).__name__}: {key!r}")
    return key


def pairs(key, value, what="value"):
    """Normalise (key, value) into [(key, [array, ...])]; a list per key is one array per device."""
    if _is_seq(key):
        if not _is_seq(value) or len(value) != len(key):
            raise KVStoreError(
                f"{len(key)} keys need {len(key)} {what}s, got "
                f"{len(value) if _is_seq(value) else 1}"
            )
        return [(check_key(k), list(v) if _is_seq(v) else [v]) for k, v in zip(key, value)]
    return [(check_key(key), list(value) if _is_seq(value) else [value])]


def array_module(arr):
    """numpy for host arrays, cupy for device arrays (cupy is imported only when used)."""
    mod = type(arr).__module__
    if mod.startswith("cupy"):
        import cupy

        return cupy
    import numpy

    return numpy


def to_host(arr):
    """A numpy view/copy of `arr` (cupy arrays are copied to the host)."""
    if type(arr).__module__.startswith("cupy"):
        return arr.get()
    return arr


def copy_into(out, src):
    """Write `src` into the existing buffer of `out` (never rebinding it)."""
    if type(out).__module__.startswith("cupy"):
        import cupy

        with out.device:  # cupy copies onto (and runs on) the current device: out's
            out[...] = cupy.asarray(src).reshape(out.shape)
    elif type(src).__module__.startswith("cupy"):
        out[...] = src.get().reshape(out.shape)
    else:
        out[...] = src.reshape(out.shape)


def reduce_sum(arrays):
    """Sum one key's per-device values into a fresh array, in list order (deterministic)."""
    xp = array_module(arrays[0])
    if len(arrays) == 1:
        return arrays[0].copy()
    total = arrays[0].copy()
    for a in arrays[1:]:
        if xp.__name__ == "cupy":
            a = xp.asarray(a)  # cross-device copy onto total's device
        elif type(a).__module__.startswith("cupy"):
            a = a.get()
        total += a
    return total


def check_like(key, stored_shape, stored_dtype, arr, op):
    """Raise KVStoreError naming the key when `arr` does not match the stored shape/dtype."""
    if tuple(arr.shape) != tuple(stored_shape) or arr.dtype != stored_dtype:
        raise KVStoreError(
            f"{op} of key {key!r}: stored shape {tuple(stored_shape)} dtype {stored_dtype}, "
            f"given shape {tuple(arr.shape)} dtype {arr.dtype}"
        )


class KVStore:
    """Interface every backend implements (MXNet's KVStore on plain arrays).

    Keys are ints or strs.  A value is an array, or a list of arrays (one per device,
    summed).  Methods accept one key or a list of keys with a matching list of values.
    """

    OPTIMIZER = "optimizer"

    def __init__(self, name):
        self._type = name
        self._updater = None
        self._compression = None

    @property
    def type(self):
        """The name this store was created with ('local', 'dist_sync', ...)."""
        return self._type

    @property
    def rank(self):
        """This worker's rank (0 outside distributed jobs)."""
        return 0

    @property
    def num_workers(self):
        """Number of workers in the job (1 outside distributed jobs)."""
        return 1

    def init(self, key, value):
        """Initialise key(s) with value(s); in a job, rank 0's value wins."""
        raise NotImplementedError

    def push(self, key, value, priority=0):
        """Push value(s); a list of arrays per key is summed first."""
        raise NotImplementedError

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Pull the stored value(s) into `out` (an array or a list of arrays per key)."""
        raise NotImplementedError

    def pushpull(self, key, value, out=None, priority=0):
        """push then pull; `out` defaults to `value` (written in place)."""
        self.push(key, value, priority)
        self.pull(key, value if out is None else out, priority)

    def broadcast(self, key, value, out, priority=0):
        """init(key, value) then pull into out: everyone gets rank 0's value."""
        self.init(key, value)
        self.pull(key, out, priority)

    def set_updater(self, updater):
        """updater(key, merged_grad, stored_weight) runs on push, updating the weight in place."""
        self._updater = updater

    _set_updater = set_updater

    def set_optimizer(self, name, hyperparams=None):
        """Run optimizer `name` (registered name + msgpack-safe hyperparameters) on push."""
        from .updaters import make_updater

        self.set_updater(make_updater(name, dict(hyperparams or {})))

    def set_gradient_compression(self, compression_params):
        """{'type': '2bit', 'threshold': t} (MXNet's; residuals are kept per key and device)
        or {'type': 'fp16'} (distnet's: pushes travel as float16, are summed in the stored
        dtype); see kvstore/compression.py."""
        from .compression import make_compression

        self._compression = make_compression(compression_params)

    def is_capable(self, capability):
        """Whether this store can run an optimizer ('optimizer') itself."""
        if capability == self.OPTIMIZER:
            return True
        raise KVStoreError(f"unknown kvstore capability {capability!r}")

    def barrier(self):
        """Wait until every worker reaches the barrier (no-op in one process)."""

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Write the updater's states to fname (atomically)."""
        if self._updater is None or not hasattr(self._updater, "get_states"):
            raise KVStoreError("save_optimizer_states: no optimizer is set on this kvstore")
        write_atomic(fname, self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        """Restore the updater's states written by save_optimizer_states."""
        if self._updater is None or not hasattr(self._updater, "set_states"):
            raise KVStoreError("load_optimizer_states: no optimizer is set on this kvstore")
        try:
            with open(fname, "rb") as f:
                data = f.read()
        except OSError as e:
            raise KVStoreError(f"cannot read optimizer states {fname!r}: {e.strerror}") from None
        self._updater.set_states(data)

    def close(self):
        """Release resources; in a job this tells the others this worker is done."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _mpi_launched():
    env = os.environ
    return any(v in env for v in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"))


# ---- the plug-in registry (MXNet's KVStoreBase.register / kv_registry) ----

KVStoreBase = KVStore  # MXNet's name of the interface third-party stores subclass
kv_registry = {}  # lower-cased class name -> registered store class


def register(klass):
    """Register a store class under its lower-cased class name, as MXNet's
    ``KVStoreBase.register``: ``create('mystore')`` then returns ``MyStore()``.

    Usable as a decorator; returns ``klass``. Registering a second class under the same
    name replaces the first, with a warning naming both.
    """
    if not isinstance(klass, type):
        raise KVStoreError(f"register: expected a class, got {type(klass).__name__}")
    name = klass.__name__.lower()
    old = kv_registry.get(name)
    if old is not None and old is not klass:
        warnings.warn(
            f"WARNING: New kvstore {klass.__module__}.{klass.__name__} is "
            f"overriding existing kvstore {old.__module__}.{old.__name__}",
            stacklevel=2,
        )
    kv_registry[name] = klass
    return klass


KVStore.register = staticmethod(register)
KVStore.kv_registry = kv_registry

# Stores MXNet registers only when their library is installed; distnet has no binding.
_UNSUPPORTED = {
    "horovod": "Horovod's MXNet binding",
    "byteps": "BytePS's MXNet binding",
}


def canonical_name(name):
    """The built-in backend a store name selects, by MXNet's rules (KVStore::Create): the
    name is lower-cased; any name containing 'dist' is the distributed store (async if
    it contains '_async', reducing on the devices if it contains 'device'); 'nccl' sums
    on the GPUs; 'mpi' is distnet's allreduce store; any other name is the in-process
    store, reducing on the devices if it contains 'device' ('device',
    'local_allreduce_device'), on the CPU otherwise ('local', 'local_update_cpu')."""
    if not isinstance(name, str):
        raise KVStoreError(f"kvstore name must be a str, got {type(name).__name__}: {name!r}")
    name = name.lower()
    if name in _UNSUPPORTED:
        raise KVStoreError(
            f"kvstore {name!r} needs {_UNSUPPORTED[name]}, which distnet does not provide. "
            "Use 'dist_sync' (parameter servers; under mpiexec it allreduces through MPI) "
            "or 'mpi', or register your own store class with kvstore.register."
        )
    if "dist" in name:
        if "_async" in name:
            return "dist_async"
        return "dist_device_sync" if "device" in name else "dist_sync"
    if name == "mpi":
        return "mpi"
    if "device" in name or "nccl" in name:
        return "device"
    if "local" not in name:
        warnings.warn(
            f"kvstore type {name!r} is not a known name; as in MXNet it is the "
            "in-process store 'local'",
            stacklevel=3,
        )
    return "local"


def create(name="local"):
    """Create a kvstore by name, as MXNet's ``mx.kv.create``.

    A class registered with `register` under ``name`` (lower-cased) is instantiated with
    no arguments. Otherwise the built-in backend is chosen by `canonical_name`: 'local',
    'device' (also 'nccl'), 'dist_sync', 'dist_async', 'dist_device_sync' (also 'dist',
    'dist_sync_device', 'dist_async_device' and every other name containing 'dist'), or
    'mpi'; the store's ``type`` is that canonical name. 'horovod' and 'byteps' raise a
    KVStoreError saying what to use instead (MXNet silently made a local store).

    Under mpirun/mpiexec without DMLC_PS_ROOT_URI, the synchronous dist stores use MPI.
    In a process whose DMLC_ROLE is server or scheduler, creating a dist store serves
    that role and exits the process when the job ends.
    """
    if isinstance(name, str) and name.lower() in kv_registry:
        return kv_registry[name.lower()]()
    name = canonical_name(name)
    if name in ("local", "device"):
        from .local import LocalStore

        return LocalStore(name)
    use_mpi = name == "mpi" or (
        name in ("dist_sync", "dist_device_sync")
        and _mpi_launched()
        and "DMLC_PS_ROOT_URI" not in os.environ
    )
    if use_mpi:
        from .mpi import MPIStore

        return MPIStore(name)
    role = os.environ.get("DMLC_ROLE", "worker")
    if role in ("server", "scheduler"):
        from .ps.roles import serve_role_and_exit

        serve_role_and_exit(role)
    from .ps.client import DistStore

    return DistStore(name)
