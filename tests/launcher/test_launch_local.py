"""distnet-launch local mode, run for real on 127.0.0.1 with stand-in kvstore roles."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from launch_helpers import WORKER, alive_in_groups, launch, pgids, records, standin_env

pytestmark = pytest.mark.timeout(60)


def test_roles_see_consistent_variables_and_the_real_port():
    res = launch(["-n", "3", "-s", "2", "--grace", "1", WORKER], env=standin_env())
    assert res.returncode == 0, res.stderr
    env = records(res.stdout, "ENV")
    assert set(env) == {"scheduler", "server 0", "server 1", "worker 0", "worker 1", "worker 2"}
    port = records(res.stdout, "PORT")["scheduler"]
    assert env["scheduler"]["DMLC_PS_ROOT_PORT"] == "0"  # it binds 0 and reports the port
    assert env["scheduler"]["DMLC_ROLE"] == "scheduler"
    assert os.path.basename(env["scheduler"]["DISTNET_SCHEDULER_PORT_FILE"]) == "scheduler.port"
    tokens = {e["DISTNET_JOB_TOKEN"] for e in env.values()}
    assert len(tokens) == 1 and re.fullmatch(r"[0-9a-f]{32}", tokens.pop())
    for name, e in env.items():
        assert (e["DMLC_NUM_WORKER"], e["DMLC_NUM_SERVER"]) == ("3", "2"), name
        assert e["DMLC_PS_ROOT_URI"] == "127.0.0.1" and e["DISTNET_START_TIMEOUT"] == "300"
        if name != "scheduler":
            assert e["DMLC_PS_ROOT_PORT"] == port, name
    for i in range(2):
        assert env[f"server {i}"]["DMLC_ROLE"] == "server"
        assert env[f"server {i}"]["DMLC_SERVER_ID"] == str(i)
    for i in range(3):
        e = env[f"worker {i}"]
        assert e["DMLC_ROLE"] == "worker"
        assert e["DMLC_WORKER_ID"] == e["RANK"] == e["LOCAL_RANK"] == str(i)
        assert e["WORLD_SIZE"] == e["LOCAL_WORLD_SIZE"] == "3"
    # Scheduler and servers sleep for minutes: the workers' success must have ended them.
    assert not alive_in_groups(pgids(res.stdout))


def test_no_servers_means_no_scheduler_and_no_root_address():
    res = launch(
        ["-n", "2", "-s", "0", "--env", "A=1", "--env-worker", "B=2", WORKER], env=standin_env()
    )
    assert res.returncode == 0, res.stderr
    env = records(res.stdout, "ENV")
    assert set(env) == {"worker 0", "worker 1"}
    for e in env.values():
        assert e["DMLC_NUM_SERVER"] == "0" and e["DMLC_NUM_WORKER"] == "2"
        assert "DMLC_PS_ROOT_URI" not in e and "DMLC_PS_ROOT_PORT" not in e
    res = launch(
        [
            "-n",
            "1",
            "-s",
            "0",
            "--env",
            "A=1",
            "--env-worker",
            "B=2",
            "--",
            sys.executable,
            "-c",
            "import os; print(os.environ['A'] + os.environ['B'])",
        ]
    )
    assert res.stdout == "[worker 0] 12\n"


def test_output_is_prefixed_and_written_to_log_files(tmp_path):
    logs = tmp_path / "logs"
    res = launch(["-n", "2", "-s", "1", "--log-dir", str(logs), WORKER], env=standin_env())
    assert res.returncode == 0, res.stderr
    assert "[worker 1] READY" in res.stdout.splitlines()
    assert "[worker 0] to stderr from 0" in res.stderr.splitlines()
    assert any(line.startswith("[scheduler] PORT ") for line in res.stdout.splitlines())
    assert sorted(os.listdir(logs)) == [
        "job.json",
        "scheduler.log",
        "server-0.log",
        "worker-0.log",
        "worker-1.log",
    ]
    text = (logs / "worker-1.log").read_text()
    assert "READY\n" in text and "to stderr from 1\n" in text and "[worker" not in text


def test_failing_worker_ends_the_job_with_its_code_and_last_lines():
    start = time.monotonic()
    res = launch(
        [
            "-n",
            "3",
            "-s",
            "1",
            "--grace",
            "1",
            WORKER,
            "--exit-rank",
            "1",
            "--code",
            "3",
            "--sleep",
            "60",
            "--ignore-term",
        ],
        env=standin_env(),
    )
    assert res.returncode == 3
    assert time.monotonic() - start < 10
    assert re.search(
        r"distnet-launch: worker 1 \(pid \d+ on \S+\) exited with code 3 \(first "
        r"failure\); stopping the job.\n  last lines of its output:\n",
        res.stderr,
    )
    assert "    worker 1 giving up" in res.stderr
    groups = pgids(res.stdout)
    assert len(groups) == 5 and not alive_in_groups(groups)


def test_worker_killed_by_a_signal_is_reported_with_its_name():
    res = launch(
        ["-n", "2", "-s", "0", "--grace", "1", WORKER, "--kill-rank", "1", "--sleep", "60"]
    )
    assert res.returncode == 128 + signal.SIGKILL
    pid = records(res.stdout, "PID")["worker 1"].split()[0]
    assert (
        f"worker 1 (pid {pid} on {socket.gethostname()}) was killed by signal SIGKILL "
        f"(first failure)" in res.stderr
    )
    assert not alive_in_groups(pgids(res.stdout))


def _wait_for_lines(lines, needle, count, timeout):
    deadline = time.monotonic() + timeout
    while sum(needle in line for line in lines) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return "".join(lines)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_to_the_launcher_stops_every_process(sig, code, tmp_path):
    err_path = tmp_path / "stderr"
    with open(err_path, "w") as err_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "launcher",
                "-n",
                "2",
                "-s",
                "1",
                "--grace",
                "1",
                WORKER,
                "--sleep",
                "60",
                "--ignore-term",
            ],
            env=dict(os.environ, **standin_env()),
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
            start_new_session=True,
        )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        text = _wait_for_lines(lines, "READY", 2, timeout=20)
        assert text.count("READY") == 2, text
        proc.send_signal(sig)
        proc.wait(timeout=15)
        reader.join(5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == code
    assert f"received {signal.Signals(sig).name}; stopping the job." in err_path.read_text()
    groups = pgids("".join(lines))
    assert len(groups) == 4 and not alive_in_groups(groups)


def test_scheduler_start_timeout_is_the_first_failure():
    res = launch(
        ["-n", "4", "-s", "1", "--start-timeout", "1", WORKER, "--sleep", "60"],
        env=standin_env(scheduler_args="--timeout-after 1"),
    )
    assert res.returncode == 1
    assert re.search(
        r"distnet-launch: scheduler \(pid \d+ on \S+\) exited with code 1 \(first "
        r"failure\)",
        res.stderr,
    )
    assert (
        "    distnet scheduler: the job did not start within 1 s: "
        "waiting for 4 workers, 3 registered"
    ) in res.stderr
    assert records(res.stdout, "ENV")["worker 0"]["DISTNET_START_TIMEOUT"] == "1"
    assert not alive_in_groups(pgids(res.stdout))


def test_scheduler_that_never_reports_its_port_times_out():
    start = time.monotonic()
    res = launch(
        ["-n", "2", "-s", "1", "--start-timeout", "1", "--grace", "1", WORKER],
        env=standin_env(scheduler_args="--no-port"),
    )
    assert res.returncode == 1
    assert time.monotonic() - start < 8
    assert "distnet-launch: the scheduler did not report its port within 1 s" in res.stderr
    env = records(res.stdout, "ENV")
    assert set(env) == {"scheduler"}  # no worker was started without a port
    assert not alive_in_groups(pgids(res.stdout))


def test_console_script_and_bad_usage():
    exe = shutil.which("distnet-launch")
    if exe is None:
        pytest.skip("distnet-launch console script not installed")
    res = subprocess.run(
        [exe, "-n", "1", "-s", "0", "--", sys.executable, "-c", "print(7)"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (res.returncode, res.stdout) == (0, "[worker 0] 7\n")
    res = subprocess.run(
        [exe, "-n", "1", "--env", "NOEQUALS", "x.py"], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 2 and "expected NAME=VALUE" in res.stderr


def test_missing_command_is_a_first_failure_with_code_127():
    res = launch(["-n", "2", "-s", "0", "--", "/nonexistent/distnet-no-such-program"])
    assert res.returncode == 127
    assert "could not start worker 0" in res.stderr


_THREADS = (
    "import os; print(os.environ.get('OMP_NUM_THREADS'), "
    "os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'))"
)


def test_workers_share_the_cores_unless_the_user_chose():
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    want = str(max(1, (os.cpu_count() or 1) // 4))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher",
            "-n",
            "4",
            "-s",
            "0",
            "--",
            sys.executable,
            "-c",
            _THREADS,
        ],
        env=base,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    lines = sorted(proc.stdout.splitlines())
    assert lines == [f"[worker {i}] {want} {want} {want}" for i in range(4)]
    res = launch(
        ["-n", "1", "-s", "0", "--", sys.executable, "-c", _THREADS],
        env={"OPENBLAS_NUM_THREADS": "7"},
    )
    assert res.stdout.split()[3] == "7"  # the user's own setting wins
