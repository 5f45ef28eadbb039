"""batch_take, onehot_encode, fill_element_0index, ravel_multi_index, unravel_index and
histogram; expected values are MXNet 1.9.1's for the same calls."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError


def test_batch_take_and_gradient():
    a = nd.array([[1, 2], [3, 4], [5, 6]])
    a.attach_grad()
    with mx.autograd.record():
        out = nd.batch_take(a, nd.array([1, 0, 1], dtype="int32"))
    out.backward(nd.array([10, 20, 30]))
    assert out.asnumpy().tolist() == [2, 3, 6]
    assert a.grad.asnumpy().tolist() == [[0, 10], [20, 0], [0, 30]]


def test_onehot_encode_writes_into_rhs():
    o = nd.zeros((3, 4))
    res = nd.onehot_encode(nd.array([1, 3, 0]), o)
    want = [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    assert res.asnumpy().tolist() == want and o.asnumpy().tolist() == want


def test_fill_element_0index():
    x = nd.zeros((3, 4))
    x.attach_grad()
    vals = nd.array([7, 8, 9])
    vals.attach_grad()
    with mx.autograd.record():
        out = nd.fill_element_0index(x, vals, nd.array([1, 3, 0]))
    out.backward(nd.ones((3, 4)) * 2)
    assert out.asnumpy().tolist() == [[0, 7, 0, 0], [0, 0, 0, 8], [9, 0, 0, 0]]
    assert x.grad.asnumpy().tolist() == [[2, 0, 2, 2], [2, 2, 2, 0], [0, 2, 2, 2]]
    assert vals.grad.asnumpy().tolist() == [2, 2, 2]


def test_ravel_and_unravel():
    coords = nd.unravel_index(nd.array([22, 41, 37]), shape=(7, 6))
    assert coords.asnumpy().tolist() == [[3, 6, 6], [4, 5, 1]]
    flat = nd.ravel_multi_index(nd.array([[3, 6, 6], [4, 5, 1]]), shape=(7, 6))
    assert flat.asnumpy().tolist() == [22, 41, 37]
    assert nd._ravel_multi_index(coords, shape=(7, 6)).asnumpy().tolist() == [22, 41, 37]
    assert nd._unravel_index(flat, shape=(7, 6)).shape == (2, 3)
    with pytest.raises(MXNetError, match="2 rows of coordinates for a shape of 3"):
        nd.ravel_multi_index(coords, shape=(2, 3, 4))


def test_histogram():
    x = nd.array([0, 1, 2, 3, 4, 5.5])
    counts, edges = nd.histogram(x, bins=3, range=(0, 6))
    assert counts.dtype == np.int64 and counts.asnumpy().tolist() == [2, 2, 2]
    assert edges.asnumpy().tolist() == [0, 2, 4, 6]
    counts, edges = nd.histogram(x, nd.array([0, 2, 4, 6]))
    assert counts.asnumpy().tolist() == [2, 2, 2]
    counts, edges = nd.histogram(nd.array([1, 2, 3]), bins=3)  # range: min and max
    np.testing.assert_allclose(edges.asnumpy(), [1, 5 / 3, 7 / 3, 3], rtol=1e-6)
    assert counts.asnumpy().tolist() == [1, 1, 1]
    assert nd._histogram(x, bin_cnt=2, range=(0, 6))[0].asnumpy().tolist() == [3, 3]


def test_im2col_col2im_match_mxnet():
    import pathlib

    fix = np.load(pathlib.Path(__file__).resolve().parents[1] / "fixtures/mxnet/ops_extra.npz")
    attrs = dict(kernel=(2, 3), stride=(1, 2), dilate=(2, 1), pad=(1, 1))
    x = nd.array(fix["im2col/in0"])
    x.attach_grad()
    with mx.autograd.record():
        cols = nd.im2col(x, **attrs)
    cols.backward(nd.array(fix["im2col/head"]))
    np.testing.assert_allclose(cols.asnumpy(), fix["im2col/out0"], rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), fix["im2col/grad0"], rtol=1e-5, atol=1e-6)
    back = nd.col2im(nd.array(fix["im2col/head"]), output_size=(4, 5), **attrs)
    np.testing.assert_allclose(back.asnumpy(), fix["col2im/out0"], rtol=1e-5, atol=1e-6)
    with pytest.raises(MXNetError, match="kernel"):
        nd.im2col(nd.ones((1, 1, 2, 2)), kernel=(3, 3))


def test_unravel_leading_axis_unwrapped_and_sym_histogram():
    flat = nd.array([22, 41, 37])
    # a leading size of -1 (or one too small) does not wrap the first coordinate
    assert nd.unravel_index(flat, shape=(-1, 6)).asnumpy().tolist() == [[3, 6, 6], [4, 5, 1]]
    assert nd.unravel_index(flat, shape=(-1,)).asnumpy().tolist() == [[22, 41, 37]]
    assert nd.ravel_multi_index(
        nd.array([[3, 6, 6], [4, 5, 1]]), shape=(-1, 6)
    ).asnumpy().tolist() == [22, 41, 37]
    s = mx.sym.histogram(mx.sym.var("x"), bins=3, range=(0, 6))
    counts, edges = s.eval(x=nd.array([0, 1, 2, 3, 4, 5.5]))
    assert counts.asnumpy().tolist() == [2, 2, 2] and edges.asnumpy().tolist() == [0, 2, 4, 6]
    s = mx.sym.histogram(mx.sym.var("x"), mx.sym.var("b"))
    counts, _ = s.eval(x=nd.array([0, 1, 2, 3]), b=nd.array([0, 2, 4]))
    assert counts.asnumpy().tolist() == [2, 2]
