"""Callbacks: Speedometer's MXNet log lines, checkpoints every period, metric logging."""

import logging
import os
import re
import types

import numpy as np
import pytest

import distnet as mx
from distnet import nd

LOGS = open(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet", "logs.txt")).read()


def _param(epoch, nbatch, metric):
    return mx.callback.BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=metric, locals=None)


def _acc(correct, total):
    metric = mx.metric.Accuracy()
    labels = np.zeros(total)
    preds = np.zeros((total, 2))
    preds[:correct, 0] = 1
    preds[correct:, 1] = 1
    metric.update([nd.array(labels)], [nd.array(preds)])
    return metric


def _messages(caplog):
    return [r.getMessage() for r in caplog.records]


def _shape(line):
    """A log line with the speed masked (it varies run to run)."""
    return re.sub(r"Speed: [0-9.]+ samples/sec", "Speed: X samples/sec", line)


def test_speedometer_line_matches_mxnet(caplog):
    speedo = mx.callback.Speedometer(batch_size=8, frequent=5)
    metric = mx.metric.Accuracy()
    with caplog.at_level(logging.INFO):
        for nbatch in range(10):
            metric.update([nd.array([0] * 8)], [nd.array([[1, 0]] + [[0, 1]] * 7)])
            speedo(_param(0, nbatch, metric))
    (line,) = _messages(caplog)
    assert _shape(line) == "Epoch[0] Batch [0-5]\tSpeed: X samples/sec\taccuracy=0.125000"
    mx_line = next(l for l in LOGS.splitlines() if "Batch [0-5]" in l).split("\t", 2)[2]
    assert _shape(line).split("\t")[:2] == _shape(mx_line).split("\t")[:2]
    assert metric.num_inst == 4 * 8  # reset_local after the line, as MXNet


def test_speedometer_without_auto_reset_and_without_metric(caplog):
    speedo = mx.callback.Speedometer(8, frequent=4, auto_reset=False)
    metric = mx.metric.create(["acc", "ce"])
    metric.update([nd.array([0, 1])], [nd.array([[0.9, 0.1], [0.2, 0.8]])])
    with caplog.at_level(logging.INFO):
        for nbatch in range(9):
            speedo(_param(2, nbatch, metric))
        speedo(_param(3, 0, None))  # new epoch: restarts the clock, no line
        for nbatch in range(1, 5):
            speedo(_param(3, nbatch, None))
    lines = [_shape(m) for m in _messages(caplog)]
    assert lines == [
        "Epoch[2] Batch [0-4]\tSpeed: X samples/sec\taccuracy=1.000000\tcross-entropy=0.164252",
        "Epoch[2] Batch [0-8]\tSpeed: X samples/sec\taccuracy=1.000000\tcross-entropy=0.164252",
        "Iter[3] Batch [4]\tSpeed: X samples/sec",
    ]
    assert any(l.startswith("INFO\troot\tEpoch[2] Batch [0-4]\tSpeed:") for l in LOGS.splitlines())


def test_speedometer_reports_a_plausible_speed(caplog, monkeypatch):
    clock = iter([100.0, 102.0, 103.0])
    monkeypatch.setattr(mx.callback, "time", types.SimpleNamespace(time=lambda: next(clock)))
    speedo = mx.callback.Speedometer(batch_size=10, frequent=2)
    with caplog.at_level(logging.INFO):
        speedo(_param(0, 0, None))
        speedo(_param(0, 1, None))
        speedo(_param(0, 2, None))
    assert _messages(caplog) == ["Iter[0] Batch [2]\tSpeed: 10.00 samples/sec"]


def test_do_checkpoint_calls_save_checkpoint_every_period(monkeypatch):
    import distnet.model

    calls = []
    monkeypatch.setattr(distnet.model, "save_checkpoint", lambda *args: calls.append(args))
    cb = mx.callback.do_checkpoint("prefix", period=2)
    for epoch in range(5):
        cb(epoch, "SYM", {"w": 1}, {"a": 2})
    assert calls == [
        ("prefix", 2, "SYM", {"w": 1}, {"a": 2}),
        ("prefix", 4, "SYM", {"w": 1}, {"a": 2}),
    ]
    calls.clear()
    mx.callback.do_checkpoint("p", period=0)(0, None, {}, {})  # period < 1 means 1
    assert calls == [("p", 1, None, {}, {})]


def test_do_checkpoint_writes_mxnet_named_files(tmp_path, caplog):
    prefix = str(tmp_path / "mx_mlp")
    with caplog.at_level(logging.INFO):
        mx.callback.do_checkpoint(prefix)(0, None, {"fc_weight": nd.ones((2, 2))}, {})
    assert os.path.exists(prefix + "-0001.params")
    assert set(nd.load(prefix + "-0001.params")) == {"arg:fc_weight"}


def test_module_checkpoint():
    class Mod:
        saved = []

        def save_checkpoint(self, prefix, epoch, states):
            self.saved.append((prefix, epoch, states))

    mod = Mod()
    cb = mx.callback.module_checkpoint(mod, "m", period=3, save_optimizer_states=True)
    for epoch in range(6):
        cb(epoch)
    assert mod.saved == [("m", 3, True), ("m", 6, True)]


def test_log_train_metric_and_validation(caplog):
    metric = _acc(3, 4)
    with caplog.at_level(logging.INFO):
        cb = mx.callback.log_train_metric(2, auto_reset=True)
        cb(_param(1, 1, metric))
        cb(_param(1, 2, metric))
        mx.callback.LogValidationMetricsCallback()(_param(1, 2, _acc(1, 4)))
        mx.callback.LogValidationMetricsCallback()(_param(1, 2, None))
    assert _messages(caplog) == [
        "Iter[1] Batch[2] Train-accuracy=0.750000",
        "Epoch[1] Validation-accuracy=0.250000",
    ]
    assert metric.num_inst == 0
    assert "INFO\troot\tEpoch[0] Validation-accuracy=0.150000" in LOGS


def test_progress_bar(caplog):
    with caplog.at_level(logging.INFO):
        mx.callback.ProgressBar(total=4, length=8)(_param(0, 1, None))
    assert _messages(caplog) == ["[==------] 25%\r"]


def test_batch_end_param_is_the_models():
    from distnet.model import BatchEndParam

    assert mx.callback.BatchEndParam is BatchEndParam
    with pytest.raises(AttributeError):
        mx.callback.NoSuchThing  # noqa: B018
