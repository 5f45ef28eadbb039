"""``SoftmaxCrossEntropyLoss`` on NDArrays as ONE recorded operation.

The block's ``hybrid_forward`` composes ``log_softmax``, ``pick``, ``negative`` and
``mean``: four operator calls and four tape nodes, about 45 us of Python per forward and
as much again in backward for a (64, 10) batch, more than the arithmetic. For the common
case (2-D predictions, integer labels, no weights, batch axis 0) the per-sample mean of the
picked (N, 1) values is the values themselves, so the loss is ``-log_softmax(pred)[label]``
and this module computes it, and its gradient, with a handful of array calls recorded as
one tape node.

The values are bitwise those of the composition: the forward makes the same array calls on
the same values (``mean`` over one element divides by 1), and the gradient
``exp(logp) * o`` with ``o`` subtracted at the label equals what ``log_softmax``'s backward
computes from ``pick``'s one-hot gradient (see ``_SparseSoftmaxCE.backward``). Symbols
(``hybridize()``d losses) keep the composition, which is MXNet's graph.
"""

import numpy as np

from .. import autograd as _ag
from ..backend import device_scope, xp_of
from ..ndarray.ndarray import NDArray, wrap
from ..ops._indexing import along_axis_key, as_indices

__all__ = []


def sparse_softmax_ce(pred, label):
    """Per-sample softmax cross entropy of (N, C) ``pred`` and class indices ``label``
    ((N,) or (N, 1); fractional values truncate, out-of-range ones clip, as ``pick``) along
    the last axis; an (N,) NDArray, recorded as one tape node. None where the composition
    must run instead (other ranks or dtypes, inputs on different contexts), so that its
    errors and behaviour stay exactly as they were."""
    if not (isinstance(pred, NDArray) and isinstance(label, NDArray)):
        return None
    data, lab = pred._data, label._data  # shapes and dtypes only: no wait needed
    n = data.shape[0] if data.ndim == 2 else -1
    if (
        n < 0
        or data.dtype.kind != "f"
        or lab.shape not in ((n,), (n, 1))
        or (label._ctx is not pred._ctx and label._ctx != pred._ctx)
    ):
        return None
    data, lab = pred._read(), label._read()
    ctx = pred._ctx
    with device_scope(ctx):  # cupy allocates on its current device: the inputs'
        loss, saved = _forward(data, lab)
    res = wrap(loss, ctx)
    if _ag._recording and _ag._state.recording and (pred._ag is not None or label._ag is not None):
        _ag._record_node(_OP, None, (pred, label), (data, lab), (loss,), saved, (res,))
    return res


def _forward(x, lab):
    """(loss (N,), (logp, key)): ``log_softmax``'s, ``pick``'s and ``negative``'s calls."""
    xp = xp_of(x)
    if xp is np:  # the reductions ndarray.max/.sum run, without their Python wrappers
        z = x - np.maximum.reduce(x, axis=-1, keepdims=True)
        logp = z - np.log(np.add.reduce(np.exp(z), axis=-1, keepdims=True))
    else:
        z = x - x.max(axis=-1, keepdims=True)
        logp = z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))
    pos = as_indices(xp, lab.reshape(-1, 1), x.shape[1], "clip", "pick")
    key = (_rows(x.shape[0]), pos) if xp is np else along_axis_key(xp, pos, 1)
    loss = logp[key]  # a fresh (N, 1) array: advanced indexing copies
    xp.negative(loss, out=loss)
    return loss.reshape(-1), (logp, key)


_ROWS = {}


def _rows(n):
    """``arange(n)`` as an (n, 1) column (read-only, made once per batch size): the row
    half of the pick key."""
    rows = _ROWS.get(n)
    if rows is None:
        rows = np.arange(n).reshape(n, 1)
        rows.flags.writeable = False
        if len(_ROWS) < 64:
            _ROWS[n] = rows
    return rows


class _SparseSoftmaxCE:
    """The tape's operator for ``sparse_softmax_ce`` (not a registered operator: it never
    appears in a Symbol)."""

    name = "SoftmaxCrossEntropyLoss"
    loss_output = False
    nd_backward = True
    backward_req = False

    def backward(self, F, attrs, ins, outs, saved, ograds):
        """Gradient for ``pred`` (None for the label).

        The composition computes ``(g - exp(logp) * sum(g)) / 1`` with ``g`` zero but
        ``-o`` at the label, so ``sum(g) = -o`` exactly: off the label ``0 - exp(logp)*(-o)
        = exp(logp)*o`` and at it ``-o + exp(logp)*o``, the same roundings as below
        (IEEE negation is exact; a zero may only change sign)."""
        logp, key = saved
        if not isinstance(ograds[0], NDArray):  # NDArrays only when create_graph
            o = ograds[0].reshape(-1, 1)
            grad = F.exp(logp)
            grad *= o
            grad[key] -= o
            return grad, None
        return _nd_backward(F, ins[0], logp, key, ograds[0]), None


def _nd_backward(F, pred, logp, key, o):
    """The same gradient built from recorded NDArray operators (second-order gradients)."""
    xp = xp_of(logp)
    onehot = xp.zeros_like(logp)
    onehot[key] = 1
    o = F.reshape(o, shape=(-1, 1))
    probs = F.exp(F.log_softmax(pred, axis=-1))
    return F.broadcast_mul(probs, o) - F.broadcast_mul(wrap(onehot, pred._ctx), o)


_OP = _SparseSoftmaxCE()
