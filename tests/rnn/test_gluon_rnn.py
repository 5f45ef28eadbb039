"""gluon.rnn against MXNet 1.9.1: parameter names, cell unrolls (outputs, states, input
gradients), fused layers equal to their unfused cells, layouts, hybridize, begin_state."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon, nd
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "rnn")


@pytest.fixture(scope="module")
def cells_ref():
    return np.load(os.path.join(FIX, "cells.npz"), allow_pickle=False)


@pytest.fixture(scope="module")
def names_ref():
    with open(os.path.join(FIX, "names.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_unroll_matches_mxnet(cells_ref, names_ref, kind):
    cell = getattr(gluon.rnn, kind)(5, prefix=kind.lower() + "_")
    assert list(cell.collect_params().keys()) == names_ref[kind]
    cell.initialize()
    x = nd.array(cells_ref["x"])
    cell(x[:, 0], cell.begin_state(2))  # finish deferred init
    for name, p in cell.collect_params().items():
        p.set_data(nd.array(cells_ref[f"{kind}_param_{name}"]))
    x.attach_grad()
    with autograd.record():
        outs, states = cell.unroll(4, x, layout="NTC", merge_outputs=True)
        loss = (outs * outs).sum() + sum((s * s).sum() for s in states)
    loss.backward()
    np.testing.assert_allclose(outs.asnumpy(), cells_ref[f"{kind}_out"], rtol=1e-4, atol=1e-6)
    for i, s in enumerate(states):
        np.testing.assert_allclose(s.asnumpy(), cells_ref[f"{kind}_state{i}"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), cells_ref[f"{kind}_dx"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_layer_parameter_names_match_mxnet(names_ref, kind):
    layer = getattr(gluon.rnn, kind)(
        5, num_layers=2, bidirectional=True, prefix=kind.lower() + "0_"
    )
    assert list(layer.collect_params().keys()) == names_ref[kind]


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_fused_layer_equals_its_cells(mode):
    """2-layer bidirectional fused layer == a stack of BidirectionalCells sharing its
    parameters (the packed layout and gate orders agree)."""
    kind, cell_kind = {
        "lstm": ("LSTM", "LSTMCell"),
        "gru": ("GRU", "GRUCell"),
        "rnn_tanh": ("RNN", "RNNCell"),
    }[mode]
    extra = {"activation": "tanh"} if mode == "rnn_tanh" else {}
    layer = getattr(gluon.rnn, kind)(
        4, num_layers=2, bidirectional=True, layout="NTC", prefix="f_", **extra
    )
    layer.initialize(mx.init.Uniform(0.5))
    x = nd.array(np.random.RandomState(0).uniform(-1, 1, (3, 5, 2)))
    fused = layer(x)
    stack = gluon.rnn.SequentialRNNCell(prefix="f_", params=layer.params)
    make = getattr(gluon.rnn, cell_kind)
    with stack.name_scope():
        for i in range(2):
            stack.add(
                gluon.rnn.BidirectionalCell(
                    make(4, prefix=f"l{i}_", **extra), make(4, prefix=f"r{i}_", **extra)
                )
            )
    unfused, _ = stack.unroll(5, x, layout="NTC", merge_outputs=True)
    np.testing.assert_allclose(fused.asnumpy(), unfused.asnumpy(), rtol=1e-5, atol=1e-6)


def test_layer_states_layouts_and_hybridize():
    layer = gluon.rnn.LSTM(6, num_layers=2, layout="NTC")
    layer.initialize()
    x = nd.array(np.random.RandomState(1).rand(3, 7, 4))
    out = layer(x)
    assert out.shape == (3, 7, 6)
    assert repr(layer) == "LSTM(4 -> 6, NTC, num_layers=2)"
    states = layer.begin_state(3)
    assert [s.shape for s in states] == [(2, 3, 6), (2, 3, 6)]
    out2, new_states = layer(x, states)
    np.testing.assert_allclose(out2.asnumpy(), out.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(new_states[0].asnumpy()[-1], out.asnumpy()[:, -1], rtol=1e-6)
    tnc = gluon.rnn.LSTM(6, num_layers=2, params=layer.params, prefix=layer.prefix)
    out_tnc = tnc(nd.array(x.asnumpy().transpose(1, 0, 2)))
    np.testing.assert_allclose(out_tnc.asnumpy().transpose(1, 0, 2), out.asnumpy(), rtol=1e-6)
    layer.hybridize()
    np.testing.assert_allclose(layer(x).asnumpy(), out.asnumpy(), rtol=1e-6)
    gru = gluon.rnn.GRU(6, layout="NTC")
    gru.initialize()
    gru(x)
    with pytest.raises(MXNetError, match=r"Invalid recurrent state shape. Expecting \(1, 3, 6\)"):
        gru(x, [nd.zeros((1, 2, 6))])


def _assert_learns_next_token(net):
    """30 Adam steps of a hybridized (embedding, recurrent, dense) network on a
    next-token task halve its loss."""
    net.initialize(mx.init.Xavier())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.05})
    data = nd.array(np.random.RandomState(0).randint(0, 10, (4, 6)))
    label = nd.array((data.asnumpy() + 1) % 10)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(30):
        with autograd.record():
            loss = loss_fn(net(data), label)
        loss.backward()
        trainer.step(4)
        losses.append(float(loss.mean().asscalar()))
    assert losses[-1] < 0.5 * losses[0]


def test_rnn_layer_inside_hybridized_network_trains():
    net = gluon.nn.HybridSequential()
    with net.name_scope():
        net.add(
            gluon.nn.Embedding(10, 8),
            gluon.rnn.GRU(8, layout="NTC"),
            gluon.nn.Dense(10, flatten=False),
        )
    _assert_learns_next_token(net)


def test_bidirectional_cell_valid_length_and_modifiers():
    rs = np.random.RandomState(2)
    x = nd.array(rs.rand(2, 4, 3))
    valid = nd.array([2, 4])
    bi = gluon.rnn.BidirectionalCell(gluon.rnn.GRUCell(3), gluon.rnn.GRUCell(3))
    bi.initialize()
    out, states = bi.unroll(4, x, layout="NTC", merge_outputs=True, valid_length=valid)
    assert out.shape == (2, 4, 6) and len(states) == 2
    assert np.all(out.asnumpy()[0, 2:] == 0) and np.all(out.asnumpy()[1] != 0)
    # the backward direction of sequence 0 starts at its last valid step
    short, _ = bi.unroll(2, x[:1, :2], layout="NTC", merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy()[0, :2], short.asnumpy()[0], rtol=1e-5)
    res = gluon.rnn.ResidualCell(gluon.rnn.RNNCell(3))
    res.initialize()
    r_out, _ = res.unroll(4, x, layout="NTC", merge_outputs=True)
    res.base_cell._modified = False
    base_out, _ = res.base_cell.unroll(4, x, layout="NTC", merge_outputs=True)
    np.testing.assert_allclose(r_out.asnumpy(), base_out.asnumpy() + x.asnumpy(), rtol=1e-6)
    zone = gluon.rnn.ZoneoutCell(gluon.rnn.LSTMCell(3), zoneout_outputs=0.5)
    zone.initialize()
    z_out, z_states = zone.unroll(4, x, layout="NTC", merge_outputs=False)
    assert len(z_out) == 4 and len(z_states) == 2
    stack = gluon.rnn.HybridSequentialRNNCell()
    stack.add(gluon.rnn.LSTMCell(3))
    stack.add(gluon.rnn.DropoutCell(0.5))
    stack.add(gluon.rnn.GRUCell(2))
    stack.initialize()
    outs, st = stack.unroll(4, x, layout="NTC")
    assert isinstance(outs, list) and outs[0].shape == (2, 2) and len(st) == 3
    step_out, step_states = stack(x[:, 0], stack.begin_state(batch_size=2))
    assert step_out.shape == (2, 2) and len(step_states) == 3


def test_cell_unroll_symbolic():
    cell = gluon.rnn.LSTMCell(4, prefix="lstm_")
    outs, states = cell.unroll(3, mx.sym.var("data"), layout="NTC", merge_outputs=True)
    assert sorted(outs.list_arguments()) == sorted(
        ["data", "lstm_i2h_weight", "lstm_i2h_bias", "lstm_h2h_weight", "lstm_h2h_bias"]
    )
    _, shapes, _ = outs.infer_shape(data=(2, 3, 5))
    assert shapes == [(2, 3, 4)]


def test_mxnet_exported_lstm_network_loads_and_trains():
    """MXNet's export of a hybridized net with a bidirectional 2-layer LSTM
    (_rnn_param_concat, begin states _zeros (4, 0, 4)) runs in distnet with its numbers,
    and its parameters train."""
    io = np.load(os.path.join(FIX, "lstm_net_io.npz"), allow_pickle=False)
    net = gluon.SymbolBlock.imports(
        os.path.join(FIX, "lstm_net-symbol.json"),
        ["data"],
        os.path.join(FIX, "lstm_net-0000.params"),
    )
    x = nd.array(io["x"])
    np.testing.assert_allclose(net(x).asnumpy(), io["y"], rtol=1e-5, atol=1e-6)
    weight = net.collect_params()["net_lstm0_l1_h2h_weight"]
    with autograd.record():
        loss = (net(x) ** 2).sum()
    loss.backward()
    assert weight.grad().shape == (16, 4) and np.abs(weight.grad().asnumpy()).sum() > 0
    # the same parameters drive distnet's own layer (names and packed layout agree)
    own = gluon.nn.HybridSequential(prefix="net_")
    with own.name_scope():
        own.add(gluon.rnn.LSTM(4, num_layers=2, bidirectional=True, layout="NTC"))
        own.add(gluon.nn.Dense(3, flatten=False))
    own.initialize()
    own(x)
    for name, p in own.collect_params().items():
        p.set_data(net.collect_params()[name].data())
    np.testing.assert_allclose(own(x).asnumpy(), io["y"], rtol=1e-5, atol=1e-6)


def test_symbolic_unroll_names_and_reprs_as_mxnet():
    """Graph output names and reprs MXNet 1.9.1 prints for the same code."""
    inputs = [mx.sym.Variable(f"rnn_t{i}_data") for i in range(3)]
    shapes = {f"rnn_t{i}_data": (10, 50) for i in range(3)}
    for cell in (gluon.rnn.RNNCell(100, prefix="rnn_"), gluon.rnn.GRUCell(100, prefix="rnn_")):
        outputs = mx.sym.Group(cell.unroll(3, inputs)[0])
        assert outputs.list_outputs() == [f"rnn_t{i}_out_output" for i in range(3)]
        assert outputs.infer_shape(**shapes)[1] == [(10, 100)] * 3
    stack = gluon.rnn.SequentialRNNCell()
    for i in range(2):
        stack.add(gluon.rnn.LSTMCell(100, prefix=f"rnn_stack{i}_"))
    assert mx.sym.Group(stack.unroll(3, inputs)[0]).list_outputs() == [
        f"rnn_stack1_t{i}_out_output" for i in range(3)
    ]
    bi = gluon.rnn.BidirectionalCell(
        gluon.rnn.LSTMCell(100, prefix="rnn_l0_"),
        gluon.rnn.LSTMCell(100, prefix="rnn_r0_"),
        output_prefix="rnn_bi_",
    )
    assert mx.sym.Group(bi.unroll(3, inputs)[0]).list_outputs() == [
        f"rnn_bi_t{i}_output" for i in range(3)
    ]
    drop = gluon.rnn.DropoutCell(0.5, prefix="dropout0_")
    assert mx.sym.Group(drop.unroll(3, inputs)[0]).list_outputs() == [
        f"dropout0_t{i}_fwd_output" for i in range(3)
    ]
    cell = gluon.rnn.LSTMCell(10, input_size=7)
    assert repr(cell) == "LSTMCell(7 -> 40)"
    seq = gluon.rnn.HybridSequentialRNNCell()
    seq.add(gluon.rnn.LSTMCell(4))
    seq.add(gluon.rnn.GRUCell(3))
    assert repr(seq) == (
        "HybridSequentialRNNCell(\n(0): LSTMCell(None -> 16)\n(1): GRUCell(None -> 9)\n)"
    )


def test_export_with_known_shapes_uses_mxnets_nodes(tmp_path):
    """With every parameter shape known when the graph is traced (``input_size`` given, or
    a forward before ``hybridize``), the export packs parameters with MXNet's own
    ``_rnn_param_concat`` (checked to load in MXNet 1.9.1 by hand), and loads back."""
    net = gluon.nn.HybridSequential(prefix="n_")
    with net.name_scope():
        net.add(gluon.rnn.GRU(4, num_layers=2, bidirectional=True, layout="NTC", input_size=3))
        net.add(gluon.nn.Dense(2, flatten=False))
    net.initialize(mx.init.Uniform(0.5))
    net.hybridize()
    x = nd.array(np.random.RandomState(0).rand(2, 5, 3))
    y = net(x)
    net.export(str(tmp_path / "gru"), 0)
    ops = [n["op"] for n in json.loads((tmp_path / "gru-symbol.json").read_text())["nodes"]]
    assert "_rnn_param_concat" in ops and "_rnn_param_pack" not in ops
    back = gluon.SymbolBlock.imports(
        str(tmp_path / "gru-symbol.json"), ["data"], str(tmp_path / "gru-0000.params")
    )
    np.testing.assert_allclose(back(x).asnumpy(), y.asnumpy(), rtol=1e-6)


# ---------------------------------------------------------------- LSTMP (projection_size)
@pytest.fixture(scope="module")
def lstmp_ref():
    with open(os.path.join(FIX, "lstmp_names.json")) as f:
        names = json.load(f)
    return np.load(os.path.join(FIX, "lstmp.npz"), allow_pickle=False), names


def test_lstmp_layer_matches_mxnet(lstmp_ref):
    """Parameter names and order, repr, begin_state shapes and the forward pass with
    MXNet's parameter values, imperative and hybridized."""
    ref, names = lstmp_ref
    layer = gluon.rnn.LSTM(
        5, num_layers=2, bidirectional=True, projection_size=2, layout="NTC", prefix="lstmp_"
    )
    assert list(layer.collect_params().keys()) == names["layer"]
    assert [list(s.shape) for s in layer.begin_state(2)] == names["begin_state"]
    assert layer.l1_i2h_weight.shape == (20, 4)  # layer 1 takes both directions' P
    layer.initialize()
    x = nd.array(ref["layer_x"])
    layer(x)  # finish deferred init
    assert repr(layer) == names["repr"]
    for name, p in layer.collect_params().items():
        p.set_data(nd.array(ref[f"layer_param_{name}"]))
    states = [nd.array(ref["layer_h0"]), nd.array(ref["layer_c0"])]
    for hybrid in (False, True):
        if hybrid:
            layer.hybridize()
        out, new = layer(x, states)
        np.testing.assert_allclose(out.asnumpy(), ref["layer_out"], rtol=1e-4, atol=1e-6)
        for i, s in enumerate(new):
            np.testing.assert_allclose(s.asnumpy(), ref[f"layer_state{i}"], rtol=1e-4, atol=1e-6)


