"""Bounded wire input: a peer without the job token cannot make a server or the scheduler
hold more than one capped frame, and the job it attacks trains on; a worker whose frame
would exceed its server's cap fails with a message naming the key and the setting."""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire_helpers import ROOT, launch_env, peak_rss, rss  # noqa: E402

from kvstore.base import KVStoreError  # noqa: E402
from kvstore.ps import protocol as P  # noqa: E402
from kvstore.ps.gate import Gate  # noqa: E402
from kvstore.ps.config import max_message  # noqa: E402

pytestmark = pytest.mark.timeout(120)
JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire_job.py")
CAP = 8 << 20
STREAM = 96 << 20  # bytes each attacking connection tries to push


def _greeting(mechanism):
    """A ZMTP 3.0 greeting (64 bytes) announcing `mechanism`, as a client."""
    return b"\xff" + bytes(8) + b"\x7f" + b"\x03\x00" + mechanism.ljust(20, b"\0") + bytes(32)


def _attack(addr, mechanism, flags, sent):
    """Greet, then declare a 512 MB frame (a command with PLAIN: its HELLO) and stream
    zeros into it until the peer hangs up or STREAM bytes went out."""
    host, port = addr.rsplit("/", 1)[1].rsplit(":", 1)
    chunk = bytes(1 << 20)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(_greeting(mechanism) + bytes([flags]) + struct.pack(">Q", 512 << 20))
            for _ in range(STREAM // len(chunk)):
                s.sendall(chunk)
                sent.append(len(chunk))
        except OSError:
            pass  # dropped by the peer: what a capped socket does


def _wrong_token_message(addr):
    """A well-formed message from a zmq peer with the wrong token (refused by ZAP)."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    P.dial(s, "not-the-job-token")
    s.connect(addr)
    s.send_multipart(P.encode("heartbeat", "not-the-job-token", "intruder"))
    time.sleep(0.5)
    s.close(linger=0)


def _start_job(tmp_path, *worker_args, workers=2, extra_env=()):
    args = [
        sys.executable,
        "-m",
        "launcher",
        "-n",
        str(workers),
        "-s",
        "1",
        "--grace",
        "2",
        "--log-dir",
        str(tmp_path / "logs"),
        "--start-timeout",
        "30",
        "--env",
        f"DISTNET_KVSTORE_MAX_MESSAGE={CAP}",
        *extra_env,
        sys.executable,
        JOB,
        *worker_args,
    ]
    return subprocess.Popen(
        args,
        env=launch_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _read_addr(proc):
    for line in proc.stdout:
        if "ADDR " in line:
            return line.split("ADDR ", 1)[1].split()
    raise AssertionError("the job never printed its addresses: " + proc.stderr.read())


def _pids(log_dir):
    with open(os.path.join(log_dir, "job.json")) as f:
        return {(p["role"], p["rank"]): p["pid"] for p in json.load(f)}


def test_oversized_unauthenticated_frames_leave_rss_bounded_and_the_job_trains(tmp_path):
    go = tmp_path / "go"
    proc = _start_job(tmp_path, "--go-file", str(go))
    try:
        sched_addr, server_addr = _read_addr(proc)
        pids = _pids(str(tmp_path / "logs"))
        targets = {
            "scheduler": (sched_addr, pids[("scheduler", None)]),
            "server 0": (server_addr, pids[("server", 0)]),
        }
        before = {name: peak_rss(pid) for name, (_, pid) in targets.items()}
        sent = []
        threads = [
            threading.Thread(target=_attack, args=(addr, mech, flags, sent))
            for addr, _ in targets.values()
            for mech, flags in (
                (b"PLAIN", 0x06),
                (b"PLAIN", 0x06),
                (b"NULL", 0x02),
                (b"NULL", 0x02),
            )
        ]
        for t in threads:
            t.start()
        for addr, _ in targets.values():
            _wrong_token_message(addr)
        for t in threads:
            t.join(60)
        grown = {name: peak_rss(pid) - before[name] for name, (_, pid) in targets.items()}
        alive = {name: rss(pid) for name, (_, pid) in targets.items()}
        go.write_text("go")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    for name, growth in grown.items():
        assert growth < 4 * CAP + (16 << 20), f"{name} peak RSS grew by {growth} bytes"
        assert alive[name] > 0
    # 8 connections each tried to stream 96 MB into a declared 512 MB frame.
    assert sum(sent) < 8 * STREAM / 4, f"{sum(sent)} bytes went out: the peers did not hang up"
    assert proc.returncode == 0, err
    assert out.count("TRAINED") == 2, out
    assert "server: refused connection #1: from 127.0.0.1: wrong or missing job token" in err
    assert "scheduler: refused connection #1: from 127.0.0.1: wrong or missing job token" in err


def test_a_frame_over_the_servers_cap_fails_at_the_worker_naming_the_key(tmp_path):
    proc = _start_job(tmp_path, "--key-elems", str(3_000_000), workers=1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    line = next(ln for ln in out.splitlines() if "INIT " in ln)
    assert "INIT ERROR init of key 'big' on server 0 (tcp://127.0.0.1:" in line
    assert (
        f"a frame of 12000000 bytes is over the message limit of {CAP} bytes of "
        f"server 0 (tcp://127.0.0.1:"
    ) in line
    assert f"set DISTNET_KVSTORE_MAX_MESSAGE={12000000 + P.HEADER_SLACK} (or more)" in line


def test_max_message_default_setting_and_bad_values(monkeypatch):
    monkeypatch.delenv("DISTNET_KVSTORE_MAX_MESSAGE", raising=False)
    assert max_message(1_000_000) == P.HEADER_SLACK + (64 << 20)
    assert max_message(20_000_000) == P.HEADER_SLACK + 8 * 20_000_000  # float64 parts
    monkeypatch.setenv("DISTNET_KVSTORE_MAX_MESSAGE", str(300 << 20))
    assert max_message(1_000_000) == 300 << 20
    monkeypatch.setenv("DISTNET_KVSTORE_MAX_MESSAGE", "1000")
    with pytest.raises(
        KVStoreError, match="DISTNET_KVSTORE_MAX_MESSAGE=1000 is below the minimum of 8388608 bytes"
    ):
        max_message(1_000_000)
    monkeypatch.setenv("DISTNET_KVSTORE_MAX_MESSAGE", "lots")
    with pytest.raises(KVStoreError, match="DISTNET_KVSTORE_MAX_MESSAGE='lots' is not a number"):
        max_message(1_000_000)


def test_the_gate_admits_only_the_job_token():
    gate = Gate.__new__(Gate)  # the verdict alone, without a socket or thread
    gate.token, gate.refused = b"secret", P.DropLog("server", "refused connection")
    req = [b"1.0", b"7", b"distnet", b"10.0.0.9", b"", b"PLAIN", P.ZAP_USER, b"secret"]
    assert gate.verdict(req)[:3] == [b"1.0", b"7", b"200"]
    for bad in (
        req[:7] + [b"secrets"],
        req[:5] + [b"NULL", b"", b""],
        req[:6] + [b"root", b"secret"],
        req[:3],
    ):
        assert gate.verdict(bad)[2] == b"400"
    assert gate.refused.count == 4
