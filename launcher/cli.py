"""`distnet-launch` command line: argv in, frozen `LaunchConfig` out.

Parsing does nothing else: no process is started and no file is touched here. `main`
hands the config to `launcher.run.launch`, which owns everything that happens next.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import List, Mapping, Optional, Sequence, Tuple

from launcher.config import DEFAULT_GRACE, DEFAULT_START_TIMEOUT, LaunchConfig

#: Environment variables that replace the kvstore role commands (shell-split strings).
SCHEDULER_CMD_VAR = "DISTNET_SCHEDULER_CMD"
SERVER_CMD_VAR = "DISTNET_SERVER_CMD"


def _env_pair(text: str) -> Tuple[str, str]:
    """Parse one `K=V` argument; V may be empty or contain '='."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for `distnet-launch` (also used for --help)."""
    p = argparse.ArgumentParser(
        prog="distnet-launch",
        description="Start a distributed distnet job: one scheduler, S servers, W workers.",
    )
    p.add_argument("-n", "--num-workers", type=int, required=True, help="number of workers")
    p.add_argument(
        "-s",
        "--num-servers",
        type=_non_negative_int,
        default=None,
        help="number of servers (default: the number of workers; 0: workers only)",
    )
    p.add_argument("--launcher", choices=("local", "mpi", "ssh", "slurm"), default="local")
    p.add_argument("-H", "--hostfile", help="file of 'host[:slots]' lines (ssh, mpi)")
    p.add_argument(
        "--host-ip",
        help="address the scheduler listens on (default 127.0.0.1, "
        "or the first host of the hostfile)",
    )
    p.add_argument(
        "--port",
        type=_non_negative_int,
        default=0,
        help="scheduler port (default 0: the scheduler picks a free one)",
    )
    p.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="K=V",
        help="set K=V for every process",
    )
    p.add_argument(
        "--env-worker",
        type=_env_pair,
        action="append",
        default=[],
        metavar="K=V",
        help="set K=V for the workers",
    )
    p.add_argument(
        "--env-server",
        type=_env_pair,
        action="append",
        default=[],
        metavar="K=V",
        help="set K=V for the servers and the scheduler",
    )
    p.add_argument("--log-dir", help="also write each process's output to DIR/<role>-<rank>.log")
    p.add_argument(
        "--start-timeout",
        type=float,
        default=DEFAULT_START_TIMEOUT,
        help="seconds the job may take to start (default %(default)s)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="seconds between SIGTERM and SIGKILL when stopping (default %(default)s)",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="the worker command")
    return p


def _role_cmd(environ: Mapping[str, str], var: str, module: str) -> Tuple[str, ...]:
    """The kvstore role argv, or the override from `var`."""
    override = environ.get(var, "").strip()
    if override:
        return tuple(shlex.split(override))
    return (sys.executable, "-m", module)


def _worker_command(command: Sequence[str]) -> Tuple[str, ...]:
    """Drop a leading '--'; run a `.py` file with this Python, like `python train.py`."""
    cmd = list(command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if cmd and cmd[0].endswith(".py"):
        cmd = [sys.executable] + cmd
    return tuple(cmd)


def parse_args(
    argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None
) -> LaunchConfig:
    """Parse `distnet-launch` arguments into a `LaunchConfig` (exits 2 on bad usage)."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    command = _worker_command(ns.command)
    if not command:
        parser.error("no command given (e.g. distnet-launch -n 2 train.py)")
    if ns.num_workers < 1:
        parser.error(f"-n must be at least 1, got {ns.num_workers}")
    if ns.launcher == "ssh" and not ns.hostfile:
        parser.error("--launcher ssh needs -H HOSTFILE")
    if ns.start_timeout <= 0 or ns.grace < 0:
        parser.error("--start-timeout must be > 0 and --grace >= 0")
    return LaunchConfig(
        num_workers=ns.num_workers,
        num_servers=ns.num_workers if ns.num_servers is None else ns.num_servers,
        command=command,
        launcher=ns.launcher,
        hostfile=ns.hostfile,
        host_ip=ns.host_ip,
        port=ns.port,
        env=tuple(ns.env),
        env_worker=tuple(ns.env_worker),
        env_server=tuple(ns.env_server),
        log_dir=ns.log_dir,
        start_timeout=ns.start_timeout,
        grace=ns.grace,
        scheduler_cmd=_role_cmd(environ, SCHEDULER_CMD_VAR, "kvstore.scheduler"),
        server_cmd=_role_cmd(environ, SERVER_CMD_VAR, "kvstore.server"),
    )


def main(argv: Optional[List[str]] = None) -> int:
    """Console-script entry point: parse, then run the job; returns the exit code."""
    config = parse_args(argv)
    from launcher.run import launch  # imported here so parsing stays side-effect free

    return launch(config)
