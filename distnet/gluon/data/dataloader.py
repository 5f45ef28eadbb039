"""DataLoader: mini-batches from a data set, in the main process, worker processes or
threads."""

__all__ = ["DataLoader", "DataLoaderTimeoutError", "default_batchify_fn", "default_mp_batchify_fn"]

from ...base import MXNetError
from . import sampler as _sampler
from ._batchify import default_batchify_fn, default_mp_batchify_fn, make_fetcher
from ._workers import ProcessIter, ThreadIter, DataLoaderTimeoutError


class _ArgumentError(MXNetError, ValueError):
    """Inconsistent DataLoader arguments (a ``ValueError`` too, as MXNet raised)."""


class DataLoader:
    """Load mini-batches from a data set.

    Parameters
    ----------
    dataset : Dataset
        The source; numpy arrays, NDArrays and lists work too.
    batch_size : int
        Size of a mini-batch (required unless ``batch_sampler`` is given).
    shuffle : bool, default False
        Visit the samples in a new random order each pass.
    sampler : Sampler, optional
        The order of samples (not together with ``shuffle``).
    last_batch : {'keep', 'discard', 'rollover'}, default 'keep'
        What to do with an incomplete last batch: return it, drop it, or carry its
        samples over to the next pass.
    batch_sampler : Sampler, optional
        Yields lists of indices; excludes ``batch_size``, ``shuffle``, ``sampler`` and
        ``last_batch``.
    batchify_fn : callable, optional
        Collates a list of samples into a batch (default: ``default_batchify_fn``).
    num_workers : int, default 0
        Worker processes (or threads with ``thread_pool``) that load batches in parallel;
        batches still arrive in the sampler's order.
    pin_memory : bool, default False
        Return the batches' NDArrays on context ``cpu_pinned(pin_device_id)``, as MXNet.
        They share the host buffers they were made in (numpy has no page-locked memory);
        a ``cpu_pinned(i)`` array mixes with ``cpu`` arrays and Parameters read their
        ``cpu(i)`` copy for it.
    pin_device_id : int, default 0
        The device id of the pinned context.
    prefetch : int, optional
        Batches requested ahead of the one being read (default ``2 * num_workers``).
    thread_pool : bool, default False
        Use threads instead of processes.
    timeout : float, default 120
        Seconds to wait for any one batch from the workers before raising.
    auto_reload : bool, default False
        Accepted for compatibility; prefetching starts when a pass begins.
    """

    def __init__(
        self,
        dataset,
        batch_size=None,
        shuffle=False,
        sampler=None,
        last_batch=None,
        batch_sampler=None,
        batchify_fn=None,
        num_workers=0,
        pin_memory=False,
        pin_device_id=0,
        prefetch=None,
        thread_pool=False,
        timeout=120,
        auto_reload=False,
    ):
        if not timeout > 0:
            raise _ArgumentError(f"timeout must be positive, given {timeout}")
        self._dataset = dataset
        self._batch_sampler = self._make_batch_sampler(
            dataset, batch_size, shuffle, sampler, last_batch, batch_sampler
        )
        self._batchify_fn = batchify_fn
        self._num_workers = max(0, int(num_workers))
        self._prefetch = max(0, int(prefetch) if prefetch is not None else 2 * self._num_workers)
        self._thread_pool = bool(thread_pool)
        self._timeout = timeout
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self.auto_reload = auto_reload

    @staticmethod
    def _make_batch_sampler(dataset, batch_size, shuffle, sampler, last_batch, batch_sampler):
        if batch_sampler is not None:
            if batch_size is not None or shuffle or sampler is not None or last_batch is not None:
                raise _ArgumentError(
                    "batch_size, shuffle, sampler and last_batch must "
                    "not be specified if batch_sampler is specified."
                )
            return batch_sampler
        if batch_size is None:
            raise _ArgumentError("batch_size must be specified unless batch_sampler is specified")
        if sampler is None:
            sampler = (
                _sampler.RandomSampler(len(dataset))
                if shuffle
                else _sampler.SequentialSampler(len(dataset))
            )
        elif shuffle:
            raise _ArgumentError("shuffle must not be specified if sampler is specified")
        return _sampler.BatchSampler(sampler, batch_size, last_batch or "keep")

    def __iter__(self):
        batches = self._batches()
        if not self._pin_memory:
            return batches
        from ... import context

        ctx = context.cpu_pinned(self._pin_device_id)
        return (_on_context(batch, ctx) for batch in batches)

    def _batches(self):
        if self._num_workers == 0:
            return self._same_process_iter()
        if self._thread_pool:
            return ThreadIter(
                self._dataset,
                self._batchify_fn,
                self._batch_sampler,
                self._num_workers,
                self._prefetch,
                self._timeout,
            )
        from ... import context

        return ProcessIter(
            self._dataset,
            self._batchify_fn,
            self._batch_sampler,
            self._num_workers,
            self._prefetch,
            self._timeout,
            context.cpu(0),
        )

    def _same_process_iter(self):
        fetch = make_fetcher(self._dataset, self._batchify_fn)
        for indices in self._batch_sampler:
            yield fetch(indices)

    def __len__(self):
        return len(self._batch_sampler)

    def refresh(self):
        """Compatibility no-op: each pass starts its own prefetching."""

    def clean(self):
        """Compatibility no-op: nothing is prefetched between passes."""


def _on_context(batch, ctx):
    """``batch`` (NDArrays, nested in lists/tuples) with its arrays on host context
    ``ctx``; dense arrays keep their buffers (relabelled, not copied)."""
    from ...ndarray.ndarray import NDArray, wrap

    if isinstance(batch, NDArray):
        return batch.as_in_context(ctx) if batch._sparse else wrap(batch._read(), ctx)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_on_context(item, ctx) for item in batch)
    return batch
