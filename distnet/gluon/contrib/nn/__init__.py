"""``gluon.contrib.nn``: ``Concurrent``/``HybridConcurrent`` (run children side by side,
concatenate), ``Identity`` and ``SyncBatchNorm``."""

import warnings

from ...block import HybridBlock
from ...nn.basic_layers import Sequential, HybridSequential, BatchNorm
from .sparse import SparseEmbedding

__all__ = ["Concurrent", "HybridConcurrent", "Identity", "SyncBatchNorm", "SparseEmbedding"]


class Concurrent(Sequential):
    """Feeds the input to every child and concatenates their outputs along ``axis``."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def forward(self, x):
        """Concatenation of every child's output."""
        from .... import ndarray

        return ndarray.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class HybridConcurrent(HybridSequential):
    """``Concurrent`` for HybridBlocks; hybridizable."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def hybrid_forward(self, F, x):
        """Concatenation of every child's output."""
        return F.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class Identity(HybridBlock):
    """Returns its input (a placeholder branch, e.g. in ``HybridConcurrent``)."""

    def hybrid_forward(self, F, x):
        """``x``."""
        return x


class SyncBatchNorm(BatchNorm):
    """Cross-device batch normalisation with MXNet's signature.

    distnet runs one device per process, so the batch statistics are those of the local
    batch: this is ``BatchNorm`` (``num_devices`` is accepted and ignored; a warning says so
    when it is above 1). For data-parallel jobs the statistics are per worker, as with
    plain BatchNorm in MXNet.
    """

    def __init__(
        self,
        in_channels=0,
        num_devices=None,
        momentum=0.9,
        epsilon=1e-5,
        center=True,
        scale=True,
        use_global_stats=False,
        beta_initializer="zeros",
        gamma_initializer="ones",
        running_mean_initializer="zeros",
        running_variance_initializer="ones",
        **kwargs,
    ):
        if num_devices is not None and num_devices > 1:
            warnings.warn(
                "SyncBatchNorm: distnet normalises with each device's own batch "
                f"statistics (num_devices={num_devices} is ignored)",
                stacklevel=2,
            )
        super().__init__(
            axis=1,
            momentum=momentum,
            epsilon=epsilon,
            center=center,
            scale=scale,
            use_global_stats=use_global_stats,
            beta_initializer=beta_initializer,
            gamma_initializer=gamma_initializer,
            running_mean_initializer=running_mean_initializer,
            running_variance_initializer=running_variance_initializer,
            in_channels=in_channels,
            **kwargs,
        )

    def _alias(self):
        return "syncbatchnorm"
