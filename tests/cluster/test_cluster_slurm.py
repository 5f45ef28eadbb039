"""`--launcher slurm`: Slurm's node lists, and real jobs through a stand-in `srun` that
runs each task in a namespace of the virtual cluster with the variables Slurm sets."""

import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
from launcher.slurm import expand_nodelist, mpi_view, tasks_per_node  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LAUNCH = os.path.join(os.path.dirname(sys.executable), "distnet-launch")
MNIST = os.path.join(REPO, "scripts", "train_mnist.py")
_REASON = netns.available()
needs_cluster = pytest.mark.skipif(_REASON is not None, reason=str(_REASON))
pytestmark = pytest.mark.timeout(120)


def test_nodelists_expand_as_scontrol_show_hostnames():
    assert expand_nodelist("node[01-03,7],gpu5") == ["node01", "node02", "node03", "node7", "gpu5"]
    assert expand_nodelist("r[1-2]n[8-9]-ib") == ["r1n8-ib", "r1n9-ib", "r2n8-ib", "r2n9-ib"]
    assert expand_nodelist("10.0.0.1,10.0.0.2") == ["10.0.0.1", "10.0.0.2"]
    for bad in ("node[1-", "node[3-1]", "node[a]", ""):
        with pytest.raises(ValueError, match="SLURM_JOB_NODELIST"):
            expand_nodelist(bad)
    assert tasks_per_node("2(x3),1") == [2, 2, 2, 1]


def test_a_task_maps_its_slurm_variables_to_a_rank_and_local_rank():
    view = mpi_view(
        {
            "SLURM_PROCID": "4",
            "SLURM_NTASKS": "5",
            "SLURM_LOCALID": "1",
            "SLURM_NODEID": "1",
            "SLURM_STEP_TASKS_PER_NODE": "3(x1),2",
        }
    )
    assert (view["PMI_RANK"], view["PMI_SIZE"]) == ("4", "5")
    assert (view["MPI_LOCALRANKID"], view["MPI_LOCALNRANKS"]) == ("1", "2")


def test_outside_an_allocation_it_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    res = subprocess.run(
        [LAUNCH, "--launcher", "slurm", "-n", "1", "true"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 1
    assert "inside a Slurm allocation" in res.stderr and "SLURM_JOB_NODELIST" in res.stderr


@pytest.fixture(scope="module")
def cluster():
    with netns.Cluster(3, sshd=False) as c:
        yield c


def _slurm(cluster, tmp_path, argv):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(os.path.join(HERE, "fake_srun.py"), bindir / "srun")
    os.chmod(bindir / "srun", 0o755)
    nodes = cluster.addrs[1:3]
    env = dict(
        os.environ,
        PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}",
        SLURM_JOB_ID="42",
        SLURM_JOB_NODELIST=",".join(nodes),
        SLURM_TASKS_PER_NODE="2,3",  # scheduler + server 0 | server 1 + 2 workers
        FAKE_SRUN_NETNS=",".join(f"{a}={n}" for a, n in zip(nodes, cluster.names[1:])),
    )
    cmd = cluster.argv(
        0,
        [
            LAUNCH,
            "--launcher",
            "slurm",
            "-n",
            "2",
            "-s",
            "2",
            "--grace",
            "2",
            "--env",
            "DISTNET_KVSTORE_SHM=0",
        ]
        + argv,
    )
    return subprocess.Popen(
        cmd, env=env, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@needs_cluster
def test_slurm_job_across_nodes_reaches_usual_accuracy(cluster, tmp_path):
    proc = _slurm(cluster, tmp_path, [MNIST, "--kv-store", "dist_sync", "--seed", "1"])
    out, err = proc.communicate(timeout=100)
    assert proc.returncode == 0, err[-3000:]
    text = out + err
    acc = [float(line.rsplit("=", 1)[1]) for line in text.splitlines() if "Test-accuracy=" in line]
    assert len(acc) == 2 and acc[0] == acc[1] >= 0.95, acc
    assert f"server 0 (tcp://{cluster.addrs[1]}:" in text  # the scheduler's node
    assert f"server 1 (tcp://{cluster.addrs[2]}:" in text  # its own node's address
    assert not [p for i in range(3) for p in cluster.pids(i)]


@needs_cluster
def test_slurm_task_failing_ends_the_step_naming_it(cluster, tmp_path):
    code = (
        "import os, sys, time; time.sleep(1); "
        "sys.exit(3) if os.environ['RANK'] == '1' else time.sleep(60)"
    )
    proc = _slurm(cluster, tmp_path, [sys.executable, "-c", code])
    out, err = proc.communicate(timeout=50)
    assert proc.returncode == 3, err[-3000:]
    assert "worker 1" in err and "exited with code 3" in err, err[-3000:]
    assert not [p for i in range(3) for p in cluster.pids(i)]
