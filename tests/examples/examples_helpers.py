"""Helpers of the example-script tests: small learnable MNIST-format files and a runner
for the scripts (a module of its own: several test folders have a conftest.py)."""

import gzip
import os
import struct
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "scripts", "examples")


def write_idx(path, array):
    """``array`` (uint8) as a gzipped IDX file, the format of the MNIST downloads."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fout:
        fout.write(header + array.tobytes())


def learnable_digits(count, seed):
    """(images (count, 28, 28) uint8, labels (count,) uint8): class c is a bright 6x6
    square at its own place on a 2x5 grid over noise, so a model can learn it quickly."""
    rng = np.random.RandomState(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.randint(0, 60, (count, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        row, col = 3 + 13 * (c // 5), 1 + 5 * (c % 5)
        images[i, row : row + 6, col : col + 5] = 255
    return images, labels


def write_set(folder, n_train, n_test, seed):
    """The four MNIST files of a learnable set in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    for prefix, count, part_seed in (("train", n_train, seed), ("t10k", n_test, seed + 1)):
        images, labels = learnable_digits(count, part_seed)
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels)


def run_example(name, cwd, *args, timeout=120):
    """Run ``scripts/examples/<name>`` as a user would; returns the CompletedProcess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([REPO] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("PYTHONHASHSEED", "0")
    return subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, name), *map(str, args)],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
