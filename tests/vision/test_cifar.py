"""CIFAR10/CIFAR100 in MXNet's layout under $MXNET_HOME/datasets, offline, checksummed."""

import hashlib
import warnings

import numpy as np
import pytest

from distnet.gluon.data import vision
from tests.gluon.data.files import write_cifar

NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def _sha1(path):
    with open(path, "rb") as fin:
        return hashlib.sha1(fin.read()).hexdigest()


def test_cifar10_reads_mxnet_home_offline_and_checks_sha1(tmp_path, monkeypatch):
    monkeypatch.delenv("DISTNET_HOME", raising=False)
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")  # no network needed
    root = tmp_path / "datasets" / "cifar10"
    written = write_cifar(str(root), NAMES, label_bytes=1, per_file=3)
    sums = {name: _sha1(root / name) for name in NAMES}
    monkeypatch.setattr(vision.CIFAR10, "_sha1", sums)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matching files: no warning
        test = vision.CIFAR10(train=False)
    images, labels = written["test_batch.bin"]
    np.testing.assert_array_equal(test[2][0].asnumpy(), images[2])
    assert test[2][1] == labels[2, 0]
    sums["test_batch.bin"] = "0" * 40
    with pytest.warns(UserWarning, match=r"test_batch.bin does not match the sha1"):
        vision.CIFAR10(train=False)


def test_cifar100_in_mxnet_home(tmp_path, monkeypatch):
    monkeypatch.delenv("DISTNET_HOME", raising=False)
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    root = tmp_path / "datasets" / "cifar100"
    written = write_cifar(str(root), ["train.bin", "test.bin"], label_bytes=2, per_file=4)
    monkeypatch.setattr(vision.CIFAR100, "_sha1", {"train.bin": _sha1(root / "train.bin")})
    fine = vision.CIFAR100(fine_label=True, train=True)
    assert len(fine) == 4 and fine[3][1] == written["train.bin"][1][3, 1]
