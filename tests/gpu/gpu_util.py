"""Contexts and assertions shared by the GPU tests (and their distributed job).

``DISTNET_TEST_GPU_AS_CPU=1`` maps ``gpu(i)`` to ``cpu(i + 1)``: a dry run of the tests'
own logic and of distnet's multi-context code on a machine without a GPU. It verifies
nothing about cupy; on a GPU machine leave it unset.
"""

import os

import numpy as np

import distnet as mx

AS_CPU = os.environ.get("DISTNET_TEST_GPU_AS_CPU") == "1"


def dev(i=0):
    """The i-th GPU context (``cpu(i + 1)`` in a dry run)."""
    return mx.cpu(i + 1) if AS_CPU else mx.gpu(i)


def count():
    """Number of GPUs the tests may use (2 in a dry run)."""
    return 2 if AS_CPU else mx.num_gpus()


def is_device_array(data):
    """Whether ``data`` is a cupy array (a GPU array)."""
    return type(data).__module__.startswith("cupy")


def assert_on(arr, ctx):
    """``arr`` (an NDArray) is on ``ctx`` and its data really lives there."""
    assert arr.context == ctx, f"array on {arr.context}, expected {ctx}"
    data = arr._data
    if ctx.device_type == "gpu":
        assert is_device_array(data), f"{ctx} array holds a {type(data).__module__} array"
        assert data.device.id == ctx.device_id, f"{ctx} array's data is on GPU {data.device.id}"
    else:
        assert isinstance(data, np.ndarray), f"{ctx} array holds {type(data).__name__}"
