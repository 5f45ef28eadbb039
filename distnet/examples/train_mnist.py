#!/usr/bin/env python3
"""Train an MLP or LeNet on handwritten digits with distnet, alone or as a distributed job.

MXNet's ``example/image-classification/train_mnist.py`` with its flags, on distnet, plus
``--api module|gluon`` (the same network trained through Module.fit or a Gluon loop) and
``--dataset digits|mnist|fashion-mnist``. ``digits`` (the default) is embedded in distnet
and needs no network; MNIST and Fashion-MNIST are read from ``$DISTNET_HOME/datasets``
(``--data-dir`` overrides) and downloaded there when missing.

    python scripts/train_mnist.py --network lenet --api gluon --num-epochs 5
    distnet-launch -n 4 -s 1 python scripts/train_mnist.py --kv-store dist_sync
    mpiexec -n 4 python scripts/train_mnist.py --kv-store dist_sync

Every worker trains on its own equal share of the training set (so all workers run the
same number of batches per epoch) and scores the whole test set after each epoch. Logs are
MXNet's (``Epoch[3] Train-accuracy=0.97``, ``Epoch[3] Validation-accuracy=0.96``,
``Saved checkpoint to "prefix-0004.params"``); on a terminal a progress bar shows the
epoch's batches. Only rank 0 writes checkpoints: the parameters and, beside them, the
optimizer states (``prefix-0004.states``: momentum, Adam's moments, update counts and the
learning-rate schedule's position; in a distributed job the servers' states).
``--load-epoch N`` resumes exactly: training 2 epochs and resuming 2 more gives the same
bits as 4 epochs straight, because the optimizer states are restored and the order of the
samples in epoch ``e`` depends only on ``(--seed, e)`` (ranks without the files start from
rank 0's values, which the kvstore hands to all).

Both APIs name the parameters alike (``fc1_weight``, ``conv1_bias``, ...), so a checkpoint
written with one API loads with the other.
"""

import argparse
import logging
import os
import sys
import time

import numpy as np

import distnet as mx
from distnet.gradsync import kvstore_arg

DATASETS = ("digits", "mnist", "fashion-mnist")
# MXNet's train_mnist.py/fit.py defaults, and those tuned for the small Digits set (1,500
# training images: smaller batches, a higher rate and more decay to reach ~96%).
MXNET_DEFAULTS = {"batch_size": 64, "lr": 0.05, "lr_step_epochs": "10", "wd": 0.0001}
DEFAULTS = {
    "digits": {"batch_size": 32, "lr": 0.1, "lr_step_epochs": "14", "wd": 0.001},
    "mnist": MXNET_DEFAULTS,
    "fashion-mnist": MXNET_DEFAULTS,
}


