"""Helpers for testing distributed code: run a real multi-process job from a test.

    from distnet.testing import run_distributed

    def test_allreduce():
        job = run_distributed("mypkg.dist_checks:sum_ranks", num_workers=2, num_servers=1)
        job.check()                                   # raises with every output on failure
        assert [w.result for w in job.workers] == [1, 1]

`run_distributed` runs the real `distnet-launch` as a subprocess with a hard timeout, so
a test exercises exactly what a user's job does. `assert_almost_equal` is re-exported
from `distnet.test_utils`. Importing this module imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ._sibling import check_sibling

__all__ = [
    "run_distributed",
    "ProcessResult",
    "JobResult",
    "DistributedTimeout",
    "assert_almost_equal",
]

_RESULT_DIR_VAR = "DISTNET_RESULT_DIR"  # same name as launcher.call.RESULT_DIR_VAR
_STOP_WAIT = 15.0  # seconds the launcher gets to stop its job after our SIGTERM


def __getattr__(name):
    # Lazy, so this module imports before (and without) distnet.test_utils.
    if name == "assert_almost_equal":
        from distnet.test_utils import assert_almost_equal

        return assert_almost_equal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DistributedTimeout(TimeoutError):
    """The job did not finish within the harness's timeout (it has been killed)."""


@dataclasses.dataclass
class ProcessResult:
    """One process of a finished job.

    `returncode` follows subprocess: negative -N when killed by signal N, None if it was
    never reaped. `result` is a function target's JSON return value (workers only).
    """

    role: str
    rank: Optional[int]
    returncode: Optional[int]
    output: str
    result: Any = None

    @property
    def name(self) -> str:
        """'worker 2', 'server 0', 'scheduler'."""
        return self.role if self.rank is None else f"{self.role} {self.rank}"


class JobResult(list):
    """The list of `ProcessResult`s, plus the launcher's `returncode` and `output`."""

    def __init__(self, processes: Sequence[ProcessResult], returncode: int, output: str):
        super().__init__(processes)
        self.returncode = returncode
        self.output = output

    @property
    def workers(self) -> List[ProcessResult]:
        """The workers' results in rank order."""
        return sorted((p for p in self if p.role == "worker"), key=lambda p: p.rank)

    def check(self) -> "JobResult":
        """Raise AssertionError showing every output unless the job exited 0."""
        if self.returncode != 0:
            logs = "\n".join(f"--- {p.name} (code {p.returncode}) ---\n{p.output}" for p in self)
            raise AssertionError(
                f"distributed job exited with code {self.returncode}:\n{self.output}\n{logs}"
            )
        return self


