"""DataLoader's parallel iterators: worker processes (in order, through pipes) and threads.

Each pass over a DataLoader with ``num_workers > 0`` starts its own workers and stops them
when the pass ends: on exhaustion, when the iterator is dropped (``break`` out of a loop),
when it raises, and at interpreter exit. Batch ``k`` goes to worker ``k % num_workers``,
so reading the workers' result pipes round-robin returns batches in the sampler's order.

Workers start with the 'fork' method where the platform has it, else 'spawn'; on Python
3.12+ a process that already runs other threads uses 'forkserver' instead (forking a
threaded process may deadlock, and Python warns about it).
``DISTNET_DATALOADER_START_METHOD`` overrides. With 'spawn'/'forkserver', multiprocessing pickles
the data set and ``batchify_fn`` to hand them to the new process: that is local process
start-up only, never data that crosses a network, so it is allowed here. Batches come back
as numpy buffers described by msgpack (``_ipc``), never pickled.
"""

import collections
import multiprocessing
import multiprocessing.connection
import queue
import random
import signal
import sys
import threading
import traceback
import weakref
from concurrent import futures

import numpy as np

from ... import config
from ...base import MXNetError
from . import _ipc
from ._batchify import make_fetcher

# Passes started since distnet's generator was last (re)seeded; mixed into worker seeds.
_PASSES = {"generator": None, "count": 0}


class DataLoaderTimeoutError(MXNetError, multiprocessing.TimeoutError):
    """A worker took longer than ``timeout`` seconds to deliver a batch (also a
    ``multiprocessing.TimeoutError``, the type MXNet raised)."""


def start_method():
    """The multiprocessing start method workers use."""
    method = config.get("DISTNET_DATALOADER_START_METHOD")
    if method:
        return method
    methods = multiprocessing.get_all_start_methods()
    if "fork" not in methods:
        return "spawn"
    if sys.version_info >= (3, 12) and threading.active_count() > 1 and "forkserver" in methods:
        return "forkserver"
    return "fork"


def worker_seeds(num):
    """``num`` seeds for a pass's workers: reproducible under ``mx.random.seed``,
    different for every pass, and taken from distnet's generator state without drawing
    from it (so turning workers on does not change the main process's random stream)."""
    from ... import random as _random

    gen = _random.generator()
    if _PASSES["generator"] is not gen:  # mx.random.seed installs a new generator
        _PASSES["generator"], _PASSES["count"] = gen, 0
    _PASSES["count"] += 1
    state = gen.bit_generator.state["state"]  # PCG64: {'state': int, 'inc': int}
    entropy = [v for v in state.values() if isinstance(v, int)] + [_PASSES["count"]]
    return [int(s) for s in np.random.SeedSequence(entropy).generate_state(num)]


def _timeout_error(timeout, batch_idx, who):
    return DataLoaderTimeoutError(
        f"DataLoader {who} timed out after {timeout} seconds waiting for batch "
        f"{batch_idx}. This might be caused by a slow transform: increase `timeout` to "
        "allow slower data loading in each worker."
    )


def _worker_main(wid, dataset, batchify_fn, tasks, results, seed):
    """A worker process: read tasks, load and collate, send the batch (or the error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    from ... import random as _random, context

    _random.seed(seed, ctx=context.cpu())
    random.seed(seed)
    np.random.seed(seed % (2**32))  # augmentations drawing from numpy's global generator
    fetch = make_fetcher(dataset, batchify_fn)
    while True:
        try:
            message = tasks.recv_bytes()
        except (EOFError, OSError):
            return
        if not message:
            return
        batch_idx, indices = _ipc.unpack_task(message)
        try:
            batch = fetch(indices)
            _ipc.send_batch(results, batch_idx, batch)
            continue
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as err:  # reported to the main process with its traceback
            summary, trace = f"{type(err).__name__}: {err}", traceback.format_exc()
        try:
            _ipc.send_error(results, batch_idx, summary, trace)
        except OSError:
            return


def _feed(conns, pending):
    """Feeder thread: send queued tasks so the main thread never blocks on a full pipe
    (a worker blocked writing a large batch reads no tasks until that batch is read)."""
    while True:
        item = pending.get()
        if item is None:
            return
        wid, message = item
        try:
            conns[wid].send_bytes(message)
        except (OSError, ValueError):
            pass  # the worker is gone; the reader reports it


def _stop_workers(procs, tasks, results, pending, feeder, graceful):
    """Stop a pass's workers and release its pipes (also the GC/exit finalizer)."""
    for conn in results:
        conn.close()
    if graceful:
        for wid in range(len(procs)):
            pending.put((wid, b""))
    pending.put(None)
    for proc in procs:
        if graceful:
            proc.join(timeout=2.0)
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=2.0)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=2.0)
    if feeder is not None:
        feeder.join(timeout=2.0)
    for conn in tasks:
        conn.close()


