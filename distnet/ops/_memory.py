"""Keep freed memory in the process instead of handing it back to the OS at every free.

A training step allocates and frees the same large temporaries (im2col columns, layer
outputs, gradients) over and over. glibc returns memory at the top of the heap to the OS
as soon as more than a few hundred KB are free there, so every step faults it back in
page by page: measured on LeNet at batch 64, about 4,000 page faults and 8 ms per
convolution step, a third of the step. MXNet avoids this with its pooled storage manager;
here glibc is told to serve arrays up to 32 MB from its heap and to keep up to 1 GB of
freed heap for reuse.

Applied once per process by `keep_freed_memory`, from one call site: the BLAS thread
policy's first use (distnet/_threads.py, the first FullyConnected or convolution product),
and logged at INFO level on the ``distnet`` logger; skipped where the allocator is not glibc's, when any ``MALLOC_*`` variable is set
(the user tunes malloc), or with ``DISTNET_KEEP_FREED_MEMORY=0`` (distnet/config.py).
"""

import ctypes
import logging
import os
import sys

from .. import config

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
# Arrays below 32 MB (glibc's largest mmap threshold) come from the heap, and up to
# 1 GB of freed heap stays mapped: with 128 MB a ResNet-20 step (batch 64) still faulted
# ~16,000 pages back in and spent ~17% more CPU (h5's measurement, issue 15). Setting any
# of these freezes glibc's adaptive thresholds, so all three are set explicitly.
SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 16 << 20))
tuned = False


def keep_freed_memory():
    """Tune glibc's malloc once per process; returns whether it was done."""
    global tuned
    if tuned:
        return False
    tuned = True
    if (
        not sys.platform.startswith("linux")
        or not config.get("DISTNET_KEEP_FREED_MEMORY")
        or any(key.startswith("MALLOC_") for key in os.environ)
    ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, other libcs)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    done = all([bool(mallopt(param, value)) for param, value in SETTINGS])
    logging.getLogger("distnet").info(
        "glibc malloc tuned to keep freed memory for reuse (mmap threshold 32 MB, trim "
        "threshold 1 GB): %s; DISTNET_KEEP_FREED_MEMORY=0 turns this off",
        "done" if done else "refused by the allocator",
    )
    return done
