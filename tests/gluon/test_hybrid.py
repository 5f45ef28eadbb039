"""Hybridization: the traced graph and exported files as MXNet 1.9.1 writes them,
SymbolBlock.imports of MXNet's and distnet's exports, deferred shapes, one tape node per
hybridized call, graph rebuilds, symbolic calls and input checks."""

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon, nd
from distnet.gluon import nn

from .helpers import assert_close, fixture, load_json, mlp

_PREFIX = {
    "gluon_mlp": "hybridsequential0_",
    "gluon_lenet": "hybridsequential1_",
    "gluon_bn": "hybridsequential2_",
}
_EPOCH = {"gluon_mlp": 5, "gluon_lenet": 0, "gluon_bn": 1}


def _bn_net(prefix=None):
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(
            nn.Conv2D(4, 3, padding=1),
            nn.BatchNorm(),
            nn.Activation("relu"),
            nn.GlobalAvgPool2D(),
            nn.Dense(3),
        )
    return net


def _build(name):
    prefix = _PREFIX[name]
    if name == "gluon_mlp":
        return mlp(prefix)
    if name == "gluon_lenet":
        return _lenet_with_prefix(prefix)
    return _bn_net(prefix)


def _lenet_with_prefix(prefix):
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(
            nn.Conv2D(channels=20, kernel_size=5, activation="relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=50, kernel_size=5, activation="relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Flatten(),
            nn.Dense(128, activation="relu"),
            nn.Dense(10),
        )
    return net


def _params_file(name):
    return fixture("%s-%04d.params" % (name, _EPOCH[name]))


@pytest.mark.parametrize("name", ["gluon_mlp", "gluon_lenet", "gluon_bn"])
def test_export_writes_mxnet_files(name, tmp_path):
    io = np.load(fixture(f"{name}_io.npz"))
    net = _build(name)
    net.initialize()
    if name == "gluon_bn":
        # MXNet trained this one imperatively first: BatchNorm traced itself for deferred
        # initialization, so its statistics' variables carry version 2 in the file.
        net(nd.array(io["input"]))
    net.hybridize()
    net(nd.array(io["input"]))  # traced with deferred (0) dims, as MXNet did
    net.collect_params().load(_params_file(name))
    assert_close(net(nd.array(io["input"])), io["output"], rtol=1e-4, atol=1e-5)
    path = str(tmp_path / name)
    net.export(path, epoch=_EPOCH[name])
    with open(f"{path}-symbol.json") as f, open(fixture(f"{name}-symbol.json")) as g:
        assert f.read() == g.read()
    mine = nd.load("%s-%04d.params" % (path, _EPOCH[name]))
    theirs = nd.load(_params_file(name))
    assert list(mine) == list(theirs)
    for key in theirs:
        assert_close(mine[key], theirs[key], msg=key)


@pytest.mark.parametrize("name", ["gluon_mlp", "gluon_lenet", "gluon_bn"])
def test_imports_mxnet_exports(name):
    io = np.load(fixture(f"{name}_io.npz"))
    block = gluon.SymbolBlock.imports(fixture(f"{name}-symbol.json"), ["data"], _params_file(name))
    assert_close(block(nd.array(io["input"])), io["output"], rtol=1e-4, atol=1e-5)
    keys = [k[4:] for k in nd.load(_params_file(name))]
    assert sorted(block.collect_params().keys()) == sorted(keys)
    if name == "gluon_bn":
        meta = load_json("gluon_bn_meta.json")
        for key, req in meta["grad_req"].items():
            assert block.collect_params()[key].grad_req == req


def test_export_import_roundtrip_and_finetune(tmp_path):
    net = mlp()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = nd.array(np.random.RandomState(0).rand(4, 1, 28, 28))
    out = net(x)
    net.export(str(tmp_path / "model"), epoch=3)
    block = gluon.SymbolBlock.imports(
        str(tmp_path / "model-symbol.json"), "data", str(tmp_path / "model-0003.params")
    )
    assert_close(block(x), out, rtol=1e-6, atol=1e-7)
    params = block.collect_params()
    trainer = gluon.Trainer(params, "sgd", {"learning_rate": 0.1})
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(block(x), nd.array([1, 2, 3, 4]))
    loss.backward()
    trainer.step(4)
    assert not np.allclose(block(x).asnumpy(), out.asnumpy())


def test_export_needs_a_forward_first():
    net = mlp()
    net.initialize()
    with pytest.raises(
        RuntimeError, match="Please first call block.hybridize\\(\\) and then run forward"
    ):
        net.export("nowhere")


def test_symbol_input_gives_mxnet_graph_seed_004():
    net = nn.HybridSequential(prefix="hybridsequential3_")
    with net.name_scope():
        net.add(nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"), nn.Dense(2))
    net.initialize()
    y = net(mx.sym.var("data"))
    assert isinstance(y, mx.sym.Symbol)
    with open(fixture("gluon_hybrid004_sym-symbol.json")) as f:
        assert y.tojson() == f.read()
    x = nd.random.normal(shape=(1, 512))
    imperative = net(x)
    net.hybridize()
    assert_close(net(x), imperative, rtol=1e-5, atol=1e-6)


def test_deferred_shapes_when_hybridized():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize()
    net.hybridize()
    assert net[0].weight.shape == (4, 0)
    out = net(nd.ones((3, 6)))
    assert out.shape == (3, 2)
    assert net[0].weight.shape == (4, 6) and net[1].weight.shape == (2, 4)


def test_hybridized_call_is_one_tape_node_with_the_same_gradients():
    net = mlp()
    net.initialize(mx.init.Xavier())
    x = nd.array(np.random.RandomState(1).rand(3, 20))
    grads = []
    for hybrid in (False, True):
        net.hybridize(hybrid)
        with autograd.record():
            out = net(x)
        node = out._ag[0]
        assert (node.op.name == "_CachedOp") == hybrid
        out.backward()
        grads.append({k: p.grad().asnumpy() for k, p in net.collect_params().items()})
    for key in grads[0]:
        assert_close(grads[1][key], grads[0][key], rtol=1e-5, atol=1e-7, msg=key)


def test_adding_a_child_after_hybridize_rebuilds_the_graph():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(3, in_units=2))
    net.initialize()
    net.hybridize()
    assert net(nd.ones((1, 2))).shape == (1, 3)
    with net.name_scope():
        net.add(nn.Dense(5, in_units=3))
    net[1].initialize()
    assert net(nd.ones((1, 2))).shape == (1, 5)
    assert net._hybrid_cache.graph[1].list_arguments()[-1].endswith("dense1_bias")


def test_multiple_inputs_are_data0_data1_and_format_is_checked():
    class Add(nn.HybridBlock):
        def hybrid_forward(self, F, a, b):
            return a + 2 * b

    block = Add()
    block.hybridize()
    out = block(nd.ones((2,)), nd.ones((2,)))
    assert_close(out, [3, 3])
    assert [v.name for v in block._hybrid_cache.graph[0]] == ["data0", "data1"]
    with pytest.raises(ValueError, match="argument structure of HybridBlock does not match"):
        block(nd.ones((2,)), [nd.ones((2,)), nd.ones((2,))])
    with pytest.raises(ValueError, match="do not support mixed NDArrays and Symbols"):
        block(nd.ones((2,)), mx.sym.var("b"))


def test_infer_shape_and_type():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(6, 3), nn.Dense(2))
    net.infer_shape(nd.ones((2, 3, 8, 8)))
    assert net[0].weight.shape == (6, 3, 3, 3) and net[1].weight.shape == (2, 216)
    net.cast("float64")
    net.infer_type(nd.ones((2, 3, 8, 8), dtype="float64"))
    assert np.dtype(net[1].weight.dtype) == np.float64


def test_symbol_block_parameters_take_the_graph_dtypes():
    data = mx.sym.var("data", dtype="float64")
    out = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    block = gluon.SymbolBlock(out, data)
    assert np.dtype(block.collect_params()["fc_weight"].dtype) == np.float64
    block.initialize()
    assert block(nd.ones((3, 4), dtype="float64")).dtype == np.float64


def test_symbol_block_over_internals_shares_parameters():
    net = mlp()
    net.initialize()
    x = nd.ones((2, 5))
    net(x)
    data = mx.sym.var("data")
    internals = net(data).get_internals()
    feature = internals[net[1].prefix + "relu_fwd_output"]
    block = gluon.SymbolBlock(feature, data, params=net.collect_params())
    assert block.collect_params()[net[1].weight.name] is net[1].weight
    assert_close(block(x), net[1](net[0](x)))
    assert "-> 1" in repr(block)


def test_hybridize_off_runs_imperatively_again():
    net = mlp()
    net.initialize()
    net.hybridize()
    net(nd.ones((1, 4)))
    net.hybridize(False)
    assert net._hybrid_cache.op is None and not net[1]._active
    with autograd.record():
        out = net(nd.ones((1, 4)))
    assert out._ag[0].op.name != "_CachedOp"
