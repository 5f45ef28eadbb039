"""Fixtures of the example-script tests: a temporary DISTNET_HOME with small, learnable
MNIST and Fashion-MNIST IDX files."""

import pytest

from examples_helpers import write_set


@pytest.fixture
def distnet_home(tmp_path, monkeypatch):
    """DISTNET_HOME with 300/100-sample MNIST and Fashion-MNIST; no network reachable."""
    home = tmp_path / "distnet_home"
    write_set(str(home / "datasets" / "mnist"), 300, 100, seed=1)
    write_set(str(home / "datasets" / "fashion-mnist"), 300, 100, seed=3)
    monkeypatch.setenv("DISTNET_HOME", str(home))
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")  # fail fast, offline
    return home
