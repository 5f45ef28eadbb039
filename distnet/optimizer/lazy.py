"""Lazy (row-sparse) updates, as MXNet 1.9.1's sparse optimizer kernels.

With a row_sparse gradient and a dense weight, ``sgd`` (``lazy_update=True``), ``adam``
(``lazy_update=True``) and ``adagrad`` update only the rows the gradient holds: weight decay,
momentum and the other states of the other rows stay as they are. ``ftrl``'s sparse kernel
needs a row_sparse weight in MXNet 1.9.1; with a dense weight MXNet falls back to the dense
update of every row, and so does distnet (checked against MXNet in
tests/sparse/test_sparse_optim.py). Each optimizer's own dense ``_step``
runs on the gathered rows, so the formulas are the dense ones. Other optimizers (and sgd/
adam with ``lazy_update=False``) apply the standard update with the gradient made dense,
as MXNet does.
"""

__all__ = ["is_lazy", "lazy_step", "sparse_grad_parts"]

_LAZY = {"sgd": "lazy_update", "adam": "lazy_update", "adagrad": None}


def is_lazy(opt):
    """Whether ``opt`` updates only the rows of a row_sparse gradient."""
    name = type(opt).__name__.lower()
    if name == "ftrl":  # MXNet's lazy ftrl kernel runs for row_sparse weights only
        return bool(opt.__dict__.get("_rsp_weight"))
    if name not in _LAZY:
        return False
    flag = _LAZY[name]
    return flag is None or bool(getattr(opt, flag, True))


def sparse_grad_parts(grad):
    """``(row ids, rows)`` raw arrays of a RowSparseNDArray gradient."""
    grad._read_parts()
    return grad._aux[0], grad._values


def _gather(state, rows):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(_gather(s, rows) for s in state)
    return state[rows]


def _scatter(state, rows, part):
    if state is None:
        return
    if isinstance(state, tuple):
        for s, p in zip(state, part):
            _scatter(s, rows, p)
        return
    state[rows] = part


def lazy_step(opt, xp, index, w, rows, values, state, lr, wd):
    """Step ``opt`` on rows ``rows`` of the raw weight ``w`` and raw states ``state`` (as
    ``Builtin._step``) with the gradient rows ``values``."""
    if not rows.shape[0]:
        return
    sub_w = w[rows]
    sub_s = _gather(state, rows)
    opt._step(xp, index, sub_w, values.astype(w.dtype, copy=False), sub_s, lr, wd)
    w[rows] = sub_w
    _scatter(state, rows, sub_s)
    scratch = opt.__dict__.get("_scratch")
    if scratch:  # row counts change every batch: drop the scratch of this shape
        for key in [k for k in scratch if k[0] == sub_w.shape]:
            del scratch[key]


def dense_grad(xp, w, rows, values):
    """The dense gradient of a row_sparse one (non-lazy optimizers)."""
    out = xp.zeros(w.shape, w.dtype)
    out[rows] = values
    return out


def step_sparse(opt, xp, index, w, grad, state, lr, wd):
    """One update of raw weight ``w`` with the RowSparseNDArray ``grad`` (a csr gradient
    updates densely: MXNet has no lazy kernel for it)."""
    if grad.stype == "csr":
        return opt._step(xp, index, w, grad._read().astype(w.dtype, copy=False), state, lr, wd)
    rows, values = sparse_grad_parts(grad)
    if is_lazy(opt):
        lazy_step(opt, xp, index, w, rows, values, state, lr, wd)
    else:
        opt._step(xp, index, w, dense_grad(xp, w, rows, values), state, lr, wd)
