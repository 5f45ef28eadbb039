"""Operators on sparse arrays: MXNet's output storage rules and its storage fallback.

``invoke`` hands any operator call with a sparse input to ``dispatch``. An operator with a
rule here computes on the compact parts and returns MXNet's output storage type; any other
runs on dense copies after the fallback message (logged once per operator and storage
types, as MXNet's ``LogStorageFallback``; ``MXNET_STORAGE_FALLBACK_LOG_VERBOSE=0`` silences
it, as in MXNet).
"""

import logging

import numpy as np

from ..base import MXNetError
from ..backend import device_scope
from .ndarray import wrap
from .sparse import RowSparseNDArray, CSRNDArray, cast_storage, _IDX, _sorted_member

_log = logging.getLogger("distnet.sparse")
_LOGGED = set()

# unary operators with f(0) == 0: MXNet keeps row_sparse/csr storage for these
_ZERO_PRESERVING = {
    "abs",
    "negative",
    "sign",
    "square",
    "sqrt",
    "relu",
    "sin",
    "tan",
    "tanh",
    "arcsin",
    "arctan",
    "sinh",
    "arcsinh",
    "arctanh",
    "expm1",
    "log1p",
    "floor",
    "ceil",
    "round",
    "rint",
    "fix",
    "trunc",
    "degrees",
    "radians",
    "Cast",
    "_copy",
    "_mul_scalar",
    "_div_scalar",
}


def fallback_message(op_name, in_stypes, out_stypes, ctx):
    """MXNet's storage fallback text for one operator call."""
    mask = "gpu" if getattr(ctx, "device_typeid", 1) == 2 else "cpu"
    return (
        "\nStorage type fallback detected:\n"
        f"operator = {op_name}\n"
        f"input storage types = [{', '.join(in_stypes)}, ]\n"
        f"output storage types = [{', '.join(out_stypes)}, ]\n"
        "params = {}\n"
        f"context.dev_mask = {mask}\n"
        "The operator with default storage type will be dispatched for execution. "
        "You're seeing this warning message because the operator above is unable to "
        "process the given ndarrays with specified storage types, context and "
        "parameter. Temporary dense ndarrays are generated in order to execute the "
        "operator. This does not affect the correctness of the programme. You can set "
        "environment variable MXNET_STORAGE_FALLBACK_LOG_VERBOSE to 0 to suppress "
        "this warning."
    )


def _warn_fallback(op, args, a, ctx):
    from ..config import get

    if not get("MXNET_STORAGE_FALLBACK_LOG_VERBOSE"):
        return
    msg = fallback_message(op.name, [x.stype for x in args], ["default"] * op.num_outputs(a), ctx)
    if msg not in _LOGGED:
        _LOGGED.add(msg)
        _log.warning(msg)


def dispatch(op, args, a, out):
    """``invoke`` for a call with a sparse input: a sparse rule or the dense fallback."""
    from .ndarray import invoke

    from .. import autograd

    # While recording with a sparse variable, run dense so the tape holds the operator;
    # the sparse variable's gradient comes back through its dense copy (``_dense_var``).
    taped = autograd.is_recording() and any(x._ag is not None for x in args)
    rule = _TAPED_RULES.get(op.name) if taped else _RULES.get(op.name)
    res = rule(op, args, a) if rule is not None else None
    if res is None:
        if not (taped or _dense_native(op, args)):
            _warn_fallback(op, args, a, args[0].context)
        dense = [_dense_input(x) if x._sparse else x for x in args]
        res = invoke(op, dense, a)
    else:
        res = [res]
    if out is None:
        return res
    outs = out if isinstance(out, (list, tuple)) else [out]
    for dst, src in zip(outs, res):
        src.copyto(dst)
    return list(outs)


def _dense_input(x):
    """A dense copy of the sparse input ``x``; an autograd variable keeps its identity."""
    return wrap(x._read(), x.context) if x._ag is None else x._dense_var()


