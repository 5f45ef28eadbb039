"""mx.kv's row_sparse side: RowSparseNDArray pushes and ``row_sparse_pull``, on top of the
kvstore package's ``push_rows``/``pull_rows`` (kvstore/rowsparse.py)."""

import numpy as np

from ._sibling import import_sibling
from .base import MXNetError
from .ndarray import NDArray

_kvs = import_sibling("kvstore")


def has_sparse(value):
    """Whether ``value`` (an NDArray or nested lists of them) holds a sparse array."""
    if isinstance(value, (list, tuple)):
        return any(has_sparse(v) for v in value)
    return isinstance(value, NDArray) and value._sparse


def to_rows(x):
    """A kvstore RowSparse of a RowSparseNDArray (a dense NDArray is cast first)."""
    if isinstance(x, (list, tuple)):
        return [to_rows(v) for v in x]
    if not isinstance(x, NDArray):
        raise MXNetError(f"kvstore values must be NDArrays, got {type(x).__name__}")
    if x.stype != "row_sparse":
        x = x.tostype("row_sparse")
    x._read_parts()
    from kvstore.rowsparse import RowSparse

    return RowSparse(x._aux[0], x._values, x.shape)


def kv_value(x, ctx=None):
    """The NDArray an updater sees for a kvstore value: a RowSparseNDArray for the rows
    of a row_sparse push, else an NDArray sharing the raw array."""
    from kvstore.rowsparse import RowSparse

    if isinstance(x, RowSparse):
        from .ndarray.sparse import RowSparseNDArray

        ctx = ctx or NDArray(x.values).context
        return RowSparseNDArray._make(x.values, (x.rows,), x.shape, ctx)
    return NDArray(x)


def _row_ids(row_ids):
    """Sorted unique int64 host row ids of an NDArray / array-like (any shape, any dtype)."""
    if isinstance(row_ids, NDArray):
        row_ids = row_ids.asnumpy()
    ids = np.asarray(row_ids).reshape(-1)
    return np.unique(ids.astype(np.int64))


def row_sparse_pull(store, key, out, row_ids):
    """Fill each RowSparseNDArray in ``out`` with the stored rows ``row_ids`` of ``key``
    (a list of outs takes a list of row_ids, one per out, as MXNet)."""
    keys = key if isinstance(key, (list, tuple)) else [key]
    outs = out if isinstance(key, (list, tuple)) else [out]
    ids = row_ids if isinstance(key, (list, tuple)) else [row_ids]
    if len(outs) != len(keys) or len(ids) != len(keys):
        raise MXNetError(f"row_sparse_pull: {len(keys)} keys need as many outs and row_ids")
    for k, o, r in zip(keys, outs, ids):
        os_ = o if isinstance(o, (list, tuple)) else [o]
        rs = r if isinstance(r, (list, tuple)) else [r] * len(os_)
        for one, rid in zip(os_, rs):
            _pull_one(store, k, one, rid)


def _pull_one(store, key, out, row_ids):
    if not isinstance(out, NDArray) or out.stype != "row_sparse":
        raise MXNetError(
            f"row_sparse_pull of key {key!r}: out must be a RowSparseNDArray, "
            f"got {getattr(out, 'stype', type(out).__name__)}"
        )
    rows = _row_ids(row_ids)
    if rows.size and (rows[0] < 0 or rows[-1] >= out.shape[0]):
        raise MXNetError(
            f"row_sparse_pull of key {key!r}: row_ids must be in "
            f"[0, {out.shape[0]}), got [{rows[0]}, {rows[-1]}]"
        )
    values = _capable(store, "pull_rows")(key, rows)
    from .ndarray.ndarray import _to_device

    ctx = out.context
    out._read_parts()
    out._values = _to_device(values, ctx, copy=False).astype(out._values.dtype, copy=False)
    out._aux = (_to_device(rows, ctx, copy=False),)


def pushpull(kv, key, value, out):
    """push then pull with RowSparseNDArray values: the rows go up; a dense ``out`` gets
    the whole value, a sparse one (``out=None``: the values themselves) gets the summed
    rows this process pushed for the key (what a lazy update reads)."""
    push(kv._store, key, value)
    keys = key if isinstance(key, (list, tuple)) else [key]
    vals = value if isinstance(key, (list, tuple)) else [value]
    outs = vals if out is None else (out if isinstance(key, (list, tuple)) else [out])
    for k, v, o in zip(keys, vals, outs):
        vs = v if isinstance(v, (list, tuple)) else [v]
        os_ = o if isinstance(o, (list, tuple)) else [o]
        rows = np.unique(np.concatenate([_host_rows(x) for x in vs]))
        for one in os_:
            if one._sparse:
                _pull_one(kv._store, k, one, rows)
            elif kv.type.startswith("dist") and hasattr(kv._store, "pull_rows"):
                from kvstore.ps.sparse import pull_all

                pull_all(kv._store, k, one._read())
            else:
                kv.pull(k, out=one)


def pull_sparse_outs(kv, key, out, priority, ignore_sparse):
    """``pull`` with RowSparseNDArray outs: each gets all rows of its key unless
    ``ignore_sparse`` (then only the dense outs are pulled, as MXNet)."""
    keys = key if isinstance(key, (list, tuple)) else [key]
    outs = out if isinstance(key, (list, tuple)) else [out]
    for k, o in zip(keys, outs):
        group = o if isinstance(o, (list, tuple)) else [o]
        dense = [x for x in group if not x._sparse]
        if dense:
            kv.pull(k, out=dense, priority=priority)
        for x in group if not ignore_sparse else ():
            if x._sparse:
                _pull_one(kv._store, k, x, np.arange(x.shape[0], dtype=np.int64))


def _host_rows(x):
    if not x._sparse:
        x = x.tostype("row_sparse")
    x._read_parts()
    rows = x._aux[0]
    return rows if isinstance(rows, np.ndarray) else rows.get()


def _capable(store, op):
    fn = getattr(store, op, None)
    if fn is None:
        raise MXNetError(
            f"the '{store.type}' kvstore has no row_sparse support; use "
            "'local', 'device', 'dist_sync' or 'dist_async' for row_sparse keys"
        )
    return fn


def init(store, key, value):
    """init of row_sparse keys: only the stored rows travel (servers allocate the table
    and hold it by row ranges)."""
    _capable(store, "init_rows")(key, to_rows(value))


def push(store, key, value, priority=0):
    """A row_sparse push: only the rows of each RowSparseNDArray travel."""
    # the rows are packed into a new buffer before they go (kvstore/ps/sparse.py):
    # nothing to mark pending; a failure surfaces at the next row_sparse_pull of the key
    _capable(store, "push_rows")(key, to_rows(value), priority)
