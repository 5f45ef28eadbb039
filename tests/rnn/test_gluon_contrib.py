"""gluon.contrib: the pieces common scripts import behave as in MXNet 1.9.1."""

import numpy as np
import pytest

from distnet import autograd, gluon, nd
from distnet.gluon.contrib.data import IntervalSampler


def test_hybrid_concurrent_concatenates_children_and_identity():
    net = gluon.contrib.nn.HybridConcurrent(axis=1)
    with net.name_scope():
        net.add(gluon.nn.Dense(3), gluon.contrib.nn.Identity(), gluon.nn.Dense(2))
    assert net.prefix == "hybridconcurrent0_"
    net.initialize()
    x = nd.array(np.random.RandomState(0).rand(4, 5))
    out = net(x)
    assert out.shape == (4, 3 + 5 + 2)
    np.testing.assert_array_equal(out.asnumpy()[:, 3:8], x.asnumpy())
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), out.asnumpy(), rtol=1e-6)
    plain = gluon.contrib.nn.Concurrent(axis=1)
    plain.add(gluon.contrib.nn.Identity(), gluon.contrib.nn.Identity())
    assert plain(x).shape == (4, 10)


def test_sync_batch_norm_is_batch_norm_with_mxnet_names():
    bn = gluon.contrib.nn.SyncBatchNorm(in_channels=3)
    assert bn.prefix.startswith("syncbatchnorm")
    assert sorted(k.split("_", 1)[1] for k in bn.collect_params()) == [
        "beta",
        "gamma",
        "running_mean",
        "running_var",
    ]
    bn.initialize()
    x = nd.array(np.random.RandomState(1).rand(4, 3, 2, 2))
    with autograd.record():
        y = bn(x).asnumpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    with pytest.warns(UserWarning, match="num_devices=4 is ignored"):
        gluon.contrib.nn.SyncBatchNorm(num_devices=4)


def test_lstmp_cell_shapes_and_names():
    cell = gluon.contrib.rnn.LSTMPCell(5, 3, prefix="p_")
    assert list(cell.collect_params().keys()) == [
        "p_i2h_weight",
        "p_h2h_weight",
        "p_h2r_weight",
        "p_i2h_bias",
        "p_h2h_bias",
    ]
    cell.initialize()
    outs, states = cell.unroll(4, nd.ones((2, 4, 6)), layout="NTC", merge_outputs=True)
    assert outs.shape == (2, 4, 3) and [s.shape for s in states] == [(2, 3), (2, 5)]


def test_variational_dropout_reuses_one_mask_per_sequence():
    base = gluon.rnn.RNNCell(
        4, activation="relu", i2h_weight_initializer="ones", h2h_weight_initializer="zeros"
    )
    cell = gluon.contrib.rnn.VariationalDropoutCell(base, drop_outputs=0.5)
    cell.initialize()
    x = nd.ones((3, 5, 2))
    with autograd.record():
        outs, _ = cell.unroll(5, x, layout="NTC", merge_outputs=True)
    zero = outs.asnumpy() == 0
    # the same units are dropped at every step of the sequence
    assert np.all(zero == zero[:, :1, :]) and zero.any() and not zero.all()


def test_interval_sampler_as_mxnet():
    assert list(IntervalSampler(10, 3)) == [0, 3, 6, 9, 1, 4, 7, 2, 5, 8]
    assert list(IntervalSampler(10, 3, rollover=False)) == [0, 3, 6, 9]
    assert len(IntervalSampler(10, 3)) == 10
