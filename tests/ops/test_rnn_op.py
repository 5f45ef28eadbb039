"""The fused RNN operator against MXNet 1.9.1: outputs, final states and the gradients of
every input (data, packed parameters, initial states), 2 layers, one and two directions."""

import os

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, nd
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "rnn")
CASES = [(m, b) for m in ("lstm", "gru", "rnn_tanh", "rnn_relu") for b in ("uni", "bi")]


@pytest.fixture(scope="module")
def ref():
    return np.load(os.path.join(FIX, "rnn_op.npz"), allow_pickle=False)


@pytest.mark.parametrize("mode,bi", CASES)
def test_rnn_matches_mxnet(ref, mode, bi):
    key = f"{mode}_{bi}"
    n_in = 4 if mode == "lstm" else 3
    ins = [nd.array(ref[f"{key}_in{i}"]) for i in range(n_in)]
    for x in ins:
        x.attach_grad()
    with autograd.record():
        outs = nd.RNN(
            *ins,
            state_size=5,
            num_layers=2,
            bidirectional=bi == "bi",
            mode=mode,
            state_outputs=True,
        )
    assert len(outs) == n_in - 1
    autograd.backward(list(outs), [nd.array(ref[f"{key}_head{i}"]) for i in range(len(outs))])
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), ref[f"{key}_out{i}"], rtol=1e-4, atol=1e-5)
    for i, x in enumerate(ins):
        np.testing.assert_allclose(
            x.grad.asnumpy(),
            ref[f"{key}_grad{i}"],
            rtol=1e-4,
            atol=1e-5,
            err_msg=f"gradient of input {i}",
        )


def test_rnn_symbol_shapes_and_single_output():
    data = mx.sym.var("data")
    out = mx.sym.RNN(
        data=data,
        parameters=mx.sym.var("p"),
        state=mx.sym.var("s"),
        state_cell=mx.sym.var("c"),
        state_size=8,
        num_layers=2,
        mode="lstm",
        name="rnn",
    )
    args, outs, _ = out.infer_shape(data=(7, 3, 4))
    shapes = dict(zip(out.list_arguments(), args))
    # 4 gates * 8 * (4 + 8 + 2) for layer 0, 4 * 8 * (8 + 8 + 2) for layer 1
    assert shapes["p"] == (4 * 8 * 14 + 4 * 8 * 18,)
    assert shapes["s"] == (2, 3, 8) and shapes["c"] == (2, 3, 8)
    assert outs == [(7, 3, 8)]


def test_rnn_bad_parameter_length_names_it():
    x = nd.zeros((2, 1, 3))
    with pytest.raises(MXNetError, match="parameters has shape"):
        nd.RNN(x, nd.zeros((10,)), nd.zeros((1, 1, 4)), state_size=4, num_layers=1, mode="rnn_tanh")


def test_rnn_dropout_only_between_layers_and_only_training():
    rs = np.random.RandomState(0)
    x = nd.array(rs.rand(3, 2, 4))
    p = nd.array(rs.rand(4 * (4 + 4 + 2) + 4 * (4 + 4 + 2)) - 0.5)
    s = nd.zeros((2, 2, 4))
    kw = dict(state_size=4, num_layers=2, mode="rnn_tanh")
    plain = nd.RNN(x, p, s, **kw).asnumpy()
    np.testing.assert_array_equal(nd.RNN(x, p, s, p=0.5, **kw).asnumpy(), plain)
    with autograd.record():
        dropped = nd.RNN(x, p, s, p=0.5, **kw).asnumpy()
    assert not np.allclose(dropped, plain)


def test_param_pack_infers_every_parameter_shape_from_the_data():
    data = mx.sym.var("data")
    weights = [mx.sym.var(f"w{i}") for i in range(8)]
    packed = mx.sym._rnn_param_pack(
        data, *weights, num_args=9, state_size=3, num_layers=1, bidirectional=True, mode="gru"
    )
    args, outs, _ = packed.infer_shape(data=(5, 2, 4))
    shapes = dict(zip(packed.list_arguments(), args))
    assert [shapes[f"w{i}"] for i in range(8)] == [
        (9, 4),
        (9, 3),
        (9, 4),
        (9, 3),
        (9,),
        (9,),
        (9,),
        (9,),
    ]
    assert outs == [(2 * 9 * (4 + 3 + 2),)]


@pytest.mark.parametrize("opname", ["_rnn_param_pack", "_rnn_param_concat"])
def test_param_packing_values_and_gradients(opname):
    rs = np.random.RandomState(0)
    parts = [nd.array(rs.rand(*s)) for s in [(4, 2), (4, 1), (4,), (4,)]]
    for p in parts:
        p.attach_grad()
    extra = [nd.zeros((3, 1, 2))] if opname == "_rnn_param_pack" else []
    kw = dict(state_size=1, num_layers=1, mode="lstm") if extra else {}
    with autograd.record():
        packed = getattr(nd, opname)(*(extra + parts), num_args=len(extra + parts), **kw)
        (packed * nd.arange(packed.size)).sum().backward()
    np.testing.assert_array_equal(
        packed.asnumpy(), np.concatenate([p.asnumpy().ravel() for p in parts])
    )
    np.testing.assert_array_equal(parts[1].grad.asnumpy().ravel(), np.arange(8, 12))


