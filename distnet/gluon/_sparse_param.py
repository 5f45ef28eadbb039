"""The row_sparse side of ``gluon.Parameter`` and ``gluon.Trainer`` (``stype='row_sparse'``).

A row_sparse Parameter keeps a RowSparseNDArray per context. The full table lives in the
Trainer's kvstore (on the servers in a distributed job); ``row_sparse_data(row_id)`` pulls
the rows a batch needs into the context's array, as MXNet 1.x. ``data()``/``list_data()``
raise, as MXNet, since no context holds the whole table.
"""

import numpy as np

from ..context import cpu
from ..ndarray.ndarray import NDArray, wrap
from ._common import GluonAssertionError, GluonRuntimeError, GluonTypeError, GluonValueError

__all__ = ["check_stypes", "sparse_data", "get_row_sparse", "reduce_sparse", "create_store"]

_STYPES = ("default", "row_sparse")


def check_stypes(name, stype, grad_stype):
    """MXNet's assertion on a Parameter's storage types (csr weights and gradients are
    not supported: no operator produces a csr gradient)."""
    if stype not in _STYPES:
        raise GluonAssertionError(
            f"stype for Parameter '{name}' must be one of 'default' or 'row_sparse', "
            f"but got '{stype}'"
        )
    if grad_stype not in _STYPES:
        raise GluonAssertionError(
            f"grad_stype for Parameter '{name}' must be one of 'default' or 'row_sparse', "
            f"but got '{grad_stype}'"
        )


def refuse_dense_access(param, what, ctx=None):
    """MXNet's error for ``data()``/``list_data()`` on a row_sparse Parameter."""
    where = "" if what == "list_data()" else f" on ctx {ctx}"
    raise GluonRuntimeError(
        f"Cannot return a copy of Parameter '{param.name}'{where} via {what} because its "
        f"storage type is {param._stype}. Please use row_sparse_data() instead."
    )


def sparse_data(param, src, ctx_list):
    """One RowSparseNDArray per context holding every row of ``src`` (initial value)."""
    from ..ndarray.sparse import cast_storage

    src = src if isinstance(src, NDArray) else wrap(np.asarray(src), cpu())
    rsp = cast_storage(src, "row_sparse")
    return [rsp.copyto(ctx) for ctx in ctx_list]


def get_row_sparse(param, ctx, row_id):
    """``row_sparse_data``/``list_row_sparse_data``: the rows ``row_id`` pulled from the
    Trainer's kvstore into the context's array (``ctx`` list: every context)."""
    if param._stype != "row_sparse":
        many = ctx is list
        raise GluonRuntimeError(
            f"Cannot return {'copies' if many else 'a copy'} of Parameter '{param.name}'"
            f"{' on all contexts' if many else ''} via "
            f"{'list_row_sparse_data' if many else 'row_sparse_data'}() because its storage "
            f"type is {param._stype}. Please use data() instead."
        )
    if not isinstance(row_id, NDArray):
        raise GluonTypeError(f"row_id must have NDArray type, but {type(row_id)} is given")
    if param._trainer is None:
        raise GluonRuntimeError(
            f"Cannot get row_sparse data for Parameter '{param.name}' when no Trainer is "
            "created with it."
        )
    out = param._check_and_get(param._data, ctx)
    param._trainer._row_sparse_pull(param, out, row_id)
    return out


def reduce_sparse(param):
    """The whole table as a dense CPU NDArray (save, reset_ctx): from the kvstore once a
    Trainer holds it, else from the first context's array (every row after init)."""
    from ..ndarray import sparse

    trainer = param._trainer
    if trainer is None:
        return wrap(param._data[0].asnumpy(), cpu())
    out = sparse.zeros("row_sparse", param.shape, cpu(), param._data[0].dtype)
    rows = wrap(np.arange(param.shape[0], dtype=np.int64), cpu())
    trainer._row_sparse_pull(param, out, rows, full_idx=True)
    return wrap(out.asnumpy(), cpu())


def create_store(kvstore, requested):
    """MXNet's ``_create_sparse_kvstore``: row_sparse weights always live in a kvstore
    that runs the optimizer."""
    from .. import kvstore as kvs

    if requested is False:
        raise GluonValueError("Cannot set update_on_kvstore=False when sparse weights are present.")
    if isinstance(kvstore, (kvs.KVStore, kvs.KVStoreBase)):
        return kvstore
    if isinstance(kvstore, str):
        return kvs.create(kvstore)
    raise GluonTypeError(
        f"Cannot create '{kvstore}' KVStore with row_sparse parameters. "
        "The type must be KVStore or str."
    )
