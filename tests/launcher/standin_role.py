"""Stand-ins for `python -m kvstore.scheduler` / `kvstore.server` in launcher tests.

usage: standin_role.py scheduler [--timeout-after S] [--no-port]
       standin_role.py server
The scheduler binds DMLC_PS_ROOT_URI:DMLC_PS_ROOT_PORT (0: any) and writes the bound
port to DISTNET_SCHEDULER_PORT_FILE atomically, as the real one does.
"""

import argparse
import json
import os
import socket
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("role")
p.add_argument("--timeout-after", type=float)
p.add_argument("--no-port", action="store_true")
p.add_argument("--sleep", type=float, default=120.0)
args = p.parse_args()

keys = [k for k in os.environ if k.startswith(("DMLC_", "DISTNET_"))]
print("ENV " + json.dumps({k: os.environ[k] for k in sorted(keys)}))
print(f"PID {os.getpid()} {os.getpgid(0)}", flush=True)
if args.role == "scheduler" and not args.no_port:
    sock = socket.socket()
    sock.bind((os.environ["DMLC_PS_ROOT_URI"], int(os.environ["DMLC_PS_ROOT_PORT"])))
    sock.listen()
    port = sock.getsockname()[1]
    print(f"PORT {port}", flush=True)
    path = os.environ.get("DISTNET_SCHEDULER_PORT_FILE")
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(path + ".tmp", path)
if args.timeout_after is not None:
    time.sleep(args.timeout_after)
    n = os.environ["DMLC_NUM_WORKER"]
    print(
        f"distnet scheduler: the job did not start within {args.timeout_after:g} s: "
        f"waiting for {n} workers, {int(n) - 1} registered",
        file=sys.stderr,
    )
    sys.exit(1)
time.sleep(args.sleep)
