"""Under distnet-launch in a terminal, rank 0's progress bar reaches the terminal (its
carriage-return redraws are passed through, prefixed) and no other rank draws one."""

import os
import pty
import select
import sys
import time

import pytest

pytest.importorskip("tqdm")

_WORKER = """
import time
import distnet as mx
from distnet.model import BatchEndParam
bar = mx.callback.TqdmProgress(total=5, num_epoch=1, mininterval=0, miniters=1)
for i in range(5):
    bar(BatchEndParam(0, i, None, {}))
    time.sleep(0.05)
bar.epoch_end()
print("rank", mx.kv.create("local").rank, "done", bar.enabled, flush=True)
"""


def _run_in_terminal(argv, timeout=90):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the launcher, with a terminal as stdout and stderr
        os.execv(argv[0], argv)
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the launcher exited and closed the terminal
                break
            if not chunk:
                break
            out += chunk
    else:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    return out.decode("utf-8", errors="replace")


def test_rank0_bar_reaches_the_launchers_terminal(tmp_path):
    script = tmp_path / "bar.py"
    script.write_text(_WORKER)
    out = _run_in_terminal(
        [sys.executable, "-m", "launcher", "-n", "2", "-s", "0", sys.executable, str(script)]
    )
    assert "[worker 0] rank 0 done True" in out and "[worker 1] rank 0 done False" in out
    redraws = [seg for seg in out.split("\r") if seg.startswith("[worker 0] Epoch 1/1")]
    assert redraws and any("5/5" in seg for seg in redraws), out
    assert "[worker 1] Epoch" not in out
