"""A parameter server: stores key parts, sums each sync round in rank order, runs the optimizer.

Single-threaded: one ROUTER socket for the workers' requests, one DEALER to the
scheduler.  Every request is validated; a bad one gets an error reply naming the key,
this server and the expected vs given shape/dtype, and the server serves on.  Arrays of
workers on this host may come and go through shared memory (see shm.py).
The data socket admits only peers holding the job token and takes frames of at most
DISTNET_KVSTORE_MAX_MESSAGE bytes (see config.max_message and protocol.listen).
"""

import collections
import logging
import os
import socket
import time

import numpy as np
import zmq

from . import protocol as P
from . import sparse
from .gate import Gate
from ..base import KVStoreError
from ..compression import decode_push
from ..updaters import make_updater, summed_only
from .config import Config
from .rounds import Slot
from .shm import Maps

log = logging.getLogger("kvstore")
_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)  # plain ints: no enum per call
_RECENT = 4096  # request ids per worker remembered to spot copies sent again
# ops that name a key and come from a worker rank
_KEYED = frozenset(["push", "pull", "pushpull", "init", "push_rows", "pull_rows", "init_rows"])


class Server:
    """Runs one server role; `run` returns the process exit status."""

    def __init__(self, cfg=None):
        self.cfg = cfg or Config()
        self.token = P.job_token()
        ctx = zmq.Context.instance()
        self.gate = Gate.open(ctx, self.token)
        self.data = ctx.socket(zmq.ROUTER)
        self.data.setsockopt(zmq.LINGER, 1000)
        P.listen(self.data, self.cfg.max_message)
        port = self.data.bind_to_random_port(f"tcp://{self.cfg.node_host}")
        self.addr = f"tcp://{self.cfg.node_host}:{port}"
        self.sched = ctx.socket(zmq.DEALER)
        self.sched.setsockopt(zmq.LINGER, 1000)
        P.dial(self.sched, self.token, P.new_ident("server"))
        self.sched.connect(self.cfg.scheduler_addr)
        self.rank = -1
        self.slots = {}  # (key, part) -> Slot
        self.active = set()  # ranks of workers that have not closed
        self.updater = None
        self.drop = P.DropLog(f"server {self.addr}")
        self.maps = Maps()  # workers' shared-memory segments
        self._outbox = None  # ident -> [frames] waiting to leave at the end of a drain
        self._recent = {}  # ident -> (set, deque) of the request ids handled lately
        self._name = None
        self._handlers = None  # op -> bound method (see _handler)

    def name(self):
        """'server R (tcp://host:port)', as messages and logs name this server."""
        if self._name is None or self._name[0] != self.rank:
            self._name = (self.rank, f"server {self.rank} ({self.addr})")
        return self._name[1]

    def _to_sched(self, op, meta=None):
        P.send(self.sched, P.encode(op, self.token, f"server:{self.rank}", meta=meta))

    def _send(self, ident, frames, track=None):
        """Send to a worker.  While a drain is handling requests, messages wait in the
        outbox and leave together (batched) at its end, holding copies of small arrays;
        a big array goes at once without a copy (after what waits for that worker), its
        zmq tracker kept on `track` (the slot whose value it is)."""
        if self._outbox is not None and P.small(frames):
            self._outbox.setdefault(ident, []).append([bytes(f) for f in frames])
            return
        if self._outbox and ident in self._outbox:
            self._post(ident, self._outbox.pop(ident))
        tracker = P.send(self.data, frames, ident, track=track is not None)
        if tracker is not None:
            track.trackers.append(tracker)

    def _post(self, ident, messages):
        for frames in P.pack(self.token, self.name(), messages):
            P.send(self.data, frames, ident)

    def _reply(self, ident, rid, array=None, track=None, meta=None):
        self._send(
            ident,
            P.encode("reply", self.token, self.name(), rid=rid, array=array, meta=meta),
            track,
        )

    def _error(self, ident, rid, text):
        self._send(
            ident,
            P.encode(
                "error", self.token, self.name(), rid=rid, meta={"msg": f"{self.name()}: {text}"}
            ),
        )

    # ---- registration -------------------------------------------------------------
    def register(self):
        """Register with the scheduler and wait (bounded) for rank and worker count."""
        self._to_sched(
            "register",
            {
                "role": "server",
                "rank": self.cfg.server_id,
                "addr": self.addr,
                "max_message": self.cfg.max_message,
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
        )
        if not self.sched.poll(int(self.cfg.start_timeout * 1000)):
            raise KVStoreError(
                f"{self.name()}: the scheduler at {self.cfg.scheduler_addr} "
                f"did not answer registration within {self.cfg.start_timeout:g} s"
            )
        msg = P.decode(self.sched.recv_multipart(), self.token)
        if msg.op != "registered":
            raise KVStoreError(f"{self.name()}: expected registration, got {msg.op}")
        self.rank = msg.meta["rank"]
        self.active = set(range(msg.meta["num_workers"]))
        self.drop.who = self.name()

    # ---- data requests ------------------------------------------------------------
    def _slot(self, msg, op):
        slot = self.slots.get((msg.key, msg.part))
        if slot is None:
            raise KVStoreError(
                f"{op} of key {msg.key!r} (part {msg.part}): the key was not initialised"
            )
        return slot

    def _on_init(self, ident, msg):
        if msg.array is None:
            raise KVStoreError(f"init of key {msg.key!r}: no value")
        if (msg.key, msg.part) in self.slots and msg.meta.get("rank") != 0:
            return self._reply(ident, msg.rid)  # rank 0's value wins
        self.slots[(msg.key, msg.part)] = Slot(msg.array.copy())
        self._reply(ident, msg.rid)

    def _payload(self, ident, slot, msg):
        """(array, owned): the pushed array (decoded if compressed, 2-bit or fp16, read from the
        worker's segment if sent through shared memory), checked against the slot."""
        arr, v = msg.array, slot.value
        comp, seg = msg.meta.get("compressed"), msg.meta.get("shm")
        if seg is not None and arr is None:
            view = self.maps.view(ident, seg, v.nbytes)
            return view.view(v.dtype).reshape(v.shape), False
        if comp is not None and arr is not None:
            arr = decode_push(comp, arr, v.size, v.dtype, f"push of key {msg.key!r}")
            arr = arr.reshape(v.shape)
        if arr is None or arr.shape != v.shape or arr.dtype != v.dtype:
            given = "nothing" if arr is None else f"shape {arr.shape} dtype {arr.dtype}"
            raise KVStoreError(
                f"push of key {msg.key!r}: stored shape {v.shape} dtype {v.dtype}, given {given}"
            )
        return arr, arr.flags.writeable

    def _freer(self, ident, msg):
        """A callback telling the worker its segment is free again (None without one)."""
        seg = msg.meta.get("shm")
        if seg is None:
            return None
        frames = P.encode("shm_free", self.token, self.name(), meta={"name": seg})
        return lambda: self._send(ident, frames)

    def _on_push(self, ident, msg):
        slot = self._slot(msg, "push")
        arr, owned = self._payload(ident, slot, msg)
        rank, release = msg.meta.get("rank"), self._freer(ident, msg)
        if not msg.meta.get("sync", True):
            self._reply(ident, msg.rid)
            acc = slot.own(arr, owned)
            if release is not None:
                release()
            return self._apply(msg.key, slot, acc)
        if slot.seen(msg.round, rank):
            raise KVStoreError(
                f"push of key {msg.key!r}: round {msg.round} from worker "
                f"{rank} was already applied or received"
            )
        slot.add(msg.round, rank, arr, owned, release)
        self._reply(ident, msg.rid)
        self._try_rounds(msg.key, slot)

    def _on_pushpull(self, ident, msg):
        """A push whose reply is the pull of its round (one request instead of two).  A
        segment lent for it is freed by that reply, so the push does not send shm_free."""
        slot = self._slot(msg, "pushpull")
        arr, owned = self._payload(ident, slot, msg)
        rank, seg = msg.meta.get("rank"), msg.meta.get("shm")
        if not msg.meta.get("sync", True):
            self._apply(msg.key, slot, slot.own(arr, owned))
            return self._send_value(slot, ident, msg.rid, seg)
        if slot.seen(msg.round, rank):
            raise KVStoreError(
                f"push of key {msg.key!r}: round {msg.round} from worker "
                f"{rank} was already applied or received"
            )
        slot.add(msg.round, rank, arr, owned)
        slot.waiting.append((msg.round, ident, msg.rid, seg))
        self._try_rounds(msg.key, slot)

    def _try_rounds(self, key, slot):
        """Fold what has arrived, apply every complete round, answer the pulls waiting."""
        while True:
            acc = slot.advance(self.active)
            if acc is None:
                break
            self._apply(key, slot, acc)
        still = []
        for item in slot.waiting:
            if item[0] <= slot.round:
                self._send_value(slot, *item[1:])
            else:
                still.append(item)
        slot.waiting = still

    def _apply(self, key, slot, acc):
        """Store the round's sum `acc`, or run the optimizer on it (fp32 master for fp16
        when the updater asks for one with `multi_precision`)."""
        if self.updater is None or summed_only(key):
            return slot.set_value(acc)
        weight = slot.writable_value()
        try:
            if weight.dtype == np.float16 and getattr(self.updater, "multi_precision", False):
                if slot.master is None:
                    slot.master = weight.astype(np.float32)
                self.updater(key, acc.astype(np.float32), slot.master)
                weight[...] = slot.master
            else:
                self.updater(key, acc, weight)
        except Exception as e:  # noqa: BLE001 - reported to the pullers, server serves on
            log.exception("%s: optimizer update of key %r failed", self.name(), key)
            slot.error = f"optimizer update of key {key!r} failed: {type(e).__name__}: {e}"
        slot.give_back(acc)

    def _send_value(self, slot, ident, rid, seg):
        """Answer a pull: through the worker's segment when it lent one, else zero-copy."""
        if slot.error:
            return self._error(ident, rid, slot.error)
        if seg is not None:
            try:
                view = self.maps.view(ident, seg, slot.value.nbytes)
            except KVStoreError as e:
                self.drop(e)  # the array goes over zmq instead
            else:
                np.copyto(view, slot.value.reshape(-1).view(np.uint8))
                return self._reply(ident, rid, meta={"shm": seg})
        self._reply(ident, rid, slot.value, track=slot)

    def _on_pull(self, ident, msg):
        slot = self._slot(msg, "pull")
        seg = msg.meta.get("shm")
        if msg.meta.get("sync", True) and msg.round > slot.round:
            slot.waiting.append((msg.round, ident, msg.rid, seg))
        else:
            self._send_value(slot, ident, msg.rid, seg)

    def _on_rows(self, ident, msg):
        """Row-sparse push or pull (kvstore/ps/sparse.py)."""
        handler = {"push_rows": sparse.on_push_rows, "init_rows": sparse.on_init_rows}
        return handler.get(msg.op, sparse.on_pull_rows)(self, ident, msg)

    def _on_shm_hello(self, ident, msg):
        ok = self.maps.hello(
            ident, msg.meta.get("rank"), msg.meta.get("dir"), msg.meta.get("nonce")
        )
        self._reply(ident, msg.rid, meta={"ok": ok})

    def _on_set_optimizer(self, ident, msg):
        name, params = msg.meta.get("name"), msg.meta.get("params", {})
        if not isinstance(name, str) or not isinstance(params, dict):
            raise KVStoreError("set_optimizer needs a name and a map of hyperparameters")
        self.updater = make_updater(name, params)
        log.info("%s: optimizer %s %s", self.name(), name, params)
        self._reply(ident, msg.rid)

    def _on_states(self, ident, msg):
        if self.updater is None:
            raise KVStoreError(f"{msg.op}: no optimizer is set on the servers")
        if msg.op == "get_states":
            data = self.updater.get_states(False)
            return self._reply(ident, msg.rid, np.frombuffer(data, dtype=np.uint8))
        if msg.array is None or msg.array.dtype != np.uint8:
            raise KVStoreError("set_states needs a uint8 payload")
        try:
            self.updater.set_states(msg.array.tobytes())
        except Exception as e:  # noqa: BLE001 - a bad states file is the sender's error
            raise KVStoreError(f"set_states on {self.name()}: {e}") from None
        self._reply(ident, msg.rid)

    def _handle_data(self, frames):
        if len(frames) < 2:
            raise P.ProtocolError("message without identity and header")
        ident = frames[0].bytes
        msg = P.decode(frames[1:], self.token)
        if msg.op != "batch":
            return self._handle_msg(ident, msg)
        for sub in P.unbatch(msg, self.token):
            if isinstance(sub, P.ProtocolError):
                self.drop(sub)
            else:
                self._handle_msg(ident, sub)

    def _handler(self, op):
        """The bound method serving `op` (the table is built once, not per request)."""
        if self._handlers is None:
            self._handlers = {
                "init": self._on_init,
                "push": self._on_push,
                "pull": self._on_pull,
                "pushpull": self._on_pushpull,
                "set_optimizer": self._on_set_optimizer,
                "get_states": self._on_states,
                "set_states": self._on_states,
                "shm_hello": self._on_shm_hello,
                "push_rows": self._on_rows,
                "pull_rows": self._on_rows,
                "init_rows": self._on_rows,
            }
        return self._handlers.get(op)

    def _handle_msg(self, ident, msg):
        handler = self._handler(msg.op)
        if handler is None:
            raise P.ProtocolError(f"op {msg.op} is not served by a server")
        try:
            if msg.op in _KEYED and (
                msg.key is None or not isinstance(msg.meta.get("rank", 0), int)
            ):
                raise KVStoreError(f"{msg.op} without a key or worker rank")
            if self._handled(ident, msg) and msg.op not in ("get_states", "shm_hello"):
                return self._on_duplicate(ident, msg)  # those two are safe to repeat
            handler(ident, msg)
            self._remember(ident, msg.rid)  # not after an error: a copy gets it again
        except KVStoreError as e:
            self._error(ident, msg.rid, str(e))

    def _handled(self, ident, msg):
        """Whether `msg` is a worker's copy, sent again after its connection dropped, of
        a request handled already (the answer may have been lost)."""
        seen = self._recent.get(ident)
        return bool(msg.meta.get("again")) and seen is not None and msg.rid in seen[0]

    def _remember(self, ident, rid):
        """Note a handled request id of this worker (the last _RECENT of them)."""
        rids, order = self._recent.setdefault(ident, (set(), collections.deque()))
        rids.add(rid)
        order.append(rid)
        if len(order) > _RECENT:
            rids.discard(order.popleft())

    def _on_duplicate(self, ident, msg):
        """Answer a request again without doing it twice: a push (or init, optimizer,
        states) is acknowledged, a pull or pushpull answered with the value over zmq (its
        shared-memory segment may have been handed back and reused already)."""
        if msg.op in ("pull", "pushpull"):
            msg.meta.pop("shm", None)
            return self._on_pull(ident, msg)
        if msg.op == "pull_rows":
            return self._on_rows(ident, msg)
        self._reply(ident, msg.rid)

    # ---- scheduler messages -------------------------------------------------------
    def _handle_sched(self, msg):
        """Returns an exit status when the job is over, else None."""
        if msg.op == "worker_left":
            rank = msg.meta.get("rank")
            self.active.discard(rank)
            self.maps.forget(rank)
            log.info(
                "%s: worker %s closed its kvstore; %d workers remain",
                self.name(),
                rank,
                len(self.active),
            )
            for (key, _), slot in self.slots.items():
                self._try_rounds(key, slot)
            sparse.on_worker_left(self)
        elif msg.op == "shutdown":
            return 0
        elif msg.op == "abort":
            log.error("%s: job aborted: %s", self.name(), msg.meta.get("reason"))
            return 1
        return None

    def _drain(self, most=64):
        """Handle the requests waiting (up to `most`, so heartbeats still go out on time);
        the answers leave at the end, one message (or batch) per worker."""
        self._outbox = {}
        try:
            for _ in range(most):
                if not self.data.getsockopt(_EVENTS) & _POLLIN:
                    break  # (checked rather than catching zmq.Again: cheaper per drain)
                frames = self.data.recv_multipart(zmq.NOBLOCK, copy=False)
                try:
                    self._handle_data(frames)
                except Exception as e:  # noqa: BLE001 - malformed input never crashes us
                    self.drop(e)
        finally:
            outbox, self._outbox = self._outbox, None
            for ident, messages in outbox.items():
                self._post(ident, messages)

    def run(self):
        """Serve until the scheduler ends the job; returns the exit status.

        Sync or async is per request (meta 'sync'), as the workers' store type says.
        """
        poller = zmq.Poller()
        poller.register(self.data, zmq.POLLIN)
        poller.register(self.sched, zmq.POLLIN)
        last_seen = next_beat = time.monotonic()
        while True:
            events = dict(poller.poll(int(self.cfg.heartbeat * 1000)))
            now = time.monotonic()
            if self.sched in events:
                last_seen = now
                try:
                    code = self._handle_sched(P.decode(self.sched.recv_multipart(), self.token))
                    if code is not None:
                        return code
                except Exception as e:  # noqa: BLE001
                    self.drop(e)
            if self.data in events:
                self._drain()
            if now >= next_beat:
                self._to_sched("heartbeat")
                next_beat = now + self.cfg.heartbeat
            if now - last_seen > self.cfg.heartbeat_timeout:
                log.error(
                    "%s: the scheduler at %s stopped responding",
                    self.name(),
                    self.cfg.scheduler_addr,
                )
                return 1

    def close(self):
        """Close both sockets and wait (up to their 1 s linger) for the last replies to go
        out; zero-copy sends must not outlive the arrays they read."""
        self.data.close()
        self.sched.close()
        self.gate.close()
        zmq.Context.instance().destroy(linger=1000)  # bounded, other sockets or not


def main():
    """Entry point of `python -m kvstore.server`."""
    from .roles import install_sigterm, setup_logging

    install_sigterm()
    setup_logging()
    server = Server()
    server.register()
    code = server.run()
    server.close()
    return code
