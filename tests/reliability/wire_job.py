"""Worker script of the wire tests (run by distnet-launch): trains a few sync rounds,
prints where its servers and scheduler listen, waits for the test's attack, trains on.

With --key-elems N it instead inits one float32 key of N elements and prints the
error the kvstore raises (or OK).
"""

import argparse
import os
import sys
import time

import numpy as np

from kvstore import create
from kvstore.base import KVStoreError

p = argparse.ArgumentParser()
p.add_argument("--go-file", help="keep training until this file exists (bounded)")
p.add_argument("--key-elems", type=int, default=0)
args = p.parse_args()

kv = create("dist_sync")
if args.key_elems:
    try:
        kv.init("big", np.ones(args.key_elems, np.float32))
        print("INIT OK", flush=True)
    except KVStoreError as e:
        print(f"INIT ERROR {e}", flush=True)
    kv.close()
    sys.exit(0)

x = np.arange(1000, dtype=np.float32)
kv.init(3, x * 0)
kv.init(4, np.zeros(1, np.float32))  # the stop vote: every worker stops at the same round
out, vote = np.empty_like(x), np.empty(1, np.float32)
if kv.rank == 0:
    servers = [kv._io.peers[s].split("(")[1].rstrip(")") for s in range(kv.num_servers)]
    print("ADDR", kv.cfg.scheduler_addr, *servers, flush=True)
rounds = 0
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    kv.pushpull(3, x, out=out).wait()
    rounds += 1
    assert np.array_equal(out, x * kv.num_workers), out[:4]
    go = float(os.path.exists(args.go_file) and rounds >= 20)
    kv.pushpull(4, np.array([go], np.float32), out=vote).wait()
    if vote[0] > 0:
        break
    time.sleep(0.01)
kv.barrier()
print(f"TRAINED {rounds} rounds", flush=True)
kv.close()
