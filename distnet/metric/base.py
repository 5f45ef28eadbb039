"""EvalMetric, the metric registry and ``create``, CompositeEvalMetric and CustomMetric."""

import json
from collections import OrderedDict

import numpy

from ..base import MXNetError, numeric_types
from .. import registry as _registry

__all__ = [
    "EvalMetric",
    "CompositeEvalMetric",
    "CustomMetric",
    "np",
    "create",
    "register",
    "alias",
    "check_label_shapes",
]

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
    """Whether ``x`` is one array (NDArray, numpy or cupy) rather than a list of them."""
    return (
        hasattr(x, "asnumpy")
        or isinstance(x, numpy.ndarray)
        or hasattr(x, "__cuda_array_interface__")
    )


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
        raise ValueError(
            f"Shape of labels {label_shape} does not match shape of predictions {pred_shape}"
        )
    return labels, preds


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
        raise MXNetError(
            f"metric must be a name, an EvalMetric, a callable or a list, got "
            f"{type(metric).__name__}"
        )
    if metric.startswith("["):  # '["acc", {"axis": 0}]'
        name, kw = json.loads(metric)
        return create(name, **kw)
    if metric.startswith("{"):  # json.dumps(metric.get_config()), as MXNet's registry reads
        return create(_json_config(metric), *args, **kwargs)
    klass = _REGISTRY.get(metric.lower())
    if klass is None:
        raise MXNetError(
            f"{metric.lower()} is not registered. Please register with "
            f"metric.register first (registered: {sorted(_REGISTRY)})"
        )
    return klass(*args, **kwargs)


def _json_config(text):
    """The dict of a metric's JSON config (``get_config()`` dumped), checked."""
    try:
        config = json.loads(text)
    except ValueError as err:
        raise MXNetError(f"metric config {text[:80]!r} is not valid JSON: {err}") from None
    if not isinstance(config, dict) or "metric" not in config:
        raise MXNetError(
            f"metric config {text[:80]!r} must be a JSON object with a 'metric' key "
            "(as metric.get_config() gives)"
        )
    return config


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
        config.update(
            {
                "metric": self.__class__.__name__,
                "name": self.name,
                "output_names": self.output_names,
                "label_names": self.label_names,
            }
        )
        return config

    def update_dict(self, label, pred):
        """Update from dicts of name -> array, selecting ``output_names``/``label_names``."""
        pred = (
            [pred[n] for n in self.output_names]
            if self.output_names is not None
            else list(pred.values())
        )
        label = (
            [label[n] for n in self.label_names]
            if self.label_names is not None
            else list(label.values())
        )
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


register = _registry.register_func(EvalMetric, "metric", _REGISTRY)
alias = _registry.alias_func(register)


def _zip_name_value(name, value):
    name = name if isinstance(name, list) else [name]
    value = value if isinstance(value, list) else [value]
    return list(zip(name, value))


@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get`` returns lists of names and values."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(
            name, output_names=output_names, label_names=label_names, has_global_stats=True
        )
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric):
        """Add a child metric (anything ``create`` accepts)."""
        self.metrics.append(create(metric))

    def get_metric(self, index):
        """The child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError as err:
            raise MXNetError(
                f"Metric index {index} is out of range 0 and {len(self.metrics)}"
            ) from err

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


@register
class CustomMetric(EvalMetric):
    """A metric from ``feval(label, pred)`` on numpy arrays, returning a value (averaged
    over updates) or ``(sum_metric, num_inst)``."""

    def __init__(
        self, feval, name=None, allow_extra_outputs=False, output_names=None, label_names=None
    ):
        if name is None:
            name = feval.__name__
            if name.find("<") != -1:
                name = f"custom({name})"
        super().__init__(
            name,
            feval=feval,
            allow_extra_outputs=allow_extra_outputs,
            output_names=output_names,
            label_names=label_names,
            has_global_stats=True,
        )
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