def _module_root(module_name: str) -> Optional[str]:
    """The sys.path entry a child needs to import `module_name`, if it can be found."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if path is None:
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            return None
        path = spec.origin if spec else None
    if not path:
        return None
    root = os.path.dirname(os.path.abspath(path))
    levels = module_name.count(".") + (os.path.basename(path) == "__init__.py")
    for _ in range(levels):
        root = os.path.dirname(root)
    return root


def _command(target, args: Sequence[Any]):
    """(worker argv, extra PYTHONPATH entries) for a script or function target."""
    if callable(target):
        if target.__module__ == "__main__" or "<locals>" in target.__qualname__:
            raise ValueError(
                f"{target!r} must be a module-level function of an importable "
                "module, so that the worker processes can import it"
            )
        target = f"{target.__module__}:{target.__qualname__}"
    elif not isinstance(target, str):
        raise TypeError(
            f"target must be a script path, 'module:function' or a function, "
            f"got {type(target).__name__}"
        )
    if ":" in target and not os.path.exists(target):
        root = _module_root(target.partition(":")[0])
        argv = [sys.executable, "-m", "launcher.call", target, json.dumps(list(args))]
        return argv, [root] if root else []
    return [os.path.abspath(target)] + [str(a) for a in args], []


def _child_env(env: Optional[Mapping[str, str]], paths: List[str], result_dir: str):
    child = dict(os.environ)
    child.update(env or {})
    old = child.get("PYTHONPATH")
    child["PYTHONPATH"] = os.pathsep.join(paths + ([old] if old else []))
    child[_RESULT_DIR_VAR] = result_dir
    return child


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _job_entries(log_dir: str) -> List[Dict[str, Any]]:
    try:
        return json.loads(_read(os.path.join(log_dir, "job.json")) or "[]")
    except ValueError:
        return []


def _collect(log_dir: str, result_dir: str) -> List[ProcessResult]:
    """A ProcessResult per process the launcher recorded in job.json."""
    out = []
    for e in _job_entries(log_dir):
        result = None
        if e["role"] == "worker":
            text = _read(os.path.join(result_dir, f"worker-{e['rank']}.json"))
            result = json.loads(text) if text else None
        out.append(
            ProcessResult(
                e["role"],
                e["rank"],
                e["returncode"],
                _read(os.path.join(log_dir, e["log"])),
                result,
            )
        )
    return out


def _kill_job(launcher: subprocess.Popen, log_dir: str) -> str:
    """Stop a job that ran out of time; returns what the launcher printed."""
    try:
        os.killpg(launcher.pid, signal.SIGTERM)  # the launcher stops its own children
        output, _ = launcher.communicate(timeout=_STOP_WAIT)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        output = ""
    # Whatever survived: the launcher's group and every group it recorded.
    groups = [launcher.pid] + [e["pgid"] for e in _job_entries(log_dir)]
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if launcher.poll() is None:
        output = (output or "") + (launcher.communicate(timeout=5)[0] or "")
    return output or ""


def _tails(log_dir: str, lines: int = 15) -> str:
    parts = []
    for e in _job_entries(log_dir):
        text = _read(os.path.join(log_dir, e["log"])).splitlines()[-lines:]
        parts.append(
            f"--- {e['role']} {e['rank'] if e['rank'] is not None else ''}".rstrip()
            + " ---\n"
            + "\n".join(text)
        )
    return "\n".join(parts)


def run_distributed(
    target,
    num_workers: int,
    num_servers: Optional[int] = None,
    timeout: float = 120,
    env: Optional[Mapping[str, str]] = None,
    args: Sequence[Any] = (),
    launcher_args: Sequence[str] = (),
) -> JobResult:
    """Run `target` as a real local distributed job and return every process's result.

    Parameters
    ----------
    target : str or function
        A script path (run with its `args`), `"package.module:function"`, or a
        module-level function; a function is called in every worker with `args`
        (JSON-serialisable) and its JSON-serialisable return value becomes `result`.
    num_workers, num_servers : int
        As `distnet-launch -n/-s`; `num_servers=None` keeps the launcher's default (W).
    timeout : float
        Hard limit in seconds; on expiry the whole job is killed and
        `DistributedTimeout` is raised with the tail of every log.
    env : mapping, optional
        Extra environment for every process.
    launcher_args : sequence of str
        More `distnet-launch` options, e.g. `["--start-timeout", "30"]`.

    Returns
    -------
    JobResult
        A list of `ProcessResult` with `.returncode` and `.output` of the launcher. A
        failing worker does not raise: assert on the codes, or call `.check()`.
    """
    command, paths = _command(target, args)
    check_sibling("launcher")  # `python -m launcher` must not run a user's launcher.py
    tmp = tempfile.mkdtemp(prefix="distnet-run-")
    log_dir, result_dir = os.path.join(tmp, "logs"), os.path.join(tmp, "results")
    os.makedirs(result_dir)
    argv = [sys.executable, "-m", "launcher", "-n", str(num_workers)]
    if num_servers is not None:
        argv += ["-s", str(num_servers)]
    argv += ["--log-dir", log_dir, *launcher_args, "--", *command]
    try:
        launcher = subprocess.Popen(
            argv,
            env=_child_env(env, paths, result_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = launcher.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            output = _kill_job(launcher, log_dir)
            raise DistributedTimeout(
                f"distributed job {target!r} timed out after {timeout:g} s and was killed\n"
                f"launcher output (tail):\n{os.linesep.join(output.splitlines()[-20:])}\n"
                f"{_tails(log_dir)}"
            ) from None
        return JobResult(_collect(log_dir, result_dir), launcher.returncode, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
