"""scripts/examples/sparse_wide_embedding.py learns its task in one process and as a
2-worker, 2-server job (row_sparse gradients through dist_sync)."""

import os
import re

import pytest

SCRIPT = os.path.join(
    os.path.dirname(__file__), "..", "..", "scripts", "examples", "sparse_wide_embedding.py"
)
ARGS = ["--epochs", "4", "--vocab", "2000", "--samples", "3000"]

pytestmark = pytest.mark.timeout(150)


def _final_accuracy(text, rank):
    found = re.findall(rf"worker {rank} epoch 3: loss ([0-9.]+) accuracy ([0-9.]+)", text)
    assert found, text[-2000:]
    return float(found[-1][0]), float(found[-1][1])


def test_example_trains_in_one_process():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sparse_wide_embedding", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    history = mod.main(ARGS + ["--kvstore", "local"])
    assert history[0][0] > 0.5 and history[-1][0] < 0.05 and history[-1][1] > 0.97


def test_example_trains_as_a_job(run_distributed):
    job = run_distributed(
        os.path.abspath(SCRIPT), num_workers=2, num_servers=2, timeout=120, args=ARGS
    )
    job.check()
    text = "\n".join(p.output for p in job)
    for rank in (0, 1):
        loss, acc = _final_accuracy(text, rank)
        assert loss < 0.05 and acc > 0.97
