"""Leaf gradient hooks: backward writes each marked variable's gradient as soon as it is
final and calls its hook then, before backward goes on (what gradient overlap relies on)."""

import numpy as np
import pytest

from distnet import autograd, nd
from distnet.base import MXNetError


def _record_calls(var, log, *others):
    """Hook logging (name, gradient buffer, freshness of `others`) at call time."""

    def hook(v, g):
        assert v is var and g is var.grad
        log.append((var, var.grad.asnumpy().copy(), [o._ag.fresh for o in others]))

    autograd.register_grad_hook(var, hook)


class _Probe(autograd.Function):
    """Identity whose backward logs that it ran."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def forward(self, x):
        return x.copy()

    def backward(self, dy):
        self.log.append(("probe", None, None))
        return dy


def test_hook_fires_once_with_the_complete_sum_before_earlier_layers():
    x = nd.array([0.5, -1.0, 2.0])
    w = nd.array([1.5, 2.0, -0.5])
    x.attach_grad()
    w.attach_grad()
    log = []
    _record_calls(w, log, x)
    _record_calls(x, log, w)
    with autograd.record():
        p = _Probe(log)(x)  # the deepest node: its backward runs last
        h = p * p * 2 + nd.exp(p) + x * 3  # x feeds two nodes
        y = (w * w + nd.tanh(h) * w).sum()  # w feeds two nodes, late in the graph
    y.backward()
    xv, wv = x.asnumpy(), w.asnumpy()
    hv = xv * xv * 2 + np.exp(xv) + xv * 3
    want_w = np.tanh(hv) + 2 * wv
    want_x = wv * (1 - np.tanh(hv) ** 2) * (4 * xv + np.exp(xv) + 3)
    # w's hook ran while backward went on (before the deepest node), once; x's at the end
    assert [e[0] if isinstance(e[0], str) else e[0] is w for e in log] == [True, "probe", False]
    np.testing.assert_allclose(log[0][1], want_w, rtol=1e-6)  # complete when the hook ran
    assert log[0][2] == [False]  # x's gradient was not computed yet
    np.testing.assert_allclose(log[2][1], want_x, rtol=1e-5)
    assert log[2][2] == [True]
    np.testing.assert_allclose(x.grad.asnumpy(), want_x, rtol=1e-5)


def test_add_accumulates_and_hook_runs_once_per_backward():
    x = nd.array([1.0, 2.0])
    x.attach_grad(grad_req="add")
    log = []
    _record_calls(x, log)
    for _ in range(2):
        with autograd.record():
            y = (x * x + x).sum()
        y.backward()
    assert len(log) == 2
    np.testing.assert_allclose(log[0][1], [3.0, 5.0])
    np.testing.assert_allclose(log[1][1], [6.0, 10.0])


def test_head_leaf_unreached_leaf_grad_and_removal():
    x = nd.array([1.0, 2.0])
    unused = nd.array([3.0])
    x.attach_grad()
    unused.attach_grad()
    log = []
    _record_calls(x, log)
    _record_calls(unused, log)
    x.backward(nd.array([2.0, 3.0]))  # the head is the variable itself
    assert len(log) == 1 and log[0][0] is x
    np.testing.assert_allclose(log[0][1], [2.0, 3.0])
    assert not unused._ag.fresh  # no gradient reached it: no hook
    with autograd.record():
        y = (x * 4).sum()
    g = autograd.grad(y, x)  # grad() leaves buffers and hooks alone
    np.testing.assert_allclose(g.asnumpy(), [4.0, 4.0])
    assert len(log) == 1
    autograd.register_grad_hook(x, None)
    with autograd.record():
        y = (x * 4).sum()
    y.backward()
    assert len(log) == 1
    np.testing.assert_allclose(x.grad.asnumpy(), [4.0, 4.0])
    x.attach_grad()  # re-marking drops the hook
    assert x._ag.hook is None
    with pytest.raises(MXNetError, match="not marked with attach_grad"):
        autograd.register_grad_hook(nd.array([1.0]), print)


def test_multi_output_node_and_shared_leaf_in_one_node():
    x = nd.array([[1.0, 2.0], [3.0, 4.0]])
    x.attach_grad()
    log = []
    _record_calls(x, log)
    with autograd.record():
        a, b = nd.split(x, num_outputs=2, axis=0)
        y = (a * b * x[0:1]).sum() + (x * x).sum()
    y.backward()
    xv = x.asnumpy()
    want = 2 * xv
    want[0] += xv[1] * xv[0] * 2
    want[1] += xv[0] * xv[0]
    assert len(log) == 1
    np.testing.assert_allclose(log[0][1], want, rtol=1e-6)