def _dense_native(op, args):
    """Calls MXNet runs natively with a dense output (no fallback message): a sparse plus
    or minus a dense array or a scalar."""
    return op.name in (
        "broadcast_add",
        "broadcast_sub",
        "_plus_scalar",
        "_minus_scalar",
        "_rminus_scalar",
    ) and any(x._sparse for x in args)


def _same_shape(args):
    return len(args) == 2 and args[0].shape == args[1].shape


def _unary(op, args, a):
    x = args[0]
    if len(args) != 1 or not x._sparse:
        return None
    x._read_parts()
    with device_scope(x.context):
        outs, _ = op.forward(a, [x._values], (), False)
    return type(x)._make(outs[0], x._aux, x.shape, x.context)


def _rsp_union(x, y, sign):
    xp = x.context.xp
    ix, iy = x._aux[0], y._aux[0]
    rows = xp.unique(xp.concatenate([ix, iy]))
    dtype = np.result_type(x._values.dtype, y._values.dtype)
    vals = xp.zeros((rows.shape[0],) + x.shape[1:], dtype)
    vals[xp.searchsorted(rows, ix)] += x._values
    vals[xp.searchsorted(rows, iy)] += sign * y._values
    return RowSparseNDArray._make(vals, (rows.astype(_IDX),), x.shape, x.context)


def _add_sub(op, args, a):
    if not _same_shape(args):
        return None
    x, y = args
    sign = -1 if op.name == "broadcast_sub" else 1
    for z in args:
        z._read_parts() if z._sparse else z._read()  # pending kvstore transfers
    with device_scope(x.context):
        if x.stype == y.stype == "row_sparse":
            return _rsp_union(x, y, sign)
        if x.stype == y.stype == "csr":
            dense = x._dense_xp() + sign * y._dense_xp()
            return cast_storage(wrap(dense, x.context), "csr")
    return None


def _mul(op, args, a):
    if not _same_shape(args) or not args[0]._sparse:
        return None
    x, y = args
    x._read_parts()
    xp = x.context.xp
    with device_scope(x.context):
        if x.stype == "row_sparse" and y.stype == "row_sparse":
            y._read_parts()
            keep = _sorted_member(xp, x._aux[0], y._aux[0])
            rows = x._aux[0][keep]
            vals = x._values[keep] * y._values[xp.searchsorted(y._aux[0], rows)]
            return RowSparseNDArray._make(vals, (rows,), x.shape, x.context)
        if x.stype == "row_sparse" and not y._sparse:
            vals = x._values * y._read()[x._aux[0]]
            return RowSparseNDArray._make(vals, x._aux, x.shape, x.context)
        if x.stype == "csr" and y.stype == "csr":
            return cast_storage(wrap(x._dense_xp() * y._dense_xp(), x.context), "csr")
    return None


_RULES = {name: _unary for name in _ZERO_PRESERVING}
_RULES.update(
    {
        "broadcast_add": _add_sub,
        "broadcast_sub": _add_sub,
        "elemwise_add": _add_sub,
        "elemwise_sub": _add_sub,
        "broadcast_mul": _mul,
        "elemwise_mul": _mul,
    }
)


# ---------------------------------------------------------------- dot
def dot(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None):
    """MXNet's ``sparse.dot``: csr x dense -> dense, csr.T x dense -> row_sparse,
    row_sparse.T x dense -> row_sparse; other combinations run dense (with the fallback
    message for sparse inputs)."""
    from . import dot as dense_dot

    if isinstance(lhs, CSRNDArray) and not rhs._sparse and not transpose_b:
        return _csr_dot(lhs, rhs, transpose_a)
    return dense_dot(lhs, rhs, transpose_a=transpose_a, transpose_b=transpose_b)


