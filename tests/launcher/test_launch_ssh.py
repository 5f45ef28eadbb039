"""ssh mode through a stand-in `ssh` on PATH that runs the remote command locally."""
import os
import stat

import pytest

from launch_helpers import WORKER, alive_in_groups, launch, pgids, records, standin_env

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
    env = dict(standin_env(), PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}",
               FAKE_SSH_LOG=str(tmp_path / "ssh.log"), NOT_PASSED="x")
    return env, str(hostfile), tmp_path


def test_ssh_starts_every_role_with_its_environment_in_the_same_directory(ssh_env):
    env, hostfile, tmp_path = ssh_env
    res = launch(["--launcher", "ssh", "-H", hostfile, "-n", "3", "-s", "1", "--grace", "1",
                  "--env", "DISTNET_X=1", WORKER], env=env, cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr
    envs = records(res.stdout, "ENV")
    assert set(envs) == {"scheduler", "server 0", "worker 0", "worker 1", "worker 2"}
    port = envs["scheduler"]["DMLC_PS_ROOT_PORT"]
    assert port != "0" and records(res.stdout, "PORT")["scheduler"] == port
    for name, e in envs.items():
        assert e["DMLC_PS_ROOT_URI"] == "localhost" and e["DMLC_PS_ROOT_PORT"] == port
        assert e["DISTNET_X"] == "1" and "NOT_PASSED" not in e, name
    placed = [(envs[f"worker {i}"]["LOCAL_RANK"], envs[f"worker {i}"]["LOCAL_WORLD_SIZE"])
              for i in range(3)]
    assert placed == [("0", "2"), ("1", "2"), ("0", "1")]
    pids = records(res.stdout, "PID")
    assert all(pids[f"worker {i}"].endswith(f"CWD {tmp_path}") for i in range(3))
    hosts = (tmp_path / "ssh.log").read_text().split()
    assert sorted(hosts) == ["127.0.0.1", "localhost", "localhost", "localhost", "localhost"]
    assert not alive_in_groups(pgids(res.stdout))


def test_ssh_failure_is_reported_with_the_remote_code(ssh_env):
    env, hostfile, tmp_path = ssh_env
    res = launch(["--launcher", "ssh", "-H", hostfile, "-n", "2", "-s", "0", "--grace", "1",
                  WORKER, "--exit-rank", "1", "--code", "5", "--sleep", "60"], env=env)
    assert res.returncode == 5
    assert "worker 1 exited with code 5 (first failure)" in res.stderr
    assert not alive_in_groups(pgids(res.stdout))


def test_bad_hostfile_is_a_clear_error(tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node:zero\n")
    res = launch(["--launcher", "ssh", "-H", str(hostfile), "-n", "1", WORKER])
    assert res.returncode == 1
    assert f"distnet-launch: {hostfile}:1: expected 'host[:slots]'" in res.stderr
