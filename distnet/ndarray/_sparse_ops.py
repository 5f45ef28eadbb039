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

    rule = _RULES.get(op.name)
    if rule is not None and _recorded(args):
        rule = None  # the sparse rules are not differentiable: the recorded dense path
    res = rule(op, args, a) if rule is not None else None
    if res is None:
        if not _dense_native(op, args):
            _warn_fallback(op, args, a, args[0].context)
        dense = [_dense_view(x) if x._sparse else x for x in args]
        res = invoke(op, dense, a)
    else:
        res = [res]
    if out is None:
        return res
    outs = out if isinstance(out, (list, tuple)) else [out]
    for dst, src in zip(outs, res):
        src.copyto(dst)
    return list(outs)


def _recorded(args):
    """Whether autograd records this call: it is on and an input is in a graph."""
    from .. import autograd as ag

    return ag.is_recording() and any(getattr(x, "_ag", None) is not None for x in args)


def _dense_view(x):
    """The dense fallback input for sparse ``x``, on x's autograd record (a variable's
    gradient then flows into x's gradient buffer, as in MXNet)."""
    d = wrap(x._read(), x.context)
    d._ag = x._ag
    return d


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
