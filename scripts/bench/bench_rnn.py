#!/usr/bin/env python
"""LSTM language-model training speed, distnet vs MXNet 1.9.1 on the same script.

    python scripts/bench/bench_rnn.py                       # both, interleaved, 3 rounds
    python scripts/bench/bench_rnn.py --one distnet         # one measurement (internal)

The model is the word LM (Embedding -> 2x200 LSTM -> Dense over ``--vocab`` words),
batch 32, bptt 35, SGD with gradient clipping, as MXNet's example/gluon/word_language_model
runs it. ``--vocab 0`` times the LSTM alone (sum of outputs as the loss). Prints
tokens/s per round and the medians. Each measurement runs in a fresh process with
``--threads`` BLAS/OpenMP threads.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MXNET_PY = "/work/mxvenv/bin/python"

parser = argparse.ArgumentParser()
parser.add_argument("--one", choices=["distnet", "mxnet"])
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--vocab", type=int, default=10000)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--hidden", type=int, default=200)


def measure(args):
    """tokens/s of ``args.steps`` training steps after 3 warm-up steps."""
    import numpy as np

    if args.one == "mxnet":
        import mxnet as mx
    else:
        import distnet as mx
    from_gluon = mx.gluon
    T, N, H = 35, 32, args.hidden
    lstm = from_gluon.rnn.LSTM(H, num_layers=2, input_size=H)
    blocks = [lstm]
    if args.vocab:
        embed = from_gluon.nn.Embedding(args.vocab, H)
        dense = from_gluon.nn.Dense(args.vocab, in_units=H, flatten=False)
        blocks += [embed, dense]
    params = mx.gluon.ParameterDict()
    for b in blocks:
        b.initialize(mx.init.Xavier())
        params.update(b.collect_params())
    trainer = from_gluon.Trainer(params, "sgd", {"learning_rate": 0.1})
    loss_fn = from_gluon.loss.SoftmaxCrossEntropyLoss()
    rs = np.random.RandomState(0)
    data = mx.nd.array(rs.randint(0, max(args.vocab, 2), (T, N)))
    label = mx.nd.array(rs.randint(0, max(args.vocab, 2), (T, N)))
    xin = mx.nd.array(rs.rand(T, N, H))
    hidden = lstm.begin_state(batch_size=N)

    def step(hidden):
        hidden = [h.detach() for h in hidden]
        with mx.autograd.record():
            if args.vocab:
                out, hidden = lstm(embed(data), hidden)
                loss = loss_fn(dense(out), label)
            else:
                out, hidden = lstm(xin, hidden)
                loss = out.sum()
        loss.backward()
        from_gluon.utils.clip_global_norm([p.grad() for p in params.values()], 0.25 * T * N)
        trainer.step(N)
        return hidden

    for _ in range(3):
        hidden = step(hidden)
    mx.nd.waitall()
    start = time.perf_counter()
    for _ in range(args.steps):
        hidden = step(hidden)
    mx.nd.waitall()
    return args.steps * T * N / (time.perf_counter() - start)


def main():
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args)))
        return
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(args.threads),
        OPENBLAS_NUM_THREADS=str(args.threads),
        MKL_NUM_THREADS=str(args.threads),
    )
    res = {"distnet": [], "mxnet": []}
    for r in range(args.rounds):
        for fw, py in (("distnet", sys.executable), ("mxnet", MXNET_PY)):
            cmd = [
                py,
                os.path.abspath(__file__),
                "--one",
                fw,
                "--steps",
                str(args.steps),
                "--vocab",
                str(args.vocab),
                "--hidden",
                str(args.hidden),
            ]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            res[fw].append(float(out.stdout.strip().splitlines()[-1]))
            print(f"round {r} {fw}: {res[fw][-1]:.0f} tokens/s", flush=True)
    d, m = statistics.median(res["distnet"]), statistics.median(res["mxnet"])
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(
        f"median distnet {d:.0f} tokens/s, MXNet {m:.0f} tokens/s, ratio {d / m:.2f} "
        f"(vocab {args.vocab}, {args.threads} thread(s), load average {' '.join(load)})"
    )


if __name__ == "__main__":
    main()
