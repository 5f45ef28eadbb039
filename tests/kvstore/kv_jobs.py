"""Worker functions run by the multi-process tests (one process per worker)."""

import numpy as np

import kvstore
from kvstore import KVStoreError

X = np.arange(6, dtype=np.float32).reshape(2, 3)
BIG = 25  # elements of the split key; the tests set DISTNET_KVSTORE_BIGARRAY_BOUND=10
BIG_SHM = 160000  # split over 2 servers with the bound at 100000: 2 parts of 320 kB


def sync_sums():
    """Worker r pushes (r+1)*X*i per round; plus split keys, lists, errors, an early close."""
    kv = kvstore.create("dist_sync")
    n, r = kv.num_workers, kv.rank
    kv.init([3, "w", "big"], [X * 0, np.zeros(4), np.zeros(BIG, np.float32)])
    out, res = np.empty_like(X), []
    for i in range(1, 4):
        kv.push(3, X * (r + 1) * i)
        kv.pull(3, out).wait()
        res.append(out.tolist())
    kv.push("w", [np.ones(4), np.ones(4) * 2])  # two "devices": summed on the worker first
    w = [np.empty(4), np.empty(4)]
    kv.pull("w", out=w).wait()
    big = np.arange(BIG, dtype=np.float32) * (r + 1)
    o_big, o3 = np.empty(BIG, np.float32), np.empty_like(X)
    kv.pushpull(["big", 3], [big, X], out=[o_big, o3]).wait()
    try:
        kv.push(3, np.ones(4, np.float32))
        wrong = None
    except KVStoreError as e:
        wrong = str(e)
    late = None
    if r == n - 1:
        kv.close()  # leaves early: later rounds must not wait for it
    else:
        kv.push(3, X)
        kv.pull(3, out).wait()
        late = out.tolist()
        kv.close()
    return {
        "rank": r,
        "n": n,
        "res": res,
        "w": [a.tolist() for a in w],
        "big": o_big.tolist(),
        "x3": o3.tolist(),
        "wrong": wrong,
        "late": late,
    }


def order_sensitive(rank, size, seed=7):
    """float32 values of rank `rank` whose sum over ranks depends on the addition order."""
    rng = np.random.default_rng([seed, rank])
    return (rng.standard_normal(size) * 10.0 ** rng.integers(-4, 5, size)).astype(np.float32)


def ordered_sums():
    """Pushes arrive in reverse rank order (rank 0 last); the sums are the rank-order sums,
    for a small key (zmq frames) and a split big key (shared memory unless turned off),
    through push + pull and through pushpull."""
    import hashlib
    import os
    import time

    kv = kvstore.create("dist_sync")
    r, n = kv.rank, kv.num_workers
    kv.init(["small", "big"], [np.zeros(5, np.float32), np.zeros(BIG_SHM, np.float32)])
    small, big = order_sensitive(r, 5), order_sensitive(r, BIG_SHM)
    out_s, res = np.empty(5, np.float32), []
    out_b = np.empty((BIG_SHM, 2), np.float32)[:, 0]  # a strided output: staged copy
    for i in range(1, 5):  # push then pull, and in round 4 one pushpull
        time.sleep(0.1 * (n - 1 - r))
        if i < 4:
            kv.push(["small", "big"], [small * i, big * i])
            kv.pull(["small", "big"], out=[out_s, out_b]).wait()
        else:
            kv.pushpull(["small", "big"], [small * i, big * i], out=[out_s, out_b]).wait()
        res.append([out_s.tolist(), hashlib.sha256(out_b.tobytes()).hexdigest()])
    arena = kv._arena
    used = sorted(arena._by_name) if arena is not None else []
    kv.close()
    return {
        "rank": r,
        "res": res,
        "shm": kv._shm_ok,
        "segments": used,
        "dir_left": arena is not None and os.path.exists(arena.dir),
    }


def server_sgd():
    """Servers run the stand-in SGD (momentum); states saved and reloaded."""
    import os

    kv = kvstore.create("dist_sync")
    r = kv.num_workers, kv.rank
    kv.set_optimizer("sgd", {"learning_rate": 0.1, "momentum": 0.9, "multi_precision": True})
    kv.init(0, X.copy())
    kv.init("h", np.ones(3, np.float16))
    w, hist = np.empty_like(X), []
    g = np.full_like(X, 0.5) * (kv.rank + 1)
    fname = os.path.join(os.environ["KV_TEST_DIR"], "states.bin")
    for i in range(4):
        if i == 2:
            kv.barrier()
            if kv.rank == 0:
                kv.save_optimizer_states(fname)
            kv.barrier()
        if i == 3:
            kv.barrier()
            if kv.rank == 0:
                kv.load_optimizer_states(fname)
            kv.barrier()
        kv.pushpull(0, g, out=w).wait()
        hist.append(w.tolist())
    h = np.empty(3, np.float16)
    for _ in range(5):  # steps below fp16's resolution at 1.0 add up in the fp32 master
        kv.pushpull("h", np.full(3, 1e-3, np.float16), out=h).wait()
    kv.close()
    return {"hist": hist, "h": h.tolist(), "r": r}


