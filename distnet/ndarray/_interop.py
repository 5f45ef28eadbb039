"""Zero-copy exchange with other array libraries, as MXNet's NDArray: DLPack capsules
(``to_dlpack_for_read``/``to_dlpack_for_write``/``from_dlpack``), ``from_numpy``, and the
``__getstate__``/``__setstate__`` pair that holds one array in MXNet's binary record."""

import ctypes

import numpy as np

from ..base import MXNetError
from ..context import cpu

__all__ = ["to_dlpack_for_read", "to_dlpack_for_write", "from_dlpack", "from_numpy"]

_KDL_CPU, _KDL_CUDA, _KDL_CUDA_HOST = 1, 2, 3


def to_dlpack_for_read(data):
    """A DLPack capsule (``"dltensor"``) sharing ``data``'s memory, once pending writes
    into it have finished; the consumer must only read it."""
    data.wait_to_read()
    return data._data.__dlpack__()


def to_dlpack_for_write(data):
    """A DLPack capsule sharing ``data``'s memory, once every pending transfer on it has
    finished; the consumer may write into it."""
    data.wait_to_read()
    return data._data.__dlpack__()


class _Capsule:
    """Hands a bare capsule to ``numpy.from_dlpack``, which takes producer objects."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, stream=None, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (_KDL_CPU, 0)


def _capsule_device(capsule):
    """(device_type, device_id) of a ``"dltensor"`` capsule (DLTensor: data pointer, then
    the device as two int32)."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    try:
        ptr = get(capsule, b"dltensor")
    except ValueError:
        raise MXNetError(
            "from_dlpack: the capsule is not an unused DLPack 'dltensor' (a capsule can be "
            "consumed once)"
        ) from None
    dev = (ctypes.c_int32 * 2).from_address(ptr + ctypes.sizeof(ctypes.c_void_p))
    return dev[0], dev[1]


def _writable(arr):
    """A writable view of a read-only array numpy made from DLPack (DLPack has no read-only
    flag; MXNet's arrays from it are writable); it keeps ``arr`` and its owner alive."""
    if arr.flags.writeable or arr.size == 0:
        return arr
    lo = sum(s * (n - 1) for s, n in zip(arr.strides, arr.shape) if s < 0)
    hi = sum(s * (n - 1) for s, n in zip(arr.strides, arr.shape) if s > 0)
    start = arr.__array_interface__["data"][0] + lo
    raw = (ctypes.c_char * (hi - lo + arr.itemsize)).from_address(start)
    raw._owner = arr  # ctypes arrays take attributes: the memory lives while raw does
    return np.ndarray(arr.shape, arr.dtype, buffer=raw, offset=-lo, strides=arr.strides)


def from_dlpack(dlpack):
    """An NDArray sharing the memory of a DLPack capsule (or of an object with
    ``__dlpack__``: a numpy, cupy or torch array)."""
    from .ndarray import wrap
    from ..context import gpu

    if hasattr(dlpack, "__dlpack__"):
        dev_type, dev_id = dlpack.__dlpack_device__()
        source = dlpack
    else:
        dev_type, dev_id = _capsule_device(dlpack)
        source = _Capsule(dlpack)
    if dev_type in (_KDL_CPU, _KDL_CUDA_HOST):
        return wrap(_writable(np.from_dlpack(source)), cpu(0))
    if dev_type == _KDL_CUDA:
        from ..backend import require_cupy

        cp = require_cupy()
        with cp.cuda.Device(dev_id):
            return wrap(cp.from_dlpack(dlpack), gpu(dev_id))
    raise MXNetError(f"from_dlpack: DLPack device type {dev_type} is neither CPU nor CUDA")


def from_numpy(ndarray, zero_copy=True, array_cls=None):
    """An NDArray from a numpy array. With ``zero_copy`` (the default, as MXNet) they share
    memory and the numpy array is made read-only, so that only the NDArray writes it; it
    must then be C-contiguous (ValueError otherwise)."""
    from .ndarray import wrap, array_from

    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    if not zero_copy:
        return array_from(ndarray, cpu(0), ndarray.dtype)
    if not ndarray.flags["C_CONTIGUOUS"]:
        raise ValueError("Only c-contiguous arrays are supported for zero-copy")
    ndarray.flags["WRITEABLE"] = False
    return wrap(_writable(ndarray), cpu(0))


def getstate(data):
    """MXNet's pickled form of one array: ``{'handle': bytearray(record)}``."""
    from .serialize import encode_record

    return {"handle": bytearray(encode_record(data.asnumpy()))}


def setstate(data, state):
    """Load ``state['handle']`` (an MXNet array record) into ``data``; an array saved on a
    GPU comes back on that GPU when there is one, on the CPU otherwise."""
    from .ndarray import _to_device
    from .serialize import decode_record
    from ..context import gpu, num_gpus

    arr, (dev_type, dev_id) = decode_record(bytes(state["handle"]))
    ctx = gpu(dev_id) if dev_type == 2 and dev_id < num_gpus() else cpu(0)
    data._data = _to_device(arr, ctx, copy=False)
    data._ctx = ctx
    data._ag = None
    data._pending = None
