"""FullyConnected, activations, Dropout, Embedding and the normalisation operators:
numpy references, numerical gradients and MXNet 1.9.1 fixture values."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.ops.registry import get_op

from .harness import OpCase, run_case

rng = np.random.default_rng(11)
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "mxnet"
_SPEC = json.loads((FIX / "ops.json").read_text())
_DATA = np.load(FIX / "ops.npz")


def _r(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def _fx(case, key):
    return _DATA[f"{case}:{key}"]


def _grads(fn, arrays, head=None):
    """Output and input gradients of ``fn(*arrays)`` through autograd."""
    arrays = [nd.array(a) for a in arrays]
    for a in arrays:
        a.attach_grad()
    with mx.autograd.record():
        out = fn(*arrays)
    first = out[0] if isinstance(out, list) else out
    first.backward(None if head is None else nd.array(head))
    return out, [a.grad.asnumpy() for a in arrays]


# ---------------------------------------------------------------- FullyConnected -----
X3 = _r(2, 3, 4)
CASES = [
    OpCase(
        "FullyConnected",
        [X3, _r(5, 12), _r(5)],
        dict(num_hidden=5),
        ref=lambda x, w, b: x.reshape(2, 12) @ w.T + b,
        id="fc_flatten",
    ),
    OpCase(
        "FullyConnected",
        [X3, _r(5, 4), _r(5)],
        dict(num_hidden=5, flatten=False),
        ref=lambda x, w, b: x @ w.T + b,
        id="fc_no_flatten",
    ),
    OpCase(
        "FullyConnected",
        [_r(3, 4), _r(2, 4)],
        dict(num_hidden=2, no_bias=True),
        ref=lambda x, w: x @ w.T,
        id="fc_no_bias",
    ),
]


def test_fully_connected_infer_shape_and_errors():
    fc = get_op("FullyConnected")
    a = fc.parse(dict(num_hidden=7))
    assert fc.infer_shape(a, [(8, 3, 4), None, None], []) == (
        [(8, 3, 4), (7, 12), (7,)],
        [(8, 7)],
        [],
    )
    b = fc.parse(dict(num_hidden=7, flatten=False, no_bias=True))
    assert fc.input_names(b) == ("data", "weight")
    assert fc.infer_shape(b, [(8, 3, 4), None], []) == ([(8, 3, 4), (7, 4)], [(8, 3, 7)], [])
    with pytest.raises(MXNetError, match=r"weight has shape \(7, 5\), expected \(7, 12\)"):
        fc.infer_shape(a, [(8, 3, 4), (7, 5), None], [])
    with pytest.raises(MXNetError, match="weight has shape"):
        nd.FullyConnected(nd.ones((2, 3)), nd.ones((4, 2)), nd.ones((4,)), num_hidden=4)


@pytest.mark.parametrize("case", ["fc_flatten_true", "fc_flatten_false"])
def test_fully_connected_matches_mxnet(case):
    y = nd.FullyConnected(
        nd.array(_fx(case, "x")),
        nd.array(_fx(case, "w")),
        nd.array(_fx(case, "b")),
        **_SPEC[case]["attrs"],
    )
    np.testing.assert_allclose(y.asnumpy(), _fx(case, "y"), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- activations --------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTS = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softrelu": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
}
CASES += [
    OpCase("Activation", [_r(3, 4)], dict(act_type=k), ref=f, id=f"act_{k}")
    for k, f in ACTS.items()
]

_SELU_L, _SELU_A = 1.0507009873554805, 1.6732632423543772
_erf = np.vectorize(math.erf)
LEAKY = {
    "leaky": (dict(slope=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "elu": (dict(slope=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    "selu": ({}, lambda x: _SELU_L * np.where(x > 0, x, _SELU_A * np.expm1(x))),
    "gelu": ({}, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
}
CASES += [
    OpCase("LeakyReLU", [_r(3, 4) * 2], dict(act_type=k, **kw), ref=f, id=f"leaky_{k}")
    for k, (kw, f) in LEAKY.items()
]
CASES.append(
    OpCase(
        "LeakyReLU",
        [_r(2, 3, 4), _r(3, low=0.1, high=0.5)],
        dict(act_type="prelu"),
        id="leaky_prelu",
        ref=lambda x, g: np.where(x > 0, x, g.reshape(1, 3, 1) * x),
    )
)
CASES.append(
    OpCase(
        "LeakyReLU",
        [_r(3, 4)],
        dict(act_type="rrelu", lower_bound=0.1, upper_bound=0.3),
        ref=lambda x: (np.where(x > 0, x, 0.2 * x), np.full((3, 4), 0.2)),
        grad=False,
        id="leaky_rrelu_predict",
    )
)
CASES += [
    OpCase(
        "SoftmaxActivation",
        [_r(2, 3, 4)],
        dict(mode=m),
        id=f"softmax_act_{m}",
        ref=lambda x, ax=ax: np.exp(x) / np.exp(x).sum(axis=ax, keepdims=True),
    )
    for m, ax in (("instance", -1), ("channel", 1))
]


@pytest.mark.parametrize("case", [c for c in _SPEC if c.startswith(("activation_", "leakyrelu_"))])
def test_activations_match_mxnet(case):
    spec = _SPEC[case]
    if "rrelu" in case:  # recorded outside autograd.record: the mean slope
        out, mask = nd.LeakyReLU(nd.array(_fx(case, "x")), **spec["attrs"])
        np.testing.assert_allclose(out.asnumpy(), _fx(case, "y"), rtol=1e-6)
        return
    ins = [_fx(case, "x")] + ([_fx(case, "gamma")] if "prelu" in case else [])
    out, grads = _grads(
        lambda *a: (
            nd.LeakyReLU(*a, **spec["attrs"])
            if "leaky" in case
            else nd.Activation(*a, **spec["attrs"])
        ),
        ins,
    )
    np.testing.assert_allclose(out.asnumpy(), _fx(case, "y"), rtol=1e-5, atol=1e-6)
    x = _fx(case, "x").astype(np.float64)
    if case == "leakyrelu_selu":
        # MXNet 1.9.1 differentiates selu as lambda*(y + alpha) for x < 0; the derivative
        # is lambda*alpha*exp(x), which distnet uses (see LeakyReLU's docstring)
        y = _fx(case, "y").astype(np.float64)
        mxnet_bug = np.where(x > 0, _SELU_L, _SELU_L * (y + _SELU_A))
        np.testing.assert_allclose(_fx(case, "dx"), mxnet_bug, rtol=1e-5)
        true = np.where(x > 0, _SELU_L, _SELU_L * _SELU_A * np.exp(x))
        np.testing.assert_allclose(grads[0], true, rtol=1e-5)
    elif f"{case}:dx" in _DATA.files:
        np.testing.assert_allclose(grads[0], _fx(case, "dx"), rtol=1e-5, atol=1e-6)
    if "prelu" in case:
        np.testing.assert_allclose(grads[1], _fx(case, "dgamma"), rtol=1e-5, atol=1e-6)


def test_rrelu_training_draws_slopes_and_outputs_them():
    mx.random.seed(3)
    x = nd.array(-np.ones((4, 50), np.float32))
    x.attach_grad()
    with mx.autograd.record(train_mode=True):
        out, mask = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    m = mask.asnumpy()
    assert 0.1 <= m.min() and m.max() <= 0.3 and m.std() > 0.03
    np.testing.assert_allclose(out.asnumpy(), -m, rtol=1e-6)
    out.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), m, rtol=1e-6)
    leaky = get_op("LeakyReLU")
    assert leaky.output_names(leaky.parse(dict(act_type="rrelu"))) == ("output", "mask")
    assert leaky.input_names(leaky.parse(dict(act_type="prelu"))) == ("data", "gamma")
    assert leaky.input_names(leaky.parse({})) == ("data",)
    a = leaky.parse(dict(act_type="prelu"))
    assert leaky.infer_shape(a, [(2, 5, 3), None], [])[0] == [(2, 5, 3), (5,)]


# ---------------------------------------------------------------- Dropout -------------
def test_dropout_training_masks_and_scales():
    mx.random.seed(0)
    x = nd.ones((200, 100))
    x.attach_grad()
    with mx.autograd.record():
        y = nd.Dropout(x, p=0.3)
    v = y.asnumpy()
    assert set(np.unique(v)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((v == 0).mean() - 0.3) < 0.02  # 20,000 draws: 5 sigma is 0.016
    assert abs(v.mean() - 1.0) < 0.03
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), v)  # gradient is the scaled mask


def test_dropout_axes_share_the_mask():
    mx.random.seed(1)
    with mx.autograd.train_mode():
        v = nd.Dropout(nd.ones((50, 3, 40)), p=0.5, axes=(1,)).asnumpy()
    assert (v == v[:, :1, :]).all()
    assert 0.4 < (v[:, 0, :] == 0).mean() < 0.6


def test_dropout_identity_outside_training():
    x = _r(3, 4)
    np.testing.assert_array_equal(nd.Dropout(nd.array(x), p=0.5).asnumpy(), x)
    with mx.autograd.record(train_mode=False):
        y = nd.Dropout(nd.array(x), p=0.5)
    np.testing.assert_array_equal(y.asnumpy(), x)
    mx.random.seed(2)
    always = nd.Dropout(nd.ones((100, 100)), p=0.5, mode="always").asnumpy()
    assert 0.45 < (always == 0).mean() < 0.55
    with mx.autograd.train_mode():
        np.testing.assert_array_equal(nd.Dropout(nd.array(x), p=0.0).asnumpy(), x)


# ---------------------------------------------------------------- Embedding -----------
def test_embedding_forward_backward_and_inference():
    w = _r(6, 3)
    idx = np.array([[0, 5], [2, 2], [1.7, -1]], np.float32)
    data, weight = nd.array(idx), nd.array(w)
    weight.attach_grad()
    head = _r(3, 2, 3)
    with mx.autograd.record():
        y = nd.Embedding(data, weight, input_dim=6, output_dim=3)
    y.backward(nd.array(head))
    rows = np.array([[0, 5], [2, 2], [1, 0]])  # truncated and clipped as MXNet
    np.testing.assert_allclose(y.asnumpy(), w[rows])
    want = np.zeros((6, 3), np.float32)
    np.add.at(want, rows.ravel(), head.reshape(-1, 3))
    np.testing.assert_allclose(weight.grad.asnumpy(), want, rtol=1e-6)
    emb = get_op("Embedding")
    a = emb.parse(dict(input_dim=5, output_dim=3))
    assert emb.infer_shape(a, [(2, 4), None], []) == ([(2, 4), (5, 3)], [(2, 4, 3)], [])
    assert emb.infer_type(a, [np.dtype("int32"), None], []) == (
        [np.dtype("int32"), np.dtype("float32")],
        [np.dtype("float32")],
        [],
    )


def test_embedding_matches_mxnet():
    case = "embedding"
    out, grads = _grads(
        lambda d, w: nd.Embedding(d, w, **_SPEC[case]["attrs"]),
        [_fx(case, "data"), _fx(case, "weight")],
        _fx(case, "head_grad"),
    )
    np.testing.assert_allclose(out.asnumpy(), _fx(case, "y"))
    np.testing.assert_allclose(grads[1], _fx(case, "dweight"), rtol=1e-6)


# ---------------------------------------------------------------- normalisation ------
def _bn_ref(x, gamma, beta, axis=1, eps=1e-3):
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(
        shape
    ) + beta.reshape(shape)


BN_X, BN_G, BN_B = _r(4, 3, 2, 2), _r(3, low=0.5, high=1.5), _r(3)
MM, MV = _r(3), _r(3, low=0.5, high=2.0)
CASES += [
    OpCase(
        "BatchNorm",
        [BN_X, BN_G, BN_B, MM, MV],
        dict(fix_gamma=False),
        train=True,
        n_aux=2,
        id="bn_train",
        ref=lambda x, g, b, m, v: _bn_ref(x, g, b),
        rtol=1e-4,
    ),
    OpCase(
        "BatchNorm",
        [BN_X, BN_G, BN_B, MM, MV],
        dict(fix_gamma=True),
        train=True,
        n_aux=2,
        id="bn_train_fix_gamma",
        wrt=[0, 2],
        rtol=1e-4,
        ref=lambda x, g, b, m, v: _bn_ref(x, np.ones(3, np.float32), b),
    ),
    OpCase(
        "BatchNorm",
        [_r(3, 4, 2), _r(2), _r(2), MM[:2], MV[:2]],
        dict(fix_gamma=False, axis=-1),
        train=True,
        n_aux=2,
        id="bn_train_axis_last",
        ref=lambda x, g, b, m, v: _bn_ref(x, g, b, axis=2),
        rtol=1e-4,
    ),
    OpCase(
        "BatchNorm",
        [BN_X, BN_G, BN_B, MM, MV],
        dict(fix_gamma=False),
        n_aux=2,
        id="bn_inference",
        ref=lambda x, g, b, m, v: (
            (x - m.reshape(1, 3, 1, 1))
            / np.sqrt(v.reshape(1, 3, 1, 1) + 1e-3)
            * g.reshape(1, 3, 1, 1)
            + b.reshape(1, 3, 1, 1)
        ),
    ),
    OpCase(
        "BatchNorm",
        [BN_X, BN_G, BN_B, MM, MV],
        dict(fix_gamma=False, use_global_stats=True),
        train=True,
        n_aux=2,
        id="bn_global_stats",
        ref=lambda x, g, b, m, v: (
            (x - m.reshape(1, 3, 1, 1))
            / np.sqrt(v.reshape(1, 3, 1, 1) + 1e-3)
            * g.reshape(1, 3, 1, 1)
            + b.reshape(1, 3, 1, 1)
        ),
    ),
]


def test_batchnorm_updates_moving_stats_in_backward():
    x = nd.array(BN_X)
    gamma, beta = nd.array(BN_G), nd.array(BN_B)
    mm, mv = nd.array(MM), nd.array(MV)
    x.attach_grad()
    with mx.autograd.record():
        y = nd.BatchNorm(x, gamma, beta, mm, mv, momentum=0.8, fix_gamma=False)
    np.testing.assert_array_equal(mm.asnumpy(), MM)  # forward alone leaves them (MXNet)
    y.backward()
    mean, var = BN_X.mean(axis=(0, 2, 3)), BN_X.var(axis=(0, 2, 3))  # biased variance
    np.testing.assert_allclose(mm.asnumpy(), MM * 0.8 + mean * 0.2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv.asnumpy(), MV * 0.8 + var * 0.2, rtol=1e-5, atol=1e-6)
    with mx.autograd.record(train_mode=False):
        y2 = nd.BatchNorm(x, gamma, beta, mm, mv, fix_gamma=False)
    y2.backward()
    np.testing.assert_allclose(mm.asnumpy(), MM * 0.8 + mean * 0.2, rtol=1e-5, atol=1e-6)


def test_batchnorm_output_mean_var_and_shapes():
    outs = nd.BatchNorm(
        nd.array(BN_X),
        nd.array(BN_G),
        nd.array(BN_B),
        nd.array(MM),
        nd.array(MV),
        output_mean_var=True,
    )
    assert len(outs) == 3
    np.testing.assert_allclose(outs[1].asnumpy(), MM)
    np.testing.assert_allclose(outs[2].asnumpy(), 1 / np.sqrt(MV + 1e-3), rtol=1e-6)
    bn = get_op("BatchNorm")
    a = bn.parse({})
    assert (a["eps"], a["momentum"], a["fix_gamma"]) == (1e-3, 0.9, True)
    assert bn.infer_shape(a, [(2, 5, 3), None, None], [None, None]) == (
        [(2, 5, 3), (5,), (5,)],
        [(2, 5, 3)],
        [(5,), (5,)],
    )
    assert bn.output_names(bn.parse(dict(output_mean_var=True))) == ("output", "mean", "var")
    with pytest.raises(MXNetError, match=r"gamma has shape \(4,\), expected \(3,\)"):
        nd.BatchNorm(nd.array(BN_X), nd.ones((4,)), nd.array(BN_B), nd.array(MM), nd.array(MV))


@pytest.mark.parametrize("case", ["batchnorm_fixgamma0", "batchnorm_fixgamma1"])
def test_batchnorm_matches_mxnet(case):
    attrs = _SPEC[case]["attrs"]
    x, gamma, beta = (nd.array(_fx(case, k)) for k in ("x", "gamma", "beta"))
    mm, mv = nd.array(_fx(case, "mm0")), nd.array(_fx(case, "mv0"))
    y_infer = nd.BatchNorm(x, gamma, beta, mm, mv, **attrs)
    np.testing.assert_allclose(y_infer.asnumpy(), _fx(case, "y_infer"), rtol=1e-5, atol=1e-5)
    for arr in (x, gamma, beta):
        arr.attach_grad()
    with mx.autograd.record():
        y = nd.BatchNorm(x, gamma, beta, mm, mv, **attrs)
    y.backward(nd.array(_fx(case, "head_grad")))
    np.testing.assert_allclose(y.asnumpy(), _fx(case, "y_train"), rtol=1e-5, atol=1e-5)
    for arr, key in (
        (mm, "mm_after"),
        (mv, "mv_after"),
        (x.grad, "dx"),
        (gamma.grad, "dgamma"),
        (beta.grad, "dbeta"),
    ):
        np.testing.assert_allclose(arr.asnumpy(), _fx(case, key), rtol=1e-4, atol=1e-5, err_msg=key)


def test_batchnorm_global_stats_and_axis_match_mxnet():
    case = "batchnorm_fixgamma0"
    args = [nd.array(_fx(case, k)) for k in ("x", "gamma", "beta", "mm0", "mv0")]
    with mx.autograd.train_mode():
        y = nd.BatchNorm(*args, **_SPEC["batchnorm_global_stats"]["attrs"])
    np.testing.assert_allclose(
        y.asnumpy(), _fx("batchnorm_global_stats", "y"), rtol=1e-5, atol=1e-5
    )
    case = "batchnorm_axis_last"
    x = nd.array(_fx(case, "x"))
    mm, mv = nd.zeros((3,)), nd.ones((3,))
    x.attach_grad()
    with mx.autograd.record():
        y = nd.BatchNorm(x, nd.ones((3,)), nd.zeros((3,)), mm, mv, **_SPEC[case]["attrs"])
    np.testing.assert_allclose(y.asnumpy(), _fx(case, "y"), rtol=1e-5, atol=1e-5)
    # MXNet's fixture ran no backward: the moving statistics are still the initial ones
    np.testing.assert_allclose(mm.asnumpy(), _fx(case, "mm_after"), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv.asnumpy(), _fx(case, "mv_after"), rtol=1e-5, atol=1e-6)
    y.backward()
    xv = _fx(case, "x")
    np.testing.assert_allclose(mm.asnumpy(), 0.1 * xv.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv.asnumpy(), 0.9 + 0.1 * xv.var(axis=(0, 1)), rtol=1e-5)


def _layernorm_ref(x, g, b, axis=-1, eps=1e-5):
    shape = [1] * x.ndim
    shape[axis] = -1
    mean = x.mean(axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axis, keepdims=True) + eps) * g.reshape(
        shape
    ) + b.reshape(shape)


def _instnorm_ref(x, g, b, eps=1e-3):
    axes = tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
        x.var(axis=axes, keepdims=True) + eps
    ) * g.reshape(shape) + b.reshape(shape)


CASES += [
    OpCase(
        "LayerNorm", [_r(2, 3, 4), _r(4), _r(4)], {}, ref=_layernorm_ref, id="layernorm", rtol=1e-4
    ),
    OpCase(
        "LayerNorm",
        [_r(2, 3, 4), _r(3), _r(3)],
        dict(axis=1),
        rtol=1e-4,
        ref=lambda x, g, b: _layernorm_ref(x, g, b, axis=1),
        id="layernorm_axis1",
    ),
    OpCase(
        "InstanceNorm",
        [_r(2, 3, 4), _r(3), _r(3)],
        {},
        ref=_instnorm_ref,
        id="instancenorm",
        rtol=1e-4,
    ),
    OpCase(
        "InstanceNorm",
        [_r(2, 2, 3, 2), _r(2), _r(2)],
        dict(eps=1e-2),
        rtol=1e-4,
        ref=lambda x, g, b: _instnorm_ref(x, g, b, 1e-2),
        id="instancenorm_2d",
    ),
]
for _mode, _axes in (("instance", (1, 2, 3)), ("channel", (1,)), ("spatial", (2, 3))):
    CASES.append(
        OpCase(
            "L2Normalization",
            [_r(2, 3, 2, 2)],
            dict(mode=_mode),
            id=f"l2norm_{_mode}",
            ref=lambda x, ax=_axes: x / np.sqrt((x * x).sum(axis=ax, keepdims=True) + 1e-10),
        )
    )


def _groupnorm_ref(x, g, b, groups, eps=1e-5):
    xg = x.reshape(x.shape[0], groups, -1)
    mean, var = xg.mean(-1, keepdims=True), xg.var(-1, keepdims=True)
    y = (xg - mean) / np.sqrt(var + eps) * g.reshape(1, -1, 1) + b.reshape(1, -1, 1)
    return y.reshape(x.shape), mean[..., 0], np.sqrt(var[..., 0] + eps)


def _lrn_ref(x, nsize, alpha=1e-4, beta=0.75, knorm=2.0):
    half = (nsize - 1) // 2
    sq = np.pad(x.astype(np.float64) ** 2, [(0, 0), (half, nsize - 1 - half), (0, 0)])
    s = sum(sq[:, k : k + x.shape[1]] for k in range(nsize))
    return x / (knorm + alpha / nsize * s) ** beta


CASES += [
    # gamma/beta hold one value per group, as MXNet 1.9.1 (values checked against it)
    OpCase(
        "GroupNorm",
        [_r(2, 6, 3), _r(2), _r(2)],
        dict(num_groups=2),
        rtol=1e-4,
        ref=lambda x, g, b: _groupnorm_ref(x, g, b, 2)[0],
        id="groupnorm",
    ),
    OpCase(
        "GroupNorm",
        [_r(2, 4, 2, 2), _r(4), _r(4)],
        dict(num_groups=4, output_mean_var=True, eps=1e-3),
        grad=False,
        rtol=1e-4,
        ref=lambda x, g, b: _groupnorm_ref(x, g, b, 4, 1e-3),
        id="groupnorm_mean_std",
    ),
    OpCase(
        "LRN",
        [_r(2, 5, 3)],
        dict(nsize=3, alpha=0.1, beta=0.75, knorm=2.0),
        ref=lambda x: _lrn_ref(x, 3, 0.1),
        id="lrn",
        rtol=1e-5,
    ),
    OpCase(
        "LRN",
        [_r(1, 6, 2)],
        dict(nsize=4, alpha=0.5, beta=0.5, knorm=1.0),
        ref=lambda x: _lrn_ref(x, 4, 0.5, 0.5, 1.0),
        id="lrn_even_window",
        rtol=1e-5,
    ),
]


@pytest.mark.parametrize("case", ["layernorm", "layernorm_axis1", "instancenorm"])
def test_norms_match_mxnet(case):
    op = "InstanceNorm" if case == "instancenorm" else "LayerNorm"
    out, grads = _grads(
        lambda *a: getattr(nd, op)(*a, **_SPEC[case]["attrs"]),
        [_fx(case, k) for k in ("x", "gamma", "beta")],
    )
    np.testing.assert_allclose(out.asnumpy(), _fx(case, "y"), rtol=1e-5, atol=1e-5)
    if f"{case}:dx" in _DATA.files:
        np.testing.assert_allclose(grads[0], _fx(case, "dx"), rtol=1e-4, atol=1e-5)


def test_layernorm_output_mean_std_and_shapes():
    x = _r(2, 3, 4)
    y, mean, std = nd.LayerNorm(nd.array(x), nd.ones((4,)), nd.zeros((4,)), output_mean_var=True)
    assert mean.shape == (2, 3, 1) and std.shape == (2, 3, 1)
    np.testing.assert_allclose(std.asnumpy(), np.sqrt(x.var(-1, keepdims=True) + 1e-5), rtol=1e-5)
    ln = get_op("LayerNorm")
    assert ln.infer_shape(ln.parse(dict(axis=1)), [(2, 3, 4), None, None], [])[0] == [
        (2, 3, 4),
        (3,),
        (3,),
    ]
    inorm = get_op("InstanceNorm")
    assert inorm.infer_shape(inorm.parse({}), [(2, 5, 4), None, None], [])[0] == [
        (2, 5, 4),
        (5,),
        (5,),
    ]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)
