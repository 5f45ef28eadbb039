"""Worker functions of the multi-process tests that use distnet itself (mx.kv, the real
optimizers on the servers, gluon's Trainer); run by distnet.testing.run_distributed."""

import zlib

import numpy as np

# key -> (shape, dtype); 'big' is split over both servers (the tests set the bound to 20)
OPT_KEYS = {3: ((4, 5), "float32"), "big": ((30,), "float32"), "h": ((6,), "float16")}
OPT_STEPS = 4
SAVE_AT, LOAD_AT = 2, 3  # states saved before step 2's push, loaded before step 3's


def initial(key):
    """The value rank 0 initialises `key` with."""
    shape, dtype = OPT_KEYS[key]
    rng = np.random.default_rng([zlib.crc32(str(key).encode())])
    return rng.uniform(-1, 1, shape).astype(dtype)


def gradient(rank, step, key):
    """Worker `rank`'s gradient of `key` at `step`."""
    shape, dtype = OPT_KEYS[key]
    rng = np.random.default_rng([rank, step, zlib.crc32(str(key).encode())])
    return rng.standard_normal(shape).astype(dtype)


def server_optimizer(name, params, states_file):
    """Servers run optimizer `name`; every step each worker pushes its gradients and
    pulls the weights; rank 0 saves the servers' states before step SAVE_AT and loads them
    back before step LOAD_AT.  Returns the weights after every step."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    rank, keys = kv.rank, list(OPT_KEYS)
    kv.set_optimizer(mx.optimizer.create(name, **params))
    kv.init(keys, [mx.nd.array(initial(k), dtype=OPT_KEYS[k][1]) for k in keys])
    outs = [mx.nd.zeros(OPT_KEYS[k][0], dtype=OPT_KEYS[k][1]) for k in keys]
    hist = []
    for step in range(OPT_STEPS):
        if step in (SAVE_AT, LOAD_AT):
            kv.barrier()
            if rank == 0 and step == SAVE_AT:
                kv.save_optimizer_states(states_file)
            if rank == 0 and step == LOAD_AT:
                kv.load_optimizer_states(states_file)
            kv.barrier()
        kv.push(keys, [mx.nd.array(gradient(rank, step, k), dtype=OPT_KEYS[k][1]) for k in keys])
        kv.pull(keys, out=outs)
        hist.append({str(k): o.asnumpy().tolist() for k, o in zip(keys, outs)})
    kv.close()
    return {"rank": rank, "hist": hist}


# ---- gluon Trainer: 2 workers on halves of a batch == one process on the whole batch ----
BATCH, IN_UNITS, CLASSES, TRAIN_STEPS = 8, 6, 3, 3


def batch():
    """The fixed batch (inputs, labels) every run uses."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((BATCH, IN_UNITS)).astype(np.float32)
    return x, rng.integers(0, CLASSES, BATCH).astype(np.float32)


def train(kvstore, update_on_kvstore, optimizer, params, part=None):
    """A small MLP trained for TRAIN_STEPS steps with gluon's Trainer on rows `part` of
    the batch (all of it by default), gradients normalised by the whole batch size.
    Returns the parameters by name (as lists)."""
    import distnet as mx
    from distnet import autograd, gluon

    mx.random.seed(42)
    net = gluon.nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(gluon.nn.Dense(5, in_units=IN_UNITS, activation="relu"))
        net.add(gluon.nn.Dense(CLASSES, in_units=5))
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(
        net.collect_params(),
        optimizer,
        dict(params),
        kvstore=kvstore,
        update_on_kvstore=update_on_kvstore,
    )
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x, y = batch()
    rows = slice(None) if part is None else slice(*part)
    data, label = mx.nd.array(x[rows]), mx.nd.array(y[rows])
    for _ in range(TRAIN_STEPS):
        with autograd.record():
            loss = loss_fn(net(data), label)
        loss.backward()
        trainer.step(BATCH)
    out = {name: p.data().asnumpy().tolist() for name, p in net.collect_params().items()}
    out["update_on_kvstore"] = trainer._update_on_kvstore
    return out


def trainer_half_batch(update_on_kvstore, optimizer, params):
    """Worker r of 2 trains on half r of the batch through a dist_sync kvstore."""
    import os

    rank = int(os.environ["DMLC_WORKER_ID"])
    half = BATCH // 2
    return train(
        "dist_sync", update_on_kvstore, optimizer, params, (rank * half, (rank + 1) * half)
    )
