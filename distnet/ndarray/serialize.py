"""MXNet's binary NDArray format (``.params`` files): ``nd.save``, ``nd.load``,
``nd.load_frombuffer``.

Layout (little-endian): uint64 magic 0x112, uint64 reserved 0, uint64 array count, the
arrays, uint64 name count, then each name as uint64 length + bytes. An array (V2) is uint32
magic 0xF993FAC9, int32 storage type (0 dense), shape as uint32 ndim + int64 dims, context as
int32 dev_type + int32 dev_id, int32 type flag, raw data. V1 (0xF993FAC8) lacks the storage
type; V3 (0xF993FACA) is V2 with numpy shape semantics (ndim 0 is a scalar, not "none").
"""

import os
import struct
import tempfile

import numpy as np

from ..base import MXNetError

__all__ = ["save", "load", "load_frombuffer", "dumps", "loads"]

_FILE_MAGIC = 0x112
_V1, _V2, _V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
_FLAG_TO_DTYPE = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32,
                  5: np.int8, 6: np.int64, 7: np.bool_, 8: np.int16, 9: np.uint16,
                  10: np.uint32, 11: np.uint64}
_DTYPE_TO_FLAG = {np.dtype(v): k for k, v in _FLAG_TO_DTYPE.items()}


def _encode_array(arr):
    data = np.ascontiguousarray(arr)
    flag = _DTYPE_TO_FLAG.get(data.dtype)
    if flag is None:
        raise MXNetError(f"nd.save: dtype {data.dtype} cannot be stored in MXNet's format")
    parts = [struct.pack("<Ii", _V2, 0), struct.pack("<I", data.ndim),
             struct.pack(f"<{data.ndim}q", *data.shape)]
    if data.ndim == 0:  # a V2 reader takes ndim 0 as "none": store scalars as (1,)
        parts[1:] = [struct.pack("<I", 1), struct.pack("<q", 1)]
    parts.append(struct.pack("<iii", 1, 0, flag))
    parts.append(data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes())
    return b"".join(parts)


def dumps(data):
    """Serialise an NDArray, a list of NDArrays or a dict of name to NDArray to bytes."""
    from .ndarray import NDArray
    if isinstance(data, NDArray):
        data = [data]
    if isinstance(data, dict):
        names, arrays = list(data.keys()), list(data.values())
    elif isinstance(data, (list, tuple)):
        names, arrays = [], list(data)
    else:
        raise MXNetError("nd.save: data must be an NDArray, a list of NDArrays or a dict "
                         f"of str to NDArray, got {type(data).__name__}")
    for i, arr in enumerate(arrays):
        if not isinstance(arr, NDArray):
            what = names[i] if names else f"item {i}"
            raise MXNetError(f"nd.save: {what} is a {type(arr).__name__}, not an NDArray")
    out = [struct.pack("<QQQ", _FILE_MAGIC, 0, len(arrays))]
    out.extend(_encode_array(a.asnumpy()) for a in arrays)
    out.append(struct.pack("<Q", len(names)))
    for name in names:
        if not isinstance(name, str):
            raise MXNetError(f"nd.save: dict keys must be str, got {name!r}")
        raw = name.encode("utf-8")
        out.append(struct.pack("<Q", len(raw)) + raw)
    return b"".join(out)


def save(fname, data):
    """Write ``data`` to ``fname`` in MXNet's format, atomically (temp file, then rename)."""
    payload = dumps(data)
    fname = os.fspath(fname)
    folder = os.path.dirname(os.path.abspath(fname))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, fname)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Reader:
    """Bounds-checked reading of a buffer; errors name the source and the offset."""

    def __init__(self, buf, source):
        self.buf = memoryview(buf)
        self.pos = 0
        self.source = source

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise MXNetError(f"{self.source}: truncated NDArray file (needed {n} bytes at "
                             f"offset {self.pos}, file has {len(self.buf)})")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))


def _decode_array(r):
    (magic,) = r.unpack("<I")
    if magic not in (_V1, _V2, _V3):
        raise MXNetError(f"{r.source}: unknown NDArray magic 0x{magic:X} at offset "
                         f"{r.pos - 4}; not an MXNet/distnet array file")
    if magic != _V1:
        (stype,) = r.unpack("<i")
        if stype != 0:
            raise MXNetError(f"{r.source}: sparse arrays (storage type {stype}) are not "
                             "supported by distnet")
    (ndim,) = r.unpack("<i")
    if ndim < 0 or (ndim == 0 and magic != _V3):
        return None  # an empty "none" array
    shape = r.unpack(f"<{ndim}q") if ndim else ()
    dev_type, dev_id, flag = r.unpack("<iii")
    dtype = _FLAG_TO_DTYPE.get(flag)
    if dtype is None:
        raise MXNetError(f"{r.source}: unknown type flag {flag}")
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    raw = r.take(count * dtype.itemsize)
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)


def loads(buf, source="buffer"):
    """Parse bytes written by MXNet or distnet into a list or a dict of numpy arrays."""
    r = _Reader(buf, source)
    magic, _reserved = r.unpack("<QQ")
    if magic != _FILE_MAGIC:
        raise MXNetError(f"{source}: not an MXNet NDArray file (magic 0x{magic:X}, "
                         f"expected 0x{_FILE_MAGIC:X})")
    (count,) = r.unpack("<Q")
    arrays = [_decode_array(r) for _ in range(count)]
    (n_names,) = r.unpack("<Q")
    names = []
    for _ in range(n_names):
        (length,) = r.unpack("<Q")
        names.append(bytes(r.take(length)).decode("utf-8"))
    if names and len(names) != len(arrays):
        raise MXNetError(f"{source}: {len(names)} names for {len(arrays)} arrays")
    return dict(zip(names, arrays)) if names else arrays


def _to_nd(arrays, ctx):
    from .ndarray import wrap, _to_device
    from ..context import cpu
    ctx = ctx or cpu(0)

    def conv(a):
        if a is None:
            return None
        if a.ndim == 0:  # a V3 scalar: distnet, like MXNet's nd, has no 0-d arrays
            a = a.reshape(1)
        return wrap(_to_device(a, ctx, copy=False), ctx)
    if isinstance(arrays, dict):
        return {k: conv(v) for k, v in arrays.items()}
    return [conv(v) for v in arrays]


def load(fname, ctx=None):
    """Load a ``.params``/NDArray file: a dict if it stores names, else a list."""
    fname = os.fspath(fname)
    try:
        with open(fname, "rb") as f:
            buf = f.read()
    except OSError as err:
        raise MXNetError(f"nd.load: cannot read {fname!r}: {err.strerror}") from None
    return _to_nd(loads(buf, fname), ctx)


def load_frombuffer(buf, ctx=None):
    """Load arrays from bytes in MXNet's format (as ``load``)."""
    return _to_nd(loads(buf), ctx)
