"""Elementwise, reduction and contrib operators added for MXNet's unit tests, against
MXNet 1.9.1's values and gradients (tests/fixtures/mxnet/ops_extra.npz)."""

import pathlib

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

_FIX = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures/mxnet/ops_extra.npz")

# fixture case, nd function (dotted under nd), attributes, forward tolerance
UNARY = [
    ("smooth_l1", "smooth_l1", dict(scalar=1.5), 1e-6),
    ("gammaln", "gammaln", {}, 1e-5),
    ("gammaln_neg", "gammaln", {}, 1e-5),
    ("gamma", "gamma", {}, 1e-5),
    ("erfinv", "erfinv", {}, 1e-5),
    ("hard_sigmoid", "hard_sigmoid", dict(alpha=0.3, beta=0.4), 1e-6),
    ("div_sqrt_dim", "contrib.div_sqrt_dim", {}, 1e-6),
    ("quadratic", "contrib.quadratic", dict(a=0.5, b=-2.0, c=1.0), 1e-6),
    ("nansum_1", "nansum", dict(axis=1), 1e-6),
    ("nanprod_1", "nanprod", dict(axis=1), 1e-6),
    ("nanprod_0", "nanprod", dict(axis=0, keepdims=True), 1e-6),
]


def _fn(dotted):
    fn = nd
    for part in dotted.split("."):
        fn = getattr(fn, part)
    return fn


@pytest.mark.parametrize("case,name,attrs,rtol", UNARY, ids=[c[0] for c in UNARY])
def test_value_and_gradient_match_mxnet(case, name, attrs, rtol):
    x = nd.array(_FIX[f"{case}/in0"])
    x.attach_grad()
    with mx.autograd.record():
        y = _fn(name)(x, **attrs)
    y.backward(nd.ones_like(y) * 0.5)
    np.testing.assert_allclose(y.asnumpy(), _FIX[f"{case}/out0"], rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), _FIX[f"{case}/grad0"], rtol=1e-4, atol=1e-5)


def test_special_functions_at_known_points():
    x = nd.array([1.0, 2.0, 5.0, 0.5, -1.5], dtype="float64")
    np.testing.assert_allclose(
        nd.gamma(x).asnumpy(), [1, 1, 24, np.sqrt(np.pi), 4 * np.sqrt(np.pi) / 3], rtol=1e-10
    )
    np.testing.assert_allclose(
        nd.erfinv(nd.array([0.0, 0.999])).asnumpy(), [0.0, 2.326753765513524], rtol=1e-5
    )
    assert np.isinf(nd.erfinv(nd.array([1.0])).asnumpy()).all()


