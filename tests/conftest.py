"""Shared pytest fixtures of the distnet test suite."""
import pytest


@pytest.fixture
def run_distributed():
    """`distnet.testing.run_distributed`: run a function or script as a real local job.

    Targets must be importable by the worker processes: put them in a module next to the
    test (e.g. tests/launcher/launch_targets.py) and pass `"module:function"` or the
    function itself. Always pass a `timeout` well under the test's own.
    """
    from distnet.testing import run_distributed as run
    return run
