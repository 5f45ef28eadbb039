"""mpi mode through the installed mpiexec, and the rank variables of a plain mpiexec."""

import importlib.util
import re
import shutil
import subprocess
import sys
import time

import pytest

from launch_helpers import WORKER, alive_in_groups, launch, pgids, records, standin_env

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec"),
]
needs_mpi4py = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None, reason="mpi4py not installed"
)


def test_plain_mpiexec_sets_the_rank_variables_the_bootstrap_reads():
    # one write per rank: print() writes its parts separately when unbuffered, and the two
    # ranks share one pipe, so their parts could interleave
    code = (
        "import os, sys; sys.stdout.write('RANK %s %s\\n' % "
        "(os.environ['PMI_RANK'], os.environ['PMI_SIZE']))"
    )
    res = subprocess.run(
        ["mpiexec", "-n", "2", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert sorted(res.stdout.splitlines()) == ["RANK 0 2", "RANK 1 2"]


def test_mpi_without_servers_gives_plain_mpi_ranks(tmp_path):
    res = launch(
        [
            "--launcher",
            "mpi",
            "-n",
            "2",
            "-s",
            "0",
            "--log-dir",
            str(tmp_path),
            "--env-worker",
            "W=1",
            WORKER,
        ],
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    env = records(res.stdout, "ENV")
    assert set(env) == {"worker 0", "worker 1"}
    for rank, name in enumerate(["worker 0", "worker 1"]):
        e = env[name]
        assert not [k for k in e if k.startswith("DMLC_")]  # so the kvstore picks MPI
        assert (e["RANK"], e["WORLD_SIZE"], e["LOCAL_RANK"]) == (str(rank), "2", str(rank))
    assert len({e["DISTNET_JOB_TOKEN"] for e in env.values()}) == 1
    assert "READY\n" in (tmp_path / "worker-1.log").read_text()
    assert "[worker 0] to stderr from 0" in res.stderr


def test_mpi_with_servers_maps_ranks_to_roles_and_shares_the_port():
    res = launch(
        ["--launcher", "mpi", "-n", "2", "-s", "1", WORKER],
        env=standin_env(scheduler_args="--sleep 1", server_args="--sleep 0"),
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    env = records(res.stdout, "ENV")
    assert set(env) == {"scheduler", "server 0", "worker 0", "worker 1"}
    port = records(res.stdout, "PORT")["scheduler"]
    assert env["scheduler"]["DMLC_ROLE"] == "scheduler"
    assert env["server 0"]["DMLC_SERVER_ID"] == "0"
    for name in ("server 0", "worker 0", "worker 1"):
        assert env[name]["DMLC_PS_ROOT_PORT"] == port, name
        assert "DISTNET_SCHEDULER_PORT_FILE" not in env[name]
    assert env["worker 1"]["DMLC_WORKER_ID"] == env["worker 1"]["RANK"] == "1"
    assert env["worker 1"]["LOCAL_WORLD_SIZE"] == "2"


def test_mpi_failure_ends_the_job_and_names_the_rank():
    start = time.monotonic()
    res = launch(
        [
            "--launcher",
            "mpi",
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
            "3",
            "--sleep",
            "30",
        ],
        timeout=60,
    )
    assert res.returncode == 3
    assert time.monotonic() - start < 10  # hydra alone would wait for rank 0's 30 s
    assert re.search(
        r"worker 1 \(pid \d+ on \S+\) exited with code 3 \(first failure\)", res.stderr
    )
    assert "    worker 1 giving up" in res.stderr
    assert "[worker 1] worker 1 giving up" in res.stderr
    assert "DISTNET-MPI-EXIT" not in res.stderr  # the report is consumed, not shown
    assert not alive_in_groups(pgids(res.stdout))


@needs_mpi4py
def test_bootstrapped_ranks_are_real_mpi_ranks():
    code = (
        "from mpi4py import MPI; c = MPI.COMM_WORLD; "
        "print('MPI', c.Get_rank(), c.Get_size(), c.allreduce(c.Get_rank()))"
    )
    res = launch(
        ["--launcher", "mpi", "-n", "2", "-s", "0", "--", sys.executable, "-c", code], timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert sorted(res.stdout.splitlines()) == ["[worker 0] MPI 0 2 1", "[worker 1] MPI 1 2 1"]
