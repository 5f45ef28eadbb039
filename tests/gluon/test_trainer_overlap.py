"""gluon.Trainer overlaps gradient communication with backward: from the second step on,
a parameter's gradients are pushed as soon as backward has finished them on every
context, and the results equal those of communicating everything in step()."""

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon, nd
from distnet.gluon import nn

_X = np.random.RandomState(0).uniform(-1, 1, (8, 5)).astype(np.float32)
_Y = np.random.RandomState(1).randint(0, 3, (8,)).astype(np.float32)
CTXS = [mx.cpu(0), mx.cpu(1)]
NAMES = ["dense0_bias", "dense0_weight", "dense1_bias", "dense1_weight"]  # key order


def _net():
    net = nn.HybridSequential(prefix="ov_")
    with net.name_scope():
        net.add(nn.Dense(4, activation="tanh", in_units=5), nn.Dense(3, in_units=4))
    net.initialize(mx.init.Xavier(), ctx=CTXS)
    for i, p in enumerate(net.collect_params().values()):
        p.set_data(nd.array(np.random.RandomState(10 + i).uniform(-0.5, 0.5, p.shape)))
    return net


class _Recorder:
    """Wraps a kvstore's pushpull, autograd.backward and the tape's per-node backward:
    logs (key, inside backward, whether the first layer's weight gradient on the last
    context was final yet); `early` counts pushes made before backward's last node ran."""

    def __init__(self, monkeypatch, kv, net):
        self.log, self.inside, self.nodes, self.early = [], False, 0, 0
        self.first_w = net.collect_params()["ov_dense0_weight"]
        real_pushpull, real_backward = kv.pushpull, autograd.backward
        real_node_backward = autograd._node_backward
        pushed_at = []

        def pushpull(key, *args, **kwargs):
            fresh = self.first_w.list_data()[-1]._ag.fresh
            self.log.append((key, self.inside, fresh))
            pushed_at.append(self.nodes)
            return real_pushpull(key, *args, **kwargs)

        def node_backward(*args, **kwargs):
            self.nodes += 1
            return real_node_backward(*args, **kwargs)

        def backward(*args, **kwargs):
            self.inside, self.nodes = True, 0
            pushed_at.clear()
            try:
                return real_backward(*args, **kwargs)
            finally:
                self.early += sum(n < self.nodes for n in pushed_at)
                self.inside = False

        kv.pushpull = pushpull
        monkeypatch.setattr(autograd, "backward", backward)
        monkeypatch.setattr(autograd, "_node_backward", node_backward)

    def take(self):
        out, self.log = self.log, []
        return out


def _train(monkeypatch, steps=3, manual=False, req="write", backwards=1, **trainer_kw):
    """Train on CTXS through a 'device' kvstore object; returns (weights, log per step)."""
    net = _net()
    kv = mx.kv.create("device")
    rec = _Recorder(monkeypatch, kv, net)
    trainer = gluon.Trainer(
        net.collect_params(),
        "sgd",
        {"learning_rate": 0.5, "momentum": 0.9},
        kvstore=kv,
        **trainer_kw,
    )
    net.collect_params().setattr("grad_req", req)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    xs, ys = np.array_split(_X, 2), np.array_split(_Y, 2)
    logs = []
    for _ in range(steps):
        for _ in range(backwards):
            with autograd.record():
                losses = [
                    loss_fn(net(nd.array(x, ctx=c)), nd.array(y, ctx=c))
                    for x, y, c in zip(xs, ys, CTXS)
                ]
            for loss in losses:
                loss.backward()
        if manual:
            trainer.allreduce_grads()
            trainer.update(len(_X))
        else:
            trainer.step(len(_X))
        if req == "add":
            net.collect_params().zero_grad()
        logs.append(rec.take())
    logs.append(rec.early)
    weights = {k[3:]: [p.data(c).asnumpy() for c in CTXS] for k, p in net.collect_params().items()}
    return weights, logs, trainer


