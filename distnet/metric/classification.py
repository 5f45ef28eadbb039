"""Classification metrics: Accuracy, TopKAccuracy, F1, MCC, PCC, Perplexity,
CrossEntropy and NegativeLogLikelihood."""

import math

import numpy

from ..base import MXNetError
from ..ndarray.ndarray import read_raw
from .base import EvalMetric, register, alias, check_label_shapes, _to_numpy

__all__ = [
    "Accuracy",
    "TopKAccuracy",
    "F1",
    "MCC",
    "PCC",
    "Perplexity",
    "CrossEntropy",
    "NegativeLogLikelihood",
]


def _argmax(pred, axis):
    """argmax on the array's own device, then to numpy (only the small result moves)."""
    data = read_raw(pred)
    return _to_numpy(data.argmax(axis=axis))


@register
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of predictions equal to the labels (argmax over ``axis`` when the
    prediction has one more dimension than the label)."""

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(
            name,
            axis=axis,
            output_names=output_names,
            label_names=label_names,
            has_global_stats=True,
        )
        self.axis = axis

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            if tuple(pred.shape) != tuple(label.shape) and len(pred.shape) > 1:
                pred = _argmax(pred, self.axis)
            pred = _to_numpy(pred).astype("int32").ravel()
            label = _to_numpy(label).astype("int32").ravel()
            check_label_shapes(label, pred)
            self._add(int((pred == label).sum()), len(pred))


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of labels among the ``top_k`` highest predictions; named
    ``top_k_accuracy_<k>``."""

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(
            name,
            top_k=top_k,
            output_names=output_names,
            label_names=label_names,
            has_global_stats=True,
        )
        self.top_k = top_k
        if self.top_k <= 1:
            raise MXNetError("Please use Accuracy if top_k is no more than 1")
        self.name += f"_{self.top_k}"

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _to_numpy(pred).astype("float32")
            if pred.ndim > 2:
                raise MXNetError(
                    f"Predictions should be no more than 2 dims, got shape {pred.shape}"
                )
            label = _to_numpy(label).astype("int32").ravel()
            check_label_shapes(label, pred)
            if pred.ndim == 1:
                correct = (numpy.argpartition(pred, -1) == label).sum()
            else:
                k = min(pred.shape[1], self.top_k)
                top = numpy.argpartition(pred, -k, axis=1)[:, -k:]
                correct = (top == label[:, None]).any(axis=1).sum()
            self._add(int(correct), pred.shape[0])


class _BinaryStats:
    """Confusion counts of binary predictions, local and global."""

    def __init__(self):
        self.local = numpy.zeros(4, numpy.int64)  # tp, fp, fn, tn
        self.glob = numpy.zeros(4, numpy.int64)

    def update(self, label, pred):
        pred = _to_numpy(pred)
        label = _to_numpy(label).astype("int32").ravel()
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise ValueError(f"{self.owner} currently only supports binary classification.")
        pred_true = numpy.argmax(pred, axis=1) == 1
        label_true = label == 1
        counts = numpy.array(
            [
                (pred_true & label_true).sum(),
                (pred_true & ~label_true).sum(),
                (~pred_true & label_true).sum(),
                (~pred_true & ~label_true).sum(),
            ]
        )
        self.local += counts
        self.glob += counts

    @staticmethod
    def fscore(c):
        tp, fp, fn, _ = (float(x) for x in c)
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.0

    @staticmethod
    def mcc(c):
        if not c.sum():
            return 0.0
        tp, fp, fn, tn = (float(x) for x in c)
        denom = 1.0
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.0:
                denom *= t
        return (tp * tn - fp * fn) / math.sqrt(denom)


class _BinaryMetric(EvalMetric):
    """F1/MCC: ``macro`` averages the per-update score; ``micro`` scores all counts."""

    _score = None

    def __init__(self, name, output_names=None, label_names=None, average="macro"):
        self.average = average
        self._stats = _BinaryStats()
        self._stats.owner = type(self).__name__
        super().__init__(
            name=name, output_names=output_names, label_names=label_names, has_global_stats=True
        )

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self._stats.update(label, pred)
        score, stats = type(self)._score, self._stats
        if self.average == "macro":
            self._add(score(stats.local), 1)
            self.global_sum_metric += score(stats.glob) - score(stats.local)
            stats.local[:] = 0
            stats.glob[:] = 0
        else:
            self.sum_metric = score(stats.local) * int(stats.local.sum())
            self.global_sum_metric = score(stats.glob) * int(stats.glob.sum())
            self.num_inst = int(stats.local.sum())
            self.global_num_inst = int(stats.glob.sum())

    def reset(self):
        super().reset()
        if hasattr(self, "_stats"):
            self._stats.local[:] = 0
            self._stats.glob[:] = 0

    def reset_local(self):
        super().reset_local()
        self._stats.local[:] = 0


