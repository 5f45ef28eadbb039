"""Shape inference as MXNet 1.9.1 does it: partial shapes in both directions, NumPy shape
mode, open creator shapes. Expected values are MXNet 1.9.1's (checked with it)."""

import warnings

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError


def _by_name(sym, shapes):
    return dict(zip(sym.list_arguments(), shapes))


def test_elementwise_operands_complete_each_other():
    c = mx.sym.Variable("a", shape=(0, 10)) + mx.sym.Variable("b", shape=(12, 0))
    args, outs, _ = c.infer_shape()
    assert _by_name(c, args) == {"a": (12, 10), "b": (12, 10)}
    assert outs == [(12, 10)]


def test_later_operator_fixes_the_batch_of_a_fully_connected_layer():
    fc = mx.sym.FullyConnected(data=mx.sym.Variable("a", shape=(0, 10)), num_hidden=21, name="fc")
    d = fc + mx.sym.Variable("c", shape=(5, 0))
    args = _by_name(d, d.infer_shape()[0])
    assert args == {"a": (5, 10), "fc_weight": (21, 10), "fc_bias": (21,), "c": (5, 21)}


def test_convolution_input_from_its_known_output():
    conv = mx.sym.Convolution(
        data=mx.sym.Variable("a", shape=(0, 10, 0, 0)), num_filter=21, kernel=(3, 3), pad=(1, 1)
    )
    d = conv + mx.sym.Variable("c", shape=(5, 21, 32, 32))
    args, outs, _ = d.infer_shape()
    assert args == [(5, 10, 32, 32), (21, 10, 3, 3), (21,), (5, 21, 32, 32)]
    assert outs == [(5, 21, 32, 32)]


def test_split_and_concat_inputs_from_their_outputs():
    parts = mx.sym.SliceChannel(mx.sym.Variable("a", shape=(0, 15, 0)), num_outputs=3)
    d = parts[1] + mx.sym.Variable("c", shape=(3, 5, 2))
    assert d.infer_shape()[0] == [(3, 15, 2), (3, 5, 2)]
    cat = mx.sym.Concat(
        mx.sym.Variable("a", shape=(0, 10)), mx.sym.Variable("b", shape=(0, 5)), dim=1
    )
    d = mx.sym.Variable("d", shape=(2, 0)) + cat
    assert _by_name(d, d.infer_shape()[0]) == {"d": (2, 15), "a": (2, 10), "b": (2, 5)}


def test_two_unknowns_one_sum_stay_unknown():
    # concat along the unknown axis: 14 rows could be 7+7 or 4+10, so nothing is guessed
    cat = mx.sym.Concat(mx.sym.var("a", shape=(0, 3)), mx.sym.var("b", shape=(0, 3)), dim=0)
    d = cat + mx.sym.var("c", shape=(14, 3))
    args, _, _ = d.infer_shape_partial()
    assert args[:2] == [(0, 3), (0, 3)]


def test_reshape_input_from_a_fixed_output_shape():
    x = mx.sym.var("x")
    net = mx.sym.reshape(x, shape=(6, 1, -2)) + mx.sym.ones(shape=(6, 1, 5, 6))
    assert net.infer_shape(x=(0, 3, 5, 6))[0] == [(2, 3, 5, 6)]
    net = mx.sym.reshape(x, shape=(-3, -1)) + mx.sym.ones(shape=(6, 30))
    assert net.infer_shape(x=(2, 3, 0, 6))[0] == [(2, 3, 5, 6)]


def test_backward_inference_through_identity_with_attr_like_rhs():
    w = mx.sym.Variable("weight")
    wt = mx.sym.broadcast_add(w, mx.sym.Variable("wshift", shape=(1,)))
    wt = mx.sym._internal._identity_with_attr_like_rhs(wt, w)
    net = mx.sym.FullyConnected(data=mx.sym.var("data"), weight=wt, num_hidden=11, no_bias=True)
    args = _by_name(net, net.infer_shape(data=(7, 100))[0])
    assert args == {"weight": (11, 100), "wshift": (1,), "data": (7, 100)}


