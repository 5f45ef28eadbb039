"""backward hands a fresh, unshared gradient array to the variable's gradient NDArray
instead of copying it (``distnet/_grad_adopt.py``). Nothing a user can see may change: the
gradient NDArray stays the same object, views and raw handles of it still see every new
gradient, aliased arrays are never shared, 'add' accumulates, pending writes finish."""

import weakref

import numpy as np
import pytest

from distnet import autograd, nd


def _linear(x, w):
    with autograd.record():
        y = nd.dot(x, w)
    return y


def _fresh_grad_run(steps=3):
    x = nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    w = nd.array(np.ones((3, 4), np.float32))
    w.attach_grad()
    grad = w.grad
    for k in range(steps):
        y = _linear(x * (k + 1), w)
        y.backward()
    return x, w, grad


def test_gradient_is_adopted_without_copy_and_keeps_its_ndarray():
    x = nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    w = nd.array(np.ones((3, 4), np.float32))
    w.attach_grad()
    grad = w.grad
    old = weakref.ref(grad._data)  # a weak reference does not count as a holder
    _linear(x, w).backward()
    assert w.grad is grad  # users' handle on the gradient survives
    assert old() is None  # the old array was dropped, not written
    np.testing.assert_array_equal(grad.asnumpy(), np.tile(x.asnumpy().sum(0), (4, 1)).T)


def test_views_and_raw_handles_of_the_gradient_see_new_values():
    x = nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    w = nd.array(np.ones((3, 4), np.float32))
    w.attach_grad()
    view = w.grad[1:3]  # an NDArray sharing the gradient's memory (MXNet semantics)
    raw = w.grad.handle  # the numpy array itself
    for k in (1, 2):
        _linear(x * k, w).backward()
        want = np.tile((x * k).asnumpy().sum(0), (4, 1)).T
        np.testing.assert_array_equal(w.grad.asnumpy(), want)
        np.testing.assert_array_equal(view.asnumpy(), want[1:3])
        np.testing.assert_array_equal(raw, want)


def test_gradient_packed_into_a_user_buffer_is_written_there():
    flat = np.zeros(12, np.float32)
    w = nd.array(np.ones((3, 4), np.float32))
    autograd.mark_variables([w], [nd.NDArray(flat[:12].reshape(3, 4))])
    _linear(nd.ones((2, 3)), w).backward()
    np.testing.assert_array_equal(flat, np.full(12, 2, np.float32))


def test_one_gradient_array_is_never_shared_by_two_variables():
    # add's backward gives both inputs the same array; each variable must get its own
    a, b = nd.array([1.0, 2.0]), nd.array([3.0, 4.0])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = a + b
    y.backward()
    assert not np.shares_memory(a.grad.asnumpy(), b.grad.handle)
    assert not np.shares_memory(a.grad.handle, b.grad.handle)
    a.grad[:] = 7
    np.testing.assert_array_equal(b.grad.asnumpy(), [1, 1])


def test_head_gradient_passed_through_is_copied_not_taken():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    head = nd.array([5.0, 6.0, 7.0])
    with autograd.record():
        y = x.copy()  # copy's backward returns the head gradient itself
    y.backward(head)
    assert not np.shares_memory(x.grad.handle, head.handle)
    head[:] = 0
    np.testing.assert_array_equal(x.grad.asnumpy(), [5, 6, 7])


def test_retained_graph_values_are_not_taken():
    x = nd.array([1.0, -2.0])
    x.attach_grad()
    with autograd.record():
        y = x.copy()
    y.backward(retain_graph=True)
    first = x.grad
    y.backward(retain_graph=True)
    assert x.grad is first
    np.testing.assert_array_equal(x.grad.asnumpy(), [1, 1])


class _Pending:
    def __init__(self, buf):
        self.buf, self.waited = buf, False

    def wait(self):
        self.buf._data[...] = -1  # the write in flight lands before backward's
        self.waited = True


@pytest.mark.parametrize("hold_raw", [False, True])
def test_a_pending_write_into_the_gradient_is_waited_for(hold_raw):
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    raw = x.grad.handle if hold_raw else None
    pending = x.grad._pending = _Pending(x.grad)
    with autograd.record():
        y = x * 3
    y.backward()
    assert pending.waited and x.grad._pending is None
    np.testing.assert_array_equal(x.grad.asnumpy(), [3, 3])
    if hold_raw:
        np.testing.assert_array_equal(raw, [3, 3])


def test_adoption_keeps_values_of_a_training_loop():
    _, w, grad = _fresh_grad_run()
    assert w.grad is grad
    np.testing.assert_array_equal(grad.asnumpy(), np.tile([9, 15, 21], (4, 1)).T)


def test_a_view_of_an_array_someone_holds_is_copied_not_taken():
    # reshape's backward returns a view of the head gradient, which the user still holds
    x = nd.array(np.zeros((2, 3), np.float32))
    x.attach_grad()
    head = nd.array(np.arange(6, dtype=np.float32))
    with autograd.record():
        y = x.reshape((6,))
    y.backward(head)
    head[:] = -1
    np.testing.assert_array_equal(x.grad.asnumpy(), np.arange(6).reshape(2, 3))


def test_without_reference_counts_gradients_are_copied(monkeypatch):
    from distnet import _grad_adopt

    monkeypatch.setattr(_grad_adopt, "_ADOPT_REFS", [False])
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    old = weakref.ref(x.grad._data)
    with autograd.record():
        y = x * 3
    y.backward()
    assert old() is x.grad._data  # written in place
    np.testing.assert_array_equal(x.grad.asnumpy(), [3, 3])


def test_trainer_sees_the_adopted_gradients_through_the_same_ndarrays():
    from distnet import gluon, init

    net = gluon.nn.Dense(3, in_units=4)
    net.initialize(init.Constant(0.5))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    params = list(net.collect_params().values())
    grads = [p.grad() for p in params]
    x = nd.array(np.arange(8, dtype=np.float32).reshape(2, 4))
    for _ in range(2):
        before = [p.data().asnumpy() for p in params]
        with autograd.record():
            loss = (net(x) ** 2).sum()
        loss.backward()
        assert all(p.grad() is g for p, g in zip(params, grads))  # the same NDArrays
        seen = [g.asnumpy() for g in grads]
        trainer.step(2)
        for p, w0, g in zip(params, before, seen):
            np.testing.assert_allclose(p.data().asnumpy(), w0 - 0.1 * g / 2, rtol=1e-6)