def test_moments_match_mxnet():
    x = nd.array(_FIX["moments/in0"])
    x.attach_grad()
    with mx.autograd.record():
        mean, var = nd.moments(x, axes=(0, 2))
        loss = (mean * 2 + var * 3).sum()
    loss.backward()
    np.testing.assert_allclose(mean.asnumpy(), _FIX["moments/out0"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.asnumpy(), _FIX["moments/out1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), _FIX["moments/grad0"], rtol=1e-4, atol=1e-6)
    assert nd.moments(x, axes=1, keepdims=True)[0].shape == (3, 1, 5)


def test_index_copy_matches_mxnet():
    old, new = nd.array(_FIX["index_copy/in0"]), nd.array(_FIX["index_copy/in2"])
    idx = nd.array(_FIX["index_copy/in1"], dtype="int64")
    old.attach_grad()
    new.attach_grad()
    with mx.autograd.record():
        out = nd.contrib.index_copy(old, idx, new)
    out.backward(nd.array(_FIX["index_copy/head"]))
    np.testing.assert_allclose(out.asnumpy(), _FIX["index_copy/out0"], rtol=1e-6)
    np.testing.assert_allclose(old.grad.asnumpy(), _FIX["index_copy/grad0"], rtol=1e-6)
    np.testing.assert_allclose(new.grad.asnumpy(), _FIX["index_copy/grad2"], rtol=1e-6)
    with pytest.raises(MXNetError, match="new_tensor has shape"):
        nd.contrib.index_copy(old, idx, nd.ones((3, 3)))


def test_finiteness_checks():
    x = nd.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    np.testing.assert_array_equal(nd.contrib.isnan(x).asnumpy(), [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(nd.contrib.isinf(x).asnumpy(), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(nd.contrib.isfinite(x).asnumpy(), [1, 0, 0, 0, 1])
    ok = nd.ones((2, 2))
    assert nd.all_finite(ok).asnumpy().tolist() == [1.0]
    assert nd.all_finite(x).dtype == np.float32 and nd.all_finite(x).asnumpy()[0] == 0
    assert nd.multi_all_finite(ok, ok, num_arrays=2).asnumpy()[0] == 1
    assert nd.multi_all_finite(ok, x, num_arrays=2).asnumpy()[0] == 0


def test_allclose_index_array_arange_like():
    a = nd.array([[1, 2, 3], [4, 5, 6]])
    assert nd.contrib.allclose(a, a + 1e-9).asnumpy() == 1
    assert nd.contrib.allclose(a, a + 1).dtype == np.uint8
    assert nd.contrib.allclose(a, a + 1).shape == ()  # MXNet 1.9.1: a 0-d result
    assert nd.contrib.allclose(a, a + 1).asnumpy() == 0
    idx = nd.contrib.index_array(a)
    assert idx.shape == (2, 3, 2) and idx.dtype == np.int64
    np.testing.assert_array_equal(idx.asnumpy()[1], [[1, 0], [1, 1], [1, 2]])
    np.testing.assert_array_equal(
        nd.contrib.index_array(a, axes=(-1,)).asnumpy()[1, :, 0], [0, 1, 2]
    )
    np.testing.assert_array_equal(nd.contrib.arange_like(a).asnumpy(), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(
        nd.contrib.arange_like(a, start=1, step=2, axis=1).asnumpy(), [1, 3, 5]
    )
    np.testing.assert_array_equal(
        nd.contrib.arange_like(nd.ones((4,)), repeat=2).asnumpy(), [0, 0, 1, 1]
    )


def test_contrib_operators_under_mxnet_names():
    x = nd.array([[1.0, np.nan], [4.0, 9.0]])
    for name in (
        "_contrib_isnan",
        "_contrib_isinf",
        "_contrib_isfinite",
        "_contrib_div_sqrt_dim",
        "_contrib_quadratic",
        "_contrib_index_array",
        "_contrib_arange_like",
    ):
        short = name[len("_contrib_") :]
        np.testing.assert_array_equal(
            getattr(nd, name)(x).asnumpy(), getattr(nd.contrib, short)(x).asnumpy()
        )
    assert nd._contrib_allclose(x, x).asscalar() == 1  # NaNs equal by default
    assert nd._contrib_allclose(x, x, equal_nan=False).asscalar() == 0
    out = nd._contrib_index_copy(nd.zeros((3, 2)), nd.array([2]), nd.ones((1, 2)))
    np.testing.assert_array_equal(out.asnumpy(), [[0, 0], [0, 0], [1, 1]])


def test_group_norm_matches_mxnet():
    ins = [nd.array(_FIX[f"group_norm/in{i}"]) for i in range(3)]
    for x in ins:
        x.attach_grad()
    with mx.autograd.record():
        y = nd.GroupNorm(*ins, num_groups=3, eps=1e-4)
    y.backward(nd.array(_FIX["group_norm/head"]))
    np.testing.assert_allclose(y.asnumpy(), _FIX["group_norm/out0"], rtol=1e-4, atol=1e-5)
    for i, x in enumerate(ins):
        np.testing.assert_allclose(
            x.grad.asnumpy(),
            _FIX[f"group_norm/grad{i}"],
            rtol=1e-4,
            atol=1e-4,
            err_msg=f"gradient {i}",
        )
    _, mean, std = nd.GroupNorm(*ins, num_groups=3, eps=1e-4, output_mean_var=True)
    np.testing.assert_allclose(mean.asnumpy(), _FIX["group_norm/out1"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(std.asnumpy(), _FIX["group_norm/out2"], rtol=1e-4)
    s = mx.sym.GroupNorm(mx.sym.var("x"), num_groups=2)
    assert (
        s.list_arguments() == ["x", "groupnorm0_gamma", "groupnorm0_beta"]
        or s.list_arguments()[0] == "x"
    )
    assert s.infer_shape(x=(2, 4, 3, 3))[0] == [(2, 4, 3, 3), (2,), (2,)]
    with pytest.raises(MXNetError, match=r"multiple of num_groups \(3\)"):
        nd.GroupNorm(nd.ones((2, 4, 3)), nd.ones((3,)), nd.ones((3,)), num_groups=3)


RESIZE_POOL = [
    ("resize_ac", "BilinearResize2D", dict(height=8, width=4)),
    ("resize_noac", "BilinearResize2D", dict(height=3, width=10, align_corners=False)),
    ("resize_scale", "BilinearResize2D", dict(scale_height=2.0, scale_width=0.5)),
    ("adaptive_pool", "AdaptiveAvgPooling2D", dict(output_size=(2, 3))),
    ("adaptive_pool1", "AdaptiveAvgPooling2D", {}),
]


@pytest.mark.parametrize("case,fn,attrs", RESIZE_POOL, ids=[c[0] for c in RESIZE_POOL])
def test_resize_and_adaptive_pooling_match_mxnet(case, fn, attrs):
    x = nd.array(_FIX[f"{case}/in0"])
    x.attach_grad()
    with mx.autograd.record():
        y = getattr(nd.contrib, fn)(x, **attrs)
    y.backward(nd.array(_FIX[f"{case}/head"]))
    np.testing.assert_allclose(y.asnumpy(), _FIX[f"{case}/out0"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.asnumpy(), _FIX[f"{case}/grad0"], rtol=1e-5, atol=1e-5)


def test_resize_like_and_names():
    x, like = nd.ones((1, 2, 3, 3)), nd.zeros((1, 1, 6, 5))
    out = nd._contrib_BilinearResize2D(x, like, mode="like")
    assert out.shape == (1, 2, 6, 5)
    np.testing.assert_allclose(out.asnumpy(), 1.0, rtol=1e-6)
    assert nd._contrib_AdaptiveAvgPooling2D(x, output_size=2).shape == (1, 2, 2, 2)
    s = mx.sym.contrib.BilinearResize2D(mx.sym.var("x"), height=3, width=4)
    assert s.list_arguments() == ["x"]
    assert s.infer_shape(x=(1, 2, 5, 7))[1] == [(1, 2, 3, 4)]
    # output sizes of the other modes, as MXNet 1.9.1 gives them
    x = nd.ones((1, 1, 5, 6))
    for mode, shape in (
        ("to_even_down", (4, 6)),
        ("to_even_up", (6, 6)),
        ("to_odd_down", (5, 5)),
        ("to_odd_up", (5, 7)),
    ):
        assert nd.contrib.BilinearResize2D(x, mode=mode).shape[2:] == shape, mode
    assert nd.contrib.BilinearResize2D(x, mode="odd_scale", scale_height=2, scale_width=0.5).shape[
        2:
    ] == (9, 3)
    assert nd.contrib.BilinearResize2D(
        nd.ones((1, 1, 6, 7)), mode="odd_scale", scale_height=0.5, scale_width=3
    ).shape[2:] == (3, 19)
    with pytest.raises(MXNetError, match="mode"):
        nd.contrib.BilinearResize2D(x, mode="simple")
