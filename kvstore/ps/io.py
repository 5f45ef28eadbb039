"""The worker's background I/O thread: it alone owns the zmq sockets.

Callers queue requests (with a priority) and get a Handle back at once; the thread
sends them highest priority first, routes replies to their callbacks, heartbeats the
scheduler, and fails every pending request with a message naming the peer and the
operation when the job aborts or the scheduler goes silent.
"""

import heapq
import itertools
import logging
import os
import socket
import threading
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

from . import protocol as P
from ..base import KVStoreError

log = logging.getLogger("kvstore")
SCHED = -1  # target index of the scheduler; servers are 0..S-1


class Handle:
    """Completion of one operation made of `parts` replies; `wait()` is bounded."""

    def __init__(self, parts, what, timeout):
        self.what = what
        self._left = parts
        self._timeout = timeout
        self._lock = threading.Lock()
        self._event = threading.Event()
        self.error = None
        if parts == 0:
            self._event.set()

    def part_done(self):
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                self._event.set()

    def fail(self, error):
        self.error = self.error or error
        self._event.set()

    @property
    def done(self):
        """True once every reply arrived or the operation failed."""
        return self._event.is_set()

    def wait(self):
        """Block until complete; raise KVStoreError on failure or after the timeout."""
        if not self._event.wait(self._timeout):
            raise KVStoreError(
                f"{self.what}: no answer within {self._timeout:g} s (DISTNET_KVSTORE_TIMEOUT)"
            )
        if self.error:
            raise KVStoreError(self.error)


class Group:
    """Several handles waited on as one (what `pull` of many keys returns)."""

    def __init__(self, handles):
        self.handles = handles

    @property
    def done(self):
        return all(h.done for h in self.handles)

    def wait(self):
        for h in self.handles:
            h.wait()


class _Req:
    __slots__ = ("handle", "on_reply", "on_fail", "peer", "frames")

    def __init__(self, handle, on_reply, on_fail, peer):
        self.handle, self.on_reply, self.on_fail, self.peer = handle, on_reply, on_fail, peer
        self.frames = None  # kept once sent, to send again after a reconnection

    def fail(self, error):
        if self.on_fail is not None:
            self.on_fail()
        self.handle.fail(error)


