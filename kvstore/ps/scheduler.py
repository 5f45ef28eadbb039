"""The scheduler: registration, rank assignment, address book, barrier, heartbeats, shutdown.

One ROUTER socket; every server and worker connects a DEALER to it.  Once all W
workers and S servers have registered, each gets its rank and the servers' addresses.
A peer silent for the heartbeat timeout aborts the job (everyone is told who died, by
rank, host, address and pid; the launcher reads the `PEER_LOST_MARKER` line and names
that peer, not the scheduler, as the job's failure).  When every worker has closed its
kvstore the servers are told to shut down and the scheduler exits 0.

Its socket takes frames of at most `SCHEDULER_MAX_MESSAGE` bytes from peers that hold
the job token (see protocol.listen).
"""

import json
import logging
import os
import sys
import time

import zmq

from . import protocol as P
from .gate import Gate
from .config import Config

log = logging.getLogger("kvstore")


#: Start of the one-line JSON report the scheduler prints on stderr when a peer stops
#: responding; the launcher (launcher/config.py has the same string: launcher imports
#: nothing of kvstore) takes it as that peer's failure.
PEER_LOST_MARKER = "DISTNET-PEER-LOST "


class _Peer:
    __slots__ = (
        "ident",
        "role",
        "rank",
        "addr",
        "seen",
        "closed",
        "want",
        "meta",
        "passed",
        "close_rid",
    )

    def __init__(self, ident, role, want, addr, meta):
        self.ident, self.role, self.want, self.addr, self.meta = ident, role, want, addr, meta
        self.rank = -1
        self.passed = None  # rid of the last barrier it passed (its answer may be lost)
        self.close_rid = None
        self.seen = time.monotonic()
        self.closed = False

    def name(self):
        """'server 0 (tcp://10.0.0.2:4567)' or 'worker 1 (host node1 at 10.0.0.3, pid 42)'."""
        if self.role == "server":
            return f"server {self.rank} ({self.addr})"
        host, pid = self.meta.get("host"), self.meta.get("pid")
        where = ", ".join(
            x
            for x in (
                f"host {host} at {self.addr}" if host else self.addr,
                f"pid {pid}" if pid else "",
            )
            if x
        )
        return f"worker {self.rank} ({where or 'address unknown'})"

    def report(self, reason):
        """The PEER_LOST_MARKER line naming this peer for the launcher."""
        return PEER_LOST_MARKER + json.dumps(
            {
                "role": self.role,
                "rank": self.rank,
                "name": self.name(),
                "reason": reason,
                "host": self.meta.get("host"),
                "pid": self.meta.get("pid"),
            }
        )


def _peer_meta(meta):
    """The host name and pid a peer registered with (short strings and ints only)."""
    host, pid = meta.get("host"), meta.get("pid")
    return {
        "host": host[:255] if isinstance(host, str) else None,
        "pid": pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
    }


def _assign(peers, count):
    """Keep requested ranks (when valid and unique), give the rest the free ones in order."""
    taken = set()
    for p in peers:
        if 0 <= p.want < count and p.want not in taken:
            p.rank = p.want
            taken.add(p.want)
    free = iter(r for r in range(count) if r not in taken)
    for p in peers:
        if p.rank < 0:
            p.rank = next(free)


def _peer_ip(frame):
    """The sending peer's IP address as zmq saw it ('' if unknown)."""
    try:
        return frame.get("Peer-Address") or ""
    except (zmq.ZMQError, AttributeError):
        return ""


