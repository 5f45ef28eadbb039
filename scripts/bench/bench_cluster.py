"""Cross-host data path on a virtual cluster: dist_sync vs raw TCP between the same hosts.

    sudo python scripts/bench/bench_cluster.py [--runs 3] [--rates none,1gbit]
        [--mxnet /path/to/mxnet-python]

Needs root (it builds network namespaces with tests/cluster/netns.py: hosts joined by a
bridge, links optionally shaped with `tc tbf` in both directions; everything is torn
down at the end). Host 1 runs the scheduler and one server, host 2 one worker, so every
byte crosses the link; DISTNET_KVSTORE_SHM=0 as the hosts would share no memory.

Figures (medians over --runs fresh jobs, interleaved: raw, distnet, MXNet per run):
* raw TCP: a plain socket client on host 2 sends 16 MB to a server on host 1, which
  answers 16 MB (recv_into / sendall on preallocated buffers, no copies): GB/s of one
  direction, the same shape as a dist_sync step;
* dist_sync: per worker, gradient bytes synchronised per second (one push and one pull
  of a 16 MB key per step, scripts/bench/bench_kvstore.py's worker), and its ratio to raw;
* small keys: microseconds of one pushpull of a 1000-float32 key (latency), and the raw
  TCP round trip of 4 KB.
MXNet 1.9.1 runs the same layout through its own tools/launch.py in ssh mode when --mxnet
names its interpreter; --baseline DIR adds distnet from another checkout.
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KV_BENCH = os.path.join(HERE, "bench_kvstore.py")
PORT = 9123
SIZE = 4 << 20  # float32 elements: 16 MB


def raw_server(port, nbytes, iters):
    """Answer `iters` requests of `nbytes` with `nbytes` (one client)."""
    buf = bytearray(nbytes)
    view = memoryview(buf)
    with socket.create_server(("", port)) as ls:
        conn, _ = ls.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(iters):
                got = 0
                while got < nbytes:
                    n = conn.recv_into(view[got:])
                    if not n:
                        return
                    got += n
                conn.sendall(view)


def raw_client(addr, port, nbytes, iters, warmup=3):
    """GB/s (one direction) of request/reply round trips, or us per round trip for
    small messages; connects with retries while the server starts."""
    buf = memoryview(bytearray(nbytes))
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = socket.create_connection((addr, port))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(warmup + iters):
        if i == warmup:
            t0 = time.perf_counter()
        conn.sendall(buf)
        got = 0
        while got < nbytes:
            got += conn.recv_into(buf[got:])
    dt = time.perf_counter() - t0
    conn.close()
    return nbytes * iters / dt / 1e9 if nbytes >= 1 << 20 else dt / iters * 1e6


def _run_pair(cluster, server_argv, client_argv, env=None, timeout=300):
    """Server side on host 1, client on host 2; the client's last output token."""
    srv = subprocess.Popen(cluster.argv(1, server_argv), env=env, stdout=subprocess.DEVNULL)
    try:
        out = subprocess.run(
            cluster.argv(2, client_argv), env=env, capture_output=True, text=True, timeout=timeout
        )
        if out.returncode:
            raise RuntimeError(f"client failed: {out.stderr[-2000:]}")
        srv.wait(timeout=60)
        return float(out.stdout.split()[-1])
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def bench_raw(cluster, nbytes, iters):
    """Raw TCP request/reply of `nbytes`, client on host 2, server on host 1."""
    me = [sys.executable, os.path.abspath(__file__)]
    return _run_pair(
        cluster,
        me + ["--raw-server", f"{nbytes},{iters + 3}"],
        me + ["--raw-client", f"{cluster.addrs[1]},{nbytes},{iters}"],
    )


