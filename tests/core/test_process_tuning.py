"""The process-wide tunings of heavy numeric work (glibc's malloc, the BLAS pool) happen at
one site, on the first FullyConnected/convolution product, once, logged; never at import."""

import subprocess
import sys

_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
import distnet as mx
from distnet.ops import _memory
print("imported, tuned:", _memory.tuned)
x = mx.nd.ones((4, 8))
mx.nd.Pooling(mx.nd.ones((1, 1, 4, 4)), kernel=(2, 2), pool_type="max")
print("after pooling, tuned:", _memory.tuned)
for _ in range(3):
    mx.nd.FullyConnected(x, mx.nd.ones((2, 8)), mx.nd.zeros(2), num_hidden=2)
print("after fc, tuned:", _memory.tuned)
"""


def _run(env_extra):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120, env=env
    ).stdout


def test_malloc_tuning_happens_once_on_the_first_product_and_is_logged():
    out = _run({"DISTNET_KEEP_FREED_MEMORY": "1"})
    assert "imported, tuned: False" in out and "after pooling, tuned: False" in out
    assert "after fc, tuned: True" in out
    if sys.platform.startswith("linux"):
        lines = [line for line in out.splitlines() if "glibc malloc tuned" in line]
        assert len(lines) == 1 and lines[0].startswith("distnet ")
        assert "trim threshold 1 GB" in lines[0] and "DISTNET_KEEP_FREED_MEMORY=0" in lines[0]


def test_the_setting_turns_it_off():
    out = _run({"DISTNET_KEEP_FREED_MEMORY": "0"})
    assert "glibc malloc tuned" not in out
