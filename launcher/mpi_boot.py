"""Bootstrap of one MPI rank: `python -m launcher.mpi_boot [options] -- COMMAND ...`.

Reads its rank from the MPI launcher's variables (PMI_RANK, OMPI_COMM_WORLD_RANK or
PMIX_RANK; mpi4py is not imported), maps it to a role (rank 0 scheduler, 1..S servers,
the rest workers; with `-s 0` every rank is a worker), sets that role's variables and
execs its command, so the process MPI started is the role itself.

Before the exec it forks a small pump that prefixes every output line with the role
(`[worker 2] `) and copies it to `<log-dir>/worker-2.log`: hydra's own rank prefixes
split lines at arbitrary chunk boundaries, so they are not used.
"""
from __future__ import annotations

import argparse
import os
import select
import shlex
import signal
import sys
import time
from typing import Dict, List, Optional, Tuple

from launcher import roles
from launcher.cli import SCHEDULER_CMD_VAR, SERVER_CMD_VAR

_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_LOCAL_VARS = (("MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
               ("OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"))


def mpi_rank(environ) -> int:
    """This process's MPI rank; ValueError outside an MPI launch."""
    for name in _RANK_VARS:
        if environ.get(name, "").isdigit():
            return int(environ[name])
    raise ValueError("launcher.mpi_boot: no MPI rank variable (" + ", ".join(_RANK_VARS)
                     + "); run it under mpiexec")


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


def _pump(fds: Dict[int, int], prefix: bytes, log) -> None:
    """Copy each pipe in `fds` to its target fd line by line with `prefix`, until EOF."""
    pending = {fd: b"" for fd in fds}
    while pending:
        ready, _, _ = select.select(list(pending), [], [])
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                lines = (pending[fd] + chunk).split(b"\n")
                pending[fd] = lines.pop()
            else:  # EOF: flush a last line that had no newline
                tail = pending.pop(fd)
                lines = [tail] if tail else []
                os.close(fd)
            for line in lines:
                os.write(fds[fd], prefix + line + b"\n")
                if log is not None:
                    log.write(line + b"\n")
                    log.flush()


def prefix_output(name: str, log_path: Optional[str]) -> None:
    """Fork a pump and point our stdout/stderr at it; the exec'd role inherits that."""
    (r_out, w_out), (r_err, w_err) = os.pipe(), os.pipe()
    if os.fork() == 0:
        os.close(w_out), os.close(w_err)
        # The role reacts to Ctrl-C/SIGTERM; the pump stays to drain its last words.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log = open(log_path, "ab") if log_path else None
        try:
            _pump({r_out: 1, r_err: 2}, f"[{name}] ".encode(), log)
        finally:
            os._exit(0)
    os.close(r_out), os.close(r_err)
    os.dup2(w_out, 1), os.dup2(w_err, 2)
    os.close(w_out), os.close(w_err)


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
    if args.num_servers and not env.get("DMLC_ROLE") == "scheduler" \
            and roles.PORT_FILE_VAR in environ:
        port = _wait_port(environ)
        if port is None:
            print(f"launcher.mpi_boot: {name}: the scheduler did not report its port "
                  f"within {environ.get(roles.START_TIMEOUT_VAR)} s", file=sys.stderr)
            return 1
        env["DMLC_PS_ROOT_PORT"] = str(port)
        environ.pop(roles.PORT_FILE_VAR)
    environ.update(env)
    log = os.path.join(args.log_dir, name.replace(" ", "-") + ".log") if args.log_dir else None
    sys.stdout.flush(), sys.stderr.flush()
    prefix_output(name, log)
    try:
        os.execvpe(cmd[0], cmd, environ)
    except OSError as exc:
        print(f"launcher.mpi_boot: {name}: cannot run {cmd[0]}: {exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
