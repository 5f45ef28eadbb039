"""Worker functions of the wire tests, run by tests/kvstore/kv_harness (importable through
PYTHONPATH): each returns JSON-able results."""

import time

import numpy as np

from kvstore import create


def flap_worker(seconds=9.0):
    """Sync rounds with a barrier in each, for `seconds` (rank 0 decides when to stop; the
    others follow its vote); returns the rounds and whether every sum was right."""
    kv = create("dist_sync")
    x = np.arange(100, dtype=np.float32) * (kv.rank + 1)
    want = np.arange(100, dtype=np.float32) * sum(range(1, kv.num_workers + 1))
    kv.init(0, np.zeros_like(x))
    kv.init(1, np.zeros(1, np.float32))
    out, vote, ok, rounds = np.empty_like(x), np.empty(1, np.float32), True, 0
    t0 = time.monotonic()
    while True:
        kv.pushpull(0, x, out=out).wait()
        ok = ok and bool(np.array_equal(out, want))
        kv.barrier()
        rounds += 1
        stop = float(kv.rank == 0 and time.monotonic() - t0 > seconds)
        kv.pushpull(1, np.array([stop], np.float32), out=vote).wait()
        if vote[0] > 0:
            break
    kv.close()
    return {"rounds": rounds, "ok": ok}


def resent_requests():
    """Requests sent again with meta 'again' (as after a reconnection) are answered but
    not done twice; an unflagged copy is still refused, and a failed request is redone."""
    import zmq
    from kvstore.ps import protocol as P

    kv = create("dist_async")  # async: every push is applied as it arrives
    kv.init(5, np.zeros(4, np.float32))
    kv.set_optimizer("sgd", {"learning_rate": 1.0})  # w -= grad
    tok = P.job_token()
    sock = zmq.Context.instance().socket(zmq.DEALER)
    P.dial(sock, tok, P.new_ident("worker"))
    sock.connect(kv._io.peers[0].split("(")[1].rstrip(")"))

    def ask(frames):
        sock.send_multipart(frames)
        assert sock.poll(20000), "no answer"
        msg = P.decode(sock.recv_multipart(), tok)
        return msg.op, None if msg.array is None else msg.array.tolist(), msg.meta.get("msg")

    def req(op, rid, n=4):
        return P.encode(
            op,
            tok,
            "worker:0",
            key=5,
            rid=rid,
            array=np.ones(n, np.float32),
            meta={"rank": 0, "sync": False},
        )

    push, pushpull, bad = req("push", 1), req("pushpull", 2), req("push", 3, n=3)
    answers = [
        ask(push),
        ask(P.again(push)),
        ask(pushpull),
        ask(P.again(pushpull)),
        ask(bad),
        ask(P.again(bad)),
    ]
    sock.close(linger=0)
    out = np.empty(4, np.float32)
    kv.pull(5, out=out).wait()
    kv.close()
    return {"answers": answers, "final": out.tolist()}
