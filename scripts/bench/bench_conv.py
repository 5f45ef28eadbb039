"""LeNet convolution speed: forward+backward of each convolution and a full training step.

LeNet at batch 64 on 1x28x28: Conv 20@5x5 -> relu -> max pool 2 -> Conv 50@5x5 -> relu ->
max pool 2 -> FC 128 -> relu -> FC 10 -> SoftmaxOutput, trained imperatively through
autograd with a plain SGD update. Target (issue 2): >= 3,000 samples/s on 2 CPU cores.

Usage: python scripts/bench/bench_conv.py [--mxnet PYTHON] [--steps 30] [--batch 64]
Timings are the minimum and median of repeated runs (the minimum is the least disturbed
by other processes on a shared machine).
"""

import argparse
import json
import statistics
import subprocess
import time

_CONVS = (("conv1 20@5x5 on 1x28x28", (1, 28), 20), ("conv2 50@5x5 on 20x12x12", (20, 12), 50))


def _timeit(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def _lenet_params(mx, rng):
    nd = mx.nd
    shapes = {
        "c1w": (20, 1, 5, 5),
        "c1b": (20,),
        "c2w": (50, 20, 5, 5),
        "c2b": (50,),
        "f1w": (128, 800),
        "f1b": (128,),
        "f2w": (10, 128),
        "f2b": (10,),
    }
    params = {k: nd.array(rng.normal(0, 0.05, s).astype("float32")) for k, s in shapes.items()}
    for p in params.values():
        p.attach_grad()
    return params


def _lenet(mx, p, x, y):
    nd = mx.nd
    h = nd.Convolution(x, p["c1w"], p["c1b"], kernel=(5, 5), num_filter=20)
    h = nd.Pooling(nd.Activation(h, act_type="relu"), kernel=(2, 2), stride=(2, 2))
    h = nd.Convolution(h, p["c2w"], p["c2b"], kernel=(5, 5), num_filter=50)
    h = nd.Pooling(nd.Activation(h, act_type="relu"), kernel=(2, 2), stride=(2, 2))
    h = nd.Activation(nd.FullyConnected(h, p["f1w"], p["f1b"], num_hidden=128), act_type="relu")
    h = nd.FullyConnected(h, p["f2w"], p["f2b"], num_hidden=10)
    return nd.SoftmaxOutput(h, y)


def run(lib, batch, steps, repeat):
    """Return {'convs': {name: (min_ms, median_ms)}, 'lenet_samples_per_s': (best, median)}."""
    import numpy as np

    mx = __import__(lib)
    nd = mx.nd
    rng = np.random.default_rng(0)
    convs = {}
    for name, (c, size), f in _CONVS:
        x = nd.array(rng.standard_normal((batch, c, size, size)).astype("float32"))
        w = nd.array(rng.standard_normal((f, c, 5, 5)).astype("float32") * 0.1)
        b = nd.zeros((f,))
        for arr in (x, w, b):
            arr.attach_grad()

        def step(x=x, w=w, b=b, f=f):
            with mx.autograd.record():
                out = nd.Convolution(x, w, b, kernel=(5, 5), num_filter=f)
            out.backward()
            w.grad.wait_to_read()

        best, med = _timeit(step, repeat)
        convs[name] = (best * 1e3, med * 1e3)
    params = _lenet_params(mx, rng)
    x = nd.array(rng.standard_normal((batch, 1, 28, 28)).astype("float32"))
    y = nd.array(rng.integers(0, 10, batch).astype("float32"))

    def train_step():
        with mx.autograd.record():
            out = _lenet(mx, params, x, y)
        out.backward()
        for p in params.values():
            p[:] = p - 0.01 * p.grad
        params["f2b"].wait_to_read()

    times = []
    train_step()
    for _ in range(steps):
        start = time.perf_counter()
        train_step()
        times.append(time.perf_counter() - start)
    return {
        "convs": convs,
        "lenet_samples_per_s": (batch / min(times), batch / statistics.median(times)),
    }


def main():
    """Run the benchmark (optionally also under MXNet) and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mxnet", help="python of an MXNet install to compare with")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--lib", default="distnet", help=argparse.SUPPRESS)
    args = parser.parse_args()
    res = run(args.lib, args.batch, args.steps, args.repeat)
    if args.lib != "distnet":
        print(json.dumps(res))
        return
    results = {"distnet": res}
    if args.mxnet:
        out = subprocess.check_output(
            [
                args.mxnet,
                __file__,
                "--lib",
                "mxnet",
                "--batch",
                str(args.batch),
                "--steps",
                str(args.steps),
                "--repeat",
                str(args.repeat),
            ],
            text=True,
        )
        results["mxnet"] = json.loads(out.strip().splitlines()[-1])
    for lib, r in results.items():
        print(f"[{lib}] batch {args.batch}")
        for name, (best, med) in r["convs"].items():
            print(f"  {name}: forward+backward {best:.2f} ms (median {med:.2f})")
        best, med = r["lenet_samples_per_s"]
        print(f"  LeNet train step: {best:.0f} samples/s (median {med:.0f})")


if __name__ == "__main__":
    main()
