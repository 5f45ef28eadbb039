"""ssh jobs: every process started as `ssh -o BatchMode=yes HOST 'cd CWD && env K=V ... CMD'`.

Hostfile lines are `host[:slots]` (blank lines and `#` comments ignored). Workers fill
the hosts' slots round-robin (worker i takes slot i mod total), servers go round-robin
over the hosts, the scheduler runs on the first host, which is also the root URI unless
--host-ip says otherwise.

The port: the scheduler runs on another machine, so the launcher cannot read its port
file. It therefore uses --port, or else a port it finds free on its own host by binding
port 0 and closing it. That can race with another program, and the port may be taken on
the scheduler's host; pass --port on a real cluster. Servers and workers start together
with the scheduler and connect to it within DISTNET_START_TIMEOUT.

Only the job's variables (and PYTHONPATH) travel to the remote side, not the launcher's
whole environment, which holds host-specific values such as PATH. The job token never
appears on a command line (`ps` shows command lines to every user of both hosts): ssh
reads it from its stdin, and the remote `sh` (`_REMOTE`) reads it into the environment.

The remote side also ends with the launcher. Without a terminal, sshd does not signal a
remote command when its ssh client dies, so the launcher keeps ssh's stdin open for the
whole job: the remote `sh` runs the command in its own session (`setsid`) and waits for
EOF on that stdin, which comes when the launcher stops the job or dies (SIGKILL included:
the kernel closes the pipe, and the local ssh dies with the launcher). It then sends the
command's process group SIGTERM, and SIGKILL 5 s later (a descendant that left that group
is out of its reach).
"""

from __future__ import annotations

import os
import shlex
import socket
from typing import Dict, List, Tuple

from launcher import local, roles
from launcher.agent import Agent
from launcher.config import LaunchConfig, ProcSpec

_FORWARDED = ("PYTHONPATH", "PYTHONUNBUFFERED")


def parse_hostfile(path: str) -> List[Tuple[str, int]]:
    """[(host, slots)] from a hostfile; raises ValueError naming a bad line."""
    hosts = []
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            host, _, slots = line.partition(":")
            if not host or (slots and not slots.isdigit()) or slots == "0":
                raise ValueError(f"{path}:{lineno}: expected 'host[:slots]', got {line!r}")
            hosts.append((host, int(slots or 1)))
    if not hosts:
        raise ValueError(f"{path}: no hosts")
    return hosts


def assign_workers(hosts: List[Tuple[str, int]], num_workers: int) -> List[Tuple[str, int, int]]:
    """(host, LOCAL_RANK, LOCAL_WORLD_SIZE) per worker, filling slots round-robin."""
    slots = [h for h, n in hosts for _ in range(n)]
    placed = [slots[i % len(slots)] for i in range(num_workers)]
    out = []
    for i, host in enumerate(placed):
        out.append((host, placed[:i].count(host), placed.count(host)))
    return out


#: The remote wrapper: the first line of stdin is the job token; "$@" runs in its own
#: session (setsid, where the host has it) with stdin from /dev/null; a watcher (deaf to
#: SIGTERM) reads the rest of stdin and, at EOF, stops that session's process group
#: (SIGTERM, SIGKILL 5 s later); the wrapper exits with the command's status.
_REMOTE = (
    "IFS= read -r {var} || exit 125; export {var}; "
    'command -v setsid >/dev/null 2>&1 && set -- setsid "$@"; exec 3<&0; '
    '"$@" </dev/null 3<&- & job=$!; '
    '{{ trap "" TERM; while IFS= read -r _ <&3; do :; done; '
    "kill -TERM -$job || kill -TERM $job; sleep 5; "
    "kill -KILL -$job || kill -KILL $job; }} >/dev/null 2>&1 & watch=$!; "
    "exec 3<&-; wait $job; code=$?; kill -KILL $watch 2>/dev/null; exit $code"
).format(var=roles.TOKEN_VAR)


def remote_command(spec: ProcSpec, cwd: str) -> str:
    """The shell command ssh runs remotely for `spec`, quoted with shlex; everything but
    the job token, which the remote `sh` reads from stdin."""
    env = {k: v for k, v in spec.env.items() if k != roles.TOKEN_VAR}
    for name in _FORWARDED:
        if name in os.environ and name not in env:
            env[name] = os.environ[name]
    assigns = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    return (
        f"cd {shlex.quote(cwd)} && exec sh -c {shlex.quote(_REMOTE)} distnet-job "
        f"env {assigns} {shlex.join(spec.argv)}"
    )


def over_ssh(spec: ProcSpec, host: str, cwd: str) -> ProcSpec:
    """`spec` wrapped in an ssh call to `host`; the env travels in the command, the job
    token on ssh's stdin."""
    argv = ("ssh", "-o", "BatchMode=yes", host, remote_command(spec, cwd))
    token = spec.env.get(roles.TOKEN_VAR)
    return ProcSpec(
        spec.role,
        spec.rank,
        argv,
        {},
        None,
        spec.service,
        spec.prefix,
        stdin=None if token is None else token + "\n",
        host=host,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def plan(config: LaunchConfig, cwd: str) -> List[ProcSpec]:
    """Every process of the job, already wrapped in ssh."""
    hosts = parse_hostfile(config.hostfile)
    uri = config.host_ip or hosts[0][0]
    port = config.port or (_free_port() if config.num_servers else 0)
    common: Dict[str, str] = roles.job_env(
        config.num_workers, config.num_servers, uri, port, roles.new_token(), config.start_timeout
    )
    placed = assign_workers(hosts, config.num_workers)
    specs = []
    if config.num_servers:
        specs.append(over_ssh(local.scheduler_spec(config, common, None), hosts[0][0], cwd))
        for spec in local.server_specs(config, common):
            specs.append(over_ssh(spec, hosts[spec.rank % len(hosts)][0], cwd))
    workers = local.worker_specs(config, common, [(lr, lws) for _, lr, lws in placed])
    specs += [over_ssh(s, placed[s.rank][0], cwd) for s in workers]
    return specs


def run(config: LaunchConfig, agent: Agent) -> int:
    """Run an ssh job to its end and return the launcher's exit code."""
    for spec in plan(config, os.getcwd()):
        agent.start(spec)
    return agent.run()
