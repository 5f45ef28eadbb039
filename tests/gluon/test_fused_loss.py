"""SoftmaxCrossEntropyLoss on NDArrays runs as one fused tape operation
(``gluon/_fused_loss.py``): its values and gradients must be bitwise those of MXNet's
composition ``-mean(pick(log_softmax(pred), label, keepdims=True), exclude batch axis)``."""

import numpy as np
import pytest

from distnet import autograd, nd
from distnet.base import MXNetError
from distnet.gluon import loss as gloss


def _composed(x, label):
    """The loss as hybrid_forward composes it (what ran before the fusion)."""
    logp = nd.log_softmax(x, axis=-1)
    return (-nd.pick(logp, label, axis=-1, keepdims=True)).mean(axis=0, exclude=True)


def _loss_and_grad(fn, pred, label, head=None):
    x = nd.array(pred)
    x.attach_grad()
    with autograd.record():
        out = fn(x, nd.array(label))
    out.backward(None if head is None else nd.array(head))
    return out.asnumpy(), x.grad.asnumpy()


@pytest.mark.parametrize("seed", range(6))
def test_fused_loss_is_bitwise_the_composition(seed):
    rng = np.random.RandomState(seed)
    n, c = rng.randint(1, 70), rng.randint(2, 20)
    pred = (rng.randn(n, c) * [0.1, 1, 30][seed % 3]).astype(np.float32)
    # (N,) and (N, 1) labels; fractional ones truncate and out-of-range ones clip, as pick
    shape = (n,) if seed % 2 else (n, 1)
    label = rng.randint(-2, c + 2, size=shape) + [0, 0.5][seed % 2]
    head = None if seed < 3 else rng.uniform(0.1, 3, n).astype(np.float32)
    fused = _loss_and_grad(gloss.SoftmaxCrossEntropyLoss(), pred, label, head)
    composed = _loss_and_grad(_composed, pred, label, head)
    assert fused[0].shape == (n,) and fused[0].dtype == np.float32
    np.testing.assert_array_equal(fused[0], composed[0])
    np.testing.assert_array_equal(fused[1], composed[1])


def test_fused_loss_is_one_tape_node_and_frees_its_graph():
    x = nd.array(np.random.RandomState(0).randn(5, 4))
    x.attach_grad()
    with autograd.record():
        out = gloss.SoftmaxCrossEntropyLoss()(x, nd.array([0, 1, 2, 3, 0]))
    node = out._ag[0]
    assert node.inputs[0] is x  # pred feeds the loss node directly: no intermediate nodes
    out.backward(retain_graph=True)
    first = x.grad.asnumpy()
    out.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), first)
    with pytest.raises(MXNetError, match="a second time"):
        out.backward()


def test_fused_loss_second_order_gradient():
    # d/dx of sum(v * dL/dx) is the Hessian-vector product (diag(p) - p p^T) v per row
    rng = np.random.RandomState(3)
    pred = rng.randn(4, 5).astype(np.float32)
    v = rng.randn(4, 5).astype(np.float32)
    x = nd.array(pred)
    x.attach_grad()
    with autograd.record():
        out = gloss.SoftmaxCrossEntropyLoss()(x, nd.array([1, 0, 4, 2]))
        (dx,) = autograd.grad(out, [x], create_graph=True)
        (dx * nd.array(v)).sum().backward()
    p = np.exp(pred - pred.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(5)[[1, 0, 4, 2]]
    np.testing.assert_allclose(dx.asnumpy(), p - onehot, rtol=1e-5, atol=1e-6)
    hv = p * v - p * (p * v).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.asnumpy(), hv, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("shape,label", [((3, 4), [[0, 1, 2, 3]]), ((2, 3, 4), [[0, 1, 2]])])
def test_unfused_cases_keep_their_errors_and_values(shape, label):
    x = nd.array(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 10)
    fn = gloss.SoftmaxCrossEntropyLoss()
    if len(shape) == 2:  # a label of the wrong shape: pick's error, as before
        with pytest.raises(MXNetError, match="pick: index has shape"):
            fn(x, nd.array(label))
        return
    got = fn(x, nd.array(label * 2))  # 3-D predictions run the composition
    np.testing.assert_array_equal(got.asnumpy(), _composed(x, nd.array(label * 2)).asnumpy())


def test_the_generic_array_module_path_gives_the_same_values(monkeypatch):
    # cupy takes the generic branch (array methods, along_axis_key); run it on numpy
    import types
    from distnet.gluon import _fused_loss

    generic = types.SimpleNamespace(
        **{k: getattr(np, k) for k in dir(np) if not k.startswith("__")}
    )
    rng = np.random.RandomState(5)
    pred, label = rng.randn(9, 6).astype(np.float32), rng.randint(-1, 8, 9).astype(np.float32)
    fast = _loss_and_grad(gloss.SoftmaxCrossEntropyLoss(), pred, label)
    monkeypatch.setattr(_fused_loss, "xp_of", lambda _: generic)
    slow = _loss_and_grad(gloss.SoftmaxCrossEntropyLoss(), pred, label)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


@pytest.mark.parametrize("label", [np.array([0, 1]), None])
def test_labels_that_are_not_ndarrays_keep_picks_errors(label):
    with pytest.raises(MXNetError, match="operator pick"):
        gloss.SoftmaxCrossEntropyLoss()(nd.ones((2, 3)), label)
