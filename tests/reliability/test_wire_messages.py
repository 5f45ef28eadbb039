"""Messages that name the peer: a dead worker by rank, host, pid and cause; a SIGSTOPped
worker (its heartbeats stop) as the silent peer, not the scheduler that noticed, within
the heartbeat budget."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire_helpers import HERE, ROOT, launch_env  # noqa: E402

pytestmark = pytest.mark.timeout(120)
JOB = os.path.join(HERE, "wire_job.py")
HOST = socket.gethostname()
HEARTBEAT_TIMEOUT = 3  # launch_env's DISTNET_KVSTORE_HEARTBEAT_TIMEOUT


def _start(tmp_path):
    """A real 2-worker, 1-server job that trains until its go file appears (never here)."""
    args = [
        sys.executable,
        "-m",
        "launcher",
        "-n",
        "2",
        "-s",
        "1",
        "--grace",
        "5",
        "--log-dir",
        str(tmp_path / "logs"),
        sys.executable,
        JOB,
        "--go-file",
        str(tmp_path / "never"),
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


def _worker_pid(proc, tmp_path, rank):
    for line in proc.stdout:  # rank 0 prints ADDR once the job has trained a round
        if "ADDR " in line:
            break
    with open(tmp_path / "logs" / "job.json") as f:
        return next(p["pid"] for p in json.load(f) if p["role"] == "worker" and p["rank"] == rank)


def _finish(proc, timeout):
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_sigstopped_worker_is_named_as_the_silent_peer_within_the_heartbeat_budget(tmp_path):
    proc = _start(tmp_path)
    pid = _worker_pid(proc, tmp_path, 1)
    os.kill(pid, signal.SIGSTOP)
    t0 = time.monotonic()
    _, err = _finish(proc, 30)
    took = time.monotonic() - t0
    assert proc.returncode == 1, err
    assert (
        f"distnet-launch: worker 1 (host {HOST} at 127.0.0.1, pid {pid}) stopped "
        f"responding (no heartbeat for {HEARTBEAT_TIMEOUT} s) (first failure, reported "
        f"by the scheduler); stopping the job.\n"
        f"  worker 1 (pid {pid} on {HOST}) is stopped (SIGSTOP, Ctrl-Z or a debugger)"
    ) in err
    assert "scheduler exited" not in err and "worker 0 exited" not in err
    # the heartbeat budget, then the stop: SIGCONT lets the stopped worker take SIGTERM
    assert took < HEARTBEAT_TIMEOUT + 4, f"reported {took:.1f} s after the SIGSTOP"


def test_killed_worker_is_named_with_its_pid_host_and_signal(tmp_path):
    proc = _start(tmp_path)
    pid = _worker_pid(proc, tmp_path, 1)
    os.kill(pid, signal.SIGKILL)
    _, err = _finish(proc, 30)
    assert proc.returncode == 128 + signal.SIGKILL, err
    assert (
        f"distnet-launch: worker 1 (pid {pid} on {HOST}) was killed by signal SIGKILL "
        f"(first failure); stopping the job."
    ) in err


def test_scheduler_names_a_dead_worker_by_rank_host_address_and_pid():
    sys.path.insert(0, os.path.join(ROOT, "tests", "kvstore"))
    import kv_harness as harness

    env, infra = harness.start_job(2, 1)
    workers = harness.start_workers(env, "kv_jobs:wait_for_death", 2)
    time.sleep(3.0)
    pid = workers[1].popen.pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 40
    for p in workers + infra:
        p.finish(deadline)
    name = f"worker 1 (host {HOST} at 127.0.0.1, pid {pid})"
    assert f"distnet scheduler: {name} stopped responding (no heartbeat for 3 s)" in infra[0].err, (
        harness.explain(workers + infra)
    )
    assert infra[0].code == 1
    assert name in workers[0].result["error"]
