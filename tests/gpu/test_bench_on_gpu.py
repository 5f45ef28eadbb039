"""bench_gpu.py runs on the GPU and prints its table (a short run; the real figures come
from running the script itself, see docs/gpu.md)."""

import os
import subprocess
import sys

import pytest

from .gpu_util import AS_CPU

SCRIPT = os.path.join(
    os.path.dirname(__file__), os.pardir, os.pardir, "scripts", "bench", "bench_gpu.py"
)


def test_bench_gpu_short_run_prints_the_table():
    if AS_CPU:
        pytest.skip("the benchmark needs a real GPU (tests/test_bench_gpu.py covers the CPU)")
    res = subprocess.run(
        [sys.executable, SCRIPT, "--batch", "8", "--runs", "1", "--steps", "2", "--warmup", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("Training steps on gpu(0) ")
    assert lines[2].startswith("| model | API | batch | distnet |")
    assert sum(line.startswith("|") for line in lines) == 2 + 4  # header, rule, 4 rows
