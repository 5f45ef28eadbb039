"""Jobs run under ``mpiexec -n 2`` by test_gradsync_mpi.py; each rank writes a JSON file."""

import json
import os
import sys

import numpy as np

import distnet as mx
from distnet import autograd, gluon


def _data(rank):
    rng = np.random.RandomState(100 + rank)  # every rank its own half batch
    return rng.rand(4, 3).astype(np.float32), rng.rand(4, 2).astype(np.float32)


def trainer(kvstore):
    """One Trainer step per batch from different random initialisations per rank."""
    rank = int(os.environ.get("PMI_RANK", "0"))
    mx.random.seed(7 + rank)  # the ranks start apart
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize(mx.init.Uniform(1.0))
    init = {k: p.data().asnumpy().tolist() for k, p in net.collect_params().items()}
    tr = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5}, kvstore=kvstore)
    x, y = _data(rank)
    for _ in range(2):
        with autograd.record():
            loss = ((net(mx.nd.array(x)) - mx.nd.array(y)) ** 2).sum()
        loss.backward()
        tr.step(4)
    out = {k: p.data().asnumpy().tolist() for k, p in net.collect_params().items()}
    kv = tr._kvstore
    return {
        "store": kv.type if kv else None,
        "n": kv.num_workers if kv else 1,
        "rank": rank,
        "init": init,
        "weights": out,
    }


def module(kvstore):
    """Module.fit for one epoch on per-rank data from different initialisations."""
    rank = int(os.environ.get("PMI_RANK", "0"))
    mx.random.seed(7 + rank)
    x, y = _data(rank)
    data = mx.sym.Variable("data")
    net = mx.sym.LinearRegressionOutput(
        mx.sym.FullyConnected(data, num_hidden=2, name="fc"), name="out"
    )
    mod = mx.mod.Module(net, label_names=["out_label"])
    it = mx.io.NDArrayIter(x, y, batch_size=2, label_name="out_label")
    mod.fit(
        it,
        num_epoch=1,
        kvstore=kvstore,
        optimizer="sgd",
        optimizer_params={"learning_rate": 0.5},
        initializer=mx.init.Uniform(1.0),
    )
    args, _ = mod.get_params()
    kv = mod._kvstore
    return {
        "store": kv.type if kv else None,
        "rank": rank,
        "weights": {k: v.asnumpy().tolist() for k, v in args.items()},
    }


if __name__ == "__main__":
    result = globals()[sys.argv[2]](sys.argv[3])
    with open(os.path.join(sys.argv[1], "rank%d.json" % result["rank"]), "w") as f:
        json.dump(result, f)
