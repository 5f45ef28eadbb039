"""BucketingModule, SequentialModule, PythonModule and PythonLossModule."""

import logging

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from data_iter import SyntheticData

FEAT, HID, CLASSES, BATCH = 3, 6, 4, 4


def _sym_gen(seq_len):
    """Mean over a sequence of `seq_len` steps, then an MLP: same parameters per bucket."""
    data = mx.sym.Variable("data")
    x = mx.sym.sum(data, axis=1) / float(seq_len)
    x = mx.sym.FullyConnected(x, num_hidden=HID, name="fc1")
    x = mx.sym.Activation(x, act_type="relu")
    x = mx.sym.FullyConnected(x, num_hidden=CLASSES, name="fc2")
    return mx.sym.SoftmaxOutput(x, name="softmax"), ("data",), ("softmax_label",)


def _seq_batch(seq_len, seed=0):
    rs = np.random.RandomState(seed + seq_len)
    y = rs.randint(0, CLASSES, BATCH)
    centres = np.eye(CLASSES, FEAT, dtype=np.float32) * 3
    x = centres[y][:, None, :] + rs.randn(BATCH, seq_len, FEAT).astype(np.float32) * 0.3
    return mx.io.DataBatch(
        [mx.nd.array(x)],
        [mx.nd.array(y)],
        bucket_key=seq_len,
        provide_data=[mx.io.DataDesc("data", (BATCH, seq_len, FEAT))],
        provide_label=[mx.io.DataDesc("softmax_label", (BATCH,))],
    )


class _BucketIter(mx.io.DataIter):
    """Batches of several sequence lengths, in a fixed order."""

    def __init__(self, keys, default):
        super().__init__(BATCH)
        self.batches = [_seq_batch(k, seed=i) for i, k in enumerate(keys)]
        self.default_bucket_key = default
        self.provide_data = [mx.io.DataDesc("data", (BATCH, default, FEAT))]
        self.provide_label = [mx.io.DataDesc("softmax_label", (BATCH,))]
        self.cur = 0

    def reset(self):
        self.cur = 0

    def next(self):
        if self.cur == len(self.batches):
            raise StopIteration
        self.cur += 1
        return self.batches[self.cur - 1]


def _bucketing():
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=5)
    mod.bind(data_shapes=[("data", (BATCH, 5, FEAT))], label_shapes=[("softmax_label", (BATCH,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    return mod


def test_bucketing_switches_buckets_sharing_params_and_optimizer():
    mod = _bucketing()
    assert mod.data_names == ("data",) or list(mod.data_names) == ["data"]
    mod.forward(_seq_batch(2), is_train=True)
    assert mod._curr_bucket_key == 2 and sorted(mod._buckets) == [2, 5]
    assert mod.get_outputs()[0].shape == (BATCH, CLASSES)
    b2, b5 = mod._buckets[2], mod._buckets[5]
    assert b2._updater is b5._updater and b2.optimizer_initialized
    for w2, w5 in zip(b2._exec_group.param_arrays, b5._exec_group.param_arrays):
        assert np.shares_memory(w2[0]._data, w5[0]._data)
    before = mod.get_params()[0]["fc1_weight"].asnumpy().copy()
    mod.backward()
    mod.update()
    after = mod.get_params()[0]["fc1_weight"].asnumpy()
    assert not np.array_equal(before, after)
    # bucket 5 computes with the weights bucket 2 just updated
    mod.forward(_seq_batch(5), is_train=False)
    ref = mx.mod.Module(_sym_gen(5)[0])
    ref.bind(data_shapes=[("data", (BATCH, 5, FEAT))], for_training=False)
    ref.set_params(*mod.get_params())
    ref.forward(_seq_batch(5), is_train=False)
    np.testing.assert_allclose(
        mod.get_outputs()[0].asnumpy(), ref.get_outputs()[0].asnumpy(), rtol=1e-6
    )
    assert mod.symbol.list_arguments() == ref.symbol.list_arguments()


def test_bucketing_fit_learns_over_buckets(caplog):
    caplog.set_level(logging.INFO)
    it = _BucketIter([5, 2, 3, 5, 2, 4, 3, 5] * 2, default=5)
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=5)
    mod.fit(it, num_epoch=12, initializer=mx.init.Xavier(), optimizer_params={"learning_rate": 0.3})
    assert sorted(mod._buckets) == [2, 3, 4, 5]
    acc = mod.score(it, "acc")[0][1]
    assert acc > 0.9
    assert "Epoch[11] Train-accuracy=" in caplog.text


def test_bucketing_checkpoint_roundtrip(tmp_path):
    mod = _bucketing()
    mod.forward(_seq_batch(3), is_train=False)
    prefix = str(tmp_path / "bk")
    mod.save_checkpoint(prefix, 1)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["bk-0001.params", "bk-3-symbol.json", "bk-5-symbol.json", "bk.buckets"]
    loaded = mx.mod.BucketingModule.load(prefix, 1, sym_gen=_sym_gen, default_bucket_key=5)
    loaded.bind(data_shapes=[("data", (BATCH, 5, FEAT))], for_training=False)
    loaded.forward(_seq_batch(3), is_train=False)
    np.testing.assert_allclose(
        loaded.get_outputs()[0].asnumpy(), mod.get_outputs()[0].asnumpy(), rtol=1e-6
    )
    with pytest.raises(MXNetError, match="sym_gen is required"):
        mx.mod.BucketingModule.load(prefix, 1, default_bucket_key=5)
    with pytest.raises(MXNetError, match="default_bucket_key"):
        mx.mod.BucketingModule(_sym_gen)


def _two_stage(x_dim=8):
    data = mx.sym.Variable("data")
    net1 = mx.sym.Activation(
        mx.sym.FullyConnected(data, num_hidden=HID, name="fc1"), act_type="relu", name="relu1"
    )
    net2 = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=CLASSES, name="fc2")
    return net1, net2


def _init_params(x_dim=8):
    rs = np.random.RandomState(3)
    return {
        "fc1_weight": mx.nd.array(rs.uniform(-0.5, 0.5, (HID, x_dim))),
        "fc1_bias": mx.nd.zeros((HID,)),
        "fc2_weight": mx.nd.array(rs.uniform(-0.5, 0.5, (CLASSES, HID))),
        "fc2_bias": mx.nd.zeros((CLASSES,)),
    }


def _whole_module(params, it):
    net1, net2 = _two_stage()
    whole = mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(net1, num_hidden=CLASSES, name="fc2"), name="softmax"
    )
    mod = mx.mod.Module(whole)
    mod.fit(
        it, num_epoch=2, arg_params=params, aux_params={}, optimizer_params={"learning_rate": 0.3}
    )
    return mod


def test_sequential_module_matches_the_whole_network():
    x, y = SyntheticData(CLASSES, 8, seed=4).get(32)
    it = mx.io.NDArrayIter(x, y, batch_size=8)
    net1, net2 = _two_stage()
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(net1, label_names=None))
    seq.add(
        mx.mod.Module(mx.sym.SoftmaxOutput(net2, name="softmax")),
        take_labels=True,
        auto_wiring=True,
    )
    seq.fit(
        it,
        num_epoch=2,
        arg_params=_init_params(),
        aux_params={},
        optimizer_params={"learning_rate": 0.3},
    )
    whole = _whole_module(_init_params(), it)
    got, want = seq.get_params()[0], whole.get_params()[0]
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_allclose(got[k].asnumpy(), want[k].asnumpy(), rtol=1e-5, atol=1e-6)
    assert seq.output_shapes == [("softmax_output", (8, CLASSES))]
    assert seq.label_shapes[0].name == "softmax_label"
    with pytest.raises(MXNetError, match='Unknown meta "take_label"'):
        seq.add(mx.mod.Module(net2), take_label=True)


