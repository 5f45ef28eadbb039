"""Regression and loss metrics: MAE, MSE, RMSE, PearsonCorrelation, Loss (and its
``torch``/``caffe`` names)."""

import math

import numpy

from .base import EvalMetric, register, alias, check_label_shapes, _to_numpy, _is_array

__all__ = ["MAE", "MSE", "RMSE", "PearsonCorrelation", "Loss", "Torch", "Caffe"]


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
        super().__init__(
            name, output_names=output_names, label_names=label_names, has_global_stats=True
        )

    def update(self, labels, preds):
        for label, pred in _regression_pairs(labels, preds):
            self._add(float(numpy.abs(label - pred).mean()), 1)


@register
class MSE(EvalMetric):
    """Mean squared error, averaged over updates."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(
            name, output_names=output_names, label_names=label_names, has_global_stats=True
        )

    def update(self, labels, preds):
        for label, pred in _regression_pairs(labels, preds):
            self._add(float(((label - pred) ** 2.0).mean()), 1)


@register
class RMSE(EvalMetric):
    """Root mean squared error, averaged over updates."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(
            name, output_names=output_names, label_names=label_names, has_global_stats=True
        )

    def update(self, labels, preds):
        for label, pred in _regression_pairs(labels, preds):
            self._add(float(numpy.sqrt(((label - pred) ** 2.0).mean())), 1)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of predictions and labels: ``macro`` averages per update,
    ``micro`` correlates everything seen (streaming moments). In ``micro`` mode
    ``get_global`` reports the streaming value too (MXNet reported 0)."""

    def __init__(self, name="pearsonr", output_names=None, label_names=None, average="macro"):
        self.average = average
        super().__init__(
            name, output_names=output_names, label_names=label_names, has_global_stats=True
        )

    def reset(self):
        super().reset()
        self._moments = numpy.zeros(6)  # n, sum_l, sum_p, sum_ll, sum_pp, sum_lp

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
                self._moments += (
                    label.size,
                    label.sum(),
                    pred.sum(),
                    (label * label).sum(),
                    (pred * pred).sum(),
                    (label * pred).sum(),
                )

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
class Loss(EvalMetric):
    """Mean of the outputs themselves (for loss outputs); labels are ignored."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(
            name, output_names=output_names, label_names=label_names, has_global_stats=True
        )

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
