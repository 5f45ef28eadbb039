"""Benchmark the kvstore: 'local' push+pull, dist_sync through the parameter server, MPI allreduce.

    python scripts/bench/bench_kvstore.py [--runs 5] [--only local,raw,dist,mpi]
    python scripts/bench/bench_kvstore.py --mxnet /path/to/mxnet-python   # side by side

Figures are medians over --runs runs (each run a fresh job); the load average is printed
before and after, as the figures depend on it.  local: bytes pushed + pulled per second,
10 keys of 1M float32.  raw: plain zmq request/reply of 16 MB each way (DEALER to ROUTER
over TCP, no copies), 1 and 2 clients on one server: the baseline for dist.  dist: per
worker, gradient bytes synchronised per second (one push and one pull of a 16 MB key per
step), 2 workers, with the shared-memory path between processes on this host (the
default) and over zmq only (DISTNET_KVSTORE_SHM=0); and the time per key of a step that
pushpulls 100 small keys (per-message overhead).  mpi: 16 MB pushpull through the MPI
store vs raw mpi4py Allreduce, 2 ranks.
"""

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _kv_module(impl):
    if impl == "mxnet":
        import mxnet as mx

        return mx, mx.nd.zeros, lambda h: None  # MXNet returns no handle: wait on arrays
    sys.path.insert(0, ROOT)
    import numpy as np
    import kvstore

    return kvstore, np.zeros, lambda h: h.wait() if h is not None else None


def bench_local(impl, runs, keys=10, size=1 << 20, iters=20):
    """GB/s of push + pull, 'local' store, `keys` keys of `size` float32."""
    mod, zeros, _ = _kv_module(impl)
    kv = mod.kv.create("local") if impl == "mxnet" else mod.create("local")
    vals = [zeros((size,), dtype="float32") for _ in range(keys)]
    outs = [zeros((size,), dtype="float32") for _ in range(keys)]
    kv.init(list(range(keys)), vals)
    results = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(iters):
            for k in range(keys):
                kv.push(k, vals[k])
                kv.pull(k, out=outs[k])
        if impl == "mxnet":
            for o in outs:
                o.wait_to_read()
        dt = time.perf_counter() - t0
        results.append(2 * keys * size * 4 * iters / dt / 1e9)
    return statistics.median(results)


def dist_worker(impl, iters, size):
    """Body of one benchmark worker: GB/s of gradient bytes synchronised per second."""
    mod, zeros, wait = _kv_module(impl)
    kv = mod.kv.create("dist_sync") if impl == "mxnet" else mod.create("dist_sync")
    g = zeros((size,), dtype="float32")
    out = zeros((size,), dtype="float32")
    kv.init(0, g)
    for _ in range(3):  # warm up: connections, buffers, page faults
        kv.push(0, g)
        wait(kv.pull(0, out=out))
        if impl == "mxnet":
            out.wait_to_read()
    t0 = time.perf_counter()
    for _ in range(iters):
        kv.push(0, g)
        wait(kv.pull(0, out=out))
        if impl == "mxnet":
            out.wait_to_read()
    dt = time.perf_counter() - t0
    if impl == "mxnet":
        kv._barrier()  # MXNet 1.9.1 names it so
    else:
        kv.barrier()
        kv.close()
    return size * 4 * iters / dt / 1e9


def dist_small_worker(impl, iters, size, keys):
    """Body of one benchmark worker: microseconds per key of a step that pushpulls `keys`
    small keys (per-message overhead)."""
    mod, zeros, wait = _kv_module(impl)
    kv = mod.kv.create("dist_sync") if impl == "mxnet" else mod.create("dist_sync")
    vals = [zeros((size,), dtype="float32") for _ in range(keys)]
    outs = [zeros((size,), dtype="float32") for _ in range(keys)]
    kv.init(list(range(keys)), vals)

    def step():
        hs = [kv.pushpull(k, vals[k], out=outs[k]) for k in range(keys)]
        for h, o in zip(hs, outs):
            wait(h)
            if impl == "mxnet":
                o.wait_to_read()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    dt = time.perf_counter() - t0
    if impl == "mxnet":
        kv._barrier()  # MXNet 1.9.1 names it so
    else:
        kv.barrier()
        kv.close()
    return dt / iters / keys * 1e6


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dist_env(workers, servers, port):
    env = dict(
        os.environ,
        DMLC_PS_ROOT_URI="127.0.0.1",
        DMLC_PS_ROOT_PORT=str(port),
        DMLC_NUM_WORKER=str(workers),
        DMLC_NUM_SERVER=str(servers),
        DISTNET_JOB_TOKEN=secrets.token_hex(8),
        PYTHONPATH=ROOT,
    )
    env.pop("DISTNET_SCHEDULER_PORT_FILE", None)
    return env


