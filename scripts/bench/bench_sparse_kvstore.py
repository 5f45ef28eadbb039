"""Row-sparse parameter server benchmark: a ROWS x DIM embedding table on the servers, each
step a worker pulls the FRAC of rows its batch touches (row_sparse_pull) and pushes their
gradient (row_sparse push, lazy SGD on the servers). Bytes on the wire and step time
follow the rows touched; the worker never holds the table (its peak RSS is checked).

    python scripts/bench/bench_sparse_kvstore.py --framework distnet   # distnet-launch
    python scripts/bench/bench_sparse_kvstore.py --framework mxnet --init full
    options: --rows 10000000 --dim 64 --frac 0.01 --steps 20 --init one|full --timeout 600
             --mxnet-python PATH

``--init one`` (default) starts the table from one stored row, so no process ever holds it;
``--init full`` stores every row at init (the worker builds the whole table once). MXNet
1.9.1's servers need ``full`` on this machine: with ``one`` a push of rows the init did not
store corrupts the server's heap (``Segmentation fault: 11`` with dim 64, ``free(): invalid
size`` with dim 8, rows read back as nan/1e30) and the worker then waits forever; the
``--timeout`` bounds that run and reports it.

Prints one JSON line: median step time (s), payload bytes per step (distnet: measured row
ids + rows of every frame; mxnet: the same payload computed, ps-lite has no counter), the
worker's peak RSS and the table's size.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time

import numpy as np


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--framework", choices=["distnet", "mxnet"], default="distnet")
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--frac", type=float, default=0.01)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--init", choices=["one", "full"], default="one")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--mxnet-python", default="/work/mxvenv/bin/python")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker(a):
    """One worker's loop (run inside the job); prints the JSON result line."""
    if a.framework == "mxnet":
        import mxnet as mx
    else:
        import distnet as mx
    kv = mx.kv.create("dist_sync")
    shape = (a.rows, a.dim)
    if a.init == "full":  # every row stored (the worker builds the table once)
        kv.init("emb", mx.nd.ones(shape).tostype("row_sparse"))
    else:  # one stored row: MXNet's servers refuse an empty row_sparse init
        kv.init(
            "emb",
            mx.nd.sparse.row_sparse_array(
                (np.ones((1, a.dim), "float32"), np.array([0])), shape=shape
            ),
        )
    base_rss = _rss_now()
    kv.set_optimizer(mx.optimizer.create("sgd", learning_rate=0.1))
    rng = np.random.RandomState(kv.rank)
    k = max(1, int(a.rows * a.frac))
    times = []
    for _ in range(a.steps + 2):  # two warm-up steps
        ids = np.unique(rng.randint(0, a.rows, k))
        t0 = time.perf_counter()
        out = mx.nd.sparse.zeros("row_sparse", shape)
        kv.row_sparse_pull("emb", out=out, row_ids=mx.nd.array(ids))
        out.data.wait_to_read()
        grad = mx.nd.sparse.row_sparse_array(
            (rng.standard_normal((ids.size, a.dim)).astype("float32"), ids), shape=shape
        )
        kv.push("emb", grad)
        times.append(time.perf_counter() - t0)
    mx.nd.waitall()
    res = {
        "framework": a.framework,
        "rows": a.rows,
        "dim": a.dim,
        "frac": a.frac,
        "rows_per_step": k,
        "median_step_s": float(np.median(times[2:])),
        "table_bytes": a.rows * a.dim * 4,
        "worker_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if a.framework == "distnet":
        from kvstore.ps.sparse import WIRE

        res["wire_bytes_per_step"] = (WIRE["sent"] + WIRE["received"]) / (a.steps + 2)
    else:  # ps-lite counts nothing: the same payload (int64 ids + float32 rows, both ways)
        res["wire_bytes_per_step"] = float(ids.size * (8 + 4 * a.dim) * 2)
    # the worker holds a few copies of the rows it touches, never the table
    row_bytes = k * (a.dim * 4 + 8)
    res["worker_base_rss_bytes"] = base_rss
    if a.init == "one":
        assert res["worker_peak_rss_bytes"] < base_rss + 16 * row_bytes + (64 << 20), res
        assert res["worker_peak_rss_bytes"] < 0.25 * res["table_bytes"] + base_rss, res
    print("RESULT " + json.dumps(res), flush=True)


def _rss_now():
    """This process's resident set size now (bytes)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_mxnet(a, argv):
    """Scheduler, one server and one worker of MXNet 1.9.1 (its server starts at import)."""
    env = dict(
        os.environ,
        DMLC_PS_ROOT_URI="127.0.0.1",
        DMLC_PS_ROOT_PORT=str(_free_port()),
        DMLC_NUM_SERVER="1",
        DMLC_NUM_WORKER="1",
        PS_VERBOSE="0",
    )
    procs = [
        subprocess.Popen([a.mxnet_python, "-c", "import mxnet"], env=dict(env, DMLC_ROLE=role))
        for role in ("scheduler", "server")
    ]
    try:
        return subprocess.call(
            [a.mxnet_python, __file__, *argv, "--worker"],
            env=dict(env, DMLC_ROLE="worker"),
            timeout=a.timeout,
        )
    except subprocess.TimeoutExpired:
        codes = {role: p.poll() for role, p in zip(("scheduler", "server"), procs)}
        print(f"MXNET_TIMEOUT worker still waiting after {a.timeout:.0f} s; exit codes {codes}")
        return 124
    finally:
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()  # a ps-lite server that crashed leaves the others waiting


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    a = _args(argv)
    if a.worker:
        return worker(a)
    if a.framework == "mxnet":
        return launch_mxnet(a, argv)
    cmd = [
        sys.executable,
        "-m",
        "launcher",
        "-n",
        "1",
        "-s",
        "1",
    ]
    if a.init == "full":  # the whole table travels in one init frame
        limit = a.rows * (a.dim * 4 + 8) + (1 << 20)
        cmd += ["--env", f"DISTNET_KVSTORE_MAX_MESSAGE={max(limit, 64 << 20)}"]
    cmd += [
        "--",
        sys.executable,
        __file__,
        *argv,
        "--worker",
    ]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
