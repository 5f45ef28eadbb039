"""``gluon.contrib.data``: ``IntervalSampler`` and ``text`` (``WikiText2``,
``WikiText103``)."""

from ...data.sampler import Sampler
from ....base import MXNetError
from . import text  # noqa: F401 (MXNet's scripts use gluon.contrib.data.text.WikiText2)

__all__ = ["IntervalSampler"]


class IntervalSampler(Sampler):
    """Indices ``0, k, 2k, ..., 1, 1+k, ...`` for ``length`` items and interval ``k``
    (``rollover=False`` stops after the first pass). Used to batch a long stream so that
    consecutive batches continue each other's sequences."""

    def __init__(self, length, interval, rollover=True):
        if interval > length:
            raise MXNetError(f"Interval {interval} must be smaller than length {length}")
        self._length, self._interval, self._rollover = length, interval, rollover

    def __iter__(self):
        for i in range(self._interval if self._rollover else 1):
            for j in range(i, self._length, self._interval):
                yield j

    def __len__(self):
        return self._length
