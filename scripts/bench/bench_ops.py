"""Time per imperative operator call (unrecorded and recorded) and ``import distnet``.

Targets (issue 2): <= 10 us per op unrecorded, <= 25 us recorded, import <= 0.25 s.
Usage: python scripts/bench/bench_ops.py [--mxnet PYTHON] [--repeat 7]
"""

import argparse
import json
import statistics
import subprocess
import sys
import timeit

_OPS = {
    "a + b": "a + b",
    "a * 2": "a * 2",
    "nd.exp(a)": "nd.exp(a)",
    "nd.relu(a)": "nd.relu(a)",
    "nd.sum(a, axis=1)": "nd.sum(a, axis=1)",
    "nd.dot(a, b)": "nd.dot(a, b)",
    "a.reshape((-1,))": "a.reshape((-1,))",
    "nd.softmax(a)": "nd.softmax(a)",
}

_SETUP = """
import {lib} as mx
from {lib} import nd
a = nd.ones((8, 8)); b = nd.ones((8, 8))
{extra}
"""


def _time_snippet(lib, stmt, recorded, repeat, number):
    extra = "a.attach_grad(); b.attach_grad()" if recorded else ""
    setup = _SETUP.format(lib=lib, extra=extra)
    if recorded:
        stmt = f"with mx.autograd.record():\n    {stmt}"
    if lib == "mxnet":
        stmt = f"{stmt}\nnd.waitall()" if not recorded else stmt + "\n    nd.waitall()"
    times = timeit.repeat(stmt, setup=setup, repeat=repeat, number=number)
    return statistics.median(times) / number * 1e6


def _import_time(python, lib, repeat):
    code = f"import time; t=time.perf_counter(); import {lib}; print(time.perf_counter()-t)"
    runs = [
        float(subprocess.check_output([python, "-c", code], text=True).strip())
        for _ in range(repeat)
    ]
    return statistics.median(runs)


def run(lib, repeat, number):
    """Return {'ops': {stmt: (unrecorded_us, recorded_us)}, 'import_s': seconds}."""
    ops = {
        name: (
            _time_snippet(lib, stmt, False, repeat, number),
            _time_snippet(lib, stmt, True, repeat, number),
        )
        for name, stmt in _OPS.items()
    }
    return {"ops": ops, "import_s": _import_time(sys.executable, lib, repeat)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mxnet", help="python of an environment with mxnet 1.9.1")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run(args.worker, args.repeat, args.number)))
        return
    results = {"distnet": run("distnet", args.repeat, args.number)}
    if args.mxnet:
        out = subprocess.check_output(
            [
                args.mxnet,
                __file__,
                "--worker",
                "mxnet",
                "--repeat",
                str(args.repeat),
                "--number",
                str(args.number // 4),
            ],
            text=True,
        )
        results["mxnet"] = json.loads(out.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(results))
        return
    libs = list(results)
    print("| op (8x8 float32) | " + " | ".join(f"{l} µs | {l} recorded µs" for l in libs) + " |")
    print("|---|" + "---|---|" * len(libs))
    for name in _OPS:
        cells = " | ".join(
            f"{results[l]['ops'][name][0]:.1f} | {results[l]['ops'][name][1]:.1f}" for l in libs
        )
        print(f"| `{name}` | {cells} |")
    print("| import (s) | " + " | ".join(f"{results[l]['import_s']:.3f} | " for l in libs) + "|")


if __name__ == "__main__":
    main()
