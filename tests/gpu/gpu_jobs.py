"""Worker functions of the GPU distributed tests (run by ``distnet.testing.run_distributed``
with this folder on PYTHONPATH)."""

import numpy as np

import distnet as mx

from gpu_util import count, dev, is_device_array

X = np.arange(6, dtype=np.float32).reshape(2, 3)


def device_sync_sums():
    """Worker r pushes (r+1)*X*i from each of its GPUs (two values per worker: both on
    gpu(0) with one GPU), pulls into arrays on its GPUs; reports values and devices."""
    kv = mx.kv.create("dist_device_sync")
    r = kv.rank
    ctxs = [dev(0), dev(1) if count() >= 2 else dev(0)]
    kv.init(3, mx.nd.zeros(X.shape, ctx=ctxs[0]))
    outs = [mx.nd.zeros(X.shape, ctx=c) for c in ctxs]
    rounds = []
    for i in range(1, 3):
        kv.push(3, [mx.nd.array(X * (r + 1) * i, ctx=c) for c in ctxs])
        kv.pull(3, out=outs)
        rounds.append([o.asnumpy().tolist() for o in outs])
    placed = [
        str(o.context) == str(c)
        and (
            c.device_type != "gpu"
            or (is_device_array(o._data) and o._data.device.id == c.device_id)
        )
        for o, c in zip(outs, ctxs)
    ]
    return {"rank": r, "workers": kv.num_workers, "rounds": rounds, "placed": placed}
