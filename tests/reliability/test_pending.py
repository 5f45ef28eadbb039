"""Every read of an NDArray's memory waits for its pending kvstore transfer (through
NDArray._read()/read_raw), and mx.nd.waitall() waits for every transfer: saving right
after `trainer.step()` / `mod.update()` saves what training computed."""

import os

import numpy as np
import pytest

import distnet as mx
from distnet import gluon
from distnet.gluon.data._batchify import default_batchify_fn
from distnet.ndarray.ndarray import read_raw

import exit_jobs as jobs

pytestmark = pytest.mark.timeout(120)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _LatePull:
    """Stands in for a kvstore pull still in flight: the array's memory holds the old
    value until wait() writes the pulled one, as the I/O thread would."""

    def __init__(self, arr, value):
        self.arr, self.value, self.done, self.waits = arr, value, False, 0
        arr._pending = self

    def wait(self):
        self.waits += 1
        self.arr._data[...] = self.value
        self.done = True


def _pending_array(shape=(2, 3), old=0.0, new=1.5):
    arr = mx.nd.full(shape, old)
    return arr, _LatePull(arr, new), np.full(shape, new, np.float32)


def _net():
    net = gluon.nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(gluon.nn.Dense(3, in_units=4))
    net.initialize(mx.init.Zero())
    net.hybridize()
    net(mx.nd.ones((1, 4)))
    return net


def test_read_raw_waits_and_passes_other_values_through():
    arr, pull, want = _pending_array()
    np.testing.assert_array_equal(read_raw(arr), want)
    assert pull.waits == 1 and arr._pending is None
    raw = np.zeros(2)
    assert read_raw(raw) is raw


@pytest.mark.parametrize(
    "read",
    [
        "asnumpy",
        "copy",
        "copyto",
        "nd.save",
        "operator",
        "reshape",
        "setitem_source",
        "inplace_add",
    ],
)
def test_ndarray_readers_wait(read, tmp_path):
    arr, pull, want = _pending_array()
    if read == "asnumpy":
        got = arr.asnumpy()
    elif read == "copy":
        got = arr.copy()._data
    elif read == "copyto":
        got = arr.copyto(mx.nd.zeros(arr.shape))._data
    elif read == "nd.save":
        mx.nd.save(str(tmp_path / "a.nd"), {"a": arr})
        got = mx.nd.load(str(tmp_path / "a.nd"))["a"]._data
    elif read == "operator":
        got = (arr * 1)._data
    elif read == "reshape":
        got = arr.reshape((3, 2))._data.reshape(arr.shape)
    elif read == "setitem_source":
        out = mx.nd.zeros(arr.shape)
        out[:] = arr
        got = out._data
    else:
        arr += 0
        got = arr._data
    assert pull.waits == 1
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("save", ["save_parameters", "export", "collect_params.save"])
def test_gluon_saves_wait_for_the_pull_into_the_weights(save, tmp_path):
    net = _net()
    weight = net[0].weight.data()
    pull = _LatePull(weight, np.full(weight.shape, 0.25, np.float32))
    if save == "save_parameters":
        net.save_parameters(str(tmp_path / "w.params"))
        loaded = mx.nd.load(str(tmp_path / "w.params"))["0.weight"]
    elif save == "export":
        net.export(str(tmp_path / "w"), epoch=1)
        loaded = mx.nd.load(str(tmp_path / "w-0001.params"))["arg:net_dense0_weight"]
    else:
        net.collect_params().save(str(tmp_path / "w.params"))
        loaded = mx.nd.load(str(tmp_path / "w.params"))["net_dense0_weight"]
    assert pull.waits == 1
    np.testing.assert_array_equal(loaded.asnumpy(), 0.25)


def test_parameter_reduce_set_data_and_cast_wait():
    net = _net()
    param = net[0].weight
    _LatePull(param.data(), np.full(param.shape, 2.0, np.float32))
    np.testing.assert_array_equal(param._reduce().asnumpy(), 2.0)
    pull = _LatePull(param.data(), np.full(param.shape, 3.0, np.float32))
    param.set_data(mx.nd.full(param.shape, 5.0))  # the pull lands first, then the new value
    assert pull.waits == 1
    np.testing.assert_array_equal(param.data().asnumpy(), 5.0)
    _LatePull(param.data(), np.full(param.shape, 4.0, np.float32))
    param.cast("float64")
    np.testing.assert_array_equal(param.data().asnumpy(), 4.0)


