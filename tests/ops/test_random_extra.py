"""Random operators added for MXNet's unit tests: the ``_like`` samplers, negative
binomials, and the per-element ``_sample_<dist>`` operators behind ``nd.random.uniform(low=
NDArray, ...)``. Checked by seeding (same seed, same draws) and by sample moments."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

# (nd.random function, params, mean, variance)
LIKE = [
    ("uniform_like", dict(low=1.0, high=3.0), 2.0, 4 / 12),
    ("normal_like", dict(loc=2.0, scale=0.5), 2.0, 0.25),
    ("gamma_like", dict(alpha=2.0, beta=1.5), 3.0, 4.5),
    ("exponential_like", dict(lam=4.0), 0.25, 1 / 16),
    ("poisson_like", dict(lam=3.0), 3.0, 3.0),
    ("negative_binomial_like", dict(k=3, p=0.4), 4.5, 11.25),
    ("generalized_negative_binomial_like", dict(mu=2.0, alpha=0.3), 2.0, 2.0 + 0.3 * 4),
]


def _check_moments(x, mean, var, where):
    x = np.asarray(x, np.float64)
    assert abs(x.mean() - mean) < 0.05 * max(1.0, mean), f"{where}: mean {x.mean()}"
    assert abs(x.var() - var) < 0.08 * max(1.0, var), f"{where}: variance {x.var()}"


@pytest.mark.parametrize("fname,params,mean,var", LIKE, ids=[c[0] for c in LIKE])
def test_like_samplers_take_shape_and_dtype_of_data(fname, params, mean, var):
    data = nd.zeros((100, 200), dtype="float64")
    mx.random.seed(11)
    a = getattr(nd.random, fname)(data, **params)
    mx.random.seed(11)
    b = getattr(nd.random, fname)(data=data, **params)
    assert a.shape == (100, 200) and a.dtype == np.float64
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    _check_moments(a.asnumpy(), mean, var, fname)


def test_like_operator_names_as_mxnet():
    x = mx.sym.var("x")
    for name in (
        "_random_uniform_like",
        "_random_normal_like",
        "_random_gamma_like",
        "_random_exponential_like",
        "_random_poisson_like",
        "_random_negative_binomial_like",
        "_random_generalized_negative_binomial_like",
    ):
        short = name[len("_random_") :]
        s = getattr(mx.sym.random, short)(x)
        assert f'"op": "{name}"' in s.tojson()
        out = s.eval(x=nd.ones((3, 4)))[0]
        assert out.shape == (3, 4)


def test_negative_binomial_samplers():
    mx.random.seed(3)
    x = nd.random.negative_binomial(k=3, p=0.4, shape=(20000,))
    _check_moments(x.asnumpy(), 4.5, 11.25, "negative_binomial")
    mx.random.seed(3)
    np.testing.assert_array_equal(
        nd.random_negative_binomial(k=3, p=0.4, shape=(20000,)).asnumpy(), x.asnumpy()
    )
    x = nd.random_generalized_negative_binomial(mu=2.0, alpha=0.0, shape=(20000,))
    _check_moments(x.asnumpy(), 2.0, 2.0, "generalized_negative_binomial(alpha=0)")
    assert x.dtype == np.float32


# (nd.random function, parameter arrays, per-row mean, per-row variance)
MULTI = [
    ("uniform", dict(low=[0.0, 2.0], high=[1.0, 6.0]), [0.5, 4.0], [1 / 12, 16 / 12]),
    ("normal", dict(loc=[0.0, 5.0], scale=[1.0, 2.0]), [0.0, 5.0], [1.0, 4.0]),
    ("gamma", dict(alpha=[1.0, 3.0], beta=[2.0, 0.5]), [2.0, 1.5], [4.0, 0.75]),
    ("exponential", dict(scale=[1.0, 0.25]), [1.0, 0.25], [1.0, 1 / 16]),
    ("poisson", dict(lam=[1.0, 6.0]), [1.0, 6.0], [1.0, 6.0]),
    ("negative_binomial", dict(k=[2.0, 5.0], p=[0.5, 0.8]), [2.0, 1.25], [4.0, 1.5625]),
    (
        "generalized_negative_binomial",
        dict(mu=[1.0, 3.0], alpha=[0.0, 0.5]),
        [1.0, 3.0],
        [1.0, 7.5],
    ),
]


@pytest.mark.parametrize("fname,params,mean,var", MULTI, ids=[c[0] for c in MULTI])
def test_per_element_parameters(fname, params, mean, var):
    arrays = {k: nd.array(v) for k, v in params.items()}
    mx.random.seed(5)
    a = getattr(nd.random, fname)(shape=(20000,), **arrays)
    mx.random.seed(5)
    b = getattr(nd.random, fname)(shape=(20000,), **arrays)
    assert a.shape == (2, 20000) and a.dtype == np.float32
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    for row in range(2):
        _check_moments(a.asnumpy()[row], mean[row], var[row], f"{fname} row {row}")


def test_sample_operators_by_name():
    lo, hi = nd.array([[0.0, 1.0], [2.0, 3.0]]), nd.array([[0.5, 1.5], [2.5, 3.5]])
    out = nd.sample_uniform(lo, hi, shape=(3,), dtype="float64")
    assert out.shape == (2, 2, 3) and out.dtype == np.float64
    got = out.asnumpy()
    assert (got >= lo.asnumpy()[..., None]).all() and (got < hi.asnumpy()[..., None]).all()
    for name, n_in in (
        ("_sample_normal", 2),
        ("_sample_gamma", 2),
        ("_sample_exponential", 1),
        ("_sample_poisson", 1),
        ("_sample_negative_binomial", 2),
        ("_sample_generalized_negative_binomial", 2),
    ):
        res = getattr(nd, name)(*[nd.ones((2, 2)) * 0.5] * n_in)
        assert res.shape == (2, 2), name


def test_sample_operators_symbolic_and_errors():
    mu, sigma = mx.sym.var("mu"), mx.sym.var("sigma")
    s = mx.sym.random.normal(mu, sigma, shape=(4,))
    assert '"op": "_sample_normal"' in s.tojson()
    assert s.infer_shape(mu=(2, 3), sigma=(2, 3))[1] == [(2, 3, 4)]
    with pytest.raises(MXNetError, match="one shape"):
        nd.sample_normal(nd.ones((2,)), nd.ones((3,)))
    with pytest.raises(MXNetError, match="all be NDArrays"):
        nd.random.normal(nd.ones((2,)), 1.0)


def test_gamma_is_the_gamma_function_and_random_gamma_samples():
    # MXNet: nd.gamma is the elementwise gamma function, the sampler is random_gamma
    np.testing.assert_allclose(nd.gamma(nd.array([4.0])).asnumpy(), [6.0], rtol=1e-6)
    mx.random.seed(2)
    x = nd.random_gamma(alpha=2.0, beta=1.5, shape=(20000,))
    _check_moments(x.asnumpy(), 3.0, 4.5, "random_gamma")


def test_randn_takes_loc_and_scale():
    x = nd.random.randn(2, 3, loc=5.0, scale=0.001)
    assert x.shape == (2, 3) and abs(x.asnumpy().mean() - 5) < 0.01
    y = nd.random.randn(1000, loc=nd.array([0.0, 10.0]), scale=nd.array([1.0, 1.0]))
    assert y.shape == (2, 1000) and abs(y.asnumpy()[1].mean() - 10) < 0.2


def test_sym_random_shuffle_permutes_rows():
    s = mx.sym.random.shuffle(mx.sym.var("x"))
    assert '"op": "_shuffle"' in s.tojson()
    rows = s.eval(x=nd.arange(12).reshape(6, 2))[0].asnumpy()
    assert sorted(rows[:, 0].tolist()) == [0, 2, 4, 6, 8, 10]
    np.testing.assert_array_equal(rows[:, 1] - rows[:, 0], 1)  # rows move whole
