"""The seeds' GPU code as written (``mx.gpu()`` kept; only ``distnet`` for ``mxnet`` and the
edits of tests/gluon/test_seeds.py): seed 004's LeNet and seed 000's MLP train on gpu(0)."""

import re

import numpy as np
import pytest

try:
    from gluon.seed_cells import SEED000, SEED004
    from gluon.test_seeds import _EDITS, seed_home  # noqa: F401 - seed_home is a fixture
except ImportError as err:  # never break collection over a change in tests/gluon
    pytest.skip(f"tests/gluon/test_seeds.py changed: {err}", allow_module_level=True)

from .gpu_util import AS_CPU, assert_on, dev


def _run(seed, number, cells, namespace):
    code = cells[number].replace("mxnet", "distnet")
    if AS_CPU:
        code = code.replace("mx.gpu()", "mx.cpu(1)")
    for old, new in _EDITS.get((seed, number), ()):
        code = code.replace(old, new)
    exec(compile(code, f"<seed {seed} cell {number} on the GPU>", "exec"), namespace)


def test_seed_004_lenet_trains_on_the_gpu(seed_home, capsys):
    import distnet as mx

    mx.random.seed(0)
    np.random.seed(0)
    ns = {}
    for number in range(7):
        _run("004", number, SEED004, ns)
    out = capsys.readouterr().out
    losses = [float(v) for v in re.findall(r"average loss: ([0-9.]+)", out)]
    assert len(losses) == 5 and losses[-1] < min(2.0, losses[0]), out
    for param in ns["lenet"].collect_params().values():
        assert_on(param.data(), dev(0))
        assert_on(param.grad(), dev(0))


def test_seed_000_mlp_trains_on_the_gpu(seed_home, capsys):
    ns = {}
    for number in (0, 1, 3, 6, 8, 10, 12):
        _run("000", number, SEED000, ns)
    out = capsys.readouterr().out
    epochs = re.findall(r"training metrics at epoch (\d): accuracy=([0-9.]+)", out)
    assert [int(e) for e, _ in epochs] == [0, 1, 2, 3, 4], out
    assert ns["ctx"] == dev(0)
    for param in ns["net"].collect_params().values():
        assert_on(param.data(), dev(0))
    assert_on(ns["output"], dev(0))
