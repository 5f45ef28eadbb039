"""Gradient communication overlapped with backward, on and off (issue 6, item 4).

A dist_sync job started by distnet-launch (--workers 2 workers, 1 server, this host) trains an MLP
784-1024-1024-10 (1.9M parameters, 7.4 MB of gradients per step) on random data, batch
64, SGD, through Module.fit-style steps (forward, backward, update) or a Gluon Trainer
(record, backward, step). With overlap (the default) each gradient is pushed as soon as
backward has produced it; with DISTNET_GRAD_OVERLAP=0 all are pushed after backward.
Reported: milliseconds per step on rank 0, median over --runs fresh jobs per setting,
settings interleaved run by run.

    python scripts/bench/bench_overlap.py [--runs 3] [--steps 40] [--api module,gluon]
                                          [--workers 2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BATCH, IN, HIDDEN, CLASSES = 64, 784, 1024, 10


def _batches(mx, steps):
    rs = np.random.RandomState(0)
    return [
        (mx.nd.array(rs.rand(BATCH, IN)), mx.nd.array(rs.randint(0, CLASSES, BATCH)))
        for _ in range(min(steps, 8))
    ]


def _module_steps(mx, kv, steps):
    """Seconds per step of forward/backward/update through Module."""
    x = mx.sym.Variable("data")
    for i in range(2):
        x = mx.sym.Activation(
            mx.sym.FullyConnected(x, num_hidden=HIDDEN, name=f"fc{i}"), act_type="relu"
        )
    net = mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(x, num_hidden=CLASSES, name="out"), name="softmax"
    )
    mod = mx.mod.Module(net)
    mod.bind(data_shapes=[("data", (BATCH, IN))], label_shapes=[("softmax_label", (BATCH,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(kvstore=kv, optimizer="sgd", optimizer_params={"learning_rate": 0.01})
    batches = [mx.io.DataBatch([d], [l]) for d, l in _batches(mx, steps)]

    def step(i):
        mod.forward_backward(batches[i % len(batches)])
        mod.update()

    return _timed(step, steps, lambda: mod.get_params())


def _gluon_steps(mx, kv, steps):
    """Seconds per step of record/backward/Trainer.step through Gluon."""
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    net.add(
        nn.Dense(HIDDEN, activation="relu"), nn.Dense(HIDDEN, activation="relu"), nn.Dense(CLASSES)
    )
    net.initialize(mx.init.Xavier())
    net.hybridize()
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01}, kvstore=kv)
    batches = _batches(mx, steps)

    def step(i):
        data, label = batches[i % len(batches)]
        with mx.autograd.record():
            loss = loss_fn(net(data), label)
        loss.backward()
        trainer.step(BATCH)

    return _timed(step, steps, lambda: [p.data().asnumpy() for p in net.collect_params().values()])


def _timed(step, steps, sync, warmup=5):
    for i in range(warmup):
        step(i)
    sync()
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    sync()  # the last pulls have landed
    return (time.perf_counter() - t0) / steps


def worker(api, steps, out_dir):
    """One worker of the job: time the steps, write rank 0's figure to out_dir."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    seconds = (_module_steps if api == "module" else _gluon_steps)(mx, kv, steps)
    rank = kv.rank
    kv.close()
    path = os.path.join(out_dir, f"{rank}.json")
    with open(path + ".tmp", "w") as f:
        json.dump({"ms_per_step": seconds * 1e3}, f)
    os.replace(path + ".tmp", path)


def run_job(api, overlap, steps, workers):
    """ms per step on rank 0 of a fresh job of `workers` workers and 1 server."""
    with tempfile.TemporaryDirectory() as out_dir:
        env = dict(os.environ, DISTNET_GRAD_OVERLAP=overlap)
        cmd = [
            sys.executable,
            "-m",
            "launcher",
            "-n",
            str(workers),
            "-s",
            "1",
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            api,
            "--steps",
            str(steps),
            "--out",
            out_dir,
        ]
        subprocess.run(
            cmd,
            env=env,
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open(os.path.join(out_dir, "0.json")) as f:
            return json.load(f)["ms_per_step"]


def main():
    """Parse arguments; run the jobs interleaved; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--api", default="module,gluon")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.steps, args.out)
        return
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'api':8} {'overlap ms/step':>16} {'after backward':>15} {'gain':>6}")
    for api in args.api.split(","):
        times = {"1": [], "0": []}
        for _ in range(args.runs):
            for overlap in ("1", "0"):
                times[overlap].append(run_job(api, overlap, args.steps, args.workers))
        on, off = (statistics.median(times[k]) for k in ("1", "0"))
        print(f"{api:8} {on:16.2f} {off:15.2f} {off / on:5.2f}x", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
