"""Worker script for launcher tests: reports its environment, then does as told."""

import argparse
import json
import os
import signal
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--exit-rank", type=int, default=-1)
p.add_argument("--code", type=int, default=3)
p.add_argument("--kill-rank", type=int, default=-1)
p.add_argument("--sleep", type=float, default=0.0)
p.add_argument("--ignore-term", action="store_true")
args = p.parse_args()

rank = int(os.environ.get("RANK", "-1"))
if args.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # forces the launcher's SIGKILL
keys = [
    k for k in os.environ if k.startswith(("DMLC_", "DISTNET_", "RANK", "WORLD_SIZE", "LOCAL_"))
]
print("ENV " + json.dumps({k: os.environ[k] for k in sorted(keys)}))
print(f"PID {os.getpid()} {os.getpgid(0)} CWD {os.getcwd()}")
print(f"to stderr from {rank}", file=sys.stderr)
print("READY", flush=True)
if rank == args.exit_rank:
    time.sleep(0.3)
    print(f"worker {rank} giving up", file=sys.stderr)
    sys.exit(args.code)
if rank == args.kill_rank:
    time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(args.sleep)
