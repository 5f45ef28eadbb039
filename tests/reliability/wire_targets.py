"""Worker functions of the wire tests, run by tests/kvstore/kv_harness (importable through
PYTHONPATH): each returns JSON-able results."""
import time

import numpy as np

from kvstore import create


def flap_worker(seconds=9.0):
    """Sync rounds with a barrier in each, for `seconds` (rank 0 decides when to stop; the
    others follow its vote); returns the rounds and whether every sum was right."""
    kv = create('dist_sync')
    x = np.arange(100, dtype=np.float32) * (kv.rank + 1)
    want = np.arange(100, dtype=np.float32) * sum(range(1, kv.num_workers + 1))
    kv.init(0, np.zeros_like(x))
    kv.init(1, np.zeros(1, np.float32))
    out, vote, ok, rounds = np.empty_like(x), np.empty(1, np.float32), True, 0
    t0 = time.monotonic()
    while True:
        kv.pushpull(0, x, out=out).wait()
        ok = ok and bool(np.array_equal(out, want))
        kv.barrier()
        rounds += 1
        stop = float(kv.rank == 0 and time.monotonic() - t0 > seconds)
        kv.pushpull(1, np.array([stop], np.float32), out=vote).wait()
        if vote[0] > 0:
            break
    kv.close()
    return {'rounds': rounds, 'ok': ok}
