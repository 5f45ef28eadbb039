"""``SyntheticData``, the data helper MXNet's Module tutorial imports (``from data_iter
import SyntheticData``): a learnable toy set of Gaussian blobs, one per class.

Kept next to the example scripts so ``python scripts/examples/module_tutorial.py`` finds
it, as the tutorial's notebook found its ``data_iter.py``.
"""

import numpy as np

import distnet as mx


class SyntheticData:
    """``num_classes`` Gaussian blobs in ``num_features`` dimensions.

    Each class's samples lie around its own random centre (spread 0.1 per feature), so a
    small MLP separates them in a few epochs.

    Parameters
    ----------
    num_classes : int
        Number of classes (labels 0 .. num_classes-1).
    num_features : int
        Length of each sample.
    seed : int, optional
        Seed of the centres and the samples; None draws from numpy's global generator
        (as MXNet's helper did).
    """

    def __init__(self, num_classes, num_features, seed=None):
        self.num_classes = num_classes
        self.num_features = num_features
        self._rng = np.random.RandomState(seed) if seed is not None else np.random
        self.mu = self._rng.rand(num_classes, num_features)
        self.sigma = np.ones((num_classes, num_features)) * 0.1

    def get(self, num_samples):
        """(x, y): ``num_samples`` float32 samples and float32 labels, classes mixed."""
        y = np.arange(num_samples) % self.num_classes
        noise = self._rng.randn(num_samples, self.num_features)
        x = self.mu[y] + noise * self.sigma[y]
        order = self._rng.permutation(num_samples)
        return x[order].astype(np.float32), y[order].astype(np.float32)

    def get_iter(self, batch_size):
        """An NDArrayIter over 10 batches of freshly drawn samples."""
        x, y = self.get(batch_size * 10)
        return mx.io.NDArrayIter(x, y, batch_size=batch_size)
