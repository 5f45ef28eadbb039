"""SVMOutput: identity forward, hinge-loss gradients as MXNet 1.9.1 (values below were
produced by MXNet for the same inputs, np.random.seed(0) randn(4, 3))."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

_X = np.random.RandomState(0).randn(4, 3).astype(np.float32)
_LABEL = np.array([0, 2, 1, 2], np.float32)
_L2 = [
    [0.0, 1.2602200508117676, 2.0702333450317383],
    [3.837250232696533, 3.3145811557769775, -2.0681889057159424],
    [2.0301239490509033, -0.9119000434875488, 0.5554935932159424],
    [1.274837851524353, 0.9016609787940979, 0.0],
]
_L1 = [[0.0, 0.7, 0.7], [0.7, 0.7, -0.7], [0.7, -0.7, 0.7], [0.7, 0.7, 0.0]]


@pytest.mark.parametrize("use_linear,want", [(False, _L2), (True, _L1)])
def test_svm_output_gradient_matches_mxnet(use_linear, want):
    x = nd.array(_X)
    x.attach_grad()
    with mx.autograd.record():
        y = nd.SVMOutput(
            x, nd.array(_LABEL), margin=0.5, regularization_coefficient=0.7, use_linear=use_linear
        )
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), _X)
    np.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_svm_output_symbol_and_bad_label():
    s = mx.sym.SVMOutput(mx.sym.var("data"), name="svm")
    assert s.list_arguments() == ["data", "svm_label"]
    assert s.infer_shape(data=(4, 3))[0] == [(4, 3), (4,)]
    x = nd.ones((2, 3))
    x.attach_grad()
    with mx.autograd.record():
        y = nd.SVMOutput(x, nd.array([0, 3]))
    with pytest.raises(MXNetError, match=r"class indices in \[0, 3\)"):
        y.backward()
