"""Under ``mpiexec -n 2`` the Gluon Trainer and Module sync through kvstore 'mpi': both
ranks end with the same weights, those of one process training on the whole batch from
rank 0's initialisation (issue 14: Trainer created no store for 'mpi' and each rank
trained alone)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py")
HERE = os.path.dirname(os.path.abspath(__file__))
# mpi4py's wheel puts mpiexec next to the interpreter of the virtual environment, which
# is not on PATH when pytest runs as .venv/bin/python -m pytest (as in CI).
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec")]

sys.path.insert(0, HERE)
import mpi_jobs  # noqa: E402


def _mpiexec(tmp_path, job, kvstore):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(HERE))
    proc = subprocess.run(
        [
            MPIEXEC,
            "-n",
            "2",
            sys.executable,
            os.path.join(HERE, "mpi_jobs.py"),
            str(tmp_path),
            job,
            kvstore,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]


def _expected_weights(inits):
    """SGD (lr 0.5, step(4)) on the summed gradients of both ranks' sum-of-squares
    losses. As in MXNet, the Trainer puts rank 0's weights in place at the first step,
    after the first backward: that gradient comes from each rank's own weights."""
    own = [(np.array(i["dense0_weight"]), np.array(i["dense0_bias"])) for i in inits]
    w, b = own[0]
    for step in range(2):
        gw, gb = 0, 0
        for r in range(2):
            x, y = mpi_jobs._data(r)
            rw, rb = own[r] if step == 0 else (w, b)
            d = 2 * (x @ rw.T + rb - y)
            gw, gb = gw + d.T @ x, gb + d.sum(0)
        w, b = w - 0.5 / 4 * gw, b - 0.5 / 4 * gb
    return {"dense0_weight": w, "dense0_bias": b}


@pytest.mark.parametrize("kvstore", ["mpi", "dist_sync"])
def test_trainer_ranks_keep_equal_weights(tmp_path, kvstore):
    rank0, rank1 = _mpiexec(tmp_path, "trainer", kvstore)
    assert rank0["store"] == rank1["store"] == kvstore and rank0["n"] == 2
    assert rank0["init"] != rank1["init"]  # the ranks started apart
    assert rank0["weights"] == rank1["weights"]  # bit for bit
    want = _expected_weights([rank0["init"], rank1["init"]])
    for name, value in rank0["weights"].items():
        np.testing.assert_allclose(value, want[name], rtol=1e-5, atol=1e-6)


def test_module_ranks_keep_equal_weights(tmp_path):
    rank0, rank1 = _mpiexec(tmp_path, "module", "mpi")
    assert rank0["store"] == rank1["store"] == "mpi"
    assert set(rank0["weights"]) == {"fc_weight", "fc_bias"}
    assert rank0["weights"] == rank1["weights"]
