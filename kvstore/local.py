"""'local' and 'device' stores: aggregate per-device values within one process.

'local' reduces on the CPU (the stored value is a numpy array); 'device' reduces on the
device of the first value (cupy when the values live on GPUs, numpy otherwise): with one
value per GPU and CuPy's NCCL present, one NCCL reduce (kvstore/nccl.py), otherwise peer
copies and additions on the first value's GPU.
"""

from .base import KVStore, KVStoreError, check_like, copy_into, pairs, reduce_sum, to_host
from .nccl import NcclSum
from .updaters import summed_only


class LocalStore(KVStore):
    """An in-process key-value store; push sums, the updater (if any) applies the sum."""

    def __init__(self, name="local"):
        super().__init__(name)
        self._store = {}
        self._nccl = NcclSum() if name == "device" else None

    def _stored(self, key, op):
        try:
            return self._store[key]
        except KeyError:
            raise KVStoreError(f"{op} of key {key!r}: the key was not initialised") from None

    def init(self, key, value):
        """Store a copy of each value (the first of a per-device list)."""
        for k, vals in pairs(key, value):
            if k in self._store:
                raise KVStoreError(f"init of key {k!r}: the key is already initialised")
            v = vals[0]
            self._store[k] = to_host(v).copy() if self._type == "local" else v.copy()

    def _merge(self, key, vals):
        """Sum a key's per-device values, through the 2-bit quantiser when it is on."""
        if self._compression is not None:
            vals = [self._compression.roundtrip((key, i), v) for i, v in enumerate(vals)]
        if self._type == "local":
            vals = [to_host(v) for v in vals]
        elif self._nccl is not None and self._nccl.usable(vals):
            return self._nccl.sum(vals)
        return reduce_sum(vals) if len(vals) > 1 or self._updater else vals[0]

    def push(self, key, value, priority=0):
        """Sum the values; store the sum, or hand it to the updater."""
        for k, vals in pairs(key, value):
            stored = self._stored(k, "push")
            for v in vals:
                check_like(k, stored.shape, stored.dtype, v, "push")
            merged = self._merge(k, vals)
            if self._updater is not None and not summed_only(k):
                self._updater(k, merged, stored)
            else:
                copy_into(stored, merged)

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copy the stored value into every output buffer."""
        if out is None:
            raise KVStoreError("pull needs out= arrays to write into")
        for k, outs in pairs(key, out, "output"):
            stored = self._stored(k, "pull")
            for o in outs:
                check_like(k, stored.shape, stored.dtype, o, "pull")
                copy_into(o, stored)

    def init_rows(self, key, value):
        """init of row_sparse keys from RowSparse values (stored dense here)."""
        from .rowsparse import dense

        self.init(
            key, [dense(v) for v in value] if isinstance(value, (list, tuple)) else dense(value)
        )

    def push_rows(self, key, value, priority=0):
        """Row_sparse push: only the rows of each RowSparse value (kvstore/rowsparse.py)."""
        from .rowsparse import push_rows

        push_rows(self, key, value)

    def pull_rows(self, key, row_ids, priority=0):
        """The stored rows ``row_ids`` (sorted unique) of ``key`` (row_sparse_pull)."""
        from .rowsparse import pull_rows

        return pull_rows(self, key, row_ids)
