"""Log-uniform candidate samplers (_sample_unique_zipfian, _contrib_rand_zipfian) and
mx.random.seed with any int, as MXNet 1.9.1."""

import numpy as np

import distnet as mx


def _prob(k, range_max):
    return np.log((k + 2.0) / (k + 1.0)) / np.log(range_max + 1.0)


def test_sample_unique_zipfian_rows_are_distinct_and_count_trials():
    mx.random.seed(7)
    classes, trials = mx.nd._internal._sample_unique_zipfian(1000, shape=(3, 200))
    assert classes.shape == (3, 200) and trials.shape == (3,)
    assert classes.dtype == np.int64 and trials.dtype == np.int64
    c = classes.asnumpy()
    for row, t in zip(c, trials.asnumpy()):
        assert np.unique(row).size == 200 and row.min() >= 0 and row.max() < 1000
        assert t >= 200  # draws, repeats included
    # small classes are the most likely: class 0 (p = 0.1) is almost surely drawn
    assert all(0 in row for row in c)


def test_rand_zipfian_expected_counts_nd_and_sym():
    true = mx.nd.array([0, 3, 19], dtype="int32")
    sampled, exp_true, exp_sampled = mx.nd.contrib.rand_zipfian(true, 500, 20)
    s = sampled.asnumpy()
    assert s.shape == (500,) and s.min() >= 0 and s.max() < 20
    np.testing.assert_allclose(exp_true.asnumpy(), _prob(np.array([0, 3, 19]), 20) * 500)
    np.testing.assert_allclose(exp_sampled.asnumpy(), _prob(s, 20) * 500)
    # the empirical frequency of class 0 is near its probability
    assert abs((s == 0).mean() - _prob(0, 20)) < 0.06
    direct = mx.nd._internal._contrib_rand_zipfian(true, 10, 20)  # the operator itself
    assert [o.shape for o in direct] == [(10,), (3,), (10,)]
    outs = mx.sym.contrib.rand_zipfian(mx.sym.var("t"), 50, 20)
    assert isinstance(outs, tuple) and len(outs) == 3
    exe = mx.sym.Group(list(outs)).bind(mx.cpu(), {"t": true})
    got = exe.forward()
    assert got[0].shape == (50,) and got[1].shape == (3,) and got[2].shape == (50,)


def test_seed_accepts_negative_and_large_ints():
    for seed in (-(1 << 31), -1, 1 << 70):
        mx.random.seed(seed)
        a = mx.nd.random.uniform(shape=(4,)).asnumpy()
        mx.random.seed(seed)
        assert (mx.nd.random.uniform(shape=(4,)).asnumpy() == a).all()


def test_sym_sampler_with_data_samples_like_data():
    """``sym.random.randn(data=s)``: samples shaped like ``s`` in the requested dtype."""
    out = mx.sym.random.randn(loc=10, scale=0.5, dtype="float16", data=mx.sym.ones((50, 40)))
    got = out.bind(mx.cpu(), {}).forward()[0]
    assert got.shape == (50, 40) and got.dtype == np.float16
    v = got.asnumpy().astype(np.float64)
    assert abs(v.mean() - 10) < 0.1 and abs(v.std() - 0.5) < 0.1
