"""The one place that imports cupy: array modules for contexts and arrays.

CPU arrays are numpy arrays and GPU arrays are cupy arrays; operator code receives the
module (``xp``) that matches its inputs, so one definition serves both.
"""

import contextlib

import numpy as np

from .base import MXNetError

_cupy = None
_cupy_error = None

GPU_INSTALL_HINT = (
    "GPU support needs cupy and a CUDA GPU: install it with "
    "`pip install 'distnet[gpu]'` (a cupy wheel for CUDA 12; use cupy-cuda13x for CUDA 13)"
)


def cupy_or_none():
    """Return the cupy module if it imports and sees a GPU, else None (checked once)."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy  # noqa: PLC0415 - guarded optional import, done once

            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device is visible")
            _cupy = cupy
        except Exception as err:  # ImportError, CUDA driver errors
            _cupy_error = err
    return _cupy


def require_cupy():
    """Return cupy or raise MXNetError saying how to install GPU support."""
    cp = cupy_or_none()
    if cp is None:
        raise MXNetError(
            f"a GPU context was used but {GPU_INSTALL_HINT} (cupy is unavailable: {_cupy_error})"
        )
    return cp


def xp_of(array):
    """Return the array module (numpy or cupy) an array belongs to."""
    if isinstance(array, np.ndarray):
        return np
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    if type(array).__module__.startswith("cupy"):  # a cupy array made before distnet looked
        return cupy_or_none() or np
    return np


_HOST_SCOPE = contextlib.nullcontext()  # reusable: host arrays need no current device


def device_scope(ctx):
    """``with device_scope(ctx):`` makes ``ctx``'s GPU cupy's current device (a no-op for
    host contexts): cupy allocates new arrays and launches kernels on the *current* device,
    whatever device the inputs are on, so work for ``gpu(i)`` runs inside this block."""
    if getattr(ctx, "device_typeid", 1) != 2:
        return _HOST_SCOPE
    return require_cupy().cuda.Device(ctx.device_id)


def array_scope(data):
    """``device_scope`` for the device an array lives on (a no-op for numpy arrays)."""
    if isinstance(data, np.ndarray):
        return _HOST_SCOPE
    device = getattr(data, "device", None)
    return _HOST_SCOPE if device is None else device


def num_gpus():
    """Number of visible CUDA GPUs (0 without cupy)."""
    cp = cupy_or_none()
    return 0 if cp is None else int(cp.cuda.runtime.getDeviceCount())
