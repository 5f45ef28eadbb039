"""GPU training throughput (issue 9): samples/s of training steps of the seed MLP
(Flatten, Dense 128 relu, Dense 64 relu, Dense 10) and LeNet (Conv 20x5x5 relu, max pool
2, Conv 50x5x5 relu, max pool 2, Dense 128 relu, Dense 10) on one GPU, batch 64 and 256,
side by side with PyTorch eager on the same GPU when torch imports.

One step = forward, softmax cross-entropy, backward and an SGD update. distnet runs it
through Gluon (hybridized, autograd.record, Trainer.step) and Module (a bound Symbol,
forward_backward then update). Each figure is the median of --runs timed runs of --steps
steps after a warm-up, the GPU synchronised before the clock stops. The batch is made
once and kept on the GPU for every framework, so the figures measure the training step,
not data loading. PyTorch runs with TF32 off, so both compute in full float32.
Target: distnet >= 0.5x PyTorch eager.

Usage: python scripts/bench/bench_gpu.py [--batch 64 256] [--runs 5] [--steps 50]
                                         [--device 0] [--no-torch] [--json]
Without a usable GPU it exits with status 2 and says why.
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np

TARGET = 0.5
MODELS = ("mlp", "lenet")
APIS = ("gluon", "module")


def _gpu_problem(device):
    """Why the benchmark cannot run on GPU ``device`` (None when it can)."""
    from distnet import backend

    cp = backend.cupy_or_none()
    if cp is None:
        return (
            f"no usable CUDA GPU: cupy is unavailable ({backend._cupy_error}). Install "
            "GPU support with pip install -e '.[gpu]' (cupy-cuda12x; cupy-cuda13x for "
            "CUDA 13) on a machine with an NVIDIA GPU; see docs/gpu.md"
        )
    count = cp.cuda.runtime.getDeviceCount()
    if not 0 <= device < count:
        return f"GPU {device} was asked for but {count} GPU(s) are visible"
    return None


def _device_name(device):
    from distnet import backend

    props = backend.require_cupy().cuda.runtime.getDeviceProperties(device)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _batch(batch):
    rs = np.random.RandomState(0)
    return (
        rs.rand(batch, 1, 28, 28).astype(np.float32),
        rs.randint(0, 10, batch).astype(np.float32),
    )


def _timed(step, sync, steps, runs, warmup):
    """Median steps per second over ``runs`` timed runs of ``steps`` steps."""
    for _ in range(warmup):
        step()
    sync()
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates)


# ---------------------------------------------------------------- distnet -------------
def _gluon_net(nn, model):
    net = nn.HybridSequential()
    with net.name_scope():
        if model == "mlp":
            net.add(
                nn.Flatten(),
                nn.Dense(128, activation="relu"),
                nn.Dense(64, activation="relu"),
                nn.Dense(10),
            )
        else:
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


def _symbol(mx, model):
    x = mx.sym.Variable("data")
    if model == "lenet":
        for i, filters in enumerate((20, 50)):
            x = mx.sym.Convolution(x, kernel=(5, 5), num_filter=filters, name=f"conv{i}")
            x = mx.sym.Activation(x, act_type="relu", name=f"relu_c{i}")
            x = mx.sym.Pooling(x, pool_type="max", kernel=(2, 2), stride=(2, 2), name=f"pool{i}")
        x = mx.sym.Flatten(x, name="flatten")
        hidden = (128,)
    else:
        hidden = (128, 64)
    for i, units in enumerate(hidden):
        x = mx.sym.FullyConnected(x, num_hidden=units, name=f"fc{i}")
        x = mx.sym.Activation(x, act_type="relu", name=f"relu{i}")
    x = mx.sym.FullyConnected(x, num_hidden=10, name="fc_out")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def _distnet_step(api, model, batch, ctx):
    """A function running one distnet training step on ``ctx``."""
    import distnet as mx

    x, y = _batch(batch)
    data, label = mx.nd.array(x, ctx=ctx), mx.nd.array(y, ctx=ctx)
    if api == "gluon":
        net = _gluon_net(mx.gluon.nn, model)
        net.initialize(mx.init.Xavier(), ctx=ctx)
        net.hybridize()
        trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})
        loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()

        def step():
            with mx.autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(batch)

        return step
    mod = mx.mod.Module(_symbol(mx, model), context=ctx)
    mod.bind(data_shapes=[("data", data.shape)], label_shapes=[("softmax_label", (batch,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.05})
    data_batch = mx.io.DataBatch(data=[data], label=[label])

    def step():
        mod.forward_backward(data_batch)
        mod.update()

    return step


def _distnet_rates(args, ctx):
    import distnet as mx

    out = {}
    for model in MODELS:
        for api in APIS:
            for batch in args.batch:
                step = _distnet_step(api, model, batch, ctx)
                out[(model, api, batch)] = batch * _timed(
                    step, mx.nd.waitall, args.steps, args.runs, args.warmup
                )
    return out


# ---------------------------------------------------------------- PyTorch -------------
def torch_net(torch, model):
    """The PyTorch twin of the bench's "mlp" (784-128-64-10) or LeNet (any other `model`);
    run_all.py uses it too."""
    nn = torch.nn
    if model == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 128),
            nn.ReLU(),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(20, 50, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(800, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def _torch_rates(args, cpu):
    """{(model, batch): samples/s} of PyTorch eager, or None when torch does not import."""
    try:
        import torch
    except ImportError:
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cpu" if cpu else f"cuda:{args.device}")

    def sync():
        if not cpu:
            torch.cuda.synchronize(device)

    out = {}
    for model in MODELS:
        for batch in args.batch:
            torch.manual_seed(0)
            net = torch_net(torch, model).to(device)
            opt = torch.optim.SGD(net.parameters(), lr=0.05)
            loss_fn = torch.nn.CrossEntropyLoss()
            x, y = _batch(batch)
            data = torch.from_numpy(x).to(device)
            label = torch.from_numpy(y.astype(np.int64)).to(device)

            def step():
                opt.zero_grad(set_to_none=True)
                loss_fn(net(data), label).backward()
                opt.step()

            out[(model, batch)] = batch * _timed(step, sync, args.steps, args.runs, args.warmup)
    return out


# ---------------------------------------------------------------- report --------------
def _rows(ours, theirs, batches):
    rows = []
    for model in MODELS:
        for api in APIS:
            for batch in batches:
                row = {
                    "model": model,
                    "api": api,
                    "batch": batch,
                    "distnet": ours[(model, api, batch)],
                }
                if theirs is not None:
                    row["torch"] = theirs[(model, batch)]
                    row["ratio"] = row["distnet"] / row["torch"]
                rows.append(row)
    return rows


def _print_table(rows, device, with_torch):
    names = {"mlp": "MLP", "lenet": "LeNet", "gluon": "Gluon hybridized", "module": "Module"}
    print(f"Training steps on {device}, samples/s (median)\n")
    head = "| model | API | batch | distnet |"
    head += " PyTorch eager | ratio | target |" if with_torch else ""
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        line = f"| {names[r['model']]} | {names[r['api']]} | {r['batch']} | {r['distnet']:,.0f} |"
        if with_torch:
            ok = "ok" if r["ratio"] >= TARGET else "MISS"
            line += f" {r['torch']:,.0f} | {r['ratio']:.2f}x | >= {TARGET}x {ok} |"
        print(line)
    if not with_torch:
        print("\nPyTorch is not importable here: no side-by-side figures.")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--steps", type=int, default=50, help="training steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--device", type=int, default=0, help="GPU number")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--json", action="store_true", help="print JSON rows only")
    # runs the same loops on the CPU, to test this script without a GPU (figures mean nothing)
    parser.add_argument("--cpu-dry-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import distnet as mx

    if args.cpu_dry_run:
        ctx, device = mx.cpu(), "the CPU (dry run)"
    else:
        problem = _gpu_problem(args.device)
        if problem:
            print(f"bench_gpu.py: {problem}", file=sys.stderr)
            return 2
        ctx, device = mx.gpu(args.device), f"gpu({args.device}) {_device_name(args.device)}"
    ours = _distnet_rates(args, ctx)
    theirs = None if args.no_torch else _torch_rates(args, args.cpu_dry_run)
    rows = _rows(ours, theirs, args.batch)
    if args.json:
        print(json.dumps(rows))
    else:
        _print_table(rows, device, theirs is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
