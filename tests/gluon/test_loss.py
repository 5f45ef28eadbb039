"""Gluon losses against the values and gradients MXNet 1.9.1 computed (losses.npz), and
hybridized losses against imperative ones."""

import math

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, nd
from distnet.base import MXNetError
from distnet.gluon import loss as gloss

from .helpers import assert_close, fixture, load_json

_CASES = load_json("losses.json")["cases"]
_DATA = np.load(fixture("losses.npz"))


def _make(ctor):
    ctor = ctor.split(";")[0].split(" on ")[0].strip()
    return eval(ctor, {}, vars(gloss))  # a constructor call such as "L2Loss(weight=2.0)"


def _inputs(names):
    out = []
    for name in names:
        if name is None:
            out.append(None)
        elif name == "POS_WEIGHT":
            out.append(2.0)
        else:
            arr = _DATA[f"input:{name}"]
            out.append(nd.array(arr, dtype=arr.dtype))
    return out


_GRADED = sorted(k for k, c in _CASES.items() if "error" not in c)


@pytest.mark.parametrize("case", _GRADED)
def test_loss_value_and_gradient_match_mxnet(case):
    spec = _CASES[case]
    fn = _make(spec["ctor"])
    args = _inputs(spec["inputs"])
    wrt = [args[0]] + ([args[1]] if f"{case}:grad1" in _DATA.files else [])
    for arr in wrt:
        arr.attach_grad()
    with autograd.record():
        out = fn(*args)
    out.backward()
    assert out.shape == tuple(spec["loss_shape"])
    assert_close(out, _DATA[f"{case}:loss"], rtol=1e-5, atol=1e-6, msg=case)
    for i, arr in enumerate(wrt):
        assert_close(
            arr.grad, _DATA[f"{case}:grad{i}"], rtol=1e-4, atol=1e-6, msg=f"{case} grad{i}"
        )


def test_poisson_full_is_finite_and_differentiable_unlike_mxnet():
    # MXNet 1.9.1 returned NaN here (0 * log 0 for zero targets) and its backward raised.
    pred = nd.array(_DATA["input:pos_pred"])
    target = _DATA["input:pois_target"]
    pred.attach_grad()
    with autograd.record():
        out = gloss.PoissonNLLLoss(from_logits=False, compute_full=True)(pred, nd.array(target))
    out.backward()
    p = _DATA["input:pos_pred"].astype(np.float64)
    t = target.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        stirling = np.where(t > 1, t * np.log(t) - t + 0.5 * np.log(2 * math.pi * t), 0)
    want = np.mean(p - t * np.log(p + 1e-8) + stirling)
    assert_close(out, [want], rtol=1e-5)
    assert_close(pred.grad, (1 - t / (p + 1e-8)) / t.size, rtol=1e-4)


def test_loss_repr_and_label_format_error():
    assert repr(gloss.L2Loss()) == "L2Loss(batch_axis=0, w=1.0)"
    assert repr(gloss.SoftmaxCrossEntropyLoss()) == "SoftmaxCrossEntropyLoss(batch_axis=0, w=None)"
    with pytest.raises(ValueError, match="label_format can only be signed or binary"):
        gloss.LogisticLoss(label_format="other")


@pytest.mark.parametrize(
    "case",
    [
        "SoftmaxCE_sparse_sw",
        "L2Loss_sw",
        "Huber_rho05_sw",
        "SigmoidBCE",
        "KLDiv_not_from_logits",
        "Triplet",
        "CosineEmbedding_m",
    ],
)
def test_hybridized_loss_equals_imperative(case):
    spec = _CASES[case]
    fn = _make(spec["ctor"])
    args = _inputs(spec["inputs"])
    fn.hybridize()
    args[0].attach_grad()
    with autograd.record():
        out = fn(*args)
    out.backward()
    assert_close(out, _DATA[f"{case}:loss"], rtol=1e-5, atol=1e-6)
    assert_close(args[0].grad, _DATA[f"{case}:grad0"], rtol=1e-4, atol=1e-6)


def _sdml_inputs():
    x1 = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, (4, 3)))
    x2 = mx.nd.array(np.random.RandomState(1).uniform(-1, 1, (4, 3)))
    return x1, x2


def test_sdml_loss_matches_mxnet_values_and_gradient():
    x1, x2 = _sdml_inputs()
    loss = mx.gluon.loss.SDMLLoss()
    # MXNet 1.9.1 on the same inputs
    np.testing.assert_allclose(
        loss(x1, x2).asnumpy(), [0.7825125, 1.1408840, 1.0440410, 0.2589835], rtol=1e-4
    )
    weighted = mx.gluon.loss.SDMLLoss(smoothing_parameter=0.1, weight=2.0)(x1, x2)
    np.testing.assert_allclose(
        weighted.asnumpy(), [1.3126360, 1.8079914, 1.4020109, 0.6065388], rtol=1e-4
    )
    x1.attach_grad()
    with mx.autograd.record():
        out = loss(x1, x2)
    out.backward()
    np.testing.assert_allclose(
        x1.grad.asnumpy()[0], [0.1150054, -0.6298257, 1.3945005], rtol=1e-4, atol=1e-6
    )
    hybrid = mx.gluon.loss.SDMLLoss()
    hybrid.hybridize()  # works on Symbols too (MXNet's read x1.shape)
    np.testing.assert_allclose(hybrid(x1, x2).asnumpy(), out.asnumpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        loss(x1, x2[:3])


def test_argument_to_an_operator_without_arguments_is_ignored_with_a_warning():
    # MXNet ignores it (its own test of CosineEmbeddingLoss passes axis= to broadcast_maximum)
    with pytest.warns(UserWarning, match="broadcast_minimum takes no arguments; 'axis'"):
        out = mx.nd.broadcast_minimum(mx.nd.array([0]), mx.nd.array([[1, -2]]), axis=1)
    assert out.asnumpy().tolist() == [[0, -2]]
    with pytest.raises(MXNetError, match="unknown argument 'axes'"):
        mx.nd.sum(mx.nd.ones((2,)), axes=0)