def parse_args(argv=None):
    """The command line (MXNet's train_mnist/fit.py flags and defaults, plus --api etc.)."""
    p = argparse.ArgumentParser(description="train a digit classifier with distnet")
    p.add_argument(
        "--network", choices=("mlp", "lenet"), default="mlp", help="network (default: %(default)s)"
    )
    p.add_argument(
        "--api",
        choices=("module", "gluon"),
        default="module",
        help="train through Module.fit or a Gluon Trainer loop (default: %(default)s)",
    )
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="digits is embedded (no network); the others are read from "
        "$DISTNET_HOME/datasets/<name> or downloaded there "
        "(default: %(default)s)",
    )
    p.add_argument("--data-dir", help="folder of the MNIST/Fashion-MNIST IDX files")
    p.add_argument("--gpus", help="GPUs to run on, e.g. 0 or 0,1 (default: the CPU)")
    p.add_argument(
        "--kv-store",
        default=None,
        help="kvstore type (default: dist_sync in a distributed job, else device)",
    )
    p.add_argument(
        "--num-epochs", type=int, default=20, help="number of epochs (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size", type=int, help="batch size per worker (default: 32 for digits, else 64)"
    )
    p.add_argument(
        "--lr", type=float, help="initial learning rate (default: 0.1 for digits, else 0.05)"
    )
    p.add_argument(
        "--lr-factor",
        type=float,
        default=0.1,
        help="factor the learning rate is multiplied by at each --lr-step-epochs "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--lr-step-epochs",
        help="epochs at which the learning rate drops, e.g. 30,60 (default: 14 "
        "for digits, else 10)",
    )
    p.add_argument("--optimizer", default="sgd", help="optimizer type (default: %(default)s)")
    p.add_argument("--mom", type=float, default=0.9, help="momentum for sgd (default: %(default)s)")
    p.add_argument("--wd", type=float, help="weight decay (default: 0.001 for digits, else 0.0001)")
    p.add_argument(
        "--disp-batches",
        type=int,
        default=100,
        help="log speed and metrics every this many batches (default: %(default)s)",
    )
    p.add_argument("--model-prefix", help="checkpoint prefix (rank 0 saves every epoch)")
    p.add_argument(
        "--load-epoch",
        type=int,
        help="resume from the checkpoint of this epoch (needs --model-prefix)",
    )
    p.add_argument("--seed", type=int, help="seed of the initialisation and shuffling")
    _add_checkpoint_flags(p)
    _add_metric_flags(p)
    args = p.parse_args(argv)
    for name, value in DEFAULTS[args.dataset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.load_epoch is not None and not args.model_prefix:
        p.error("--load-epoch needs --model-prefix")
    if (args.keep_best or args.resume) and not args.model_prefix:
        p.error("--keep-best and --resume need --model-prefix")
    if args.num_epochs < 1 or args.batch_size < 1:
        p.error("--num-epochs and --batch-size must be at least 1")
    return args


def _add_checkpoint_flags(p):
    """--keep-best and --resume (checkpoints kept by validation accuracy, resumed from the
    newest on disk)."""
    p.add_argument(
        "--keep-best",
        action="store_true",
        help="also keep the checkpoint of the best validation accuracy as "
        "<prefix>-best-NNNN.params (rank 0)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="resume from the newest <prefix>-NNNN.params (start afresh when "
        "there is none; --load-epoch wins when given)",
    )


def _add_metric_flags(p):
    """--metrics-csv and --combine-metrics."""
    p.add_argument(
        "--metrics-csv",
        help="append train/validation metrics to this CSV (rank 0; draw it "
        "with scripts/plot_metrics.py)",
    )
    p.add_argument(
        "--combine-metrics",
        action="store_true",
        help="also log each epoch's train metric over all workers",
    )


def metric_writers(args, kv):
    """(train, validation) mx.callback.CSVLogger of --metrics-csv on rank 0, else Nones."""
    if not args.metrics_csv or kv.rank != 0:
        return None, None
    return (
        mx.callback.CSVLogger(args.metrics_csv, "train", frequent=args.disp_batches),
        mx.callback.CSVLogger(args.metrics_csv, "validation"),
    )


def resume_from_latest(args):
    """With --resume and no --load-epoch, set --load-epoch to the newest checkpoint."""
    if args.resume and args.load_epoch is None:
        args.load_epoch = mx.callback.latest_checkpoint(args.model_prefix)
        if args.load_epoch is not None:
            logging.info("Resuming from the latest checkpoint, epoch %d", args.load_epoch)


def best_checkpoint(args, kv):
    """mx.callback.BestCheckpoint on rank 0 with --keep-best, else None."""
    if args.keep_best and kv.rank == 0:
        return mx.callback.BestCheckpoint(args.model_prefix, metric="accuracy")
    return None


def distributed_job():
    """Whether this process is a worker of a multi-process job (launcher or mpiexec)."""
    from distnet.config import in_job

    return in_job()


# ---------------------------------------------------------------- data -----------------


def load_dataset(name, data_dir=None):
    """(train_x, train_y, test_x, test_y): float32 images (N, 1, H, W) in [0, 1], float32
    labels, read through distnet's Gluon data sets."""
    vision = mx.gluon.data.vision
    out = []
    for train in (True, False):
        if name == "digits":
            ds = vision.Digits(train=train)
        else:
            cls = vision.MNIST if name == "mnist" else vision.FashionMNIST
            ds = cls(root=data_dir, train=train) if data_dir else cls(train=train)
        # one batch of everything: a single vectorised read, not a loop over samples
        images, labels = next(iter(mx.gluon.data.DataLoader(ds, batch_size=len(ds))))
        out.append(images.asnumpy().astype(np.float32).transpose(0, 3, 1, 2) / 255)
        out.append(labels.asnumpy().astype(np.float32))
    return tuple(out)


def shard(x, y, rank, num_workers, seed=0):
    """Worker ``rank``'s share: an equal slice of a fixed shuffle (the remainder of
    ``len(x) / num_workers`` samples is left out, so every worker runs as many batches)."""
    order = np.random.RandomState(seed).permutation(len(x))
    per = len(x) // num_workers
    mine = order[rank * per : (rank + 1) * per]
    return x[mine], y[mine]


def epoch_order(num_samples, seed, epoch):
    """The order of the samples in epoch ``epoch``: a function of (seed, epoch) only, not
    of what an iterator did before, so a run resumed at any epoch sees the same order."""
    return np.random.RandomState([seed, epoch]).permutation(num_samples)


class EpochShuffleIter(mx.io.NDArrayIter):
    """NDArrayIter (last batch padded) whose order in epoch ``e`` is
    ``epoch_order(n, seed, e)``, starting at epoch ``begin`` (Module.fit resets it once
    at the end of every epoch)."""

    def __init__(self, data, label, batch_size, seed, begin):
        self._seed, self._epoch = seed, begin - 1
        super().__init__(data, label, batch_size, shuffle=True)

    def _shuffle_data(self):
        self._epoch += 1
        self._order = epoch_order(self.num_data, self._seed, self._epoch)


class EpochBatches:
    """Batch sampler of the Gluon loop: shuffled batches with the last short batch rolled
    over into the next epoch (DataLoader's ``shuffle=True, last_batch='rollover'``), where
    epoch ``e`` holds the rolled-over tail of ``epoch_order(.., e - 1)`` and then
    ``epoch_order(.., e)``: any epoch's batches follow from (seed, epoch) alone."""

    def __init__(self, num_samples, batch_size, seed, begin):
        if batch_size > num_samples:
            raise ValueError(f"batch size {batch_size} exceeds the {num_samples} samples")
        self._n, self._bs, self._seed, self._epoch = num_samples, batch_size, seed, begin

    def _carried(self, epoch):
        """Samples rolled over into ``epoch``: the tail of the previous epoch's order."""
        count = (epoch * self._n) % self._bs
        if not count:
            return np.zeros(0, np.int64)
        return epoch_order(self._n, self._seed, epoch - 1)[self._n - count :]

    def __iter__(self):
        epoch, self._epoch = self._epoch, self._epoch + 1
        order = np.concatenate([self._carried(epoch), epoch_order(self._n, self._seed, epoch)])
        for start in range(0, len(order) - self._bs + 1, self._bs):
            yield order[start : start + self._bs].tolist()

    def __len__(self):
        return (self._n + self._bs - 1) // self._bs


# -------------------------------------------------------------- networks ---------------


def _lenet_pad(image_size):
    """MXNet's LeNet has 5x5 kernels without padding for 28x28 inputs; smaller images
    (Digits is 8x8) are padded by 2 so both convolutions keep their size."""
    return 0 if image_size >= 28 else 2


def get_symbol(network, num_classes=10, image_size=28):
    """MXNet's symbols/mlp.py and symbols/lenet.py (LeNet padded for small images)."""
    data = mx.sym.Variable("data")
    if network == "mlp":
        net = mx.sym.Flatten(data=data)
        for i, hidden in enumerate((128, 64), 1):
            net = mx.sym.FullyConnected(data=net, name=f"fc{i}", num_hidden=hidden)
            net = mx.sym.Activation(data=net, name=f"relu{i}", act_type="relu")
        net = mx.sym.FullyConnected(data=net, name="fc3", num_hidden=num_classes)
    else:
        pad = _lenet_pad(image_size)
        net = data
        for i, filters in enumerate((20, 50), 1):
            net = mx.sym.Convolution(
                data=net, name=f"conv{i}", kernel=(5, 5), pad=(pad, pad), num_filter=filters
            )
            net = mx.sym.Activation(data=net, act_type="tanh")
            net = mx.sym.Pooling(data=net, pool_type="max", kernel=(2, 2), stride=(2, 2))
        net = mx.sym.Flatten(data=net)
        net = mx.sym.FullyConnected(data=net, name="fc1", num_hidden=500)
        net = mx.sym.Activation(data=net, act_type="tanh")
        net = mx.sym.FullyConnected(data=net, name="fc2", num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name="softmax")


def get_gluon_net(network, num_classes=10, image_size=28):
    """The same networks as HybridBlocks, with the symbols' parameter names."""
    nn = mx.gluon.nn
    net = nn.HybridSequential(prefix="")
    with net.name_scope():
        if network == "mlp":
            net.add(
                nn.Flatten(),
                nn.Dense(128, activation="relu", prefix="fc1_"),
                nn.Dense(64, activation="relu", prefix="fc2_"),
                nn.Dense(num_classes, prefix="fc3_"),
            )
        else:
            pad = _lenet_pad(image_size)
            for i, filters in enumerate((20, 50), 1):
                net.add(
                    nn.Conv2D(
                        filters, kernel_size=5, padding=pad, activation="tanh", prefix=f"conv{i}_"
                    ),
                    nn.MaxPool2D(pool_size=2, strides=2),
                )
            net.add(
                nn.Flatten(),
                nn.Dense(500, activation="tanh", prefix="fc1_"),
                nn.Dense(num_classes, prefix="fc2_"),
            )
    return net


# -------------------------------------------------------------- training ---------------


def contexts(gpus):
    """[mx.gpu(i) ...] for '--gpus 0,1', else [mx.cpu()]."""
    if not gpus:
        return [mx.cpu()]
    return [mx.gpu(int(i)) for i in gpus.split(",") if i.strip()]


def lr_scheduler(args, num_examples, num_workers, begin_epoch):
    """(learning rate, MultiFactorScheduler or None) as MXNet's fit._get_lr_scheduler:
    the rate already decayed for epochs before ``begin_epoch``, steps counted in updates."""
    steps_at = [int(s) for s in args.lr_step_epochs.split(",") if s.strip()]
    lr = args.lr
    for s in steps_at:
        if begin_epoch >= s:
            lr *= args.lr_factor
    epoch_size = max(int(num_examples / args.batch_size / num_workers), 1)
    steps = [epoch_size * (s - begin_epoch) for s in steps_at if s - begin_epoch > 0]
    if not steps or args.lr_factor >= 1:
        return lr, None
    return lr, mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=args.lr_factor, base_lr=lr)


def optimizer_params(args, lr, scheduler):
    """Keyword arguments of the optimizer (momentum only where the optimizer has it)."""
    params = {"learning_rate": lr, "wd": args.wd}
    if scheduler is not None:
        params["lr_scheduler"] = scheduler
    if args.optimizer in ("sgd", "nag", "signum"):
        params["momentum"] = args.mom
    return params


def checkpoint_file(prefix, epoch):
    """MXNet's parameter file name of a checkpoint."""
    return "%s-%04d.params" % (prefix, epoch)


def states_file(prefix, epoch):
    """MXNet's optimizer-states file name of a checkpoint (Module.save_checkpoint's)."""
    return "%s-%04d.states" % (prefix, epoch)


def resumes_states(args):
    """Whether this process restores optimizer states (the checkpoint has them here):
    then the lr schedule continues from the restored update count, as in a straight run."""
    return args.load_epoch is not None and os.path.exists(
        states_file(args.model_prefix, args.load_epoch)
    )


def data_seed(args):
    """Seed of the sample order (0 without --seed, so that resuming is exact anyway)."""
    return args.seed if args.seed is not None else 0


def _make_dir_of(prefix):
    folder = os.path.dirname(prefix)
    if folder:
        os.makedirs(folder, exist_ok=True)


def load_checkpoint(args, rank):
    """(arg_params, aux_params) of ``--load-epoch``, or (None, None): a non-zero rank
    without the files starts from rank 0's values, which the kvstore's init gives all."""
    if args.load_epoch is None:
        return None, None
    fname = checkpoint_file(args.model_prefix, args.load_epoch)
    if rank > 0 and not os.path.exists(fname):
        logging.info("%s is not on this host: starting from rank 0's parameters", fname)
        return None, None
    _, arg_params, aux_params = mx.model.load_checkpoint(args.model_prefix, args.load_epoch)
    logging.info("Loaded model %s", fname)
    return arg_params, aux_params


def _module(args, kv, image_size):
    """The Module to train: loaded with its optimizer states when resuming from files on
    this host (so fit restores them), else fresh (parameters from --load-epoch or rank 0)."""
    if resumes_states(args):
        mod = mx.mod.Module.load(
            args.model_prefix,
            args.load_epoch,
            load_optimizer_states=True,
            context=contexts(args.gpus),
        )
        logging.info(
            "Loaded model %s and its optimizer states",
            checkpoint_file(args.model_prefix, args.load_epoch),
        )
        return mod, None, None
    if args.load_epoch is not None:
        logging.warning(
            "%s is not on this host: the optimizer starts afresh",
            states_file(args.model_prefix, args.load_epoch),
        )
    arg_params, aux_params = load_checkpoint(args, kv.rank)
    mod = mx.mod.Module(get_symbol(args.network, 10, image_size), context=contexts(args.gpus))
    return mod, arg_params, aux_params


def fit_module(args, kv, data, progress):
    """Train with Module.fit, as MXNet's example/image-classification/common/fit.py;
    checkpoints carry the optimizer states (MXNet's save_optimizer_states=True)."""
    train_x, train_y, test_x, test_y = data
    begin = args.load_epoch or 0
    train = EpochShuffleIter(train_x, train_y, args.batch_size, data_seed(args), begin)
    val = mx.io.NDArrayIter(test_x, test_y, eval_batch_size(len(test_x), args.batch_size))
    mod, arg_params, aux_params = _module(args, kv, train_x.shape[-1])
    lr, scheduler = lr_scheduler(
        args, len(train_x) * kv.num_workers, kv.num_workers, 0 if resumes_states(args) else begin
    )
    batch_cbs = [mx.callback.Speedometer(args.batch_size, args.disp_batches)]
    train_csv, val_csv = metric_writers(args, kv)
    batch_cbs += [cb for cb in (train_csv,) if cb]
    if args.combine_metrics:
        batch_cbs.append(mx.callback.log_combined_train_metric(kv))
    if progress:
        batch_cbs.append(progress)
    epoch_cbs = []
    if args.model_prefix and kv.rank == 0:
        _make_dir_of(args.model_prefix)
        epoch_cbs.append(
            mx.callback.module_checkpoint(mod, args.model_prefix, save_optimizer_states=True)
        )
    if progress:
        epoch_cbs.append(progress.epoch_end)
    best = best_checkpoint(args, kv)
    mod.fit(
        train,
        eval_data=val,
        eval_metric="acc",
        kvstore=kvstore_arg(kv),
        eval_end_callback=[cb for cb in (best, val_csv) if cb],
        optimizer=args.optimizer,
        optimizer_params=optimizer_params(args, lr, scheduler),
        initializer=mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2),
        arg_params=arg_params,
        aux_params=aux_params,
        allow_missing=True,
        begin_epoch=begin,
        num_epoch=args.num_epochs,
        batch_end_callback=batch_cbs,
        epoch_end_callback=epoch_cbs,
    )
    # Module.score counts the padding of the last batch (as MXNet does); predict drops it,
    # so this is the accuracy on exactly the test set.
    predicted = mod.predict(val).asnumpy().argmax(axis=1)
    return float((predicted == test_y).mean())


