"""Module.fit throughput: the seed MLP (784-128-64-10) over 60,000 synthetic 28x28 samples.

Samples/s of one ``Module.fit`` epoch (sgd, lr 0.1, eval_metric 'acc'), median of runs, at
batch 64 and 256. With ``--mxnet PYTHON`` the same workload runs under MXNet 1.9.1 in that
interpreter, interleaved with distnet's runs so both see the same machine load.
Targets (issue 4): >= 1.5x MXNet at batch 64 and >= 1.2x at batch 256.

Usage: python scripts/bench/bench_module.py [--mxnet PYTHON] [--runs 3] [--rounds 2]
                                            [--batch 64 256] [--samples 60000]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np


def _mlp(mx):
    data = mx.sym.Variable('data')
    fc1 = mx.sym.FullyConnected(data, name='fc1', num_hidden=128)
    act1 = mx.sym.Activation(fc1, name='relu1', act_type='relu')
    fc2 = mx.sym.FullyConnected(act1, name='fc2', num_hidden=64)
    act2 = mx.sym.Activation(fc2, name='relu2', act_type='relu')
    fc3 = mx.sym.FullyConnected(act2, name='fc3', num_hidden=10)
    return mx.sym.SoftmaxOutput(fc3, name='softmax')


def _dataset(n):
    """Learnable synthetic digits: 10 class templates plus noise, 28x28 flattened."""
    rs = np.random.RandomState(0)
    templates = rs.rand(10, 784).astype(np.float32)
    y = rs.randint(0, 10, n)
    x = templates[y] + rs.rand(n, 784).astype(np.float32) * 0.5
    return x.astype(np.float32), y.astype(np.float32)


def run(lib, batch, runs, samples):
    """Samples/s of `runs` timed one-epoch fits (after one warm-up fit)."""
    mx = __import__(lib)
    x, y = _dataset(samples)
    it = mx.io.NDArrayIter(x, y, batch_size=batch, shuffle=False)
    net = _mlp(mx)
    rates, accs = [], []
    for i in range(runs + 1):
        mod = mx.mod.Module(net, context=mx.cpu())
        metric = mx.metric.create('acc')
        it.reset()
        t = time.perf_counter()
        mod.fit(it, eval_metric=metric, optimizer='sgd',
                optimizer_params={'learning_rate': 0.1}, initializer=mx.init.Xavier(),
                num_epoch=1)
        if lib == 'mxnet':
            mx.nd.waitall()
        dt = time.perf_counter() - t
        if i:
            rates.append(samples / dt)
            accs.append(metric.get()[1])
    return {'rates': rates, 'train_acc': accs}


def _worker(python, lib, batch, runs, samples):
    out = subprocess.check_output([python, __file__, '--worker', lib, '--batch', str(batch),
                                   '--runs', str(runs), '--samples', str(samples)], text=True)
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--mxnet', help='python of an environment with mxnet 1.9.1')
    parser.add_argument('--batch', type=int, nargs='+', default=[64, 256])
    parser.add_argument('--runs', type=int, default=3, help='timed fits per worker')
    parser.add_argument('--rounds', type=int, default=2, help='alternating worker rounds')
    parser.add_argument('--samples', type=int, default=60000)
    parser.add_argument('--json', action='store_true', help='print JSON only')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run(args.worker, args.batch[0], args.runs, args.samples)))
        return
    libs = [('distnet', sys.executable)] + ([('mxnet', args.mxnet)] if args.mxnet else [])
    results = {lib: {b: {'rates': [], 'train_acc': []} for b in args.batch} for lib, _ in libs}
    for _ in range(args.rounds):
        for batch in args.batch:
            for lib, python in libs:
                res = _worker(python, lib, batch, args.runs, args.samples)
                for k in res:
                    results[lib][batch][k] += res[k]
    table = {lib: {b: {'samples_per_s': statistics.median(r['rates']),
                       'train_acc': statistics.median(r['train_acc']), 'runs': r['rates']}
                   for b, r in per.items()} for lib, per in results.items()}
    if args.json:
        print(json.dumps(table))
        return
    _print_table(table, args.batch)


def _print_table(table, batches):
    targets = {64: 1.5, 256: 1.2}
    head = '| batch | distnet samples/s |'
    if 'mxnet' in table:
        head += ' MXNet 1.9.1 samples/s | ratio | target |'
    print(head)
    print('|' + '---|' * (head.count('|') - 1))
    for b in batches:
        d = table['distnet'][b]['samples_per_s']
        row = f'| {b} | {d:,.0f} |'
        if 'mxnet' in table:
            m = table['mxnet'][b]['samples_per_s']
            target = targets.get(b)
            row += f' {m:,.0f} | {d / m:.2f}x | ' + (f'>= {target}x |' if target else '- |')
        print(row)
    for lib, per in table.items():
        accs = ', '.join(f'batch {b}: {per[b]["train_acc"]:.3f}' for b in batches)
        print(f'{lib} train accuracy after one epoch: {accs}')


if __name__ == '__main__':
    main()
