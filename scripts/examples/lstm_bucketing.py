#!/usr/bin/env python
"""LSTM language model with BucketingModule, as MXNet's example/rnn/bucketing.

One unrolled graph per sentence-length bucket (``mx.rnn`` cells, ``BucketSentenceIter``),
trained with ``Module.fit``; ``--fused`` uses one ``FusedRNNCell``. Runs alone or as a
distributed job (``distnet-launch -n 2 -s 1 python lstm_bucketing.py --kv-store
dist_sync``): each worker trains on its share of the sentences. Without ``--data`` the
corpus is generated locally (see _toy_corpus.py).
"""

import argparse
import logging
import os
import sys

import numpy as np

import distnet as mx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _toy_corpus  # noqa: E402

parser = argparse.ArgumentParser(description="Train an LSTM language model with buckets")
parser.add_argument("--data", default=None, help="text file, one sentence per line")
parser.add_argument("--num-sentences", type=int, default=2000)
parser.add_argument("--num-layers", type=int, default=2)
parser.add_argument("--num-hidden", type=int, default=64)
parser.add_argument("--num-embed", type=int, default=32)
parser.add_argument("--fused", action="store_true", help="use FusedRNNCell")
parser.add_argument("--num-epochs", type=int, default=3)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--optimizer", default="adam")
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--disp-batches", type=int, default=20)
parser.add_argument("--max-batches", type=int, default=0, help="stop epochs early (tests)")
parser.add_argument("--kv-store", default="local")
parser.add_argument("--model-prefix", default=None)
parser.add_argument("--seed", type=int, default=0)

BUCKETS = [5, 8, 10, 12, 20, 30, 40, 60]
INVALID = 0


def load(args, kv):
    """Encoded train/validation sentences of this worker and the vocabulary."""
    sents = (
        _toy_corpus.read_lines(args.data)
        if args.data
        else _toy_corpus.sentences(args.num_sentences, seed=args.seed)
    )
    # id 0 is the padding label ('\n'), so real words start at 1
    encoded, vocab = mx.rnn.encode_sentences(sents, invalid_label=INVALID, start_label=1)
    split = len(encoded) * 9 // 10
    train, val = encoded[:split], encoded[split:]
    return train[kv.rank :: kv.num_workers], val, vocab


def sym_gen_factory(args, vocab_size):
    """The BucketingModule's ``sym_gen``: one unrolled LSTM graph per bucket length."""
    if args.fused:
        cell = mx.rnn.FusedRNNCell(
            args.num_hidden, num_layers=args.num_layers, mode="lstm", prefix="lstm_"
        )
    else:
        cell = mx.rnn.SequentialRNNCell()
        for i in range(args.num_layers):
            cell.add(mx.rnn.LSTMCell(num_hidden=args.num_hidden, prefix="lstm_l%d_" % i))

    def sym_gen(seq_len):
        data = mx.sym.Variable("data")
        label = mx.sym.Variable("softmax_label")
        embed = mx.sym.Embedding(
            data=data, input_dim=vocab_size, output_dim=args.num_embed, name="embed"
        )
        cell.reset()
        outputs, _ = cell.unroll(seq_len, inputs=embed, merge_outputs=True)
        pred = mx.sym.Reshape(outputs, shape=(-1, args.num_hidden))
        pred = mx.sym.FullyConnected(data=pred, num_hidden=vocab_size, name="pred")
        label = mx.sym.Reshape(label, shape=(-1,))
        pred = mx.sym.SoftmaxOutput(data=pred, label=label, name="softmax")
        return pred, ("data",), ("softmax_label",)

    return cell, sym_gen


class _Limited(mx.io.DataIter):
    """At most ``limit`` batches per epoch of ``base`` (for quick test runs)."""

    def __init__(self, base, limit):
        super().__init__(base.batch_size)
        self.base, self.limit, self.count = base, limit, 0
        self.provide_data, self.provide_label = base.provide_data, base.provide_label
        self.default_bucket_key = base.default_bucket_key

    def reset(self):
        self.base.reset()
        self.count = 0

    def next(self):
        if self.limit and self.count >= self.limit:
            raise StopIteration
        self.count += 1
        return self.base.next()


def main():
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)-15s %(message)s")
    np.random.seed(args.seed)
    mx.random.seed(args.seed)
    kv = mx.kv.create(args.kv_store)
    train, val, vocab = load(args, kv)
    logging.info(
        "%d training sentences on this worker (%d workers), vocabulary %d",
        len(train),
        kv.num_workers,
        len(vocab),
    )
    data_train = mx.rnn.BucketSentenceIter(
        train, args.batch_size, buckets=BUCKETS, invalid_label=INVALID
    )
    data_val = mx.rnn.BucketSentenceIter(
        val, args.batch_size, buckets=BUCKETS, invalid_label=INVALID
    )
    cell, sym_gen = sym_gen_factory(args, len(vocab) + 1)
    model = mx.mod.BucketingModule(
        sym_gen=sym_gen, default_bucket_key=data_train.default_bucket_key, context=mx.cpu()
    )
    model.fit(
        train_data=_Limited(data_train, args.max_batches),
        eval_data=_Limited(data_val, args.max_batches),
        eval_metric=mx.metric.Perplexity(INVALID),
        kvstore=kv,
        optimizer=args.optimizer,
        optimizer_params={"learning_rate": args.lr},
        initializer=mx.init.Xavier(factor_type="in", magnitude=2.34),
        num_epoch=args.num_epochs,
        batch_end_callback=mx.callback.Speedometer(
            args.batch_size, args.disp_batches, auto_reset=False
        ),
    )
    if args.model_prefix and kv.rank == 0:
        arg_params, aux_params = model.get_params()
        sym, _, _ = sym_gen(data_train.default_bucket_key)
        mx.rnn.save_rnn_checkpoint(
            cell, args.model_prefix, args.num_epochs, sym, arg_params, aux_params
        )


if __name__ == "__main__":
    main()
