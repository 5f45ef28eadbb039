"""MXNet's other batch normalisation operators, on ``norm.BatchNorm``'s kernels:
``BatchNorm_v1`` (the legacy operator) and ``contrib.SyncBatchNorm``.

Both normalise over axis 1 and, with ``output_mean_var``, output the batch mean and the
batch *variance* (``BatchNorm`` outputs the inverse standard deviation instead), as
MXNet 1.9.1 does.
"""

from .attrs import Attr, Int, Str
from .norm import BatchNorm
from .registry import register


# BatchNorm's attributes these variants have (no axis, cudnn_off or calibration ranges)
_KEPT_PARAMS = ("eps", "momentum", "fix_gamma", "use_global_stats", "output_mean_var")


class _AxisOneBatchNorm(BatchNorm):
    """BatchNorm over axis 1 whose second statistics output is the variance."""

    params = {k: v for k, v in BatchNorm.params.items() if k in _KEPT_PARAMS}

    @staticmethod
    def _full(a):
        # the attributes BatchNorm reads, with the fixed ones this variant lacks
        full = dict(a)
        full.update(axis=1, cudnn_off=False, min_calib_range=None, max_calib_range=None)
        return full

    def output_names(self, a):
        return ("output", "mean", "var") if a["output_mean_var"] else ("output",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        return super().infer_shape(self._full(a), in_shapes, aux_shapes)

    def forward(self, a, ins, aux, is_train):
        outs, saved = super().forward(self._full(a), ins, aux, is_train)
        if a["output_mean_var"]:
            var = saved[4]
            outs = (outs[0], outs[1], var.astype(outs[0].dtype, copy=False))
        return outs, saved

    def backward(self, F, a, ins, outs, saved, ograds):
        return super().backward(F, self._full(a), ins, outs, saved, ograds)


@register
class BatchNorm_v1(_AxisOneBatchNorm):
    """MXNet's legacy batch normalisation: ``BatchNorm`` over axis 1 (moving statistics
    updated by the backward pass, gamma fixed to 1 by default)."""

    name = "BatchNorm_v1"


@register
class _contrib_SyncBatchNorm(_AxisOneBatchNorm):
    """Batch normalisation whose batch statistics MXNet gathers across the ``ndev`` GPUs
    of one process (matched by ``key``). distnet runs one device per process (several
    devices train through the kvstore), so the statistics are this device's batch:
    exactly MXNet's result for ``ndev=1``."""

    name = "_contrib_SyncBatchNorm"
    params = dict(_AxisOneBatchNorm.params, ndev=Attr(Int, 1), key=Attr(Str))
