"""Start a scheduler, servers and worker functions as subprocesses on 127.0.0.1.

Every process runs in its own process group with a hard timeout and is killed (by its
own pid) if it overstays.  A worker target is 'module:function' taking no arguments;
its return value is printed as JSON on the last line of stdout.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

WORKER = """
import json, sys, importlib
mod, fn = sys.argv[1].split(':')
sys.path.insert(0, {here!r})
res = getattr(importlib.import_module(mod), fn)()
print('RESULT ' + json.dumps(res), flush=True)
"""

SERVER = """
import sys
sys.path.insert(0, {here!r})
import kv_stand_ins as stand_ins
stand_ins.install()
from kvstore.ps.roles import run_role
sys.exit(run_role(sys.argv[1]))
"""


class Proc:
    """One started process and, after `finish`, its exit code and output."""

    def __init__(self, role, popen):
        self.role, self.popen = role, popen
        self.code = self.out = self.err = None
        self.result = None

    def finish(self, deadline):
        try:
            out, err = self.popen.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, 9)
            out, err = self.popen.communicate()
        self.code, self.out, self.err = self.popen.returncode, out, err
        for line in out.splitlines():
            if line.startswith("RESULT "):
                self.result = json.loads(line[7:])
        return self


def base_env(num_workers, num_servers, extra=None):
    env = dict(os.environ)
    env.update(
        {
            "DMLC_PS_ROOT_URI": "127.0.0.1",
            "DMLC_NUM_WORKER": str(num_workers),
            "DMLC_NUM_SERVER": str(num_servers),
            "DISTNET_JOB_TOKEN": secrets.token_hex(8),
            "DISTNET_START_TIMEOUT": "30",
            "DISTNET_KVSTORE_TIMEOUT": "30",
            "DISTNET_KVSTORE_HEARTBEAT_INTERVAL": "0.5",
            "DISTNET_KVSTORE_HEARTBEAT_TIMEOUT": "3",
            "PYTHONPATH": ROOT,
        }
    )
    env.update(extra or {})
    return env


def _spawn(args, env, role):
    return Proc(
        role,
        subprocess.Popen(
            [sys.executable, "-c"] + args,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ),
    )


def start_job(num_workers, num_servers, extra=None, user_script=None):
    """Start the scheduler and servers; returns (env for workers, [procs]).

    With `user_script` ('module:function'), every role runs that worker function, as
    MXNet's tools/launch.py does: kvstore.create serves the role and exits.
    """
    env = base_env(num_workers, num_servers, extra)
    role_args = [WORKER.format(here=HERE), user_script] if user_script else None
    with tempfile.TemporaryDirectory() as d:
        port_file = os.path.join(d, "port")
        senv = dict(
            env, DMLC_ROLE="scheduler", DMLC_PS_ROOT_PORT="0", DISTNET_SCHEDULER_PORT_FILE=port_file
        )
        procs = [_spawn(role_args or [SERVER.format(here=HERE), "scheduler"], senv, "scheduler")]
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or procs[0].popen.poll() is not None:
                raise RuntimeError("scheduler did not start: " + procs[0].popen.stderr.read())
            time.sleep(0.02)
        env["DMLC_PS_ROOT_PORT"] = open(port_file).read()
    for s in range(num_servers):
        procs.append(
            _spawn(
                role_args or [SERVER.format(here=HERE), "server"],
                dict(env, DMLC_ROLE="server", DMLC_SERVER_ID=str(s)),
                f"server {s}",
            )
        )
    return env, procs


def start_workers(env, target, num_workers, extra=None):
    return [
        _spawn(
            [WORKER.format(here=HERE), target],
            dict(env, DMLC_ROLE="worker", DMLC_WORKER_ID=str(r), **(extra or {})),
            f"worker {r}",
        )
        for r in range(num_workers)
    ]


def run_job(target, num_workers=3, num_servers=2, timeout=60, extra=None, user_script=False):
    """Run `target` on every worker; returns (workers, servers_and_scheduler) finished."""
    env, infra = start_job(num_workers, num_servers, extra, target if user_script else None)
    workers = start_workers(env, target, num_workers)
    deadline = time.monotonic() + timeout
    for p in workers + infra:
        p.finish(deadline)
    return workers, infra


def explain(procs):
    return "\n".join(f"--- {p.role} exit {p.code}\n{p.out[-3000:]}\n{p.err[-3000:]}" for p in procs)
