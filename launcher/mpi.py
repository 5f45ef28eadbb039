"""mpi jobs: one `mpiexec -n (1+S+W)` (or `-n W` with `-s 0`) running `launcher.mpi_boot`.

The bootstrap maps each MPI rank to a role (0 scheduler, 1..S servers, the rest workers),
sets the same variables as a local job and execs the role's command; see
`launcher/mpi_boot.py`. Variables reach the ranks by environment inheritance, which is
the default of MPICH's hydra (-genvall) and of Open MPI on one host.

The port: on one host (no -H) and no --port, the scheduler writes its bound port to a
port file as in a local job and the other ranks' bootstraps wait for that file, so no
port is picked in advance. With a hostfile the ranks do not share the file, so the
launcher uses --port, or else a port it finds free on its own host (bind port 0, close);
that can race with another program; pass --port on a real cluster.

With `-s 0` no DMLC_* variable is set at all: the workers are plain MPI ranks and the
kvstore uses MPI allreduce. The agent watches mpiexec as one process: its exit is the
job's. A rank whose role exits non-zero says so on stderr (see mpi_boot) and the agent
stops mpiexec at once, naming that rank: hydra alone would wait for the other ranks.

With servers, mpiexec ends when every rank has: the scheduler and servers must end on
their own when the workers close their kvstores (the kvstore protocol does that);
unlike a local job, the launcher cannot tell them to stop once the workers are done.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
import tempfile
from typing import Dict, List

from launcher import roles
from launcher.agent import Agent
from launcher.cli import SCHEDULER_CMD_VAR, SERVER_CMD_VAR
from launcher.config import LaunchConfig, ProcSpec
from launcher.ssh import parse_hostfile


def find_mpiexec() -> str:
    """mpiexec on PATH, or next to this Python (the `mpich` wheel); OSError if none."""
    found = shutil.which("mpiexec")
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(beside, os.X_OK):
        return beside
    raise OSError(
        "mpiexec not found: install the mpi extra (pip install 'distnet[mpi]') "
        "or an MPI implementation"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _boot_args(config: LaunchConfig) -> List[str]:
    args = ["--num-workers", str(config.num_workers), "--num-servers", str(config.num_servers)]
    if config.log_dir:
        args += ["--log-dir", os.path.abspath(config.log_dir)]
    for name, value in config.env_worker:
        args += ["--env-worker", f"{name}={value}"]
    for name, value in config.env_server:
        args += ["--env-server", f"{name}={value}"]
    return args + ["--"] + list(config.command)


def _job_env(config: LaunchConfig, tmp: str) -> Dict[str, str]:
    """Variables every rank inherits: the job's (none of DMLC_* with -s 0) and --env."""
    env = roles.extra_env(config.env)
    if config.num_servers == 0:
        shared = roles.job_env(
            config.num_workers, 0, None, None, roles.new_token(), config.start_timeout
        )
        env.update({k: v for k, v in shared.items() if not k.startswith("DMLC_")})
        return env
    port, uri = config.port, config.host_ip
    if config.hostfile:
        port = port or _free_port()
        uri = uri or parse_hostfile(config.hostfile)[0][0]  # hydra puts rank 0 there
    env.update(
        roles.job_env(
            config.num_workers,
            config.num_servers,
            uri,
            port,
            roles.new_token(),
            config.start_timeout,
        )
    )
    if not port:
        env[roles.PORT_FILE_VAR] = os.path.join(tmp, "scheduler.port")
    env[SCHEDULER_CMD_VAR] = shlex.join(config.scheduler_cmd)
    env[SERVER_CMD_VAR] = shlex.join(config.server_cmd)
    return env


def plan(config: LaunchConfig, tmp: str) -> ProcSpec:
    """The single mpiexec process of the job."""
    n = config.num_workers + (1 + config.num_servers if config.num_servers else 0)
    argv = [find_mpiexec(), "-n", str(n)]
    if config.hostfile:
        argv += ["-f", config.hostfile]
    argv += [sys.executable, "-m", "launcher.mpi_boot"] + _boot_args(config)
    # The ranks prefix their own lines ([worker 2] ...), so mpiexec's output is not.
    return ProcSpec("mpiexec", None, tuple(argv), _job_env(config, tmp), prefix=False)


def run(config: LaunchConfig, agent: Agent) -> int:
    """Run an mpi job to its end and return the launcher's exit code."""
    with tempfile.TemporaryDirectory(prefix="distnet-launch-") as tmp:
        agent.start(plan(config, tmp))
        return agent.run()
