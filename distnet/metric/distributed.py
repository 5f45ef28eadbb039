"""Training metrics combined across the workers of a distributed job.

Each worker's metric sees only its own share of the data; at an epoch's end
:func:`allreduce_metric` sums every worker's (sum, count) statistics through the job's
kvstore, so all workers get the metric of the whole epoch. MXNet had no such helper.
"""

import numpy as np

from ..base import MXNetError
from .base import CompositeEvalMetric

__all__ = ["allreduce_metric"]

# F1/MCC (micro), the correlation metrics: their value is not a ratio of two sums
_NOT_SUMMABLE = ("F1", "MCC", "PCC", "PearsonCorrelation")
_SUM_PREFIX = "__sum__:"  # kvstore keys summed as they are, never optimised


def _leaves(metric):
    if isinstance(metric, CompositeEvalMetric):
        return [leaf for m in metric.metrics for leaf in _leaves(m)]
    if type(metric).__name__ in _NOT_SUMMABLE:
        raise MXNetError(
            f"allreduce_metric: metric {metric.name!r} "
            f"({type(metric).__name__}) is not a ratio of summed statistics "
            "and cannot be combined across workers"
        )
    return [metric]


def _stats(metric):
    if metric._has_global_stats:
        return metric.global_sum_metric, metric.global_num_inst
    return metric.sum_metric, metric.num_inst


def _value_with(metric, total, count):
    """The metric's (name, value) pairs had its statistics been (total, count)."""
    saved = (metric.sum_metric, metric.num_inst)
    metric.sum_metric, metric.num_inst = total, count
    try:
        return metric.get_name_value()
    finally:
        metric.sum_metric, metric.num_inst = saved


def allreduce_metric(metric, kvstore, key="train"):
    """``[(name, value), ...]`` of ``metric`` (its statistics since the last ``reset``)
    over all the workers of ``kvstore``'s job; the metric itself is left unchanged.

    A collective call: every worker must make it, in the same order, with the same
    ``key`` (one per place it is called from). With no kvstore or a single worker it is
    ``metric.get_global_name_value()``.
    """
    leaves = _leaves(metric)
    stats = np.array([_stats(m) for m in leaves], dtype=np.float64)
    if kvstore is not None and kvstore.num_workers > 1:
        stats = _sum_over_workers(kvstore, _SUM_PREFIX + "metric:" + key, stats)
    pairs = []
    for m, (total, count) in zip(leaves, stats):
        pairs += _value_with(m, float(total), int(round(count)))
    return pairs


def _sum_over_workers(kvstore, key, stats):
    from ..ndarray import array

    ready = kvstore.__dict__.setdefault("_summed_keys", set())
    buf = array(stats, dtype=np.float64)
    if key not in ready:
        kvstore.init(key, array(np.zeros_like(stats), dtype=np.float64))
        ready.add(key)
    kvstore.pushpull(key, buf, out=buf)
    return buf.asnumpy()
