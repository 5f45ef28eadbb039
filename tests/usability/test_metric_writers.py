"""Metric writers (CSV, TensorBoard, MXNet's LogMetricsCallback), the progress bar, the
throughput line of short epochs and train metrics combined across workers."""

import csv
import glob
import io
import logging
import os
import struct
import sys

import numpy as np
import pytest

import distnet as mx

import usability_targets


def _data(n=64, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.rand(n, 4).astype("float32")
    return x, (x.sum(axis=1) > 2).astype("float32")


def _module():
    net = mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc"), name="softmax"
    )
    return mx.mod.Module(net)


def read_events(logdir):
    """{tag: [(step, value), ...]} from tensorboardX event files (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    found = {}
    for fname in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        data, i = open(fname, "rb").read(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i : i + 8])
            event = event_pb2.Event.FromString(data[i + 12 : i + 12 + n])
            i += 12 + n + 4
            for v in event.summary.value:
                found.setdefault(v.tag, []).append((event.step, v.simple_value))
    return found


def test_csv_logger_with_module_fit_reads_back(tmp_path):
    fname = str(tmp_path / "logs" / "metrics.csv")
    x, y = _data()
    mod = _module()
    mod.fit(
        mx.io.NDArrayIter(x, y, 16),
        eval_data=mx.io.NDArrayIter(x, y, 16),
        num_epoch=2,
        optimizer_params={"learning_rate": 0.5},
        eval_metric=["acc", "ce"],
        batch_end_callback=mx.callback.CSVLogger(fname, "train", frequent=2),
        eval_end_callback=mx.callback.CSVLogger(fname, "validation"),
    )
    rows = list(csv.DictReader(open(fname)))
    assert list(rows[0]) == ["time", "epoch", "batch", "phase", "metric", "value"]
    train = [(r["epoch"], r["batch"], r["metric"]) for r in rows if r["phase"] == "train"]
    assert train == [(e, b, m) for e in "01" for b in "13" for m in ("accuracy", "cross-entropy")]
    val = [r for r in rows if r["phase"] == "validation"]
    assert [(r["epoch"], r["batch"], r["metric"]) for r in val] == [
        ("0", "", "accuracy"),
        ("0", "", "cross-entropy"),
        ("1", "", "accuracy"),
        ("1", "", "cross-entropy"),
    ]
    score = dict(mod.score(mx.io.NDArrayIter(x, y, 16), ["acc"]))
    assert float(val[2]["value"]) == pytest.approx(score["accuracy"])
    assert all(0 <= float(r["value"]) for r in rows)


def test_csv_logger_in_a_gluon_loop_appends(tmp_path):
    fname = str(tmp_path / "m.csv")
    log = mx.callback.CSVLogger(fname)
    log.log(0, [("accuracy", 0.5)])
    log.close()
    log = mx.callback.CSVLogger(fname, phase="validation")  # appends, one header
    log.log(0, [("accuracy", 0.75)], nbatch=3, phase="test")
    lines = open(fname).read().splitlines()
    assert lines[0] == "time,epoch,batch,phase,metric,value"
    assert [line.split(",")[1:] for line in lines[1:]] == [
        ["0", "", "train", "accuracy", "0.5"],
        ["0", "3", "test", "accuracy", "0.75"],
    ]


def test_tensorboard_logger_and_mxnet_log_metrics_callback(tmp_path):
    x, y = _data()
    mod = _module()
    tb = mx.callback.TensorBoardLogger(str(tmp_path / "tb"), frequent=2, batches_per_epoch=4)
    tbv = mx.callback.TensorBoardLogger(str(tmp_path / "tbv"), "validation")
    mxcb = mx.contrib.tensorboard.LogMetricsCallback(str(tmp_path / "mx"), prefix="eval")
    mod.fit(
        mx.io.NDArrayIter(x, y, 16),
        eval_data=mx.io.NDArrayIter(x, y, 16),
        num_epoch=2,
        optimizer_params={"learning_rate": 0.5},
        batch_end_callback=tb,
        eval_end_callback=[tbv, mxcb],
    )
    for writer in (tb, tbv, mxcb.summary_writer):
        writer.close()
    train = read_events(str(tmp_path / "tb"))
    assert [s for s, _ in train["train/accuracy"]] == [1, 3, 5, 7]
    val = read_events(str(tmp_path / "tbv"))["validation/accuracy"]
    assert [s for s, _ in val] == [0, 1]
    mxnet_style = read_events(str(tmp_path / "mx"))["eval-accuracy"]
    assert [s for s, _ in mxnet_style] == [0, 1]
    assert [v for _, v in mxnet_style] == pytest.approx([v for _, v in val])


def test_missing_writer_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(mx.MXNetError, match=r"pip install 'distnet-mx\[tensorboard\]'"):
        mx.contrib.tensorboard.LogMetricsCallback("/nonexistent")


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_tqdm_progress_only_on_rank_0_terminals(monkeypatch):
    metric = mx.metric.Accuracy()
    metric.update([mx.nd.array([0, 1])], [mx.nd.array([[1, 0], [1, 0]])])
    tty = _Tty()
    bar = mx.callback.TqdmProgress(total=3, num_epoch=2, rank=0, stream=tty, mininterval=0)
    for n in range(3):
        bar(mx.callback.BatchEndParam(0, n, metric, None))
    bar.epoch_end(0)
    shown = tty.getvalue()
    assert "Epoch 1/2" in shown and "3/3" in shown and "accuracy=0.5000" in shown
    for stream, rank in ((io.StringIO(), 0), (_Tty(), 1)):  # a pipe; rank 1
        quiet = mx.callback.TqdmProgress(total=3, rank=rank, stream=stream)
        quiet(mx.callback.BatchEndParam(0, 0, metric, None))
        assert stream.getvalue() == "" and not quiet.enabled
    monkeypatch.setenv("RANK", "2")
    assert not mx.callback.TqdmProgress(stream=_Tty()).enabled


def test_speedometer_logs_once_for_an_epoch_shorter_than_frequent(caplog):
    caplog.set_level(logging.INFO, logger="distnet")
    x, y = _data(48)
    _module().fit(
        mx.io.NDArrayIter(x, y, 16),
        num_epoch=2,
        batch_end_callback=mx.callback.Speedometer(16, frequent=50),
    )
    lines = [r.getMessage() for r in caplog.records if "Speed" in r.getMessage()]
    assert [line.split("\tSpeed")[0] for line in lines] == [
        "Epoch[0] Batch [0-2]",
        "Epoch[1] Batch [0-2]",
    ]
    assert all(line.split("\t")[2].startswith("accuracy=") for line in lines)


def test_allreduce_metric_single_process_is_the_global_value():
    metric = mx.metric.create(["acc", "mse"])
    metric.update([mx.nd.array([0, 1])], [mx.nd.array([[1, 0], [0.2, 0.8]])])
    assert mx.metric.allreduce_metric(metric, None) == metric.get_global_name_value()
    assert (
        mx.metric.allreduce_metric(metric, mx.kv.create("local")) == metric.get_global_name_value()
    )
    with pytest.raises(mx.MXNetError, match="'f1'.*cannot be combined"):
        mx.metric.allreduce_metric(mx.metric.F1(), None)


def test_allreduce_metric_across_two_workers(run_distributed):
    job = run_distributed(
        usability_targets.combined_metric_worker, num_workers=2, num_servers=1, timeout=60
    )
    job.check()
    results = [w.result for w in job.workers]
    assert [r["local"] for r in results] == [0.75, 0.25]
    assert [r["combined"] for r in results] == [0.5, 0.5]  # 4 of 8
    assert [r["after"] for r in results] == [0.75, 0.25]  # the metric is untouched


def test_allreduce_metric_bypasses_the_servers_optimizer(run_distributed):
    job = run_distributed(
        usability_targets.combined_metric_with_server_optimizer,
        num_workers=2,
        num_servers=1,
        timeout=60,
    )
    job.check()
    results = [w.result for w in job.workers]
    (acc0, mse0), (acc1, mse1) = (r["stats"] for r in results)
    assert (acc0, acc1) == ([3, 4], [2, 4])  # rank 0: 3 of 4 right, rank 1: 2 of 4
    mse = (mse0[0] + mse1[0]) / (mse0[1] + mse1[1])
    for result in results:
        for pairs in result["combined"]:  # twice: the key is reused, not re-inited
            values = dict(pairs)
            assert values["accuracy"] == pytest.approx(5 / 8)
            assert values["mse"] == pytest.approx(mse)


def test_module_fit_logs_the_train_metric_of_all_workers(run_distributed):
    job = run_distributed(
        usability_targets.fit_with_combined_metric, num_workers=2, num_servers=1, timeout=90
    )
    job.check()
    per_worker = [w.result for w in job.workers]
    combined = []
    for lines in per_worker:
        # per epoch: the job's value (at the last batch), then fit's line for the worker
        assert len(lines) == 4
        assert lines[0].startswith("Epoch[0] Train-accuracy=")
        assert lines[0].endswith(" (all 2 workers)") and lines[2].endswith(" (all 2 workers)")
        assert lines[1].startswith("Epoch[0] Train-accuracy=") and "all" not in lines[1]
        combined.append([lines[0], lines[2]])
    assert combined[0] == combined[1]  # every worker logs the same job value
    own = [float(per_worker[r][1].split("=")[1]) for r in (0, 1)]
    assert float(combined[0][0].split("=")[1].split()[0]) == pytest.approx(
        sum(own) / 2, abs=1e-6
    )  # equal sample counts: the mean
