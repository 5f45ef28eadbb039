"""relu's numpy fast path (maximum against a block of zeros, ``ops/_util.relu``) is
bitwise ``np.maximum(x, 0)`` for every dtype, layout and size, special values included."""

import numpy as np
import pytest

from distnet import nd
from distnet.ops import _util


def _special(x):
    flat = x.reshape(-1)
    if x.dtype.kind == "f" and flat.size >= 5:
        flat[:5] = [-0.0, 0.0, np.nan, -np.inf, np.inf]
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 3), (64, 128), (5, 3, 4, 4)])
def test_relu_is_bitwise_maximum_with_zero(dtype, shape):
    x = _special(np.random.RandomState(0).randn(*shape).astype(dtype))
    got = _util.relu(np, x)
    want = np.maximum(x, 0)
    assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


def test_relu_in_blocks_and_on_views(monkeypatch):
    monkeypatch.setattr(_util, "_ZERO_BLOCK", 1000)
    monkeypatch.setattr(_util, "_ZEROS", {})
    x = _special(np.random.RandomState(1).randn(7, 11, 37).astype(np.float32))  # 2849 > 1000
    np.testing.assert_array_equal(
        _util.relu(np, x).view(np.uint32), np.maximum(x, 0).view(np.uint32)
    )
    t = x.transpose(2, 0, 1)  # not C-contiguous: the scalar form, same layout as numpy's
    np.testing.assert_array_equal(_util.relu(np, t), np.maximum(t, 0))
    zeros = _util._ZEROS[np.dtype(np.float32)]
    assert not zeros.flags.writeable and not zeros.any()


def test_relu_operator_values_and_gradient():
    x = nd.array([[-1.0, 0.0, 2.5], [3.0, -0.5, 1e-30]])
    x.attach_grad()
    from distnet import autograd

    with autograd.record():
        y = nd.relu(x)
    y.backward(nd.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(y.asnumpy(), np.float32([[0, 0, 2.5], [3, 0, 1e-30]]))
    np.testing.assert_array_equal(x.grad.asnumpy(), [[0, 0, 3], [4, 0, 6]])