class Scheduler:
    """Runs the scheduler role until the job ends; `run` returns the exit status."""

    def __init__(self, cfg=None):
        self.cfg = cfg or Config()
        self.token = P.job_token()
        self.ctx = zmq.Context.instance()
        self.gate = Gate.open(self.ctx, self.token)
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 2000)
        P.listen(self.sock, P.SCHEDULER_MAX_MESSAGE)
        uri = f"tcp://{self.cfg.root_uri}"
        if self.cfg.root_port:
            self.sock.bind(f"{uri}:{self.cfg.root_port}")
            self.port = self.cfg.root_port
        else:
            self.port = self.sock.bind_to_random_port(uri)
        self.peers = {}  # ident -> _Peer
        self.started = False
        self.barrier = {}  # ident -> rid of workers waiting in the barrier
        self.drop = P.DropLog("scheduler")

    def _send(self, peer, op, rid=0, meta=None):
        P.send(self.sock, P.encode(op, self.token, "scheduler", rid=rid, meta=meta), peer.ident)

    def write_port_file(self):
        """Publish the bound port (atomically) for the launcher."""
        if self.cfg.port_file:
            tmp = f"{self.cfg.port_file}.tmp{os.getpid()}"
            with open(tmp, "w") as f:
                f.write(str(self.port))
            os.replace(tmp, self.cfg.port_file)

    def _role(self, role):
        return [p for p in self.peers.values() if p.role == role]

    def _on_register(self, ident, msg, peer_ip):
        role = msg.meta.get("role")
        want = msg.meta.get("rank", -1)
        addr = msg.meta.get("addr", peer_ip)
        if (
            role not in ("worker", "server")
            or not isinstance(want, int)
            or self.started
            or not isinstance(addr, str)
        ):
            raise P.ProtocolError(f"bad registration {msg.meta!r} from {msg.sender!r}")
        meta = _peer_meta(msg.meta)
        limit = msg.meta.get("max_message")
        meta["max_message"] = limit if isinstance(limit, int) else None
        self.peers[ident] = _Peer(ident, role, want, addr, meta)
        workers, servers = self._role("worker"), self._role("server")
        if len(workers) == self.cfg.num_workers and len(servers) == self.cfg.num_servers:
            self._start(workers, servers)

    def _start(self, workers, servers):
        _assign(workers, self.cfg.num_workers)
        _assign(servers, self.cfg.num_servers)
        servers = sorted(servers, key=lambda p: p.rank)
        book = [p.addr for p in servers]
        limits = [p.meta["max_message"] for p in servers]
        for p in self.peers.values():
            p.seen = time.monotonic()
            self._send(
                p,
                "registered",
                meta={
                    "rank": p.rank,
                    "num_workers": self.cfg.num_workers,
                    "num_servers": self.cfg.num_servers,
                    "servers": book,
                    "max_message": limits,
                },
            )
        self.started = True
        log.info(
            "scheduler: job started with %d workers and %d servers", len(workers), len(servers)
        )

    def _live_workers(self):
        return [p for p in self._role("worker") if not p.closed]

    def _check_barrier(self):
        live = self._live_workers()
        if live and all(p.ident in self.barrier for p in live):
            for p in live:
                p.passed = self.barrier.pop(p.ident)
                self._send(p, "barrier_done", rid=p.passed)

    def _on_close(self, peer, rid):
        peer.closed, peer.close_rid = True, rid
        self.barrier.pop(peer.ident, None)
        for s in self._role("server"):
            self._send(s, "worker_left", meta={"rank": peer.rank})
        self._send(peer, "close_ack", rid=rid)
        self._check_barrier()

    def _handle(self, ident, msg, peer_ip):
        peer = self.peers.get(ident)
        if msg.op == "register":
            return self._on_register(ident, msg, peer_ip)
        if peer is None:
            raise P.ProtocolError(f"{msg.op} from unregistered peer {msg.sender!r}")
        peer.seen = time.monotonic()
        if msg.op == "heartbeat":
            self._send(peer, "heartbeat_ack")
        elif msg.op == "barrier" and peer.role == "worker" and msg.rid == peer.passed:
            self._send(peer, "barrier_done", rid=msg.rid)  # sent again after a reconnection
        elif msg.op == "barrier" and peer.role == "worker":
            self.barrier[ident] = msg.rid
            self._check_barrier()
        elif msg.op == "close" and peer.role == "worker" and not peer.closed:
            self._on_close(peer, msg.rid)
        elif msg.op == "close" and peer.role == "worker" and msg.rid == peer.close_rid:
            self._send(peer, "close_ack", rid=msg.rid)

    def _dead_peer(self):
        limit = time.monotonic() - self.cfg.heartbeat_timeout
        for p in self.peers.values():
            if not p.closed and p.seen < limit:
                return p
        return None

    def _abort(self, reason, culprit=None):
        print(f"distnet scheduler: {reason}", file=sys.stderr, flush=True)
        if culprit is not None:
            print(culprit.report(reason), file=sys.stderr, flush=True)
        for p in self.peers.values():
            if not p.closed or p.role == "server":
                self._send(p, "abort", meta={"reason": reason})
        return 1

    def _start_timeout_message(self):
        parts = []
        for role, want in (("workers", self.cfg.num_workers), ("servers", self.cfg.num_servers)):
            have = len(self._role(role[:-1]))
            if have < want:
                parts.append(f"waiting for {want} {role}, {have} registered")
        return (
            f"distnet scheduler: the job did not start within "
            f"{self.cfg.start_timeout:g} s: " + "; ".join(parts)
        )

    def _poll_once(self):
        if not self.sock.poll(200):
            return
        frames = self.sock.recv_multipart(copy=False)
        try:
            if len(frames) < 2:
                raise P.ProtocolError("message without identity and header")
            self._handle(frames[0].bytes, P.decode(frames[1:], self.token), _peer_ip(frames[1]))
        except Exception as e:  # noqa: BLE001 - no message may crash the scheduler
            self.drop(e)

    def run(self):
        """Serve until every worker has closed (0) or the job fails (1)."""
        self.write_port_file()
        deadline = time.monotonic() + self.cfg.start_timeout
        while True:
            self._poll_once()
            if not self.started:
                if time.monotonic() > deadline:
                    print(self._start_timeout_message(), file=sys.stderr, flush=True)
                    return 1
                continue
            dead = self._dead_peer()
            if dead is not None:
                return self._abort(
                    f"{dead.name()} stopped responding (no heartbeat for "
                    f"{self.cfg.heartbeat_timeout:g} s)",
                    dead,
                )
            if not self._live_workers():
                for s in self._role("server"):
                    self._send(s, "shutdown")
                log.info("scheduler: every worker closed its kvstore; shutting down")
                return 0

    def close(self):
        """Close the socket and wait (up to its 2 s linger) until the last messages, the
        servers' shutdown among them, have gone out: the process exits right after."""
        self.sock.close()
        self.gate.close()
        self.ctx.destroy(linger=2000)  # bounded even if the process has other sockets


def main():
    """Entry point of `python -m kvstore.scheduler`."""
    from .roles import install_sigterm, setup_logging

    install_sigterm()
    setup_logging()
    sched = Scheduler()
    code = sched.run()
    sched.close()
    return code
