"""Shared pytest fixtures of the distnet test suite."""

import os
import sys

import pytest


def pytest_configure(config):
    """Put the directory of the interpreter running the tests first on PATH: the tools
    the install provides (the `distnet-launch` console script, `mpiexec` of the `[mpi]`
    extra's mpich wheel) live there, and `.venv/bin/python -m pytest` does not activate
    the venv, so without this their tests would skip (CI ran none of them)."""
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bindir and bindir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, path]) if path else bindir


@pytest.fixture
def run_distributed():
    """`distnet.testing.run_distributed`: run a function or script as a real local job.

    Targets must be importable by the worker processes: put them in a module next to the
    test (e.g. tests/launcher/launch_targets.py) and pass `"module:function"` or the
    function itself. Always pass a `timeout` well under the test's own.
    """
    from distnet.testing import run_distributed as run

    return run
