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

import numpy as np


from .._sibling import import_sibling
from ..base import DTYPE_OF_FLAG, MXNetError

write_atomic = import_sibling("kvstore.atomic").write_atomic  # checked: no user kvstore.py

__all__ = ["save", "load", "load_frombuffer", "dumps", "loads"]

_FILE_MAGIC = 0x112
_V1, _V2, _V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
_FLAG_TO_DTYPE = DTYPE_OF_FLAG
_DTYPE_TO_FLAG = {np.dtype(v): k for k, v in _FLAG_TO_DTYPE.items()}


def _encode_array(arr):
    data = np.ascontiguousarray(arr)
    flag = _DTYPE_TO_FLAG.get(data.dtype)
    if flag is None:
        raise MXNetError(f"nd.save: dtype {data.dtype} cannot be stored in MXNet's format")
    parts = [
        struct.pack("<Ii", _V2, 0),
        struct.pack("<I", data.ndim),
        struct.pack(f"<{data.ndim}q", *data.shape),
    ]
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
        raise MXNetError(
            "nd.save: data must be an NDArray, a list of NDArrays or a dict "
            f"of str to NDArray, got {type(data).__name__}"
        )
    for i, arr in enumerate(arrays):
        if not isinstance(arr, NDArray):
            what = names[i] if names else f"item {i}"
            raise MXNetError(f"nd.save: {what} is a {type(arr).__name__}, not an NDArray")
    out = [struct.pack("<QQQ", _FILE_MAGIC, 0, len(arrays))]
    out.extend(_encode_sparse(a) if a._sparse else _encode_array(a.asnumpy()) for a in arrays)
    out.append(struct.pack("<Q", len(names)))
    for name in names:
        if not isinstance(name, str):
            raise MXNetError(f"nd.save: dict keys must be str, got {name!r}")
        raw = name.encode("utf-8")
        out.append(struct.pack("<Q", len(raw)) + raw)
    return b"".join(out)


def save(fname, data):
    """Write ``data`` to ``fname`` in MXNet's format, atomically and durably
    (``kvstore.atomic.write_atomic``)."""
    write_atomic(fname, dumps(data))


_MAX_NDIM = 32  # numpy's limit; MXNet files never come near it
_MIN_ARRAY = 8  # bytes of the smallest array record: magic + ndim of a "none" array
_MIN_NAME = 8  # bytes of the smallest name record: its uint64 length


class _Reader:
    """Bounds-checked reading of a buffer. Every count and size is checked against the
    bytes left before anything is read or allocated, so a crafted file fails at once
    with an MXNetError naming the source, the offset and what was expected (MXNet's
    reader did the same; distnet's before this reader could walk backwards forever)."""

    def __init__(self, buf, source):
        self.buf = memoryview(buf)
        self.pos = 0
        self.source = source
        self.context = None  # (dev_type, dev_id) of the last dense array read

    @property
    def left(self):
        """Bytes not read yet."""
        return len(self.buf) - self.pos

    def fail(self, what, at=None):
        at = self.pos if at is None else at
        raise MXNetError(f"{self.source}: invalid NDArray file at offset {at}: {what}")

    def take(self, n):
        if n < 0 or n > self.left:
            self.fail(f"needed {n} bytes, {self.left} left (truncated file?)")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))

    def count(self, what, min_size):
        """A uint64 count of records of at least ``min_size`` bytes each, checked against
        the bytes left."""
        at = self.pos
        (n,) = self.unpack("<Q")
        if n * min_size > self.left:
            self.fail(
                f"{what} count {n} needs at least {n * min_size} bytes, "
                f"{self.left} left (truncated file?)",
                at,
            )
        return n


def _read_shape(r, magic):
    """The shape of an array record, or None for an empty ("none") array."""
    at = r.pos
    (ndim,) = r.unpack("<i")
    if ndim == 0 and magic != _V3 or ndim == -1 and magic == _V3:
        return None
    if not 0 <= ndim <= _MAX_NDIM:
        r.fail(f"array ndim {ndim}, expected 0..{_MAX_NDIM}", at)
    shape = r.unpack(f"<{ndim}q")
    if any(d < 0 for d in shape):
        r.fail(f"array shape {shape} has a negative dimension", at + 4)
    return shape


