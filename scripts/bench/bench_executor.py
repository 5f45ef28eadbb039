"""Benchmark the executor's overhead per graph node.

    python scripts/bench/bench_executor.py [--batch 64] [--iters 300] [--runs 5]
    python scripts/bench/bench_executor.py --mxnet     # also time MXNet's executor, if importable

One training step (forward + backward) of the seed MLP 784-128-64-10 with SoftmaxOutput,
three ways:

  numpy     the same numpy calls written by hand (matmul, relu, softmax, gradients)
  ops       the registry operators' forward/backward called in straight-line code
  executor  Symbol.simple_bind + forward(is_train=True) + backward()

Overhead per node = (executor - numpy) / operator nodes (6: three FullyConnected, two
Activation, SoftmaxOutput); the executor's own share is (executor - ops) / nodes. Times
are medians over --runs runs of --iters steps, in microseconds per step, with one BLAS
thread (BENCH_THREADS=n to change).
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
# One BLAS thread: the comparison is about Python overhead, and threaded BLAS on a shared
# machine makes timings swing by 10x. Set BENCH_THREADS to change it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("BENCH_THREADS", "1"))

import numpy as np  # noqa: E402


def seed_mlp(mx):
    """The seed MLP with hidden layers 128 and 64."""
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, name="fc1", num_hidden=128)
    net = mx.sym.Activation(net, name="relu1", act_type="relu")
    net = mx.sym.FullyConnected(net, name="fc2", num_hidden=64)
    net = mx.sym.Activation(net, name="relu2", act_type="relu")
    net = mx.sym.FullyConnected(net, name="fc3", num_hidden=10)
    return mx.sym.SoftmaxOutput(net, name="softmax")


def params(batch, seed=0):
    rng = np.random.RandomState(seed)
    p = {
        "data": rng.uniform(-1, 1, (batch, 784)),
        "fc1_weight": rng.normal(0, 0.05, (128, 784)),
        "fc1_bias": np.zeros(128),
        "fc2_weight": rng.normal(0, 0.1, (64, 128)),
        "fc2_bias": np.zeros(64),
        "fc3_weight": rng.normal(0, 0.1, (10, 64)),
        "fc3_bias": np.zeros(10),
        "softmax_label": rng.randint(0, 10, batch),
    }
    return {k: v.astype(np.float32) for k, v in p.items()}


def numpy_step(p):
    """Forward and backward of the MLP written directly in numpy."""
    x, label = p["data"], p["softmax_label"]
    h1 = x @ p["fc1_weight"].T + p["fc1_bias"]
    a1 = np.maximum(h1, 0)
    h2 = a1 @ p["fc2_weight"].T + p["fc2_bias"]
    a2 = np.maximum(h2, 0)
    h3 = a2 @ p["fc3_weight"].T + p["fc3_bias"]
    e = np.exp(h3 - h3.max(axis=1, keepdims=True))
    prob = e / e.sum(axis=1, keepdims=True)
    g3 = prob.copy()
    g3[np.arange(len(label)), label.astype(np.int64)] -= 1
    grads = {"fc3_weight": g3.T @ a2, "fc3_bias": g3.sum(axis=0)}
    g2 = (g3 @ p["fc3_weight"]) * (h2 > 0)
    grads.update(fc2_weight=g2.T @ a1, fc2_bias=g2.sum(axis=0))
    g1 = (g2 @ p["fc2_weight"]) * (h1 > 0)
    grads.update(fc1_weight=g1.T @ x, fc1_bias=g1.sum(axis=0), data=g1 @ p["fc1_weight"])
    return prob, grads


def ops_step(mx, p):
    """The registry operators called directly, no graph runner."""
    from distnet.ops.registry import get_op

    fc, act, sm = get_op("FullyConnected"), get_op("Activation"), get_op("SoftmaxOutput")
    a_fc = [fc.parse({"num_hidden": str(n)}) for n in (128, 64, 10)]
    a_act = act.parse({"act_type": "relu"})
    a_sm = sm.parse({})
    ws = [(p[f"fc{i}_weight"], p[f"fc{i}_bias"]) for i in (1, 2, 3)]

    def step():
        x = p["data"]
        tape = []
        for k, (w, b) in enumerate(ws):
            (h,), s = fc.forward(a_fc[k], [x, w, b], [], True)
            tape.append((fc, a_fc[k], [x, w, b], [h], s))
            x = h
            if k < 2:
                (x,), s = act.forward(a_act, [h], [], True)
                tape.append((act, a_act, [h], [x], s))
        (prob,), s = sm.forward(a_sm, [x, p["softmax_label"]], [], True)
        tape.append((sm, a_sm, [x, p["softmax_label"]], [prob], s))
        g = [None]
        for op, a, ins, outs, s in reversed(tape):
            grads = op.backward(np, a, ins, outs, s, g)
            g = [grads[0]]
        return prob

    return step


def time_all(fns, iters, runs):
    """{name: (min, median)} us per call; the functions take turns within each run so a
    change of machine load hits them alike."""
    for fn in fns.values():
        fn()
    samples = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            samples[name].append((time.perf_counter() - t0) / iters * 1e6)
    return {name: (min(v), statistics.median(v)) for name, v in samples.items()}


def chain_overhead(mx, n=100, iters=200, runs=5):
    """Executor vs direct operator calls on a chain of ``n`` cheap nodes (``x * 1.0``
    on a 1-element array): the graph runner's own cost per node, forward + backward."""
    from distnet.ops.registry import get_op

    x = mx.sym.var("x")
    y = x
    for _ in range(n):
        y = y * 1.0
    exe = mx.sym.MakeLoss(y).simple_bind(mx.cpu(), x=(1,))
    op, mk = get_op("_mul_scalar"), get_op("MakeLoss")
    a, a_mk = op.parse({"scalar": "1.0"}), mk.parse({})
    data = np.ones(1, np.float32)

    def direct():
        v, tape = data, []
        for _ in range(n):
            (out,), s = op.forward(a, [v], [], True)
            tape.append((v, out, s))
            v = out
        (loss,), s = mk.forward(a_mk, [v], [], True)
        (g,) = mk.backward(np, a_mk, [v], [loss], s, [None])
        for v, out, s in reversed(tape):
            (g,) = op.backward(np, a, [v], [out], s, [g])
        return g

    def executor():
        exe.forward(is_train=True)
        exe.backward()

    res = time_all({"direct": direct, "executor": executor}, iters, runs)
    return (res["executor"][0] - res["direct"][0]) / (n + 1)


