#!/usr/bin/env python
"""Word-level LSTM language model in Gluon, as MXNet's example/gluon/word_language_model.

Embedding -> ``gluon.rnn.LSTM`` -> Dense decoder, truncated BPTT with the hidden state
carried (detached) across batches, gradient clipping, SGD. Runs alone or as a distributed
job (``distnet-launch -n 2 -s 1 python word_language_model.py --kvstore dist_sync``):
each worker trains on its share of the token stream, the Trainer syncs gradients.
Without ``--data`` the corpus is generated locally (see _toy_corpus.py).
"""

import argparse
import logging
import math
import os
import sys
import time

import numpy as np

import distnet as mx
from distnet import autograd, gluon
from distnet.gluon import nn, rnn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _toy_corpus  # noqa: E402

parser = argparse.ArgumentParser(description="Gluon word-level LSTM language model")
parser.add_argument("--data", default=None, help="text file, one sentence per line")
parser.add_argument("--num-sentences", type=int, default=3000)
parser.add_argument("--emsize", type=int, default=64)
parser.add_argument("--nhid", type=int, default=64)
parser.add_argument("--nlayers", type=int, default=2)
parser.add_argument("--lr", type=float, default=1.0)
parser.add_argument("--clip", type=float, default=0.2)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch_size", type=int, default=16)
parser.add_argument("--bptt", type=int, default=20)
parser.add_argument("--dropout", type=float, default=0.2)
parser.add_argument("--max-batches", type=int, default=0, help="stop epochs early (tests)")
parser.add_argument("--kvstore", default="device")
parser.add_argument("--hybridize", action="store_true")
parser.add_argument("--save", default=None, help="file for the trained parameters")
parser.add_argument("--log-interval", type=int, default=20)
parser.add_argument("--seed", type=int, default=0)


class RNNModel(gluon.Block):
    """Embedding, a multi-layer LSTM and a linear decoder over the vocabulary."""

    def __init__(self, vocab_size, num_embed, num_hidden, num_layers, dropout, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(vocab_size, num_embed)
            self.rnn = rnn.LSTM(num_hidden, num_layers, dropout=dropout, input_size=num_embed)
            self.decoder = nn.Dense(vocab_size, in_units=num_hidden)
        self.num_hidden = num_hidden

    def forward(self, inputs, hidden):
        emb = self.drop(self.encoder(inputs))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        return self.decoder(output.reshape((-1, self.num_hidden))), hidden

    def begin_state(self, *args, **kwargs):
        return self.rnn.begin_state(*args, **kwargs)


def corpus(args, kv):
    """(train ids, validation ids, vocabulary size): this worker's share of the tokens."""
    sents = (
        _toy_corpus.read_lines(args.data)
        if args.data
        else _toy_corpus.sentences(args.num_sentences, seed=args.seed)
    )
    vocab = {}
    ids = [vocab.setdefault(w, len(vocab)) for s in sents for w in s + ["<eos>"]]
    split = len(ids) * 9 // 10
    train, val = np.array(ids[:split]), np.array(ids[split:])
    share = len(train) // kv.num_workers
    return train[kv.rank * share : (kv.rank + 1) * share], val, len(vocab)


def batchify(ids, batch_size):
    """``(T, batch)`` NDArray: the stream cut into ``batch_size`` columns."""
    nbatch = len(ids) // batch_size
    return mx.nd.array(ids[: nbatch * batch_size].reshape(batch_size, nbatch).T)


def batches(source, bptt, limit=0):
    """(data, target) windows of ``bptt`` steps; ``limit`` caps their number."""
    for n, i in enumerate(range(0, source.shape[0] - 1, bptt)):
        if limit and n >= limit:
            return
        seq_len = min(bptt, source.shape[0] - 1 - i)
        yield source[i : i + seq_len], source[i + 1 : i + 1 + seq_len].reshape((-1,))


def evaluate(model, source, args, loss_fn):
    """Mean cross-entropy over ``source``."""
    total, count = 0.0, 0
    hidden = model.begin_state(func=mx.nd.zeros, batch_size=args.batch_size)
    for data, target in batches(source, args.bptt, args.max_batches):
        output, hidden = model(data, hidden)
        total += float(loss_fn(output, target).sum().asscalar())
        count += target.size
    return total / max(count, 1)


def train_epoch(model, trainer, train_data, args, loss_fn, epoch, workers):
    """One pass of truncated BPTT over ``train_data``."""
    total, count, start = 0.0, 0, time.time()
    tokens = 0
    hidden = model.begin_state(func=mx.nd.zeros, batch_size=args.batch_size)
    for i, (data, target) in enumerate(batches(train_data, args.bptt, args.max_batches)):
        hidden = [h.detach() for h in hidden]
        with autograd.record():
            output, hidden = model(data, hidden)
            loss = loss_fn(output, target)
        loss.backward()
        grads = [p.grad() for p in model.collect_params().values()]
        gluon.utils.clip_global_norm(grads, args.clip * args.bptt * args.batch_size)
        # dist_sync sums the workers' gradients: average them over every worker's batch
        trainer.step(args.batch_size * workers)
        total += float(loss.sum().asscalar())
        count += target.size
        tokens += target.size
        if (i + 1) % args.log_interval == 0:
            cur = total / count
            logging.info(
                "[Epoch %d Batch %d] loss %.2f, ppl %.2f, %.0f tokens/s",
                epoch,
                i + 1,
                cur,
                math.exp(cur),
                tokens / (time.time() - start),
            )
            total, count = 0.0, 0
    return tokens / (time.time() - start)


def main():
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)-15s %(message)s")
    np.random.seed(args.seed)
    mx.random.seed(args.seed)
    kv = mx.kv.create(args.kvstore)
    train, val, vocab_size = corpus(args, kv)
    train_data = batchify(train, args.batch_size)
    val_data = batchify(val, args.batch_size)
    model = RNNModel(vocab_size, args.emsize, args.nhid, args.nlayers, args.dropout)
    model.initialize(mx.init.Xavier())
    if args.hybridize:
        model.rnn.hybridize()
    # update_on_kvstore=False: the gradients are clipped between backward and step, so
    # the update must run here on the clipped sum, not on the servers (which in distnet
    # may receive the gradients while backward still runs)
    trainer = gluon.Trainer(
        model.collect_params(),
        "sgd",
        {"learning_rate": args.lr, "momentum": 0, "wd": 0},
        kvstore=kv,
        update_on_kvstore=False,
    )
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    logging.info(
        "%d training tokens on this worker (%d workers), vocabulary %d",
        train.size,
        kv.num_workers,
        vocab_size,
    )
    for epoch in range(args.epochs):
        speed = train_epoch(model, trainer, train_data, args, loss_fn, epoch, kv.num_workers)
        val_loss = evaluate(model, val_data, args, loss_fn)
        logging.info(
            "[Epoch %d] %.0f tokens/s, validation loss %.2f, validation ppl %.2f",
            epoch,
            speed,
            val_loss,
            math.exp(val_loss),
        )
    if args.save and kv.rank == 0:
        model.save_parameters(args.save)


if __name__ == "__main__":
    main()
