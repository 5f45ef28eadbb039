"""``mx.metric``: evaluation metrics with MXNet's names, values and registry.

``update(labels, preds)`` takes lists (or single arrays) of NDArrays or numpy arrays;
each array is brought to numpy once and the arithmetic is vectorised. Every metric keeps
local statistics (``reset_local``, what ``get`` reports) and global ones (``get_global``).
"""

import json
import math
import warnings
from collections import OrderedDict

import numpy

from .base import MXNetError, numeric_types

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC",
           "Perplexity", "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood",
           "PearsonCorrelation", "PCC", "Loss", "Torch", "Caffe", "CustomMetric", "np",
           "create", "register", "alias", "check_label_shapes"]

_REGISTRY = {}


def _to_numpy(x):
    """A numpy view/copy of an NDArray, numpy or cupy array (one transfer)."""
    if hasattr(x, "asnumpy"):
        return x.asnumpy()
    if isinstance(x, numpy.ndarray):
        return x
    if hasattr(x, "get"):
        return x.get()
    return numpy.asarray(x)


def _is_array(x):
    return hasattr(x, "asnumpy") or isinstance(x, numpy.ndarray) or hasattr(x, "__cuda_array_interface__")


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """Check that labels and preds have the same length (or ``shape``); with ``wrap``,
    single arrays are wrapped into lists."""
    if wrap:
        labels = [labels] if _is_array(labels) else labels
        preds = [preds] if _is_array(preds) else preds
    if not shape:
        label_shape, pred_shape = len(labels), len(preds)
    else:
        label_shape, pred_shape = labels.shape, preds.shape
    if label_shape != pred_shape:
        raise ValueError(f"Shape of labels {label_shape} does not match shape of "
                         f"predictions {pred_shape}")
    return labels, preds


def register(klass, name=None):
    """Register a metric class under its lower-cased class name (or ``name``)."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise MXNetError(f"Can only register subclass of EvalMetric, got {klass!r}")
    name = (name or klass.__name__).lower()
    if name in _REGISTRY and _REGISTRY[name] is not klass:
        warnings.warn(f"New metric {klass.__name__} registered with name {name} is "
                      f"overriding existing metric {_REGISTRY[name].__name__}", UserWarning,
                      stacklevel=2)
    _REGISTRY[name] = klass
    return klass


def alias(*aliases):
    """Decorator registering a metric class under extra names."""
    def reg(klass):
        for name in aliases:
            register(klass, name)
        return klass
    return reg


def create(metric, *args, **kwargs):
    """A metric from a name (``'acc'``, ``'top_k_accuracy'``...), an instance, a callable
    ``feval(label, pred)`` (CustomMetric) or a list of these (CompositeEvalMetric)."""
    if callable(metric) and not isinstance(metric, (EvalMetric, type)):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    if isinstance(metric, EvalMetric):
        if args or kwargs:
            raise MXNetError("metric is already an instance. Additional arguments are invalid")
        return metric
    if isinstance(metric, dict):
        kwargs = dict(metric, **kwargs)
        return create(kwargs.pop("metric"), *args, **kwargs)
    if not isinstance(metric, str):
        raise MXNetError(f"metric must be a name, an EvalMetric, a callable or a list, got "
                         f"{type(metric).__name__}")
    if metric.startswith("["):
        name, kw = json.loads(metric)
        return create(name, **kw)
    klass = _REGISTRY.get(metric.lower())
    if klass is None:
        raise MXNetError(f"{metric.lower()} is not registered. Please register with "
                         f"metric.register first (registered: {sorted(_REGISTRY)})")
    return klass(*args, **kwargs)


class EvalMetric:
    """Base class: ``sum_metric / num_inst`` locally and globally, under ``name``."""

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self):
        """The constructor arguments, ``metric`` (class name) and ``name``."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label, pred):
        """Update from dicts of name -> array, selecting ``output_names``/``label_names``."""
        pred = [pred[n] for n in self.output_names] if self.output_names is not None \
            else list(pred.values())
        label = [label[n] for n in self.label_names] if self.label_names is not None \
            else list(label.values())
        self.update(label, pred)

    def update(self, labels, preds):
        """Accumulate statistics of a batch."""
        raise NotImplementedError()

    def reset(self):
        """Clear local and global statistics."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        """Clear the local statistics only."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def _add(self, value, count):
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count

    def get(self):
        """``(name, value)`` of the local statistics (nan before any update)."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self):
        """``(name, value)`` since the last ``reset``."""
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    def get_name_value(self):
        """``[(name, value), ...]`` of ``get()``."""
        return _zip_name_value(*self.get())

    def get_global_name_value(self):
        """``[(name, value), ...]`` of ``get_global()``."""
        if not self._has_global_stats:
            return self.get_name_value()
        return _zip_name_value(*self.get_global())


def _zip_name_value(name, value):
    name = name if isinstance(name, list) else [name]
    value = value if isinstance(value, list) else [value]
    return list(zip(name, value))


@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get`` returns lists of names and values."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric):
        """Add a child metric (anything ``create`` accepts)."""
        self.metrics.append(create(metric))

    def get_metric(self, index):
        """The child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError as err:
            raise MXNetError(f"Metric index {index} is out of range 0 and "
                             f"{len(self.metrics)}") from err

    def update_dict(self, labels, preds):
        if self.label_names is not None:
            labels = OrderedDict(i for i in labels.items() if i[0] in self.label_names)
        if self.output_names is not None:
            preds = OrderedDict(i for i in preds.items() if i[0] in self.output_names)
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels, preds):
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self):
        for metric in getattr(self, "metrics", ()):
            metric.reset()

    def reset_local(self):
        for metric in self.metrics:
            metric.reset_local()

    def _collect(self, method):
        names, values = [], []
        for metric in self.metrics:
            name, value = getattr(metric, method)()
            names.extend([name] if isinstance(name, str) else name)
            values.extend([value] if isinstance(value, numeric_types) else value)
        return (names, values)

    def get(self):
        return self._collect("get")

    def get_global(self):
        return self._collect("get_global")

    def get_config(self):
        config = super().get_config()
        config.update({"metrics": [m.get_config() for m in self.metrics]})
        return config