def executor_step(mx, p, batch):
    exe = seed_mlp(mx).simple_bind(mx.cpu(), data=(batch, 784))
    for k, v in p.items():
        exe.arg_dict[k][:] = v

    def step():
        exe.forward(is_train=True)
        exe.backward()

    return step, exe


def check(exe, p):
    """The executor computes what the hand-written numpy computes."""
    prob, grads = numpy_step(p)
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), prob, rtol=1e-4, atol=1e-6)
    for k, g in grads.items():
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), g, rtol=1e-3, atol=1e-5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mxnet", action="store_true", help="also time MXNet's executor")
    args = parser.parse_args()
    import distnet as mx

    p = params(args.batch)
    step, exe = executor_step(mx, p, args.batch)
    step()
    check(exe, p)
    n_nodes = 6
    res = time_all(
        {"numpy": lambda: numpy_step(p), "ops": ops_step(mx, p), "executor": step},
        args.iters,
        args.runs,
    )
    print(
        f"seed MLP 784-128-64-10, batch {args.batch}, forward+backward, "
        f"{args.runs} x {args.iters} steps, us/step (min / median)"
    )
    for name, label in (
        ("numpy", "numpy by hand"),
        ("ops", "registry ops"),
        ("executor", "executor"),
    ):
        print(f"  {label:16s}{res[name][0]:9.1f} / {res[name][1]:9.1f}")
    t_np, t_ops, t_exe = res["numpy"][0], res["ops"][0], res["executor"][0]
    print(
        f"  overhead vs numpy per operator node: {(t_exe - t_np) / n_nodes:7.1f} us (target <= 50)"
    )
    print(f"  executor's own share per node:       {(t_exe - t_ops) / n_nodes:7.1f} us")
    print(
        f"  graph runner per node (chain of 100 cheap nodes, fwd+bwd): {chain_overhead(mx):5.1f} us"
    )
    if args.mxnet:
        bench_mxnet(p, args)


def bench_mxnet(p, args):
    """MXNet's executor on the same step, for comparison (needs mxnet importable)."""
    import mxnet

    exe = seed_mlp(mxnet).simple_bind(mxnet.cpu(), data=(args.batch, 784))
    for k, v in p.items():
        exe.arg_dict[k][:] = v

    def step():
        exe.forward(is_train=True)
        exe.backward()
        mxnet.nd.waitall()

    best, median = time_all({"mxnet": step}, args.iters, args.runs)["mxnet"]
    print(f"  mxnet executor  {best:9.1f} / {median:9.1f}")


if __name__ == "__main__":
    main()