class IOThread(threading.Thread):
    """Owns the scheduler and server sockets of one worker."""

    def __init__(self, cfg, token, on_registered, on_shm_free=None):
        super().__init__(name="kvstore-io", daemon=True)
        self.cfg, self.token = cfg, token
        self.ctx = zmq.Context.instance()
        self._on_registered = on_registered
        self._on_shm_free = on_shm_free  # a server has summed a push from shared memory
        self._queue = []  # heap of (-priority, seq, target, frames, rid, req)
        self._qlock = threading.Lock()
        self._seq = itertools.count()
        self._rid = itertools.count(1)
        self._reqs = {}  # rid -> _Req
        self._wake_addr = f"inproc://kvstore-io-{id(self)}"
        self._wake_rx = self.ctx.socket(zmq.PULL)
        self._wake_rx.bind(self._wake_addr)
        self._wake_tx = self.ctx.socket(zmq.PUSH)
        self._wake_tx.connect(self._wake_addr)
        self._stopping = False
        self.broken = None  # why the job can no longer be used
        self.peers = {SCHED: f"the scheduler ({cfg.scheduler_addr})"}
        # Frame caps of the peers (a server's arrives with the registration): a frame
        # over one would make the peer drop the connection without an answer.
        self.limits = {SCHED: P.SCHEDULER_MAX_MESSAGE}
        self.sockets = {}
        self._route_id = P.new_ident("worker")  # the same on every connection and reconnection
        self._monitors = {}  # monitor socket -> target
        self._down = {}  # target -> when its connection dropped (zmq reconnects)

    def next_rid(self):
        return next(self._rid)

    def submit(self, target, frames, rid, handle, on_reply=None, priority=0, on_fail=None):
        """Queue frames for `target`; replies with `rid` go to on_reply(msg) then the handle;
        on_fail() runs if the request fails instead."""
        req = _Req(handle, on_reply, on_fail, target)
        too_big = P.frame_limit_error(
            frames,
            self.limits.get(target, float("inf")),
            handle.what,
            self.peers.get(target, "the peer"),
        )
        if self.broken or too_big:
            req.fail(too_big or f"{handle.what}: {self.broken}")
            return handle
        with self._qlock:
            if not self._queue:  # else a wake-up is on its way and _flush empties it all
                self._wake_tx.send(b"")
            heapq.heappush(self._queue, (-priority, next(self._seq), target, frames, rid, req))
        return handle

    def pending(self):
        """Number of requests still waiting for their reply."""
        with self._qlock:
            return len(self._reqs) + len(self._queue)

    def stop(self):
        self._stopping = True
        with self._qlock:
            self._wake_tx.send(b"")

    # ---- inside the thread -----------------------------------------------------------
    def _connect(self, target, addr):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        P.dial(s, self.token, self._route_id)
        mon = s.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self._monitors[mon] = target
        s.connect(addr)
        self.sockets[target] = s
        return s

    def _on_monitor(self, mon):
        """A connection dropped (zmq reconnects by itself) or came back: once back, send
        again what is still unanswered on it, since requests or replies in flight when
        it dropped are lost. The peer answers a duplicate as the first one."""
        target = self._monitors[mon]
        while mon.poll(0):
            event = recv_monitor_message(mon)["event"]
            if event == zmq.EVENT_DISCONNECTED:  # not logged: a peer ending the job also
                self._down.setdefault(target, time.monotonic())
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED and target in self._down:
                took = time.monotonic() - self._down.pop(target)
                with self._qlock:
                    frames = [
                        r.frames
                        for r in self._reqs.values()
                        if r.peer == target and r.frames is not None
                    ]
                log.warning(
                    "worker: the connection to %s dropped and was made again after "
                    "%.1f s; %d unanswered requests sent again",
                    self.peers.get(target),
                    took,
                    len(frames),
                )
                for f in frames:
                    P.send(self.sockets[target], P.again(f))

    def _flush(self):
        """Send everything queued, highest priority first; several requests for the same
        server go as one batch message."""
        with self._qlock:
            items = [heapq.heappop(self._queue) for _ in range(len(self._queue))]
            for item in items:
                item[5].frames = item[3]
                self._reqs[item[4]] = item[5]
        by_target = {}
        for item in items:
            by_target.setdefault(item[2], []).append(item[3])
        for target, messages in by_target.items():
            sock, run = self.sockets[target], []
            for frames in messages:  # in order: runs of small ones go as one batch
                if target != SCHED and P.small(frames):
                    run.append(frames)
                    continue
                self._send_run(sock, run)
                P.send(sock, frames)
            self._send_run(sock, run)

    def _send_run(self, sock, run):
        for frames in P.pack(self.token, self.sender, run):
            P.send(sock, frames)
        run.clear()

    def _fail_all(self, why):
        self.broken = why
        with self._qlock:
            reqs = list(self._reqs.values()) + [item[-1] for item in self._queue]
            self._reqs.clear()
            self._queue.clear()
        for req in reqs:
            req.fail(f"{req.handle.what}: {why}")

    def _on_message(self, target, msg):
        if msg.op == "registered":
            limits = msg.meta.get("max_message") or []
            for i, addr in enumerate(msg.meta["servers"]):
                self._connect(i, addr)
                self.peers[i] = f"server {i} ({addr})"
                if i < len(limits) and isinstance(limits[i], int):
                    self.limits[i] = limits[i]
            self._on_registered(msg.meta)
            return
        if msg.op == "abort":
            return self._fail_all(f"the job was aborted: {msg.meta.get('reason')}")
        if msg.op == "heartbeat_ack":
            return
        if msg.op == "shm_free":
            if self._on_shm_free is not None:
                self._on_shm_free(msg.meta.get("name"))
            return
        with self._qlock:
            req = self._reqs.pop(msg.rid, None)
        if req is None:
            return
        if msg.op == "error":
            req.fail(str(msg.meta.get("msg")))
            return
        try:
            if req.on_reply is not None:
                req.on_reply(msg)
            req.handle.part_done()
        except Exception as e:  # noqa: BLE001 - e.g. a reply that does not fit the output
            req.fail(f"{req.handle.what}: {type(e).__name__}: {e}")

    def _receive(self, sock, target):
        while True:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                msg = P.decode(frames, self.token)
                subs = P.unbatch(msg, self.token) if msg.op == "batch" else [msg]
            except P.ProtocolError as e:
                subs = [e]
            for sub in subs:
                if isinstance(sub, P.ProtocolError):
                    log.warning(
                        "worker: dropped a message from %s: %s", self.peers.get(target), sub
                    )
                else:
                    self._on_message(target, sub)

    def run(self):
        try:
            self._loop()
        except Exception as e:  # noqa: BLE001 - never leave callers waiting
            log.exception("kvstore I/O thread failed")
            self._fail_all(f"the kvstore I/O thread failed: {type(e).__name__}: {e}")

    def _loop(self):
        sched = self._connect(SCHED, self.cfg.scheduler_addr)
        self._register(sched)
        poller = zmq.Poller()
        poller.register(self._wake_rx, zmq.POLLIN)
        known = set()
        last_seen = next_beat = time.monotonic()
        while not self._stopping:
            for s in list(self.sockets.values()) + list(self._monitors):
                if s not in known:
                    poller.register(s, zmq.POLLIN)
                    known.add(s)
            events = dict(poller.poll(int(self.cfg.heartbeat * 1000)))
            if self._wake_rx in events:
                while self._wake_rx.poll(0):
                    self._wake_rx.recv()
            for mon in self._monitors:
                if mon in events:
                    self._on_monitor(mon)
            for t, s in list(self.sockets.items()):
                if s in events:
                    if t == SCHED:
                        last_seen = time.monotonic()
                    self._receive(s, t)
            self._flush()
            now = time.monotonic()
            if now >= next_beat and not self.broken:
                P.send(sched, P.encode("heartbeat", self.token, self.sender))
                next_beat = now + self.cfg.heartbeat
            if now - last_seen > self.cfg.heartbeat_timeout and not self.broken:
                self._fail_all(
                    f"{self.peers[SCHED]} stopped responding (no heartbeat answer "
                    f"for {self.cfg.heartbeat_timeout:g} s)"
                )
        for s in self.sockets.values():
            s.disable_monitor()
            s.close()
        for mon in self._monitors:
            mon.close(linger=0)
        self._wake_rx.close()

    def _register(self, sched):
        self.sender = f"worker:{self.cfg.worker_id}"
        P.send(
            sched,
            P.encode(
                "register",
                self.token,
                self.sender,
                meta={
                    "role": "worker",
                    "rank": self.cfg.worker_id,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                },
            ),
        )
        deadline = time.monotonic() + self.cfg.start_timeout
        while not self._stopping and time.monotonic() < deadline:
            if sched.poll(200):
                try:
                    msg = P.decode(sched.recv_multipart(copy=False), self.token)
                except P.ProtocolError as e:
                    log.warning("worker: dropped a message from the scheduler: %s", e)
                    continue
                if msg.op == "registered":
                    self.sender = f"worker:{msg.meta['rank']}"
                    return self._on_message(SCHED, msg)
                if msg.op == "abort":
                    return self._fail_all(f"the job was aborted: {msg.meta.get('reason')}")
        self._fail_all(
            f"{self.peers[SCHED]} did not answer registration within {self.cfg.start_timeout:g} s"
        )
