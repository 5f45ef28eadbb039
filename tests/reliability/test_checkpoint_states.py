"""Optimizer states in checkpoints: Module's ``save_optimizer_states``, Trainer's
``save_states``, the servers' states in a dist job; bad files fail with a clear error and
change nothing."""

import msgpack
import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.testing import run_distributed


def _module(states_from=None):
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    mod = mx.mod.Module(net)
    mod.bind(data_shapes=[("data", (4, 5))], label_shapes=[("softmax_label", (4,))])
    mod.init_params(mx.init.Constant(0.1))
    mod.init_optimizer(optimizer="adam", optimizer_params={"learning_rate": 0.01})
    if states_from:
        mod.load_optimizer_states(states_from)
    return mod


def _step(mod, seed):
    rng = np.random.RandomState(seed)
    batch = mx.io.DataBatch([mx.nd.array(rng.rand(4, 5))], [mx.nd.array(rng.randint(0, 3, 4))])
    mod.forward_backward(batch)
    mod.update()


def test_module_checkpoint_with_states_continues_exactly(tmp_path):
    prefix = str(tmp_path / "net")
    straight = _module()
    for i in range(4):
        _step(straight, i)
    first = _module()
    for i in range(2):
        _step(first, i)
    first.save_checkpoint(prefix, 2, save_optimizer_states=True)
    resumed = mx.mod.Module.load(prefix, 2, load_optimizer_states=True)
    resumed.bind(data_shapes=[("data", (4, 5))], label_shapes=[("softmax_label", (4,))])
    resumed.init_optimizer(optimizer="adam", optimizer_params={"learning_rate": 0.01})
    for i in range(2, 4):
        _step(resumed, i)
    want, got = straight.get_params()[0], resumed.get_params()[0]
    for name in want:
        np.testing.assert_array_equal(got[name].asnumpy(), want[name].asnumpy(), name)


def test_bad_states_file_changes_nothing(tmp_path):
    mod = _module()
    _step(mod, 0)
    good = tmp_path / "good.states"
    mod.save_optimizer_states(str(good))
    doc = msgpack.unpackb(good.read_bytes(), raw=False, strict_map_key=False)
    doc["states"][-1][1] = ["nd", "<f4", [3, 5], b"short"]
    bad = tmp_path / "bad.states"
    bad.write_bytes(msgpack.packb(doc, use_bin_type=True))
    before = mod._updater.get_states()
    with pytest.raises(
        MXNetError,
        match=r"key \d+ shape \(3, 5\) float32 needs 60 bytes, "
        r"got 5",
    ):
        mod.load_optimizer_states(str(bad))
    assert mod._updater.get_states() == before  # validated in full before any change
    with pytest.raises(MXNetError, match=r"load_optimizer_states: cannot read .*missing"):
        mod.load_optimizer_states(str(tmp_path / "missing.states"))


def test_trainer_states_round_trip(tmp_path):
    net = mx.gluon.nn.Dense(2, in_units=3)
    net.initialize(mx.init.Constant(0.5))
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    with mx.autograd.record():
        loss = net(mx.nd.ones((2, 3))).sum()
    loss.backward()
    trainer.step(2)
    trainer.save_states(str(tmp_path / "t.states"))
    other = mx.gluon.Trainer(net.collect_params(), "adam")
    other.load_states(str(tmp_path / "t.states"))
    assert type(other.optimizer).__name__ == "SGD" and other.optimizer.momentum == 0.9
    assert other.optimizer.num_update == 1
    with pytest.raises(MXNetError, match="cannot read .*nope.states"):
        other.load_states(str(tmp_path / "nope.states"))


def corrupt_server_states(path):
    """Job: rank 0 saves the servers' states, corrupts its copy and loads it back; the
    servers refuse it with an error the worker sees (no hang), and keep serving."""
    import distnet as mx

    kv = mx.kv.create("dist_sync")
    kv.set_optimizer(mx.optimizer.create("sgd", learning_rate=0.1, momentum=0.9))
    kv.init("w", mx.nd.ones((4,)))
    kv.push("w", mx.nd.ones((4,)))
    out = mx.nd.zeros((4,))
    kv.pull("w", out=out)
    error = None
    if kv.rank == 0:
        kv.save_optimizer_states(path)
        with open(path, "rb") as f:
            doc = msgpack.unpackb(f.read(), raw=False)
        doc["servers"][0] = doc["servers"][0][:-7]
        with open(path, "wb") as f:
            f.write(msgpack.packb(doc, use_bin_type=True))
        try:
            kv.load_optimizer_states(path)
        except MXNetError as err:
            error = str(err)
    kv.barrier()
    kv.push("w", mx.nd.ones((4,)))
    kv.pull("w", out=out)
    kv.close()
    return {"error": error, "w": out.asnumpy().tolist()}


def test_servers_refuse_a_corrupt_states_file(tmp_path):
    job = run_distributed(
        corrupt_server_states,
        num_workers=2,
        num_servers=1,
        timeout=90,
        args=[str(tmp_path / "kv.states")],
    )
    job.check()
    r0, r1 = (w.result for w in job.workers)
    assert r0["error"] and "set_states" in r0["error"] and "optimizer states" in r0["error"]
    # the servers kept their states: momentum continues (w = 1 - 0.2 - 0.2*(1 + 0.9))
    np.testing.assert_allclose(r0["w"], [1 - 0.2 - 0.2 * 1.9] * 4, rtol=1e-6)
    assert r1["w"] == r0["w"]