def eval_batch_size(num_samples, batch_size, largest=1000):
    """A batch size that divides the test set (at most `largest`), so that no batch is
    padded: Module.score counts a padded batch's repeated samples, as MXNet does. Falls
    back to `batch_size` when the only divisors are small."""
    for size in range(min(num_samples, largest), 0, -1):
        if num_samples % size == 0:
            return size if size >= min(batch_size, num_samples) else batch_size
    return batch_size


def evaluate(net, x, y, batch_size, ctx):
    """Accuracy of a Gluon net on arrays (batched, on the first context)."""
    metric = mx.metric.Accuracy()
    for start in range(0, len(x), batch_size):
        data = mx.nd.array(x[start : start + batch_size], ctx=ctx)
        label = mx.nd.array(y[start : start + batch_size], ctx=ctx)
        metric.update([label], [net(data)])
    return metric.get()[1]


def _gluon_setup(args, kv, data):
    """(net, trainer, contexts, begin epoch) for the Gluon loop, resumed if asked."""
    train_x = data[0]
    ctx = contexts(args.gpus)
    net = get_gluon_net(args.network, 10, train_x.shape[-1])
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2), ctx=ctx)
    begin = args.load_epoch or 0
    if args.load_epoch is not None:
        fname = checkpoint_file(args.model_prefix, args.load_epoch)
        if kv.rank == 0 or os.path.exists(fname):
            net.load_parameters(fname, ctx=ctx)
            logging.info("Loaded model %s", fname)
    net.hybridize()
    resume = resumes_states(args)
    lr, scheduler = lr_scheduler(
        args, len(train_x) * kv.num_workers, kv.num_workers, 0 if resume else begin
    )
    # a list, in declaration order: the order Module gives its optimizer (a dict would be
    # taken in name order, as MXNet does), so optimizer states of either API resume the other
    trainer = mx.gluon.Trainer(
        list(net.collect_params().values()),
        args.optimizer,
        optimizer_params(args, lr, scheduler),
        kvstore=kvstore_arg(kv),
    )
    if resume:
        # load_states starts the kvstore, which hands the optimizer to the servers in a
        # distributed job: give it now the rescale_grad that step() will set
        trainer.optimizer.rescale_grad = 1.0 / (args.batch_size * kv.num_workers)
        trainer.load_states(states_file(args.model_prefix, args.load_epoch))
        logging.info("Loaded optimizer states %s", states_file(args.model_prefix, args.load_epoch))
    return net, trainer, ctx, begin


