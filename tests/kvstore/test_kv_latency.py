"""Small-key round trips: no request waits for the I/O thread's poll timeout.

The worker's I/O thread sleeps in a poll between requests; a caller queues a request
and then wakes it.  A wake-up lost to a race (the thread reading the queue between the
wake-up and the queueing) leaves the request until the next heartbeat or reply wakes
the thread: tens of milliseconds to a second instead of well under one.  300 round trips
make such a race show: each one is checked, not only the median.
"""

import statistics

import pytest

import kv_harness as harness

pytestmark = pytest.mark.timeout(90)


def test_sequential_small_pushpulls_are_never_left_waiting():
    workers, infra = harness.run_job(
        "kv_latency_jobs:round_trips", 1, 1, timeout=60, extra={"DISTNET_KVSTORE_SHM": "0"}
    )
    assert all(p.code == 0 for p in workers + infra), harness.explain(workers + infra)
    got = workers[0].result
    assert got["last"] == 1.0  # one worker: each round's sum is its own push
    times = sorted(got["times"])
    # a loaded 2-core machine: ~1 ms typical; a lost wake-up costs up to the 1 s heartbeat
    assert statistics.median(times) < 0.05, times[len(times) // 2 :]
    assert times[-3] < 0.5, times[-10:]
