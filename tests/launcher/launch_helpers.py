"""Shared helpers of the launcher tests: run distnet-launch, read what the job printed."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "launch_worker.py")
STANDIN = os.path.join(HERE, "standin_role.py")
_LINE = re.compile(r"^\[(\w+)(?: (\d+))?\] (ENV|PID|PORT) (.*)$")


def standin_env(scheduler_args="", server_args=""):
    """Environment replacing the kvstore roles with tests/launcher/standin_role.py."""
    py = shlex.quote(sys.executable)
    return {
        "DISTNET_SCHEDULER_CMD": f"{py} {shlex.quote(STANDIN)} scheduler {scheduler_args}",
        "DISTNET_SERVER_CMD": f"{py} {shlex.quote(STANDIN)} server {server_args}",
    }


def launch(args, env=None, timeout=30, cwd=None):
    """Run `python -m launcher ARGS` to its end with a hard timeout; CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "launcher", *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=cwd,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"launcher did not finish in {timeout} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def records(stdout, kind):
    """{'worker 0': value} for every `[worker 0] KIND value` line of the job's output."""
    found = {}
    for line in stdout.splitlines():
        m = _LINE.match(line)
        if m and m.group(3) == kind:
            name = m.group(1) if m.group(2) is None else f"{m.group(1)} {m.group(2)}"
            value = m.group(4)
            found[name] = json.loads(value) if kind == "ENV" else value
    return found


def pgids(stdout):
    """Process groups of every process that printed a PID line."""
    return {int(v.split()[1]) for v in records(stdout, "PID").values()}


def alive_in_groups(groups):
    """Pids of live (non-zombie) processes whose process group is in `groups`."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state ppid pgrp ...
        if int(fields[2]) in groups and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def alive_in_groups_after(groups, seconds):
    """`alive_in_groups`, polled until none is left or `seconds` have passed: a remote
    (ssh) role is stopped by its wrapper after the launcher has returned (SIGTERM, SIGKILL
    5 s later), so its exit may trail the launcher's."""
    deadline = time.monotonic() + seconds
    while True:
        alive = alive_in_groups(groups)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _state_and_parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def descendants(root):
    """Live (non-zombie) pids below `root` in the process tree."""
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        st = _state_and_parent(int(entry))
        if st is not None and st[0] != "Z":
            children.setdefault(st[1], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pids):
    """The pids of `pids` that still run (zombies count as ended)."""
    return [p for p in pids if (_state_and_parent(p) or ("Z",))[0] not in "ZX"]