def async_pushes():
    """dist_async: every push is applied on arrival (stand-in SGD, lr 1)."""
    kv = kvstore.create("dist_async")
    kv.set_optimizer("sgd", {"learning_rate": 1.0})
    kv.init([5, "big"], [np.zeros(3, np.float32), np.zeros(BIG_SHM, np.float32)])
    for _ in range(5):  # 'big' goes through shared memory
        kv.push(
            [5, "big"],
            [np.ones(3, np.float32) * (kv.rank + 1), np.full(BIG_SHM, kv.rank + 1, np.float32)],
        ).wait()
    kv.barrier()
    out, big = np.empty(3, np.float32), np.empty(BIG_SHM, np.float32)
    kv.pull([5, "big"], [out, big]).wait()
    kv.close()
    return out.tolist() + [float(big.min()), float(big.max())]


def compressed():
    """2-bit compression: every pushed value is quantised with a per-key residual."""
    kv = kvstore.create("dist_sync")
    kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    kv.init("g", np.zeros(7, np.float32))
    out, res = np.empty(7, np.float32), []
    rng = np.random.default_rng(kv.rank)
    for _ in range(4):
        kv.push("g", rng.uniform(-1, 1, 7).astype(np.float32))
        kv.pull("g", out).wait()
        res.append(out.tolist())
    kv.close()
    return res


def wait_for_death():
    """Keep pulling until the job breaks; return the error text."""
    import time

    kv = kvstore.create("dist_sync")
    kv.init(list(range(8)), [X] * 8)
    out = np.empty_like(X)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 25:
            for k in range(8):
                kv.pushpull(k, X, out=out).wait()
            time.sleep(0.05)
    except KVStoreError as e:
        return {"error": str(e), "after": time.monotonic() - t0}
    return {"error": None}