class ProcessIter:
    """One pass over a data set with ``num_workers`` worker processes."""

    def __init__(self, dataset, batchify_fn, batch_sampler, num_workers, prefetch, timeout, ctx):
        self._timeout = timeout
        self._ctx = ctx
        self._batch_sampler = batch_sampler
        self._iter = iter(batch_sampler)
        self._sent = self._rcvd = 0
        self._procs, tasks, results = self._start(dataset, batchify_fn, num_workers)
        self._results = results
        self._pending = queue.SimpleQueue()
        feeder = threading.Thread(
            target=_feed, args=(tasks, self._pending), daemon=True, name="DataLoaderFeeder"
        )
        feeder.start()
        self._stop_state = (self._procs, tasks, results, self._pending, feeder)
        self._stopper = weakref.finalize(self, _stop_workers, *self._stop_state, False)
        for _ in range(prefetch):
            self._push()

    @staticmethod
    def _start(dataset, batchify_fn, num_workers):
        method = start_method()
        mp = multiprocessing.get_context(method)
        procs, tasks, results = [], [], []
        try:
            for wid, seed in enumerate(worker_seeds(num_workers)):
                task_r, task_w = mp.Pipe(duplex=False)
                res_r, res_w = mp.Pipe(duplex=False)
                tasks.append(task_w)
                results.append(res_r)
                proc = mp.Process(
                    target=_worker_main,
                    name=f"DataLoaderWorker-{wid}",
                    args=(wid, dataset, batchify_fn, task_r, res_w, seed),
                    daemon=True,
                )
                try:
                    proc.start()
                finally:
                    task_r.close()  # the child's ends: closing ours lets EOF reach
                    res_w.close()  # each side when the other goes away
                procs.append(proc)
        except Exception as err:
            pending = queue.SimpleQueue()
            _stop_workers(procs, tasks, results, pending, None, False)
            hint = (
                " (with the 'spawn' start method the data set and batchify_fn must be "
                "picklable: define them at module level)"
                if method != "fork"
                else ""
            )
            raise MXNetError(
                f"cannot start DataLoader workers{hint}: {type(err).__name__}: {err}"
            ) from err
        return procs, tasks, results

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._batch_sampler)

    def _push(self):
        indices = next(self._iter, None)
        if indices is None:
            return
        self._pending.put((self._sent % len(self._procs), _ipc.pack_task(self._sent, indices)))
        self._sent += 1

    def __next__(self):
        if not self._stopper.alive:
            raise StopIteration
        self._push()
        if self._rcvd == self._sent:
            self.shutdown(graceful=True)
            raise StopIteration
        try:
            batch = self._receive(self._rcvd % len(self._procs))
        except BaseException:
            self.shutdown()
            raise
        self._rcvd += 1
        return batch

    def _receive(self, wid):
        conn, proc = self._results[wid], self._procs[wid]
        ready = multiprocessing.connection.wait([conn, proc.sentinel], self._timeout)
        if not ready:
            raise _timeout_error(self._timeout, self._rcvd, f"worker {wid}")
        try:
            batch_idx, batch, error = _ipc.recv_batch(conn, self._ctx)
        except (EOFError, OSError):
            proc.join(timeout=1.0)
            raise self._death_error(wid, proc) from None
        if error is not None:
            raise MXNetError(
                f"DataLoader worker {wid} failed to load batch {batch_idx}: "
                f"{error[0]}\nWorker traceback:\n{error[1]}"
            )
        if batch_idx != self._rcvd:
            raise MXNetError(
                f"DataLoader worker {wid} sent batch {batch_idx} where batch "
                f"{self._rcvd} was expected"
            )
        return batch

    def _death_error(self, wid, proc):
        code = proc.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        return MXNetError(
            f"DataLoader worker {wid} (pid {proc.pid}) exited unexpectedly "
            f"({how}) while loading batch {self._rcvd}; if it was killed "
            "for memory, use fewer workers or a smaller prefetch"
        )

    def shutdown(self, graceful=False):
        """Stop the workers now (idempotent); ``graceful`` lets idle workers exit by
        themselves instead of being terminated."""
        if self._stopper.detach() is not None:
            _stop_workers(*self._stop_state, graceful)


class ThreadIter:
    """One pass with ``num_workers`` threads (``thread_pool=True``): no copies, no
    pickling; best when loading releases the GIL (file reads, numpy)."""

    def __init__(self, dataset, batchify_fn, batch_sampler, num_workers, prefetch, timeout):
        self._fetch = make_fetcher(dataset, batchify_fn)
        self._timeout = timeout
        self._iter = iter(batch_sampler)
        self._futures = collections.deque()
        self._rcvd = 0
        self._pool = futures.ThreadPoolExecutor(num_workers, thread_name_prefix="DataLoaderThread")
        self._stopper = weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        for _ in range(prefetch):
            self._push()

    def __iter__(self):
        return self

    def _push(self):
        indices = next(self._iter, None)
        if indices is not None:
            self._futures.append(self._pool.submit(self._fetch, indices))

    def __next__(self):
        self._push()
        if not self._futures:
            self._stopper()
            raise StopIteration
        future = self._futures.popleft()
        try:
            batch = future.result(self._timeout)
        except futures.TimeoutError:
            self._stopper()
            raise _timeout_error(self._timeout, self._rcvd, "thread") from None
        except BaseException:
            self._stopper()
            raise
        self._rcvd += 1
        return batch
