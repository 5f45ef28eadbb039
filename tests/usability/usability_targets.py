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
    correct = 3 if kv.rank == 0 else 1          # of 4 samples each
    labels = np.zeros(4, dtype="float32")
    preds = np.zeros((4, 2), dtype="float32")
    preds[:correct, 0] = 1
    preds[correct:, 1] = 1
    metric.update([mx.nd.array(labels)], [mx.nd.array(preds)])
    local = metric.get()[1]
    combined = dict(mx.metric.allreduce_metric(metric, kv))
    return json.loads(json.dumps({"local": local, "combined": combined["accuracy"],
                                  "after": metric.get()[1]}))
