"""Parameter-server kv_jobs: 1 scheduler, 2 servers, 3 workers on 127.0.0.1 (subprocesses)."""

import hashlib
import os
import time

import numpy as np
import pytest

import kv_harness as harness
from kv_jobs import BIG, BIG_SHM, X, order_sensitive

pytestmark = pytest.mark.timeout(90)


def _ok(workers, infra):
    assert all(p.code == 0 for p in workers + infra), harness.explain(workers + infra)
    return [p.result for p in workers]


def test_sync_sums_split_keys_lists_errors_and_early_close():
    res = _ok(
        *harness.run_job(
            "kv_jobs:sync_sums", 3, 2, timeout=60, extra={"DISTNET_KVSTORE_BIGARRAY_BOUND": "10"}
        )
    )
    for r, got in enumerate(res):
        assert got["rank"] == r and got["n"] == 3
        for i, out in enumerate(got["res"], 1):  # n(n+1)/2 * X each round
            np.testing.assert_array_equal(out, 6 * X * i)
        assert got["w"] == [[9.0] * 4, [9.0] * 4]  # each worker pushes a list (1 + 2), 3 workers
        # 'big' (25 > bound 10) is split over both servers; sum of (r+1)*arange
        np.testing.assert_array_equal(got["big"], 6 * np.arange(BIG, dtype=np.float32))
        np.testing.assert_array_equal(got["x3"], 3 * X)
        assert got["wrong"] == (
            "push of key 3: stored shape (2, 3) dtype float32, given shape (4,) dtype float32"
        )
    # worker 2 closed; the next round sums workers 0 and 1 only
    for got in res[:2]:
        np.testing.assert_array_equal(got["late"], 2 * X)


@pytest.mark.parametrize("shm", ["1", "0"], ids=["shared_memory", "zmq_only"])
def test_sums_are_in_rank_order_whatever_the_arrival_order(shm):
    res = _ok(
        *harness.run_job(
            "kv_jobs:ordered_sums",
            3,
            2,
            timeout=60,
            extra={"DISTNET_KVSTORE_BIGARRAY_BOUND": "100000", "DISTNET_KVSTORE_SHM": shm},
        )
    )
    small = [order_sensitive(r, 5) for r in range(3)]
    big = [order_sensitive(r, BIG_SHM) for r in range(3)]
    arrival = (big[2] + big[1]) + big[0]  # rank 2 pushes first, rank 0 last
    assert not np.array_equal((big[0] + big[1]) + big[2], arrival)  # the order shows
    for got in res:
        assert len(got["res"]) == 4
        for i, (s, b) in enumerate(got["res"], 1):
            m = np.float32(i)
            np.testing.assert_array_equal(s, (small[0] * m + small[1] * m) + small[2] * m)
            want = (big[0] * m + big[1] * m) + big[2] * m
            assert b == hashlib.sha256(want.tobytes()).hexdigest()
        assert got["dir_left"] is False  # the worker's /dev/shm dir is gone
        if shm == "1":
            assert got["shm"] == [True, True] and len(got["segments"]) == 2
        else:
            assert got["shm"] == [False, False] and got["segments"] == []


def test_server_side_sgd_states_saved_and_loaded(tmp_path):
    res = _ok(
        *harness.run_job(
            "kv_jobs:server_sgd", 2, 2, timeout=60, extra={"KV_TEST_DIR": str(tmp_path)}
        )
    )
    w, m = X.copy(), np.zeros_like(X)
    g = np.full_like(X, 0.5) * 1 + np.full_like(X, 0.5) * 2  # rank order sum
    expect, saved = [], None
    for i in range(4):
        if i == 2:
            saved = m.copy()
        if i == 3:
            m = saved.copy()
        m = m * np.float32(0.9) - np.float32(0.1) * g
        w = w + m
        expect.append(w.copy())
    for got in res:
        np.testing.assert_allclose(got["hist"], expect, rtol=1e-6)
        # round 4 reused round 3's momentum: the same step twice
        hist = np.array(got["hist"])
        np.testing.assert_allclose(hist[3] - hist[2], hist[2] - hist[1], rtol=1e-5)
        assert got["h"] == _fp16_master_reference().tolist()


