"""The launcher's frozen data: what the user asked for, and what each process runs.

`LaunchConfig` is the parsed command line; `ProcSpec` is one process a backend wants the
agent to start. Both are immutable so that nothing downstream of the command line can
change what was asked for.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Tuple

#: Default bound on how long the job may take to start (scheduler port, registration).
DEFAULT_START_TIMEOUT = 300.0
#: Default seconds between SIGTERM and SIGKILL when the job is stopped.
DEFAULT_GRACE = 5.0
#: Start of the one-line JSON report a supervised rank prints on stderr when its role
#: exits non-zero (see launcher.mpi_boot); the agent takes it as that rank's failure.
EXIT_MARKER = "DISTNET-MPI-EXIT"
#: Start of the one-line JSON report the kvstore scheduler prints on stderr when a peer
#: stopped responding (kvstore/ps/scheduler.py has the same string): the agent names
#: that peer, not the scheduler, as the job's failure.
PEER_LOST_MARKER = "DISTNET-PEER-LOST "


@dataclasses.dataclass(frozen=True)
class LaunchConfig:
    """Everything `distnet-launch` was asked to do, resolved to plain values.

    `env`, `env_worker` and `env_server` are tuples of (name, value) pairs in command
    line order; `scheduler_cmd`/`server_cmd` are argv tuples for the kvstore roles.
    """

    num_workers: int
    num_servers: int
    command: Tuple[str, ...]
    launcher: str = "local"
    hostfile: Optional[str] = None
    host_ip: Optional[str] = None
    port: int = 0
    env: Tuple[Tuple[str, str], ...] = ()
    env_worker: Tuple[Tuple[str, str], ...] = ()
    env_server: Tuple[Tuple[str, str], ...] = ()
    log_dir: Optional[str] = None
    start_timeout: float = DEFAULT_START_TIMEOUT
    grace: float = DEFAULT_GRACE
    scheduler_cmd: Tuple[str, ...] = ()
    server_cmd: Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ProcSpec:
    """One process for the agent to start.

    `env` holds only the variables to set on top of the launcher's own environment.
    `service` marks the scheduler and servers: the job ends when every non-service
    process has exited 0, and services are then stopped. `prefix` is False for a
    process whose output already carries per-line prefixes (mpiexec's ranks), whose
    stderr may also carry `EXIT_MARKER` reports of the ranks' failures. `stdin` is text
    written to the process's stdin before it is closed (the ssh backend sends the job
    token that way: a command line is visible to every user through `ps`). `host` is
    where it runs, for messages.
    """

    role: str
    rank: Optional[int]
    argv: Tuple[str, ...]
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cwd: Optional[str] = None
    service: bool = False
    prefix: bool = True
    stdin: Optional[str] = None
    host: Optional[str] = None

    @property
    def name(self) -> str:
        """Human name used in messages and output prefixes: 'worker 2', 'scheduler'."""
        return self.role if self.rank is None else f"{self.role} {self.rank}"

    @property
    def log_name(self) -> str:
        """File name of this process's log in --log-dir: 'worker-2.log'."""
        return (self.role if self.rank is None else f"{self.role}-{self.rank}") + ".log"
