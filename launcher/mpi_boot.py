"""Bootstrap of one MPI rank: `python -m launcher.mpi_boot [options] -- COMMAND ...`.

Reads its rank from the MPI launcher's variables (PMI_RANK, OMPI_COMM_WORLD_RANK or
PMIX_RANK; mpi4py is not imported), maps it to a role (rank 0 scheduler, 1..S servers,
the rest workers; with `-s 0` every rank is a worker), sets that role's variables and
runs its command as a child that inherits the MPI connection.

It stays as a thin supervisor rather than exec'ing, for two reasons: it prefixes every
output line with the role (`[worker 2] `) and copies it to `<log-dir>/worker-2.log`
(hydra's own rank prefixes split lines at chunk boundaries), and it announces a
non-zero exit to distnet-launch (hydra waits for the other ranks instead of ending the
job). Signals from mpiexec are forwarded; the child dies with the supervisor."""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

from launcher import roles
from launcher.cli import SCHEDULER_CMD_VAR, SERVER_CMD_VAR
from launcher.config import EXIT_MARKER

_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_LOCAL_VARS = (
    ("MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
    ("OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
)


def mpi_rank(environ) -> int:
    """This process's MPI rank; ValueError outside an MPI launch."""
    for name in _RANK_VARS:
        if environ.get(name, "").isdigit():
            return int(environ[name])
    raise ValueError(
        "launcher.mpi_boot: no MPI rank variable ("
        + ", ".join(_RANK_VARS)
        + "); run it under mpiexec"
    )


def role_of(rank: int, num_servers: int) -> Tuple[str, Optional[int]]:
    """(role, role rank) of MPI rank `rank`: 0 scheduler, 1..S servers, then workers."""
    if num_servers == 0:
        return "worker", rank
    if rank == 0:
        return "scheduler", None
    if rank <= num_servers:
        return "server", rank - 1
    return "worker", rank - 1 - num_servers


def _local(environ, worker: int, num_workers: int, all_workers: bool) -> Tuple[int, int]:
    """(LOCAL_RANK, LOCAL_WORLD_SIZE) of a worker.

    With only workers, MPI's own local rank is exact. With servers on the same host the
    MPI local numbering counts them too; on one host the worker rank is the local rank.
    """
    for rank_var, size_var in _LOCAL_VARS:
        if environ.get(rank_var, "").isdigit() and environ.get(size_var, "").isdigit():
            local, size = int(environ[rank_var]), int(environ[size_var])
            if all_workers:
                return local, size
            if size == int(environ.get("PMI_SIZE", environ.get("OMPI_COMM_WORLD_SIZE", -1))):
                return worker, num_workers
            return local, size  # multi-host with servers: MPI's numbering, approximately
    return worker, num_workers


def role_env(args, environ) -> Tuple[Dict[str, str], List[str], str]:
    """(variables to set, argv to exec, name) for this rank."""
    role, rank = role_of(mpi_rank(environ), args.num_servers)
    extra = dict(args.env_worker if role == "worker" else args.env_server)
    if role == "worker":
        local = _local(environ, rank, args.num_workers, args.num_servers == 0)
        env = roles.worker_env(rank, args.num_workers, *local)
        if args.num_servers == 0:  # plain MPI ranks: no DMLC_* at all
            env = {k: v for k, v in env.items() if not k.startswith("DMLC_")}
        argv = list(args.command)
    elif role == "server":
        env, argv = roles.server_env(rank), shlex.split(environ[SERVER_CMD_VAR])
    else:
        env = roles.scheduler_env(environ.get(roles.PORT_FILE_VAR))
        argv = shlex.split(environ[SCHEDULER_CMD_VAR])
    name = role if rank is None else f"{role} {rank}"
    return {**extra, **env}, argv, name


def _wait_port(environ) -> Optional[int]:
    """Wait (bounded by DISTNET_START_TIMEOUT) for the scheduler's port file."""
    path = environ[roles.PORT_FILE_VAR]
    deadline = time.monotonic() + float(environ.get(roles.START_TIMEOUT_VAR, "300"))
    while time.monotonic() < deadline:
        port = roles.read_port_file(path)
        if port is not None:
            return port
        time.sleep(0.05)
    return None


def _pump(pipe, out, prefix: bytes, log, tail) -> None:
    """Copy a child pipe line by line to `out` with `prefix`, to `log`, and to `tail`."""
    for line in iter(pipe.readline, b""):
        line = line if line.endswith(b"\n") else line + b"\n"
        tail.append(line.decode("utf-8", "replace").rstrip("\n"))
        out.write(prefix + line)
        out.flush()
        if log is not None:
            log.write(line)
            log.flush()


def supervise(cmd: List[str], env: Dict[str, str], name: str, log_path: Optional[str]) -> int:
    """Run the role as our child with prefixed output; report a failure; return its code.

    hydra does not end a job when one rank exits non-zero (only when one dies by a
    signal), so a non-zero exit is announced on stderr as one `EXIT_MARKER` JSON line;
    distnet-launch reads it as the job's first failure and stops mpiexec.
    """
    preexec = _pdeathsig()
    try:  # close_fds=False: the role inherits the PMI connection (PMI_FD) as with exec
        child = subprocess.Popen(
            cmd,
            env=env,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=preexec,
        )
    except OSError as exc:
        print(f"launcher.mpi_boot: {name}: cannot run {cmd[0]}: {exc}", file=sys.stderr)
        return 127
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: child.send_signal(signum))
    log = open(log_path, "ab") if log_path else None
    tails = {"stdout": collections.deque(maxlen=20), "stderr": collections.deque(maxlen=20)}
    prefix = f"[{name}] ".encode()
    pumps = [
        threading.Thread(
            target=_pump,
            args=(getattr(child, s), getattr(sys, s).buffer, prefix, log, tails[s]),
            daemon=True,
        )
        for s in ("stdout", "stderr")
    ]
    for t in pumps:
        t.start()
    code = child.wait()
    for t in pumps:
        t.join(2.0)  # bounded: a grandchild may hold the pipe
    if code != 0:
        report = {
            "name": name,
            "returncode": code,
            "where": f"pid {child.pid} on {_host()}",
            "tail": list(tails["stderr"] or tails["stdout"]),
        }
        sys.stderr.write(EXIT_MARKER + " " + json.dumps(report) + "\n")
        sys.stderr.flush()
    return 128 - code if code < 0 else code


def _host() -> str:
    import socket

    return socket.gethostname()


def _pdeathsig():
    """preexec: SIGKILL the role if this supervisor dies (hydra may SIGKILL us)."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _parse(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m launcher.mpi_boot")
    p.add_argument("--num-workers", type=int, required=True)
    p.add_argument("--num-servers", type=int, required=True)
    p.add_argument("--log-dir")
    pair = lambda text: tuple(text.split("=", 1))  # noqa: E731 - validated by distnet-launch
    p.add_argument("--env-worker", type=pair, action="append", default=[])
    p.add_argument("--env-server", type=pair, action="append", default=[])
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Become this rank's role; returns only on a setup error."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    environ = dict(os.environ)
    try:
        env, cmd, name = role_env(args, environ)
    except (ValueError, KeyError) as exc:
        print(f"launcher.mpi_boot: {exc}", file=sys.stderr)
        return 1
    if (
        args.num_servers
        and not env.get("DMLC_ROLE") == "scheduler"
        and roles.PORT_FILE_VAR in environ
    ):
        port = _wait_port(environ)
        if port is None:
            print(
                f"launcher.mpi_boot: {name}: the scheduler did not report its port "
                f"within {environ.get(roles.START_TIMEOUT_VAR)} s",
                file=sys.stderr,
            )
            return 1
        env["DMLC_PS_ROOT_PORT"] = str(port)
        environ.pop(roles.PORT_FILE_VAR)
    environ.update(env)
    log = os.path.join(args.log_dir, name.replace(" ", "-") + ".log") if args.log_dir else None
    return supervise(cmd, environ, name, log)


if __name__ == "__main__":
    sys.exit(main())
