"""Sparse arrays in MXNet's binary NDArray format (``.params``), byte-compatible with
MXNet 1.x's ``NDArray::Save``/``Load``.

A sparse record (V2 magic) is: int32 storage type (1 row_sparse, 2 csr), the storage shape
(the shape of ``data``: uint32 ndim + int64 dims), the shape, the context (int32 dev_type,
int32 dev_id), the int32 type flag of ``data``, then per aux array (row_sparse: indices;
csr: indptr, indices) its int32 type flag and shape, then the raw ``data`` and the raw aux
arrays in the same order.
"""

import struct

import numpy as np

from ..base import MXNetError

_STYPES = {1: ("row_sparse", 1), 2: ("csr", 2)}
_STYPE_ID = {"row_sparse": 1, "csr": 2}


class SparseRecord:
    """A sparse array read from a file: storage type, shape and host parts."""

    __slots__ = ("stype", "shape", "values", "aux")

    def __init__(self, stype, shape, values, aux):
        self.stype, self.shape, self.values, self.aux = stype, shape, values, aux


def _shape_bytes(shape):
    return struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}q", *shape)


def encode(arr, v2_magic, dtype_to_flag):
    """The record bytes of the sparse NDArray ``arr``."""
    parts = arr._host_parts()
    values, aux = np.ascontiguousarray(parts[0]), [np.ascontiguousarray(a) for a in parts[1:]]
    flags = []
    for a in [values] + aux:
        flag = dtype_to_flag.get(a.dtype)
        if flag is None:
            raise MXNetError(f"nd.save: dtype {a.dtype} cannot be stored in MXNet's format")
        flags.append(flag)
    out = [
        struct.pack("<Ii", v2_magic, _STYPE_ID[arr.stype]),
        _shape_bytes(values.shape),
        _shape_bytes(arr.shape),
        struct.pack("<iii", 1, 0, flags[0]),
    ]
    for a, flag in zip(aux, flags[1:]):
        out.append(struct.pack("<i", flag) + _shape_bytes(a.shape))
    for a in [values] + aux:
        out.append(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return b"".join(out)


def decode(r, stype_id, magic, read_shape, flag_to_dtype):
    """Read a sparse record after its storage type (``r`` is serialize's ``_Reader``)."""
    if stype_id not in _STYPES:
        r.fail(f"storage type {stype_id}, expected 0 (dense), 1 (row_sparse) or 2 (csr)", r.pos - 4)
    stype, n_aux = _STYPES[stype_id]
    sshape = read_shape(r, magic)
    shape = read_shape(r, magic)
    if sshape is None or shape is None:
        r.fail(f"{stype} array without a shape")
    _dev_type, _dev_id, flag = r.unpack("<iii")
    aux_meta = []
    for _ in range(n_aux):
        (aux_flag,) = r.unpack("<i")
        aux_meta.append((aux_flag, read_shape(r, magic)))
    values = _raw(r, flag, sshape, flag_to_dtype)
    aux = [_raw(r, f, s, flag_to_dtype) for f, s in aux_meta]
    return SparseRecord(stype, tuple(shape), values, aux)


def _raw(r, flag, shape, flag_to_dtype):
    dtype = flag_to_dtype.get(flag)
    if dtype is None:
        r.fail(f"unknown type flag {flag}, expected one of {sorted(flag_to_dtype)}")
    dtype = np.dtype(dtype)
    count = 1
    for d in shape or ():
        count *= d
    if count * dtype.itemsize > r.left:
        r.fail(
            f"sparse part of shape {shape} {dtype} needs {count * dtype.itemsize} "
            f"bytes, {r.left} left (truncated file?)"
        )
    raw = r.take(count * dtype.itemsize)
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)


def to_nd(rec, ctx):
    """The RowSparseNDArray/CSRNDArray of a record, on ``ctx``."""
    from .sparse import _rebuild_sparse

    return _rebuild_sparse(rec.stype, [rec.values] + rec.aux, rec.shape, str(ctx))
