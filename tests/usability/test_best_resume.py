"""Keep-best and resume-from-latest: mx.callback.latest_checkpoint / BestCheckpoint and
the train_mnist.py flags that use them."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "scripts")


def _touch(path):
    with open(path, "wb"):
        pass


def test_latest_checkpoint_finds_newest_epoch_and_ignores_best(tmp_path):
    prefix = str(tmp_path / "mlp")
    assert mx.callback.latest_checkpoint(prefix) is None
    assert mx.callback.latest_checkpoint(str(tmp_path / "missing" / "mlp")) is None
    for name in (
        "mlp-0002.params",
        "mlp-0010.params",
        "mlp-best-0042.params",
        "mlp2-0099.params",
        "mlp-0011.states",
    ):
        _touch(tmp_path / name)
    assert mx.callback.latest_checkpoint(prefix) == 10


def _saver(calls):
    def save(prefix, epoch):
        calls.append((prefix, epoch))
        _touch("%s-%04d.params" % (prefix, epoch))

    return save


def test_best_checkpoint_keeps_only_the_best_and_survives_a_restart(tmp_path):
    prefix = str(tmp_path / "net")
    calls = []
    best = mx.callback.BestCheckpoint(prefix)
    assert best.update(0, [("accuracy", 0.5)], _saver(calls))
    assert not best.update(1, [("accuracy", 0.4)], _saver(calls))
    assert best.update(2, [("accuracy", 0.7)], _saver(calls))
    assert calls == [(prefix + "-best", 1), (prefix + "-best", 3)]
    assert sorted(os.listdir(tmp_path)) == ["net-best-0003.params", "net-best.json"]
    assert json.load(open(prefix + "-best.json")) == {
        "metric": "accuracy",
        "value": 0.7,
        "epoch": 3,
    }
    again = mx.callback.BestCheckpoint(prefix)  # a resumed run
    assert not again.update(3, [("accuracy", 0.69)], _saver(calls))
    assert again.update(4, [("accuracy", 0.71)], _saver(calls))
    assert sorted(os.listdir(tmp_path)) == ["net-best-0005.params", "net-best.json"]


def test_best_checkpoint_minimises_losses_and_names_a_missing_metric(tmp_path):
    best = mx.callback.BestCheckpoint(str(tmp_path / "n"), metric="cross-entropy")
    calls = []
    assert best.update(0, [("accuracy", 0.1), ("cross-entropy", 2.0)], _saver(calls))
    assert not best.update(1, [("accuracy", 0.9), ("cross-entropy", 2.5)], _saver(calls))
    assert best.update(2, [("accuracy", 0.2), ("cross-entropy", 1.0)], _saver(calls))
    with pytest.raises(MXNetError, match="no metric named 'f1'.*accuracy"):
        mx.callback.BestCheckpoint(str(tmp_path / "m"), metric="f1").update(
            0, [("accuracy", 1.0)], _saver(calls)
        )
    with pytest.raises(MXNetError, match="mode"):
        mx.callback.BestCheckpoint("x", mode="biggest")


def test_best_checkpoint_as_module_eval_end_callback_loads_back(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.rand(64, 4).astype("float32")
    y = (x.sum(axis=1) > 2).astype("float32")
    net = mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc"), name="softmax"
    )
    mod = mx.mod.Module(net)
    prefix = str(tmp_path / "m")
    best = mx.callback.BestCheckpoint(prefix)
    it = mx.io.NDArrayIter(x, y, 16)
    mod.fit(
        it,
        eval_data=mx.io.NDArrayIter(x, y, 16),
        num_epoch=3,
        eval_end_callback=best,
        optimizer_params={"learning_rate": 0.5},
    )
    assert os.path.exists("%s-best-%04d.params" % (prefix, best.best_epoch))
    _, args, _ = mx.model.load_checkpoint(prefix + "-best", best.best_epoch)
    assert args["fc_weight"].shape == (2, 4)


def test_train_mnist_keep_best_and_resume(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(SCRIPTS)
    monkeypatch.chdir(tmp_path)
    import train_mnist

    prefix = str(tmp_path / "ck" / "mlp")
    train_mnist.main(["--num-epochs", "2", "--model-prefix", prefix, "--keep-best", "--seed", "1"])
    record = json.load(open(prefix + "-best.json"))
    assert record["metric"] == "accuracy" and 1 <= record["epoch"] <= 2
    # --resume picks up epoch 2 and trains epochs 2..3 only
    train_mnist.main(
        [
            "--num-epochs",
            "4",
            "--model-prefix",
            prefix,
            "--keep-best",
            "--resume",
            "--api",
            "gluon",
            "--seed",
            "1",
        ]
    )
    assert mx.callback.latest_checkpoint(prefix) == 4
    files = sorted(os.listdir(tmp_path / "ck"))
    assert len([f for f in files if f.startswith("mlp-best-") and f.endswith(".params")]) == 1
    with pytest.raises(SystemExit):
        train_mnist.parse_args(["--resume"])
