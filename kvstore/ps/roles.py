"""Running the scheduler and server roles as processes.

`python -m kvstore.scheduler` / `python -m kvstore.server` call these mains; a user's
script started in the server or scheduler role (MXNet's tools/launch.py starts the same
script in every role) serves that role from `kvstore.create` and exits when the job ends.
"""

import logging
import os
import signal
import sys


def install_sigterm():
    """SIGTERM (the launcher ending a job whose workers never made a kvstore) exits 0 quietly."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


def setup_logging():
    """Log kvstore messages to stderr, prefixed with the role, unless the app configured logging."""
    logger = logging.getLogger("kvstore")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        role = os.environ.get("DMLC_ROLE", "worker")
        handler.setFormatter(logging.Formatter(f"[%(asctime)s {role}] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = (
            False  # a root handler (basicConfig in the user's script) would repeat each line
        )


def run_role(role):
    """Run the scheduler or server role to the end of the job; return its exit status."""
    if role == "scheduler":
        from .scheduler import main
    elif role == "server":
        from .server import main
    else:
        raise ValueError(f"DMLC_ROLE={role!r} is neither scheduler nor server")
    return main()


def serve_role_and_exit(role):
    """Serve `role` and end the process with its status (used from kvstore.create)."""
    code = run_role(role)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
