"""Iterators wrapping other iterators: ResizeIter and PrefetchingIter."""

import threading

from ..base import MXNetError
from .base import DataBatch, DataDesc, DataIter

__all__ = ["ResizeIter", "PrefetchingIter"]


class ResizeIter(DataIter):
    """Make ``data_iter`` yield exactly ``size`` batches per epoch, restarting it when it
    runs out (and resetting it on ``reset`` when ``reset_internal``)."""

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        self.data_iter = data_iter
        self.size = size
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class _Worker:
    """One background thread fetching the next batch of one iterator on request."""

    def __init__(self, it):
        self.it = it
        self.ready = threading.Event()  # a result (batch, None at the end, or an error)
        self.taken = threading.Event()  # request for the next batch
        self.result = None
        self.running = True
        self.taken.set()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="distnet-prefetch")
        self.thread.start()

    def _loop(self):
        while self.running:
            self.taken.wait()
            if not self.running:
                return
            try:
                self.result = self.it.next()
            except StopIteration:
                self.result = None
            except Exception as err:  # noqa: BLE001 - handed to the consumer thread
                self.result = err
            self.taken.clear()
            self.ready.set()

    def stop(self):
        self.running = False
        self.taken.set()
        self.thread.join(timeout=10)


class PrefetchingIter(DataIter):
    """Fetch the next batches of ``iters`` in background threads while the current one
    is used; the batches of several iterators are joined (data and label lists
    concatenated). ``rename_data``/``rename_label`` map each iterator's names to new ones.
    An error raised by an underlying iterator is raised again by ``next``."""

    def __init__(self, iters, rename_data=None, rename_label=None):
        super().__init__()
        if not isinstance(iters, list):
            iters = [iters]
        if not iters:
            raise MXNetError("PrefetchingIter needs at least one iterator")
        self.n_iter = len(iters)
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.current_batch = None
        self._workers = [_Worker(it) for it in iters]

    def __del__(self):
        self.close()

    def close(self):
        """Stop the prefetch threads."""
        for worker in getattr(self, "_workers", ()):
            worker.stop()
        self._workers = []

    def _renamed(self, attr, renames):
        descs = []
        for i, it in enumerate(self.iters):
            for x in getattr(it, attr):
                if renames is None:
                    descs.append(x)
                elif isinstance(x, DataDesc):
                    descs.append(DataDesc(renames[i][x.name], x.shape, x.dtype))
                else:
                    descs.append(DataDesc(renames[i][x[0]], *x[1:]))
        return descs

    @property
    def provide_data(self):
        """The joined (and renamed) DataDescs of the data."""
        return self._renamed("provide_data", self.rename_data)

    @property
    def provide_label(self):
        """The joined (and renamed) DataDescs of the labels."""
        return self._renamed("provide_label", self.rename_label)

    def reset(self):
        for w in self._workers:
            w.ready.wait()
        for it in self.iters:
            it.reset()
        for w in self._workers:
            w.ready.clear()
            w.taken.set()

    def iter_next(self):
        for w in self._workers:
            w.ready.wait()
        results = [w.result for w in self._workers]
        for r in results:
            if isinstance(r, Exception):
                raise r
        if results[0] is None:
            if any(r is not None for r in results):
                raise MXNetError("PrefetchingIter: Number of entry mismatches between iterators")
            return False
        if any(r is None or r.pad != results[0].pad for r in results):
            raise MXNetError("PrefetchingIter: Number of entry mismatches between iterators")
        self.current_batch = DataBatch(
            sum([list(b.data) for b in results], []),
            sum([list(b.label or []) for b in results], []),
            results[0].pad,
            results[0].index,
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )
        for w in self._workers:
            w.ready.clear()
            w.taken.set()
        return True

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad
