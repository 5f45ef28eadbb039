"""The worker side of 'dist_sync' / 'dist_async' / 'dist_device_sync'.

push and pull return at once with a handle; the I/O thread does the sending, and a pull
writes into its outputs when the reply arrives (wait on the handle before reading them).
A pushed array is sent without a copy: do not modify it until its push handle is done
(distnet's mx.kv enforces that through the NDArray's pending marker).  With servers on
the same host, big arrays go through shared memory instead of the socket (shm.py).

At interpreter exit every open store delivers (or fails) its queued messages and leaves
the job before pyzmq shuts down; a transfer that failed without any wait() reporting it
makes the worker exit 1 naming the key (MXNet's workers could hang or die silently there).
"""

import atexit
import os
import sys
import threading
import time
import weakref
import zlib

import msgpack
import numpy as np

from . import protocol as P
from . import shm
from ..base import (
    KVStore,
    KVStoreError,
    check_like,
    pairs,
    reduce_sum,
    to_host,
    write_atomic,
    copy_into,
)
from .config import Config
from .io import SCHED, Group, Handle, IOThread

STATES_FORMAT = "distnet-kvstore-server-states"

# Process-wide bookkeeping of the worker side, for waitall() and for interpreter exit.
_STORES = weakref.WeakSet()  # open DistStores: flushed and closed at exit
_INFLIGHT = weakref.WeakSet()  # every _Op; one in flight is kept alive by the I/O thread
_FAILED = set()  # failed _Ops whose failure no wait() has raised yet
_FAILED_LOCK = threading.Lock()  # the I/O thread adds to _FAILED while callers read it
_EXIT_HOOK = []  # [True] once _at_exit is registered
_CRASHED = []  # the exception type that ended the main script, if one did


class _Op(Handle):
    """A Handle the process knows about: `wait_all()` waits for it, and a failure that no
    `wait()` raised is reported when the interpreter exits (the worker then exits 1)."""

    def __init__(self, parts, what, timeout):
        super().__init__(parts, what, timeout)
        self.pid = os.getpid()
        _INFLIGHT.add(self)

    def fail(self, error):
        if self.error is None:
            with _FAILED_LOCK:  # before the event is set, so wait() always finds it here
                _FAILED.add(self)
        super().fail(error)

    def wait(self):
        try:
            super().wait()
        except KVStoreError:
            with _FAILED_LOCK:  # the caller has seen it
                _FAILED.discard(self)
            raise


def wait_all():
    """Wait for every push/pull/pushpull of this process (what `mx.nd.waitall()` does on
    top of the GPU streams); raise one KVStoreError naming every failed transfer that no
    wait() has reported yet (each is reported once)."""
    errors = []
    for op in _ops():
        try:
            Handle.wait(op)  # the base wait: a failure stays in _FAILED, reported below
        except KVStoreError as e:
            if not op.done:  # timed out: still in flight
                errors.append(str(e))
    errors += [_describe(op) for op in _take_failures()]
    if errors:
        raise KVStoreError("kvstore transfers failed:\n  " + "\n  ".join(errors))


def _ops():
    """A snapshot of _INFLIGHT (another thread may add to it while we copy)."""
    while True:
        try:
            return list(_INFLIGHT)
        except RuntimeError:
            continue


def _take_failures():
    with _FAILED_LOCK:
        failed = sorted(_FAILED, key=lambda op: op.what)
        _FAILED.clear()
    return failed


def _describe(op):
    err = str(op.error)
    return err if err.startswith(op.what) else f"{op.what}: {err}"


def _register_exit_hook():
    """Run _at_exit before pyzmq's own exit handlers: atexit runs handlers last-registered
    first, and pyzmq registers its garbage collector's handler (which refuses zero-copy
    sends afterwards) when zmq.utils.garbage is first imported, so import it first."""
    if _EXIT_HOOK:
        return
    import zmq.utils.garbage  # noqa: F401 - registers pyzmq's handler before ours

    atexit.register(_at_exit)
    sys.excepthook = _noting_crash(sys.excepthook)
    _EXIT_HOOK.append(True)


def _noting_crash(hook):
    """sys.excepthook that notes an uncaught exception: a crashed script's worker leaves
    the job at once instead of waiting for transfers its peers may never complete."""

    def excepthook(exc_type, value, tb):
        _CRASHED.append(exc_type)
        hook(exc_type, value, tb)

    return excepthook


def _at_exit():
    """Deliver (or fail) every queued message of every open store, leave the job, and make
    the worker exit 1 naming each transfer that was not delivered.  Without this, sends
    still queued when a script ends die in pyzmq's shutdown and the job aborts later."""
    pid = os.getpid()
    for store in list(_STORES):
        if store._pid == pid:  # not one a forked child (a data loader worker) inherited
            store._finish(drain=not _CRASHED)
    failed = [op for op in _take_failures() if op.pid == pid]
    if not failed:
        return
    lines = "\n  ".join(_describe(op) for op in failed)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    sys.stderr.write(
        f"distnet kvstore: {len(failed)} transfer(s) of this worker failed "
        f"and no wait() reported them; exiting with code 1:\n  {lines}\n"
    )
    sys.stderr.flush()
    os._exit(1)


def _server_of(key, num_servers):
    """Stable key -> server mapping (crc32, identical in every process and run)."""
    tag = (f"i:{key}" if isinstance(key, int) else f"s:{key}").encode()
    return zlib.crc32(tag) % num_servers


def plan_parts(key, size, num_servers, bound):
    """[(server, start, stop)] over the flattened array: big arrays split evenly over all servers."""
    if size > bound and num_servers > 1:
        edges = np.linspace(0, size, num_servers + 1).astype(np.int64)
        return [(i, int(edges[i]), int(edges[i + 1])) for i in range(num_servers)]
    return [(_server_of(key, num_servers), 0, size)]


def _part(arr, plan, a, b):
    """The piece of `arr` a server holds: the array itself (its shape too, so the servers'
    optimizer states look as in one process) unless it is split, then a flat slice."""
    return arr if len(plan) == 1 else arr.reshape(-1)[a:b]


class _Meta:
    __slots__ = ("shape", "dtype", "plan", "pushes", "last_push", "push_priority")

    def __init__(self, shape, dtype, plan):
        self.shape, self.dtype, self.plan, self.pushes = shape, dtype, plan, 0
        self.last_push = None  # a pull waits on it first, so a rejected push fails the pull
        self.push_priority = 0  # a pull never goes out before the push it follows


def _close_io(io, timeout, arena, drain=True):
    """Flush (unless not `drain`), tell the scheduler this worker is done, stop the I/O
    thread (idempotent)."""
    if io.is_alive() and not io.broken:
        deadline = time.monotonic() + (timeout if drain else 0.0)
        while io.pending() and time.monotonic() < deadline and not io.broken:
            time.sleep(0.005)
        h = Handle(1, "close of the kvstore", min(timeout, 30.0))
        rid = io.next_rid()
        io.submit(SCHED, P.encode("close", io.token, io.sender, rid=rid), rid, h)
        try:
            h.wait()
        except KVStoreError:
            pass
    io.stop()
    io.join(5.0)
    if arena is not None:
        arena.close()


class DistStore(KVStore):
    """A worker's connection to the parameter servers."""

    def __init__(self, name):
        super().__init__(name)
        self.cfg = Config()
        self._sync = name != "dist_async"
        self._meta = {}
        self._info = {}
        ready = threading.Event()
        info = self._info  # the callback must not hold `self`, or it could never be collected
        arena = self._arena = shm.Arena() if self.cfg.shm and shm.available() else None
        self._io = IOThread(
            self.cfg,
            P.job_token(),
            lambda m: (info.update(m), ready.set()),
            arena.release if arena is not None else None,
        )
        self._io.start()
        deadline = time.monotonic() + self.cfg.start_timeout
        while not ready.wait(0.1):
            if self._io.broken or time.monotonic() > deadline:
                self._io.stop()
                if arena is not None:
                    arena.close()
                raise KVStoreError(
                    f"{name}: could not join the job: {self._io.broken or 'timeout'}"
                )
        self._finalizer = weakref.finalize(self, _close_io, self._io, self.cfg.timeout, arena)
        self._pid = os.getpid()
        _STORES.add(self)
        _register_exit_hook()  # after the finalizer's own atexit hook: ours runs first
        self._shm_ok = self._shm_hello()

    def _shm_hello(self):
        """Which servers can read this worker's shared memory (same host and user)."""
        ok = [False] * self.num_servers
        if self._arena is None:
            return ok

        def keep(s):
            return lambda msg: ok.__setitem__(s, msg.meta.get("ok") is True)

        meta = {"dir": self._arena.dir, "nonce": self._arena.nonce, "rank": self.rank}
        handles = [
            self._request(
                s, "shm_hello", f"shm_hello to {self._peer(s)}", on_reply=keep(s), meta=meta
            )
            for s in range(self.num_servers)
        ]
        for h in handles:
            try:
                h.wait()
            except KVStoreError:
                pass  # that server answers over zmq only
        self._arena.probed()
        return ok

    @property
    def rank(self):
        return self._info["rank"]

    @property
    def num_workers(self):
        return self._info["num_workers"]

    @property
    def num_servers(self):
        """Number of parameter servers in the job."""
        return self._info["num_servers"]

    def _peer(self, server):
        return self._io.peers[server]

    def _request(
        self, target, op, what, priority=0, on_reply=None, handle=None, on_fail=None, **kw
    ):
        rid = self._io.next_rid()
        h = handle or _Op(1, what, self.cfg.timeout)
        frames = P.encode(op, self._io.token, self._io.sender, rid=rid, **kw)
        return self._io.submit(target, frames, rid, h, on_reply, priority, on_fail)

    def _segment(self, k, part, srv, nbytes):
        """The shared-memory segment of (k, part) when its server can use it, else None."""
        if self._arena is None or not self._shm_ok[srv] or self._compression is not None:
            return None
        return self._arena.segment(k, part, nbytes)

    def _key_meta(self, key, op):
        meta = self._meta.get(key)
        if meta is None:
            raise KVStoreError(
                f"{op} of key {key!r}: the key was not initialised on worker {self.rank}"
            )
        return meta

    def init(self, key, value):
        """Record shapes; rank 0 sends its values to the servers; then all workers barrier."""
        handles = []
        for k, vals in pairs(key, value):
            if k in self._meta:
                raise KVStoreError(f"init of key {k!r}: the key is already initialised")
            v = np.ascontiguousarray(to_host(vals[0]))
            meta = self._meta[k] = _Meta(v.shape, v.dtype, self._plan(k, v))
            if self.rank != 0:
                continue
            for part, (srv, a, b) in enumerate(meta.plan):
                handles.append(
                    self._request(
                        srv,
                        "init",
                        f"init of key {k!r} on {self._peer(srv)}",
                        key=k,
                        part=part,
                        array=_part(v, meta.plan, a, b),
                        meta={"rank": 0},
                    )
                )
        Group(handles).wait()
        self.barrier()

    def _plan(self, k, v):
        """Flat ranges per server; whole rows for keys of init_rows (dist/sparse.py)."""
        if k in self.__dict__.get("_row_keys", ()):  # dist/sparse.py init_rows
            from .sparse import plan_rows

            return plan_rows(k, v.shape, self.num_servers, self.cfg.bigarray_bound, _server_of)
        return plan_parts(k, v.size, self.num_servers, self.cfg.bigarray_bound)

    def init_rows(self, key, value):
        """init from RowSparse values: the servers hold the keys by ranges of whole rows
        and allocate them; only the stored rows travel (dist/sparse.py)."""
        from .sparse import init_rows

        init_rows(self, key, value)

    def push_rows(self, key, value, priority=0):
        """Row-sparse push: each server gets the rows of its range (dist/sparse.py)."""
        from .sparse import push_rows

        return push_rows(self, key, value, priority)

    def pull_rows(self, key, row_ids, priority=0):
        """The rows ``row_ids`` (sorted unique) of ``key`` from the servers holding them."""
        from .sparse import pull_rows

        return pull_rows(self, key, row_ids)

    def _merged(self, k, vals, meta):
        for v in vals:
            check_like(k, meta.shape, meta.dtype, v, "push")
        if len(vals) > 1:
            if self._type == "dist_device_sync":  # sum on the devices, send one array
                return np.ascontiguousarray(to_host(reduce_sum(vals)))
            return reduce_sum([to_host(v) for v in vals])
        return np.ascontiguousarray(to_host(vals[0]))

    def _push_payload(self, k, part, srv, arr, extra, with_pull):
        """(array to send, on_fail, segment) for one part of a push: through shared memory
        when its segment is free (lent to the pull too when `with_pull`), as 2-bit codes
        or float16 with compression on, else the array itself (sent without a copy)."""
        seg = self._segment(k, part, srv, arr.nbytes)
        if seg is not None and seg.lend_push(with_pull):
            np.copyto(seg.view.view(arr.dtype), arr.reshape(-1))
            extra["shm"] = seg.name
            return None, seg.end_both if with_pull else seg.end_push, seg
        if self._compression is not None:
            extra["compressed"] = self._compression.wire_meta()
            return self._compression.quantize((k, part), arr), None, None
        return arr, None, None

    def push(self, key, value, priority=0):
        """Send each key's (summed) value to its servers; returns a handle done when received."""
        handles = []
        for k, vals in pairs(key, value):
            meta = self._key_meta(k, "push")
            merged = self._merged(k, vals, meta)
            meta.pushes += 1
            start = len(handles)
            for part, (srv, a, b) in enumerate(meta.plan):
                extra = {"rank": self.rank, "sync": self._sync}
                arr, on_fail, _ = self._push_payload(
                    k, part, srv, _part(merged, meta.plan, a, b), extra, False
                )
                handles.append(
                    self._request(
                        srv,
                        "push",
                        f"push of key {k!r} to {self._peer(srv)}",
                        priority,
                        key=k,
                        part=part,
                        rnd=meta.pushes,
                        array=arr,
                        meta=extra,
                        on_fail=on_fail,
                    )
                )
            meta.last_push, meta.push_priority = Group(handles[start:]), priority
        return Group(handles)

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Fetch each key into its outputs (after this worker's pushes are applied, in sync mode)."""
        if out is None:
            raise KVStoreError("pull needs out= arrays to write into")
        handles = []
        for k, outs in pairs(key, out, "output"):
            meta = self._key_meta(k, "pull")
            for o in outs:
                check_like(k, meta.shape, meta.dtype, o, "pull")
            if k in self.__dict__.get("_row_keys", ()) and _rows_aligned(meta):
                from .sparse import pull_all  # row_sparse key: after its sync row round

                for o in outs:
                    pull_all(self, k, o)
                continue
            prio = priority
            if meta.last_push is not None and not meta.last_push.done:
                handles.append(meta.last_push)
                prio = min(priority, meta.push_priority)  # queued after the push (async)
            handles.append(self._pull_key(k, meta, outs, prio))
        return Group(handles)

    def pushpull(self, key, value, out=None, priority=0):
        """push then pull (into value when out is None) as one request per server: the
        reply to the push carries the round's result.  Returns the handle of the pulls."""
        handles = []
        outs_of = dict(pairs(key, value if out is None else out, "output"))
        for k, vals in pairs(key, value):
            meta = self._key_meta(k, "push")
            for o in outs_of[k]:
                check_like(k, meta.shape, meta.dtype, o, "pull")
            merged = self._merged(k, vals, meta)
            meta.pushes += 1
            meta.last_push = self._pull_key(k, meta, outs_of[k], priority, merged)
            meta.push_priority = priority
            handles.append(meta.last_push)
        return Group(handles)

    def _pull_key(self, k, meta, outs, priority, pushed=None):
        """Pull `k` into outs; with `pushed`, push it in the same requests (pushpull)."""
        direct = [o for o in outs if isinstance(o, np.ndarray) and o.flags.c_contiguous]
        staged = [o for o in outs if not any(o is d for d in direct)]
        stage = np.empty(meta.shape, meta.dtype) if staged else None
        targets = [o.reshape(-1) for o in direct] + ([stage.reshape(-1)] if staged else [])
        op = "pull" if pushed is None else "pushpull"
        h = _Op(len(meta.plan), f"{op} of key {k!r}", self.cfg.timeout)
        left = [len(meta.plan)]

        def on_part(a, b, seg, end):
            def on_reply(msg):
                src = msg.array
                if src is None and seg is not None and msg.meta.get("shm") == seg.name:
                    src = seg.view.view(meta.dtype)
                if src is None or src.size != b - a:
                    raise KVStoreError(f"reply of {msg.sender} does not fit key {k!r}")
                for t in targets:
                    t[a:b] = src.reshape(-1)
                if end is not None:
                    end()
                left[0] -= 1
                if left[0] == 0:
                    for o in staged:  # device or non-contiguous outputs: one copy at the end
                        copy_into(o, stage)

            return on_reply

        for part, (srv, a, b) in enumerate(meta.plan):
            h.what = f"{op} of key {k!r} {'from' if pushed is None else 'with'} {self._peer(srv)}"
            extra = {"rank": self.rank, "sync": self._sync}
            if pushed is None:
                arr, seg = None, self._segment(k, part, srv, (b - a) * meta.dtype.itemsize)
                if seg is not None and not seg.lend_pull():
                    seg = None
                if seg is not None:
                    extra["shm"] = seg.name
                end = seg.end_pull if seg is not None else None
            else:
                arr, end, seg = self._push_payload(
                    k, part, srv, _part(pushed, meta.plan, a, b), extra, True
                )
            self._request(
                srv,
                op,
                h.what,
                priority,
                on_part(a, b, seg, end),
                handle=h,
                key=k,
                part=part,
                rnd=meta.pushes,
                array=arr,
                meta=extra,
                on_fail=end,
            )
        return h

    def broadcast(self, key, value, out, priority=0):
        """init with rank 0's value, then pull it into out everywhere."""
        self.init(key, value)
        return self.pull(key, out, priority)

    def set_updater(self, updater):
        raise KVStoreError(
            f"{self.type}: a worker-side updater cannot run on the servers; "
            f"use set_optimizer (name and hyperparameters)"
        )

    _set_updater = set_updater

    def _all_servers(self, op, what, **kw):
        return Group(
            [
                self._request(s, op, f"{what} on {self._peer(s)}", **kw)
                for s in range(self.num_servers)
            ]
        )

    def set_optimizer(self, name, hyperparams=None):
        """Rank 0 sends the optimizer's name and hyperparameters to every server; then barrier."""
        if self.rank == 0:
            self._all_servers(
                "set_optimizer",
                f"set_optimizer {name}",
                meta={"name": name, "params": dict(hyperparams or {})},
            ).wait()
        self.barrier()

    def barrier(self):
        """Wait (bounded) until every worker that has not closed reaches the barrier."""
        self._request(SCHED, "barrier", f"barrier on worker {self.rank}").wait()

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Collect every server's optimizer states into one msgpack file (written atomically)."""
        states = [None] * self.num_servers

        def keep(s):
            return lambda msg: states.__setitem__(s, msg.array.tobytes())

        Group(
            [
                self._request(s, "get_states", f"get_states on {self._peer(s)}", on_reply=keep(s))
                for s in range(self.num_servers)
            ]
        ).wait()
        write_atomic(
            fname,
            msgpack.packb(
                {"format": STATES_FORMAT, "version": 1, "servers": states}, use_bin_type=True
            ),
        )

    def load_optimizer_states(self, fname):
        """Send each server its part of a file written by save_optimizer_states (each
        server validates its part and answers an error naming what is wrong)."""
        try:
            with open(fname, "rb") as f:
                doc = msgpack.unpackb(f.read(), raw=False)
        except OSError as e:
            raise KVStoreError(f"cannot read optimizer states {fname!r}: {e.strerror}") from None
        except Exception:  # noqa: BLE001 - msgpack raises many types on garbage
            doc = None
        if (
            not isinstance(doc, dict)
            or doc.get("format") != STATES_FORMAT
            or not (
                isinstance(doc.get("servers"), list)
                and all(isinstance(s, bytes) for s in doc["servers"])
            )
        ):
            raise KVStoreError(f"{fname} is not a dist kvstore optimizer state file")
        if len(doc["servers"]) != self.num_servers:
            raise KVStoreError(
                f"{fname} holds the states of {len(doc['servers'])} servers; "
                f"this job has {self.num_servers}"
            )
        Group(
            [
                self._request(
                    s,
                    "set_states",
                    f"set_states on {self._peer(s)}",
                    array=np.frombuffer(doc["servers"][s], dtype=np.uint8),
                )
                for s in range(self.num_servers)
            ]
        ).wait()

    def _finish(self, drain=True):
        """At exit: wait (bounded by DISTNET_KVSTORE_TIMEOUT) for every transfer of this
        store still in flight, marking one that never completes as failed, then close.
        Without `drain` (the script crashed) leave the job at once."""
        if not self._finalizer.alive:
            return
        deadline = time.monotonic() + self.cfg.timeout
        for op in _ops() if drain else ():
            while not op.done and time.monotonic() < deadline:
                time.sleep(0.002)
            if not op.done:
                op.fail(
                    f"{op.what}: not delivered within {self.cfg.timeout:g} s before the "
                    f"worker exited (DISTNET_KVSTORE_TIMEOUT)"
                )
        args = self._finalizer.detach()  # each transfer is done or failed: no 2nd wait
        if args is not None:
            _close_io(*args[2], drain=False)

    def close(self):
        """Finish pending requests and leave the job; later sync rounds no longer wait for us."""
        self._finalizer()


def _rows_aligned(meta):
    """Whether a row_sparse key is held by whole rows (then pulled as rows; sparse.py)."""
    from .sparse import aligned

    return aligned(meta)
