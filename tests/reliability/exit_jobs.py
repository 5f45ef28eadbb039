"""Worker code of the reliability tests (run by distnet.testing.run_distributed): short
dist_sync jobs whose functions return right after the last `trainer.step()` /
`mod.update()`, with the kvstore's transfers possibly still queued or in flight."""

import os

import numpy as np

HIDDEN, IN_UNITS, CLASSES, BATCH = 128, 784, 4, 8  # weights > zmq's zero-copy threshold


def _gluon_setup(kvstore):
    import distnet as mx
    from distnet import gluon

    kv = mx.kv.create(kvstore)
    net = gluon.nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(gluon.nn.Dense(HIDDEN, activation="relu"), gluon.nn.Dense(CLASSES))
    mx.random.seed(7)
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(
        net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9}, kvstore=kv
    )
    return kv, net, trainer


def _batch(rng):
    import distnet as mx

    return (
        mx.nd.array(rng.standard_normal((BATCH, IN_UNITS))),
        mx.nd.array(rng.integers(0, CLASSES, BATCH)),
    )


def _gluon_steps(net, trainer, steps, rng):
    from distnet import autograd, gluon

    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(steps):
        x, y = _batch(rng)
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(BATCH)


def train(steps_by_rank, close=False, kvstore="dist_sync"):
    """`steps_by_rank[rank]` Gluon steps; returns right after the last `trainer.step()`
    (its pushes and pulls still in flight), calling `kv.close()` first only if `close`."""
    kv, net, trainer = _gluon_setup(kvstore)
    _gluon_steps(net, trainer, steps_by_rank[kv.rank], np.random.default_rng(kv.rank))
    if close:
        kv.close()
    return {"rank": kv.rank}


def gluon_save_right_after_step(out_dir, steps):
    """Rank 0 saves (save_parameters, export) right after the last step, then again after
    mx.nd.waitall(); returns the file names of both."""
    import distnet as mx

    kv, net, trainer = _gluon_setup("dist_sync")
    net.hybridize()
    _gluon_steps(net, trainer, steps, np.random.default_rng(kv.rank))
    names = {}
    if kv.rank == 0:
        for when in ("now", "waited"):
            if when == "waited":
                mx.nd.waitall()
            names[when] = [
                os.path.join(out_dir, f"{when}.params"),
                os.path.join(out_dir, f"{when}-0003.params"),
            ]
            net.save_parameters(names[when][0])
            net.export(os.path.join(out_dir, when), epoch=3)
    return names


def module_save_right_after_update(out_dir, steps):
    """Module.fit's loop by hand; rank 0 saves a checkpoint right after the last
    `update()`, then again after mx.nd.waitall()."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=HIDDEN, name="fc1")
    act = mx.sym.Activation(fc1, act_type="relu", name="relu1")
    fc2 = mx.sym.FullyConnected(act, num_hidden=CLASSES, name="fc2")
    net = mx.sym.SoftmaxOutput(fc2, name="softmax")
    mod = mx.mod.Module(net, context=mx.cpu())
    mod.bind(data_shapes=[("data", (BATCH, IN_UNITS))], label_shapes=[("softmax_label", (BATCH,))])
    mx.random.seed(7)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(
        kvstore=kv, optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9}
    )
    rng = np.random.default_rng(kv.rank)
    for _ in range(steps):
        x, y = _batch(rng)
        mod.forward_backward(mx.io.DataBatch([x], [y]))
        mod.update()
    names = {}
    if kv.rank == 0:
        for when in ("now", "waited"):
            if when == "waited":
                mx.nd.waitall()
            prefix = os.path.join(out_dir, when)
            mod.save_checkpoint(prefix, 2)
            names[when] = [f"{prefix}-0002.params"]
    return names


def waitall_after_step(steps):
    """After `trainer.step()` then `mx.nd.waitall()`, the parameters' memory (read raw,
    without the accessor) already holds the pulled weights and no transfer is in flight."""
    import distnet as mx

    kv, net, trainer = _gluon_setup("dist_sync")
    _gluon_steps(net, trainer, steps, np.random.default_rng(kv.rank))
    params = list(net.collect_params().values())
    mx.nd.waitall()
    in_flight = [
        p.name for p in params if p.data()._pending is not None and not p.data()._pending.done
    ]
    raw = {p.name: p.data()._data.copy() for p in params}  # no wait: what is there now
    same = all(np.array_equal(raw[p.name], p.data().asnumpy()) for p in params)
    return {
        "in_flight": in_flight,
        "raw_is_final": same,
        "weights": {p.name: raw[p.name].ravel()[:5].tolist() for p in params},
    }


def _undeliverable_push(kv, key):
    """Push `key`, which this worker believes initialised but no server holds: the
    server rejects it, as it would reject any push it cannot apply."""
    import distnet as mx
    from kvstore.ps.client import _Meta, plan_parts

    store = kv._store
    store._meta[key] = _Meta(
        (3,), np.dtype("float32"), plan_parts(key, 3, store.num_servers, 10**6)
    )
    value = mx.nd.ones((3,))
    kv.push(key, value)
    return value


def failed_push_at_exit(key):
    """Rank 1 ends with a push that cannot be delivered and never waits for it."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    kv.init(1, mx.nd.zeros((2,)))
    if kv.rank == 1:
        _undeliverable_push(kv, key)
    return {"rank": kv.rank}


def failed_push_at_waitall(key):
    """Rank 1's waitall() raises for a push that cannot be delivered; seen once, the
    failure is not reported again at exit (the worker exits 0)."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    kv.init(1, mx.nd.zeros((2,)))
    if kv.rank != 1:
        return {"rank": kv.rank}
    _undeliverable_push(kv, key)
    try:
        mx.nd.waitall()
    except mx.base.MXNetError as e:
        first = str(e)
    else:
        first = None
    mx.nd.waitall()  # reported once
    return {"rank": kv.rank, "error": first}


def crash_after_push():
    """Rank 1 raises right after a pushpull whose round rank 0 never joins (rank 0 waits
    at a barrier): its worker must leave the job at once, not wait for that round."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    kv.init(1, mx.nd.zeros((2,)))
    if kv.rank == 1:
        kv.pushpull(1, mx.nd.ones((2,)), out=mx.nd.zeros((2,)))
        raise RuntimeError("the script of rank 1 failed")
    kv.barrier()  # completes once rank 1 has left the job
    return {"rank": kv.rank}
