"""Loss operators: SoftmaxOutput, the regression outputs, MakeLoss/make_loss and
softmax_cross_entropy.

The ``*Output`` operators and MakeLoss are loss outputs: their backward ignores the head
gradient and returns the gradient of the loss they stand for, as MXNet's do.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Float, Bool, enum
from .registry import Op, register
from ._util import xp_of
from .softmax import _softmax
from .elemwise import _sigmoid


def _int_labels(xp, op, label, k, ignore=None, negative=False):
    """``label`` as int64 class indices; MXNetError if one is outside ``[0, k)`` (entries
    equal to ``ignore`` are exempt, and with ``negative`` every label below 0)."""
    lab = label.astype(np.int64)
    bad = (lab >= k) if negative else (lab < 0) | (lab >= k)
    if ignore is not None:
        bad &= lab != int(ignore)
    if bool(bad.any()):
        first = label.reshape(-1)[int(xp.argmax(bad.reshape(-1)))]
        raise MXNetError(
            f"operator {op}: label {float(first):g} is out of range for {k} "
            f"classes (expected 0..{k - 1})"
        )
    return lab


def _check_size(op, label, want_size, data_shape):
    if label.size < want_size:
        raise MXNetError(
            f"operator {op}: label has shape {tuple(label.shape)}, expected "
            f"{want_size} entries for data of shape {tuple(data_shape)}"
        )


@register
class SoftmaxOutput(Op):
    """Softmax forward; backward gives the cross-entropy gradient ``softmax - onehot(label)``
    times ``grad_scale`` over the normaliser (1, the batch, or the count of labels other
    than ``ignore_label``). The softmax runs over axis 1 with ``multi_output``, over the
    last axis with ``preserve_shape``, else over everything but axis 0.

    A label shaped like the data holds class probabilities (one-hot or soft targets): the
    gradient is then ``grad_scale * (softmax - label)``, unnormalised, as in MXNet.

    ``out_grad=True`` multiplies by the head gradient; MXNet 1.9.1 multiplies by the output
    instead, a bug distnet does not copy.
    """

    name = "SoftmaxOutput"
    aliases = ("Softmax",)
    inputs = ("data", "label")
    loss_output = True
    params = {
        "grad_scale": Attr(Float, 1.0),
        "ignore_label": Attr(Float, -1.0),
        "multi_output": Attr(Bool, False),
        "use_ignore": Attr(Bool, False),
        "preserve_shape": Attr(Bool, False),
        "normalization": Attr(enum("batch", "null", "valid"), "null"),
        "out_grad": Attr(Bool, False),
        "smooth_alpha": Attr(Float, 0.0),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None], aux_shapes
        d = tuple(d)
        if a["multi_output"]:
            want = (d[0], int(np.prod(d[2:], dtype=np.int64)))
        else:
            want = d[:-1] if len(d) > 1 else d
        lab = in_shapes[1]
        if lab is None:
            lab = want
        elif tuple(lab) != d and int(np.prod(lab, dtype=np.int64)) != int(
            np.prod(want, dtype=np.int64)
        ):
            raise MXNetError(
                f"operator {self.name}: label has shape {tuple(lab)}, expected "
                f"{want} for data of shape {d}"
            )
        return [d, tuple(lab)], [d], aux_shapes

    @staticmethod
    def _view(a, x):
        """``x`` as the (rows, classes[, positions]) array the softmax runs on, and its axis."""
        if a["multi_output"]:
            return x.reshape(x.shape[0], x.shape[1], -1), 1
        if a["preserve_shape"]:
            return x.reshape(-1, x.shape[-1]), 1
        return x.reshape(x.shape[0], -1), 1

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        view, axis = self._view(a, x)
        return (_softmax(xp_of(x), view, axis, None).reshape(x.shape),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x, label = ins
        xp = xp_of(x)
        if label.shape == x.shape and x.ndim > 1:
            # a label shaped like the data is a probability per class (one-hot or soft):
            # MXNet's gradient is grad_scale * (p - label), with no normalisation
            grad = (outs[0] - label.astype(x.dtype, copy=False)) * x.dtype.type(a["grad_scale"])
            if a["out_grad"] and ograds and ograds[0] is not None:
                grad *= ograds[0]
            return grad, None
        p, _ = self._view(a, outs[0])
        k = p.shape[1]
        rows = p.shape[0] * (p.shape[2] if p.ndim == 3 else 1)
        _check_size(self.name, label, rows, x.shape)
        # MXNet reads the first `rows` labels whatever the label's shape
        flat = label.reshape(-1)[:rows].reshape((p.shape[0],) + p.shape[2:])
        ignore = a["ignore_label"]
        # a negative label (MXNet's invalid_label padding, -1) names no class: its row's
        # gradient is the softmax itself, as in MXNet; a label >= k is an error
        lab = _int_labels(
            xp, self.name, flat, k, ignore if a["use_ignore"] else None, negative=True
        )
        grad = self._target_grad(xp, a, p, lab, k)
        if a["use_ignore"]:
            keep = (flat != ignore).astype(p.dtype)
            grad *= keep[:, None]  # broadcast over the class axis
        grad *= p.dtype.type(a["grad_scale"] / self._normaliser(a, flat, ignore))
        grad = grad.reshape(x.shape)
        if a["out_grad"] and ograds and ograds[0] is not None:
            grad *= ograds[0]
        return grad, None

    @staticmethod
    def _target_grad(xp, a, p, lab, k):
        """``p - target``: the one-hot target, smoothed by ``smooth_alpha``."""
        alpha = a["smooth_alpha"]
        grad = p.copy()
        if alpha:
            grad -= p.dtype.type(alpha / (k - 1))
        hit = p.dtype.type(1.0 - alpha - (alpha / (k - 1) if alpha else 0.0))
        # ignored rows are zeroed afterwards; minimum/maximum: numpy 2's clip is ~4x slower
        hits = hit * (lab >= 0).astype(p.dtype) if bool((lab < 0).any()) else hit
        lab = xp.minimum(xp.maximum(lab, 0), k - 1)
        if p.ndim == 3:
            n = xp.arange(p.shape[0])[:, None]
            m = xp.arange(p.shape[2])[None, :]
            grad[n, lab, m] -= hits
        else:
            grad[xp.arange(p.shape[0]), lab] -= hits
        return grad

    @staticmethod
    def _normaliser(a, flat, ignore):
        """What the gradient is divided by. With ``multi_output`` MXNet also divides by the
        positions per sample, except for 'valid' (checked against 1.9.1)."""
        norm = a["normalization"]
        if norm == "valid":
            return max(1, int((flat != ignore).sum()))
        if a["multi_output"]:
            return flat.size if norm == "batch" else flat.size // flat.shape[0]
        return flat.shape[0] if norm == "batch" else 1


class _Regression(Op):
    """``data``/``label`` loss outputs whose gradient is
    ``grad_scale / (label.size / batch) * dloss(out, label)``."""

    inputs = ("data", "label")
    loss_output = True
    params = {"grad_scale": Attr(Float, 1.0)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        d, lab = in_shapes
        if d is None:
            return in_shapes, [None], aux_shapes
        d = tuple(d)
        want = (d[0],) if len(d) == 2 and d[1] == 1 else d
        if lab is None:
            lab = want
        elif lab[0] != d[0] or int(np.prod(lab, dtype=np.int64)) != int(np.prod(d, dtype=np.int64)):
            raise MXNetError(
                f"operator {self.name}: label has shape {tuple(lab)}, expected "
                f"{want} for data of shape {d}"
            )
        return [d, tuple(lab)], [d], aux_shapes

    def link(self, xp, x):
        return x.copy()

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (self.link(xp_of(x), x),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x, label = ins
        y = outs[0]
        if label.size != y.size:
            raise MXNetError(
                f"operator {self.name}: label has shape {tuple(label.shape)}, "
                f"expected {tuple(y.shape)}"
            )
        diff = y - label.reshape(y.shape).astype(y.dtype, copy=False)
        num_output = label.size // label.shape[0]
        grad = self.dloss(xp_of(x), diff) * y.dtype.type(a["grad_scale"] / num_output)
        return grad, None

    @staticmethod
    def dloss(xp, diff):
        return diff


@register
class LinearRegressionOutput(_Regression):
    """Identity forward; squared-error gradient ``out - label``."""

    name = "LinearRegressionOutput"


@register
class LogisticRegressionOutput(_Regression):
    """Sigmoid forward; cross-entropy gradient ``sigmoid(data) - label``."""

    name = "LogisticRegressionOutput"

    def link(self, xp, x):
        return _sigmoid(xp, x)


@register
class MAERegressionOutput(_Regression):
    """Identity forward; absolute-error gradient ``sign(out - label)``."""

    name = "MAERegressionOutput"

    @staticmethod
    def dloss(xp, diff):
        return xp.sign(diff)


@register
class MakeLoss(Op):
    """Mark ``data`` as a loss: identity forward; the gradient is ``grad_scale`` over the
    normaliser (1, the batch size, or the count of elements above ``valid_thresh``),
    whatever the head gradient."""

    name = "MakeLoss"
    loss_output = True
    params = {
        "grad_scale": Attr(Float, 1.0),
        "valid_thresh": Attr(Float, 0.0),
        "normalization": Attr(enum("batch", "null", "valid"), "null"),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        return (ins[0].copy(),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        norm = a["normalization"]
        if norm == "batch":
            div = x.shape[0]
        elif norm == "valid":
            div = max(1, int((x > a["valid_thresh"]).sum()))
        else:
            div = 1
        return (xp.full(x.shape, a["grad_scale"] / div, x.dtype),)


@register
class make_loss(Op):
    """Mark ``data`` as a loss: identity forward, gradient ones (head gradient ignored)."""

    name = "make_loss"
    loss_output = True

    def output_names(self, a):
        return ("loss",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        return (ins[0].copy(),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        return (xp_of(x).ones(x.shape, x.dtype),)


@register
class softmax_cross_entropy(Op):
    """``sum(-log(softmax(data)[label]))`` over the batch, shape ``(1,)``; ``data`` is
    ``(N, classes)`` and ``label`` ``(N,)``."""

    name = "softmax_cross_entropy"
    inputs = ("data", "label")

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        lab = in_shapes[1] if in_shapes[1] is not None else (None if d is None else (d[0],))
        return [d, lab], [(1,)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, label = ins
        xp = xp_of(x)
        if x.ndim != 2 or label.shape != (x.shape[0],):
            raise MXNetError(
                f"operator softmax_cross_entropy: expected data (N, classes) and "
                f"label (N,), got {tuple(x.shape)} and {tuple(label.shape)}"
            )
        lab = _int_labels(xp, self.name, label, x.shape[1])
        z = x - x.max(axis=1, keepdims=True)
        logp = z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[xp.arange(x.shape[0]), lab].sum()
        return (loss.reshape(1).astype(x.dtype),), (logp, lab)

    def backward(self, F, a, ins, outs, saved, ograds):
        logp, lab = saved
        xp = xp_of(logp)
        grad = xp.exp(logp)
        grad[xp.arange(grad.shape[0]), lab] -= 1
        return grad * ograds[0].reshape(()), None


@register
class SVMOutput(Op):
    """Identity forward; the gradient of a one-vs-rest hinge loss (``use_linear``: L1-SVM,
    else the squared hinge of L2-SVM) for integer ``label`` per row of ``data``, scaled by
    ``regularization_coefficient``."""

    name = "SVMOutput"
    inputs = ("data", "label")
    loss_output = True
    params = {
        "margin": Attr(Float, 1.0),
        "regularization_coefficient": Attr(Float, 1.0),
        "use_linear": Attr(Bool, False),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None], aux_shapes
        return [tuple(d), tuple(d[:1]) + tuple(d[2:])], [tuple(d)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        return (ins[0].copy(),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x, label = ins
        xp = xp_of(x)
        x2 = x.reshape(x.shape[0], -1)
        k = label.reshape(-1).astype(np.int64)
        if k.size != x2.shape[0] or (k.size and (k.min() < 0 or k.max() >= x2.shape[1])):
            raise MXNetError(
                f"SVMOutput: label must hold {x2.shape[0]} class indices in "
                f"[0, {x2.shape[1]}), got shape {tuple(label.shape)}"
            )
        m, c = a["margin"], a["regularization_coefficient"]
        is_label = xp.arange(x2.shape[1])[None, :] == k[:, None]
        if a["use_linear"]:
            grad = xp.where(is_label, xp.where(m > x2, -c, 0.0), xp.where(m > -x2, c, 0.0))
        else:
            grad = xp.where(
                is_label,
                -c * xp.where(m > x2, 2 * (m - x2), 0),
                c * xp.where(m > -x2, 2 * (m + x2), 0),
            )
        return (grad.reshape(x.shape).astype(x.dtype), None)
