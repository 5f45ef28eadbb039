"""distnet._threads: the BLAS thread policy (never oversubscribe, respect explicit caps)."""

import json
import os
import subprocess
import sys
import time

import numpy as np
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
    assert res["after_small_fc"] == 1  # the first product: one thread until the load is known
    assert res["value"] == 784.0
    # then at most the cores other processes leave idle, never more
    assert 1 <= res["after_big_fc"] <= _cores()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores to differ")
def test_off_leaves_the_libraries_alone():
    res = _probe(DISTNET_BLAS_THREADS="off")
    assert res["after_small_fc"] == res["after_big_fc"] == _cores()


def test_explicit_cap_is_never_exceeded():
    res = _probe(OPENBLAS_NUM_THREADS="1")
    assert res["after_import"] == res["after_small_fc"] == res["after_big_fc"] == 1


def test_threads_for_uses_the_pool_only_when_every_core_is_free():
    # all cores free: every product may use the pool, small ones too
    assert _threads.threads_for(10, cap=4, free=4, small_macs=1000) == 4
    assert _threads.threads_for(10**9, cap=4, free=4, small_macs=1000) == 4
    # some cores busy: small products on one thread, large ones on the free cores
    assert _threads.threads_for(999, cap=4, free=3, small_macs=1000) == 1
    assert _threads.threads_for(1000, cap=4, free=3, small_macs=1000) == 3
    # all busy, or a cap of one (user's OPENBLAS_NUM_THREADS=1, the launcher's split)
    assert _threads.threads_for(10**9, cap=4, free=1, small_macs=1000) == 1
    assert _threads.threads_for(10**9, cap=1, free=1, small_macs=0) == 1
    assert _threads.threads_for(10, cap=1, free=1, small_macs=1000) == 1


def test_free_cores_needs_a_whole_quiet_window_and_drops_on_one_busy_interval():
    assert _threads.free_cores(2, []) == 1  # nothing measured yet: conservative
    assert _threads.free_cores(2, [0.0, 0.0]) == 1  # window not full yet
    assert _threads.free_cores(2, [0.0, 0.05, 0.1]) == 2  # kernel noise: still free
    assert _threads.free_cores(2, [0.0, 0.0, 0.5]) == 1  # one busy interval suffices
    assert _threads.free_cores(2, [0.9, 0.0, 0.0, 0.0]) == 2  # older than the window
    assert _threads.free_cores(8, [2.0, 1.5, 0.1]) == 6  # the busiest interval counts
    assert _threads.free_cores(2, [5.0, 5.0, 5.0]) == 1  # overloaded: never below 1
    assert _threads.free_cores(2, [0.0], window=1, slack=0.0) == 2


def test_others_busy_subtracts_this_process_own_cpu_time():
    # 2 CPUs, 100 ticks each in 1 s; 150 busy ticks = 1.5 cores busy
    before, after = (1000, 4000, 2), (1150, 4200, 2)
    assert _threads.others_busy(before, after, own_seconds=1.0, wall_seconds=1.0) == 0.5
    assert _threads.others_busy(before, after, own_seconds=1.5, wall_seconds=1.0) == 0.0
    # own time measured a little above the ticks (rounding): never negative
    assert _threads.others_busy(before, after, own_seconds=1.6, wall_seconds=1.0) == 0.0
    assert _threads.others_busy(before, before, own_seconds=0.0, wall_seconds=0.2) == 0.0


def test_read_cpu_ticks_sums_only_this_process_cpus(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  30 0 30 300 6 0 0 0 0 0\n"
        "cpu0 10 0 10 100 2 0 0 0 0 0\n"
        "cpu1 10 0 10 100 2 0 0 0 0 0\n"
        "cpu2 10 0 10 100 2 0 0 5 0 0\n"
        "intr 12345 0 0\n"
    )
    # user+system+steal busy; idle and iowait not
    assert _threads.read_cpu_ticks({1, 2}, str(stat)) == (45, 249, 2)
    assert _threads.read_cpu_ticks({7}, str(stat)) is None
    assert _threads.read_cpu_ticks({0}, str(tmp_path / "missing")) is None


def test_read_cpu_ticks_reads_this_machine():
    ticks = _threads.read_cpu_ticks(os.sched_getaffinity(0))
    assert ticks is not None and ticks[2] == _cores() and 0 <= ticks[0] <= ticks[1]


