"""Gluon training throughput (samples/s): one iteration = forward under autograd.record,
SoftmaxCrossEntropyLoss, backward, Trainer.step (SGD), batch 64, MNIST-shaped input.

Models: seed 000's MLP (Flatten, Dense 128 relu, Dense 64 relu, Dense 10) hybridized and
imperative, seed 004's LeNet hybridized.
Targets (issue 5), against MXNet 1.9.1 in the same run: MLP hybridized >= 1.5x,
MLP imperative >= 1.0x, LeNet hybridized >= 1.0x.

Usage: python scripts/bench/bench_gluon.py [--mxnet PYTHON] [--seconds 3] [--batch 64]
       [--rounds 3] [--blas-threads N]
"""

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

_TARGETS = {"mlp_hybrid": 1.5, "mlp_imperative": 1.0, "lenet_hybrid": 1.0}


def _mlp(nn):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(
            nn.Flatten(),
            nn.Dense(128, activation="relu"),
            nn.Dense(64, activation="relu"),
            nn.Dense(10),
        )
    return net


def _lenet(nn):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(
            nn.Conv2D(channels=20, kernel_size=5, activation="relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=50, kernel_size=5, activation="relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Flatten(),
            nn.Dense(128, activation="relu"),
            nn.Dense(10),
        )
    return net


def _throughput(mx, make, hybridize, batch, seconds):
    """Samples per second of the training loop, after a warm-up."""
    from_lib = importlib.import_module(mx.__name__ + ".gluon")
    net = make(from_lib.nn)
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    loss_fn = from_lib.loss.SoftmaxCrossEntropyLoss()
    trainer = from_lib.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})
    rng = np.random.RandomState(0)
    batches = [
        (mx.nd.array(rng.rand(batch, 1, 28, 28)), mx.nd.array(rng.randint(0, 10, batch)))
        for _ in range(8)
    ]

    def step(i):
        data, label = batches[i % len(batches)]
        with mx.autograd.record():
            loss = loss_fn(net(data), label)
        loss.backward()
        trainer.step(batch)
        return loss

    for i in range(5):
        step(i)
    mx.nd.waitall()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        loss = step(n)
        n += 1
    loss.wait_to_read()
    mx.nd.waitall()
    return n * batch / (time.perf_counter() - start)


def run(lib, batch, seconds):
    """{case: samples/s} for ``lib`` ('distnet' or 'mxnet')."""
    mx = importlib.import_module(lib)
    return {
        "mlp_hybrid": _throughput(mx, _mlp, True, batch, seconds),
        "mlp_imperative": _throughput(mx, _mlp, False, batch, seconds),
        "lenet_hybrid": _throughput(mx, _lenet, True, batch, seconds),
    }


def _measure(python, lib, args):
    """One fresh process running every case for ``lib``; returns {case: samples/s}."""
    env = dict(os.environ)
    if lib == "distnet" and args.blas_threads:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(args.blas_threads)
    out = subprocess.check_output(
        [
            python,
            __file__,
            "--lib",
            lib,
            "--json",
            "--seconds",
            str(args.seconds),
            "--batch",
            str(args.batch),
        ],
        text=True,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--mxnet",
        metavar="PYTHON",
        help="a Python with MXNet 1.9.1 to run the same loops side by side",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per case")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds of fresh processes; the best is reported "
        "(shared machines are noisy)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="OPENBLAS_NUM_THREADS for the distnet runs (numpy's BLAS); "
        "1 avoids OpenBLAS's spinning threads on a busy machine",
    )
    parser.add_argument("--lib", default="distnet", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(run(args.lib, args.batch, args.seconds)))
        return
    runs = {"distnet": [], "mxnet": []}
    for _ in range(args.rounds):
        runs["distnet"].append(_measure(sys.executable, "distnet", args))
        if args.mxnet:
            runs["mxnet"].append(_measure(args.mxnet, "mxnet", args))
    ours = {case: max(r[case] for r in runs["distnet"]) for case in _TARGETS}
    theirs = (
        {case: max(r[case] for r in runs["mxnet"]) for case in _TARGETS} if args.mxnet else None
    )
    blas = (
        os.environ.get("OPENBLAS_NUM_THREADS", "default")
        if not args.blas_threads
        else args.blas_threads
    )
    print(
        f"batch {args.batch}, best of {args.rounds} rounds of {args.seconds:g} s, "
        f"samples/s; distnet's OpenBLAS threads: {blas}"
    )
    print(
        f"{'case':<16}{'distnet':>12}"
        + (f"{'mxnet':>12}{'ratio':>8}{'target':>8}" if theirs else "")
    )
    for case, value in ours.items():
        line = f"{case:<16}{value:>12.0f}"
        if theirs:
            ratio = value / theirs[case]
            ok = "ok" if ratio >= _TARGETS[case] else "MISS"
            line += f"{theirs[case]:>12.0f}{ratio:>8.2f}{_TARGETS[case]:>7.1f}x {ok}"
        print(line)
    if args.rounds > 1:
        _print_medians(runs)


def _print_medians(runs):
    """The median of the rounds too (each round is a fresh process per library)."""
    print("medians of the rounds:")
    for case in _TARGETS:
        ours = statistics.median(r[case] for r in runs["distnet"])
        line = f"{case:<16}{ours:>12.0f}"
        if runs["mxnet"]:
            theirs = statistics.median(r[case] for r in runs["mxnet"])
            line += f"{theirs:>12.0f}{ours / theirs:>8.2f}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