def _argmax(pred, axis):
    """argmax on the array's own device, then to numpy (only the small result moves)."""
    data = getattr(pred, "_data", pred)
    if hasattr(pred, "_wait") and pred._pending is not None:
        pred._wait()
    return _to_numpy(data.argmax(axis=axis))


@register
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of predictions equal to the labels (argmax over ``axis`` when the
    prediction has one more dimension than the label)."""

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
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
        super().__init__(name, top_k=top_k, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.top_k = top_k
        if self.top_k <= 1:
            raise MXNetError("Please use Accuracy if top_k is no more than 1")
        self.name += f"_{self.top_k}"

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _to_numpy(pred).astype("float32")
            if pred.ndim > 2:
                raise MXNetError(f"Predictions should be no more than 2 dims, got shape "
                                 f"{pred.shape}")
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
        self.local = numpy.zeros(4, numpy.int64)    # tp, fp, fn, tn
        self.glob = numpy.zeros(4, numpy.int64)

    def update(self, label, pred):
        pred = _to_numpy(pred)
        label = _to_numpy(label).astype("int32").ravel()
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise ValueError(f"{self.owner} currently only supports binary classification.")
        pred_true = numpy.argmax(pred, axis=1) == 1
        label_true = label == 1
        counts = numpy.array([(pred_true & label_true).sum(), (pred_true & ~label_true).sum(),
                              (~pred_true & label_true).sum(),
                              (~pred_true & ~label_true).sum()])
        self.local += counts
        self.glob += counts

    @staticmethod
    def fscore(c):
        tp, fp, fn, _ = (float(x) for x in c)
        precision = tp / (tp + fp) if tp + fp > 0 else 0.
        recall = tp / (tp + fn) if tp + fn > 0 else 0.
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.

    @staticmethod
    def mcc(c):
        if not c.sum():
            return 0.
        tp, fp, fn, tn = (float(x) for x in c)
        denom = 1.
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.:
                denom *= t
        return (tp * tn - fp * fn) / math.sqrt(denom)


class _BinaryMetric(EvalMetric):
    """F1/MCC: ``macro`` averages the per-update score; ``micro`` scores all counts."""

    _score = None

    def __init__(self, name, output_names=None, label_names=None, average="macro"):
        self.average = average
        self._stats = _BinaryStats()
        self._stats.owner = type(self).__name__
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

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

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None,
                 label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        if len(labels) != len(preds):
            raise ValueError(f"Shape of labels {len(labels)} does not match shape of "
                             f"predictions {len(preds)}")
        loss, num = 0., 0
        for label, pred in zip(labels, preds):
            pred = numpy.moveaxis(_to_numpy(pred), self.axis, -1)
            label = _to_numpy(label).ravel()
            if label.size != pred.size / pred.shape[-1]:
                raise MXNetError(f"shape mismatch: {label.shape} vs. {pred.shape}")
            prob = numpy.take_along_axis(pred.reshape(-1, pred.shape[-1]),
                                         label.astype(numpy.int64)[:, None], 1)[:, 0]
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


def _regression_pairs(labels, preds):
    labels, preds = check_label_shapes(labels, preds, True)
    for label, pred in zip(labels, preds):
        label, pred = _to_numpy(label), _to_numpy(pred)
        if label.ndim == 1:
            label = label.reshape(label.shape[0], 1)
        if pred.ndim == 1:
            pred = pred.reshape(pred.shape[0], 1)
        yield label, pred


@register
class MAE(EvalMetric):
    """Mean absolute error, averaged over updates."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _regression_pairs(labels, preds):
            self._add(float(numpy.abs(label - pred).mean()), 1)


