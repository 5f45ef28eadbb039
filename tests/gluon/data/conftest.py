"""Fixtures: a temporary DISTNET_HOME holding small MNIST/FashionMNIST data sets, and a
guard that no data set test reaches the network."""

import pytest

from .files import write_mnist


@pytest.fixture
def distnet_home(tmp_path, monkeypatch):
    """A DISTNET_HOME with 200/100-sample MNIST and FashionMNIST IDX files; yields a dict
    with the folder and the arrays written."""
    home = tmp_path / "distnet_home"
    mnist = write_mnist(str(home / "datasets" / "mnist"), seed=1)
    fashion = write_mnist(str(home / "datasets" / "fashion-mnist"), seed=2)
    monkeypatch.setenv("DISTNET_HOME", str(home))
    # a missing file must fail fast and locally, never reach the internet
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")
    monkeypatch.delenv("DISTNET_GLUON_REPO", raising=False)
    yield {"home": str(home), "mnist": mnist, "fashion": fashion}


@pytest.fixture
def offline(monkeypatch):
    """Point the Gluon repository at a closed local port; one quick attempt."""
    from distnet.gluon.data.vision import datasets

    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")
    monkeypatch.delenv("DISTNET_GLUON_REPO", raising=False)
    monkeypatch.setattr(datasets, "_DOWNLOAD_RETRIES", 1)
    monkeypatch.setattr(datasets, "_DOWNLOAD_TIMEOUT", 2)
    return "http://127.0.0.1:9/"


@pytest.fixture(autouse=True)
def _no_leaked_workers():
    """Every test must leave no DataLoader worker process behind."""
    import multiprocessing

    before = {p.pid for p in multiprocessing.active_children()}
    yield
    left = [p for p in multiprocessing.active_children() if p.pid not in before]
    for proc in left:
        proc.terminate()
    assert not left, f"DataLoader worker processes left running: {left}"
