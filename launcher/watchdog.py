"""The job's watchdog: when the launcher dies without stopping the job, kill every process
of the job, grandchildren included.

Why a watchdog. A launcher killed with SIGKILL runs no code, and PR_SET_PDEATHSIG (set on
the direct children) only reaches direct children: a worker started through `bash -c`,
or DataLoader worker processes, would run on. A per-child subreaper would cost one extra
process per role and still miss processes that leave its tree; one watchdog per job costs
one small process and reacts at once, with no polling: it is started first, in its own
session (so the terminal's Ctrl-C or a kill of the launcher's group leaves it alone), and
reads a pipe whose only writer is the launcher. The kernel closes that pipe when the
launcher dies, however it dies; EOF before the launcher's "done" line means the launcher
is gone, so the watchdog

1. finds the job's processes: every process in the sessions/process groups of the
   processes the launcher started (each starts its own session) and every process whose
   environment carries this job's token (one that left the session too, e.g. a daemon);
2. sends them SIGCONT (a stopped process could not act on the next signal) and SIGTERM,
   waits up to the grace period (at most 5 s), then SIGKILLs what is left, and rescans
   until nothing of the job is alive, so a process forked meanwhile is caught too.

Lines on stdin: `token <hex>`, `grace <seconds>`, `pid <pid>` (a started process, the
leader of its own session), `sweep` (the launcher has stopped the job itself: SIGKILL
what is left of it at once, e.g. a process that left its group, and exit quietly).
`Watchdog` is the launcher's end of that pipe. Only the standard library is used; the
agent runs this file as a script (`python -S`, for a quick start).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Callable, Optional, Set

_MAX_GRACE = 5.0
_SCANS = 20


def _stat(pid: int):
    """(state, pgid, sid) of `pid`, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[2]), int(fields[3])


def _has_token(pid: int, marker: Optional[bytes]) -> bool:
    if not marker:
        return False
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        return False  # gone, or another user's process: not ours to kill


def job_processes(leaders: Set[int], marker: Optional[bytes]) -> Set[int]:
    """Live (non-zombie) pids in the sessions/groups led by `leaders`, or carrying `marker`."""
    found = set()
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        stat = _stat(pid)
        if stat is None or stat[0] in "ZX":
            continue
        if stat[1] in leaders or stat[2] in leaders or _has_token(pid, marker):
            found.add(pid)
    return found


def _signal_all(pids: Set[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_job(leaders: Set[int], marker: Optional[bytes], grace: float) -> int:
    """SIGCONT+SIGTERM the job's processes, SIGKILL them after `grace`; returns how many."""
    if not os.path.isdir("/proc"):  # no /proc (not Linux): the groups are all we know
        for pgid in leaders:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.killpg(pgid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
        return len(leaders)
    pids = job_processes(leaders, marker)
    seen = set(pids)
    _signal_all(pids, signal.SIGCONT)
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + min(grace, _MAX_GRACE)
    while pids and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = job_processes(leaders, marker)
    for _ in range(_SCANS):
        pids = job_processes(leaders, marker)
        if not pids:
            break
        seen |= pids
        _signal_all(pids, signal.SIGKILL)
        time.sleep(0.05)
    return len(seen)


class Watchdog:
    """The launcher's side: starts the watchdog with the first process, tells it each new
    process and the job token, and asks it to sweep once the job is stopped."""

    def __init__(self, grace: float, report: Callable[[str], None]):
        self.grace = grace
        self._report = report
        self._popen: Optional[subprocess.Popen] = None
        self._failed = False
        self._token: Optional[str] = None

    def _start(self) -> bool:
        try:
            self._popen = subprocess.Popen(
                [sys.executable, "-S", os.path.abspath(__file__)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:  # the job still runs; only a killed launcher would leak
            self._report(
                f"could not start the watchdog ({exc}); if the launcher is "
                f"killed, the job's grandchildren may outlive it"
            )
            self._failed = True
            return False
        return self._send(f"grace {self.grace:g}")

    def _send(self, *lines: str) -> bool:
        try:
            self._popen.stdin.write(("\n".join(lines) + "\n").encode())
            self._popen.stdin.flush()
            return True
        except (OSError, ValueError):
            return False  # it died (killed by hand); the job itself is unaffected

    def watch(self, pid: int, token: Optional[str]) -> None:
        """A process was started (leading its own session); `token` is the job's."""
        if self._failed or (self._popen is None and not self._start()):
            return
        if token and token != self._token:
            self._token = token
            self._send(f"token {token}")
        self._send(f"pid {pid}")

    def sweep(self) -> None:
        """The job is stopped: the watchdog ends what is left of it (a process that left
        its group but not its session, or left both but carries the job token), exits."""
        if self._popen is not None:
            self._send("sweep")
            try:
                self._popen.stdin.close()
                self._popen.wait(5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
            self._popen = None


def main() -> int:
    """Read the launcher's lines; on EOF without `done`, kill the job (see module doc)."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe decides
    launcher = os.getppid()
    leaders: Set[int] = set()
    marker, grace = None, _MAX_GRACE
    for line in sys.stdin.buffer:
        word, _, value = line.strip().partition(b" ")
        if word == b"sweep":
            kill_job(leaders, marker, 0.0)
            return 0
        if word == b"pid" and value.isdigit():
            leaders.add(int(value))
        elif word == b"token" and value:
            marker = b"DISTNET_JOB_TOKEN=" + value
        elif word == b"grace":
            grace = float(value)
    count = kill_job(leaders, marker, grace)
    try:
        sys.stderr.write(
            f"distnet-launch watchdog: the launcher (pid {launcher}) died "
            f"without stopping the job; ended its {count} processes\n"
        )
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # the launcher's stderr went with it
    return 0


if __name__ == "__main__":
    sys.exit(main())
