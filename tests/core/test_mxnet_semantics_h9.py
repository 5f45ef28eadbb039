"""NDArray semantics MXNet's tests rely on: 0-d arrays from scalars, ``out=`` honoured by
the creation functions, MNISTIter ignoring the keyword arguments MXNet ignores."""

import struct

import numpy as np

import distnet as mx
from distnet import nd


def test_array_of_a_scalar_is_zero_dimensional():
    for value in (5, 5.0, np.float32(5), np.array(5.0)):
        a = nd.array(value)
        assert a.shape == () and a.ndim == 0 and a.size == 1
        assert a.asscalar() == 5.0 and a.asnumpy().shape == ()
    assert nd.array(7, dtype="int32").dtype == np.int32
    assert nd.array([7]).shape == (1,)  # a list keeps its dimension


def test_creation_functions_write_into_out():
    o = nd.zeros((2, 2))
    assert nd.ones((2, 2), out=o) is o
    np.testing.assert_array_equal(o.asnumpy(), np.ones((2, 2)))
    assert nd.zeros((2, 2), out=o) is o
    np.testing.assert_array_equal(o.asnumpy(), np.zeros((2, 2)))
    assert nd.full((2, 2), 3, out=o) is o
    np.testing.assert_array_equal(o.asnumpy(), np.full((2, 2), 3))


def test_mnist_iter_ignores_mxnet_extra_keywords(tmp_path):
    n = 4
    ipath, lpath = tmp_path / "img", tmp_path / "lab"
    ipath.write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + bytes(n * 784))
    lpath.write_bytes(struct.pack(">II", 2049, n) + bytes(range(n)))
    it = mx.io.MNISTIter(
        image=str(ipath),
        label=str(lpath),
        batch_size=2,
        shuffle=False,
        silent=True,
        data_shape=(784,),
        flat=True,
    )
    assert it.provide_data[0].shape == (2, 784)
    assert [b.label[0].asnumpy().tolist() for b in it] == [[0, 1], [2, 3]]