def _fp16_master_reference():
    g = (np.full(3, 1e-3, np.float16) + np.full(3, 1e-3, np.float16)).astype(np.float32)
    master, m = np.ones(3, np.float32), np.zeros(3, np.float32)
    for _ in range(5):
        m *= 0.9
        m -= 0.1 * (1.0 * g + 0.0 * master)
        master += m
    assert master.astype(np.float16)[0] != np.float16(1.0)
    return master.astype(np.float16)


def test_async_applies_every_push():
    res = _ok(*harness.run_job("kv_jobs:async_pushes", 2, 1, timeout=60))
    for got in res:
        assert got == [-15.0] * 5  # 5 pushes of 1 and 5 of 2, lr 1 (small and big key)


def _two_bit_reference(num_workers, rounds, size, t=0.5):
    residual = [np.zeros(size, np.float32) for _ in range(num_workers)]
    rngs = [np.random.default_rng(r) for r in range(num_workers)]
    out = []
    for _ in range(rounds):
        total = np.zeros(size, np.float32)
        for r in range(num_workers):
            residual[r] += rngs[r].uniform(-1, 1, size).astype(np.float32)
            q = np.where(residual[r] >= t, t, np.where(residual[r] <= -t, -t, 0)).astype(np.float32)
            residual[r] -= q
            total += q
        out.append(total)
    return out


def test_two_bit_compression_matches_numpy_reference():
    res = _ok(*harness.run_job("kv_jobs:compressed", 2, 1, timeout=60))
    expect = _two_bit_reference(2, 4, 7)
    for got in res:
        np.testing.assert_array_equal(got, expect)


def test_killed_server_is_named_in_the_error():
    env, infra = harness.start_job(2, 2)
    workers = harness.start_workers(env, "kv_jobs:wait_for_death", 2)
    time.sleep(3.0)
    os.killpg(infra[2].popen.pid, 9)  # server 1
    deadline = time.monotonic() + 40
    for p in workers + infra:
        p.finish(deadline)
    for w in workers:
        assert w.result and w.result["error"], harness.explain(workers + infra)
        assert "server 1 (tcp://127.0.0.1:" in w.result["error"]
        assert "stopped responding" in w.result["error"]
        assert w.result["after"] < 20
    assert infra[0].code == 1 and "server 1" in infra[0].err


def test_fuzzed_and_unauthenticated_messages_leave_server_serving():
    workers, infra = harness.run_job("kv_jobs:fuzz", 1, 1, timeout=60)
    res = _ok(workers, infra)
    np.testing.assert_array_equal(res[0], X)
    assert "wrong or missing job token" in infra[1].err


def test_user_script_in_every_role_serves_and_exits():
    """MXNet's tools/launch.py runs the training script as scheduler and servers too."""
    workers, infra = harness.run_job("kv_jobs:compressed", 2, 1, timeout=60, user_script=True)
    assert all(p.code == 0 for p in workers + infra), harness.explain(workers + infra)
    assert all(p.result is None for p in infra)  # the roles never returned to the script
    expect = _two_bit_reference(2, 4, 7)
    for p in workers:
        np.testing.assert_array_equal(p.result, expect)


def test_through_distnet_launch():
    testing = pytest.importorskip("distnet.testing")
    if not hasattr(testing, "run_distributed"):
        pytest.skip("launcher not available")
    res = testing.run_distributed(
        "kv_jobs:sync_sums",
        3,
        num_servers=2,
        timeout=60,
        env={"PYTHONPATH": harness.HERE, "DISTNET_KVSTORE_BIGARRAY_BOUND": "10"},
    )
    # services may be stopped by the launcher's SIGTERM once the workers are done (by design)
    assert res.returncode == 0, res.output
    assert all(p.returncode == 0 for p in res if p.role == "worker"), [p.output for p in res]
    results = sorted((p.result for p in res if p.result), key=lambda r: r["rank"])
    assert [r["rank"] for r in results] == [0, 1, 2]
    for got in results:
        np.testing.assert_array_equal(got["res"][2], 18 * X)