@register
class MSE(EvalMetric):
    """Mean squared error, averaged over updates."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _regression_pairs(labels, preds):
            self._add(float(((label - pred) ** 2.0).mean()), 1)


@register
class RMSE(EvalMetric):
    """Root mean squared error, averaged over updates."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        for label, pred in _regression_pairs(labels, preds):
            self._add(float(numpy.sqrt(((label - pred) ** 2.0).mean())), 1)


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
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
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
        super().__init__(eps=eps, name=name, output_names=output_names,
                         label_names=label_names)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of predictions and labels: ``macro`` averages per update,
    ``micro`` correlates everything seen (streaming moments). In ``micro`` mode
    ``get_global`` reports the streaming value too (MXNet reported 0)."""

    def __init__(self, name="pearsonr", output_names=None, label_names=None, average="macro"):
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def reset(self):
        super().reset()
        self._moments = numpy.zeros(6)    # n, sum_l, sum_p, sum_ll, sum_pp, sum_lp

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            check_label_shapes(label, pred, False, True)
            label = _to_numpy(label).ravel().astype(numpy.float64)
            pred = _to_numpy(pred).ravel().astype(numpy.float64)
            if self.average == "macro":
                self._add(float(numpy.corrcoef(pred, label)[0, 1]), 1)
            else:
                self.num_inst += 1
                self.global_num_inst += 1
                self._moments += (label.size, label.sum(), pred.sum(), (label * label).sum(),
                                  (pred * pred).sum(), (label * pred).sum())

    def _micro(self):
        n, sl, sp, sll, spp, slp = self._moments
        cov = slp - sl * sp / n
        return float(cov / math.sqrt((sll - sl * sl / n) * (spp - sp * sp / n)))

    def get(self):
        if self.num_inst == 0 or self.average == "macro":
            return super().get()
        return (self.name, self._micro())

    def get_global(self):
        if self.global_num_inst == 0 or self.average == "macro":
            return super().get_global()
        return (self.name, self._micro())


@register
class PCC(EvalMetric):
    """Multi-class Matthews correlation (from the confusion matrix, classes grow as seen)."""

    def __init__(self, name="pcc", output_names=None, label_names=None,
                 has_global_stats=True):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

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
        self.global_num_inst = 0.
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0.
        self.lcm = numpy.zeros((self.k, self.k))


@register
class Loss(EvalMetric):
    """Mean of the outputs themselves (for loss outputs); labels are ignored."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _, preds):
        preds = [preds] if _is_array(preds) else preds
        for pred in preds:
            pred = _to_numpy(pred)
            self._add(float(pred.sum()), pred.size)


@register
class Torch(Loss):
    """Loss metric named ``torch`` (MXNet's Torch plugin name)."""

    def __init__(self, name="torch", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class Caffe(Loss):
    """Loss metric named ``caffe``."""

    def __init__(self, name="caffe", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class CustomMetric(EvalMetric):
    """A metric from ``feval(label, pred)`` on numpy arrays, returning a value (averaged
    over updates) or ``(sum_metric, num_inst)``."""

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None,
                 label_names=None):
        if name is None:
            name = feval.__name__
            if name.find("<") != -1:
                name = f"custom({name})"
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        for pred, label in zip(preds, labels):
            reval = self._feval(_to_numpy(label), _to_numpy(pred))
            if isinstance(reval, tuple):
                self._add(reval[0], reval[1])
            else:
                self._add(reval, 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval, name=None, allow_extra_outputs=False):  # pylint: disable=invalid-name
    """A CustomMetric from a numpy function ``numpy_feval(label, pred)``."""
    def feval(label, pred):
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