def test_lstmp_layer_gradients_equal_lstmp_cells():
    """The fused LSTMP layer and a stack of contrib ``LSTMPCell``s sharing its parameters
    give the same outputs and the same gradients for every parameter and the input."""
    layer = gluon.rnn.LSTM(
        4, num_layers=2, bidirectional=True, projection_size=3, layout="NTC", prefix="p_"
    )
    layer.initialize(mx.init.Uniform(0.5))
    x = nd.array(np.random.RandomState(0).uniform(-1, 1, (3, 5, 2)))
    stack = gluon.rnn.SequentialRNNCell(prefix="p_", params=layer.params)
    with stack.name_scope():
        for i in range(2):
            stack.add(
                gluon.rnn.BidirectionalCell(
                    gluon.contrib.rnn.LSTMPCell(4, 3, prefix=f"l{i}_"),
                    gluon.contrib.rnn.LSTMPCell(4, 3, prefix=f"r{i}_"),
                )
            )
    results = []
    for run in (
        lambda v: layer(v),
        lambda v: stack.unroll(5, v, layout="NTC", merge_outputs=True)[0],
    ):
        v = x.copy()
        v.attach_grad()
        with autograd.record():
            out = run(v)
            (out * out * out).sum().backward()
        results.append(
            (
                out.asnumpy(),
                v.grad.asnumpy(),
                {k: p.grad().asnumpy().copy() for k, p in layer.params.items()},
            )
        )
    (o1, dx1, g1), (o2, dx2, g2) = results
    assert o1.shape == (3, 5, 6)
    np.testing.assert_allclose(o1, o2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx1, dx2, rtol=1e-4, atol=1e-6)
    assert sorted(g1) == sorted(g2) and any(k.endswith("h2r_weight") for k in g1)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_lstmp_layer_deferred_shapes_and_training():
    """MXNet's documented case (LSTM(10, projection_size=5) on (3, 2, 4) gives (3, 2, 5))
    with the input size inferred inside a hybridized network that then trains."""
    layer = gluon.rnn.LSTM(10, projection_size=5)
    layer.initialize()
    assert layer(nd.ones((3, 2, 4))).shape == (3, 2, 5)
    assert layer.l0_h2r_weight.shape == (5, 10) and layer.l0_h2h_weight.shape == (40, 5)
    net = gluon.nn.HybridSequential()
    with net.name_scope():
        net.add(
            gluon.nn.Embedding(10, 8),
            gluon.rnn.LSTM(12, projection_size=6, num_layers=2, layout="NTC"),
            gluon.nn.Dense(10, flatten=False),
        )
    _assert_learns_next_token(net)


