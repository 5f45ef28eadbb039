"""Convolutional training speed: ResNet-20 (CIFAR) through Gluon and MXNet's train_mnist.py
LeNet (tanh) through Module, with MXNet 1.9.1 and PyTorch (CPU) side by side.

* ``resnet20``: CIFAR ResNet v1 (conv 16@3x3, 3 stages x 3 basic blocks of 16/32/64
  channels, global average pooling, dense 10), batch 64 of 3x32x32, hybridized Gluon,
  SoftmaxCrossEntropyLoss, Trainer SGD (momentum 0.9). PyTorch: the same layers, eager.
* ``lenet_tanh``: MXNet's ``example/image-classification`` LeNet (conv 20@5x5 tanh, max
  pool 2, conv 50@5x5 tanh, max pool 2, fc 500 tanh, fc 10, SoftmaxOutput), batch 64 of
  1x28x28, ``Module.forward_backward`` + ``update`` (what ``Module.fit`` runs per batch).
  PyTorch: the same layers, eager.

Each figure is milliseconds per training batch (median of the timed batches). Every
library runs in its own fresh interpreter; rounds are interleaved so that a change of
machine load hits all alike; report the load average with the figures.

Usage: python scripts/bench/bench_cnn.py [--mxnet PYTHON] [--torch PYTHON] [--rounds 3]
           [--steps 10] [--only resnet20,lenet_tanh] [--contended]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

MODELS = ("resnet20", "lenet_tanh")
BATCH = 64


# ------------------------------------------------------------------ networks ----------


def _resnet20(mx):
    """CIFAR ResNet v1 with 20 layers, built from gluon.nn layers (no model zoo)."""
    nn = mx.gluon.nn

    class Block(mx.gluon.HybridBlock):
        def __init__(self, channels, stride, down, **kw):
            super().__init__(**kw)
            with self.name_scope():
                self.body = nn.HybridSequential(prefix="")
                self.body.add(
                    nn.Conv2D(channels, 3, stride, 1, use_bias=False),
                    nn.BatchNorm(),
                    nn.Activation("relu"),
                    nn.Conv2D(channels, 3, 1, 1, use_bias=False),
                    nn.BatchNorm(),
                )
                self.down = None
                if down:
                    self.down = nn.HybridSequential(prefix="")
                    self.down.add(nn.Conv2D(channels, 1, stride, use_bias=False), nn.BatchNorm())

        def hybrid_forward(self, F, x):
            res = x if self.down is None else self.down(x)
            return F.Activation(self.body(x) + res, act_type="relu")

    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(16, 3, 1, 1, use_bias=False), nn.BatchNorm(), nn.Activation("relu"))
        for stage, channels in enumerate((16, 32, 64)):
            for i in range(3):
                stride = 2 if stage and not i else 1
                net.add(Block(channels, stride, stage > 0 and i == 0))
        net.add(nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(10))
    return net


def _lenet_sym(mx):
    """MXNet's example/image-classification/symbols/lenet.py network."""
    sym = mx.sym
    data = sym.Variable("data")
    h = sym.Convolution(data, kernel=(5, 5), num_filter=20)
    h = sym.Pooling(
        sym.Activation(h, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2)
    )
    h = sym.Convolution(h, kernel=(5, 5), num_filter=50)
    h = sym.Pooling(
        sym.Activation(h, act_type="tanh"), pool_type="max", kernel=(2, 2), stride=(2, 2)
    )
    h = sym.Activation(sym.FullyConnected(sym.Flatten(h), num_hidden=500), act_type="tanh")
    return sym.SoftmaxOutput(sym.FullyConnected(h, num_hidden=10), name="softmax")


def _torch_net(torch, model):
    nn = torch.nn
    if model == "lenet_tanh":
        return nn.Sequential(
            nn.Conv2d(1, 20, 5),
            nn.Tanh(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(20, 50, 5),
            nn.Tanh(),
            nn.MaxPool2d(2, 2),
            nn.Flatten(),
            nn.Linear(800, 500),
            nn.Tanh(),
            nn.Linear(500, 10),
        )

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            self.down = (
                None
                if cin == cout
                else nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )
            )

        def forward(self, x):
            res = x if self.down is None else self.down(x)
            return torch.relu(self.body(x) + res)

    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, cout in enumerate((16, 32, 64)):
        for i in range(3):
            layers.append(Block(cin, cout, 2 if stage and not i else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def _data(model, n=4):
    rng = np.random.RandomState(0)
    shape = (BATCH, 3, 32, 32) if model == "resnet20" else (BATCH, 1, 28, 28)
    return [(rng.rand(*shape).astype(np.float32), rng.randint(0, 10, BATCH)) for _ in range(n)]


# ------------------------------------------------------------------ steps --------------


def _gluon_step(mx, batches):
    gluon = mx.gluon
    net = _resnet20(mx)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05, "momentum": 0.9})
    arrays = [(mx.nd.array(x), mx.nd.array(y)) for x, y in batches]

    def step(i):
        x, y = arrays[i % len(arrays)]
        with mx.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(BATCH)
        loss.wait_to_read()

    return step


