"""Row-sparse values in the kvstore package: pushes that carry only some rows of a table
and pulls of the rows a worker asks for (MXNet's row_sparse push and ``row_sparse_pull``).

A ``RowSparse`` is (row ids, the rows, the full shape) on plain numpy/cupy arrays. Stores
keep the full table (dense, on the servers sharded by row ranges); a push adds or applies
only the rows it carries and a pull returns only the rows asked for. As in MXNet 1.9.1,
2-bit gradient compression does not apply to row_sparse pushes: such a push raises
KVStoreError rather than sending uncompressed data the user asked to compress.
"""

from .base import KVStoreError, array_module, check_key, to_host

__all__ = ["RowSparse", "merge", "check_rows", "push_rows", "pull_rows"]

COMPRESSION_ERROR = "Gradient compression for row sparse storage type is not supported"


class RowSparse:
    """Rows ``values[i]`` of row ``rows[i]`` of a ``shape`` table (rows int64, sorted and
    unique once merged)."""

    __slots__ = ("rows", "values", "shape")

    def __init__(self, rows, values, shape):
        self.rows, self.values, self.shape = rows, values, tuple(shape)

    @property
    def dtype(self):
        """The dtype of the rows."""
        return self.values.dtype


def merge(vals, host):
    """Sum per-device RowSparse values into one with unique sorted rows (on the host when
    ``host``, else on the first value's device)."""
    if host:
        vals = [RowSparse(to_host(v.rows), to_host(v.values), v.shape) for v in vals]
    xp = array_module(vals[0].values)
    rows = xp.concatenate([xp.asarray(v.rows) for v in vals])
    values = xp.concatenate([xp.asarray(v.values) for v in vals])
    uniq, inv = xp.unique(rows, return_inverse=True)
    if uniq.shape[0] == rows.shape[0] and len(vals) == 1:
        return RowSparse(uniq, values[xp.argsort(rows)], vals[0].shape)
    out = xp.zeros((uniq.shape[0],) + tuple(values.shape[1:]), values.dtype)
    if xp.__name__ == "numpy":
        xp.add.at(out, inv.reshape(-1), values)
    else:
        import cupyx

        cupyx.scatter_add(out, inv.reshape(-1), values)
    return RowSparse(uniq.astype("int64"), out, vals[0].shape)


def dense(value):
    """The dense array of a RowSparse (or a list of per-device ones: the first)."""
    if isinstance(value, (list, tuple)):
        value = value[0]
    xp = array_module(value.values)
    out = xp.zeros(value.shape, value.values.dtype)
    out[xp.asarray(value.rows)] = value.values
    return out


def check_rows(key, stored_shape, stored_dtype, value, op):
    """Raise KVStoreError naming the key when a RowSparse does not fit the stored table."""
    if tuple(value.shape) != tuple(stored_shape) or value.values.dtype != stored_dtype:
        raise KVStoreError(
            f"{op} of key {key!r}: stored shape {tuple(stored_shape)} dtype "
            f"{stored_dtype}, given row_sparse shape {tuple(value.shape)} dtype "
            f"{value.values.dtype}"
        )
    n = stored_shape[0]
    rows = value.rows
    if rows.shape[0] and (int(rows.min()) < 0 or int(rows.max()) >= n):
        raise KVStoreError(
            f"{op} of key {key!r}: row ids must be in [0, {n}), got "
            f"[{int(rows.min())}, {int(rows.max())}]"
        )
    if tuple(value.values.shape) != (rows.shape[0],) + tuple(stored_shape[1:]):
        raise KVStoreError(
            f"{op} of key {key!r}: {rows.shape[0]} row ids but rows of shape "
            f"{tuple(value.values.shape)}"
        )


def apply_rows(store, key, merged, stored):
    """Hand the merged rows to the updater, or (no updater) make the stored table the
    pushed rows, as MXNet's stores replace the value on a push without an updater."""
    from .updaters import summed_only

    if store._updater is not None and not summed_only(key):
        store._updater(key, merged, stored)
        return
    stored[...] = 0
    xp = array_module(stored)
    stored[xp.asarray(merged.rows)] = xp.asarray(merged.values)


def push_rows(store, key, value):
    """LocalStore's row_sparse push: merge the devices' rows, then apply them."""
    if store._compression is not None:
        raise KVStoreError(f"push of key {key!r}: {COMPRESSION_ERROR}")
    for k, vals in _pairs(key, value):
        stored = store._stored(k, "push")
        for v in vals:
            check_rows(k, stored.shape, stored.dtype, v, "push")
        apply_rows(store, k, merge(vals, store.type == "local"), stored)


def pull_rows(store, key, row_ids):
    """LocalStore's rows ``row_ids`` (sorted unique int64) of ``key``: a copy."""
    stored = store._stored(check_key(key), "row_sparse_pull")
    xp = array_module(stored)
    return stored[xp.asarray(row_ids)]


def _pairs(key, value):
    from .base import pairs

    return pairs(key, value)
