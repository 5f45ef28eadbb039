"""SyntheticData: the small learnable dataset MXNet's Module tutorial (seed 001) imports
as ``from data_iter import SyntheticData``.

Each class is a Gaussian blob around its own random centre; samples are shuffled so a
batch mixes the classes, and an MLP separates them within a few epochs.
"""

import numpy as np

import distnet as mx


class SyntheticData:
    """``num_classes`` Gaussian blobs in ``num_features`` dimensions.

    Parameters
    ----------
    num_classes : int
    num_features : int
    seed : int
        Seed of the centres and samples (the same data on every call).
    scale : float
        Spread of the centres (uniform in [0, scale)); the noise stays 0.1.
    """

    def __init__(self, num_classes, num_features, seed=0, scale=1.0):
        self.num_classes = num_classes
        self.num_features = num_features
        self._rng = np.random.RandomState(seed)
        self.mu = self._rng.rand(num_classes, num_features) * scale
        self.sigma = np.ones((num_classes, num_features)) * 0.1

    def get(self, num_samples):
        """(x, y): float32 samples and their float32 class labels, shuffled."""
        y = np.arange(num_samples) % self.num_classes
        x = self.mu[y] + self._rng.randn(num_samples, self.num_features) * self.sigma[y]
        order = self._rng.permutation(num_samples)
        return x[order].astype(np.float32), y[order].astype(np.float32)

    def get_iter(self, batch_size, num_batches=10):
        """An NDArrayIter over `num_batches` batches of fresh samples."""
        x, y = self.get(batch_size * num_batches)
        return mx.io.NDArrayIter(x, y, batch_size=batch_size)
