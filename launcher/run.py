"""Run a parsed `LaunchConfig`: pick the backend, give it an agent, return the exit code."""

from __future__ import annotations

import sys

from launcher.agent import Agent
from launcher.config import LaunchConfig


def launch(config: LaunchConfig) -> int:
    """Start the job `config` describes and wait for its end; returns the exit code."""
    agent = Agent(grace=config.grace, log_dir=config.log_dir)
    agent.install_signal_handlers()
    if config.launcher == "mpi":
        from launcher import mpi as backend
    elif config.launcher == "slurm":
        from launcher import slurm as backend
    elif config.launcher == "ssh":
        from launcher import ssh as backend
    else:
        from launcher import local as backend
    try:
        return backend.run(config, agent)
    except (OSError, ValueError) as exc:  # a bad hostfile, no mpiexec: say so, stop
        sys.stderr.write(f"distnet-launch: {exc}\n")
        agent.abort()
        return 1
