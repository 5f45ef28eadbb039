"""gluon.Trainer: updates, multi-context reduction through the kvstore, MXNet's
update_on_kvstore rules, stale gradients, states, and a dist_sync job."""

import os

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon, nd
from distnet.gluon import nn

from .helpers import assert_close

_X = np.random.RandomState(0).uniform(-1, 1, (8, 5)).astype(np.float32)
_Y = np.random.RandomState(1).randint(0, 3, (8,)).astype(np.float32)


def _net(ctx):
    net = nn.HybridSequential(prefix="t_")
    with net.name_scope():
        net.add(nn.Dense(4, activation="tanh", in_units=5), nn.Dense(3, in_units=4))
    net.initialize(mx.init.Xavier(), ctx=ctx)
    for i, p in enumerate(net.collect_params().values()):  # the same start everywhere
        p.set_data(nd.array(np.random.RandomState(10 + i).uniform(-0.5, 0.5, p.shape)))
    return net


def _train(ctxs, steps=3, hybridize=False, **trainer_kw):
    net = _net(ctxs)
    if hybridize:
        net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    opt_params = trainer_kw.pop("optimizer_params", {"learning_rate": 0.5, "momentum": 0.9})
    trainer = gluon.Trainer(net.collect_params(), "sgd", opt_params, **trainer_kw)
    xs = np.array_split(_X, len(ctxs))
    ys = np.array_split(_Y, len(ctxs))
    for _ in range(steps):
        with autograd.record():
            losses = [
                loss_fn(net(nd.array(x, ctx=c)), nd.array(y, ctx=c))
                for x, y, c in zip(xs, ys, ctxs)
            ]
        for loss in losses:
            loss.backward()
        trainer.step(len(_X))
    return net, trainer


def _weights(net, ctx=None):
    return {k[2:]: p.data(ctx).asnumpy() for k, p in net.collect_params().items()}


def test_sgd_step_is_lr_times_mean_gradient():
    net = _net([mx.cpu()])
    w0 = _weights(net)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    with autograd.record():
        loss = gluon.loss.L2Loss()(net(nd.array(_X)), nd.zeros((8, 3)))
    loss.backward()
    grads = {k[2:]: p.grad().asnumpy() for k, p in net.collect_params().items()}
    trainer.step(8)
    for key, w in _weights(net).items():
        assert_close(w, w0[key] - 0.1 * grads[key] / 8, rtol=1e-5, atol=1e-7, msg=key)


@pytest.mark.parametrize(
    "kw",
    [{}, {"update_on_kvstore": False}, {"kvstore": "local"}, {"hybridize": True}],
    ids=["device_on_kvstore", "device_local_update", "local", "hybrid"],
)
def test_two_contexts_equal_one(kw):
    single, _ = _train([mx.cpu(0)])
    double, trainer = _train([mx.cpu(0), mx.cpu(1)], **kw)
    assert trainer._kvstore is not None
    assert trainer._update_on_kvstore == kw.get("update_on_kvstore", True)
    want = _weights(single)
    for ctx in (mx.cpu(0), mx.cpu(1)):
        for key, w in _weights(double, ctx).items():
            assert_close(w, want[key], rtol=1e-5, atol=1e-6, msg=f"{key} on {ctx}")


def test_single_context_uses_no_kvstore_and_rules_raise_value_errors():
    _, trainer = _train([mx.cpu(0)], steps=1)
    assert trainer._kvstore is None and trainer._update_on_kvstore is None
    with pytest.raises(ValueError, match="Please set update_on_kvstore=False"):
        _train([mx.cpu(0)], steps=1, update_on_kvstore=True)
    _, multi = _train([mx.cpu(0), mx.cpu(1)], steps=1)
    with pytest.raises(
        AssertionError,
        match="allreduce_grads\\(\\) when parameters are updated on kvstore is not supported",
    ):
        multi.allreduce_grads()
    with pytest.raises(
        AssertionError, match="update\\(\\) when parameters are updated on kvstore is not supported"
    ):
        multi.update(8)


def test_env_turns_update_on_kvstore_off(monkeypatch):
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    _, trainer = _train([mx.cpu(0), mx.cpu(1)], steps=1)
    assert trainer._update_on_kvstore is False


def test_allreduce_grads_then_update_allows_clipping():
    net, trainer = _train(
        [mx.cpu(0), mx.cpu(1)],
        steps=0,
        update_on_kvstore=False,
        optimizer_params={"learning_rate": 1.0},
    )
    loss_fn = gluon.loss.L2Loss()
    with autograd.record():
        losses = [
            loss_fn(net(nd.ones((1, 5), ctx=c)), nd.zeros((1, 3), ctx=c))
            for c in (mx.cpu(0), mx.cpu(1))
        ]
    for loss in losses:
        loss.backward()
    before = _weights(net, mx.cpu(1))
    trainer.allreduce_grads()
    p = net.collect_params()["t_dense1_bias"]
    g0, g1 = p.grad(mx.cpu(0)).asnumpy(), p.grad(mx.cpu(1)).asnumpy()
    assert_close(g0, g1)  # summed over both contexts
    for param in net.collect_params().values():
        for g in param.list_grad():
            g[:] = nd.clip(g, -0.01, 0.01)
    trainer.update(1)
    after = _weights(net, mx.cpu(1))
    assert all(np.abs(after[k] - before[k]).max() <= 0.01 + 1e-7 for k in after)