def test_identity_with_attr_like_rhs_values_and_gradients():
    z = mx.sym._internal._identity_with_attr_like_rhs(mx.sym.var("a"), mx.sym.var("y"))
    exe = z.simple_bind(mx.cpu(), a=(2, 3), y=(2, 3))
    out = exe.forward(is_train=True, a=mx.nd.ones((2, 3)) * 3)[0]
    exe.backward(mx.nd.ones((2, 3)) * 2)
    np.testing.assert_array_equal(out.asnumpy(), np.full((2, 3), 3.0))
    np.testing.assert_array_equal(exe.grad_dict["a"].asnumpy(), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(exe.grad_dict["y"].asnumpy(), np.zeros((2, 3)))


def test_unknown_dimensions_are_0_or_minus_1_with_np_shape():
    x, y = mx.sym.var("x"), mx.sym.var("y")
    z = mx.sym.batch_dot(x, y)
    assert z.infer_shape_partial(x=(0, 3, 4), y=(0, 4, 5))[1] == [(0, 3, 5)]
    assert z.infer_shape_partial(x=(0, 3, 4), y=(0, 0, 5))[1] == [()]
    with mx.np_shape(True):
        assert z.infer_shape_partial(x=(-1, 3, 4), y=(-1, 4, 5))[1] == [(-1, 3, 5)]
        assert z.infer_shape_partial(x=(-1, 3, 4), y=(-1, -1, 5))[1] == [None]
        # 0 is an empty dimension here, carried like any other size
        assert mx.sym.relu(x).infer_shape_partial(x=(-1, 0, 3))[1] == [(-1, 0, 3)]
        args, outs, _ = mx.sym.sin(x).infer_shape_partial()
        assert (args, outs) == ([None], [None])
    args, outs, _ = mx.sym.sin(x).infer_shape_partial()
    assert (args, outs) == ([()], [()])


def test_where_needs_a_known_condition_and_slices_keep_unknowns():
    cond, x, y = mx.sym.var("cond"), mx.sym.var("x"), mx.sym.var("y")
    w = mx.sym.where(cond, x, y)
    assert w.infer_shape_partial(cond=(0, 2), x=(0, 2), y=(0, 2))[1] == [()]
    assert w.infer_shape_partial(cond=(0,), x=(2, 2), y=(2, 2))[1] == [()]
    assert w.infer_shape_partial(cond=(2,), x=(2, 2), y=(0, 2))[1] == [(2, 2)]
    data = mx.sym.var("data", shape=(0, 20))
    out = mx.sym.slice(data, begin=(None, 3), end=(5, 10))
    assert out.infer_shape_partial()[1] == [(0, 7)]
    out = mx.sym.slice(data, begin=(2, 3), end=(None, 10), step=(3, 3))
    assert out.infer_shape_partial()[1] == [(0, 3)]


def test_infer_shape_gives_none_and_warns_when_incomplete():
    data, prev = mx.sym.var("data"), mx.sym.var("prevstate")
    x2h = mx.sym.FullyConnected(data=data, name="x2h", num_hidden=8)
    h2h = mx.sym.FullyConnected(data=prev, name="h2h", num_hidden=8)
    out = mx.sym.Activation(mx.sym.elemwise_add(x2h, h2h), act_type="relu")
    with pytest.warns(UserWarning, match="h2h_weight"):
        assert out.infer_shape(data=(10, 4)) == (None, None, None)
    args = _by_name(out, out.infer_shape_partial(data=(10, 4))[0])
    # the sum's shape gives h2h's output, not its weight (the state size stays unknown)
    assert args["x2h_weight"] == (8, 4) and args["h2h_weight"] == ()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        args = _by_name(out, out.infer_shape(data=(10, 4), prevstate=(10, 8))[0])
    assert args["h2h_weight"] == (8, 8)


def test_every_operator_is_checked_even_when_its_shapes_are_known():
    v, x = mx.sym.var("V"), mx.sym.var("x")
    s3 = mx.sym.transpose(v) + (x + v)
    with pytest.raises(MXNetError, match=r"transpose.*\(2, 3\).*\(3, 2\)"):
        s3.simple_bind(ctx=mx.cpu(), x=(2, 3), grad_req="null")


def test_creator_with_unknown_dimensions_takes_the_inferred_shape():
    o1, o2 = mx.sym.ones(shape=[2, -1]), mx.sym.ones(shape=[3, -1])
    b = o1 + mx.sym.transpose(o2)
    assert b.infer_shape_partial() == ([], [(2, 3)], [])
    out = b.bind(mx.cpu(), args={}).forward()[0]
    np.testing.assert_array_equal(out.asnumpy(), np.full((2, 3), 2.0))


def test_cast_gives_its_type_without_a_known_input():
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(mx.sym.Cast(data, dtype="float32"), num_hidden=4, name="fc1")
    mlp = mx.sym.SoftmaxOutput(fc, name="softmax")
    assert mlp.infer_type(data=np.float16)[0] == [np.float16] + [np.float32] * 3
    args, outs, aux = mlp.infer_type_partial()
    assert (args, outs, aux) == ([None, np.float32, np.float32, np.float32], [np.float32], [])


def test_reshape_reverse_with_split_and_old_target_shape():
    x = mx.sym.var("x")
    assert mx.sym.reshape(x, shape=(16, 4, -4), reverse=True).infer_shape(x=(64,))[1] == [(16, 4)]
    net = mx.sym.reshape(x, shape=(-2, -1, 16, -4), reverse=True)
    assert net.infer_shape(x=(1, 2, 3, 64))[1] == [(1, 2, 3, 4, 16)]
    assert mx.sym.Reshape(x, target_shape=(2, 0)).infer_shape(x=(2, 3, 5, 5))[1] == [(2, 75)]


def test_index_array_shapes_and_zero_dim_input():
    d = mx.sym.var("d")
    assert mx.sym.contrib.index_array(d, axes=(1,)).infer_shape(d=(3, 4))[1] == [(3, 4, 1)]
    assert mx.sym.contrib.index_array(d).infer_type(d="float32")[1] == [np.int64]
    with mx.np_shape(True):
        exe = mx.sym.contrib.index_array(d).bind(mx.cpu(), {"d": mx.nd.ones(())})
        assert exe.forward()[0].shape == (0,)


def test_simple_bind_ignores_keywords_that_are_not_shapes():
    r = mx.sym.take(mx.sym.var("a"), mx.sym.var("indices"), axis=1)
    exe = r.simple_bind(mx.cpu(), a=(3, 4), indices=(2,), axis=1, mode="clip")
    assert exe.outputs[0].shape == (3, 2)
    with pytest.raises(MXNetError, match="shape of input 'a' must be a tuple, got int 5"):
        r.simple_bind(mx.cpu(), a=5, indices=(2,))


def test_partial_inference_draws_no_random_numbers():
    # inferring a sampler's shapes from made-up sizes must not move a seeded stream
    x = mx.sym.var("x", shape=(0, 3))
    net = mx.sym.random.uniform_like(x) + mx.sym.var("y", shape=(4, 0))
    mx.random.seed(7)
    expected = mx.nd.random.uniform(shape=(5,)).asnumpy()
    mx.random.seed(7)
    args, outs, _ = net.infer_shape_partial()
    assert args == [(4, 3), (4, 3)] and outs == [(4, 3)]
    np.testing.assert_array_equal(mx.nd.random.uniform(shape=(5,)).asnumpy(), expected)


def test_simple_bind_zero_size_only_in_np_shape_mode():
    net = mx.sym.var("x") * 2
    with mx.np_shape(True):
        assert net.simple_bind(mx.cpu(), x=(0, 3)).outputs[0].shape == (0, 3)
        with pytest.raises(MXNetError, match=r"cannot infer the shapes of \['x'\]"):
            net.simple_bind(mx.cpu(), x=(-1, 3))
    with pytest.raises(MXNetError, match=r"cannot infer the shapes of \['x'\]"):
        net.simple_bind(mx.cpu(), x=(0, 3))  # legacy mode: 0 is an unknown dimension


def test_a_hint_0_is_unknown_in_np_shape_mode_too():
    # Gluon's deferred Dense(16) declares its weight (16, 0) until it sees the input
    weight = mx.sym.var("w", shape=(16, 0))
    net = mx.sym.FullyConnected(mx.sym.var("x"), weight, num_hidden=16, no_bias=True)
    with mx.np_shape(True):
        assert net.infer_shape(x=(2, 2016))[0] == [(2, 2016), (16, 2016)]
        dense = mx.gluon.nn.Dense(16)
        dense.initialize()
        assert dense(mx.nd.zeros((2, 2016))).shape == (2, 16)
