"""'mpi': gradient aggregation through MPI collectives (mpi4py), for jobs started by mpirun.

Pushes are queued; the next pull (or barrier) allreduces everything queued, small
tensors fused into one buffer per dtype so many small gradients cost one collective.
init broadcasts rank 0's values.  The optimizer runs on every worker (Trainer's
update_on_kvstore=False path), so `is_capable('optimizer')` is False.

`pushpull` without an updater is a plain allreduce straight into the outputs (no stored
copy, as MXNet's Horovod store); pass all keys in one call so small ones are fused.
Fusion never depends on when outputs are read, so every rank issues the same collectives.
"""

import numpy as np

from .base import KVStore, KVStoreError, check_like, copy_into, pairs, reduce_sum, to_host
from .updaters import summed_only

# Tensors below this many bytes are fused; a fused buffer holds at most FUSION_BYTES.
SMALL_BYTES = 1 << 20
FUSION_BYTES = 64 << 20


class MPIStore(KVStore):
    """Allreduce-based store over MPI.COMM_WORLD (a duplicate, so user MPI traffic is separate)."""

    def __init__(self, name="mpi"):
        super().__init__(name)
        from mpi4py import MPI

        self._mpi = MPI
        self._comm = MPI.COMM_WORLD.Dup()
        self._store = {}
        self._queued = []  # (key, summed local value) in push order: identical on every rank
        self._stale = set()  # keys whose last value went only to pushpull's outputs

    @property
    def rank(self):
        return self._comm.Get_rank()

    @property
    def num_workers(self):
        return self._comm.Get_size()

    def is_capable(self, capability):
        """MPI has no servers to run an optimizer: the Trainer updates on each worker."""
        if capability == self.OPTIMIZER:
            return False
        return super().is_capable(capability)

    def init(self, key, value):
        """Store rank 0's value on every rank (one broadcast per key)."""
        for k, vals in pairs(key, value):
            if k in self._store:
                raise KVStoreError(f"init of key {k!r}: the key is already initialised")
            v = np.ascontiguousarray(to_host(vals[0])).copy()
            self._comm.Bcast(v, root=0)
            self._store[k] = v

    def push(self, key, value, priority=0):
        """Queue each key's locally summed value for the next allreduce."""
        for k, vals in pairs(key, value):
            stored = self._stored(k, "push")
            for v in vals:
                check_like(k, stored.shape, stored.dtype, v, "push")
            merged = (
                reduce_sum([to_host(v) for v in vals])
                if len(vals) > 1
                else np.array(to_host(vals[0]), copy=True, order="C")
            )
            if self._compression is not None:
                merged = self._compression.roundtrip(k, merged)
            self._queued.append((k, merged))

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Allreduce what is queued, then copy each key's value into its outputs."""
        if out is None:
            raise KVStoreError("pull needs out= arrays to write into")
        self._flush()
        for k, outs in pairs(key, out, "output"):
            stored = self._stored(k, "pull")
            if k in self._stale:
                raise KVStoreError(
                    f"pull of key {k!r} on the mpi store after pushpull: "
                    f"pushpull reduces into its outputs only; push then pull"
                )
            for o in outs:
                check_like(k, stored.shape, stored.dtype, o, "pull")
                copy_into(o, stored)

    def pushpull(self, key, value, out=None, priority=0):
        """Allreduce each key's summed value into its outputs (fused for small keys)."""
        if self._updater is not None or self._compression is not None:
            return super().pushpull(key, value, out, priority)
        self._flush()
        items = []
        for (k, vals), (_, outs) in zip(
            pairs(key, value), pairs(key, value if out is None else out, "output")
        ):
            stored = self._stored(k, "pushpull")
            for a in vals + outs:
                check_like(k, stored.shape, stored.dtype, a, "pushpull")
            src = reduce_sum([to_host(v) for v in vals]) if len(vals) > 1 else to_host(vals[0])
            dst = (
                outs[0]
                if isinstance(outs[0], np.ndarray) and outs[0].flags.c_contiguous
                else np.empty(stored.shape, stored.dtype)
            )
            items.append((src, dst, outs))
            self._stale.add(k)
        small = []
        for src, dst, outs in items:
            if src.nbytes < SMALL_BYTES:
                np.copyto(dst, src) if dst is not src else None
                small.append((None, dst))
            else:
                self._comm.Allreduce(
                    self._mpi.IN_PLACE if src is dst else np.ascontiguousarray(src),
                    dst,
                    op=self._mpi.SUM,
                )
        self._allreduce_fused(small)
        for _, dst, outs in items:
            for o in outs:
                if o is not dst:
                    copy_into(o, dst)

    def barrier(self):
        """Flush queued pushes, then MPI_Barrier."""
        self._flush()
        self._comm.Barrier()

    def _stored(self, key, op):
        try:
            return self._store[key]
        except KeyError:
            raise KVStoreError(
                f"{op} of key {key!r}: the key was not initialised on rank {self.rank}"
            ) from None

    def _flush(self):
        queued, self._queued = self._queued, []
        small = []
        for k, arr in queued:
            if arr.nbytes >= SMALL_BYTES:
                self._comm.Allreduce(self._mpi.IN_PLACE, arr, op=self._mpi.SUM)
            else:
                small.append((k, arr))
        self._allreduce_fused(small)
        for k, arr in queued:
            self._apply(k, arr)

    def _allreduce_fused(self, items):
        """One allreduce per dtype and FUSION_BYTES of small tensors, in push order."""
        groups = {}
        for k, arr in items:
            groups.setdefault(arr.dtype, []).append(arr)
        for dtype, arrays in groups.items():
            start = 0
            while start < len(arrays):
                stop, size = start, 0
                while stop < len(arrays) and (
                    size == 0 or (size + arrays[stop].nbytes) <= FUSION_BYTES
                ):
                    size += arrays[stop].nbytes
                    stop += 1
                batch = arrays[start:stop]
                buf = np.concatenate([a.reshape(-1) for a in batch])
                self._comm.Allreduce(self._mpi.IN_PLACE, buf, op=self._mpi.SUM)
                offset = 0
                for a in batch:
                    a.reshape(-1)[...] = buf[offset : offset + a.size]
                    offset += a.size
                start = stop

    def _apply(self, key, summed):
        stored = self._store[key]
        self._stale.discard(key)
        if self._updater is not None and not summed_only(key):
            self._updater(key, summed, stored)
        else:
            stored[...] = summed

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Every rank holds the same states; rank 0 writes them."""
        if self.rank == 0:
            super().save_optimizer_states(fname, dump_optimizer)
        self._comm.Barrier()