def test_lstm_state_clip_bounds_the_cell_state():
    rs = np.random.RandomState(0)
    args = [nd.array(rs.uniform(-2, 2, s)) for s in [(4, 2, 2), (4 * 3 * 7,), (1, 2, 3), (1, 2, 3)]]
    kw = dict(state_size=3, num_layers=1, mode="lstm", state_outputs=True)
    free = nd.RNN(*args, **kw)[2].asnumpy()
    clipped = nd.RNN(*args, lstm_state_clip_min=-0.3, lstm_state_clip_max=0.3, **kw)
    assert np.abs(free).max() > 0.3
    assert np.abs(clipped[2].asnumpy()).max() <= 0.3 + 1e-7
    # every step's output is o * tanh(c) with the clipped c
    assert np.abs(clipped[0].asnumpy()).max() <= np.tanh(0.3) + 1e-6


# ---------------------------------------------------------------- LSTMP (projection_size)
@pytest.fixture(scope="module")
def lstmp_ref():
    return np.load(os.path.join(FIX, "lstmp.npz"), allow_pickle=False)


@pytest.mark.parametrize("layers,bi", [(1, "uni"), (1, "bi"), (2, "uni"), (2, "bi")])
def test_lstmp_matches_mxnet(lstmp_ref, layers, bi):
    """Outputs (T, N, D*P), final h (L*D, N, P) and c (L*D, N, H), and the gradients of
    data, packed parameters (with the h2r weights in MXNet's places) and both states."""
    key = f"op_l{layers}_{bi}"
    ins = [nd.array(lstmp_ref[f"{key}_in{i}"]) for i in range(4)]
    for x in ins:
        x.attach_grad()
    with autograd.record():
        outs = nd.RNN(
            *ins,
            state_size=5,
            projection_size=2,
            num_layers=layers,
            bidirectional=bi == "bi",
            mode="lstm",
            state_outputs=True,
        )
    d = 2 if bi == "bi" else 1
    assert [o.shape for o in outs] == [(4, 2, 2 * d), (layers * d, 2, 2), (layers * d, 2, 5)]
    autograd.backward(list(outs), [nd.array(lstmp_ref[f"{key}_head{i}"]) for i in range(3)])
    for i, o in enumerate(outs):
        np.testing.assert_allclose(
            o.asnumpy(), lstmp_ref[f"{key}_out{i}"], rtol=1e-4, atol=1e-5, err_msg=f"output {i}"
        )
    for i, x in enumerate(ins):
        np.testing.assert_allclose(
            x.grad.asnumpy(),
            lstmp_ref[f"{key}_grad{i}"],
            rtol=1e-4,
            atol=1e-5,
            err_msg=f"gradient of input {i}",
        )


def test_lstmp_symbol_infers_packed_and_state_shapes():
    out = mx.sym.RNN(
        data=mx.sym.var("data"),
        parameters=mx.sym.var("p"),
        state=mx.sym.var("s"),
        state_cell=mx.sym.var("c"),
        state_size=8,
        projection_size=3,
        num_layers=2,
        bidirectional=True,
        mode="lstm",
        state_outputs=True,
        name="rnn",
    )
    args, outs, _ = out.infer_shape(data=(7, 4, 6))
    shapes = dict(zip(out.list_arguments(), args))
    # per direction: layer 0 i2h 32x6, h2h 32x3, h2r 3x8, two biases of 32;
    # layer 1 takes the two directions' projections (2*3) as input
    assert shapes["p"] == (2 * (32 * 6 + 32 * 3 + 24 + 64) + 2 * (32 * 6 + 32 * 3 + 24 + 64),)
    assert shapes["s"] == (4, 4, 3) and shapes["c"] == (4, 4, 8)
    assert outs == [(7, 4, 6), (4, 4, 3), (4, 4, 8)]


def test_lstmp_needs_lstm_mode_and_checks_the_state_shape():
    x = nd.zeros((2, 1, 3))
    with pytest.raises(MXNetError, match="projection_size=2 needs mode='lstm'"):
        nd.RNN(
            x,
            nd.zeros((10,)),
            nd.zeros((1, 1, 2)),
            state_size=4,
            projection_size=2,
            num_layers=1,
            mode="gru",
        )
    p = nd.zeros((4 * 4 * (3 + 2 + 2) + 2 * 4,))
    with pytest.raises(MXNetError, match=r"state has shape \(1, 1, 4\), expected \(1, 1, 2\)"):
        nd.RNN(
            x,
            p,
            nd.zeros((1, 1, 4)),
            nd.zeros((1, 1, 4)),
            state_size=4,
            projection_size=2,
            num_layers=1,
            mode="lstm",
        )