def test_metric_optimizer_clip_and_batchify_wait():
    pred, pull, _ = _pending_array((2, 2), 0.0, 0.0)
    pred._data[...] = [[1, 0], [1, 0]]  # argmax 0 before the pull, 1 after
    pull.value = np.array([[0, 1], [0, 1]], np.float32)
    acc = mx.metric.Accuracy()
    acc.update([mx.nd.array([1, 1])], [pred])
    assert acc.get() == ("accuracy", 1.0)
    weight, pull, _ = _pending_array((3,), 0.0, 1.0)
    mx.optimizer.SGD(learning_rate=0.5).update(0, weight, mx.nd.ones((3,)), None)
    np.testing.assert_allclose(weight.asnumpy(), 0.5)  # 1.0 (pulled) - 0.5 * 1
    grad, pull, _ = _pending_array((4,), 0.0, 3.0)
    norm = gluon.utils.clip_global_norm([grad], 1.0)
    assert norm == pytest.approx(6.0)
    np.testing.assert_allclose(grad.asnumpy(), 0.5, rtol=1e-6)
    sample, pull, want = _pending_array((2,), 0.0, 7.0)
    batch = default_batchify_fn([sample, mx.nd.zeros((2,))])
    np.testing.assert_array_equal(batch.asnumpy()[0], want)


def _same_files(names):
    for now, waited in zip(names["now"], names["waited"]):
        with open(now, "rb") as a, open(waited, "rb") as b:
            assert a.read() == b.read(), f"{now} (right after the step) != {waited}"


def test_gluon_save_right_after_step_equals_save_after_waitall(run_distributed, tmp_path):
    job = run_distributed(
        jobs.gluon_save_right_after_step,
        num_workers=2,
        num_servers=1,
        timeout=90,
        args=[str(tmp_path), 4],
        env={"DISTNET_KVSTORE_SHM": "0"},
    ).check()
    names = job.workers[0].result
    assert len(names["now"]) == 2  # save_parameters and export
    _same_files(names)


def test_module_checkpoint_right_after_update_equals_after_waitall(run_distributed, tmp_path):
    job = run_distributed(
        jobs.module_save_right_after_update,
        num_workers=2,
        num_servers=1,
        timeout=90,
        args=[str(tmp_path), 4],
        env={"DISTNET_KVSTORE_SHM": "0"},
    ).check()
    _same_files(job.workers[0].result)


def test_waitall_waits_for_every_pull(run_distributed):
    job = run_distributed(
        jobs.waitall_after_step,
        num_workers=2,
        num_servers=1,
        timeout=90,
        args=[3],
        env={"DISTNET_KVSTORE_SHM": "0"},
    ).check()
    a, b = (w.result for w in job.workers)
    for res in (a, b):
        assert res["in_flight"] == [] and res["raw_is_final"] is True, res
    assert a["weights"] == b["weights"]  # dist_sync: both hold the servers' weights


def test_two_identical_train_mnist_gluon_runs_write_identical_checkpoints(
    run_distributed, tmp_path
):
    script = os.path.join(REPO, "scripts", "train_mnist.py")
    for run in ("a", "b"):
        run_distributed(
            script,
            num_workers=2,
            num_servers=1,
            timeout=120,
            args=[
                "--api",
                "gluon",
                "--kv-store",
                "dist_sync",
                "--seed",
                "1",
                "--num-epochs",
                "3",
                "--model-prefix",
                str(tmp_path / run / "mnist"),
            ],
        ).check()
    files = sorted(os.listdir(tmp_path / "a"))
    assert files == [
        "mnist-0001.params",
        "mnist-0001.states",
        "mnist-0002.params",
        "mnist-0002.states",
        "mnist-0003.params",
        "mnist-0003.states",
        "mnist-symbol.json",
    ]  # .states: the trainer's, for exact resume
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
