"""autograd semantics: record/pause, grad_req, retain_graph, second order, Function."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd, autograd


def test_record_pause_and_modes():
    assert not autograd.is_recording() and not autograd.is_training()
    with autograd.record():
        assert autograd.is_recording() and autograd.is_training()
        with autograd.pause():
            assert not autograd.is_recording() and not autograd.is_training()
        with autograd.predict_mode():
            assert not autograd.is_training()
    with autograd.record(train_mode=False):
        assert autograd.is_recording() and not autograd.is_training()
    with autograd.train_mode():
        assert autograd.is_training() and not autograd.is_recording()


def test_backward_writes_gradients():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = (x * x * 2 + nd.exp(x)).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 4 * x.asnumpy() + np.exp(x.asnumpy()), rtol=1e-6)


def test_paused_ops_are_constants():
    x = nd.array([2.0])
    x.attach_grad()
    with autograd.record():
        with autograd.pause():
            c = x * 3
        y = x * c
    y.backward()
    assert x.grad.asnumpy().tolist() == [6.0]


def test_grad_req_add_accumulates_and_write_overwrites():
    x = nd.array([1.0, 2.0])
    x.attach_grad(grad_req="add")
    for _ in range(3):
        with autograd.record():
            y = x * x
        y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 3 * 2 * x.asnumpy())
    z = nd.array([1.0])
    z.attach_grad()
    for _ in range(2):
        with autograd.record():
            w = z * 5
        w.backward()
    assert z.grad.asnumpy().tolist() == [5.0]


def test_grad_req_null_leaves_no_gradient():
    x = nd.array([1.0])
    x.attach_grad(grad_req="null")
    y_ = nd.array([2.0])
    y_.attach_grad()
    with autograd.record():
        out = x * y_
    out.backward()
    assert x.grad.asnumpy().tolist() == [0.0]
    assert y_.grad.asnumpy().tolist() == [1.0]


def test_second_backward_needs_retain_graph():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(mx.MXNetError, match="retain_graph=True"):
        y.backward()


def test_head_gradient_and_multiple_heads():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        a = x * 2
        b = x * x
    autograd.backward([a, b], [nd.array([1.0, 1.0]), nd.array([0.5, 0.5])])
    np.testing.assert_allclose(x.grad.asnumpy(), [2 + 1, 2 + 2])


def test_backward_without_graph_is_a_clear_error():
    x = nd.array([1.0])
    with pytest.raises(mx.MXNetError, match="not in a computational graph"):
        x.backward()


def test_grad_second_order():
    x = nd.array([0.3, 1.2])
    x.attach_grad()
    with autograd.record():
        y = nd.sin(x) * x * x
        dy = autograd.grad(y, [x], create_graph=True)[0]
    dy.backward()
    xv = x.asnumpy().astype(np.float64)
    first = np.cos(xv) * xv**2 + 2 * xv * np.sin(xv)
    second = -np.sin(xv) * xv**2 + 4 * xv * np.cos(xv) + 2 * np.sin(xv)
    np.testing.assert_allclose(dy.asnumpy(), first, rtol=1e-5)
    np.testing.assert_allclose(x.grad.asnumpy(), second, rtol=1e-5)


def test_grad_does_not_touch_dot_grad():
    x = nd.array([3.0])
    x.attach_grad()
    with autograd.record():
        y = x * x
    g = autograd.grad(y, x)
    assert g.asnumpy().tolist() == [6.0]
    assert x.grad.asnumpy().tolist() == [0.0]


def test_detach_and_blockgrad_cut_the_graph():
    x = nd.array([2.0])
    x.attach_grad()
    with autograd.record():
        y = x * x.detach() + nd.BlockGrad(x) * x
    y.backward()
    assert x.grad.asnumpy().tolist() == [4.0]


def test_custom_function():
    class Sigmoid(autograd.Function):
        def forward(self, x):
            y = 1 / (1 + nd.exp(-x))
            self.save_for_backward(y)
            return y

        def backward(self, dy):
            (y,) = self.saved_tensors
            return dy * y * (1 - y)

    x = nd.array([0.0, 1.0])
    x.attach_grad()
    with autograd.record():
        out = Sigmoid()(x) * 2
    out.backward()
    s = 1 / (1 + np.exp(-x.asnumpy()))
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * s * (1 - s), rtol=1e-6)


def test_inplace_on_recorded_array_is_refused():
    x = nd.array([1.0])
    x.attach_grad()
    with autograd.record():
        y = x * 2
        with pytest.raises(mx.MXNetError, match="in-place"):
            y += 1


def test_slicing_is_differentiable():
    x = nd.array([[1.0, 2.0], [3.0, 4.0]])
    x.attach_grad()
    with autograd.record():
        y = (x[1] * 3).sum() + x[0, 0]
    y.backward()
    assert x.grad.asnumpy().tolist() == [[1, 0], [3, 3]]


def test_copy_to_other_context_is_differentiable():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = (x.as_in_context(mx.cpu(1)) * 2).sum()
    y.backward()
    assert x.grad.asnumpy().tolist() == [2.0, 2.0]


def _spy_req(monkeypatch, opname):
    from distnet.ops.registry import get_op

    op = get_op(opname)
    seen = []
    original = op.backward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("req"))
        return original(*args, **kwargs)

    monkeypatch.setattr(op, "backward", spy)
    return seen


def test_unwanted_input_gradients_are_not_requested(monkeypatch):
    seen = _spy_req(monkeypatch, "FullyConnected")
    x = nd.array(np.ones((2, 3)))
    w = nd.array(np.full((4, 3), 0.5))
    b = nd.zeros((4,))
    w.attach_grad()
    b.attach_grad(grad_req="null")
    with autograd.record():
        y = nd.FullyConnected(x, w, b, num_hidden=4).sum()
    y.backward()
    assert seen == [(False, True, False)]
    np.testing.assert_allclose(w.grad.asnumpy(), np.full((4, 3), 2.0))


def test_executor_passes_the_same_mask(monkeypatch):
    seen = _spy_req(monkeypatch, "Convolution")
    data = mx.sym.var("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), num_filter=2, name="c")
    exe = net.simple_bind(
        mx.cpu(), data=(1, 1, 5, 5), grad_req={"c_weight": "write", "c_bias": "write"}
    )
    exe.forward(is_train=True)
    exe.backward([nd.ones((1, 2, 3, 3))])
    assert seen == [(False, True, True)]
    assert exe.grad_dict["c_weight"].shape == (2, 1, 3, 3)


def test_get_symbol_rebuilds_the_recorded_graph():
    from distnet.autograd import get_symbol

    x, z = mx.nd.array([3.0]), mx.nd.array([2.0])
    x.attach_grad()
    z.attach_grad()
    with mx.autograd.record():
        y = x * x + 2 * z - 1
    sym = get_symbol(y)
    assert len(sym.list_arguments()) == 2  # x used twice is one variable
    values = {
        name: (mx.nd.array([3.0]) if name == "var1" else mx.nd.array([2.0]))
        for name in sym.list_arguments()
    }
    got = sym.eval(**values)[0].asscalar()
    assert got in (3 * 3 + 2 * 2 - 1, 2 * 2 + 2 * 3 - 1)  # which var is x: tape order
    with mx.autograd.record():
        w = x * x
    assert get_symbol(w).list_arguments() == ["var0"]
    with pytest.raises(mx.base.MXNetError, match="not computed while recording"):
        get_symbol(mx.nd.ones(2))


def test_star_import_of_autograd_gives_mxnets_names():
    names = {}
    exec("from distnet.autograd import *", names)
    assert names["NDArray"] is mx.nd.NDArray and names["get_symbol"] is not None
    assert names["Symbol"] is mx.sym.Symbol and "record" in names


def test_fresh_grad_flag_follows_backward_and_can_be_reset():
    x, y = mx.nd.ones((2, 2)), mx.nd.ones((2, 2))
    mx.autograd.mark_variables([x, y], [mx.nd.zeros((2, 2)), mx.nd.zeros((2, 2))])
    assert (x._fresh_grad, y._fresh_grad) == (False, False)
    with mx.autograd.record():
        out = (x + 2) + y
    out.backward()
    assert (x._fresh_grad, y._fresh_grad) == (True, True)
    x._fresh_grad = False
    assert not x._fresh_grad and y._fresh_grad
    with mx.autograd.record():
        out = (x + 2).detach() + y  # x's path is cut: only y's gradient is written
    out.backward()
    assert not x._fresh_grad and y._fresh_grad
    assert mx.nd.ones(2)._fresh_grad is False  # not a variable
