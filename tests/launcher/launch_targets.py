"""Importable functions that `run_distributed` tests call in every worker."""

import os
import time


def report_rank(offset=0):
    """Return this worker's rank and world size, shifted by `offset`."""
    return {"rank": int(os.environ["RANK"]) + offset, "world": int(os.environ["WORLD_SIZE"])}


def fail_on_rank_one():
    """Rank 1 raises; the others return normally."""
    if os.environ["RANK"] == "1":
        raise RuntimeError("rank one refuses")
    return "ok"


def sleep_long():
    """Never finishes in a test's time: for the harness timeout."""
    print(f"PID {os.getpid()} {os.getpgid(0)}", flush=True)
    time.sleep(120)