def fuzz():
    """Send garbage and unauthenticated messages to the server and scheduler, then work normally."""
    import msgpack
    import zmq
    from kvstore.ps import protocol as P

    kv = kvstore.create("dist_sync")
    kv.init(1, X * 0)
    rng = np.random.default_rng(0)
    ctx = zmq.Context.instance()
    socks = [ctx.socket(zmq.DEALER) for _ in range(2)]
    for s in socks:  # past zmq's authentication, so the messages reach the checks
        P.dial(s, P.job_token())
    socks[0].connect(kv._io.peers[0].split("(")[1].rstrip(")"))
    socks[1].connect(kv.cfg.scheduler_addr)
    good = P.encode(
        "push", P.job_token(), "worker:0", key=1, rnd=1, array=X, meta={"rank": 0, "sync": True}
    )
    shm_bad = [
        ("shm_hello", {"dir": d, "nonce": "x", "rank": 0})
        for d in ("/etc", "/dev/shm/../etc", "/dev/shm/distnet-kv-none", 7, None)
    ]
    shm_bad += [
        (op, {"shm": name, "rank": 0, "sync": True})
        for op in ("push", "pull")
        for name in ("../../etc/passwd", "s0", "probe", 12, {"a": 1})
    ]
    tok = P.job_token()
    pull = P.encode("pull", tok, "worker:0", key=1, meta={"rank": 0, "sync": False})
    batch_bad = [
        P.encode("batch", tok, "w", meta={"lens": lens}) + [rng.bytes(8)]
        for lens in ([[5]], [[3, "x"]], "abc", [[]], [[1, 1, 6]], [[8]] * 5000)
    ]
    batch_bad += [
        P.encode_batch(tok, "w", [[b"\xc1junk"], pull]),  # garbage inside
        P.encode_batch(tok, "w", [P.encode_batch(tok, "w", [pull, pull])]),
        P.encode("batch", tok, "w", meta={"lens": [[4]]}) + [b"abcd", b"extra"],
    ]
    for i in range(400):
        kind = i % 10
        if kind == 0:
            frames = [rng.bytes(int(rng.integers(0, 64)))]
        elif kind == 1:
            frames = [msgpack.packb(rng.integers(0, 100, 5).tolist())]
        elif kind == 2:  # valid shape but no token
            frames = P.encode(
                "push",
                "not-the-token",
                "intruder",
                key=1,
                rnd=1,
                array=X,
                meta={"rank": 0, "sync": True},
            )
        elif kind == 3:  # header of a good message, a truncated array frame
            frames = [good[0], bytes(good[1])[:7]]
        elif kind == 4:  # good header fields with wrong types
            h = msgpack.unpackb(good[0])
            h[["op", "key", "shape", "round", "meta", "dtype"][(i // 6) % 6]] = [{"x": None}]
            frames = [msgpack.packb(h), bytes(good[1])]
        elif kind == 5:
            frames = [good[0]] + [rng.bytes(20)] * int(rng.integers(0, 3))
        elif kind in (6, 7):  # authenticated shared-memory requests naming bogus places
            op, meta = shm_bad[(i // 10) % len(shm_bad)]
            frames = P.encode(op, tok, "worker:0", key=1, rnd=1 + kind, meta=meta)
        else:  # malformed batches
            frames = batch_bad[(i // 10 * 2 + kind - 8) % len(batch_bad)]
        for s in socks:
            s.send_multipart(frames)
    # one good request last: its answer means the server has read everything before it
    socks[0].send_multipart(
        P.encode(
            "pull", P.job_token(), "worker:0", key=1, rid=999999, meta={"rank": 0, "sync": True}
        )
    )
    while socks[0].poll(20000):
        msg = P.decode(socks[0].recv_multipart(), tok)
        subs = P.unbatch(msg, tok) if msg.op == "batch" else [msg]
        if any(getattr(m, "rid", None) == 999999 for m in subs):
            break
    else:
        raise RuntimeError("the server did not answer after the fuzzing")
    for s in socks:
        s.close(linger=1000)
    out = np.empty_like(X)
    kv.pushpull(1, X, out=out).wait()
    kv.close()
    return out.tolist()


def mpi_sums():
    """The same closed-form sums through the MPI backend (run under mpiexec)."""
    kv = kvstore.create("dist_sync")
    r = kv.rank
    kv.init(3, X * (r + 5))  # rank 0's value wins: 5 * X everywhere
    kv.init(["s%d" % i for i in range(5)], [np.zeros(2, np.float64)] * 5)
    out = np.empty_like(X)
    kv.pull(3, out)
    res = [out.tolist()]
    for i in range(1, 3):
        kv.push(3, X * (r + 1) * i)
        kv.push(["s%d" % j for j in range(5)], [np.full(2, j + r, np.float64) for j in range(5)])
        kv.pull(3, out)
        res.append(out.tolist())
    small = [np.empty(2) for _ in range(5)]
    kv.pull(["s%d" % j for j in range(5)], small)
    kv.barrier()
    return {
        "type": type(kv).__name__,
        "n": kv.num_workers,
        "rank": r,
        "res": res,
        "small": [s.tolist() for s in small],
        "opt": kv.is_capable("optimizer"),
    }


def mpi_pushpull():
    """pushpull through MPI: all keys in one call, small ones fused, big one direct."""
    kv = kvstore.create("mpi")
    r = kv.rank
    keys = ["a", "b", "big"]
    vals = [np.full(3, r + 1.0, np.float32), np.full(2, 10.0 * (r + 1)), np.ones(300000) * r]
    kv.init(keys, [np.zeros_like(v) for v in vals])
    kv.pushpull(keys, vals)  # in place
    try:
        kv.pull("a", out=np.empty(3, np.float32))
        err = None
    except KVStoreError as e:
        err = str(e)
    return {
        "a": vals[0].tolist(),
        "b": vals[1].tolist(),
        "big": float(vals[2].sum()),
        "err": err,
        "rank": r,
    }


def mx_adapter():
    """mx.kv on NDArrays: pulls mark outputs pending; reading them waits; errors are MXNetError."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    r = kv.rank
    kv.init(["a", 7], [mx.nd.array(X * 0), mx.nd.array(np.zeros(2, np.float32))])
    g = mx.nd.array(X * (r + 1))
    out = mx.nd.array(np.zeros_like(X))
    kv.push("a", g)
    kv.pull("a", out=out)
    pending = out._pending is not None
    got = out.asnumpy().tolist()
    vals = [mx.nd.array(np.full(2, r + 1.0, np.float32))]
    kv.pushpull(7, vals)
    try:
        kv.push("a", mx.nd.array(np.ones(5, np.float32)))
        err = None
    except mx.base.MXNetError as e:
        err = str(e)
    kv.close()
    return {"got": got, "pending": pending, "v": vals[0].asnumpy().tolist(), "err": err}
