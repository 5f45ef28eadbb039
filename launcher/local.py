"""Local jobs: the scheduler, S servers and W workers as children of the launcher.

The scheduler starts first with `DMLC_PS_ROOT_PORT` = --port (0: any) and binds it
itself, then writes the bound port to `DISTNET_SCHEDULER_PORT_FILE`; only then are the
servers and workers started with the real port. So no port is ever picked by
bind-then-close, and nothing can steal it between the pick and the use.
"""

from __future__ import annotations

import os
import tempfile
from typing import Dict, List, Optional

from launcher import roles
from launcher.agent import Agent
from launcher.config import LaunchConfig, ProcSpec


def scheduler_spec(
    config: LaunchConfig, common: Dict[str, str], port_file: Optional[str]
) -> ProcSpec:
    """The scheduler process (server-side --env-server applies to it too)."""
    env = {
        **common,
        **roles.extra_env(config.env, config.env_server),
        **roles.scheduler_env(port_file),
    }
    return ProcSpec("scheduler", None, config.scheduler_cmd, env, service=True)


def server_specs(config: LaunchConfig, common: Dict[str, str]) -> List[ProcSpec]:
    """One spec per server, DMLC_SERVER_ID 0..S-1."""
    extra = roles.extra_env(config.env, config.env_server)
    return [
        ProcSpec(
            "server", i, config.server_cmd, {**common, **extra, **roles.server_env(i)}, service=True
        )
        for i in range(config.num_servers)
    ]


def worker_specs(
    config: LaunchConfig, common: Dict[str, str], local_ranks: Optional[List[tuple]] = None
) -> List[ProcSpec]:
    """One spec per worker; `local_ranks[i]` is (LOCAL_RANK, LOCAL_WORLD_SIZE)."""
    w = config.num_workers
    local_ranks = local_ranks or [(i, w) for i in range(w)]
    extra = roles.extra_env(config.env, config.env_worker)
    return [
        ProcSpec(
            "worker",
            i,
            config.command,
            {**common, **extra, **roles.worker_env(i, w, *local_ranks[i])},
        )
        for i in range(w)
    ]


def run(config: LaunchConfig, agent: Agent) -> int:
    """Run a local job to its end and return the launcher's exit code."""
    token = roles.new_token()
    uri = config.host_ip or "127.0.0.1"
    with tempfile.TemporaryDirectory(prefix="distnet-launch-") as tmp:
        port = config.port
        if config.num_servers > 0:
            port_file = os.path.join(tmp, "scheduler.port")
            common = roles.job_env(
                config.num_workers, config.num_servers, uri, port, token, config.start_timeout
            )
            agent.start(scheduler_spec(config, common, port_file))
            port = agent.wait_for(
                lambda: roles.read_port_file(port_file),
                config.start_timeout,
                "the scheduler did not report its port",
            )
        if not agent.failed:
            common = roles.job_env(
                config.num_workers, config.num_servers, uri, port, token, config.start_timeout
            )
            for spec in server_specs(config, common) + worker_specs(config, common):
                agent.start(spec)
        return agent.run()
