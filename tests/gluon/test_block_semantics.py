"""HybridBlock call semantics as MXNet 1.9.1: None arguments and keyword defaults, one
context per hybridized call, inlining of small graphs into autograd.get_symbol, op hooks
with MXNet's node names, GroupNorm, nd.reset_arrays/zero_grad and clip_global_norm on
sparse arrays. Expected values were checked against MXNet 1.9.1."""

import json
import warnings

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon, nd
from distnet.base import MXNetError
from distnet.gluon import nn


class _AddOrPass(gluon.HybridBlock):
    def hybrid_forward(self, F, a, b=None):
        if a is None:
            return b
        if b is None:
            return a
        return a + b


def test_none_argument_runs_hybridized_and_imperative():
    for args in [(None, nd.ones((3,))), (nd.ones((3,)), None), (nd.ones((3,)), nd.ones((3,)))]:
        hyb, imp = _AddOrPass(), _AddOrPass()
        hyb.hybridize()
        for _ in range(2):  # the second call runs the cached graph
            np.testing.assert_array_equal(hyb(*args).asnumpy(), imp(*args).asnumpy())


def test_trailing_none_matches_keyword_default():
    block = _AddOrPass()
    block.hybridize()
    np.testing.assert_array_equal(block(nd.ones((2,)), None).asnumpy(), [1, 1])
    np.testing.assert_array_equal(block(nd.ones((2,))).asnumpy(), [1, 1])
    # a real array where the traced graph had None is another graph: refused
    with pytest.raises(ValueError, match="argument structure"):
        block(nd.ones((2,)), nd.ones((2,)))


def test_hybridized_inputs_must_share_one_context():
    block = _AddOrPass()
    block.hybridize()
    with pytest.raises(ValueError, match="multiple contexts") as info:
        block(nd.ones((2,), ctx=mx.cpu(1)), nd.ones((2,), ctx=mx.cpu(2)))
    assert "cpu(1)" in str(info.value) and "cpu(2)" in str(info.value)
    # not hybridized, host contexts mix as in MXNet
    out = _AddOrPass()(nd.ones((2,), ctx=mx.cpu(1)), nd.ones((2,), ctx=mx.cpu(2)))
    np.testing.assert_array_equal(out.asnumpy(), [2, 2])


def test_hybridized_scalar_or_symbol_mix_is_a_value_error():
    block = _AddOrPass()
    block.hybridize()
    with pytest.raises(ValueError):
        block(nd.ones((2,)), 1)
    with pytest.raises(ValueError):
        _AddOrPass()(nd.ones((2,)), mx.sym.var("a"))


def _three_dense():
    net = nn.HybridSequential()
    with net.name_scope():
        for _ in range(3):
            net.add(nn.Dense(4))
    net.initialize()
    return net


def _recorded_symbol(net, **flags):
    net.hybridize(**flags)
    with autograd.record():
        y = net(nd.ones((1, 4)))
    y.backward()
    return autograd.get_symbol(y), y


def test_inline_limit_decides_what_get_symbol_shows():
    net = _three_dense()
    inlined, _ = _recorded_symbol(net, inline_limit=3)
    ops = [n["op"] for n in json.loads(inlined.tojson())["nodes"] if n["op"] != "null"]
    assert ops == ["FullyConnected"] * 3  # data + 6 params + 3 ops = 10 nodes
    cached, y = _recorded_symbol(net, inline_limit=2)
    nodes = json.loads(cached.tojson())["nodes"]
    assert [n["op"] for n in nodes if n["op"] != "null"] == ["_CachedOp"]
    assert len(nodes) == 8
    # static_alloc never inlines (MXNet's rule)
    static, _ = _recorded_symbol(net, inline_limit=5, static_alloc=True)
    assert len(json.loads(static.tojson())["nodes"]) == 8
    # the _CachedOp node runs the block's graph
    names = cached.list_inputs()
    values = [nd.ones((1, 4))] + [p.data() for p in net.collect_params().values()]
    assert cached.infer_shape(**{names[0]: (1, 4)})[1] == [(1, 4)]
    out = cached.eval(**dict(zip(names, values)))[0]
    np.testing.assert_allclose(out.asnumpy(), y.asnumpy(), rtol=1e-6)


