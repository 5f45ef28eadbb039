"""slurm jobs: inside an allocation (`salloc`/`sbatch`), one `srun` step runs every role.

`distnet-launch --launcher slurm -n W [-s S] train.py` starts
`srun --ntasks 1+S+W --kill-on-bad-exit=1 python -m launcher.slurm ...`; each task then
maps its Slurm task id to a role as an MPI rank does (task 0 the scheduler, 1..S the
servers, the rest the workers; see launcher/mpi_boot.py, which supervises the role with
the same prefixed output and failure report). Slurm places the tasks with its own
distribution (block by default: consecutive tasks fill a node), so the scheduler runs on
the first node of the step.

What comes from Slurm (no hostfile): the host list from SLURM_JOB_NODELIST (compressed,
`node[01-04,07]`; expanded here, as `scontrol show hostnames` would), whose first host is
DMLC_PS_ROOT_URI; per task SLURM_PROCID (rank), SLURM_LOCALID and SLURM_NODEID with
SLURM_STEP_TASKS_PER_NODE (local rank and local world size of a worker). The port is
--port, or a port found free on the launcher's node (bind port 0, close; pass --port on a
busy cluster). The job's variables reach the tasks through srun's default --export=ALL,
so the job token is never on a command line; servers bind the address their node uses
to reach the scheduler.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import sys
from typing import Dict, List, Mapping, Optional

from launcher import mpi_boot, roles
from launcher.agent import Agent
from launcher.cli import SCHEDULER_CMD_VAR, SERVER_CMD_VAR
from launcher.config import LaunchConfig, ProcSpec
from launcher.mpi import _boot_args as boot_args  # the bootstrap takes mpi_boot's options

NODELIST_VAR = "SLURM_JOB_NODELIST"


def expand_nodelist(text: str) -> List[str]:
    """Host names of a Slurm node list: 'a[01-03,7],b' -> ['a01', 'a02', 'a03', 'a7', 'b'].

    Zero padding of a range is kept; several bracket groups in one name multiply
    ('r[1-2]n[1-2]'). ValueError names the list if it is malformed.
    """
    hosts: List[str] = []
    for name in _split_top(text):
        hosts += _expand_name(name, text)
    if not hosts:
        raise ValueError(f"{NODELIST_VAR}={text!r}: no hosts")
    return hosts


def _split_top(text: str) -> List[str]:
    """Split on the commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text.strip():
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p for p in parts + [cur] if p]


def _expand_name(name: str, whole: str) -> List[str]:
    m = re.match(r"^([^\[\]]*)\[([^\[\]]+)\](.*)$", name)
    if not m:
        if "[" in name or "]" in name:
            raise ValueError(f"{NODELIST_VAR}={whole!r}: unbalanced brackets in {name!r}")
        return [name]
    head, ranges, tail = m.groups()
    out = []
    for part in ranges.split(","):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()) or (sep and int(hi) < int(lo)):
            raise ValueError(f"{NODELIST_VAR}={whole!r}: bad range {part!r} in {name!r}")
        width = len(lo)
        for n in range(int(lo), int(hi if sep else lo) + 1):
            out += [f"{head}{n:0{width}d}{t}" for t in _expand_name(tail, whole)]
    return out


def tasks_per_node(text: str) -> List[int]:
    """Slurm's compressed per-node task counts: '2(x3),1' -> [2, 2, 2, 1]."""
    counts = []
    for part in text.split(","):
        m = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
        if not m:
            raise ValueError(f"bad Slurm tasks-per-node list {text!r}")
        counts += [int(m.group(1))] * int(m.group(2) or 1)
    return counts


def mpi_view(environ: Mapping[str, str]) -> Dict[str, str]:
    """The facts of a Slurm task under the names launcher.mpi_boot reads (PMI_RANK,
    PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS); only for the role mapping, the role's
    own environment is not changed."""
    view = dict(environ)
    view["PMI_RANK"] = environ["SLURM_PROCID"]
    view["PMI_SIZE"] = environ.get("SLURM_NTASKS", environ.get("SLURM_NPROCS", ""))
    per_node = environ.get("SLURM_STEP_TASKS_PER_NODE") or environ.get("SLURM_TASKS_PER_NODE")
    node = environ.get("SLURM_NODEID", "")
    if per_node and node.isdigit() and "SLURM_LOCALID" in environ:
        view["MPI_LOCALRANKID"] = environ["SLURM_LOCALID"]
        view["MPI_LOCALNRANKS"] = str(tasks_per_node(per_node)[int(node)])
    return view


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _job_env(config: LaunchConfig, environ: Mapping[str, str]) -> Dict[str, str]:
    """What every task inherits: the job's variables, rooted at the first node."""
    nodelist = environ.get(NODELIST_VAR)
    if not nodelist:
        raise ValueError(
            f"--launcher slurm runs inside a Slurm allocation (salloc, sbatch): "
            f"{NODELIST_VAR} is not set"
        )
    env = roles.extra_env(config.env)
    uri = config.host_ip or expand_nodelist(nodelist)[0]
    port = (config.port or _free_port()) if config.num_servers else None
    shared = roles.job_env(
        config.num_workers, config.num_servers, uri, port, roles.new_token(), config.start_timeout
    )
    if not config.num_servers:  # plain ranks: the kvstore stays local or uses MPI
        shared = {k: v for k, v in shared.items() if not k.startswith("DMLC_")}
    env.update(shared)
    env[SCHEDULER_CMD_VAR] = shlex.join(config.scheduler_cmd)
    env[SERVER_CMD_VAR] = shlex.join(config.server_cmd)
    return env


def plan(config: LaunchConfig, environ: Optional[Mapping[str, str]] = None) -> ProcSpec:
    """The single srun process of the job."""
    environ = os.environ if environ is None else environ
    env = _job_env(config, environ)  # first: outside an allocation, say that
    srun = shutil.which("srun", path=environ.get("PATH"))
    if not srun:
        raise OSError("--launcher slurm: srun not found on PATH")
    n = config.num_workers + (1 + config.num_servers if config.num_servers else 0)
    argv = [
        srun,
        f"--ntasks={n}",
        "--kill-on-bad-exit=1",
        sys.executable,
        "-m",
        "launcher.slurm",
    ] + boot_args(config)
    return ProcSpec("srun", None, tuple(argv), env, prefix=False)


def run(config: LaunchConfig, agent: Agent) -> int:
    """Run a slurm job to its end and return the launcher's exit code."""
    agent.start(plan(config))
    return agent.run()


def main(argv: Optional[List[str]] = None) -> int:
    """One Slurm task: become its role (as launcher.mpi_boot does for an MPI rank)."""
    args = mpi_boot._parse(sys.argv[1:] if argv is None else argv)
    environ = dict(os.environ)
    try:
        env, cmd, name = mpi_boot.role_env(args, mpi_view(environ))
    except (ValueError, KeyError) as exc:
        print(f"launcher.slurm: {exc} (run under srun inside an allocation)", file=sys.stderr)
        return 1
    environ.update(env)
    log = os.path.join(args.log_dir, name.replace(" ", "-") + ".log") if args.log_dir else None
    return mpi_boot.supervise(cmd, environ, name, log)


if __name__ == "__main__":
    sys.exit(main())