def bench_dist(cluster, python, root, iters, size, keys=1):
    """One distnet job from the checkout `root`: scheduler + server on host 1, worker on
    host 2; the worker's figure."""
    env = dict(
        os.environ,
        DMLC_PS_ROOT_URI=cluster.addrs[1],
        DMLC_PS_ROOT_PORT=str(PORT),
        DMLC_NUM_WORKER="1",
        DMLC_NUM_SERVER="1",
        DISTNET_KVSTORE_SHM="0",
        DISTNET_JOB_TOKEN=secrets.token_hex(8),
        PYTHONPATH=root,
    )
    me = [
        python,
        os.path.join(root, "scripts", "bench", "bench_kvstore.py"),
        "--impl",
        "distnet",
        "--dist-worker",
        str(iters),
        "--size",
        str(size),
        "--keys",
        str(keys),
    ]
    roles = [
        ([python, "-m", "kvstore.scheduler"], {"DMLC_ROLE": "scheduler"}),
        ([python, "-m", "kvstore.server"], {"DMLC_ROLE": "server", "DMLC_SERVER_ID": "0"}),
    ]
    infra = [
        subprocess.Popen(
            cluster.argv(1, argv),
            cwd=root,  # `python -m` puts the working directory first on sys.path
            env=dict(env, **extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for argv, extra in roles
    ]
    try:
        out = subprocess.run(
            cluster.argv(2, me),
            capture_output=True,
            text=True,
            timeout=600,
            env=dict(env, DMLC_ROLE="worker", DMLC_WORKER_ID="0"),
        )
        if out.returncode:
            raise RuntimeError(f"distnet worker ({root}) failed: {out.stderr[-2000:]}")
        return float(out.stdout.split()[-1])
    finally:
        for p in infra:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# MXNet 1.9.1's launch.py goes through dmlc-core's tracker, which calls Thread.isAlive
# (removed in Python 3.9): on a current Python it fails before starting any node.  The
# shim restores the alias and runs launch.py unchanged.
LAUNCH_SHIM = (
    "import runpy, sys, threading; threading.Thread.isAlive = threading.Thread.is_alive; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def bench_mxnet_launch(cluster, python, iters, size, keys=1):
    """One MXNet job started by its own tools/launch.py in ssh mode from host 0: the
    scheduler on host 0 (the tracker), the server on host 1, the worker on host 2 (its
    hostfile lists hosts 1 and 2; ps-lite's roles start inside `import mxnet`)."""
    launch = subprocess.run(
        [python, "-c", "import mxnet, os; print(os.path.dirname(mxnet.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    hostfile = os.path.join(cluster.tmp, "mxnet-hosts")
    with open(hostfile, "w", encoding="ascii") as f:
        f.write(f"{cluster.addrs[1]}\n{cluster.addrs[2]}\n")
    cmd = [python, "-c", LAUNCH_SHIM, os.path.join(launch, "tools", "launch.py")]
    cmd += ["-n", "1", "-s", "1", "-H", hostfile, "--launcher", "ssh", python, KV_BENCH]
    cmd += ["--impl", "mxnet", "--dist-worker", str(iters), "--size", str(size)]
    cmd += ["--keys", str(keys)]
    out = subprocess.run(
        cluster.argv(0, cmd),
        capture_output=True,
        text=True,
        timeout=600,
        env=cluster.env(dict(os.environ, OMP_NUM_THREADS="1")),
        cwd=HERE,
        stdin=subprocess.DEVNULL,
    )
    numbers = [t for t in out.stdout.split() if t.replace(".", "", 1).isdigit()]
    if out.returncode or not numbers:
        raise RuntimeError(f"MXNet launch.py job failed: {out.stderr[-2000:]}")
    return float(numbers[-1])


def measure(cluster, impls, runs, iters):
    """{figure name: [per-run values]}, the implementations interleaved within a run."""
    res = {}
    for _ in range(runs):
        res.setdefault("raw 16MB", []).append(bench_raw(cluster, SIZE * 4, iters))
        res.setdefault("raw 4KB us", []).append(bench_raw(cluster, 4096, 200))
        for impl, where in impls:
            run = bench_mxnet_launch if impl == "mxnet" else bench_dist
            args = (cluster, where) if impl == "mxnet" else (cluster, sys.executable, where)
            res.setdefault(f"{impl} 16MB", []).append(run(*args, iters, SIZE))
            res.setdefault(f"{impl} 1000 us", []).append(  # keys > 1: us per key
                run(*args, 200, 1000, keys=2)
            )
    return res


COMPRESSIONS = {"2bit": {"type": "2bit", "threshold": 0.5}, "fp16": {"type": "fp16"}}
RESNET_BATCH = 32  # per worker: a ResNet-20 step takes ~0.6 s on one loaded core


def _resnet20(mx):
    """ResNet-20 for 32x32 images (3 stages of 3 basic blocks, 16/32/64 channels, 0.27M
    parameters in 63 arrays with gradients), from the model zoo's ResNetV1 blocks."""
    from distnet.gluon.model_zoo.vision.resnet import BasicBlockV1, ResNetV1

    net = ResNetV1(BasicBlockV1, [3, 3, 3], [16, 16, 32, 64], thumbnail=True, classes=10)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros((1, 3, 32, 32)))  # shapes known before the kvstore sees them
    return net


def _resnet_steps(mx, kv, steps, warmup=2):
    """Seconds per Gluon step (record, backward, Trainer.step) of ResNet-20."""
    import numpy as np

    net = _resnet20(mx)
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01}, kvstore=kv)
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    rs = np.random.RandomState(0)
    x = mx.nd.array(rs.rand(RESNET_BATCH, 3, 32, 32))
    y = mx.nd.array(rs.randint(0, 10, RESNET_BATCH))
    for i in range(warmup + steps):
        if i == warmup:
            mx.nd.waitall()
            t0 = time.perf_counter()
        with mx.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(RESNET_BATCH)
    for p in net.collect_params().values():
        p.data().wait_to_read()
    return (time.perf_counter() - t0) / steps


def _grad_shapes(mx, model):
    """The shapes of the model's gradients, as its training pushes them."""
    if model == "resnet20":
        params = _resnet20(mx).collect_params().values()
        return [p.shape for p in params if p.grad_req != "null"]
    sys.path.insert(0, HERE)
    import bench_overlap as b

    return [(b.HIDDEN, b.IN), (b.HIDDEN,), (b.HIDDEN, b.HIDDEN), (b.HIDDEN,)] + [
        (b.CLASSES, b.HIDDEN),
        (b.CLASSES,),
    ]


def _comm_steps(mx, kv, steps, model, warmup=3):
    """Seconds per step of communication alone: push then pull every gradient of
    `model` (same keys and sizes as its training), no compute."""
    import numpy as np

    grads = [np.zeros(s, np.float32) for s in _grad_shapes(mx, model)]
    store, keys = kv._store, list(range(len(grads)))  # the raw store: numpy arrays
    store.init(keys, grads)
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        store.push(keys, grads)
        store.pull(keys, grads).wait()
    return (time.perf_counter() - t0) / steps


def scaling_worker(steps, compression, model):
    """One worker of a scaling job: ms per step of `model` ('mlp': bench_overlap's MLP
    through Module; 'resnet20': Gluon; 'comm-mlp' / 'comm-resnet20': its communication
    alone)."""
    sys.path.insert(0, HERE)
    import bench_overlap
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    if compression != "none":
        kv.set_gradient_compression(COMPRESSIONS[compression])
    if model.startswith("comm-"):
        seconds = _comm_steps(mx, kv, steps, model[5:])
    elif model == "resnet20":
        seconds = _resnet_steps(mx, kv, steps)
    else:
        seconds = bench_overlap._module_steps(mx, kv, steps)
    kv.close()
    return seconds * 1e3


def scaling_job(cluster, workers, compression, overlap, steps, model="mlp"):
    """ms per step on worker 0: `workers` servers on hosts 0.., as many workers after."""
    env = dict(
        os.environ,
        DMLC_PS_ROOT_URI=cluster.addrs[0],
        DMLC_PS_ROOT_PORT=str(PORT),
        DMLC_NUM_WORKER=str(workers),
        DMLC_NUM_SERVER=str(workers),
        DISTNET_KVSTORE_SHM="0",
        DISTNET_GRAD_OVERLAP=overlap,
        OMP_NUM_THREADS="1",
        DISTNET_JOB_TOKEN=secrets.token_hex(8),
        PYTHONPATH=ROOT,
    )
    py = sys.executable
    infra = [
        subprocess.Popen(
            cluster.argv(0, [py, "-m", "kvstore.scheduler"]),
            env=dict(env, DMLC_ROLE="scheduler"),
            stderr=subprocess.DEVNULL,
        )
    ]
    infra += [
        subprocess.Popen(
            cluster.argv(s, [py, "-m", "kvstore.server"]),
            env=dict(env, DMLC_ROLE="server", DMLC_SERVER_ID=str(s)),
            stderr=subprocess.DEVNULL,
        )
        for s in range(workers)
    ]
    me = [py, os.path.abspath(__file__), "--scaling-worker", f"{steps},{compression},{model}"]
    procs = [
        subprocess.Popen(
            cluster.argv(workers + r, me),
            stdout=subprocess.PIPE,
            text=True,
            env=dict(env, DMLC_ROLE="worker", DMLC_WORKER_ID=str(r)),
        )
        for r in range(workers)
    ]
    try:
        outs = [p.communicate(timeout=600)[0] for p in procs]
        if any(p.returncode for p in procs):
            raise RuntimeError("scaling job: a worker failed")
        return float(outs[0].split()[-1])
    finally:
        for p in procs + infra:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


DESCRIBE = {
    "mlp": "MLP 784-1024-1024-10 (7.4 MB of gradients in 6 arrays), batch 64 per worker, Module",
    "resnet20": f"ResNet-20 (1.1 MB of gradients in 63 arrays), batch {RESNET_BATCH} per "
    f"worker, Gluon Trainer",
}


def scaling(rate, runs, steps, models, compressions):
    """Print ms per step and efficiency t1/t2 per setting (and the communication alone,
    same keys, no compute), settings interleaved run by run."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
    import netns

    settings = [
        (m, c, o)
        for m in models
        for c in compressions
        for o in ("1", "0", "comm")  # overlap on, off, communication alone
    ]
    times = {}
    with netns.Cluster(4, rate=None if rate == "none" else rate, sshd=False) as cluster:
        for _ in range(runs):
            for m, c, o in settings:
                n = steps[m] if o != "comm" else 2 * steps["mlp"]
                model, overlap = (f"comm-{m}", "1") if o == "comm" else (m, o)
                for w in (1, 2):
                    times.setdefault((m, c, o, w), []).append(
                        scaling_job(cluster, w, c, overlap, n, model)
                    )
    for m in models:
        print(f"[{rate}] {DESCRIBE[m]}, W workers and W servers each on its own host:")
        for c in compressions:
            for o in ("1", "0", "comm"):
                t1, t2 = (statistics.median(times[(m, c, o, w)]) for w in (1, 2))
                what = {"1": "overlap on ", "0": "overlap off", "comm": "comm. alone"}[o]
                print(
                    f"  compression {c:4s} {what}: 1 worker {t1:7.1f} ms/step, "
                    f"2 workers {t2:7.1f} ms/step, efficiency {t1 / t2:.2f}"
                )


def bench_mpi(rate, runs):
    """MPI store vs raw mpi4py Allreduce of 16 MB, one rank on each of two hosts (hydra
    over the virtual cluster's ssh); GB/s of data reduced, as bench_kvstore.py's."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
    import json
    import netns

    with netns.Cluster(3, rate=None if rate == "none" else rate) as cluster:
        hosts = os.path.join(cluster.tmp, "hosts")
        with open(hosts, "w", encoding="ascii") as f:
            f.write(f"{cluster.addrs[1]}\n{cluster.addrs[2]}\n")
        env = cluster.env({k: v for k, v in os.environ.items() if not k.startswith("DMLC_")})
        env.update(
            HYDRA_IFACE="eth0",
            HYDRA_LAUNCHER_EXEC=os.path.join(cluster.bindir, "ssh"),
            PYTHONPATH=ROOT,
        )
        mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
        out = subprocess.run(
            cluster.argv(
                0,
                [
                    mpiexec,
                    "-f",
                    hosts,
                    "-n",
                    "2",
                    sys.executable,
                    KV_BENCH,
                    "--mpi-worker",
                    "--runs",
                    str(runs),
                ],
            ),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if out.returncode:
            raise RuntimeError(f"mpi benchmark failed: {out.stderr[-2000:]}")
        res = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"[{rate}] MPI store 16 MB allreduce, 2 ranks on 2 hosts: {res['store']:.3f} GB/s, "
        f"raw mpi4py {res['raw']:.3f} GB/s ({res['store'] / res['raw']:.2f}); pushpull of "
        f"2 keys x 1000 float32: {res['small_us']:.0f} us per key, raw 4 KB Allreduce "
        f"{res['raw_small_us']:.0f} us"
    )


def main():
    """Parse arguments; run the role asked for, or build the cluster and print figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--rates", default="none,1gbit")
    ap.add_argument("--mxnet", metavar="PYTHON", help="an interpreter with MXNet 1.9.1")
    ap.add_argument(
        "--baseline",
        metavar="DIR",
        help="also run distnet from this checkout (e.g. `git archive BASE | tar -x -C DIR`), as before",
    )
    ap.add_argument("--raw-server", help=argparse.SUPPRESS)
    ap.add_argument("--raw-client", help=argparse.SUPPRESS)
    ap.add_argument(
        "--scaling",
        action="store_true",
        help="instead: time per step with 1 and 2 workers (--models), per --rates",
    )
    ap.add_argument("--steps", type=int, default=30, help="MLP steps per scaling job")
    ap.add_argument("--resnet-steps", type=int, default=6, help="ResNet-20 steps per job")
    ap.add_argument("--models", default="mlp,resnet20", help="scaling: mlp and/or resnet20")
    ap.add_argument("--compressions", default="none,2bit,fp16", help="scaling: none,2bit,fp16")
    ap.add_argument(
        "--mpi", action="store_true", help="instead: the MPI store across two hosts, per --rates"
    )
    ap.add_argument("--scaling-worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.scaling_worker:
        steps, compression, model = a.scaling_worker.split(",")
        print(scaling_worker(int(steps), compression, model))
        return
    if a.raw_server:
        nbytes, iters = map(int, a.raw_server.split(","))
        return raw_server(PORT, nbytes, iters)
    if a.raw_client:
        addr, nbytes, iters = a.raw_client.split(",")
        print(raw_client(addr, PORT, int(nbytes), int(iters)))
        return
    sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
    import netns

    reason = netns.available()
    if reason:
        sys.exit(f"bench_cluster: {reason}")
    if a.mpi:
        for rate in a.rates.split(","):
            bench_mpi(rate, a.runs)
        return
    if a.scaling:
        print("load average %.2f %.2f %.2f on %d cores" % (os.getloadavg() + (os.cpu_count(),)))
        steps = {"mlp": a.steps, "resnet20": a.resnet_steps}
        for rate in a.rates.split(","):
            scaling(rate, a.runs, steps, a.models.split(","), a.compressions.split(","))
        print("load average %.2f %.2f %.2f" % os.getloadavg())
        return
    impls = [("distnet", ROOT)] + ([("before", a.baseline)] if a.baseline else [])
    impls += [("mxnet", a.mxnet)] if a.mxnet else []
    print("load average %.2f %.2f %.2f on %d cores" % (os.getloadavg() + (os.cpu_count(),)))
    for rate in a.rates.split(","):
        with netns.Cluster(
            3,
            rate=None if rate == "none" else rate,
            sshd=a.mxnet is not None,  # MXNet's launch.py reaches hosts 1 and 2 by ssh
            names={socket.gethostname(): 0},  # the tracker's address: host 0's
        ) as cluster:
            res = {
                k: statistics.median(v) for k, v in measure(cluster, impls, a.runs, a.iters).items()
            }
        link = "unshaped veth" if rate == "none" else f"{rate} tbf"
        print(
            f"[{link}] raw TCP request/reply 16 MB: {res['raw 16MB']:.3f} GB/s; "
            f"4 KB round trip {res['raw 4KB us']:.0f} us"
        )
        for impl, _ in impls:
            gbs = res[f"{impl} 16MB"]
            print(
                f"[{link}] {impl:8s} dist_sync 1 worker/1 server on another host, 16 MB key: "
                f"{gbs:.3f} GB/s per worker ({gbs / res['raw 16MB']:.2f} of raw TCP); "
                f"pushpull of 2 keys x 1000 float32: {res[f'{impl} 1000 us']:.0f} us per key"
            )
    print("load average %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