def fit_gluon(args, kv, data, progress):
    """Train with a Gluon loop that logs and checkpoints as Module.fit does."""
    train_x, train_y, test_x, test_y = data
    net, trainer, ctx, begin = _gluon_setup(args, kv, data)
    best = best_checkpoint(args, kv)
    train_csv, val_csv = metric_writers(args, kv)
    gluon, autograd = mx.gluon, mx.autograd
    loader = gluon.data.DataLoader(
        gluon.data.ArrayDataset(mx.nd.array(train_x), mx.nd.array(train_y)),
        batch_sampler=EpochBatches(len(train_x), args.batch_size, data_seed(args), begin),
    )
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    metric = mx.metric.Accuracy()
    speedometer = mx.callback.Speedometer(args.batch_size, args.disp_batches)
    for epoch in range(begin, args.num_epochs):
        tic = time.time()
        metric.reset()
        for nbatch, (x, y) in enumerate(loader):
            xs = gluon.utils.split_and_load(x, ctx, even_split=False)
            ys = gluon.utils.split_and_load(y, ctx, even_split=False)
            with autograd.record():
                outs = [net(part) for part in xs]
                losses = [loss_fn(o, t) for o, t in zip(outs, ys)]
            autograd.backward(losses)
            # The kvstore sums the workers' gradients: scale by the global batch.
            trainer.step(x.shape[0] * kv.num_workers)
            metric.update(ys, outs)
            end_of_batch = nbatch + 1 == len(loader)  # noqa: F841 (for Speedometer)
            param = mx.model.BatchEndParam(epoch, nbatch, metric, locals())
            speedometer(param)
            for callback in (train_csv, progress):
                if callback:
                    callback(param)
        _end_of_epoch(args, kv, net, trainer, metric, epoch, tic, progress)
        accuracy = evaluate(net, test_x, test_y, args.batch_size, ctx[0])
        logging.info("Epoch[%d] Validation-accuracy=%f", epoch, accuracy)
        _gluon_epoch_extras(args, kv, metric, epoch, accuracy, val_csv)
        if best:
            best.update(epoch, [("accuracy", accuracy)], net.export)
    return evaluate(net, test_x, test_y, args.batch_size, ctx[0])


