"""scripts/train_mnist.py: trains to >= 95% on Digits as a 2-worker job with either API,
checkpoints on rank 0 only, and its checkpoints reload (in either API, and to resume)."""

import gzip
import importlib.util
import io
import logging
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import distnet as mx
from distnet.testing import run_distributed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "scripts", "train_mnist.py")


@pytest.fixture(scope="module")
def tm():
    """The script as a module (its functions are the reference for reloading)."""
    spec = importlib.util.spec_from_file_location("train_mnist_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits(tm):
    return tm.load_dataset("digits")


def _accuracy(output, what="Test-accuracy"):
    found = re.findall(r"Node\[\d\] %s=([\d.]+)" % what, output)
    assert found, output
    return float(found[-1])


def _run_job(api, prefix):
    job = run_distributed(
        SCRIPT,
        num_workers=2,
        num_servers=1,
        timeout=240,
        args=["--api", api, "--kv-store", "dist_sync", "--seed", "1", "--model-prefix", prefix],
    )
    job.check()
    return job.workers


@pytest.mark.parametrize("api", ["module", "gluon"])
def test_two_worker_job_reaches_95_percent_and_its_checkpoint_reloads(api, tm, digits, tmp_path):
    prefix = str(tmp_path / "ckpt" / api)
    w0, w1 = _run_job(api, prefix)
    acc = _accuracy(w0.output)
    assert acc >= 0.95, w0.output
    assert _accuracy(w1.output) == acc  # dist_sync: both workers hold the same model
    assert "750 training samples on this worker (2 workers)" in w0.output
    # only rank 0 writes checkpoints, one per epoch (20 by default)
    saved = re.findall(r'Saved checkpoint to "([^"]+)"', w0.output)
    assert saved == ["%s-%04d.params" % (prefix, e) for e in range(1, 21)]
    assert "Saved checkpoint" not in w1.output
    assert re.findall(r"Node\[1\] Epoch\[(\d+)\] Validation", w1.output)[-1] == "19"

    test_x, test_y = digits[2], digits[3]
    # the checkpoint in the Module API: the same test accuracy as the job reported
    _, args, aux = mx.model.load_checkpoint(prefix, 20)
    mod = mx.mod.Module(tm.get_symbol("mlp", 10, 8))
    mod.bind(
        data_shapes=[("data", (len(test_x), 1, 8, 8))],
        label_shapes=[("softmax_label", (len(test_x),))],
        for_training=False,
    )
    mod.set_params(args, aux)
    pred = mod.predict(mx.io.NDArrayIter(test_x, batch_size=len(test_x))).asnumpy()
    assert abs((pred.argmax(1) == test_y).mean() - acc) < 1e-6
    # and in the Gluon API: the parameter names are the same in both
    net = tm.get_gluon_net("mlp", 10, 8)
    net.load_parameters("%s-%04d.params" % (prefix, 20), ctx=mx.cpu())
    assert abs(tm.evaluate(net, test_x, test_y, 64, mx.cpu()) - acc) < 1e-6


def _run_script(*args, env=None):
    full_env = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
    res = subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
    )
    assert res.returncode == 0, res.stderr
    return res.stderr


@pytest.mark.parametrize("api", ["module", "gluon"])
def test_resume_from_a_checkpoint(api, tmp_path):
    prefix = str(tmp_path / "m")
    first = _run_script("--api", api, "--num-epochs", 2, "--model-prefix", prefix, "--seed", 2)
    assert "Epoch[1] Train-accuracy" in first and os.path.exists(prefix + "-0002.params")
    log = _run_script("--api", api, "--num-epochs", 3, "--model-prefix", prefix, "--load-epoch", 2)
    assert "Loaded model %s-0002.params" % prefix in log
    assert re.findall(r"Epoch\[(\d+)\] Train-accuracy", log) == ["2"]
    assert 'Saved checkpoint to "%s-0003.params"' % prefix in log
    # resumed from epoch 2's weights, not from scratch: already far above chance
    assert _accuracy(log, r"Epoch\[2\] Train-accuracy") > 0.8