def test_sequential_duplicate_params_and_empty_bind():
    net1, _ = _two_stage()
    seq = mx.mod.SequentialModule()
    with pytest.raises(MXNetError, match="empty SequentialModule"):
        seq.bind(data_shapes=[("data", (2, 8))])
    seq.add(mx.mod.Module(net1, label_names=None))
    seq.add(
        mx.mod.Module(
            mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=HID, name="fc1"),
            label_names=None,
        ),
        auto_wiring=True,
    )
    seq.bind(data_shapes=[("data", (2, 8))])
    with pytest.raises(MXNetError, match='Duplicated parameter names: name "fc1_weight"'):
        seq.init_params()


def _softmax_ce_grad(scores, labels):
    s = scores.asnumpy()
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(p)), labels.asnumpy().astype(int)] -= 1
    return p


def test_python_loss_module_trains_like_softmax_output():
    x, y = SyntheticData(CLASSES, 8, seed=5).get(32)
    it = mx.io.NDArrayIter(x, y, batch_size=8)
    net1, _ = _two_stage()
    scores = mx.sym.FullyConnected(net1, num_hidden=CLASSES, name="fc2")
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(scores, label_names=None))
    seq.add(mx.mod.PythonLossModule(grad_func=_softmax_ce_grad), take_labels=True, auto_wiring=True)
    seq.fit(
        it,
        num_epoch=2,
        arg_params=_init_params(),
        aux_params={},
        optimizer_params={"learning_rate": 0.3},
    )
    whole = _whole_module(_init_params(), it)
    for k, v in whole.get_params()[0].items():
        np.testing.assert_allclose(
            seq.get_params()[0][k].asnumpy(), v.asnumpy(), rtol=1e-5, atol=1e-6
        )
    assert seq.output_shapes == [("pyloss_output", (8, CLASSES))]
    loss = mx.mod.PythonLossModule()
    loss.bind(data_shapes=[("data", (8, CLASSES))], label_shapes=[("softmax_label", (8,))])
    loss.forward(mx.io.DataBatch([mx.nd.ones((8, CLASSES))], [mx.nd.zeros((8,))]))
    with pytest.raises(NotImplementedError):
        loss.backward()
    with pytest.raises(MXNetError, match="out_grads should be None"):
        loss.backward([mx.nd.ones((8, CLASSES))])
    with pytest.raises(MXNetError, match="data names"):
        mx.mod.PythonLossModule().bind(data_shapes=[("x", (8, CLASSES))])


def test_python_module_subclass():
    class Scale(mx.mod.PythonModule):
        def __init__(self):
            super().__init__(["data"], None, ["scale_output"])

        def _compute_output_shapes(self):
            return [("scale_output", self._data_shapes[0][1])]

        def forward(self, data_batch, is_train=None):
            self._out = data_batch.data[0] * 3

        def get_outputs(self, merge_multi_context=True):
            return [self._out]

    mod = Scale()
    mod.bind(data_shapes=[("data", (2, 2))])
    assert mod.output_shapes == [("scale_output", (2, 2))]
    assert mod.get_params() == ({}, {})
    mod.init_params()
    mod.init_optimizer()
    np.testing.assert_array_equal(mod.predict(mx.nd.ones((2, 2))).asnumpy(), np.full((2, 2), 3.0))
