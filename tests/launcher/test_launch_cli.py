"""Command-line parsing and the pure planning helpers (no processes started)."""

import dataclasses
import shlex
import sys

import pytest

from launcher.cli import parse_args
from launcher.config import ProcSpec
from launcher.mpi_boot import mpi_rank, role_of
from launcher.ssh import assign_workers, parse_hostfile, remote_command


def test_defaults_follow_mxnet_launch_py():
    cfg = parse_args(["-n", "4", "train.py", "--lr", "0.1"], environ={})
    assert (cfg.num_workers, cfg.num_servers, cfg.launcher, cfg.port) == (4, 4, "local", 0)
    assert cfg.command == (sys.executable, "train.py", "--lr", "0.1")
    assert cfg.start_timeout == 300 and cfg.grace == 5
    assert cfg.scheduler_cmd == (sys.executable, "-m", "kvstore.scheduler")
    assert cfg.server_cmd == (sys.executable, "-m", "kvstore.server")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_workers = 2


def test_options_env_pairs_and_role_overrides():
    cfg = parse_args(
        [
            "-n",
            "2",
            "-s",
            "0",
            "--env",
            "A=1=2",
            "--env",
            "B=",
            "--env-worker",
            "W=x",
            "--env-server",
            "S=y",
            "--log-dir",
            "d",
            "--",
            "./run",
            "-s",
            "9",
        ],
        environ={"DISTNET_SCHEDULER_CMD": "sched --fast", "DISTNET_SERVER_CMD": "'my server'"},
    )
    assert cfg.num_servers == 0 and cfg.log_dir == "d"
    assert cfg.env == (("A", "1=2"), ("B", "")) and cfg.env_worker == (("W", "x"),)
    assert cfg.env_server == (("S", "y"),)
    assert cfg.command == ("./run", "-s", "9")
    assert cfg.scheduler_cmd == ("sched", "--fast") and cfg.server_cmd == ("my server",)


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "2"],
        ["-n", "0", "x.py"],
        ["-n", "1", "--env", "X", "a"],
        ["-n", "1", "--launcher", "ssh", "a.py"],
        ["-n", "1", "-s", "-1", "a"],
    ],
)
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(argv, environ={})
    assert exc.value.code == 2


def test_hostfile_and_worker_placement(tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("# cluster\nnode-a:2\n\nnode-b  # one slot\n")
    hosts = parse_hostfile(str(hostfile))
    assert hosts == [("node-a", 2), ("node-b", 1)]
    assert assign_workers(hosts, 4) == [
        ("node-a", 0, 3),
        ("node-a", 1, 3),
        ("node-b", 0, 1),
        ("node-a", 2, 3),
    ]
    hostfile.write_text("node-a:x\n")
    with pytest.raises(ValueError, match="hosts:1"):
        parse_hostfile(str(hostfile))


def test_remote_command_quotes_env_and_argv():
    spec = ProcSpec(
        "worker", 0, ("python", "my script.py", "a'b"), {"K": "v w", "DISTNET_JOB_TOKEN": "f00d"}
    )
    cmd = remote_command(spec, "/work dir")
    assert cmd.startswith("cd '/work dir' && exec sh -c ")
    assert shlex.split(cmd)[-3:] == ["python", "my script.py", "a'b"]
    assert "K=v w" in shlex.split(cmd) and "f00d" not in cmd


def test_mpi_rank_to_role():
    assert [role_of(r, 2) for r in range(5)] == [
        ("scheduler", None),
        ("server", 0),
        ("server", 1),
        ("worker", 0),
        ("worker", 1),
    ]
    assert role_of(3, 0) == ("worker", 3)
    assert mpi_rank({"OMPI_COMM_WORLD_RANK": "5"}) == 5 and mpi_rank({"PMI_RANK": "2"}) == 2
    with pytest.raises(ValueError, match="PMI_RANK"):
        mpi_rank({})
