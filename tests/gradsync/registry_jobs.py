"""Worker functions for test_kvstore_registry.py, run by distnet.testing.run_distributed."""

import os


def dist_names(names):
    """Worker r creates its store by ``names[r]`` (one dist store per process) and sums a
    key with the others."""
    import distnet as mx

    kv = mx.kv.create(names[int(os.environ["RANK"])])
    kv.init(0, mx.nd.zeros((3,)))
    value = mx.nd.ones((3,)) * (kv.rank + 1)
    kv.pushpull(0, value, out=value)
    return {
        "rank": int(kv.rank),
        "type": kv._kind,  # the backend the name selected
        "n": kv.num_workers,
        "sum": value.asnumpy().tolist(),
    }