def _gluon_epoch_extras(args, kv, metric, epoch, accuracy, val_csv):
    """--combine-metrics and --metrics-csv at the end of a Gluon epoch."""
    if args.combine_metrics:
        for name, value in mx.metric.allreduce_metric(metric, kv):
            logging.info(
                "Epoch[%d] Train-%s=%f (all %d workers)", epoch, name, value, kv.num_workers
            )
    if val_csv:
        val_csv.log(epoch, [("accuracy", accuracy)])


def _end_of_epoch(args, kv, net, trainer, metric, epoch, tic, progress):
    """MXNet's end-of-epoch lines; rank 0 exports the checkpoint of epoch+1 with the
    trainer's states."""
    for name, value in metric.get_global_name_value():  # Speedometer resets the local one
        logging.info("Epoch[%d] Train-%s=%f", epoch, name, value)
    logging.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
    if args.model_prefix and kv.rank == 0:
        _make_dir_of(args.model_prefix)
        net.export(args.model_prefix, epoch + 1)
        logging.info('Saved checkpoint to "%s"', checkpoint_file(args.model_prefix, epoch + 1))
        trainer.save_states(states_file(args.model_prefix, epoch + 1))
        logging.info('Saved optimizer state to "%s"', states_file(args.model_prefix, epoch + 1))
    if progress:
        progress.epoch_end(epoch)


