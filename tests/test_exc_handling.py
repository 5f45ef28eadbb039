"""Where operator errors surface, as in MXNet 1.9.1: a check an operator makes while it
runs (a sampler's ``scale > 0``) is reported at the next read of the result (or of any
array computed from it) or at ``nd.waitall()``, once; argument and shape errors stay
immediate; one failed call never poisons unrelated arrays or later calls."""

import gc

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.gluon import nn

_SCALE = r"_random_normal: Check failed: param.scale > 0 \(-1 vs. 0\) : scale parameter in gaussian"


@pytest.fixture(autouse=True)
def _no_leftover_failures():
    gc.collect()
    nd.waitall()
    yield
    gc.collect()
    nd.waitall()


def test_runtime_check_is_reported_at_the_read_not_the_call():
    a = nd.random.normal(0, 1, (2, 2))
    b = nd.random.normal(0, -1, (2, 2))  # no error yet, as MXNet
    c = nd.dot(a, b)  # the failure flows into what is computed from it
    assert c.shape == (2, 2) and b.shape == (2, 2)
    with pytest.raises(MXNetError, match=_SCALE):
        c.asnumpy()
    # reported once; the values are NaN, never a plausible number
    assert np.isnan(b.asnumpy()).all() and np.isnan(c.asnumpy()).all()
    assert np.isfinite(a.asnumpy()).all()  # the healthy input is untouched
    d = nd.dot(a, a)  # the next call is not poisoned
    np.testing.assert_allclose(d.asnumpy(), a.asnumpy() @ a.asnumpy(), rtol=1e-5)


def test_copies_and_rows_share_one_report():
    x, y = nd.random_normal(0, -1, (2, 2)).copyto(mx.cpu())
    with pytest.raises(MXNetError, match=_SCALE):
        x.wait_to_read()
    assert np.isnan(y.asnumpy()).all()  # the same failure, reported already


def test_waitall_reports_an_unread_failure_once():
    kept = nd.random.uniform(1, 0, (3,))
    with pytest.raises(MXNetError, match=r"param.high >= param.low \(0 vs. 1\) : low must"):
        nd.waitall()
    nd.waitall()  # a waitall after a waitall does not raise again
    kept.asnumpy()  # nor a read after it
    nd.random.normal(0, -1, (2,))  # dropped unread: nobody can see its values
    gc.collect()
    nd.waitall()


def test_out_argument_carries_the_failure():
    out = nd.ones((2,))
    nd.random.normal(0, -1, shape=(2,), out=out)
    with pytest.raises(MXNetError, match=_SCALE):
        out.asnumpy()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nd.random.gamma(0, 1, (2,)), r"param.alpha > 0 \(0 vs. 0\)"),
        (lambda: nd.random.exponential(-1, (2,)), r"param.lam > 0 \(-1 vs. 0\) : lambda"),
        (lambda: nd.random.poisson(-1, (2,)), r"param.lam >= 0 \(-1 vs. 0\) : lambda .* non"),
        (lambda: nd.random.normal_like(nd.ones((2,)), scale=0), r"param.scale > 0 \(0 vs. 0\)"),
    ],
)
def test_sampler_checks_match_mxnet(call, message):
    result = call()
    with pytest.raises(MXNetError, match=message):
        result.asnumpy()


def test_sampler_edge_values_mxnet_accepts():
    assert nd.random.uniform(1, 1, (3,)).asnumpy().tolist() == [1, 1, 1]
    assert nd.random.poisson(0, (3,)).asnumpy().tolist() == [0, 0, 0]


def test_argument_and_shape_errors_stay_immediate():
    with pytest.raises(MXNetError, match="unknown argument 'axes'"):
        nd.sum(nd.random.normal(0, -1, (2,)), axes=0)
    with pytest.raises(MXNetError, match="dot"):
        nd.dot(nd.ones((2, 3)), nd.ones((2, 3)))


def test_gluon_forward_on_a_failed_input_raises_at_the_read():
    model = nn.Sequential()
    model.add(nn.Dense(8, activation="tanh", in_units=10, flatten=False), nn.Dropout(0.5))
    model.initialize()
    z = model(nd.random.normal(10, -10, (4, 2, 10)))
    assert z.shape == (4, 2, 8)
    with pytest.raises(MXNetError, match=r"param.scale > 0 \(-10 vs. 0\)"):
        z.wait_to_read()
    ok = model(nd.ones((4, 2, 10)))
    assert np.isfinite(ok.asnumpy()).all()


def test_symbolic_graph_raises_at_forward():
    out = mx.sym.random.normal(0, -1, shape=(2, 2)) + mx.sym.var("x")
    exe = out.bind(mx.cpu(), {"x": nd.ones((2, 2))})
    with pytest.raises(MXNetError, match="scale parameter in gaussian"):
        exe.forward()[0].asnumpy()