def _csr_dot(lhs, rhs, transpose_a):
    lhs._read_parts()
    ctx = lhs.context
    xp = ctx.xp
    w = rhs._read()
    rows, cols, vals = lhs._rows(), lhs._aux[1], lhs._values
    n, k = lhs.shape
    if w.ndim != 2 or w.shape[0] != (n if transpose_a else k):
        raise MXNetError(
            f"sparse.dot: shapes {lhs.shape}{'.T' if transpose_a else ''} and "
            f"{tuple(w.shape)} do not match"
        )
    from .sparse import _scatter_add

    with device_scope(ctx):
        contrib = vals[:, None].astype(w.dtype) * w[rows if transpose_a else cols]
        if not transpose_a:
            out = xp.zeros((n, w.shape[1]), w.dtype)
            _scatter_add(xp, out, rows, contrib)
            return wrap(out, ctx)
        used, inv = xp.unique(cols, return_inverse=True)
        out = xp.zeros((used.shape[0], w.shape[1]), w.dtype)
        _scatter_add(xp, out, inv.reshape(-1), contrib)
    return RowSparseNDArray._make(out, (used.astype(_IDX),), (k, w.shape[1]), ctx)


def _binary_fn(name):
    def fn(lhs, rhs):
        from . import _methods  # noqa: F401 - operators attached

        return {
            "add": lambda: lhs + rhs,
            "subtract": lambda: lhs - rhs,
            "multiply": lambda: lhs * rhs,
            "divide": lambda: lhs / rhs,
        }[name]()

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} with MXNet's sparse output storage rules."
    return fn


add, subtract, multiply, divide = (_binary_fn(n) for n in ("add", "subtract", "multiply", "divide"))


# ---------------------------------------------------------------- Embedding on a row_sparse table
def _embedding(op, args, a):
    """Embedding lookup in a row_sparse weight (a table of pulled rows, SparseEmbedding):
    the stored rows are read where they are, never as a dense table; a row that is not
    stored reads as zeros. The weight's gradient is row_sparse (the looked-up rows), as
    MXNet's sparse Embedding, also when autograd records."""
    from .. import autograd

    data, w = args
    if len(args) != 2 or data._sparse or w.stype != "row_sparse":
        return None
    w._read_parts()
    ctx, xp = w.context, w.context.xp
    with device_scope(ctx):
        idx = xp.clip(data._read().astype(_IDX), 0, a["input_dim"] - 1)
        rows, values = w._aux[0], w._values
        pos = xp.clip(xp.searchsorted(rows, idx), 0, max(rows.shape[0] - 1, 0))
        hit = (rows[pos] == idx) if rows.shape[0] else xp.zeros(idx.shape, bool)
        out = values[pos] if rows.shape[0] else xp.zeros(idx.shape + w.shape[1:], values.dtype)
        out = xp.where(hit[..., None], out, xp.zeros((), values.dtype))
    res = wrap(out, ctx)
    if autograd.is_recording() and w._ag is not None:
        tape_op = _rows_embedding_op(op)
        autograd._record_node(tape_op, a, [data, w], (idx, values), (out,), (idx, w.shape), [res])
    return res


_TAPE_OPS = {}


def _rows_embedding_op(op):
    """``op`` (Embedding or SparseEmbedding) with a backward that gives the row_sparse
    table's gradient from the saved ids and the table's shape."""
    cls = type(op)
    if cls not in _TAPE_OPS:
        from ..ops.sparse_ops import RowSparseGrad

        def backward(self, F, a, ins, outs, saved, ograds):
            idx, shape = saved
            g = ograds[0].reshape(-1, a["output_dim"]).astype(ins[1].dtype, copy=False)
            return None, RowSparseGrad(idx.reshape(-1), g, shape)

        _TAPE_OPS[cls] = type(f"{cls.__name__}RowSparse", (cls,), {"backward": backward})()
    return _TAPE_OPS[cls]


_RULES["Embedding"] = _RULES["_contrib_SparseEmbedding"] = _embedding
_TAPED_RULES = {"Embedding": _embedding, "_contrib_SparseEmbedding": _embedding}