# -------------------------------------------------------------- display ----------------


def make_progress(rank, num_epochs, batches):
    """mx.callback.TqdmProgress on rank 0 when stderr is a terminal (and tqdm is
    installed: ``pip install 'distnet-mx[progress]'``), else None."""
    from distnet._loggers import progress_wanted

    if rank != 0 or not progress_wanted(sys.stderr):
        return None
    try:
        return mx.callback.TqdmProgress(total=batches, num_epoch=num_epochs, rank=rank)
    except mx.MXNetError:
        return None


def setup_logging(rank, progress):
    """MXNet's fit.py log format (``Node[rank]``), through the progress bar if shown."""
    fmt = "%(asctime)-15s Node[" + str(rank) + "] %(message)s"
    handlers = [progress.handler(fmt)] if progress else None
    logging.basicConfig(level=logging.INFO, format=fmt, handlers=handlers, force=True)


def main(argv=None):
    """Parse flags, set up the kvstore, data and logging, train; returns the test accuracy."""
    args = parse_args(argv)
    if args.kv_store is None:
        args.kv_store = "dist_sync" if distributed_job() else "device"
    kv = mx.kv.create(args.kv_store)
    if args.seed is not None:
        mx.random.seed(args.seed + kv.rank)
        np.random.seed(args.seed + kv.rank)
    data = load_dataset(args.dataset, args.data_dir)
    data = shard(data[0], data[1], kv.rank, kv.num_workers) + data[2:]
    # Module pads the last batch; the Gluon loop rolls it over into the next epoch
    per_epoch = len(data[0]) / args.batch_size
    batches = int(np.ceil(per_epoch)) if args.api == "module" else int(per_epoch)
    progress = make_progress(kv.rank, args.num_epochs, batches)
    setup_logging(kv.rank, progress)
    resume_from_latest(args)
    logging.info("start with arguments %s", args)
    logging.info(
        "%s: %d training samples on this worker (%d workers), %d test samples",
        args.dataset,
        len(data[0]),
        kv.num_workers,
        len(data[2]),
    )
    fit = fit_module if args.api == "module" else fit_gluon
    accuracy = fit(args, kv, data, progress)
    logging.info("Test-accuracy=%f", accuracy)
    return accuracy


if __name__ == "__main__":
    main()
