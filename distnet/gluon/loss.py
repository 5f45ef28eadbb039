"""Gluon losses, in MXNet's formulas: each ``hybrid_forward`` works on NDArrays and on
Symbols and returns one loss per sample (the mean over all but ``batch_axis``)."""

import math

from ..base import numeric_types
from ._common import GluonAssertionError, GluonValueError
from .block import HybridBlock
from . import _fused_loss

__all__ = [
    "Loss",
    "L2Loss",
    "L1Loss",
    "SigmoidBinaryCrossEntropyLoss",
    "SigmoidBCELoss",
    "SoftmaxCrossEntropyLoss",
    "SoftmaxCELoss",
    "KLDivLoss",
    "HuberLoss",
    "HingeLoss",
    "SquaredHingeLoss",
    "LogisticLoss",
    "TripletLoss",
    "PoissonNLLLoss",
    "CosineEmbeddingLoss",
    "SDMLLoss",
]


def _is_nd(F):
    return F.__name__.endswith("ndarray")


def _apply_weighting(F, loss, weight=None, sample_weight=None):
    """Scale ``loss`` by ``sample_weight`` (broadcast) and by the scalar ``weight``."""
    if sample_weight is not None:
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        if not isinstance(weight, numeric_types):
            raise GluonAssertionError("weight must be a number")
        loss = loss * weight
    return loss


def _reshape_like(F, x, y):
    """``x`` reshaped to ``y``'s shape (labels given as (N,) for predictions (N, 1))."""
    if _is_nd(F):
        return x if x.shape == y.shape else x.reshape(y.shape)
    return F.reshape_like(x, y)


class Loss(HybridBlock):
    """Base class of losses.

    Parameters
    ----------
    weight : float or None
        Global scalar weight of the loss.
    batch_axis : int
        The axis of samples; the loss is averaged over the other axes.
    """

    def __init__(self, weight, batch_axis, **kwargs):
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = batch_axis

    def __repr__(self):
        return f"{self.__class__.__name__}(batch_axis={self._batch_axis}, w={self._weight})"

    def _per_sample_mean(self, F, loss):
        return F.mean(loss, axis=self._batch_axis, exclude=True)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Compute the loss; override in subclasses."""
        raise NotImplementedError


class L2Loss(Loss):
    """``0.5 * weight * (label - pred)**2``, averaged per sample."""

    def __init__(self, weight=1.0, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample squared error."""
        label = _reshape_like(F, label, pred)
        loss = F.square(label - pred)
        loss = _apply_weighting(F, loss, self._weight / 2, sample_weight)
        return self._per_sample_mean(F, loss)


