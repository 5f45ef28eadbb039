"""The agent: owns a job's processes, their output and their fate.

It starts each `ProcSpec` in its own session (so a whole process group can be signalled),
pumps its stdout/stderr line by line with a `[worker 2] ` prefix to the launcher's own
streams and to `<log-dir>/worker-2.log`, and decides how the job ends:

* every non-service process exited 0: success, services get SIGTERM, exit 0;
* the first process to exit non-zero (or die by a signal): every other group gets SIGTERM,
  then SIGKILL after the grace period; the launcher exits with that code (128+signum for
  a signal) after a message naming the process, its pid and host, and the last lines of
  its stderr. When the kvstore scheduler ended the job because a peer stopped responding
  (its `PEER_LOST_MARKER` line), that peer is named instead, with its host, address and
  pid, and whether it is stopped (SIGSTOP): the scheduler only reported it;
* SIGINT/SIGTERM to the launcher: the same stop, exit 130/143 (a second one kills now).

Every wait is bounded. If the launcher itself dies without stopping the job (SIGKILL,
SIGSEGV, an OOM kill), the job's watchdog (`launcher/watchdog.py`, started with the first
process) notices at once through a pipe and ends every process of the job, grandchildren
such as `bash -c` wrapped workers and DataLoader workers included, within the grace period
(at most 5 s); see that module for why a watchdog. Direct children also get
PR_SET_PDEATHSIG on Linux. SIGHUP (the terminal went away) stops the job like SIGTERM.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import List, Optional, Tuple

from launcher.config import DEFAULT_GRACE, EXIT_MARKER, PEER_LOST_MARKER, ProcSpec
from launcher.roles import PROGRESS_VAR, TOKEN_VAR
from launcher.watchdog import Watchdog


_POLL = 0.05
_TAIL_LINES = 20
_PUMP_JOIN = 2.0  # a grandchild may hold a pipe open; do not wait on it for long


class _Proc:
    """A started process: its Popen, output pumps, tails and log file."""

    def __init__(self, spec: ProcSpec, popen: subprocess.Popen, log):
        self.spec = spec
        self.popen = popen
        self.pgid = popen.pid  # start_new_session=True: the child leads its own group
        self.log = log
        self.tails = {
            "stdout": collections.deque(maxlen=_TAIL_LINES),
            "stderr": collections.deque(maxlen=_TAIL_LINES),
        }
        self.pumps: List[threading.Thread] = []
        self.returncode: Optional[int] = None
        self.reported: Optional[dict] = None  # a rank's EXIT_MARKER report (mpiexec)
        self.lost: Optional[dict] = None  # the scheduler's PEER_LOST_MARKER report

    def label(self) -> str:
        """'worker 1 (pid 4321 on node3)': name, pid and host for messages."""
        host = self.spec.host or socket.gethostname()
        via = "ssh pid" if self.spec.host else "pid"
        return f"{self.spec.name} ({via} {self.popen.pid} on {host})"

    def tail(self) -> List[str]:
        """Last lines of stderr, or of stdout when stderr was silent."""
        return list(self.tails["stderr"] or self.tails["stdout"])


def exit_code(returncode: int) -> int:
    """Shell-style exit code: a process killed by signal N counts as 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def describe_exit(name: str, returncode: int) -> str:
    """'worker 1 exited with code 3' or 'worker 1 was killed by signal SIGKILL'."""
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode).name
        except ValueError:
            sig = str(-returncode)
        return f"{name} was killed by signal {sig}"
    return f"{name} exited with code {returncode}"


def _feed(popen: subprocess.Popen, text: str) -> None:
    """Write `text` to the child's stdin (a few bytes: never blocks) and keep it open: the
    child may take its end (EOF) as the launcher's death or the job's stop (see ssh.py)."""
    try:
        popen.stdin.write(text.encode())
        popen.stdin.flush()
    except BrokenPipeError:
        pass  # it exited already; its exit status tells the rest


def _take_lost(proc: _Proc, line: str) -> bool:
    """Keep the scheduler's PEER_LOST_MARKER report (after an mpi rank prefix, if any)."""
    text = line.split(PEER_LOST_MARKER, 1)
    if text[0] and not (text[0].startswith("[") and text[0].endswith("] ")):
        return False
    try:
        rep = json.loads(text[1])
        rep = {
            "role": str(rep["role"]),
            "rank": int(rep["rank"]),
            "name": str(rep["name"]),
            "reason": str(rep["reason"]),
        }
    except (ValueError, KeyError, TypeError):
        return False
    if proc.lost is None:
        proc.lost = rep
    return True


