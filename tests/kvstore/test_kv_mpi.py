"""The MPI backend under mpiexec gives the same closed-form sums as the parameter server."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kv_jobs import X

pytest.importorskip("mpi4py")
pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec"),
]

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = f"""
import json, os, sys
sys.path.insert(0, {HERE!r})
import kv_jobs
res = getattr(kv_jobs, sys.argv[2])()
with open(os.path.join(sys.argv[1], 'rank%d.json' % res['rank']), 'w') as f:
    json.dump(res, f)
"""


def _mpiexec(tmp_path, job):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(HERE))
    proc = subprocess.run(
        ["mpiexec", "-n", "3", sys.executable, "-c", SCRIPT, str(tmp_path), job],
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(3)]


def test_mpi_backend_sums(tmp_path):
    for got in _mpiexec(tmp_path, "mpi_sums"):
        assert got["type"] == "MPIStore" and got["n"] == 3 and got["opt"] is False
        np.testing.assert_array_equal(got["res"], [5 * X, 6 * X, 12 * X])  # rank 0's init wins
        assert got["small"] == [[3.0 * j + 3] * 2 for j in range(5)]  # fused small keys


def test_mpi_pushpull_fuses_and_reduces_in_place(tmp_path):
    for got in _mpiexec(tmp_path, "mpi_pushpull"):
        assert got["a"] == [6.0] * 3 and got["b"] == [60.0] * 2
        assert got["big"] == 300000 * 3.0
        assert "after pushpull" in got["err"]
