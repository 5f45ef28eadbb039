"""Small usability fixes: numpy.fix no longer called; DataLoader's start method in
threaded processes; the [viz] extra names Graphviz's dot."""

import os
import threading
import warnings

import numpy as np
import pytest

import distnet as mx
from distnet.gluon.data import _workers


def test_fix_rounds_toward_zero_keeps_dtype_and_calls_no_deprecated_numpy():
    x = [-2.7, -0.5, 0.5, 2.7, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy 2.5's DeprecationWarning for fix
        for dtype in ("float16", "float32", "float64", "int32"):
            out = mx.nd.fix(mx.nd.array(x, dtype=dtype))
            assert out.dtype == np.dtype(dtype)
            # MXNet 1.9.1: [-2, -0, 0, 2, 3] (ints: [-2, 0, 0, 2, 3])
            np.testing.assert_array_equal(out.asnumpy(), np.array([-2, 0, 0, 2, 3], dtype))


@pytest.fixture
def other_thread():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


def test_start_method_avoids_fork_in_threaded_processes_on_312(monkeypatch, other_thread):
    monkeypatch.delenv("DISTNET_DATALOADER_START_METHOD", raising=False)
    monkeypatch.setattr(_workers.sys, "version_info", (3, 12, 0))
    assert _workers.start_method() == "forkserver"
    monkeypatch.setattr(_workers.sys, "version_info", (3, 11, 9))
    assert _workers.start_method() == "fork"
    monkeypatch.setenv("DISTNET_DATALOADER_START_METHOD", "spawn")
    assert _workers.start_method() == "spawn"


def test_start_method_keeps_fork_without_threads(monkeypatch):
    monkeypatch.delenv("DISTNET_DATALOADER_START_METHOD", raising=False)
    monkeypatch.setattr(_workers.sys, "version_info", (3, 13, 0))
    monkeypatch.setattr(_workers.threading, "active_count", lambda: 1)
    assert _workers.start_method() == "fork"


def test_dataloader_runs_under_forkserver(monkeypatch):
    monkeypatch.setenv("DISTNET_DATALOADER_START_METHOD", "forkserver")
    data = mx.gluon.data.ArrayDataset(
        np.arange(20, dtype="float32").reshape(10, 2), np.arange(10, dtype="float32")
    )
    loader = mx.gluon.data.DataLoader(data, batch_size=4, num_workers=2)
    labels = np.concatenate([y.asnumpy() for _, y in loader])
    np.testing.assert_array_equal(labels, np.arange(10))


def test_viz_extra_says_dot_is_needed():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = open(os.path.join(root, "pyproject.toml")).read()
    line = next(l for l in text.splitlines() if l.startswith("viz = "))
    assert "graphviz" in line and "`dot`" in line
