"""FullyConnected computes ``x @ w.T`` as ``(w @ x.T).T`` where OpenBLAS is faster that
way (``nn._transposed_gemm``): the result must be the same C-contiguous array, within
float32 rounding, with and without bias, and flatten must still apply."""

import numpy as np
import pytest

from distnet import nd
from distnet.ops import nn as opnn


@pytest.mark.parametrize(
    "shape,units,no_bias",
    [((64, 784), 128, False), ((32, 1, 28, 28), 128, True), ((5, 300), 16, False)],
)
def test_transposed_product_matches_the_plain_one(shape, units, no_bias):
    rng = np.random.RandomState(0)
    x = rng.randn(*shape).astype(np.float32)
    k = int(np.prod(shape[1:]))
    w = rng.randn(units, k).astype(np.float32)
    b = rng.randn(units).astype(np.float32)
    assert opnn._transposed_gemm(x.reshape(shape[0], -1), w)  # these shapes take it
    args = [nd.array(x), nd.array(w)] + ([] if no_bias else [nd.array(b)])
    y = nd.FullyConnected(*args, num_hidden=units, no_bias=no_bias)
    want = x.reshape(shape[0], -1).astype(np.float64) @ w.T.astype(np.float64)
    if not no_bias:
        want += b
    assert y.shape == (shape[0], units) and y.dtype == np.float32
    assert y.handle.flags.c_contiguous
    np.testing.assert_allclose(y.asnumpy(), want, rtol=2e-5, atol=2e-4)


def test_other_shapes_and_dtypes_keep_the_plain_product():
    x = np.ones((64, 784), np.float32)
    assert not opnn._transposed_gemm(x, np.ones((64, 784), np.float32))  # units < 2 rows
    assert not opnn._transposed_gemm(x[:, :128], np.ones((512, 128), np.float32))  # short k
    x64 = np.ones((8, 784))
    assert not opnn._transposed_gemm(x64, np.ones((128, 784)))  # float64
    y = nd.FullyConnected(
        nd.array(x64, dtype=np.float64),
        nd.ones((128, 784), dtype=np.float64),
        nd.zeros((128,), dtype=np.float64),
        num_hidden=128,
    )
    np.testing.assert_array_equal(y.asnumpy(), np.full((8, 128), 784.0))
