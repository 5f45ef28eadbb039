"""GPU tests: every test in this folder is marked ``gpu`` and skipped, with the reason,
unless cupy imports and sees a CUDA GPU (``distnet.backend.cupy_or_none()``).

Run them on a GPU machine with ``pip install -e '.[test,gpu]'`` and
``python -m pytest -q tests/gpu`` (see docs/gpu.md). ``DISTNET_TEST_GPU_AS_CPU=1`` runs
them on CPU contexts instead, a dry run of the tests' logic (see gpu_util.py).
"""

import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gpu: needs a CUDA GPU and cupy (tests/gpu); skipped without one"
    )


def _skip_reason():
    from distnet import backend
    from .gpu_util import AS_CPU

    if AS_CPU or backend.cupy_or_none() is not None:
        return None
    return (
        f"no usable CUDA GPU (cupy: {backend._cupy_error}); "
        "install with pip install -e '.[test,gpu]' on a GPU machine"
    )


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if str(item.fspath).startswith(HERE + os.sep)]
    if not mine:
        return
    reason = _skip_reason()
    for item in mine:
        item.add_marker(pytest.mark.gpu)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