def test_mpiexec_directly_uses_mpi_allreduce(tmp_path):
    """README: `mpiexec -n N python scripts/train_mnist.py` trains one model with MPI."""
    from launcher.mpi import find_mpiexec

    pytest.importorskip("mpi4py")
    try:
        mpiexec = find_mpiexec()
    except OSError as err:
        pytest.skip(str(err))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    env["PYTHONPATH"] = REPO
    res = subprocess.run(
        [
            mpiexec,
            "-n",
            "2",
            sys.executable,
            SCRIPT,
            "--num-epochs",
            "2",
            "--model-prefix",
            str(tmp_path / "m"),
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stderr
    assert "kv_store='dist_sync'" in log  # the default in an MPI job
    assert log.count("750 training samples on this worker (2 workers)") == 2
    accs = dict(re.findall(r"Node\[(\d)\] Test-accuracy=([\d.]+)", log))
    assert sorted(accs) == ["0", "1"]
    assert accs["0"] == accs["1"] and float(accs["0"]) > 0.5  # one model on both ranks
    saved = re.findall(r"Node\[(\d)\] Saved checkpoint", log)
    assert saved == ["0", "0"] and (tmp_path / "m-0002.params").exists()


def _write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fout:
        fout.write(header + array.tobytes())


def test_lenet_on_mnist_files(tmp_path):
    """--dataset mnist --data-dir reads IDX files; LeNet has MXNet's shapes on 28x28."""
    rng = np.random.RandomState(0)
    for prefix, count in (("train", 256), ("t10k", 64)):
        labels = np.arange(count) % 10
        images = rng.randint(0, 40, (count, 28, 28))
        for i, c in enumerate(labels):  # a bright bar per class: learnable in 2 epochs
            images[i, 2 + 2 * c : 4 + 2 * c, 4:24] = 255
        _write_idx(str(tmp_path / f"{prefix}-images-idx3-ubyte.gz"), images)
        _write_idx(str(tmp_path / f"{prefix}-labels-idx1-ubyte.gz"), labels)
    log = _run_script(
        "--dataset",
        "mnist",
        "--data-dir",
        tmp_path,
        "--network",
        "lenet",
        "--num-epochs",
        3,
        "--lr",
        0.1,
        "--seed",
        0,
        "--model-prefix",
        tmp_path / "lenet",
        env={"MXNET_GLUON_REPO": "http://127.0.0.1:9/"},
    )
    assert "mnist: 256 training samples on this worker (1 workers), 64 test samples" in log
    assert "batch_size=64, lr=0.1" in log and "wd=0.0001" in log  # MXNet's defaults
    assert _accuracy(log) > 0.9
    args = mx.nd.load(str(tmp_path / "lenet-0003.params"))
    assert args["arg:conv1_weight"].shape == (20, 1, 5, 5)
    assert args["arg:fc1_weight"].shape == (500, 50 * 4 * 4)  # 28 -> 24 -> 12 -> 8 -> 4


def test_flags_and_defaults(tm, monkeypatch):
    args = tm.parse_args([])
    assert (args.network, args.api, args.dataset, args.num_epochs) == (
        "mlp",
        "module",
        "digits",
        20,
    )
    assert (args.batch_size, args.lr, args.lr_step_epochs, args.wd) == (32, 0.1, "14", 0.001)
    args = tm.parse_args(["--dataset", "fashion-mnist", "--lr", "0.3"])
    assert (args.batch_size, args.lr, args.lr_step_epochs, args.wd) == (64, 0.3, "10", 0.0001)
    with pytest.raises(SystemExit):
        tm.parse_args(["--load-epoch", "3"])
    for name in ("DMLC_ROLE", "DMLC_NUM_WORKER", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert not tm.distributed_job()
    monkeypatch.setenv("PMI_SIZE", "4")  # under MPICH's mpiexec
    assert tm.distributed_job()
    assert [str(c) for c in tm.contexts("0,1")] == ["gpu(0)", "gpu(1)"]
    assert [str(c) for c in tm.contexts(None)] == ["cpu(0)"]


def test_shards_are_equal_and_disjoint(tm):
    x = np.arange(103, dtype=np.float32)[:, None]
    parts = [tm.shard(x, x[:, 0], r, 4)[1] for r in range(4)]
    assert [len(p) for p in parts] == [25] * 4
    assert len(set(np.concatenate(parts).tolist())) == 100


def test_lr_schedule_as_mxnet_fit(tm):
    args = tm.parse_args(["--lr", "0.1", "--lr-step-epochs", "2,4", "--batch-size", "10"])
    lr, sched = tm.lr_scheduler(args, num_examples=200, num_workers=2, begin_epoch=3)
    assert lr == pytest.approx(0.01)  # the drop at epoch 2 already happened
    assert sched.step == [10] and sched.factor == pytest.approx(0.1)  # 10 updates/epoch


def test_progress_bar_keeps_log_lines_whole(tm, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    monkeypatch.setattr(tm.sys, "stderr", stream)
    bar = tm.make_progress(0, 3, 4)
    assert tm.make_progress(1, 3, 4) is None  # rank 0 only
    bar._kwargs["mininterval"] = 0
    metric = mx.metric.Accuracy()
    metric.update([mx.nd.array([1, 0])], [mx.nd.array([[0, 1], [0, 1]])])
    bar(mx.model.BatchEndParam(epoch=1, nbatch=0, eval_metric=metric, locals=None))
    bar(mx.model.BatchEndParam(epoch=1, nbatch=1, eval_metric=metric, locals=None))
    assert "Epoch 2/3" in stream.getvalue() and "2/4" in stream.getvalue()
    assert "accuracy=0.5000" in stream.getvalue()
    logger = logging.getLogger("train_mnist_test")
    logger.propagate = False
    logger.addHandler(bar.handler("%(message)s"))
    logger.warning("Epoch[1] Time cost=0.1")
    # the line is whole, on its own line, and the bar is drawn again below it
    after = stream.getvalue().split("Epoch[1] Time cost=0.1\n")[1]
    assert "Epoch 2/3" in after
    bar.epoch_end(1)
    assert bar._bar is None
