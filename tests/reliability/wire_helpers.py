"""Helpers of the wire and launcher reliability tests: environments, /proc readings."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def launch_env(**extra):
    """The test process's environment with the repository importable and short timeouts."""
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        DISTNET_KVSTORE_TIMEOUT="60",
        DISTNET_KVSTORE_HEARTBEAT_INTERVAL="0.5",
        DISTNET_KVSTORE_HEARTBEAT_TIMEOUT="3",
    )
    for name in ("DISTNET_SCHEDULER_CMD", "DISTNET_SERVER_CMD", "DISTNET_JOB_TOKEN"):
        env.pop(name, None)
    env.update(extra)
    return env


def _status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss(pid):
    """Resident set size of `pid` in bytes."""
    return _status(pid, "VmRSS")


def peak_rss(pid):
    """Peak resident set size (VmHWM) of `pid` in bytes."""
    return _status(pid, "VmHWM")