def _assert_same(a, b):
    assert sorted(a) == NAMES
    for name in NAMES:
        np.testing.assert_array_equal(a[name][0], a[name][1], err_msg=name)  # contexts agree
        np.testing.assert_array_equal(a[name][0], b[name][0], err_msg=name)


@pytest.mark.parametrize("manual", [False, True], ids=["step", "allreduce_update"])
def test_gradients_are_pushed_during_backward_with_the_same_result(monkeypatch, manual):
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "0")
    plain, plain_logs, _ = _train(monkeypatch, manual=manual, update_on_kvstore=False)
    assert plain_logs.pop() == 0
    assert all(not inside for log in plain_logs for _, inside, _ in log)
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "1")
    weights, logs, trainer = _train(monkeypatch, manual=manual, update_on_kvstore=False)
    assert trainer._overlap and trainer._update_on_kvstore is False
    _assert_same(weights, plain)
    # steps 2 and 3: the last layer's keys went out before the first layer's FC node ran
    assert logs.pop() == 2 * 2
    # step 1 creates the keys: everything is communicated in step, in key order
    assert logs[0] == [(i, False, True) for i in range(4)]
    for log in logs[1:]:
        keys = [key for key, _, _ in log]
        assert sorted(keys) == [0, 1, 2, 3]  # once each, none again in step
        assert all(inside for _, inside, _ in log)  # all while backward ran
        # the last layer (keys 2, 3) went out before the first layer's gradient existed
        assert sorted(keys[:2]) == [2, 3]
        assert [fresh for _, _, fresh in log[:2]] == [False, False]


def test_local_update_on_kvstore_and_the_switch_keep_communication_in_step(monkeypatch):
    # updating on a local kvstore would use the optimizer before step sets rescale_grad
    weights, logs, trainer = _train(monkeypatch)
    assert logs.pop() == 0
    assert trainer._update_on_kvstore is True and not trainer._overlap
    assert all(not inside for log in logs for _, inside, _ in log)
    assert all(sorted(k for k, _, _ in log) == [0, 1, 2, 3] for log in logs)
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "0")
    off, off_logs, trainer = _train(monkeypatch, steps=2, update_on_kvstore=False)
    assert off_logs.pop() == 0 and not trainer._overlap
    assert all(not inside for log in off_logs for _, inside, _ in log)


@pytest.mark.parametrize(
    "req,backwards", [("add", 2), ("write", 2)], ids=["accumulate_add", "backward_twice"]
)
def test_accumulation_and_repeated_backward_match_no_overlap(monkeypatch, req, backwards):
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "0")
    plain, _, _ = _train(monkeypatch, req=req, backwards=backwards, update_on_kvstore=False)
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "1")
    weights, logs, _ = _train(monkeypatch, req=req, backwards=backwards, update_on_kvstore=False)
    early = logs.pop()
    _assert_same(weights, plain)
    if req == "add":  # accumulated gradients are only complete at step: no early push
        assert early == 0 and all(not inside for log in logs for _, inside, _ in log)
    else:  # the second backward's gradients are pushed again, step adds none
        assert early == 2 * 2 * 2  # steps 2-3, 2 backwards, 2 keys
        assert all(len(log) == 8 and all(inside for _, inside, _ in log) for log in logs[1:])


def test_unset_overlap_sends_in_step_so_clipping_before_step_counts(monkeypatch):
    # A Gluon loop may edit gradients between backward() and step() (clip_global_norm, as
    # MXNet's word language model does); an early send would ship the unclipped gradient.
    # So with DISTNET_GRAD_OVERLAP unset the Trainer communicates in step(), as MXNet does.
    monkeypatch.delenv("DISTNET_GRAD_OVERLAP", raising=False)
    weights, logs, trainer = _train(monkeypatch, update_on_kvstore=False)
    assert not trainer._overlap and logs.pop() == 0
    assert all(not inside for log in logs for _, inside, _ in log)
    monkeypatch.setenv("DISTNET_GRAD_OVERLAP", "0")
    plain, _, _ = _train(monkeypatch, update_on_kvstore=False)
    _assert_same(weights, plain)
