"""A wide embedding model trained with row_sparse gradients on a parameter server.

Synthetic click data: each sample has FIELDS ids out of a VOCAB-row table; its label is 1
when the sum of hidden per-id weights is positive. The model is gluon's
``Embedding(VOCAB, DIM, sparse_grad=True)`` followed by a Dense layer; each step only the
rows of the ids in the batch travel (row_sparse push, lazy update on the servers), however
large the table. Run it in one process or as a job:

    python scripts/examples/sparse_wide_embedding.py --kvstore local
    distnet-launch -n 2 -s 2 python scripts/examples/sparse_wide_embedding.py

Each worker trains on its own shard of the data and logs the loss and accuracy per epoch.
"""

import argparse
import logging
import os

import numpy as np

import distnet as mx
from distnet import autograd, gluon


def make_data(vocab, fields, n, seed=0):
    """``(ids (n, fields) float32, labels (n,) float32)`` of the synthetic task."""
    rng = np.random.RandomState(seed)
    hidden = rng.standard_normal(vocab)
    ids = rng.randint(0, vocab, (n, fields))
    labels = (hidden[ids].sum(axis=1) > 0).astype("float32")
    return ids.astype("float32"), labels


def build(vocab, dim):
    """Embedding (row_sparse gradient) -> flatten -> Dense(1)."""
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Embedding(vocab, dim, sparse_grad=True), gluon.nn.Flatten(), gluon.nn.Dense(1))
    return net


def train(args):
    """Train; returns the per-epoch (loss, accuracy) of this worker's shard."""
    kv = mx.kv.create(args.kvstore)
    ids, labels = make_data(args.vocab, args.fields, args.samples)
    ids, labels = ids[kv.rank :: kv.num_workers], labels[kv.rank :: kv.num_workers]
    mx.random.seed(42)
    net = build(args.vocab, args.dim)
    net.initialize(mx.init.Normal(0.01))
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": args.lr}, kvstore=kv)
    loss_fn = gluon.loss.SigmoidBinaryCrossEntropyLoss()
    it = mx.io.NDArrayIter(ids, labels, args.batch_size, shuffle=True)
    history = []
    for epoch in range(args.epochs):
        it.reset()
        total, correct, count = 0.0, 0, 0
        for batch in it:
            x, y = batch.data[0], batch.label[0]
            with autograd.record():
                out = net(x).reshape(-1)
                loss = loss_fn(out, y)
            loss.backward()
            trainer.step(x.shape[0])
            total += float(loss.sum().asscalar())
            correct += int(((out > 0) == y).sum().asscalar())
            count += x.shape[0]
        history.append((total / count, correct / count))
        logging.info("worker %d epoch %d: loss %.4f accuracy %.3f", kv.rank, epoch, *history[-1])
    return history


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dist = "DMLC_ROLE" in os.environ or "DMLC_PS_ROOT_URI" in os.environ
    p.add_argument("--kvstore", default="dist_sync" if dist else "local")
    p.add_argument("--vocab", type=int, default=100000)
    p.add_argument("--dim", type=int, default=8)
    p.add_argument("--fields", type=int, default=10)
    p.add_argument("--samples", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.05)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return train(p.parse_args(argv))


if __name__ == "__main__":
    main()
