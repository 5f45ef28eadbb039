"""Worker function for the small-key round-trip test."""

import time

import numpy as np

import kvstore


def round_trips(n=300):
    """Seconds of each of `n` sequential pushpulls of a 1000-float32 key (and the
    last value, to check that every round was summed)."""
    kv = kvstore.create("dist_sync")
    kv.init("k", np.zeros(1000, np.float32))
    v, out, times = np.ones(1000, np.float32), np.empty(1000, np.float32), []
    for _ in range(n):
        t0 = time.perf_counter()
        kv.pushpull("k", v, out=out).wait()
        times.append(time.perf_counter() - t0)
    kv.barrier()
    kv.close()
    return {"times": times, "last": float(out[0])}