def test_stale_gradient_is_an_error_naming_the_parameter():
    net = _net([mx.cpu()])
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    with autograd.record():
        out = net[0](nd.array(_X))  # only the first layer gets a gradient
    out.backward()
    with pytest.raises(
        UserWarning,
        match="Gradient of Parameter `t_dense1_bias` on context cpu\\(0\\) has not been updated",
    ):
        trainer.step(8)
    w1 = net[1].weight.data().asnumpy()
    with autograd.record():
        out = net[0](nd.array(_X))
    out.backward()
    w0 = net[0].weight.data().asnumpy()
    trainer.step(8, ignore_stale_grad=True)
    assert np.array_equal(net[1].weight.data().asnumpy(), w1)
    assert not np.array_equal(net[0].weight.data().asnumpy(), w0)
    with pytest.raises(UserWarning, match="`t_dense0_bias`"):
        trainer.step(8)  # no backward since the last step


def test_learning_rate_and_constructor_checks():
    net = _net([mx.cpu()])
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.25})
    assert trainer.learning_rate == 0.25
    trainer.set_learning_rate(0.05)
    assert trainer.learning_rate == 0.05 and trainer.optimizer.lr == 0.05
    with pytest.raises(AssertionError, match="optimizer_params must be None"):
        gluon.Trainer(net.collect_params(), mx.optimizer.SGD(), {"learning_rate": 1})
    with pytest.raises(ValueError, match="First argument must be a list or dict of Parameters"):
        gluon.Trainer(net.collect_params().values(), "sgd")
    with pytest.raises(ValueError, match="got list of"):
        gluon.Trainer([1, 2], "sgd")
    other = nn.Dense(2, in_units=2)
    other.initialize(ctx=mx.cpu(1))
    params = list(net.collect_params().values()) + list(other.collect_params().values())
    with pytest.raises(
        AssertionError, match="All Parameters must be initialized on the same set of contexts"
    ):
        gluon.Trainer(params, "sgd")


def _step_on(net, trainer, ctxs):
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        losses = [
            loss_fn(net(nd.array(x, ctx=c)), nd.array(y, ctx=c))
            for x, y, c in zip(np.array_split(_X, len(ctxs)), np.array_split(_Y, len(ctxs)), ctxs)
        ]
    for loss in losses:
        loss.backward()
    trainer.step(len(_X))


@pytest.mark.parametrize(
    "ctxs", [[mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]], ids=["one_context", "kvstore_updates"]
)
def test_save_load_states_resume_training(tmp_path, ctxs):
    fname = str(tmp_path / "trainer.states")
    ref_net, net = _net(ctxs), _net(ctxs)
    ref = gluon.Trainer(ref_net.collect_params(), "adam", {"learning_rate": 0.01})
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    for _ in range(2):
        _step_on(ref_net, ref, ctxs)
        _step_on(net, trainer, ctxs)
    assert trainer._update_on_kvstore is (True if len(ctxs) > 1 else None)
    trainer.save_states(fname)
    with open(fname, "rb") as f:
        assert f.read(1) != b"\x80"  # not a pickle
    resumed = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    resumed.load_states(fname)
    for _ in range(2):
        _step_on(ref_net, ref, ctxs)
        _step_on(net, resumed, ctxs)
    for key, w in _weights(ref_net).items():
        assert_close(_weights(net)[key], w, rtol=1e-6, atol=1e-7, msg=key)


@pytest.mark.parametrize("on_kvstore", [True, False], ids=["server_update", "worker_update"])
def test_dist_sync_workers_start_from_rank_0(run_distributed, on_kvstore):
    here = os.path.dirname(__file__)
    job = run_distributed(
        "gluon_jobs:trainer_first_step",
        num_workers=2,
        num_servers=1,
        timeout=90,
        env={"PYTHONPATH": here},
        args=[on_kvstore],
    )
    job.check()
    a, b = (w.result for w in job.workers)
    assert a["update_on_kvstore"] is b["update_on_kvstore"] is on_kvstore
    assert not np.allclose(a["init"], b["init"])  # different random starts...
    summed = np.add(a["grad"], b["grad"])
    want = np.asarray(a["init"]) - a["lr"] * summed / a["batch"]  # ...rank 0's after step 1
    assert np.allclose(a["after"], want, atol=1e-6)
    assert np.allclose(b["after"], want, atol=1e-6)
    assert np.allclose(a["second"], b["second"], atol=1e-6)


def test_compression_params_reach_the_kvstore():
    net, trainer = _train(
        [mx.cpu(0), mx.cpu(1)],
        steps=0,
        update_on_kvstore=False,
        compression_params={"type": "2bit", "threshold": 0.5},
    )
    with autograd.record():
        losses = [(net(nd.array(_X, ctx=c)) * 10).sum() for c in (mx.cpu(0), mx.cpu(1))]
    for loss in losses:
        loss.backward()
    trainer.allreduce_grads()
    for param in net.collect_params().values():
        grads = param.grad(mx.cpu(0)).asnumpy()
        # each context sends -0.5, 0 or +0.5 per element; their sum is a multiple of 0.5
        assert np.allclose(grads * 2, np.round(grads * 2)), param.name
        assert np.abs(grads).max() <= 1.0


def test_dist_async_rules(run_distributed):
    here = os.path.dirname(__file__)
    job = run_distributed(
        "gluon_jobs:trainer_async_rules",
        num_workers=2,
        num_servers=1,
        timeout=90,
        env={"PYTHONPATH": here},
    )
    job.check()
    for result in (w.result for w in job.workers):
        assert result["refused"] == "Please set update_on_kvstore=True when training in async mode."
        assert result["update_on_kvstore"] is True
        assert (
            "Possible change in the `batch_size` from previous `step` detected"
            in result["batch_change"]
        )
