#!/usr/bin/env python3
"""ResNet on CIFAR-10 with Gluon, as a distributed data-parallel job reading RecordIO.

Make the RecordIO files with scripts/im2rec.py from a folder per class (for the real
CIFAR-10, save its images as PNG files in such folders), then launch:

    python scripts/im2rec.py --list --recursive data/cifar_train images/train
    python scripts/im2rec.py --encoding .png data/cifar_train images/train
    distnet-launch -n 2 -s 1 python scripts/examples/cifar10_resnet_dist.py \\
        --rec-train data/cifar_train.rec --kv-store dist_sync

Each worker trains on its own part of the .rec file (``ImageRecordIter``'s
``num_parts``/``part_index`` from the kvstore's rank), augments with MXNet's CIFAR recipe
(pad 4, random 32x32 crop, random mirror, per-channel mean/std), trains with a Gluon
Trainer on the kvstore, logs as MXNet's Speedometer and fit.py do, and scores the
whole validation file after each epoch. The networks are
``resnet20`` (the CIFAR ResNet of He et al.: ResNetV1 with three stages of three basic
blocks, 16/32/64 channels, a 3x3 stem) or any ``gluon.model_zoo.vision`` name (built with
``thumbnail=True`` for the ResNets).
"""

import argparse
import logging
import time

import distnet as mx
from distnet import autograd, gluon

MEAN_STD = {
    "mean_r": 125.3,
    "mean_g": 123.0,
    "mean_b": 113.9,
    "std_r": 63.0,
    "std_g": 62.1,
    "std_b": 66.7,
}


def parse_args(argv=None):
    """The command line."""
    p = argparse.ArgumentParser(description="train a ResNet on CIFAR-10 RecordIO files")
    p.add_argument("--rec-train", required=True, help="training .rec (its .idx beside it)")
    p.add_argument("--rec-val", help="validation .rec (default: score the training file)")
    p.add_argument("--network", default="resnet20", help="resnet20 or a model_zoo name")
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64, help="per worker")
    p.add_argument("--num-epochs", type=int, default=1)
    p.add_argument(
        "--max-batches",
        type=int,
        default=0,
        help="stop each epoch after this many batches (0: the whole part)",
    )
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--wd", type=float, default=1e-4)
    p.add_argument("--kv-store", default="dist_sync")
    p.add_argument("--threads", type=int, default=2, help="decoding threads per worker")
    p.add_argument("--disp-batches", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def get_net(name, classes):
    """The network: the CIFAR ResNet-20, or a model-zoo network."""
    vision = gluon.model_zoo.vision
    if name == "resnet20":
        return vision.ResNetV1(
            vision.BasicBlockV1, [3, 3, 3], [16, 16, 32, 64], classes=classes, thumbnail=True
        )
    kwargs = {"thumbnail": True} if name.startswith("resnet") else {}
    return vision.get_model(name, classes=classes, **kwargs)


def data_iter(path, batch_size, kv, train, threads, seed):
    """For training, this worker's part of ``path``, augmented; for scoring, all of it."""
    aug = (
        dict(
            rand_crop=True,
            rand_mirror=True,
            pad=4,
            fill_value=0,
            shuffle=True,
            num_parts=kv.num_workers,
            part_index=kv.rank,
        )
        if train
        else {}
    )
    return mx.io.ImageRecordIter(
        path_imgrec=path,
        path_imgidx=path[:-4] + ".idx",
        data_shape=(3, 32, 32),
        batch_size=batch_size,
        seed=seed,
        preprocess_threads=threads,
        **MEAN_STD,
        **aug,
    )


def evaluate(net, val_iter):
    """Accuracy of ``net`` on every (unpadded) sample of ``val_iter``."""
    metric = mx.metric.Accuracy()
    val_iter.reset()
    for batch in val_iter:
        keep = batch.data[0].shape[0] - batch.pad
        output = net(batch.data[0].as_in_context(mx.cpu()))
        metric.update([batch.label[0][:keep].as_in_context(mx.cpu())], [output[:keep]])
    return metric.get()[1]


def train_epoch(args, net, trainer, train_iter, epoch):
    """One epoch (or ``--max-batches`` batches); returns the training accuracy."""
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    metric = mx.metric.Accuracy()
    train_iter.reset()
    tic = time.time()
    for nbatch, batch in enumerate(train_iter):
        if args.max_batches and nbatch >= args.max_batches:
            break
        # MXNet's iterator returns pinned-memory arrays: move them to the net's context
        data = batch.data[0].as_in_context(mx.cpu())
        label = batch.label[0].as_in_context(mx.cpu())
        with autograd.record():
            output = net(data)
            loss = loss_fn(output, label)
        loss.backward()
        trainer.step(data.shape[0])
        metric.update([label], [output])
        if (nbatch + 1) % args.disp_batches == 0:
            speed = args.disp_batches * args.batch_size / (time.time() - tic)
            logging.info(
                "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec\taccuracy=%f",
                epoch,
                nbatch + 1 - args.disp_batches,
                nbatch + 1,
                speed,
                metric.get()[1],
            )
            tic = time.time()
    return metric.get()[1]


def main(argv=None):
    """Train and score; returns the validation accuracy."""
    args = parse_args(argv)
    kv = mx.kv.create(args.kv_store)
    logging.basicConfig(
        level=logging.INFO,
        force=True,
        format="%(asctime)-15s Node[" + str(kv.rank) + "] %(message)s",
    )
    logging.info("start with arguments %s", args)
    mx.random.seed(args.seed)
    net = get_net(args.network, args.num_classes)
    net.initialize(mx.init.Xavier(magnitude=2))
    net.hybridize()
    trainer = gluon.Trainer(
        net.collect_params(),
        "sgd",
        {"learning_rate": args.lr, "momentum": 0.9, "wd": args.wd},
        kvstore=kv,
    )
    train_iter = data_iter(args.rec_train, args.batch_size, kv, True, args.threads, args.seed)
    val_iter = data_iter(
        args.rec_val or args.rec_train, args.batch_size, kv, False, args.threads, args.seed
    )
    accuracy = 0.0
    for epoch in range(args.num_epochs):
        tic = time.time()
        train_acc = train_epoch(args, net, trainer, train_iter, epoch)
        logging.info("Epoch[%d] Train-accuracy=%f", epoch, train_acc)
        logging.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
        accuracy = evaluate(net, val_iter)
        logging.info("Epoch[%d] Validation-accuracy=%f", epoch, accuracy)
    # the trained weights' sum: equal on every worker of a dist_sync job
    total = sum(
        float(p.data().abs().sum().asscalar())
        for p in net.collect_params().values()
        if p.grad_req != "null"
    )
    logging.info("Trained weights: sum of |w| = %.6f", total)
    return accuracy


if __name__ == "__main__":
    main()
