"""The launcher dies (SIGKILL: no clean-up code runs) and nothing of its job is left:
workers started through `bash -c`, their DataLoader worker processes, servers and the
scheduler all end within 10 s (launcher/watchdog.py)."""

import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire_helpers import HERE, ROOT, launch_env  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "launcher"))
from launch_helpers import alive, descendants  # noqa: E402

pytestmark = pytest.mark.timeout(120)
JOB = os.path.join(HERE, "orphan_job.py")


def _start(num_servers, grace):
    worker = f"{sys.executable} {JOB}; true"  # `; true`: bash stays the parent
    args = [
        sys.executable,
        "-m",
        "launcher",
        "-n",
        "2",
        "-s",
        str(num_servers),
        "--grace",
        str(grace),
        "bash",
        "-c",
        worker,
    ]
    return subprocess.Popen(
        args,
        env=launch_env(DISTNET_START_TIMEOUT="120"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize("num_servers,grace", [(0, 5), (1, 30)])
def test_sigkill_of_the_launcher_leaves_no_process_of_the_job(num_servers, grace):
    proc = _start(num_servers, grace)
    try:
        loaders = 0
        for line in proc.stdout:
            loaders += "LOADER" in line
            if loaders == 2:
                break
        assert loaders == 2, proc.stderr.read()
        job = descendants(proc.pid)
        # per worker: bash, python, 2 DataLoader workers (+ scheduler, server, the watchdog)
        assert len(job) >= 8 + 2 * num_servers, job
        os.kill(proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        while alive(job) and time.monotonic() - t0 < 15:
            time.sleep(0.05)
        took = time.monotonic() - t0
        left = alive(job)
        _, err = proc.communicate(timeout=15)  # the watchdog held stderr until it ended
    finally:
        for pid in alive(descendants(proc.pid)):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    assert not left, f"{len(left)} processes of the job outlived the launcher by {took:.1f} s"
    assert took < 10
    assert (
        f"distnet-launch watchdog: the launcher (pid {proc.pid}) died without stopping "
        f"the job; ended its" in err
    )


_ESCAPER = """
import subprocess
a = subprocess.Popen(["sleep", "300"], start_new_session=True)   # left group and session
b = subprocess.Popen(["sleep", "300"], process_group=0)          # left its group only
print("ESCAPED", a.pid, b.pid, flush=True)
"""


def test_processes_that_left_their_group_end_with_the_job():
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher",
            "-n",
            "1",
            "-s",
            "0",
            "--grace",
            "1",
            sys.executable,
            "-c",
            _ESCAPER,
        ],
        env=launch_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    pids = [int(p) for p in res.stdout.split("ESCAPED", 1)[1].split()[:2]]
    try:
        deadline = time.monotonic() + 5
        while alive(pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pids), "a process of the job outlived it"
    finally:
        for pid in alive(pids):
            os.kill(pid, signal.SIGKILL)
