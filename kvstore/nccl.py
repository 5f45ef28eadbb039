"""NCCL sums for the 'device' store: one key's values on several GPUs of this process.

When every value of a push lives on its own GPU (one per device, contiguous, a dtype NCCL
knows) and CuPy's NCCL binding is present, the sum is one grouped ``ncclReduce`` onto the
first value's GPU instead of peer copies and additions there. Communicators are made once
per device tuple (``ncclCommInitAll``) and reused. ``DISTNET_KVSTORE_NCCL=0`` turns it off.

The collective is queued on each device's current stream, so later work on those streams
(the updater, the pulls' copies) is ordered after it without a host synchronisation.
"""

import os

_DTYPES = {
    "float16": "NCCL_FLOAT16",
    "float32": "NCCL_FLOAT32",
    "float64": "NCCL_FLOAT64",
    "int8": "NCCL_INT8",
    "uint8": "NCCL_UINT8",
    "int32": "NCCL_INT32",
    "int64": "NCCL_INT64",
}


def _load_nccl():
    """CuPy's NCCL module, or None when CuPy or its NCCL support is missing."""
    try:
        from cupy.cuda import nccl
    except Exception:  # ImportError, or a CUDA/NCCL library that fails to load
        return None
    return nccl if getattr(nccl, "available", True) else None


class NcclSum:
    """Sums a key's per-GPU values with NCCL (see the module docstring).

    ``nccl`` and ``cupy`` are the modules to use (loaded on first use when None).
    """

    def __init__(self, nccl=None, cupy=None):
        self._nccl = nccl
        self._cupy = cupy
        self._comms = {}  # device ids -> communicator over them

    def usable(self, values):
        """Whether ``values`` can be summed by NCCL (else the caller adds them itself)."""
        if len(values) < 2 or os.getenv("DISTNET_KVSTORE_NCCL", "1") == "0":
            return False
        if not all(type(v).__module__.startswith("cupy") for v in values):
            return False
        devices = [v.device.id for v in values]
        first = values[0]
        if len(set(devices)) != len(devices) or first.dtype.name not in _DTYPES:
            return False
        if any(
            v.dtype != first.dtype or v.shape != first.shape or not v.flags.c_contiguous
            for v in values
        ):
            return False
        if self._nccl is None:
            self._nccl = _load_nccl()
            if self._nccl is not None and self._cupy is None:
                import cupy

                self._cupy = cupy
        return self._nccl is not None

    def _communicator(self, devices):
        comm = self._comms.get(devices)
        if comm is None:
            comm = self._comms[devices] = self._nccl.NcclCommunicator.initAll(
                len(devices), list(devices)
            )
        return comm

    def sum(self, values):
        """A fresh array on ``values[0]``'s GPU holding the sum of ``values``
        (which :meth:`usable` accepted); the values are not modified."""
        nccl, cupy = self._nccl, self._cupy
        devices = tuple(v.device.id for v in values)
        comm = self._communicator(devices)
        with cupy.cuda.Device(devices[0]):
            total = cupy.empty_like(values[0])
        dtype = getattr(nccl, _DTYPES[values[0].dtype.name])
        comm.groupStart()
        try:
            for rank, (dev, v) in enumerate(zip(devices, values)):
                with cupy.cuda.Device(dev):
                    stream = cupy.cuda.get_current_stream().ptr
                    comm.setCurrentComm(rank)
                    recv = total.data.ptr if rank == 0 else v.data.ptr  # root only writes
                    comm.reduce(v.data.ptr, recv, v.size, dtype, nccl.NCCL_SUM, 0, stream)
        finally:
            comm.groupEnd()
        return total
