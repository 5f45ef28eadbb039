"""Worker functions for the multi-process Gluon tests (run by distnet.testing)."""

import numpy as np


def trainer_first_step(update_on_kvstore):
    """Each rank starts from its own random weights; report them, the local gradient of
    the first step and the weights after one and two steps."""
    import distnet as mx
    from distnet import autograd, gluon, nd

    kv = mx.kv.create("dist_sync")
    mx.random.seed(100 + kv.rank)
    np.random.seed(100 + kv.rank)
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize(mx.init.Uniform(1.0))
    trainer = gluon.Trainer(
        net.collect_params(),
        "sgd",
        {"learning_rate": 0.5},
        kvstore=kv,
        update_on_kvstore=update_on_kvstore,
    )
    x = nd.array(np.arange(12).reshape(4, 3) / 10.0)
    out = {"init": net.weight.data().asnumpy().tolist(), "lr": 0.5, "batch": 4}
    for step in ("after", "second"):
        with autograd.record():
            loss = (net(x) ** 2).sum()
        loss.backward()
        if step == "after":
            out["grad"] = net.weight.grad().asnumpy().tolist()
        trainer.step(4)
        out[step] = net.weight.data().asnumpy().tolist()
    out["update_on_kvstore"] = trainer._update_on_kvstore
    return out


def trainer_async_rules():
    """dist_async: update_on_kvstore=False is refused, the default updates on the servers,
    and a changed batch size is refused once the servers hold the optimizer."""
    import distnet as mx
    from distnet import autograd, gluon, nd

    kv = mx.kv.create("dist_async")
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize()
    out = {}
    refused = gluon.Trainer(net.collect_params(), "sgd", kvstore=kv, update_on_kvstore=False)
    try:
        refused.step(1)
    except ValueError as err:
        out["refused"] = str(err)
    trainer = gluon.Trainer(net.collect_params(), "sgd", kvstore=kv)
    for batch in (4, 8):
        with autograd.record():
            loss = net(nd.ones((batch, 3))).sum()
        loss.backward()
        try:
            trainer.step(batch)
        except UserWarning as err:
            out["batch_change"] = str(err)
    out["update_on_kvstore"] = trainer._update_on_kvstore
    kv.barrier()
    return out
