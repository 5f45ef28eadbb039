"""mx.model checkpoints: file names, keys, atomic writes, log lines, MXNet 1.9.1 fixtures."""

import json
import logging
import os

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet")


def _fix(name):
    return os.path.join(FIX, name)


def _tiny():
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def _params():
    arg = {"fc_weight": mx.nd.array(np.arange(12).reshape(3, 4)), "fc_bias": mx.nd.array([1, 2, 3])}
    aux = {"bn_moving_mean": mx.nd.array([0.5, 0.25])}
    return arg, aux


def test_save_checkpoint_files_keys_and_log(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    prefix = str(tmp_path / "net")
    arg, aux = _params()
    mx.model.save_checkpoint(prefix, 3, _tiny(), arg, aux)
    assert sorted(os.listdir(tmp_path)) == ["net-0003.params", "net-symbol.json"]
    assert [r.getMessage() for r in caplog.records] == [
        'Saved checkpoint to "%s-0003.params"' % prefix
    ]
    assert caplog.records[0].name == "distnet.model" and caplog.records[0].levelname == "INFO"
    loaded = mx.nd.load(prefix + "-0003.params")
    assert list(loaded) == ["arg:fc_weight", "arg:fc_bias", "aux:bn_moving_mean"]
    assert json.loads(open(prefix + "-symbol.json").read()) == json.loads(_tiny().tojson())
    sym, arg2, aux2 = mx.model.load_checkpoint(prefix, 3)
    assert sym.list_arguments() == ["data", "fc_weight", "fc_bias", "softmax_label"]
    np.testing.assert_array_equal(arg2["fc_weight"].asnumpy(), arg["fc_weight"].asnumpy())
    np.testing.assert_array_equal(aux2["bn_moving_mean"].asnumpy(), [0.5, 0.25])
    assert set(arg2) == {"fc_weight", "fc_bias"}
    # symbol=None writes only the parameters
    mx.model.save_checkpoint(prefix + "b", 12, None, arg, {})
    assert os.path.exists(prefix + "b-0012.params")
    assert not os.path.exists(prefix + "b-symbol.json")


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    prefix = str(tmp_path / "net")
    arg, aux = _params()
    mx.model.save_checkpoint(prefix, 1, _tiny(), arg, aux)
    before = open(prefix + "-0001.params", "rb").read()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    arg["fc_bias"] = mx.nd.array([9, 9, 9])
    with pytest.raises(OSError):
        mx.model.save_checkpoint(prefix, 1, _tiny(), arg, aux)
    monkeypatch.undo()
    assert open(prefix + "-0001.params", "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["net-0001.params", "net-symbol.json"]


def test_load_params_errors(tmp_path, caplog):
    prefix = str(tmp_path / "p")
    mx.nd.save(prefix + "-0001.params", {"fc_weight": mx.nd.ones((2,))})
    with pytest.raises(MXNetError, match=r"key 'fc_weight' is not 'arg:<name>'"):
        mx.model.load_params(prefix, 1)
    mx.nd.save(prefix + "-0002.params", [mx.nd.ones((2,))])
    with pytest.raises(MXNetError, match="unnamed arrays"):
        mx.model.load_params(prefix, 2)
    mx.nd.save(prefix + "-0003.params", [])
    assert mx.model.load_params(prefix, 3) == ({}, {})
    assert "is empty" in caplog.text
    with pytest.raises(MXNetError, match="p-0009.params"):
        mx.model.load_params(prefix, 9)


def test_mxnet_mlp_checkpoint_loads_and_predicts_the_same():
    sym, arg, aux = mx.model.load_checkpoint(_fix("mlp"), 3)
    meta = json.load(open(_fix("mlp_checkpoint.json")))
    assert {k: list(v.shape) for k, v in arg.items()} == meta["arg_params"]
    assert aux == {}
    ref = np.load(_fix("mlp_predict.npz"))
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind(
        data_shapes=[("data", (8, 784))], label_shapes=[("softmax_label", (8,))], for_training=False
    )
    mod.set_params(arg, aux)
    it = mx.io.NDArrayIter(ref["data"], np.zeros(8, np.float32), batch_size=8)
    np.testing.assert_allclose(mod.predict(it).asnumpy(), ref["predict"], rtol=1e-5, atol=1e-6)
    # the training data is RandomState(10)'s: the score matches MXNet's too
    rs = np.random.RandomState(10)
    x = rs.rand(64, 784).astype(np.float32)
    y = rs.randint(0, 10, size=(64,)).astype(np.float32)
    np.testing.assert_array_equal(x[:16], ref["train_data"])
    score = mod.score(mx.io.NDArrayIter(x, y, batch_size=8), ["acc", "ce"])
    (n1, acc), (n2, ce) = score
    assert (n1, n2) == ("accuracy", "cross-entropy")
    assert acc == pytest.approx(meta["score_on_train"][0][1])
    assert ce == pytest.approx(meta["score_on_train"][1][1], rel=1e-5)


def test_mxnet_lenet_bn_checkpoint_with_aux_states():
    mod = mx.mod.Module.load(_fix("lenet_bn"), 2)
    meta = json.load(open(_fix("lenet_bn_checkpoint.json")))
    ref = np.load(_fix("lenet_bn_predict.npz"))
    mod.bind(data_shapes=[("data", (4, 1, 20, 20))], for_training=False)
    arg, aux = mod.get_params()
    assert sorted(aux) == sorted(meta["aux_params"])
    for name, values in meta["aux_values"].items():
        np.testing.assert_allclose(aux[name].asnumpy(), values, rtol=1e-6)
    out = mod.predict(mx.nd.array(ref["data"]))
    np.testing.assert_allclose(out.asnumpy(), ref["predict"], rtol=1e-4, atol=1e-5)


def test_distnet_checkpoint_is_what_mxnet_wrote(tmp_path):
    """Re-saving MXNet's checkpoint gives MXNet's bytes: MXNet loads distnet's files."""
    sym, arg, aux = mx.model.load_checkpoint(_fix("lenet_bn"), 2)
    prefix = str(tmp_path / "again")
    mx.model.save_checkpoint(prefix, 2, sym, arg, aux)
    assert (
        open(prefix + "-0002.params", "rb").read()
        == open(_fix("lenet_bn-0002.params"), "rb").read()
    )
    assert json.loads(open(prefix + "-symbol.json").read()) == json.loads(
        open(_fix("lenet_bn-symbol.json")).read()
    )


def test_module_checkpoint_and_mxnet_states_pickle_refused(tmp_path):
    prefix = str(tmp_path / "demo")
    mod = mx.mod.Module.load(_fix("states_demo"), 1, load_optimizer_states=False)
    mod.bind(data_shapes=[("data", (4, 4))], label_shapes=[("softmax_label", (4,))])
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    with pytest.raises(MXNetError, match="pickle"):
        mod.load_optimizer_states(_fix("states_demo-0001.states"))
    mod.save_checkpoint(prefix, 1, save_optimizer_states=True)
    assert sorted(os.listdir(tmp_path)) == [
        "demo-0001.params",
        "demo-0001.states",
        "demo-symbol.json",
    ]
    assert open(prefix + "-0001.states", "rb").read()[:1] != b"\x80"
    mod2 = mx.mod.Module.load(prefix, 1, load_optimizer_states=True)
    mod2.bind(data_shapes=[("data", (4, 4))], label_shapes=[("softmax_label", (4,))])
    mod2.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    a1, _ = mod.get_params()
    a2, _ = mod2.get_params()
    for k in a1:
        np.testing.assert_array_equal(a1[k].asnumpy(), a2[k].asnumpy())