def _hook_names(model, x, monitor_all):
    seen = []
    model.register_op_hook(lambda node, op, arr: seen.append((node, op, arr.shape)), monitor_all)
    model(x)
    return seen


def test_op_hook_sees_mxnet_node_names():
    model = nn.HybridSequential(prefix="dense_")
    with model.name_scope():
        model.add(nn.Dense(2), nn.Activation("relu"))
    model.initialize()
    model.hybridize()
    assert _hook_names(model, nd.ones((2, 3)), False) == [
        (b"dense_dense0_fwd_output", b"FullyConnected", (2, 2)),
        (b"dense_relu0_fwd_output", b"Activation", (2, 2)),
    ]
    names = [n for n, _, _ in _hook_names(model, nd.ones((2, 3)), True)]
    assert names == [
        b"dense_dense0_fwd_data",
        b"dense_dense0_fwd_weight",
        b"dense_dense0_fwd_bias",
        b"dense_dense0_fwd_output",
        b"dense_relu0_fwd_input0",
        b"dense_relu0_fwd_output",
    ]


def test_op_hook_is_silent_until_hybridized():
    model = nn.Dense(2)
    model.initialize()
    assert _hook_names(model, nd.ones((2, 3)), True) == []
    model.hybridize()
    assert [n for n, _, _ in _hook_names(model, nd.ones((2, 3)), False)] == [
        model.name.encode() + b"_fwd_output"
    ]


def test_groupnorm_values_and_repr():
    layer = nn.GroupNorm(num_groups=2)
    assert repr(layer) == "GroupNorm(eps=1e-05, num_groups=2, center=True, scale=True)"
    layer.initialize()
    x = nd.arange(48).reshape((2, 4, 6))
    out = layer(x).asnumpy()
    # MXNet 1.9.1: each sample's two groups of 2x6 values normalized on their own
    np.testing.assert_allclose(out[0, :2, :2], [[-1.5932543, -1.3035717], [0.1448413, 0.4345239]])
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6)
    assert layer.gamma.shape == (2,) and layer.beta.shape == (2,)
    layer.hybridize()
    np.testing.assert_allclose(layer(x).asnumpy(), out, rtol=1e-6)
    bad = nn.GroupNorm(num_groups=3)
    bad.initialize()
    with pytest.raises(MXNetError, match="multiple of num_groups"):
        bad(nd.ones((1, 4, 2)))


def test_reset_arrays_zeroes_in_place_and_checks_the_count():
    a, b = nd.ones((2, 3)), nd.ones((4,), dtype="float16")
    assert nd.reset_arrays(a, b, num_arrays=2) == []
    assert a.asnumpy().sum() == 0 and b.asnumpy().sum() == 0 and b.dtype == np.float16
    with pytest.raises(MXNetError, match="num_arrays=1 but 2"):
        nd.reset_arrays(a, b, num_arrays=1)


def test_zero_grad_dense_and_sparse():
    for sparse in (False, True):
        net = nn.Embedding(3, 4, sparse_grad=sparse)
        net.initialize()
        with autograd.record():
            net(nd.array([0, 2])).backward()
        grad = net.weight.grad()
        assert grad.asnumpy().sum() != 0
        net.collect_params().zero_grad()
        assert not net.weight.grad().asnumpy().any()


@pytest.mark.parametrize("stype", ["default", "row_sparse"])
def test_clip_global_norm_scales_sparse_and_dense_in_place(stype):
    x1 = nd.ones((3, 3)).tostype(stype)
    x2 = nd.ones((4, 4)).tostype(stype)
    assert gluon.utils.clip_global_norm([x1, x2], 1.0) == 5.0
    np.testing.assert_allclose(x1.asnumpy(), np.ones((3, 3)) / 5, rtol=1e-6)
    np.testing.assert_allclose(x2.asnumpy(), np.ones((4, 4)) / 5, rtol=1e-6)
    x3 = nd.array([1.0, 2.0, float("nan")]).tostype(stype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gluon.utils.clip_global_norm([x1, x3], 2.0)
    assert len(caught) == 1 and "nan or inf" in str(caught[0].message)
