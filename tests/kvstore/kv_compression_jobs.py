"""Worker functions for the fp16-compression tests (one process per worker or MPI rank)."""

import numpy as np

import kvstore

# rank 0 and rank 1 push these; each value is exact in float16 except 1/3, 0.1 and 7e4
PUSHED = (
    [1.0, 1 / 3, 70000.0, -2.5, 0.0],
    [2.0**-11, 1 / 3, 0.0, 0.1, -2e-8],
)
SPLIT = 25  # a key split over both servers (DISTNET_KVSTORE_BIGARRAY_BOUND=10)


def fp16_sums():
    """Two rounds of push/pull and one pushpull with {'type': 'fp16'}; rank r pushes
    PUSHED[r] (times the round) and (r + 1) / 3 into the split key."""
    kv = kvstore.create("dist_sync")
    kv.set_gradient_compression({"type": "fp16"})
    r = kv.rank
    kv.init(["g", "split"], [np.zeros(5, np.float32), np.zeros(SPLIT, np.float32)])
    out, split, res = np.empty(5, np.float32), np.empty(SPLIT, np.float32), []
    for rnd in (1, 2):
        kv.push(["g", "split"], [np.float32(rnd) * np.float32(PUSHED[r]), _thirds(r)])
        kv.pull(["g", "split"], [out, split])
        _wait(kv.pull("g", out))
        res.append(out.tolist())
    kv.pushpull("split", _thirds(r), out=split)
    _wait(kv.pull("split", split))
    kv.barrier()
    kv.close()
    return {"rank": r, "res": res, "split": [float(split.min()), float(split.max())]}


def _thirds(r):
    return np.full(SPLIT, (r + 1) / 3, np.float32)


def _wait(handle):
    if handle is not None:  # the parameter server returns handles; MPI pulls are blocking
        handle.wait()