def raw_server(port, clients, iters, size):
    """Answer every 16 MB request with a 16 MB reply sent without a copy."""
    import numpy as np
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(f"tcp://127.0.0.1:{port}")
    reply = np.ones(size, np.float32)
    for _ in range(clients * iters):
        ident, _head, _body = sock.recv_multipart(copy=False)
        sock.send_multipart([ident, b"h", reply], copy=False)
    sock.close(linger=5000)
    ctx.term()  # wait for the last zero-copy reply to go out before `reply` is freed


def raw_client(port, iters, size, warmup=3):
    """GB/s of one client's 16 MB request/reply round trips (bytes of one direction)."""
    import numpy as np
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(f"tcp://127.0.0.1:{port}")
    buf = np.ones(size, np.float32)
    for i in range(iters):
        if i == warmup:
            t0 = time.perf_counter()
        sock.send_multipart([b"h", buf], copy=False)
        sock.recv_multipart(copy=False)
    dt = time.perf_counter() - t0
    sock.close()
    ctx.term()
    return size * 4 * (iters - warmup) / dt / 1e9


def bench_raw(runs, clients, size=4 << 20, iters=23):
    """Median over runs of the per-client GB/s of raw zmq request/reply."""
    me = [sys.executable, os.path.abspath(__file__), "--size", str(size)]
    per_run = []
    for _ in range(runs):
        port = _free_port()
        server = subprocess.Popen(me + ["--raw-server", f"{port},{clients},{iters}"])
        procs = [
            subprocess.Popen(
                me + ["--raw-client", f"{port},{iters}"], stdout=subprocess.PIPE, text=True
            )
            for _ in range(clients)
        ]
        per_run.append(
            statistics.median(float(p.communicate(timeout=300)[0].split()[-1]) for p in procs)
        )
        if server.wait(timeout=60):
            raise RuntimeError(f"raw zmq server failed with exit status {server.returncode}")
    return statistics.median(per_run)


def bench_dist_once(python, impl, workers, servers, iters, size, extra_env=None, keys=1):
    """Start a whole job; returns the workers' figures (GB/s, or us per key with keys > 1)."""
    env = _dist_env(workers, servers, _free_port())
    env.update(extra_env or {})
    me = [
        python,
        os.path.abspath(__file__),
        "--impl",
        impl,
        "--dist-worker",
        str(iters),
        "--size",
        str(size),
        "--keys",
        str(keys),
    ]
    if impl == "mxnet":  # ps-lite starts scheduler and servers inside `import mxnet`
        infra = [
            subprocess.Popen(me, env=dict(env, DMLC_ROLE=r))
            for r in ["scheduler"] + ["server"] * servers
        ]
    else:
        quiet = {"stderr": subprocess.DEVNULL}  # the roles' INFO lines
        infra = [
            subprocess.Popen(
                [python, "-m", "kvstore.scheduler"], env=dict(env, DMLC_ROLE="scheduler"), **quiet
            )
        ]
        infra += [
            subprocess.Popen(
                [python, "-m", "kvstore.server"],
                **quiet,
                env=dict(env, DMLC_ROLE="server", DMLC_SERVER_ID=str(s)),
            )
            for s in range(servers)
        ]
    procs = [
        subprocess.Popen(
            me,
            env=dict(env, DMLC_ROLE="worker", DMLC_WORKER_ID=str(r)),
            stdout=subprocess.PIPE,
            text=True,
        )
        for r in range(workers)
    ]
    try:
        outs = [p.communicate(timeout=300)[0] for p in procs]
        if any(p.returncode for p in procs):
            raise RuntimeError(f"{impl} dist benchmark: a worker failed")
        for p in infra:
            p.wait(timeout=60)
        return [float(out.split()[-1]) for out in outs]
    finally:  # never leave a job's processes behind
        for p in procs + infra:
            if p.poll() is None:
                p.kill()
                p.wait()


def bench_dist(python, impl, runs, servers, size=4 << 20, iters=20, extra_env=None):
    """Median over runs (fresh jobs) of the per-worker GB/s, 2 workers."""
    per_worker = [
        statistics.median(bench_dist_once(python, impl, 2, servers, iters, size, extra_env))
        for _ in range(runs)
    ]
    return statistics.median(per_worker)


def bench_dist_small(python, impl, runs, keys=100, size=1000, iters=20):
    """Median over runs of microseconds per key per step, 2 workers, 1 server."""
    return statistics.median(
        statistics.median(bench_dist_once(python, impl, 2, 1, iters, size, keys=keys))
        for _ in range(runs)
    )


