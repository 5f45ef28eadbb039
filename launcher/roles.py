"""The environment each role of a job sees: one definition for local, ssh and mpi.

These are the variables the kvstore package reads (MXNet's `DMLC_*` names plus
torchrun's `RANK`/`WORLD_SIZE`/`LOCAL_RANK`/`LOCAL_WORLD_SIZE`). Plain functions of plain
values, so the mpi bootstrap can use them inside a rank without a `LaunchConfig`.
"""

from __future__ import annotations

import os
import secrets
from typing import Dict, Iterable, Optional, Tuple

#: File the scheduler writes its bound port to (decimal, written atomically).
PORT_FILE_VAR = "DISTNET_SCHEDULER_PORT_FILE"
TOKEN_VAR = "DISTNET_JOB_TOKEN"
#: Set to "tty" for rank 0 when the launcher's stderr is a terminal (a progress bar shows).
PROGRESS_VAR = "DISTNET_PROGRESS"
START_TIMEOUT_VAR = "DISTNET_START_TIMEOUT"


def new_token() -> str:
    """A fresh random job token; every message of the job carries it."""
    return secrets.token_hex(16)


def job_env(
    num_workers: int,
    num_servers: int,
    root_uri: Optional[str],
    root_port: Optional[int],
    token: str,
    start_timeout: float,
) -> Dict[str, str]:
    """Variables every role of a job shares.

    With no servers (`-s 0`) there is no scheduler, so no root URI/port is set and the
    workers' kvstore stays local (or uses MPI under mpiexec).
    """
    env = {
        "DMLC_NUM_WORKER": str(num_workers),
        "DMLC_NUM_SERVER": str(num_servers),
        TOKEN_VAR: token,
        START_TIMEOUT_VAR: _seconds(start_timeout),
    }
    if num_servers > 0:
        env["DMLC_PS_ROOT_URI"] = root_uri or "127.0.0.1"
        env["DMLC_PS_ROOT_PORT"] = str(root_port or 0)
    return env


def scheduler_env(port_file: Optional[str]) -> Dict[str, str]:
    """Role variables of the scheduler; it writes its port to `port_file` if given."""
    env = {"DMLC_ROLE": "scheduler"}
    if port_file:
        env[PORT_FILE_VAR] = port_file
    return env


def server_env(server_id: int) -> Dict[str, str]:
    """Role variables of server `server_id`."""
    return {"DMLC_ROLE": "server", "DMLC_SERVER_ID": str(server_id)}


#: Thread-pool sizes of the BLAS/OpenMP libraries numpy may use.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker_env(
    rank: int, world_size: int, local_rank: int, local_world_size: int
) -> Dict[str, str]:
    """Role variables of worker `rank` (DMLC_WORKER_ID equals RANK), plus thread caps."""
    env = {
        "DMLC_ROLE": "worker",
        "DMLC_WORKER_ID": str(rank),
        "RANK": str(rank),
        "WORLD_SIZE": str(world_size),
        "LOCAL_RANK": str(local_rank),
        "LOCAL_WORLD_SIZE": str(local_world_size),
    }
    env.update(thread_env(local_world_size))
    return env


def thread_env(local_world_size: int) -> Dict[str, str]:
    """Split the host's cores among its local workers, as torchrun does with OMP threads.

    Without this, every worker's BLAS starts one spinning thread per core, and W workers
    on C cores run W*C threads that stall each other (measured: 10-50x slower on 2 cores).
    Variables the user set are left alone.
    """
    threads = max(1, (os.cpu_count() or 1) // max(1, local_world_size))
    return {var: str(threads) for var in THREAD_VARS if var not in os.environ}


def extra_env(*pairs: Iterable[Tuple[str, str]]) -> Dict[str, str]:
    """Merge --env style (name, value) pair lists, later ones winning."""
    env: Dict[str, str] = {}
    for group in pairs:
        env.update(dict(group))
    return env


def read_port_file(path: str) -> Optional[int]:
    """The port in `path`, or None while the scheduler has not written it yet."""
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    # The scheduler renames a finished file into place, so a partial read means a
    # writer that ignored the contract; treat it as "not yet" rather than crash.
    return int(text) if text.isdigit() else None


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
