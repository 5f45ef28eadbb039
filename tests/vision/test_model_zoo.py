"""gluon.model_zoo.vision: MXNet 1.9.1's parameter names, structure and outputs."""

import gzip
import hashlib
import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gluon.model_zoo import model_store, vision

from .model_zoo_helpers import param_values

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "model_zoo")
INPUTS = {
    "resnet18_v1": (2, 3, 32, 32),
    "resnet18_v2": (2, 3, 32, 32),
    "resnet50_v1": (1, 3, 32, 32),
    "resnet50_v2": (1, 3, 32, 32),
    "mobilenet0.25": (2, 3, 32, 32),
    "mobilenetv2_0.25": (2, 3, 32, 32),
    "squeezenet1.0": (1, 3, 224, 224),
    "squeezenet1.1": (1, 3, 224, 224),
    "densenet121": (1, 3, 224, 224),
    "alexnet": (1, 3, 224, 224),
    "vgg11_bn": (1, 3, 224, 224),
    "inceptionv3": (1, 3, 299, 299),
}
# the rest (bigger nets, slow on a loaded 2-core machine) run with -m slow
FAST = ["resnet18_v1", "mobilenet0.25", "mobilenetv2_0.25", "squeezenet1.1"]
SLOW = [name for name in INPUTS if name not in FAST]


def _reference_names():
    with gzip.open(os.path.join(FIX, "model_zoo_names.json.gz"), "rt") as fin:
        return json.load(fin)


def _input(name):
    return mx.nd.array(np.random.RandomState(1).uniform(-1, 1, INPUTS[name]))


def test_every_model_has_mxnets_parameter_names_shapes_and_keys():
    reference = _reference_names()
    assert len(reference) == 34
    for name, ref in reference.items():
        with mx.name.NameManager():
            net = vision.get_model(name)
        assert net.prefix == ref["prefix"], name
        got = [[key, list(p.shape)] for key, p in net.collect_params().items()]
        assert got == ref["prefixed"], name
        assert list(net._collect_params_with_prefix()) == ref["structural"], name


def _check_outputs(name):
    net = vision.get_model(name, classes=10)
    net.initialize()
    x = _input(name)
    net(x)
    for key, param in net._collect_params_with_prefix().items():
        param.set_data(mx.nd.array(param_values(key, param.shape)))
    expected = np.load(os.path.join(FIX, "model_zoo_outputs.npz"))[f"{name}_y"]
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", FAST)
def test_outputs_equal_mxnets_for_the_same_parameters(name):
    _check_outputs(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_outputs_equal_mxnets_for_the_same_parameters_big_nets(name):
    _check_outputs(name)


def _const_params(tmp_path):
    with gzip.open(os.path.join(FIX, "mobilenet0.25-const.params.gz"), "rb") as fin:
        data = fin.read()
    return data, hashlib.sha1(data).hexdigest()


def test_parameters_saved_by_mxnet_load_and_match_outputs(tmp_path):
    data, _ = _const_params(tmp_path)
    path = tmp_path / "m.params"
    path.write_bytes(data)
    net = vision.mobilenet0_25(classes=10)
    net.load_parameters(str(path))
    expected = np.load(os.path.join(FIX, "model_zoo_outputs.npz"))["mobilenet0.25_const_y"]
    x = _input("mobilenet0.25")
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-4, atol=1e-5)
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-4, atol=1e-5)


def test_pretrained_loads_mxnets_file_name_from_root(tmp_path, monkeypatch):
    data, sha1 = _const_params(tmp_path)
    monkeypatch.setitem(model_store._model_sha1, "mobilenet0.25", sha1)
    (tmp_path / f"mobilenet0.25-{sha1[:8]}.params").write_bytes(data)
    net = vision.get_model("mobilenet0.25", pretrained=True, root=str(tmp_path), classes=10)
    expected = np.load(os.path.join(FIX, "model_zoo_outputs.npz"))["mobilenet0.25_const_y"]
    np.testing.assert_allclose(
        net(_input("mobilenet0.25")).asnumpy(), expected, rtol=1e-4, atol=1e-5
    )
    monkeypatch.delenv("DISTNET_HOME", raising=False)
    monkeypatch.setenv("MXNET_HOME", str(tmp_path.parent))
    assert model_store.default_root() == os.path.join(str(tmp_path.parent), "models")


def test_pretrained_offline_names_the_expected_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")
    monkeypatch.setattr(model_store, "_DOWNLOAD_RETRIES", 1)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.mxnet/models cache
    with pytest.raises(MXNetError) as err:
        vision.get_model("resnet18_v1", pretrained=True, root=str(tmp_path / "models"))
    message = str(err.value)
    assert "resnet18_v1-a0666292.params" in message
    assert str(tmp_path / "models") in message
    assert not [f for f in os.listdir(tmp_path / "models") if not f.startswith(".")]


def test_get_model_rejects_unknown_names_and_lists_options():
    with pytest.raises(ValueError, match="Model resnet19_v1 is not supported"):
        vision.get_model("resnet19_v1")
    with pytest.raises(MXNetError, match="not available"):
        model_store.short_hash("resnet18_v3")
    assert isinstance(vision.get_model("MobileNet0.5"), vision.MobileNet)


def test_thumbnail_resnet_trains_on_small_input():
    mx.random.seed(0)  # deterministic: the loss falls for this initialisation
    net = vision.resnet18_v1(classes=10, thumbnail=True)
    net.initialize(mx.init.Xavier())
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})
    x = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, (4, 3, 8, 8)))  # 3x3 stem: 8x8 in
    y = mx.nd.array([0, 1, 2, 3])
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(3):
        with mx.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(4)
        losses.append(loss.mean().asscalar())
    assert net(x).shape == (4, 10)
    assert losses[-1] < losses[0]
