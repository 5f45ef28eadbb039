"""Operator arguments MXNet's tests use: ``reshape_like(lhs_begin=...)``,
``softmax(length=, use_length=True)``, ``dot(transpose_a/b)`` on N-d inputs,
``squeeze``/``flatten(inplace=True)``. Expected values come from MXNet 1.9.1 (noted)."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError


def test_reshape_like_ranges():
    lhs, rhs = nd.ones((30, 7)), nd.ones((15, 2, 4))
    out = nd.reshape_like(lhs, rhs, lhs_begin=0, lhs_end=1, rhs_begin=0, rhs_end=2)
    assert out.shape == (15, 2, 7)  # MXNet 1.9.1
    assert lhs.reshape_like(rhs, lhs_begin=0, lhs_end=1, rhs_begin=0, rhs_end=2).shape == (15, 2, 7)
    assert nd.reshape_like(nd.ones((2, 12)), nd.ones((3, 4)), lhs_begin=1, rhs_begin=0).shape == (
        2,
        3,
        4,
    )
    assert nd.reshape_like(nd.ones((6,)), nd.ones((2, 3))).shape == (2, 3)
    s = mx.sym.reshape_like(
        mx.sym.var("l"), mx.sym.var("r"), lhs_begin=0, lhs_end=1, rhs_begin=0, rhs_end=2
    )
    assert s.infer_shape(l=(30, 7), r=(15, 2, 4))[1] == [(15, 2, 7)]
    with pytest.raises(MXNetError, match="reshape_like"):
        nd.reshape_like(lhs, rhs, lhs_begin=0, lhs_end=1, rhs_begin=1, rhs_end=3)


def test_softmax_with_length_matches_mxnet():
    x = nd.array([[1, 2, 3, 4], [1, 1, 1, 1]])
    x.attach_grad()
    with mx.autograd.record():
        y = nd.softmax(x, nd.array([2, 3], dtype="int32"), use_length=True, axis=-1)
    y.backward(nd.array([[1, 2, 3, 4], [4, 3, 2, 1]]))
    np.testing.assert_allclose(
        y.asnumpy(), [[0.26894143, 0.7310586, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0]], rtol=1e-6
    )
    np.testing.assert_allclose(
        x.grad.asnumpy(), [[-0.19661194, 0.19661193, 0, 0], [1 / 3, 0, -1 / 3, 0]], atol=1e-6
    )
    y0 = nd.softmax(
        nd.ones((3, 2)), length=nd.array([1, 2], dtype="int32"), use_length=True, axis=0
    )
    np.testing.assert_allclose(y0.asnumpy(), [[1, 0.5], [0, 0.5], [0, 0]])
    s = mx.sym.softmax(mx.sym.var("d"), mx.sym.var("l"), use_length=True)
    assert s.list_arguments() == ["d", "l"]
    assert mx.sym.softmax(mx.sym.var("d")).list_arguments() == ["d"]


@pytest.mark.parametrize(
    "lshape,rshape,ta,tb,out",
    [
        ((3, 2, 4), (3, 5), True, False, (2, 4, 5)),
        ((2, 3), (4, 5, 3), False, True, (2, 4, 5)),
        ((3, 2, 4), (5, 3), True, True, (2, 4, 5)),
        ((2, 3, 4), (4, 5), False, False, (2, 3, 5)),
    ],
)
def test_dot_transposes_nd_inputs_as_2d_views(lshape, rshape, ta, tb, out):
    rng = np.random.RandomState(0)
    l, r = rng.randn(*lshape), rng.randn(*rshape)
    lm = l.reshape(l.shape[0], -1).T if ta else l.reshape(-1, l.shape[-1])
    rm = r.reshape(-1, r.shape[-1]).T if tb else r.reshape(r.shape[0], -1)
    a, b = nd.array(l, dtype="float64"), nd.array(r, dtype="float64")
    a.attach_grad()
    b.attach_grad()
    head = rng.randn(*out)
    with mx.autograd.record():
        y = nd.dot(a, b, transpose_a=ta, transpose_b=tb)
    y.backward(nd.array(head, dtype="float64"))
    assert y.shape == out
    np.testing.assert_allclose(y.asnumpy(), (lm @ rm).reshape(out), rtol=1e-10)
    g2 = head.reshape(lm.shape[0], rm.shape[1])
    gl, gr = g2 @ rm.T, lm.T @ g2
    np.testing.assert_allclose(a.grad.asnumpy(), (gl.T if ta else gl).reshape(lshape))
    np.testing.assert_allclose(b.grad.asnumpy(), (gr.T if tb else gr).reshape(rshape))
    s = mx.sym.dot(mx.sym.var("l"), mx.sym.var("r"), transpose_a=ta, transpose_b=tb)
    assert s.infer_shape(l=lshape, r=rshape)[1] == [out]


def test_dot_mismatch_is_a_clear_error():
    with pytest.raises(MXNetError, match=r"dot: shapes \(2, 3\) and \(4, 5\)"):
        nd.dot(nd.ones((2, 3)), nd.ones((4, 5)))


def test_squeeze_and_flatten_inplace_share_memory():
    x = nd.ones((2, 1, 3))
    v = x.squeeze(inplace=True)
    assert v.shape == (2, 3)
    v[:] = 5
    assert x.asnumpy().sum() == 30  # a view, as MXNet's inplace=True
    f = x.flatten(inplace=True)
    assert f.shape == (2, 3)
    f[:] = 1
    assert x.asnumpy().sum() == 6
    c, q = x.flatten(), x.squeeze()
    c[:] = 9
    q[:] = 9
    assert x.asnumpy().sum() == 6  # without inplace: copies
    assert x.squeeze(axis=1).shape == (2, 3)
    assert nd.ones((1, 1)).squeeze(inplace=True).shape == (1,)
