"""distnet._threads: the BLAS thread policy (never oversubscribe, respect explicit caps)."""

import json
import os
import subprocess
import sys

import pytest

from distnet import _threads
from distnet.base import MXNetError

pytest.importorskip("threadpoolctl")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_VARS = _threads.CAP_VARS + ("DISTNET_BLAS_THREADS", "DISTNET_BLAS_SMALL_MACS")


def _cores():
    return len(os.sched_getaffinity(0))


def test_settings_take_the_smallest_explicit_cap():
    assert _threads.read_settings({})["cap"] == _cores()
    assert _threads.read_settings({})["mode"] == "auto"
    s = _threads.read_settings({"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "1"})
    assert s["cap"] == 1
    assert _threads.read_settings({"DISTNET_BLAS_THREADS": "1"})["cap"] == 1
    assert _threads.read_settings({"MKL_NUM_THREADS": "64"})["cap"] == _cores()
    assert _threads.read_settings({"DISTNET_BLAS_THREADS": "off"})["mode"] == "off"
    assert _threads.read_settings({"DISTNET_BLAS_SMALL_MACS": "10"})["small_macs"] == 10


@pytest.mark.parametrize(
    "var,value",
    [
        ("OPENBLAS_NUM_THREADS", "two"),
        ("OMP_NUM_THREADS", "0"),
        ("DISTNET_BLAS_THREADS", "many"),
        ("DISTNET_BLAS_SMALL_MACS", "-1"),
    ],
)
def test_bad_settings_name_the_variable(var, value):
    with pytest.raises(MXNetError, match=var):
        _threads.read_settings({var: value})


_PROBE = """
import json, numpy as np
from threadpoolctl import threadpool_info
import distnet as mx
from distnet import _threads
def blas():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"][0]
out = {"after_import": blas()}
x = mx.nd.ones((64, 784)); w = mx.nd.ones((128, 784)); b = mx.nd.zeros((128,))
y = mx.nd.FullyConnected(x, w, b, num_hidden=128).asnumpy()
out["after_small_fc"] = blas()
out["value"] = float(y[0, 0])
big = mx.nd.ones((2048, 2048))
mx.nd.FullyConnected(big, big, num_hidden=2048, no_bias=True).asnumpy()
out["after_big_fc"] = blas()
print(json.dumps(out))
"""


def _probe(**env):
    full = {k: v for k, v in os.environ.items() if k not in _VARS}
    full.update(env)
    full["PYTHONPATH"] = ROOT
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=full, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores to differ")
def test_small_products_run_single_threaded_and_import_changes_nothing():
    res = _probe()
    assert res["after_import"] == _cores()  # nothing happens at import time
    assert res["after_small_fc"] == 1  # MLP-sized product: one thread
    assert res["value"] == 784.0
    # a large product gets at most the cores other processes leave idle, never more
    assert 1 <= res["after_big_fc"] <= _cores()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores to differ")
def test_off_leaves_the_libraries_alone():
    res = _probe(DISTNET_BLAS_THREADS="off")
    assert res["after_small_fc"] == res["after_big_fc"] == _cores()


def test_explicit_cap_is_never_exceeded():
    res = _probe(OPENBLAS_NUM_THREADS="1")
    assert res["after_import"] == res["after_small_fc"] == res["after_big_fc"] == 1


def test_large_products_use_only_cores_others_leave_idle(monkeypatch):
    """Big products get cap - (load average - own CPU use), at least 1, re-read each s."""
    clock = {"wall": 100.0, "cpu": 10.0, "load": 1.0}
    monkeypatch.setattr(_threads.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(_threads.time, "process_time", lambda: clock["cpu"])
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (clock["load"], 0.0, 0.0))
    pol = _threads._Policy({"mode": "auto", "cap": 4, "small_macs": 1000})
    try:
        assert pol.big_threads() == 1  # no estimate yet: start conservative
        clock.update(wall=101.0, cpu=11.0, load=1.0)  # only this process runs
        assert pol.big_threads() == 4
        clock.update(wall=101.5, cpu=11.5, load=5.0)  # within the second: kept
        assert pol.big_threads() == 4
        clock.update(wall=102.5, cpu=12.5, load=3.0)  # two busy processes elsewhere
        assert pol.big_threads() == 2
        clock.update(wall=103.5, cpu=13.5, load=9.0)  # overloaded: one thread
        assert pol.big_threads() == 1
    finally:
        pol.set(_cores())


def test_gpu_arrays_are_left_alone():
    class FakeCupy:
        __name__ = "cupy"

    before = _threads._POLICY
    _threads.for_gemm(FakeCupy, 10**12)
    assert _threads._POLICY is before


def test_policy_is_logged_at_debug_level(caplog):
    with caplog.at_level("DEBUG", logger="distnet._threads"):
        pol = _threads._Policy({"mode": "auto", "cap": 2, "small_macs": 123})
    assert pol.blas and "1 thread below 123 multiply-adds, up to 2 above" in caplog.text


def test_without_threadpoolctl_the_libraries_keep_their_defaults(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    with caplog.at_level("WARNING", logger="distnet._threads"):
        pol = _threads._Policy({"mode": "auto", "cap": 2, "small_macs": 123})
    assert pol.small is None and not pol.blas
    assert "pip install threadpoolctl" in caplog.text