def _fake_load(monkeypatch, clock):
    """Drive _threads' clocks and /proc/stat from `clock`: 2 CPUs, `clock['others']` of
    them kept busy by other processes, this process using `clock['own']` cores."""

    def tick(seconds):
        busy = clock["others"] + clock["own"]
        clock["wall"] += seconds
        clock["cpu"] += clock["own"] * seconds
        clock["busy"] += busy * seconds * 100
        clock["all"] += 2 * seconds * 100

    monkeypatch.setattr(_threads.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(_threads.time, "process_time", lambda: clock["cpu"])
    monkeypatch.setattr(
        _threads, "read_cpu_ticks", lambda cpus, path=None: (clock["busy"], clock["all"], 2)
    )
    return tick


def test_policy_takes_the_pool_when_quiet_and_drops_it_within_a_second(monkeypatch):
    """The wiring: readings every SAMPLE_SECONDS at most, the real BLAS pool set."""
    clock = {"wall": 100.0, "cpu": 10.0, "busy": 0.0, "all": 0.0, "others": 0.0, "own": 1.0}
    tick = _fake_load(monkeypatch, clock)
    pol = _threads._Policy({"mode": "auto", "cap": 2, "small_macs": 10**6})
    monkeypatch.setattr(_threads, "_POLICY", pol)
    small = 64 * 784 * 128 // 10  # below small_macs
    try:
        _threads.for_gemm(np, small)
        assert _threads.current_threads() == 1  # nothing measured yet
        for _ in range(_threads.WINDOW):
            tick(_threads.SAMPLE_SECONDS)
            _threads.for_gemm(np, small)
        assert _threads.current_threads() == 2  # a quiet window: the pool, small or not
        clock["own"] = 2.0  # our own two threads are not "others"
        for _ in range(10):
            tick(0.05)
            _threads.for_gemm(np, small)
        assert _threads.current_threads() == 2
        clock.update(others=1.0, own=1.0)  # another process starts spinning
        waited = 0.0
        while _threads.current_threads() != 1:
            tick(0.05)
            waited += 0.05
            _threads.for_gemm(np, small)
            assert waited < 1.0
        _threads.for_gemm(np, 10**9)  # a large product while a core is busy: 2 - 1
        assert _threads.current_threads() == 1
        clock.update(others=0.0)
        for _ in range(_threads.WINDOW - 1):
            tick(_threads.SAMPLE_SECONDS)
            _threads.for_gemm(np, small)
        assert _threads.current_threads() == 1  # not back before a whole quiet window
        tick(_threads.SAMPLE_SECONDS)
        _threads.for_gemm(np, small)
        assert _threads.current_threads() == 2
    finally:
        pol.set(_cores())


def test_policy_with_cap_one_never_reads_the_load(monkeypatch):
    calls = []
    monkeypatch.setattr(_threads, "read_cpu_ticks", lambda *a: calls.append(a))
    pol = _threads._Policy({"mode": "auto", "cap": 1, "small_macs": 0})
    try:
        assert pol.threads(10**9) == 1 and not calls
    finally:
        pol.set(_cores())


_BUSY_PROBE = """
import json, time, numpy as np
import distnet as mx
from distnet import _threads
x = mx.nd.ones((256, 784)); w = mx.nd.ones((128, 784))
seen, start = [], time.monotonic()
while time.monotonic() - start < 1.5:
    mx.nd.FullyConnected(x, w, num_hidden=128, no_bias=True).wait_to_read()
    seen.append((time.monotonic() - start, _threads.current_threads()))
print(json.dumps(seen))
"""


def test_busy_cores_keep_products_single_threaded():
    """Next to busy loops on every core, the real /proc/stat reading keeps one thread."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(_cores())]
    try:
        time.sleep(0.5)  # the loops spinning before the probe takes its first reading
        full = {k: v for k, v in os.environ.items() if k not in _VARS}
        full["PYTHONPATH"] = ROOT
        out = subprocess.run(
            [sys.executable, "-c", _BUSY_PROBE],
            env=full,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for p in loops:
            p.kill()
            p.wait()
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen and all(threads == 1 for _, threads in seen)


def test_gpu_arrays_are_left_alone():
    class FakeCupy:
        __name__ = "cupy"

    before = _threads._POLICY
    _threads.for_gemm(FakeCupy, 10**12)
    assert _threads._POLICY is before


def test_policy_is_logged_at_debug_level(caplog):
    with caplog.at_level("DEBUG", logger="distnet._threads"):
        pol = _threads._Policy({"mode": "auto", "cap": 2, "small_macs": 123})
    assert pol.blas and "up to 2 threads while the cores are free, 1 below 123" in caplog.text


def test_without_threadpoolctl_the_libraries_keep_their_defaults(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    with caplog.at_level("WARNING", logger="distnet._threads"):
        pol = _threads._Policy({"mode": "auto", "cap": 2, "small_macs": 123})
    assert pol.small is None and not pol.blas
    assert "pip install threadpoolctl" in caplog.text
