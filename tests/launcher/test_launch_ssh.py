"""ssh mode through a stand-in `ssh` on PATH that runs the remote command locally."""

import os
import re
import stat
import subprocess
import time

import pytest

from launch_helpers import (
    WORKER,
    alive,
    alive_in_groups_after,
    descendants,
    launch,
    pgids,
    records,
    standin_env,
)
from launcher.config import ProcSpec
from launcher.ssh import remote_command

pytestmark = pytest.mark.timeout(60)

# Drops ssh's options and the host, then runs the remote command with an almost empty
# environment, so only what the launcher passes in the command reaches the process.
_FAKE_SSH = """#!/bin/bash
while [[ "$1" == -* ]]; do if [[ "$1" == -o ]]; then shift 2; else shift; fi; done
echo "$1" >> "$FAKE_SSH_LOG"
shift
exec env -i PATH="$PATH" HOME="$HOME" bash -c "$1"
"""


@pytest.fixture
def ssh_env(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    ssh = bindir / "ssh"
    ssh.write_text(_FAKE_SSH)
    ssh.chmod(ssh.stat().st_mode | stat.S_IXUSR)
    hostfile = tmp_path / "hosts"
    hostfile.write_text("# two fake hosts\nlocalhost:2\n127.0.0.1\n")
    env = dict(
        standin_env(),
        PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}",
        FAKE_SSH_LOG=str(tmp_path / "ssh.log"),
        NOT_PASSED="x",
    )
    return env, str(hostfile), tmp_path


def test_ssh_starts_every_role_with_its_environment_in_the_same_directory(ssh_env):
    env, hostfile, tmp_path = ssh_env
    res = launch(
        [
            "--launcher",
            "ssh",
            "-H",
            hostfile,
            "-n",
            "3",
            "-s",
            "1",
            "--grace",
            "1",
            "--env",
            "DISTNET_X=1",
            WORKER,
        ],
        env=env,
        cwd=str(tmp_path),
    )
    assert res.returncode == 0, res.stderr
    envs = records(res.stdout, "ENV")
    assert set(envs) == {"scheduler", "server 0", "worker 0", "worker 1", "worker 2"}
    port = envs["scheduler"]["DMLC_PS_ROOT_PORT"]
    assert port != "0" and records(res.stdout, "PORT")["scheduler"] == port
    for name, e in envs.items():
        assert e["DMLC_PS_ROOT_URI"] == "localhost" and e["DMLC_PS_ROOT_PORT"] == port
        assert e["DISTNET_X"] == "1" and "NOT_PASSED" not in e, name
    placed = [
        (envs[f"worker {i}"]["LOCAL_RANK"], envs[f"worker {i}"]["LOCAL_WORLD_SIZE"])
        for i in range(3)
    ]
    assert placed == [("0", "2"), ("1", "2"), ("0", "1")]
    pids = records(res.stdout, "PID")
    assert all(pids[f"worker {i}"].endswith(f"CWD {tmp_path}") for i in range(3))
    hosts = (tmp_path / "ssh.log").read_text().split()
    assert sorted(hosts) == ["127.0.0.1", "localhost", "localhost", "localhost", "localhost"]
    assert not alive_in_groups_after(pgids(res.stdout), 10)


def test_ssh_failure_is_reported_with_the_remote_code(ssh_env):
    env, hostfile, tmp_path = ssh_env
    res = launch(
        [
            "--launcher",
            "ssh",
            "-H",
            hostfile,
            "-n",
            "2",
            "-s",
            "0",
            "--grace",
            "1",
            WORKER,
            "--exit-rank",
            "1",
            "--code",
            "5",
            "--sleep",
            "60",
        ],
        env=env,
    )
    assert res.returncode == 5
    assert re.search(
        r"worker 1 \(ssh pid \d+ on (localhost|127\.0\.0\.1)\) exited with code "
        r"5 \(first failure\)",
        res.stderr,
    )
    assert not alive_in_groups_after(pgids(res.stdout), 10)


def test_bad_hostfile_is_a_clear_error(tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node:zero\n")
    res = launch(["--launcher", "ssh", "-H", str(hostfile), "-n", "1", WORKER])
    assert res.returncode == 1
    assert f"distnet-launch: {hostfile}:1: expected 'host[:slots]'" in res.stderr


def test_the_job_token_travels_on_stdin_never_in_a_command_line(ssh_env):
    env, hostfile, tmp_path = ssh_env
    argv_log = tmp_path / "argv.log"
    # Record ssh's whole argv (what `ps` would show) before the stand-in runs it.
    wrapper = tmp_path / "bin" / "ssh"
    wrapper.write_text(
        _FAKE_SSH.replace(
            "#!/bin/bash\n",
            '#!/bin/bash\nprintf \'%s\\0\' "$@" >> "$ARGV_LOG"; printf \'\\n\' >> "$ARGV_LOG"\n',
        )
    )
    res = launch(
        ["--launcher", "ssh", "-H", hostfile, "-n", "2", "-s", "1", "--grace", "1", WORKER],
        env=dict(env, ARGV_LOG=str(argv_log)),
        cwd=str(tmp_path),
    )
    assert res.returncode == 0, res.stderr
    envs = records(res.stdout, "ENV")
    tokens = {e["DISTNET_JOB_TOKEN"] for e in envs.values()}
    assert len(envs) == 4 and len(tokens) == 1
    token = tokens.pop()
    assert len(token) == 32
    calls = [c.split("\0")[:-1] for c in argv_log.read_text().split("\n") if c]
    assert len(calls) == 4
    for argv in calls:
        assert argv[:2] == ["-o", "BatchMode=yes"] and argv[2] in ("localhost", "127.0.0.1")
        assert len(argv) == 4
        assert token not in " ".join(argv) and "DISTNET_JOB_TOKEN=" not in argv[3]
        assert argv[3].startswith(
            f"cd {tmp_path} && exec sh -c 'IFS= read -r "
            f"DISTNET_JOB_TOKEN || exit 125; export DISTNET_JOB_TOKEN;"
        )


def _remote(argv, tmp_path):
    """The remote side of an ssh process run here: `sh -c` of its remote command, its
    stdin a pipe the test holds (as the launcher holds ssh's)."""
    spec = ProcSpec("worker", 0, tuple(argv), {"DISTNET_JOB_TOKEN": "f00d"})
    return subprocess.Popen(
        ["sh", "-c", remote_command(spec, str(tmp_path))],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )


def test_remote_side_reads_the_token_and_passes_the_exit_code(tmp_path):
    proc = _remote(["sh", "-c", 'echo "$DISTNET_JOB_TOKEN" > token; exit 7'], tmp_path)
    proc.stdin.write(b"f00d\n")
    proc.stdin.flush()  # stdin stays open, as the launcher keeps it
    assert proc.wait(timeout=20) == 7
    assert (tmp_path / "token").read_text() == "f00d\n"
    proc.stdin.close()


def test_remote_side_stops_its_process_group_when_stdin_ends(tmp_path):
    proc = _remote(["bash", "-c", "sleep 300 & sleep 300 & touch started; wait"], tmp_path)
    proc.stdin.write(b"f00d\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 20
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    job = [proc.pid] + descendants(proc.pid)
    assert len(job) >= 5, job  # sh, its watcher, bash, 2 sleeps
    proc.stdin.close()  # the launcher stopped or died
    t0 = time.monotonic()
    while alive(job) and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    left = alive(job)
    for pid in left:
        os.kill(pid, 9)
    assert not left and time.monotonic() - t0 < 6