class L1Loss(Loss):
    """``|label - pred|``, averaged per sample."""

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample absolute error."""
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._per_sample_mean(F, loss)


class SigmoidBinaryCrossEntropyLoss(Loss):
    """Binary cross entropy of ``sigmoid(pred)`` (or of ``pred`` when ``from_sigmoid``)
    with labels in {0, 1}; ``pos_weight`` weighs the positive class."""

    def __init__(self, from_sigmoid=False, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def hybrid_forward(self, F, pred, label, sample_weight=None, pos_weight=None):
        """Per-sample binary cross entropy (numerically stable form on logits)."""
        label = _reshape_like(F, label, pred)
        if not self._from_sigmoid:
            softplus = F.Activation(-F.abs(pred), act_type="softrelu")
            if pos_weight is None:
                loss = F.relu(pred) - pred * label + softplus
            else:
                log_weight = 1 + _mul(F, pos_weight - 1, label)
                loss = pred - pred * label + log_weight * (softplus + F.relu(-pred))
        else:
            eps = 1e-12
            pos = F.log(pred + eps) * label
            if pos_weight is not None:
                pos = _mul(F, pos, pos_weight)
            loss = -(pos + F.log(1.0 - pred + eps) * (1.0 - label))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._per_sample_mean(F, loss)


def _mul(F, a, b):
    if isinstance(a, numeric_types):
        return b * a
    if isinstance(b, numeric_types):
        return a * b
    return F.broadcast_mul(a, b)


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    """Cross entropy of ``softmax(pred)`` along ``axis`` with class indices
    (``sparse_label``) or with distributions; ``from_logits`` means ``pred`` is already a
    log-probability."""

    def __init__(
        self, axis=-1, sparse_label=True, from_logits=False, weight=None, batch_axis=0, **kwargs
    ):
        super().__init__(weight, batch_axis, **kwargs)
        self._axis = axis
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample cross entropy."""
        if (
            sample_weight is None
            and self._weight is None
            and self._sparse_label
            and not self._from_logits
            and self._batch_axis == 0
            and self._axis in (-1, 1)
            and _is_nd(F)
        ):
            loss = _fused_loss.sparse_softmax_ce(pred, label)  # one tape node, same values
            if loss is not None:
                return loss
        if not self._from_logits:
            pred = F.log_softmax(pred, self._axis)
        if self._sparse_label:
            loss = -F.pick(pred, label, axis=self._axis, keepdims=True)
        else:
            label = _reshape_like(F, label, pred)
            loss = -F.sum(pred * label, axis=self._axis, keepdims=True)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._per_sample_mean(F, loss)


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class KLDivLoss(Loss):
    """Kullback-Leibler divergence ``label * (log(label) - pred)``, summed per sample;
    ``pred`` is a log-probability unless ``from_logits=False``."""

    def __init__(self, from_logits=True, axis=-1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample KL divergence."""
        if not self._from_logits:
            pred = F.log_softmax(pred, self._axis)
        loss = label * (F.log(label + 1e-12) - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.sum(loss, axis=self._batch_axis, exclude=True)


class HuberLoss(Loss):
    """Smooth L1: ``0.5/rho * err**2`` below ``rho``, ``err - 0.5*rho`` above."""

    def __init__(self, rho=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample Huber loss."""
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        loss = F.where(loss > self._rho, loss - 0.5 * self._rho, (0.5 / self._rho) * F.square(loss))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._per_sample_mean(F, loss)


class HingeLoss(Loss):
    """``max(0, margin - pred * label)`` with labels in {-1, 1}."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample hinge loss."""
        label = _reshape_like(F, label, pred)
        loss = F.relu(self._margin - pred * label)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._per_sample_mean(F, loss)


class SquaredHingeLoss(Loss):
    """``max(0, margin - pred * label)**2`` with labels in {-1, 1}."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample squared hinge loss."""
        label = _reshape_like(F, label, pred)
        loss = F.square(F.relu(self._margin - pred * label))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._per_sample_mean(F, loss)


class LogisticLoss(Loss):
    """``log(1 + exp(-pred * label))``; labels in {-1, 1} ('signed') or {0, 1}
    ('binary')."""

    def __init__(self, weight=None, batch_axis=0, label_format="signed", **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        if label_format not in ("signed", "binary"):
            raise GluonValueError(
                f"label_format can only be signed or binary, recieved {label_format}."
            )
        self._label_format = label_format

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        """Per-sample logistic loss."""
        label = _reshape_like(F, label, pred)
        if self._label_format == "signed":
            label = (label + 1.0) / 2.0
        loss = F.relu(pred) - pred * label + F.Activation(-F.abs(pred), act_type="softrelu")
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._per_sample_mean(F, loss)


class TripletLoss(Loss):
    """``max(0, |pred - positive|^2 - |pred - negative|^2 + margin)`` per sample."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, positive, negative):
        """Per-sample triplet loss."""
        positive = _reshape_like(F, positive, pred)
        negative = _reshape_like(F, negative, pred)
        loss = F.sum(
            F.square(positive - pred) - F.square(negative - pred),
            axis=self._batch_axis,
            exclude=True,
        )
        loss = F.relu(loss + self._margin)
        return _apply_weighting(F, loss, self._weight, None)


class PoissonNLLLoss(Loss):
    """Negative log likelihood of ``target`` under a Poisson distribution of rate
    ``exp(pred)`` (``from_logits``) or ``pred``; ``compute_full`` adds Stirling's term.
    Returns the mean over all elements (shape (1,)).

    Unlike MXNet 1.9.1, ``compute_full=True`` also works under ``autograd.record()``
    (MXNet's in-place update of the recorded loss raised there).
    """

    def __init__(self, weight=None, from_logits=True, batch_axis=0, compute_full=False, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def hybrid_forward(self, F, pred, target, sample_weight=None, epsilon=1e-08):
        """Mean Poisson negative log likelihood."""
        target = _reshape_like(F, target, pred)
        if self._from_logits:
            loss = F.exp(pred) - target * pred
        else:
            loss = pred - target * F.log(pred + epsilon)
        if self._compute_full:
            # Stirling's term applies where target > 1; computing it on max(target, 1)
            # keeps it finite (MXNet's 0 * log(0) gave NaN for zero targets).
            t1 = F._maximum_scalar(target, scalar=1.0)
            stirling = t1 * F.log(t1) - t1 + 0.5 * F.log(2 * math.pi * t1)
            loss = loss + stirling * (target > 1)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.mean(loss)


class CosineEmbeddingLoss(Loss):
    """``1 - cos(input1, input2)`` for label 1, ``max(0, cos - margin)`` for label -1;
    one value per sample, shape (N, 1)."""

    def __init__(self, weight=None, batch_axis=0, margin=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, input1, input2, label, sample_weight=None):
        """Per-sample cosine embedding loss."""
        input1 = _reshape_like(F, input1, input2)
        label = F.reshape(label, shape=(-1, 1))
        cos_sim = self._cosine_similarity(F, input1, input2)
        y_1 = label == 1
        y_minus_1 = label == -1
        cos_sim_a = (1 - cos_sim) * y_1
        cos_sim_b = F.relu(y_minus_1 * (cos_sim - self._margin))
        loss = cos_sim_a + cos_sim_b
        return _apply_weighting(F, loss, self._weight, sample_weight)

    @staticmethod
    def _cosine_similarity(F, x, y, axis=-1):
        x_norm = F.reshape(F.norm(x, axis=axis), shape=(-1, 1))
        y_norm = F.reshape(F.norm(y, axis=axis), shape=(-1, 1))
        x_dot_y = F.reshape(F.sum(x * y, axis=axis), shape=(-1, 1))
        return x_dot_y / F._maximum_scalar(x_norm * y_norm, scalar=1e-12)


class SDMLLoss(Loss):
    """Smoothed Deep Metric Learning loss (Bonadiman et al., arXiv:1905.12786): for
    batches ``x1``, ``x2`` of shape (batch_size, dim) where ``x2[i]`` is the positive
    partner of ``x1[i]`` and every other row a negative, the KL divergence between the
    softmax over negative squared distances ``-|x1[i] - x2[j]|**2`` and the identity
    matrix smoothed by ``smoothing_parameter``. One value per sample, as MXNet 1.9.1.

    Unlike MXNet's, which reads ``x1.shape``, it also works on Symbols (hybridized).

    Parameters
    ----------
    smoothing_parameter : float, default 0.3
        Probability mass spread evenly over the other ``batch_size - 1`` rows (< 1).
    weight : float or None, default 1.0
        Global scalar weight of the loss.
    batch_axis : int, default 0
    """

    def __init__(self, smoothing_parameter=0.3, weight=1.0, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self.kl_loss = KLDivLoss(from_logits=True)
        self.smoothing_parameter = smoothing_parameter

    def _labels(self, F, distances):
        """The identity over the batch, smoothed: ``1 - s`` on the diagonal, ``s / (n-1)``
        elsewhere."""
        idx = F.contrib.arange_like(distances, axis=0)
        gold = F.broadcast_equal(F.expand_dims(idx, 1), F.expand_dims(idx, 0))
        others = F.sum(F.ones_like(idx)) - 1
        off = F.broadcast_div((1 - gold) * self.smoothing_parameter, others)
        return gold * (1 - self.smoothing_parameter) + off

    def hybrid_forward(self, F, x1, x2):
        """Per-sample SDML loss of aligned batches ``x1`` and ``x2``."""
        if _is_nd(F) and x1.shape != x2.shape:
            raise GluonValueError(
                f"SDMLLoss: x1 and x2 must have the same shape, got {x1.shape} and {x2.shape}"
            )
        diffs = F.broadcast_sub(F.expand_dims(x1, 1), F.expand_dims(x2, 0))
        distances = F.sum(F.square(diffs), axis=2)
        log_probabilities = F.log_softmax(-distances, axis=1)
        return self.kl_loss(log_probabilities, self._labels(F, distances))


class CTCLoss(Loss):
    """Connectionist Temporal Classification loss (Graves et al. 2006), one value per
    sequence.

    Parameters
    ----------
    layout : {'NTC', 'TNC'}, default 'NTC'
        Layout of ``pred`` (unnormalised scores; softmax is applied inside).
    label_layout : {'NT', 'TN'}, default 'NT'
        Layout of ``label``: class indices 0..C-2 padded with -1 (the blank is the last
        class, C-1).
    weight : float or None

    ``forward(pred, label, pred_lengths=None, label_lengths=None, sample_weight=None)``.
    """

    def __init__(self, layout="NTC", label_layout="NT", weight=None, **kwargs):
        if layout not in ("NTC", "TNC") or label_layout not in ("NT", "TN"):
            raise GluonValueError(
                f"CTCLoss: layout must be 'NTC' or 'TNC' and label_layout 'NT' "
                f"or 'TN', got {layout!r} and {label_layout!r}"
            )
        self._layout = layout
        self._label_layout = label_layout
        super().__init__(weight, label_layout.find("N"), **kwargs)

    def hybrid_forward(
        self, F, pred, label, pred_lengths=None, label_lengths=None, sample_weight=None
    ):
        """Per-sequence CTC loss, shape (N,)."""
        if self._layout == "NTC":
            pred = F.swapaxes(pred, dim1=0, dim2=1)
        if self._batch_axis == 1:
            label = F.swapaxes(label, dim1=0, dim2=1)
        extra = {}
        if pred_lengths is not None:
            extra["data_lengths"] = pred_lengths
        if label_lengths is not None:
            extra["label_lengths"] = label_lengths
        loss = F.CTCLoss(
            pred,
            label,
            use_data_lengths=pred_lengths is not None,
            use_label_lengths=label_lengths is not None,
            blank_label="last",
            **extra,
        )
        return _apply_weighting(F, loss, self._weight, sample_weight)


__all__.append("CTCLoss")
