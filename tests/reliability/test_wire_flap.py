"""A brief link flap must not kill a job: a dropped connection is re-made within the
heartbeat budget, the peer keeps its identity, and what was in flight is sent again."""

import os
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire_helpers import HERE, ROOT  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "kvstore"))
import kv_harness as harness  # noqa: E402

pytestmark = pytest.mark.timeout(120)


class Proxy:
    """A TCP forwarder to `port` whose links can be cut (reset) and kept down a while."""

    def __init__(self, port):
        self.target = ("127.0.0.1", port)
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.links, self.down_until, self.cuts = [], 0.0, 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            if time.monotonic() < self.down_until:
                _reset(client)
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def cut(self, seconds):
        """Reset every link now; refuse new ones for `seconds`."""
        self.down_until = time.monotonic() + seconds
        with self.lock:
            links, self.links = self.links, []
        for s in links:
            _reset(s)
        self.cuts += 1

    def close(self):
        self.lsock.close()
        self.cut(0)


def _reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        sock.close()
    except OSError:
        pass


def _pump(src, dst):
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    _reset(dst)


def test_flapping_link_to_the_scheduler_does_not_kill_the_job():
    env, infra = harness.start_job(2, 1)  # heartbeat timeout 3 s
    proxy = Proxy(int(env["DMLC_PS_ROOT_PORT"]))
    workers = harness.start_workers(
        dict(env, DMLC_PS_ROOT_PORT=str(proxy.port)),
        "wire_targets:flap_worker",
        2,
        extra={"PYTHONPATH": os.pathsep.join([ROOT, HERE])},
    )
    try:
        time.sleep(3.0)
        for _ in range(3):  # each link down for 1 s, well inside the 3 s budget
            proxy.cut(1.0)
            time.sleep(1.5)
        deadline = time.monotonic() + 60
        for p in workers + infra:
            p.finish(deadline)
    finally:
        proxy.close()
    procs = workers + infra
    assert all(p.code == 0 for p in procs), harness.explain(procs)
    for w in workers:
        assert w.result["ok"] and w.result["rounds"] > 10, w.result
        assert w.err.count("worker: the connection to the scheduler (tcp://127.0.0.1:") == 3
        assert ") dropped and was made again after " in w.err
    assert workers[0].result["rounds"] == workers[1].result["rounds"]


def test_requests_sent_again_are_answered_but_not_done_twice():
    workers, infra = harness.run_job(
        "wire_targets:resent_requests",
        1,
        1,
        timeout=60,
        extra={"PYTHONPATH": os.pathsep.join([ROOT, HERE])},
    )
    procs = workers + infra
    assert all(p.code == 0 for p in procs), harness.explain(procs)
    push, push_again, pp, pp_again, bad, bad_again = workers[0].result["answers"]
    assert push[0] == push_again[0] == "reply"
    assert pp == pp_again == ["reply", [-2.0] * 4, None]  # applied once: 0 - 1 - 1
    assert bad[0] == bad_again[0] == "error" and bad[2] == bad_again[2]
    assert "push of key 5: stored shape (4,)" in bad[2]
    assert workers[0].result["final"] == [-2.0] * 4