def test_lstmp_export_uses_mxnets_nodes_and_loads_back(tmp_path):
    """A hybridized LSTMP layer with known shapes exports ``RNN`` with
    ``projection_size`` over MXNet's ``_rnn_param_concat`` (h2r after each h2h; the file
    was checked by hand to load in MXNet 1.9.1 with the same outputs) and loads back."""
    layer = gluon.rnn.LSTM(
        5, num_layers=2, bidirectional=True, projection_size=3, input_size=4, prefix="lstmp_"
    )
    layer.initialize(mx.init.Uniform(0.5))
    layer.hybridize()
    x = nd.array(np.random.RandomState(0).rand(6, 2, 4))
    y = layer(x)
    layer.export(str(tmp_path / "lstmp"), 0)
    nodes = json.loads((tmp_path / "lstmp-symbol.json").read_text())["nodes"]
    rnn = next(n for n in nodes if n["op"] == "RNN")
    assert rnn["attrs"]["projection_size"] == "3"
    concat = next(n for n in nodes if n["op"] == "_rnn_param_concat")
    packed = [nodes[nodes[i[0]]["inputs"][0][0]]["name"] for i in concat["inputs"]]
    assert packed[:4] == [
        "lstmp_l0_i2h_weight",
        "lstmp_l0_h2h_weight",
        "lstmp_l0_h2r_weight",
        "lstmp_r0_i2h_weight",
    ]
    assert packed[12:] == [
        f"lstmp_{d}{i}_{g}_bias" for i in range(2) for d in "lr" for g in ("i2h", "h2h")
    ]
    back = gluon.SymbolBlock.imports(
        str(tmp_path / "lstmp-symbol.json"),
        ["data0", "data1", "data2"],
        str(tmp_path / "lstmp-0000.params"),
    )
    out = back(x, nd.zeros((4, 2, 3)), nd.zeros((4, 2, 5)))
    np.testing.assert_allclose(out.asnumpy(), y.asnumpy(), rtol=1e-6)
