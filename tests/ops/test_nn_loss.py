"""Loss operators: SoftmaxOutput, the regression outputs, MakeLoss/make_loss and
softmax_cross_entropy, against the formulas and MXNet 1.9.1 fixture values."""

import json
from pathlib import Path

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.ops.registry import get_op

from .harness import OpCase, run_case

rng = np.random.default_rng(5)
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "mxnet"
_SPEC = json.loads((FIX / "ops.json").read_text())
_DATA = np.load(FIX / "ops.npz")


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _loss_grad(op, x, label, head=None, **attrs):
    """Output and data gradient of a loss operator (head gradient ``head``, default ones)."""
    data = nd.array(x)
    data.attach_grad()
    with mx.autograd.record():
        y = getattr(nd, op)(data, nd.array(label), **attrs)
    y.backward(None if head is None else nd.array(head))
    return y.asnumpy(), data.grad.asnumpy()


# ---------------------------------------------------------------- SoftmaxOutput ------
@pytest.mark.parametrize("case", [c for c in _SPEC if c.startswith("so_")])
def test_softmax_output_matches_mxnet(case):
    x, label = _DATA[f"{case}:x"], None
    if f"{case}:label" in _DATA.files:
        label = _DATA[f"{case}:label"]
    else:  # preserve_shape fixture: forward only
        label = np.zeros(x.shape[:-1], np.float32)
    y, dx = _loss_grad("SoftmaxOutput", x, label, **_SPEC[case]["attrs"])
    np.testing.assert_allclose(y, _DATA[f"{case}:y"], rtol=1e-5, atol=1e-6)
    if f"{case}:dx" in _DATA.files:
        np.testing.assert_allclose(dx, _DATA[f"{case}:dx"], rtol=1e-5, atol=1e-6)


X = rng.standard_normal((4, 5)).astype(np.float32)
LABEL = np.array([0, 3, 3, 1], np.float32)
ONEHOT = np.eye(5, dtype=np.float32)[LABEL.astype(int)]


@pytest.mark.parametrize(
    "attrs,scale",
    [
        ({}, np.ones((4, 1))),
        ({"normalization": "batch", "grad_scale": 3.0}, np.full((4, 1), 3 / 4)),
        ({"normalization": "valid", "ignore_label": 3}, np.full((4, 1), 1 / 2)),
        (
            {"normalization": "valid", "ignore_label": 3, "use_ignore": True},
            np.array([[0.5], [0], [0], [0.5]]),
        ),
        ({"use_ignore": True, "ignore_label": 0}, np.array([[0], [1], [1], [1]])),
    ],
)
def test_softmax_output_gradient_formula(attrs, scale):
    # the head gradient is ignored: SoftmaxOutput is a loss output
    y, dx = _loss_grad("SoftmaxOutput", X, LABEL, head=np.full((4, 5), 7.0), **attrs)
    np.testing.assert_allclose(y, _softmax(X, 1), rtol=1e-5)
    np.testing.assert_allclose(dx, (_softmax(X, 1) - ONEHOT) * scale, rtol=1e-5, atol=1e-7)


def test_softmax_output_smoothing_multi_output_and_out_grad():
    _, dx = _loss_grad("SoftmaxOutput", X, LABEL, smooth_alpha=0.2)
    target = ONEHOT * 0.8 + (1 - ONEHOT) * 0.05
    np.testing.assert_allclose(dx, _softmax(X, 1) - target, rtol=1e-5, atol=1e-7)
    x3 = rng.standard_normal((2, 3, 4)).astype(np.float32)
    lab = np.array([[0, 1, 2, 0], [2, 2, 1, 0]], np.float32)
    y, dx = _loss_grad("SoftmaxOutput", x3, lab, multi_output=True, normalization="batch")
    onehot = np.eye(3, dtype=np.float32)[lab.astype(int)].transpose(0, 2, 1)
    np.testing.assert_allclose(y, _softmax(x3, 1), rtol=1e-5)
    # multi_output: MXNet divides by batch * positions for 'batch' and by the positions
    # for 'null' (checked against 1.9.1)
    np.testing.assert_allclose(dx, (_softmax(x3, 1) - onehot) / 8, rtol=1e-5, atol=1e-7)
    _, dx = _loss_grad("SoftmaxOutput", x3, lab, multi_output=True)
    np.testing.assert_allclose(dx, (_softmax(x3, 1) - onehot) / 4, rtol=1e-5, atol=1e-7)
    x3 = x3[:, :, :2]  # preserve_shape: softmax over the last axis, 'batch' counts rows
    lab = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
    y, dx = _loss_grad("SoftmaxOutput", x3, lab, preserve_shape=True, normalization="batch")
    onehot = np.eye(2, dtype=np.float32)[lab.astype(int)]
    np.testing.assert_allclose(y, _softmax(x3, 2), rtol=1e-5)
    np.testing.assert_allclose(dx, (_softmax(x3, 2) - onehot) / 6, rtol=1e-5, atol=1e-7)
    head = rng.uniform(0, 1, (4, 5)).astype(np.float32)
    _, dx = _loss_grad("SoftmaxOutput", X, LABEL, head=head, out_grad=True)
    np.testing.assert_allclose(dx, (_softmax(X, 1) - ONEHOT) * head, rtol=1e-5, atol=1e-7)


