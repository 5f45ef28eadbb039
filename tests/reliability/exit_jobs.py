"""Worker code of the exit tests: short dist_sync jobs whose scripts end right after the
last `trainer.step()`, with the kvstore's sends possibly still queued (run by
distnet.testing.run_distributed, as a function through launcher.call or as a script)."""
import sys

import numpy as np


def train(steps_by_rank, close=False, kvstore='dist_sync'):
    """A small Gluon MLP trained with `steps_by_rank[rank]` steps; the function returns
    right after the last `trainer.step()` (no wait, no kv.close() unless `close`)."""
    import distnet as mx
    from distnet import autograd, gluon
    kv = mx.kv.create(kvstore)
    rank = kv.rank
    net = gluon.nn.HybridSequential(prefix='mlp_')
    with net.name_scope():
        net.add(gluon.nn.Dense(128, activation='relu'), gluon.nn.Dense(4))
    mx.random.seed(7)
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1},
                            kvstore=kv)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.default_rng(rank)
    for _ in range(steps_by_rank[rank]):
        x = mx.nd.array(rng.standard_normal((8, 784)))
        y = mx.nd.array(rng.integers(0, 4, 8))
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(8)
    if close:
        kv.close()
    return {'rank': rank}


if __name__ == '__main__':
    train([int(s) for s in sys.argv[1].split(',')], close=sys.argv[2:] == ['close'])