def _state(pid: int) -> Optional[str]:
    """The process state letter from /proc (R, S, T, Z ...), None if unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _pdeathsig():
    """A preexec function asking Linux to SIGKILL the child if the launcher dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGKILL)


class Agent:
    """Starts processes and runs the job to its end; see the module docstring."""

    def __init__(
        self, grace: float = DEFAULT_GRACE, log_dir: Optional[str] = None, stdout=None, stderr=None
    ):
        self.grace = grace
        self.log_dir = log_dir
        self._out = {"stdout": stdout or sys.stdout, "stderr": stderr or sys.stderr}
        self._lock = threading.Lock()
        self._procs: List[_Proc] = []
        self._outcome: Optional[Tuple[int, Optional[str]]] = None
        self._signal: Optional[int] = None
        self._kill_now = False
        self._stopping = False
        self._preexec = _pdeathsig()
        self._watchdog = Watchdog(grace, self._report)
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)

    # -- starting -------------------------------------------------------------------
    def start(self, spec: ProcSpec) -> None:
        """Start `spec` in a new session with piped output; pumps start at once."""
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")  # prefixed lines should appear as printed
        env.update(spec.env)
        if self._progress_tty() and env.get("RANK") == "0" and env.get("DMLC_ROLE") == "worker":
            # rank 0 may draw a progress bar: its redraws reach our terminal (see _pump)
            env.setdefault(PROGRESS_VAR, "tty")
        log = None
        if self.log_dir:
            log = open(os.path.join(self.log_dir, spec.log_name), "w", encoding="utf-8")
        try:
            popen = subprocess.Popen(
                list(spec.argv),
                env=env,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL if spec.stdin is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=self._preexec,
            )
            if spec.stdin is not None:
                _feed(popen, spec.stdin)
        except OSError as exc:
            if log:
                log.close()
            self._fail(127, f"could not start {spec.name} ({spec.argv[0]}): {exc}")
            return
        self._watchdog.watch(popen.pid, spec.env.get(TOKEN_VAR))
        proc = _Proc(spec, popen, log)
        for stream in ("stdout", "stderr"):
            t = threading.Thread(
                target=self._pump,
                args=(proc, stream),
                name=f"pump {spec.name} {stream}",
                daemon=True,
            )
            t.start()
            proc.pumps.append(t)
        self._procs.append(proc)
        self._write_job_file()

    def _progress_tty(self) -> bool:
        isatty = getattr(self._out["stderr"], "isatty", None)
        return bool(isatty and isatty())

    def _redraws(self, proc: _Proc, stream: str) -> bool:
        """Whether this stream may carry carriage-return redraws (a progress bar) for our
        terminal: rank 0's stderr when the launcher's own stderr is a terminal."""
        return stream == "stderr" and self._progress_tty() and proc.spec.env.get("RANK") == "0"

    def _pump(self, proc: _Proc, stream: str) -> None:
        """Copy one pipe line by line, prefixed, to our stream and the log file."""
        prefix = f"[{proc.spec.name}] " if proc.spec.prefix else ""
        out = self._out[stream]
        pipe = getattr(proc.popen, stream)
        lines = (
            _segments(pipe, self._redraw_writer(out, prefix))
            if self._redraws(proc, stream)
            else iter(pipe.readline, b"")
        )
        for raw in lines:
            line = raw.decode("utf-8", errors="replace")
            if not line.endswith("\n"):
                line += "\n"
            if not proc.spec.prefix and line.startswith(EXIT_MARKER):
                self._take_report(proc, line)
                continue
            if PEER_LOST_MARKER in line and _take_lost(proc, line):
                continue
            proc.tails[stream].append(line.rstrip("\n"))
            with self._lock:
                try:
                    out.write(prefix + line)
                    out.flush()
                except (OSError, ValueError):
                    pass  # our own stdout went away; keep draining so the child never blocks
                if proc.log:
                    proc.log.write(line)
                    proc.log.flush()
        pipe.close()

    def _redraw_writer(self, out, prefix):
        def write(segment: bytes) -> None:
            text = segment.decode("utf-8", errors="replace")
            with self._lock:
                try:
                    out.write("\r" + prefix + text)
                    out.flush()
                except (OSError, ValueError):
                    pass

        return write

    @staticmethod
    def _take_report(proc: _Proc, line: str) -> None:
        try:
            report = json.loads(line[len(EXIT_MARKER) :])
            name = str(report["name"])
            if report.get("where"):
                name += f" ({report['where']})"
            report = {
                "name": name,
                "returncode": int(report["returncode"]),
                "tail": [str(t) for t in report.get("tail", [])],
            }
        except (ValueError, KeyError, TypeError):
            return  # not a report of ours after all
        if proc.reported is None:
            proc.reported = report

    # -- waiting --------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        """True once the job has an outcome other than success (failure or signal)."""
        return self._outcome is not None and self._outcome[0] != 0

    def wait_for(self, probe, timeout: float, what: str):
        """Poll `probe()` until it returns non-None; None if the job failed or timed out.

        While waiting the job is watched as usual, so a role dying first is reported as
        the first failure. On timeout the failure says `what` did not happen in time.
        """
        deadline = time.monotonic() + timeout
        while self._outcome is None:
            value = probe()
            if value is not None:
                return value
            self._poll()
            if self._outcome is None and time.monotonic() >= deadline:
                self._fail(1, f"{what} within {timeout:g} s")
            time.sleep(_POLL)
        return None

    def run(self) -> int:
        """Watch the job until it ends, stop what is left, report, return the exit code."""
        while self._outcome is None:
            self._poll()
            time.sleep(_POLL)
        code, message = self._outcome
        self._stop()
        self._watchdog.sweep()
        self._write_job_file()
        if message:
            self._report(message)
        return code

    def abort(self) -> None:
        """Stop everything started so far without a report (the caller explains why)."""
        self._fail(1, None)
        self._stop()
        self._watchdog.sweep()
        self._write_job_file()

    def _poll(self) -> None:
        if self._signal is not None and self._outcome is None:
            name = signal.Signals(self._signal).name
            self._fail(128 + self._signal, f"received {name}; stopping the job.")
        for proc in self._procs:
            if proc.reported and self._outcome is None and not self._stopping:
                rep = proc.reported
                self._fail_with(rep["name"], rep["returncode"], rep["tail"])
            if proc.returncode is None and proc.popen.poll() is not None:
                proc.returncode = proc.popen.returncode
                if proc.returncode != 0 and self._outcome is None and not self._stopping:
                    self._first_failure(proc)
        workers = [p for p in self._procs if not p.spec.service]
        if self._outcome is None and workers and all(p.returncode == 0 for p in workers):
            self._outcome = (0, None)

    def _first_failure(self, proc: _Proc) -> None:
        for t in proc.pumps:  # the tail must hold the dying process's last words
            t.join(_PUMP_JOIN)
        lost = self._lost_peer(aborted=any("the job was aborted" in t for t in proc.tail()))
        if lost is not None:  # the scheduler ended the job: name the peer it lost
            self._fail(exit_code(proc.returncode), self._lost_message(lost.lost))
        elif proc.reported:  # mpiexec failed because a rank did: name the rank
            rep = proc.reported
            self._fail_with(rep["name"], rep["returncode"], rep["tail"])
        else:
            self._fail_with(proc.label(), proc.returncode, proc.tail())

    def _lost_peer(self, aborted: bool) -> Optional[_Proc]:
        """The process holding the scheduler's lost-peer report; when the failing process
        says the job was aborted, give that report up to 1 s to arrive through its pipe."""
        deadline = time.monotonic() + (1.0 if aborted else 0.0)
        while True:
            lost = next((p for p in self._procs if p.lost), None)
            if lost is not None or time.monotonic() >= deadline:
                return lost
            time.sleep(_POLL)

    def _lost_message(self, rep: dict) -> str:
        """'worker 1 (host n1 at 10.0.0.3, pid 42) stopped responding (...); it is stopped
        (SIGSTOP?) ...': the peer the scheduler lost, and its state if it runs here."""
        reason, name = rep["reason"], rep["name"]
        msg = reason if reason.startswith(name) else f"{name}: {reason}"
        msg += " (first failure, reported by the scheduler); stopping the job."
        ours = [p for p in self._procs if p.spec.role == rep["role"] and p.spec.rank == rep["rank"]]
        if ours and not ours[0].spec.host:
            state = _state(ours[0].popen.pid)
            if state == "T":
                msg += (
                    f"\n  {ours[0].label()} is stopped (SIGSTOP, Ctrl-Z or a debugger); "
                    f"it answers nothing until it gets SIGCONT."
                )
            elif state is None or ours[0].popen.poll() is not None:
                msg += f"\n  {ours[0].label()} has exited."
        return msg

    def _fail_with(self, name: str, returncode: int, tail: List[str]) -> None:
        lines = "".join(f"    {line}\n" for line in tail)
        msg = describe_exit(name, returncode) + " (first failure); stopping the job."
        if lines:
            msg += "\n  last lines of its output:\n" + lines.rstrip("\n")
        self._fail(exit_code(returncode), msg)

    def _fail(self, code: int, message: str) -> None:
        if self._outcome is None:
            self._outcome = (code, message)

    def _report(self, message: str) -> None:
        with self._lock:
            self._out["stderr"].write(f"distnet-launch: {message}\n")
            self._out["stderr"].flush()

    # -- stopping -------------------------------------------------------------------
    def _stop(self) -> None:
        """SIGTERM every group, wait up to the grace period, then SIGKILL every group."""
        self._stopping = True
        for proc in self._procs:  # EOF on a kept stdin: an ssh job's remote side stops too
            if proc.popen.stdin is not None:
                try:
                    proc.popen.stdin.close()
                except OSError:
                    pass
        self._signal_groups(signal.SIGTERM)
        self._signal_groups(signal.SIGCONT)  # a stopped process acts on SIGTERM only now
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline and not self._kill_now:
            if all(p.popen.poll() is not None for p in self._procs):
                break
            time.sleep(_POLL)
        # Also the groups whose leader already exited: a grandchild may still be in one.
        self._signal_groups(signal.SIGKILL)
        for proc in self._procs:
            try:
                proc.popen.wait(timeout=self.grace + 5)
            except subprocess.TimeoutExpired:
                pass  # unkillable (D state); nothing more a launcher can do
            if proc.returncode is None:
                proc.returncode = proc.popen.returncode
        for proc in self._procs:
            for t in proc.pumps:
                t.join(_PUMP_JOIN)
            if proc.log:
                with self._lock:
                    proc.log.close()
                    proc.log = None

    def _signal_groups(self, sig: int) -> None:
        for proc in self._procs:
            try:
                os.killpg(proc.pgid, sig)
            except (ProcessLookupError, PermissionError):
                pass  # the group is gone already

    # -- signals to the launcher ------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """Route SIGINT/SIGTERM/SIGHUP to a job stop (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if self._signal is None:
            self._signal = signum
        else:
            self._kill_now = True  # a second Ctrl-C: do not wait out the grace period

    # -- job file -------------------------------------------------------------------
    def _write_job_file(self) -> None:
        """`<log-dir>/job.json`: each process's role, rank, pid and return code.

        Tests and `distnet.testing` read it to check that nothing is left behind and to
        report per-process exit codes (negative: killed by that signal, as subprocess).
        """
        if not self.log_dir:
            return
        data = [
            {
                "role": p.spec.role,
                "rank": p.spec.rank,
                "pid": p.popen.pid,
                "pgid": p.pgid,
                "log": p.spec.log_name,
                "returncode": p.returncode,
            }
            for p in self._procs
        ]
        path = os.path.join(self.log_dir, "job.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(path + ".tmp", path)


def _segments(pipe, redraw):
    """Lines of `pipe` (with their newline), handing each carriage-return-ended segment (a
    progress bar's redraw) to `redraw` as it arrives instead of waiting for a newline."""
    buf = b""
    while True:
        chunk = pipe.read1(65536)
        if not chunk:
            break
        buf += chunk
        while True:
            cut = min((i for i in (buf.find(b"\n"), buf.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            piece, sep, buf = buf[:cut], buf[cut : cut + 1], buf[cut + 1 :]
            if sep == b"\n":
                yield piece + b"\n"
            elif piece:
                redraw(piece)
    if buf:
        yield buf