def test_softmax_output_shapes_names_and_errors():
    so = get_op("SoftmaxOutput")
    assert get_op("Softmax") is so and so.loss_output
    a = so.parse({})
    assert so.infer_shape(a, [(8, 10), None], []) == ([(8, 10), (8,)], [(8, 10)], [])
    assert so.infer_shape(a, [(2, 3, 4, 5), None], [])[0][1] == (2, 3, 4)
    m = so.parse(dict(multi_output=True))
    assert so.infer_shape(m, [(2, 3, 4, 5), None], [])[0][1] == (2, 20)
    with pytest.raises(MXNetError, match=r"label 5 is out of range for 5 classes"):
        _loss_grad("SoftmaxOutput", X, np.array([0, 5, 1, 1], np.float32))
    with pytest.raises(MXNetError, match="label has shape"):
        so.infer_shape(a, [(8, 10), (7,)], [])


# ---------------------------------------------------------------- regression ---------
REG_X = rng.standard_normal((4, 3)).astype(np.float32)
REG_L = rng.standard_normal((4, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "op,link,dloss",
    [
        ("LinearRegressionOutput", lambda x: x, lambda d: d),
        ("LogisticRegressionOutput", lambda x: 1 / (1 + np.exp(-x)), lambda d: d),
        ("MAERegressionOutput", lambda x: x, np.sign),
    ],
)
def test_regression_outputs(op, link, dloss):
    y, dx = _loss_grad(op, REG_X, REG_L, head=np.full((4, 3), 5.0), grad_scale=2.0)
    np.testing.assert_allclose(y, link(REG_X), rtol=1e-6)
    # gradient scaled by grad_scale over the outputs per sample, as MXNet
    np.testing.assert_allclose(dx, dloss(link(REG_X) - REG_L) * 2.0 / 3, rtol=1e-5, atol=1e-7)
    reg = get_op(op)
    a = reg.parse({})
    assert reg.infer_shape(a, [(4, 3), None], []) == ([(4, 3), (4, 3)], [(4, 3)], [])
    assert reg.infer_shape(a, [(4, 1), None], [])[0][1] == (4,)


def test_regression_accepts_flat_label_for_one_output():
    x = rng.standard_normal((4, 1)).astype(np.float32)
    lab = rng.standard_normal(4).astype(np.float32)
    _, dx = _loss_grad("LinearRegressionOutput", x, lab)
    np.testing.assert_allclose(dx.ravel(), x.ravel() - lab, rtol=1e-6)


# ---------------------------------------------------------------- MakeLoss -----------
@pytest.mark.parametrize("norm,value", [("null", 3.0), ("batch", 1.5), ("valid", 1.0)])
def test_make_loss_gradient_ignores_head(norm, value):
    d = np.array([[0.5, -1, 2], [0, 3, 0.1]], np.float32)  # 3 entries above 0.2
    data = nd.array(d)
    data.attach_grad()
    with mx.autograd.record():
        y = nd.MakeLoss(data * 1, grad_scale=3.0, normalization=norm, valid_thresh=0.2)
    y.backward(nd.full((2, 3), 7.0))
    np.testing.assert_array_equal(y.asnumpy(), d)
    np.testing.assert_allclose(data.grad.asnumpy(), np.full((2, 3), value))


def test_make_loss_function_gives_ones():
    data = nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    data.attach_grad()
    with mx.autograd.record():
        y = nd.make_loss(data * 2)
    y.backward(nd.full((2, 3), 7.0))
    np.testing.assert_allclose(data.grad.asnumpy(), np.full((2, 3), 2.0))
    assert get_op("make_loss").output_names({}) == ("loss",)


# ---------------------------------------------------------------- cross entropy ------
def _sce_ref(x, label):
    p = _softmax(x.astype(np.float64), 1)
    return np.array([-np.log(p[np.arange(len(label)), label.astype(int)]).sum()])


def test_softmax_cross_entropy():
    run_case(
        OpCase(
            "softmax_cross_entropy",
            [X, LABEL],
            ref=_sce_ref,
            wrt=[0],
            id="softmax_cross_entropy",
            rtol=1e-5,
        )
    )
    case = "softmax_cross_entropy"
    y, dx = _loss_grad(case, _DATA[f"{case}:x"], _DATA[f"{case}:label"])
    assert y.shape == (1,)
    np.testing.assert_allclose(y, _DATA[f"{case}:y"], rtol=1e-5)
    np.testing.assert_allclose(dx, _DATA[f"{case}:dx"], rtol=1e-5, atol=1e-7)
    with pytest.raises(MXNetError, match="label"):
        nd.softmax_cross_entropy(nd.array(X), nd.array([0, 1]))


def test_softmax_output_with_probability_labels_shaped_like_the_data():
    # MXNet 1.9.1: a label shaped like the data is a per-class probability (one-hot or soft);
    # gradient grad_scale * (softmax - label), not divided by the batch (values from MXNet)
    x = mx.nd.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
    label = mx.nd.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    x.attach_grad()
    with mx.autograd.record():
        out = mx.nd.SoftmaxOutput(x, label, normalization="batch", grad_scale=2)
    out.backward()
    np.testing.assert_allclose(
        out.asnumpy(),
        [[0.09003057, 0.24472848, 0.66524094], [0.66524094, 0.24472848, 0.09003057]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        x.grad.asnumpy(),
        [[-0.21993886, -0.11054307, 0.3304819], [-0.6695181, 0.48945695, 0.18006115]],
        rtol=1e-5,
    )
    sym = mx.sym.SoftmaxOutput(mx.sym.var("d"), mx.sym.var("l"))
    assert sym.infer_shape(d=(2, 3), l=(2, 3))[0] == [(2, 3), (2, 3)]
