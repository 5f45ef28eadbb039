"""Block: naming, registration, collect_params, save/load of parameters, hooks, apply,
cast, summary, and the seed-004 walk-through (custom blocks, deferred initialization)."""

import numpy as np
import pytest

import distnet as mx
from distnet import gluon, nd
from distnet.gluon import nn

from .helpers import assert_close, fixture, fresh_names, load_json, mlp, mxnet_strings


def _get_net():
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(4, activation="relu"))
        net.add(nn.Dense(2))
    return net


def test_prefixes_nest_and_count_per_class():
    with fresh_names():
        net = mlp()
        assert net.prefix == "hybridsequential0_" and net.name == "hybridsequential0"
        assert [c.prefix for c in net._children.values()] == load_json("gluon_mlp_meta.json")[
            "child_prefixes"
        ]
        assert nn.HybridSequential().prefix == "hybridsequential1_"
        assert nn.Dense(3).prefix == "dense0_"
        assert nn.Dense(3, prefix="mine_").prefix == "mine_"


def test_seed_004_deferred_initialization_shapes_and_reprs():
    strings = mxnet_strings()
    with fresh_names():
        net = _get_net()
        assert net.prefix == strings["004 get_net prefix"]
        assert repr(net.collect_params()) == strings["repr(collect_params()) before initialize"]
        net.initialize()
        assert repr(net.collect_params()) == strings["repr(collect_params()) after initialize"]
        assert net[0].weight.shape == (4, 0)
        net(nd.random.normal(shape=(3, 4)))
        assert repr(net.collect_params()) == strings["repr(collect_params()) after forward"]
        assert repr(net) == strings["repr(net) 004 get_net"]
        assert repr(net[0].weight) == strings["repr(net[0].weight)"]
        params = net.collect_params()
        assert params.get("dense0_bias").name == strings["params.get('dense0_bias') name"]
        assert params["sequential0_dense0_weight"] is net[0].weight


