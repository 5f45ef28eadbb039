"""Functions that tests/usability run in every worker of a real local job."""

import json
import os

import numpy as np


def profile_worker(folder):
    """Train a few dist_sync steps with the profiler on; return the file it wrote."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    mx.profiler.set_config(profile_all=True, filename=os.path.join(folder, "prof.json"))
    mx.profiler.set_state("run")
    w = mx.nd.ones((4,)) * kv.rank
    kv.init("w", mx.nd.zeros((4,)))
    for _ in range(3):
        kv.push("w", w)
        kv.pull("w", out=w)
        w.asnumpy()
    mx.profiler.set_state("stop")
    return mx.profiler.dump()


def combined_metric_worker():
    """Each worker sees different predictions; the combined accuracy is the job's."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    metric = mx.metric.Accuracy()
    correct = 3 if kv.rank == 0 else 1  # of 4 samples each
    labels = np.zeros(4, dtype="float32")
    preds = np.zeros((4, 2), dtype="float32")
    preds[:correct, 0] = 1
    preds[correct:, 1] = 1
    metric.update([mx.nd.array(labels)], [mx.nd.array(preds)])
    local = metric.get()[1]
    combined = dict(mx.metric.allreduce_metric(metric, kv))
    return json.loads(
        json.dumps({"local": local, "combined": combined["accuracy"], "after": metric.get()[1]})
    )


def combined_metric_with_server_optimizer():
    """The metric key bypasses the servers' optimizer (update_on_kvstore training)."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.5, momentum=0.9))
    metric = mx.metric.create(["acc", "mse"])
    label = np.array([0, 1, 1, 0], dtype="float32")
    pred = np.eye(2, dtype="float32")[[0, 1, 0, 0] if kv.rank == 0 else [1, 1, 1, 1]]
    metric.update([mx.nd.array(label)], [mx.nd.array(pred)])
    out = []
    for _ in range(2):  # the same key, twice (two epochs)
        out.append(mx.metric.allreduce_metric(metric, kv))
    stats = [[m.global_sum_metric, m.global_num_inst] for m in metric.metrics]
    return {"combined": [[list(p) for p in pairs] for pairs in out], "stats": stats}


def fit_with_combined_metric():
    """Module.fit on two workers with different data, logging the combined metric."""
    import logging
    import distnet as mx

    records = []

    class _Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logging.getLogger("distnet").addHandler(_Keep())
    logging.getLogger("distnet").setLevel(logging.INFO)
    kv = mx.kv.create("dist_sync")
    rng = np.random.RandomState(kv.rank)
    x = rng.rand(32, 4).astype("float32")
    y = (x.sum(axis=1) > 2).astype("float32")
    net = mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc"), name="softmax"
    )
    mod = mx.mod.Module(net)
    mod.fit(
        mx.io.NDArrayIter(x, y, 8),
        num_epoch=2,
        kvstore=kv,
        batch_end_callback=mx.callback.log_combined_train_metric(kv),
    )
    return [r for r in records if "Train-accuracy" in r]
