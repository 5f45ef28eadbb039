"""scripts/bench/bench_gpu.py without a GPU: --help, a clear failure, and its loops and
report on the CPU (the GPU run itself is done on a GPU machine; see docs/gpu.md)."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "bench", "bench_gpu.py")


def _run(*args):
    return subprocess.run(
        [sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=120
    )


def test_help_describes_the_benchmark():
    res = _run("--help")
    assert res.returncode == 0
    for text in ("PyTorch eager", "--batch", "--runs", "--no-torch", "0.5x"):
        assert text in res.stdout


def test_without_a_gpu_it_fails_and_says_why():
    from distnet import backend

    if backend.cupy_or_none() is not None:
        pytest.skip("a GPU is visible here")
    res = _run("--no-torch")
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.startswith("bench_gpu.py: no usable CUDA GPU: cupy is unavailable")
    assert "pip install -e '.[gpu]'" in res.stderr and "docs/gpu.md" in res.stderr


def test_loops_and_report_run_on_the_cpu():
    res = _run(
        "--cpu-dry-run",
        "--no-torch",
        "--json",
        "--batch",
        "4",
        "--runs",
        "1",
        "--steps",
        "1",
        "--warmup",
        "1",
    )
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [(r["model"], r["api"], r["batch"]) for r in rows] == [
        ("mlp", "gluon", 4),
        ("mlp", "module", 4),
        ("lenet", "gluon", 4),
        ("lenet", "module", 4),
    ]
    assert all(r["distnet"] > 0 and "torch" not in r for r in rows)
    table = _run(
        "--cpu-dry-run",
        "--no-torch",
        "--batch",
        "4",
        "--runs",
        "1",
        "--steps",
        "1",
        "--warmup",
        "0",
    )
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[2] == "| model | API | batch | distnet |"
    assert lines[4].startswith("| MLP | Gluon hybridized | 4 | ")
    assert lines[7].startswith("| LeNet | Module | 4 | ")