def _module_step(mx, batches):
    mod = mx.mod.Module(_lenet_sym(mx), context=mx.cpu())
    mod.bind(data_shapes=[("data", (BATCH, 1, 28, 28))], label_shapes=[("softmax_label", (BATCH,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.05})
    data = [mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]) for x, y in batches]
    metric = mx.metric.create("acc")

    def step(i):
        b = data[i % len(data)]
        mod.forward_backward(b)
        mod.update()
        mod.update_metric(metric, b.label)
        mx.nd.waitall()

    return step


def _torch_step(model, batches):
    import torch

    net = _torch_net(torch, model)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9 if model == "resnet20" else 0.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]

    def step(i):
        x, y = tensors[i % len(tensors)]
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    return step


def run(lib, model, steps):
    """Milliseconds per training batch, wall clock and this process's CPU time (all its
    threads): medians of ``steps`` timed steps. On a loaded machine the CPU time still
    compares the libraries' work when each runs one thread."""
    batches = _data(model)
    if lib == "torch":
        step = _torch_step(model, batches)
    else:
        mx = __import__(lib)
        step = (_gluon_step if model == "resnet20" else _module_step)(mx, batches)
    for i in range(3):
        step(i)
    wall, cpu = [], []
    for i in range(steps):
        t, c = time.perf_counter(), time.process_time()
        step(i)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"ms": 1000 * statistics.median(wall), "cpu_ms": 1000 * statistics.median(cpu)}


# ------------------------------------------------------------------ contention ---------


def start_busy_loops(n=2):
    """``n`` busy-loop processes (the "two other processes" of issue 15); kill them with
    ``stop_busy_loops``."""
    code = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def stop_busy_loops(procs):
    """End the processes ``start_busy_loops`` started."""
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def _one(python, lib, model, steps, threads):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    out = subprocess.check_output(
        [
            python,
            os.path.abspath(__file__),
            "--worker",
            lib,
            "--only",
            model,
            "--steps",
            str(steps),
        ],
        env=env,
        text=True,
        timeout=1800,
    )
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    """Command line: interleaved rounds, a markdown table of ms per batch and ratios."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mxnet", metavar="PYTHON")
    p.add_argument("--torch", metavar="PYTHON")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--only", default=",".join(MODELS))
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS/OpenMP threads for every library (0: each one's default)",
    )
    p.add_argument(
        "--contended",
        action="store_true",
        help="run two busy-loop processes during the measurement",
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    models = [m for m in args.only.split(",") if m]
    if args.worker:
        print(json.dumps({m: run(args.worker, m, args.steps) for m in models}))
        return 0
    pythons = {"distnet": sys.executable, "mxnet": args.mxnet, "torch": args.torch}
    pythons = {lib: py for lib, py in pythons.items() if py}
    busy = start_busy_loops() if args.contended else []
    res = {}
    try:
        load = os.getloadavg()[0]
        for _ in range(args.rounds):
            for model in models:
                for lib, py in pythons.items():
                    got = _one(py, lib, model, args.steps, args.threads)[model]
                    for unit, value in got.items():
                        res.setdefault((lib, model, unit), []).append(value)
                    print(
                        f"{model} {lib}: {got['ms']:.1f} ms, CPU {got['cpu_ms']:.1f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        stop_busy_loops(busy)
    print(
        f"load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end"
        + (" (+2 busy loops)" if busy else "")
        + f"; BLAS/OpenMP threads: {args.threads or 'each library default'}"
    )
    _table(res, models, list(pythons))
    return 0


def _table(res, models, libs):
    """Markdown: medians of wall and CPU ms per batch, and how many times faster distnet
    is than each other library (> 1: faster)."""
    others = [lib for lib in libs if lib != "distnet"]
    head = ["model", "unit"] + libs + [f"distnet vs {lib}" for lib in others]
    print("| " + " | ".join(head) + " |")
    print("|---|---|" + "--:|" * (len(head) - 2))
    for model in models:
        for unit in ("ms", "cpu_ms"):
            med = {lib: statistics.median(res[(lib, model, unit)]) for lib in libs}
            cells = [model, "ms/batch" if unit == "ms" else "CPU ms/batch"]
            cells += [f"{med[lib]:.1f}" for lib in libs]
            cells += [f"{med[lib] / med['distnet']:.2f}x" for lib in others]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
