"""scripts/examples/cifar10_resnet_dist.py: a 2-worker, 1-server job on a RecordIO file
made by scripts/im2rec.py from generated images (no network)."""

import os
import re
import subprocess
import sys

import numpy as np

from distnet.testing import run_distributed

from examples_helpers import EXAMPLES, REPO


def _make_rec(folder):
    from PIL import Image

    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (10, 3))
    for c in range(10):
        os.makedirs(folder / "img" / f"class{c}")
        for i in range(4):
            img = np.clip(colours[c] + rng.normal(0, 30, (32, 32, 3)), 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(folder / "img" / f"class{c}" / f"{i}.png")
    im2rec = [sys.executable, os.path.join(REPO, "scripts", "im2rec.py")]
    prefix, images = str(folder / "train"), str(folder / "img")
    subprocess.run(im2rec + ["--list", "--recursive", prefix, images], check=True, timeout=60)
    subprocess.run(
        im2rec + ["--encoding", ".png", prefix, images],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return prefix + ".rec"


def test_resnet20_trains_under_distnet_launch_reading_recordio(tmp_path):
    rec = _make_rec(tmp_path)
    job = run_distributed(
        os.path.join(EXAMPLES, "cifar10_resnet_dist.py"),
        num_workers=2,
        num_servers=1,
        timeout=400,
        args=[
            "--rec-train",
            rec,
            "--batch-size",
            "8",
            "--max-batches",
            "2",
            "--disp-batches",
            "1",
            "--kv-store",
            "dist_sync",
        ],
    )
    job.check()
    sums = []
    for rank, worker in enumerate(job.workers):
        out = worker.output
        assert re.search(
            rf"Node\[{rank}\] Epoch\[0\] Batch \[1-2\]\tSpeed: [\d.]+ "
            r"samples/sec\taccuracy=[\d.]+",
            out,
        ), out
        assert re.search(rf"Node\[{rank}\] Epoch\[0\] Validation-accuracy=[\d.]+", out), out
        sums.append(float(re.findall(r"sum of \|w\| = ([\d.]+)", out)[-1]))
    assert sums[0] == sums[1] > 0  # dist_sync: both workers hold the same weights
