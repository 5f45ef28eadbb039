"""scripts/plot_metrics.py: learning curves from a CSVLogger file; train_mnist.py writes
one with --metrics-csv."""

import csv
import os
import subprocess
import sys

import pytest

import distnet as mx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")


@pytest.fixture
def plot_metrics(monkeypatch):
    monkeypatch.syspath_prepend(SCRIPTS)
    import plot_metrics

    return plot_metrics


def _write(fname):
    log = mx.callback.CSVLogger(fname)
    for epoch in range(2):
        for nbatch in (1, 3):
            log.log(epoch, [("accuracy", 0.5 + epoch / 4 + nbatch / 40)], nbatch=nbatch)
        log.log(
            epoch, [("accuracy", 0.6 + epoch / 10), ("ce", 1.0 - epoch / 2)], phase="validation"
        )
    log.close()


def test_read_curves_places_batches_within_their_epoch(tmp_path, plot_metrics):
    fname = str(tmp_path / "m.csv")
    _write(fname)
    curves = plot_metrics.read_curves(fname)
    assert sorted(curves) == ["accuracy", "ce"]
    assert [x for x, _ in curves["accuracy"]["train"]] == [0.5, 1.0, 1.5, 2.0]
    assert curves["accuracy"]["validation"] == [(1.0, 0.6), (2.0, 0.7)]
    assert curves["ce"]["validation"] == [(1.0, 1.0), (2.0, 0.5)]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit, match="not a CSVLogger file"):
        plot_metrics.read_curves(str(bad))


def test_plot_writes_an_image(tmp_path, plot_metrics):
    pytest.importorskip("matplotlib")  # the [plot] extra
    fname = str(tmp_path / "m.csv")
    _write(fname)
    out = str(tmp_path / "curves.png")
    plot_metrics.main([fname, "-o", out, "--metric", "accuracy"])
    with open(out, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_train_mnist_metrics_csv(tmp_path):
    fname = str(tmp_path / "m.csv")
    subprocess.run(
        [
            sys.executable,
            os.path.join(SCRIPTS, "train_mnist.py"),
            "--num-epochs",
            "2",
            "--metrics-csv",
            fname,
            "--disp-batches",
            "10",
            "--combine-metrics",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    rows = list(csv.DictReader(open(fname)))
    phases = [(r["phase"], r["epoch"], r["batch"]) for r in rows]
    assert ("validation", "0", "") in phases and ("validation", "1", "") in phases
    assert ("train", "0", "9") in phases