def mpi_worker(runs, size=4 << 20, iters=20):
    """Under mpiexec: 16 MB allreduce, raw mpi4py vs the MPI store (GB/s of data reduced)."""
    sys.path.insert(0, ROOT)
    import numpy as np
    from mpi4py import MPI
    import kvstore

    comm = MPI.COMM_WORLD
    buf = np.ones(size, np.float32)
    kv = kvstore.create("mpi")
    kv.init(0, buf)
    raw, ours = [], []
    for _ in range(runs):
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        raw.append(size * 4 * iters / (time.perf_counter() - t0) / 1e9)
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            kv.pushpull(0, buf, out=buf)  # Trainer's update_on_kvstore=False path
        ours.append(size * 4 * iters / (time.perf_counter() - t0) / 1e9)
    small, raw_small = _mpi_small(comm, kv, MPI, runs)
    if comm.rank == 0:
        print(
            json.dumps(
                {
                    "raw": statistics.median(raw),
                    "store": statistics.median(ours),
                    "small_us": small,
                    "raw_small_us": raw_small,
                }
            )
        )


def _mpi_small(comm, kv, MPI, runs, iters=200):
    """Microseconds per key of pushpull of two 1000-float32 keys, and of a raw mpi4py
    Allreduce of 4 KB (medians over `runs`)."""
    import numpy as np

    vals = [np.ones(1000, np.float32) for _ in range(2)]
    kv.init([1, 2], vals)
    ours, raw = [], []
    for _ in range(runs):
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            kv.pushpull([1, 2], vals, out=vals)
        ours.append((time.perf_counter() - t0) / iters / 2 * 1e6)
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            comm.Allreduce(MPI.IN_PLACE, vals[0], op=MPI.SUM)
        raw.append((time.perf_counter() - t0) / iters * 1e6)
    return statistics.median(ours), statistics.median(raw)


def bench_mpi(runs):
    proc = subprocess.run(
        [
            "mpiexec",
            "-n",
            "2",
            sys.executable,
            os.path.abspath(__file__),
            "--mpi-worker",
            "--runs",
            str(runs),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("DMLC_")},
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="local,raw,dist,mpi")
    ap.add_argument("--mxnet", metavar="PYTHON", help="an interpreter with MXNet 1.9.1")
    ap.add_argument("--impl", default="distnet", help=argparse.SUPPRESS)
    ap.add_argument("--dist-worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--keys", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=4 << 20, help=argparse.SUPPRESS)
    ap.add_argument("--mpi-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--local-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--raw-server", help=argparse.SUPPRESS)
    ap.add_argument("--raw-client", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.raw_server:
        port, clients, iters = map(int, a.raw_server.split(","))
        return raw_server(port, clients, iters, a.size)
    if a.raw_client:
        port, iters = map(int, a.raw_client.split(","))
        print(raw_client(port, iters, a.size))
        return
    if a.dist_worker is not None:
        if os.environ.get("DMLC_ROLE", "worker") != "worker":  # MXNet's ps-lite roles
            _kv_module("mxnet")
            return
        if a.keys > 1:
            print(dist_small_worker(a.impl, a.dist_worker, a.size, a.keys))
        else:
            print(dist_worker(a.impl, a.dist_worker, a.size))
        return
    if a.mpi_worker:
        return mpi_worker(a.runs)
    if a.local_only:
        print(bench_local(a.impl, a.runs))
        return
    impls = [("distnet", sys.executable)] + ([("mxnet", a.mxnet)] if a.mxnet else [])
    only = a.only.split(",")
    print("load average %.2f %.2f %.2f on %d cores" % (os.getloadavg() + (os.cpu_count(),)))
    if "raw" in only:
        for clients in (1, 2):
            print(
                f"raw zmq  request/reply 16 MB, {clients} client(s), 1 server: "
                f"{bench_raw(a.runs, clients):6.2f} GB/s per client"
            )
    for impl, python in impls:
        if "local" in only:
            out = subprocess.run(
                [
                    python,
                    os.path.abspath(__file__),
                    "--impl",
                    impl,
                    "--local-only",
                    "--runs",
                    str(a.runs),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[-1]
            print(f"{impl:8s} local  push+pull 10 x 1M float32: {float(out):6.2f} GB/s")
        if "dist" in only:
            paths = (
                [("", None)]
                if impl == "mxnet"
                else [(" shm", None), (" zmq", {"DISTNET_KVSTORE_SHM": "0"})]
            )
            for servers in (1, 2):
                for label, extra in paths:
                    gbs = bench_dist(python, impl, a.runs, servers, extra_env=extra)
                    print(
                        f"{impl:8s} dist_sync{label} 2 workers {servers} server(s), 16 MB "
                        f"key: {gbs:6.2f} GB/s per worker"
                    )
            us = bench_dist_small(python, impl, a.runs)
            print(
                f"{impl:8s} dist_sync 2 workers 1 server, pushpull of 100 keys x 1000 "
                f"float32: {us:6.0f} us per key per step"
            )
    if "mpi" in only:
        r = bench_mpi(a.runs)
        print(
            f"distnet  mpi 16 MB allreduce: store {r['store']:.2f} GB/s, raw mpi4py "
            f"{r['raw']:.2f} GB/s ({100 * r['store'] / r['raw']:.0f}%)"
        )
    print("load average %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