def test_seed_004_custom_dense_block():
    class MyDense(nn.Block):
        def __init__(self, units, in_units, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.weight = self.params.get("weight", shape=(in_units, units))
                self.bias = self.params.get("bias", shape=(units,))

        def forward(self, x):
            linear = nd.dot(x, self.weight.data()) + self.bias.data()
            return nd.relu(linear)

    with fresh_names():
        dense = MyDense(5, in_units=10)
        assert sorted(dense.collect_params().keys()) == ["mydense0_bias", "mydense0_weight"]
    dense.initialize(init=mx.init.One())
    out = dense(nd.ones((2, 10)))
    assert_close(out, np.full((2, 5), 11.0))  # 10 * 1 + bias 1 (One() for all)


def test_attribute_assignment_registers_children_and_parameters():
    class Net(nn.Block):
        def __init__(self):
            super().__init__(prefix="net_")
            with self.name_scope():
                self.fc = nn.Dense(3, in_units=2)
                self.scale = self.params.get("scale", shape=(1,))

        def forward(self, x):
            return self.fc(x) * self.scale.data()

    net = Net()
    assert list(net._children) == ["fc"] and list(net._reg_params) == ["scale"]
    assert list(net.collect_params().keys()) == [
        "net_scale",
        "net_dense0_weight",
        "net_dense0_bias",
    ]
    assert list(net.collect_params(".*weight|.*scale").keys()) == ["net_scale", "net_dense0_weight"]
    with pytest.raises(TypeError, match="Changing attribute type for fc"):
        net.fc = 3
    with pytest.raises(AssertionError, match="Overriding Parameter attribute scale"):
        net.scale = gluon.Parameter("other", shape=(1,))
    net.blocks = [nn.Dense(2)]
    with pytest.warns(UserWarning, match='"Net.blocks" is an unregistered container'):
        net.collect_params()


def test_hybrid_block_rejects_plain_block_child():
    seq = nn.HybridSequential()
    with pytest.raises(ValueError, match="Children of HybridBlock must also be HybridBlock"):
        seq.add(nn.Lambda("relu"))


def test_save_parameters_uses_structural_names_like_mxnet(tmp_path):
    meta = load_json("gluon_mlp_meta.json")
    net = mlp()
    net.initialize()
    net(nd.ones(meta["input_shape"]))
    fname = str(tmp_path / "net.params")
    net.save_parameters(fname)
    assert list(nd.load(fname)) == meta["structural_params_keys"]


def test_load_parameters_from_mxnet_files_runs_like_mxnet():
    io = np.load(fixture("gluon_mlp_io.npz"))
    for name in ("gluon_mlp_structural.params", "gluon_mlp_prefixed.params"):
        net = mlp()
        if name.endswith("prefixed.params"):
            # collect_params().save keeps full names: load through the ParameterDict.
            with fresh_names():
                net = mlp()
            net.collect_params().load(fixture(name))
        else:
            net.load_parameters(fixture(name))
        assert_close(net(nd.array(io["input"])), io["output"], rtol=1e-5, atol=1e-6, msg=name)


def test_load_parameters_errors(tmp_path):
    net = mlp()
    net.initialize()
    net(nd.ones((1, 4)))
    fname = str(tmp_path / "a.params")
    nd.save(fname, {"1.weight": nd.ones((128, 4)), "9.weight": nd.ones((1,))})
    fresh = mlp()
    with pytest.raises(AssertionError, match="Parameter '1.bias' is missing in file"):
        fresh.load_parameters(fname)
    with pytest.raises(ValueError, match="Parameter '9.weight' loaded from file .* is not present"):
        fresh.load_parameters(fname, allow_missing=True)
    fresh.load_parameters(fname, allow_missing=True, ignore_extra=True)
    assert fresh[1].weight.shape == (128, 4)


def test_save_params_load_params_deprecated_aliases_seed_004(tmp_path):
    net = _get_net()
    net.initialize()
    x = nd.random.normal(shape=(3, 4))
    out = net(x)
    fname = str(tmp_path / "mynet.params")
    with pytest.warns(UserWarning, match="save_params is deprecated"):
        net.save_params(fname)
    assert sorted(nd.load(fname)) == [
        "dense0_bias",
        "dense0_weight",
        "dense1_bias",
        "dense1_weight",
    ]
    net2 = _get_net()
    with pytest.warns(UserWarning, match="load_params is deprecated"):
        net2.load_params(fname, mx.cpu())
    assert_close(net2(x), out)


def test_hooks_apply_and_cast():
    net = mlp()
    net.initialize()
    seen = []
    pre = net[1].register_forward_pre_hook(lambda blk, inp: seen.append(("pre", blk.name)))
    post = net[1].register_forward_hook(lambda blk, inp, out: seen.append(("post", out.shape)))
    net(nd.ones((2, 3)))
    assert seen == [("pre", net[1].name), ("post", (2, 128))]
    pre.detach()
    with post:
        pass  # leaving the with block detaches
    net(nd.ones((2, 3)))
    assert len(seen) == 2
    names = []
    assert net.apply(lambda blk: names.append(blk.name)) is net
    assert names[-1] == net.name and len(names) == 7  # 4 layers, 2 activations, net
    net.cast("float64")
    assert net[1].weight.data().dtype == np.float64
    assert net(nd.ones((2, 3), dtype="float64")).dtype == np.float64


# Printed by MXNet 1.9.1 for the same net.
_MXNET_SUMMARY = """\
--------------------------------------------------------------------------------
        Layer (type)                                Output Shape         Param #
================================================================================
               Input                                      (1, 3)               0
        Activation-1                                      (1, 4)               0
             Dense-2                                      (1, 4)              16
             Dense-3                                      (1, 2)              10
================================================================================
Parameters in forward computation graph, duplicate included
   Total params: 26
   Trainable params: 26
   Non-trainable params: 0
Shared params in forward computation graph: 0
Unique parameters in model: 26
--------------------------------------------------------------------------------
"""


def test_summary_prints_layers_and_counts_like_mxnet(capsys):
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(4, in_units=3, activation="relu"), nn.Dense(2, in_units=4))
    net.initialize()
    net.summary(nd.ones((1, 3)))
    assert capsys.readouterr().out == _MXNET_SUMMARY


def test_summary_refuses_hybridized_blocks():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(2, in_units=3))
    net.initialize()
    net.hybridize()
    with pytest.raises(AssertionError, match="must not be hybridized to print summary"):
        net.summary(nd.ones((1, 3)))