@register
class F1(_BinaryMetric):
    """F1 score of binary predictions (class 1 positive, argmax of 2-column preds)."""

    _score = staticmethod(_BinaryStats.fscore)

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)


@register
class MCC(_BinaryMetric):
    """Matthews correlation coefficient of binary predictions."""

    _score = staticmethod(_BinaryStats.mcc)

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)


@register
class Perplexity(EvalMetric):
    """``exp`` of the mean negative log-probability of the labels (``ignore_label``
    entries skipped)."""

    def __init__(
        self, ignore_label, axis=-1, name="perplexity", output_names=None, label_names=None
    ):
        super().__init__(
            name,
            ignore_label=ignore_label,
            output_names=output_names,
            label_names=label_names,
            has_global_stats=True,
        )
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        if len(labels) != len(preds):
            raise ValueError(
                f"Shape of labels {len(labels)} does not match shape of predictions {len(preds)}"
            )
        loss, num = 0.0, 0
        for label, pred in zip(labels, preds):
            pred = numpy.moveaxis(_to_numpy(pred), self.axis, -1)
            label = _to_numpy(label).ravel()
            if label.size != pred.size / pred.shape[-1]:
                raise MXNetError(f"shape mismatch: {label.shape} vs. {pred.shape}")
            prob = numpy.take_along_axis(
                pred.reshape(-1, pred.shape[-1]), label.astype(numpy.int64)[:, None], 1
            )[:, 0]
            if self.ignore_label is not None:
                ignore = label == self.ignore_label
                num -= float(ignore.sum())
                prob = numpy.where(ignore, 1.0, prob).astype(prob.dtype)
            loss -= float(numpy.log(numpy.maximum(prob, 1e-10)).sum())
            num += prob.size
        self._add(loss, num)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


def _label_log_prob_sum(label, pred, eps):
    label, pred = _to_numpy(label).ravel(), _to_numpy(pred)
    if label.shape[0] != pred.shape[0]:
        raise MXNetError(f"{label.shape[0]} labels but {pred.shape[0]} predictions")
    prob = pred[numpy.arange(label.shape[0]), numpy.int64(label)]
    return float((-numpy.log(prob + eps)).sum()), label.shape[0]


@register
@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean of ``-log(p[label] + eps)`` over samples."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(
            name, eps=eps, output_names=output_names, label_names=label_names, has_global_stats=True
        )
        self.eps = eps

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self._add(*_label_log_prob_sum(label, pred, self.eps))


@register
@alias("nll_loss")
class NegativeLogLikelihood(CrossEntropy):
    """Mean negative log-likelihood of the labels (the same value as CrossEntropy)."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(eps=eps, name=name, output_names=output_names, label_names=label_names)


@register
class PCC(EvalMetric):
    """Multi-class Matthews correlation (from the confusion matrix, classes grow as seen)."""

    def __init__(self, name="pcc", output_names=None, label_names=None, has_global_stats=True):
        self.k = 2
        super().__init__(
            name=name,
            output_names=output_names,
            label_names=label_names,
            has_global_stats=has_global_stats,
        )

    def _grow(self, inc):
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant")
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant")
        self.k += inc

    @staticmethod
    def _calc_mcc(cmat):
        n = cmat.sum()
        x, y = cmat.sum(axis=1), cmat.sum(axis=0)
        cov_xx, cov_yy = numpy.sum(x * (n - x)), numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = numpy.sum(cmat.diagonal() * n - x * y)
        return cov_xy / (cov_xx * cov_yy) ** 0.5

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label = _to_numpy(label).astype("int32").ravel()
            pred = _to_numpy(pred)
            pred = pred.argmax(axis=1) if pred.shape != label.shape else pred.astype("int32")
            n = max(pred.max(), label.max())
            if n >= self.k:
                self._grow(n + 1 - self.k)
            bcm = numpy.zeros((self.k, self.k))
            numpy.add.at(bcm, (pred, label), 1)
            self.lcm += bcm
            self.gcm += bcm
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self):
        return self._calc_mcc(self.lcm) * self.num_inst

    @sum_metric.setter
    def sum_metric(self, _):
        pass  # derived from the confusion matrix

    @property
    def global_sum_metric(self):
        return self._calc_mcc(self.gcm) * self.global_num_inst

    @global_sum_metric.setter
    def global_sum_metric(self, _):
        pass

    def reset(self):
        self.global_num_inst = 0.0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0.0
        self.lcm = numpy.zeros((self.k, self.k))
