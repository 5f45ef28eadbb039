"""Worker functions of the multi-process Module tests (run in every worker)."""

import numpy as np

BATCH, FEAT, CLASSES, N = 6, 8, 4, 48


def dataset():
    """The whole training set (every worker reads its part of each global batch)."""
    from data_iter import SyntheticData

    return SyntheticData(CLASSES, FEAT, seed=9).get(N)


def mlp(mx):
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(x, num_hidden=10, name="fc1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.FullyConnected(x, num_hidden=CLASSES, name="fc2")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def start_params(mx, mod, seed):
    """Random parameters from `seed` (each worker its own: rank 0's must win)."""
    rs = np.random.RandomState(seed)
    return {k: mx.nd.array(rs.uniform(-0.4, 0.4, v.shape)) for k, v in mod.get_params()[0].items()}


def fit_dist_sync(kvstore="dist_sync", epochs=2):
    """Module.fit on this worker's rows of each global batch of BATCH * num_workers."""
    import distnet as mx

    kv = mx.kv.create(kvstore)
    rank, n = kv.rank, kv.num_workers
    x, y = dataset()
    rows = np.concatenate(
        [np.arange(b + rank * BATCH, b + (rank + 1) * BATCH) for b in range(0, N, BATCH * n)]
    )
    it = mx.io.NDArrayIter(x[rows], y[rows], batch_size=BATCH)
    mod = mx.mod.Module(mlp(mx))
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Zero())
    mod.set_params(start_params(mx, mod, seed=100 + rank), {})
    mod.fit(
        it, num_epoch=epochs, kvstore=kv, optimizer_params={"learning_rate": 0.3, "momentum": 0.9}
    )
    kv.close()
    return {k: v.asnumpy().tolist() for k, v in mod.get_params()[0].items()}


def fit_dist_sync_phases(epochs=1):
    """fit_dist_sync, recording for each kvstore pushpull whether backward was running
    (gradients sent as soon as they are final) and the parameter it was for."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    calls, phase = [], ["outside"]
    pushpull = kv.pushpull

    def spy_pushpull(key, *args, **kwargs):
        calls.append([phase[0], key])
        return pushpull(key, *args, **kwargs)

    kv.pushpull = spy_pushpull
    backward = mx.mod.Module.backward

    def spy_backward(self, out_grads=None):
        phase[0] = "backward"
        try:
            backward(self, out_grads)
        finally:
            phase[0] = "outside"

    mx.mod.Module.backward = spy_backward
    x, y = dataset()
    it = mx.io.NDArrayIter(x[: BATCH * 2], y[: BATCH * 2], batch_size=BATCH)
    mod = mx.mod.Module(mlp(mx))
    mod.fit(it, num_epoch=epochs, kvstore=kv, optimizer_params={"learning_rate": 0.1})
    kv.close()
    return {
        "calls": calls,
        "params": {k: v.asnumpy().tolist() for k, v in mod.get_params()[0].items()},
    }
