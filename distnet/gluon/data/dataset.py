"""Data sets: indexable collections of samples, and lazy views over them."""

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset"]

import numpy as np

from ...base import MXNetError


class Dataset:
    """Base class of data sets: subclasses define ``__getitem__`` and ``__len__``.

    numpy arrays and NDArrays can be used as data sets directly (``DataLoader`` accepts
    anything with ``len()`` and ``[]``).
    """

    def __getitem__(self, idx):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def filter(self, fn):
        """A data set of the samples for which ``fn(sample)`` is true (decided now)."""
        from .sampler import FilterSampler

        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """Shard ``index`` of ``num_shards`` contiguous, nearly equal parts.

        The first ``len(self) % num_shards`` shards hold one sample more. Shard before
        shuffling so that each worker of a distributed job reads its own subset.
        """
        if not 0 < num_shards:
            raise MXNetError(f"shard: num_shards must be positive, got {num_shards}")
        if not 0 <= index < num_shards:
            raise MXNetError(f"shard: index must be in [0, {num_shards}), got {index}")
        each, rest = divmod(len(self), num_shards)
        start = each * index + min(index, rest)
        from .sampler import SequentialSampler

        return _SampledDataset(self, SequentialSampler(each + (index < rest), start))

    def take(self, count):
        """The first ``count`` samples (all of them when ``count`` is None or larger)."""
        if count is None or count > len(self):
            count = len(self)
        from .sampler import SequentialSampler

        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler):
        """The samples at the indices ``sampler`` yields (drawn once, now)."""
        from .sampler import Sampler

        if not isinstance(sampler, Sampler):
            raise TypeError(
                f"Invalid sampler type: {type(sampler)}. Expected gluon.data.Sampler instead."
            )
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """A data set of ``fn(*sample)`` (``fn(sample)`` for non-tuple samples).

        With ``lazy=False`` every sample is transformed now and kept; keep ``lazy=True``
        for random augmentations, or each epoch sees the same result.
        """
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([trans[i] for i in range(len(trans))])

    def transform_first(self, fn, lazy=True):
        """Like ``transform`` but ``fn`` sees only the first element (the data, not the
        label) of each sample."""
        return self.transform(_TransformFirstClosure(fn), lazy)


class SimpleDataset(Dataset):
    """A data set over any object with ``len()`` and ``[]`` (a list, an array)."""

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class ArrayDataset(Dataset):
    """Samples ``(a[i], b[i], ...)`` of several equally long array-likes.

    With one argument the sample is ``a[i]`` itself. One-dimensional NDArrays are kept as
    numpy arrays, so a label comes out as a numpy scalar (as in MXNet).
    """

    def __init__(self, *args):
        if not args:
            raise MXNetError("ArrayDataset needs at least 1 array")
        from ...ndarray import NDArray

        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            if len(data) != self._length:
                raise MXNetError(
                    f"All arrays must have the same length; array[0] has length "
                    f"{self._length} while array[{i}] has {len(data)}."
                )
            if isinstance(data, NDArray) and data.ndim == 1:
                data = data.asnumpy()
            self._data.append(data)

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self):
        return self._length

    def _fetch_batch(self, indices):
        """All samples at ``indices`` batched at once, as the default batchify would
        batch them one by one; None when some column is not a numeric array."""
        columns = [_take_rows(data, indices) for data in self._data]
        if any(col is None for col in columns):
            return None
        return columns[0] if len(columns) == 1 else columns


def _take_rows(data, indices):
    """``data[indices]`` as an NDArray batch, for numeric numpy arrays and NDArrays."""
    from ...ndarray import NDArray
    from ...ndarray.ndarray import wrap

    if isinstance(data, NDArray):
        xp = data.context.xp
        return wrap(data._read()[xp.asarray(indices)], data.context)
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        from ... import context

        return wrap(data[np.asarray(indices, dtype=np.int64)], context.cpu(0))
    return None


class _LazyTransformDataset(Dataset):
    """``fn`` applied to each sample when it is read."""

    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """Apply ``fn`` to the first element of a sample (a class, not a closure, so a data
    set transformed with it can be sent to worker processes started with 'spawn')."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    """The samples of ``dataset`` at the indices a sampler yielded (drawn once)."""

    def __init__(self, dataset, sampler):
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(iter(sampler))

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]

    def _fetch_batch(self, indices):
        """Batch through the underlying data set's fast path, if it has one."""
        inner = getattr(self._dataset, "_fetch_batch", None)
        if inner is None:
            return None
        return inner([self._indices[i] for i in indices])
