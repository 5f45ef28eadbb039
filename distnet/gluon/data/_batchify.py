"""Turning a list of samples into a batch, and reading one batch from a data set."""

import numpy as np

from ...base import MXNetError


def default_batchify_fn(data):
    """Collate samples into a batch, as MXNet does.

    NDArray samples are stacked (their dtype is kept: uint8 images stay uint8); tuple
    samples are batched element by element into a list; anything else goes through
    ``numpy.asarray`` into an NDArray of numpy's dtype (int32 labels stay int32, Python
    floats become float64).
    """
    from ...ndarray import NDArray, array

    first = data[0]
    if isinstance(first, NDArray):
        return _stack(data)
    if isinstance(first, tuple):
        return [default_batchify_fn(column) for column in zip(*data)]
    try:
        arr = np.asarray(data)
    except ValueError as err:
        raise MXNetError(
            f"default_batchify_fn: samples of different shapes cannot be "
            f"batched ({err}); pass a batchify_fn that pads them"
        ) from None
    if arr.dtype.kind not in "biufc":
        raise MXNetError(
            f"default_batchify_fn: cannot batch samples of type "
            f"{type(first).__name__} (numpy dtype {arr.dtype}); pass a "
            "batchify_fn"
        )
    return array(arr, dtype=arr.dtype)


# MXNet had a second collate function for worker processes (shared memory); here one does.
default_mp_batchify_fn = default_batchify_fn


def _stack(arrays):
    """Stack same-shape NDArrays of one context along a new first axis."""
    from ...ndarray.ndarray import wrap

    ctx = arrays[0].context
    shape = arrays[0].shape
    datas = []
    for i, arr in enumerate(arrays):
        if arr.shape != shape:
            raise MXNetError(
                f"default_batchify_fn: sample {i} has shape {arr.shape} but "
                f"sample 0 has shape {shape}; resize the samples or pass a "
                "batchify_fn"
            )
        if arr.context != ctx:
            raise MXNetError(
                f"default_batchify_fn: sample {i} is on {arr.context} but sample 0 is on {ctx}"
            )
        datas.append(arr._read())
    return wrap(ctx.xp.stack(datas), ctx)


def make_fetcher(dataset, batchify_fn):
    """A function ``indices -> batch`` reading ``dataset`` and collating with
    ``batchify_fn`` (``None`` for the default).

    With the default collate function, data sets that can index many rows at once
    (``ArrayDataset`` of arrays, untransformed vision data sets) skip the per-sample loop;
    the batch is the same as the loop would make.
    """
    if batchify_fn is None or batchify_fn is default_batchify_fn:
        fast = getattr(dataset, "_fetch_batch", None)
        if fast is not None:

            def fetch_fast(indices):
                batch = fast(indices)
                if batch is None:
                    return default_batchify_fn([dataset[i] for i in indices])
                return batch

            return fetch_fast
        batchify_fn = default_batchify_fn

    def fetch(indices):
        return batchify_fn([dataset[i] for i in indices])

    return fetch
