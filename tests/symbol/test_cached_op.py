"""CachedOp: a symbol called on NDArrays, recorded on the autograd tape as one node."""

import numpy as np
import pytest

import distnet as mx
from distnet import autograd
from distnet.base import MXNetError
from distnet.cached_op import CachedOp


def _net():
    d = mx.sym.var("data")
    c = mx.sym.Convolution(d, kernel=(3, 3), pad=(1, 1), num_filter=3, name="conv")
    b = mx.sym.BatchNorm(c, fix_gamma=False, name="bn")
    r = mx.sym.Activation(b, act_type="relu", name="relu")
    return mx.sym.FullyConnected(r, num_hidden=4, name="fc")


def _imperative(a, data):
    c = mx.nd.Convolution(
        data, a["conv_weight"], a["conv_bias"], kernel=(3, 3), pad=(1, 1), num_filter=3
    )
    b = mx.nd.BatchNorm(
        c, a["bn_gamma"], a["bn_beta"], a["bn_moving_mean"], a["bn_moving_var"], fix_gamma=False
    )
    r = mx.nd.Activation(b, act_type="relu")
    return mx.nd.FullyConnected(r, a["fc_weight"], a["fc_bias"], num_hidden=4)


def _arrays(sym, data_shape, seed=0):
    rng = np.random.RandomState(seed)
    arg, _, aux = sym.infer_shape(data=data_shape)
    shapes = dict(zip(sym.list_arguments(), arg))
    shapes.update(zip(sym.list_auxiliary_states(), aux))
    values = {k: rng.uniform(0.5, 1.0, s).astype(np.float32) for k, s in shapes.items()}
    out = {}
    for k, v in values.items():
        out[k] = mx.nd.array(v)
        if k in sym.list_arguments() and k != "data":
            out[k].attach_grad()
    return values, out


def test_interface_and_input_order():
    sym = _net()
    op = CachedOp(sym, flags=[("static_alloc", True), ("static_shape", False)])
    assert op.symbol is sym
    assert sym.list_inputs() == [
        "data",
        "conv_weight",
        "conv_bias",
        "bn_gamma",
        "bn_beta",
        "bn_moving_mean",
        "bn_moving_var",
        "fc_weight",
        "fc_bias",
    ]


def test_gradients_and_aux_updates_equal_imperative_autograd():
    sym = _net()
    op = CachedOp(sym)
    values, a = _arrays(sym, (2, 2, 5, 5))
    _, b = _arrays(sym, (2, 2, 5, 5))
    a["data"].attach_grad()
    b["data"].attach_grad()
    with autograd.record():
        y = op(*[a[k] for k in sym.list_inputs()])
        loss = (y * y).sum()
    loss.backward()
    with autograd.record():
        y2 = _imperative(b, b["data"])
        loss2 = (y2 * y2).sum()
    loss2.backward()
    np.testing.assert_allclose(y.asnumpy(), y2.asnumpy(), rtol=1e-5)
    for k in sym.list_arguments():
        np.testing.assert_allclose(
            a[k].grad.asnumpy(), b[k].grad.asnumpy(), rtol=1e-4, atol=1e-5, err_msg=k
        )
    for k in sym.list_auxiliary_states():  # moved in the caller's own arrays
        np.testing.assert_allclose(a[k].asnumpy(), b[k].asnumpy(), rtol=1e-5)
        assert not np.allclose(a[k].asnumpy(), values[k])


def test_two_calls_in_one_recording_keep_their_own_state():
    x = mx.sym.var("x")
    w = mx.sym.var("w")
    op = CachedOp(mx.sym.tanh(x * w))
    w_a = mx.nd.array([0.5, -1.0, 2.0])
    w_b = w_a.copy()
    w_a.attach_grad()
    w_b.attach_grad()
    u, v = mx.nd.array([1.0, 2.0, 3.0]), mx.nd.array([-1.0, 0.5, 0.25])
    with autograd.record():
        loss = op(u, w_a) * op(v, w_a)
    loss.backward()
    with autograd.record():
        loss2 = mx.nd.tanh(u * w_b) * mx.nd.tanh(v * w_b)
    loss2.backward()
    np.testing.assert_allclose(w_a.grad.asnumpy(), w_b.grad.asnumpy(), rtol=1e-5)


def test_training_mode_follows_autograd():
    sym = mx.sym.BatchNorm(mx.sym.var("x"), fix_gamma=True, name="bn")
    op = CachedOp(sym)
    x = mx.nd.array(np.arange(8, dtype=np.float32).reshape(4, 2))
    gamma, beta = mx.nd.ones((2,)), mx.nd.zeros((2,))
    mean, var = mx.nd.zeros((2,)), mx.nd.ones((2,))
    infer = op(x, gamma, beta, mean, var)  # moving stats: (x - 0) / sqrt(1 + eps)
    np.testing.assert_allclose(infer.asnumpy(), x.asnumpy() / np.sqrt(1 + 1e-3), rtol=1e-5)
    with autograd.train_mode():
        train = op(x, gamma, beta, mean, var)  # batch statistics
    np.testing.assert_allclose(train.asnumpy().mean(axis=0), [0, 0], atol=1e-5)
    assert infer._ag is None and train._ag is None  # nothing recorded


def test_multiple_outputs_and_shapes():
    x = mx.sym.var("x")
    op = CachedOp(mx.sym.Group([x * 2, mx.sym.sum(x, axis=1)]))
    for shape in [(2, 3), (5, 3)]:  # one plan serves every input shape
        a, b = op(mx.nd.ones(shape))
        assert a.shape == shape and b.asnumpy().tolist() == [3.0] * shape[0]
    out = [mx.nd.zeros((2, 3)), mx.nd.zeros((2,))]
    assert op(mx.nd.ones((2, 3)), out=out) is out and out[1].asnumpy().tolist() == [3, 3]


def test_backward_twice_needs_retain_graph():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    op = CachedOp(mx.sym.square(mx.sym.var("x")))
    with autograd.record():
        y = op(x)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.asnumpy().tolist() == [2.0, 4.0]
    with pytest.raises(MXNetError, match="a second time"):
        y.backward()


def test_bad_calls():
    op = CachedOp(mx.sym.var("a") + mx.sym.var("b"))
    with pytest.raises(MXNetError, match=r"1 inputs given, the symbol takes 2: \['a', 'b'\]"):
        op(mx.nd.ones((2,)))
    with pytest.raises(MXNetError, match="input 'b' must be an NDArray"):
        op(mx.nd.ones((2,)), np.ones(2))
    with pytest.raises(MXNetError, match="input 'b' is on cpu\\(1\\)"):
        op(mx.nd.ones((2,)), mx.nd.ones((2,), ctx=mx.cpu(1)))