def _read_legacy_shape(r, ndim):
    """The shape of a record from before the magic numbers (MXNet < 0.9, "v0"): the
    record starts with uint32 ndim, then uint32 dims."""
    if ndim > _MAX_NDIM:
        r.fail(
            f"unknown NDArray magic 0x{ndim:X}, expected 0x{_V2:X} (not an MXNet/"
            "distnet array file?)",
            r.pos - 4,
        )
    return r.unpack(f"<{ndim}I") if ndim else None


def _decode_array(r):
    (magic,) = r.unpack("<I")
    if magic in (_V1, _V2, _V3):
        if magic != _V1:
            (stype,) = r.unpack("<i")
            if stype != 0:
                return _decode_sparse(r, stype, magic)
        shape = _read_shape(r, magic)
    else:
        shape = _read_legacy_shape(r, magic)
    if shape is None:
        return None
    dev_type, dev_id, flag = r.unpack("<iii")
    r.context = (dev_type, dev_id)
    dtype = _FLAG_TO_DTYPE.get(flag)
    if dtype is None:
        r.fail(f"unknown type flag {flag}, expected one of {sorted(_FLAG_TO_DTYPE)}", r.pos - 4)
    dtype = np.dtype(dtype)
    count = 1
    for d in shape:  # Python ints: a product of crafted dims cannot overflow
        count *= d
    if count * dtype.itemsize > r.left:
        r.fail(
            f"array of shape {shape} {dtype} needs {count * dtype.itemsize} bytes, "
            f"{r.left} left (truncated file?)"
        )
    raw = r.take(count * dtype.itemsize)
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)


def encode_record(arr):
    """One dense array as MXNet's binary record (what ``NDArray.__getstate__`` holds)."""
    return _encode_array(arr)


def decode_record(buf):
    """``(numpy array, (dev_type, dev_id))`` of one dense array record."""
    r = _Reader(buf, "NDArray state")
    arr = _decode_array(r)
    if arr is None or not isinstance(arr, np.ndarray):
        raise MXNetError("NDArray state: expected one dense array record")
    return arr, r.context


def _encode_sparse(arr):
    from . import _sparse_io

    return _sparse_io.encode(arr, _V2, _DTYPE_TO_FLAG)


def _decode_sparse(r, stype, magic):
    from . import _sparse_io

    return _sparse_io.decode(r, stype, magic, _read_shape, _FLAG_TO_DTYPE)


def _read_name(r):
    at = r.pos
    (length,) = r.unpack("<Q")
    if length > r.left:
        r.fail(f"name of {length} bytes, {r.left} left (truncated file?)", at)
    try:
        return bytes(r.take(length)).decode("utf-8")
    except UnicodeDecodeError:
        r.fail("a name is not valid UTF-8", at + 8)


def loads(buf, source="buffer"):
    """Parse bytes written by MXNet or distnet into a list or a dict of numpy arrays.

    Raises MXNetError naming ``source`` and the offset for anything malformed."""
    r = _Reader(buf, source)
    if r.left < 24:
        r.fail(f"{r.left} bytes is too short for the 24-byte header", 0)
    magic, _reserved = r.unpack("<QQ")
    if magic != _FILE_MAGIC:
        raise MXNetError(
            f"{source}: not an MXNet NDArray file (magic 0x{magic:X}, expected 0x{_FILE_MAGIC:X})"
        )
    count = r.count("array", _MIN_ARRAY)
    arrays = [_decode_array(r) for _ in range(count)]
    if r.left < 8:
        r.fail("the name count is missing (truncated file?)")
    n_names = r.count("name", _MIN_NAME)
    names = [_read_name(r) for _ in range(n_names)]
    if names and len(names) != len(arrays):
        raise MXNetError(
            f"{source}: invalid NDArray file: {len(names)} names for {len(arrays)} arrays"
        )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise MXNetError(f"{source}: invalid NDArray file: name {dup!r} appears twice")
    return dict(zip(names, arrays)) if names else arrays


def _to_nd(arrays, ctx):
    from .ndarray import wrap, _to_device
    from ..context import cpu

    ctx = ctx or cpu(0)

    def conv(a):
        if a is None:
            return None
        if not isinstance(a, np.ndarray):  # a sparse record (_sparse_io.SparseRecord)
            from ._sparse_io import to_nd

            return to_nd(a, ctx)
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
