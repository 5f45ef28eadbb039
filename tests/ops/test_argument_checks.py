"""Argument checks and shape rules distnet shares with MXNet 1.9.1 (checked against it):
creation shapes, depth_to_space/space_to_depth, Pooling's 'same' convention, prelu's gamma."""

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError


@pytest.mark.parametrize("fn", [mx.nd.zeros, mx.nd.ones, lambda s: mx.nd.full(s, 2.0)])
def test_creation_rejects_scalar_zero_size_and_negative_shapes(fn):
    for shape in [(), (0, 1, 3, 0), (2, 0)]:
        with pytest.raises(MXNetError, match=r"scalar or zero-size.*np_shape"):
            fn(shape)
    with pytest.raises(MXNetError, match=r"shape \(-1, 2\) has a negative size"):
        fn((-1, 2))
    with mx.util.np_shape():
        assert fn(()).shape == ()
        assert fn((0, 1, 0, 4)).shape == (0, 1, 0, 4)
    assert fn((2, 3)).shape == (2, 3)
    assert mx.nd.empty(()).shape == ()  # MXNet's empty takes any shape


def test_depth_space_reject_zero_dims_and_bad_blocks():
    x = mx.nd.ones((1, 8, 2, 3))
    assert mx.nd.depth_to_space(x, 2).shape == (1, 2, 4, 6)
    with pytest.raises(MXNetError, match="multiple of block_size\\^2=9"):
        mx.nd.depth_to_space(x, 3)
    with pytest.raises(MXNetError, match="block_size must be positive"):
        mx.nd.depth_to_space(x, 0)
    with pytest.raises(MXNetError, match=r"no dimension of the data may be 0, got \(1, 4, 0, 3\)"):
        mx.nd.depth_to_space(mx.nd.array(np.ones((1, 4, 0, 3))), 2)
    y = mx.nd.ones((1, 2, 4, 6))
    assert mx.nd.space_to_depth(y, 2).shape == (1, 8, 2, 3)
    with pytest.raises(MXNetError, match="multiples of block_size=3"):
        mx.nd.space_to_depth(y, 3)
    with pytest.raises(MXNetError, match="no dimension of the data may be 0"):
        mx.nd.space_to_depth(mx.nd.array(np.ones((1, 4, 0, 4))), 2)


def test_pooling_same_convention_and_long_pad():
    x = np.random.rand(1, 1, 10).astype(np.float32)
    out = mx.nd.Pooling(
        mx.nd.array(x),
        kernel=2,
        stride=2,
        pad=(0, 0, 0),
        pool_type="max",
        pooling_convention="same",
    )
    np.testing.assert_array_equal(out.asnumpy(), x.reshape(1, 1, 5, 2).max(axis=3))
    with pytest.raises(MXNetError, match="'same' pads by itself, so pad must be 0"):
        mx.nd.Pooling(mx.nd.array(x), kernel=2, stride=2, pad=2, pooling_convention="same")
    # MXNet reads the first entries of a longer pad: (10 + 2 - 2) // 2 + 1 == 6
    assert mx.nd.Pooling(mx.nd.array(x), kernel=2, stride=2, pad=(1, 1, 1)).shape == (1, 1, 6)
    with pytest.raises(MXNetError, match="must have 2 entries like kernel"):
        mx.nd.Pooling(mx.nd.ones((1, 1, 4, 4)), kernel=(2, 2), stride=(2,))


@pytest.mark.parametrize(
    "xshape, gshape, view",
    [
        ((3, 4), (4,), (1, 4)),
        ((3, 4, 4, 5), (4,), (1, 4, 1, 1)),
        ((3, 4), (3, 4), (3, 4)),
        ((3, 4, 4, 5), (3, 4), (3, 4, 1, 1)),
        ((3, 4, 5), (1,), (1, 1, 1)),
    ],
)
def test_prelu_gamma_broadcasts_as_mxnet(xshape, gshape, view):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, xshape).astype(np.float32)
    g = rng.uniform(0, 1, gshape).astype(np.float32)
    xs, gs = mx.sym.var("x"), mx.sym.var("gamma")
    exe = mx.sym.LeakyReLU(xs, gamma=gs, act_type="prelu").simple_bind(
        mx.cpu(), x=xshape, gamma=gshape
    )
    out = exe.forward(is_train=True, x=mx.nd.array(x), gamma=mx.nd.array(g))[0]
    gv = g.reshape(view)
    np.testing.assert_allclose(out.asnumpy(), np.where(x > 0, x, x * gv), rtol=1e-6)
    exe.backward(mx.nd.ones(xshape))
    dgamma = np.where(x > 0, 0, x)
    axes = tuple(i for i, n in enumerate(view) if n == 1 and xshape[i] != 1)
    want = dgamma.sum(axis=axes, keepdims=True).reshape(gshape) if axes else dgamma
    np.testing.assert_allclose(exe.grad_dict["gamma"].asnumpy(), want.reshape(gshape), rtol=1e-5)


def test_prelu_rejects_gamma_that_does_not_broadcast():
    with pytest.raises(MXNetError, match=r"gamma has shape \(4, 5\)"):
        mx.nd.LeakyReLU(mx.nd.ones((3, 4, 5)), mx.nd.ones((4, 5)), act_type="prelu")
