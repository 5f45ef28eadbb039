"""The executor: gradients equal autograd's and MXNet 1.9.1's, grad_req, BatchNorm
statistics, buffers, reshape, bind/simple_bind and their errors."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import autograd
from distnet.base import MXNetError
from distnet.ndarray.ndarray import invoke

from . import nets

HERE = os.path.join(os.path.dirname(__file__), "fixtures")


def _fill(exe, seed=0, label_classes=10):
    """Random values in the executor's arguments (integer labels) and aux states."""
    rng = np.random.RandomState(seed)
    values = {}
    for name, arr in exe.arg_dict.items():
        v = rng.uniform(-1, 1, arr.shape).astype(np.float32)
        if name.endswith("label"):
            v = rng.randint(0, label_classes, arr.shape).astype(np.float32)
        arr[:] = v
        values[name] = v
    for name, arr in exe.aux_dict.items():
        v = rng.uniform(0.5, 1.5, arr.shape).astype(np.float32)
        arr[:] = v
        values[name] = v
    return values


def _autograd_run(sym, values, head_grads=None, train=True):
    """The same graph run imperatively, op by op on the autograd tape."""
    ix = sym._indexed()
    arrays = {n: mx.nd.array(v) for n, v in values.items()}
    for name in sym.list_arguments():
        arrays[name].attach_grad()
    outputs = {}
    with autograd.record(train_mode=train):
        for node in ix.nodes:
            if node.op is None:
                outputs[id(node)] = [arrays[node.name]]
                continue
            ins = [outputs[id(e[0])][e[1]] for e in node.inputs]
            outputs[id(node)] = invoke(node.op, ins, node.parsed)
        heads = [outputs[id(n)][i] for n, i in sym._outputs]
    autograd.backward(heads, head_grads)
    grads = {n: arrays[n].grad.asnumpy() for n in sym.list_arguments()}
    aux = {n: arrays[n].asnumpy() for n in sym.list_auxiliary_states()}
    return [h.asnumpy() for h in heads], grads, aux


def _close(a, b, scale=1.0):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * max(scale, 1e-3))


@pytest.mark.parametrize(
    "build,shape",
    [
        (lambda: nets.seed_mlp(h1=16), (4, 20)),
        (lambda: nets.lenet(4, 6, 16), (2, 1, 16, 16)),
        (lambda: nets.bn_net(4), (2, 3, 6, 6)),
    ],
    ids=["mlp", "lenet", "batchnorm"],
)
def test_gradients_equal_autograd(build, shape):
    sym = build()
    exe = sym.simple_bind(mx.cpu(), data=shape)
    values = _fill(exe)
    outs = exe.forward(is_train=True)
    exe.backward()
    ref_outs, ref_grads, ref_aux = _autograd_run(sym, values)
    _close(outs[0].asnumpy(), ref_outs[0])
    for name in sym.list_arguments():
        if name.endswith("label"):
            continue
        scale = np.abs(ref_grads[name]).max()
        _close(exe.grad_dict[name].asnumpy(), ref_grads[name], scale)
    for name, value in ref_aux.items():  # BatchNorm's moving statistics, updated alike
        _close(exe.aux_dict[name].asnumpy(), value)
        assert not np.allclose(value, values[name])


with open(os.path.join(HERE, "executor.json")) as _f:
    MX_CASES = json.load(_f)


def _concat_net():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    fa = mx.sym.FullyConnected(a, num_hidden=4, name="fa")
    fb = mx.sym.FullyConnected(b, num_hidden=6, name="fb")
    c = mx.sym.Concat(fa, fb, dim=1, name="cat")
    return mx.sym.FullyConnected(c, num_hidden=3, name="out")


BUILDERS = {
    "mlp": nets.seed_mlp,
    "mlp_add": nets.seed_mlp,
    "lenet": lambda: nets.lenet(4, 6, 16),
    "bn": lambda: nets.bn_net(4),
    "concat_head": _concat_net,
}


@pytest.mark.parametrize("case", sorted(MX_CASES))
def test_executor_matches_mxnet(case):
    meta = MX_CASES[case]
    ref = np.load(os.path.join(HERE, "executor.npz"))
    sym = BUILDERS[case]()
    assert sym.list_arguments() == meta["arguments"]
    exe = sym.simple_bind(
        mx.cpu(), grad_req=meta["grad_req"], **{k: tuple(v) for k, v in meta["shapes"].items()}
    )
    for name, arr in exe.arg_dict.items():
        arr[:] = ref[f"{case}:arg:{name}"]
    for name, arr in exe.aux_dict.items():
        arr[:] = ref[f"{case}:aux:{name}"]
    heads = (
        [mx.nd.array(ref[f"{case}:head{i}"]) for i in range(len(exe.outputs))]
        if meta["head_grads"]
        else None
    )
    for _ in range(meta["steps"]):
        exe.forward(is_train=True)
        exe.backward(heads)
    for i, out in enumerate(exe.outputs):
        _close(out.asnumpy(), ref[f"{case}:out{i}"])
    grads = {k: v for k, v in exe.grad_dict.items() if v is not None}
    assert sorted(grads) == sorted(
        k.split(":")[2] for k in ref.files if k.startswith(f"{case}:grad:")
    )
    scale = max(np.abs(ref[f"{case}:grad:{k}"]).max() for k in grads)
    for name, grad in grads.items():
        _close(grad.asnumpy(), ref[f"{case}:grad:{name}"], scale)
    for name, arr in exe.aux_dict.items():
        _close(arr.asnumpy(), ref[f"{case}:aux_after:{name}"])


def test_grad_req_add_accumulates_and_null_gives_no_array():
    sym = nets.seed_mlp(h1=8)
    exe = sym.simple_bind(
        mx.cpu(), grad_req={"fc1_weight": "add", "fc2_weight": "write"}, data=(3, 5)
    )
    assert [k for k, v in exe.grad_dict.items() if v is not None] == ["fc1_weight", "fc2_weight"]
    _fill(exe)
    exe.forward(is_train=True)
    exe.backward()
    once = {k: exe.grad_dict[k].asnumpy() for k in ("fc1_weight", "fc2_weight")}
    exe.backward()
    exe.forward(is_train=True)
    exe.backward()
    np.testing.assert_allclose(
        exe.grad_dict["fc1_weight"].asnumpy(), 3 * once["fc1_weight"], rtol=1e-5
    )
    np.testing.assert_allclose(exe.grad_dict["fc2_weight"].asnumpy(), once["fc2_weight"])
    null = sym.simple_bind(mx.cpu(), grad_req="null", data=(3, 5))
    assert set(null.grad_dict.values()) == {None}
    with pytest.raises(MXNetError, match="'write', 'add' or 'null'"):
        sym.simple_bind(mx.cpu(), grad_req="sometimes", data=(3, 5))


def test_buffers_are_stable_and_written_in_place():
    exe = nets.seed_mlp(h1=8).simple_bind(mx.cpu(), data=(3, 5))
    out, grad = exe.outputs[0], exe.grad_dict["fc1_weight"]
    assert out.shape == (3, 10)  # allocated at bind, before any forward
    _fill(exe)
    first = exe.forward(is_train=True)
    assert first is exe.outputs and first[0] is out
    values = out.asnumpy()
    exe.backward()
    assert exe.grad_dict["fc1_weight"] is grad and np.abs(grad.asnumpy()).sum() > 0
    exe.arg_dict["data"][:] = 0
    exe.forward()
    assert exe.outputs[0] is out and not np.allclose(out.asnumpy(), values)
    assert exe.output_dict == {"softmax_output": out}


def test_forward_kwargs_copy_inputs():
    exe = nets.seed_mlp(h1=8).simple_bind(mx.cpu(), data=(3, 5))
    data = np.arange(15, dtype=np.float32).reshape(3, 5)
    exe.forward(data=mx.nd.array(data))
    np.testing.assert_array_equal(exe.arg_dict["data"].asnumpy(), data)
    with pytest.raises(
        MXNetError,
        match=r"'data' has shape \(3, 5\), got an array of "
        r"shape \(4, 5\)",
    ):
        exe.forward(data=mx.nd.zeros((4, 5)))
    with pytest.raises(MXNetError, match="unknown argument 'nope'"):
        exe.forward(nope=mx.nd.zeros((3, 5)))


def test_head_gradients():
    fc = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=2, name="fc")
    exe = fc.simple_bind(mx.cpu(), x=(3, 4))
    _fill(exe)
    exe.forward(is_train=True)
    with pytest.raises(MXNetError, match="'fc_output' is not produced by a loss operator"):
        exe.backward()
    exe.backward(mx.nd.ones((3, 2)))
    np.testing.assert_allclose(exe.grad_dict["fc_bias"].asnumpy(), [3, 3])
    exe.backward([mx.nd.ones((3, 2)) * 2])
    np.testing.assert_allclose(exe.grad_dict["fc_bias"].asnumpy(), [6, 6])
    with pytest.raises(MXNetError, match="out_grad for 'fc_output' has shape"):
        exe.backward(mx.nd.ones((3, 3)))
    # extra out_grads past the last output are ignored, as in MXNet
    exe.backward([mx.nd.ones((3, 2)), mx.nd.ones((7,))])
    np.testing.assert_allclose(exe.grad_dict["fc_bias"].asnumpy(), [3, 3])


def test_backward_before_forward_runs_forward():
    # MXNet runs backward on whatever its buffers hold; distnet runs forward first
    x = mx.sym.var("x")
    exe = mx.sym.sin(x).simple_bind(mx.cpu(), x=(2, 3))
    exe.arg_dict["x"][:] = 1.0
    exe.backward(mx.nd.ones((2, 3)) * 3)
    np.testing.assert_allclose(
        exe.grad_dict["x"].asnumpy(), np.full((2, 3), 3 * np.cos(1.0)), rtol=1e-6
    )
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), np.full((2, 3), np.sin(1.0)), rtol=1e-6)


def test_no_head_gradient_where_none_flows():
    """Outputs of argmax, comparisons, shape_array take no head gradient; one passed for
    them is not used (not even its shape), and the inputs' gradients are zeros."""
    x, y = mx.sym.var("x"), mx.sym.var("y")
    for sym, out_grads in (
        (x == y, None),
        (mx.sym.broadcast_greater(x, y), None),
        (mx.sym.argmax(x, axis=1, keepdims=True), [mx.nd.ones((2, 3))]),
        (mx.sym.shape_array(x) + 0, [mx.nd.ones((5,))]),
    ):
        names = sym.list_arguments()
        exe = sym.simple_bind(mx.cpu(), **{n: (2, 3) for n in names})
        exe.grad_dict["x"][:] = 7.0
        exe.forward(is_train=True, **{n: mx.nd.ones((2, 3)) for n in names})
        exe.backward(out_grads)
        np.testing.assert_array_equal(exe.grad_dict["x"].asnumpy(), np.zeros((2, 3)))
    # a gradient that does flow (into y) still needs its head gradient
    exe = (mx.sym.floor(x) * y).simple_bind(mx.cpu(), x=(2, 3), y=(2, 3))
    exe.forward(is_train=True, x=mx.nd.ones((2, 3)) * 2.5, y=mx.nd.ones((2, 3)))
    with pytest.raises(MXNetError, match="head gradient is required"):
        exe.backward()
    exe.backward(mx.nd.ones((2, 3)))
    np.testing.assert_array_equal(exe.grad_dict["y"].asnumpy(), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(exe.grad_dict["x"].asnumpy(), np.zeros((2, 3)))


def test_loss_and_blocked_heads_need_no_head_gradient():
    net = nets.seed_mlp(h1=8)
    feats = mx.sym.BlockGrad(net.get_internals()["relu1_output"])
    exe = mx.sym.Group([net, feats]).simple_bind(mx.cpu(), data=(3, 5))
    _fill(exe)
    exe.forward(is_train=True)
    exe.backward()
    assert np.abs(exe.grad_dict["fc1_weight"].asnumpy()).sum() > 0
    assert exe.outputs[1].shape == (3, 8)


def test_batchnorm_statistics_move_only_in_training():
    exe = nets.bn_net(4).simple_bind(mx.cpu(), data=(2, 3, 6, 6))
    values = _fill(exe)
    exe.forward(is_train=False)
    exe.forward(is_train=True)  # MXNet updates them in backward
    np.testing.assert_array_equal(
        exe.aux_dict["bn1_moving_mean"].asnumpy(), values["bn1_moving_mean"]
    )
    exe.backward()
    moved = exe.aux_dict["bn1_moving_mean"].asnumpy()
    assert not np.allclose(moved, values["bn1_moving_mean"])


def test_reshape_keeps_parameters():
    sym = nets.seed_mlp(h1=8)
    exe = sym.simple_bind(mx.cpu(), data=(4, 5))
    _fill(exe)
    small = exe.reshape(partial_shaping=True, data=(2, 5))
    for name in ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"):
        assert small.arg_dict[name] is exe.arg_dict[name]
        assert small.grad_dict[name] is exe.grad_dict[name]
    assert small.arg_dict["data"].shape == (2, 5) and small.outputs[0].shape == (2, 10)
    np.testing.assert_array_equal(
        small.arg_dict["data"].asnumpy().ravel(), exe.arg_dict["data"].asnumpy().ravel()[:10]
    )
    small.forward(is_train=True)
    small.backward()
    exe.forward()
    np.testing.assert_allclose(exe.outputs[0].asnumpy()[:2], small.outputs[0].asnumpy(), rtol=1e-6)
    with pytest.raises(MXNetError, match="'softmax_label'.*partial_shaping=True"):
        exe.reshape(data=(2, 5))
    with pytest.raises(MXNetError, match="larger than the original.*allow_up_sizing"):
        exe.reshape(partial_shaping=True, data=(8, 5))
    big = exe.reshape(partial_shaping=True, allow_up_sizing=True, data=(8, 5))
    assert big.arg_dict["data"].shape == (8, 5) and big.forward()[0].shape == (8, 10)


def test_bind_uses_the_callers_arrays():
    sym = nets.seed_mlp(h1=4)
    shapes = dict(zip(sym.list_arguments(), sym.infer_shape(data=(2, 3))[0]))
    args = {k: mx.nd.ones(s) for k, s in shapes.items()}
    grads = {"fc1_weight": mx.nd.zeros(shapes["fc1_weight"])}
    exe = sym.bind(mx.cpu(), args, args_grad=grads)
    assert (
        exe.arg_dict["data"] is args["data"] and exe.grad_dict["fc1_weight"] is grads["fc1_weight"]
    )
    assert exe.grad_dict["fc2_weight"] is None
    exe.forward(is_train=True)
    exe.backward()
    assert exe.outputs[0].shape == (2, 10)
    exe2 = sym.bind(mx.cpu(), [args[k] for k in sym.list_arguments()])
    assert set(exe2.grad_dict.values()) == {None}
    with pytest.raises(MXNetError, match="no array for 'fc2_bias'"):
        sym.bind(mx.cpu(), {k: v for k, v in args.items() if k != "fc2_bias"})
    with pytest.raises(MXNetError, match="is on cpu\\(0\\), the executor on cpu\\(1\\)"):
        sym.bind(mx.cpu(1), args)
    bad = dict(args, fc1_weight=mx.nd.ones((5, 3)))
    with pytest.raises(MXNetError, match="'fc1'"):
        sym.bind(mx.cpu(), bad)
    bn = nets.bn_net(2)
    bn_shapes = bn.infer_shape(data=(1, 3, 4, 4))
    bn_args = [mx.nd.ones(s) for s in bn_shapes[0]]
    with pytest.raises(MXNetError, match="aux_states has 0 arrays"):
        bn.bind(mx.cpu(), bn_args)
    exe3 = bn.bind(mx.cpu(), bn_args, aux_states=[mx.nd.ones(s) for s in bn_shapes[2]])
    assert exe3.forward()[0].shape == (1, 10)


def test_simple_bind_errors_and_sharing():
    sym = nets.seed_mlp(h1=4)
    with pytest.raises(MXNetError, match="cannot infer the shapes of"):
        sym.simple_bind(mx.cpu())
    first = sym.simple_bind(mx.cpu(), data=(4, 3))
    buffer = {}
    second = sym.simple_bind(
        mx.cpu(),
        shared_arg_names=["fc1_weight", "fc1_bias"],
        shared_exec=first,
        shared_buffer=buffer,
        data=(2, 3),
    )
    assert second.arg_dict["fc1_weight"] is first.arg_dict["fc1_weight"]
    assert second.grad_dict["fc1_weight"] is first.grad_dict["fc1_weight"]
    assert second.arg_dict["fc2_weight"] is not first.arg_dict["fc2_weight"]
    assert buffer["data"] is second.arg_dict["data"]
    third = sym.simple_bind(mx.cpu(), shared_buffer=buffer, data=(1, 3))
    third.arg_dict["data"][:] = 7
    assert buffer["data"].asnumpy()[0, 0] == 7  # a view of the shared buffer
    f16 = sym.simple_bind(mx.cpu(), type_dict={"data": "float16"}, data=(2, 3))
    assert f16.arg_dict["fc1_weight"].dtype == np.float16


def test_copy_params_from():
    exe = nets.seed_mlp(h1=4).simple_bind(mx.cpu(), data=(2, 3))
    exe.copy_params_from(
        {"fc1_weight": mx.nd.ones((4, 3)), "fc1_bias": np.full((4,), 2.0, np.float64)}
    )
    assert exe.arg_dict["fc1_weight"].asnumpy().sum() == 12
    assert exe.arg_dict["fc1_bias"].asnumpy().tolist() == [2, 2, 2, 2]
    with pytest.raises(MXNetError, match="'zzz' is not in the arguments"):
        exe.copy_params_from({"zzz": mx.nd.ones((1,))})
    exe.copy_params_from({"zzz": mx.nd.ones((1,))}, allow_extra_params=True)
    with pytest.raises(MXNetError, match="'fc1_weight' has shape"):
        exe.copy_params_from({"fc1_weight": mx.nd.ones((3, 3))})


def test_monitor_and_eval():
    sym = nets.seed_mlp(h1=4)
    exe = sym.simple_bind(mx.cpu(), data=(2, 3))
    seen = []
    exe.set_monitor_callback(lambda name, arr: seen.append((name, arr.shape)))
    exe.forward()
    assert seen == [
        ("fc1_output", (2, 4)),
        ("relu1_output", (2, 4)),
        ("fc2_output", (2, 10)),
        ("softmax_output", (2, 10)),
    ]
    x = mx.sym.var("x")
    res = (x * 2 + 1).eval(x=mx.nd.array([1, 2]))
    assert res[0].asnumpy().tolist() == [3, 5]


def test_operator_failure_names_the_node():
    sym = mx.sym.dot(mx.sym.var("a"), mx.sym.var("b"), name="prod")
    exe = sym.bind(mx.cpu(), {"a": mx.nd.ones((2, 3)), "b": mx.nd.ones((3, 2))})
    exe.arg_arrays[1]._data = np.ones((4, 2), np.float32)  # bypasses bind's checks
    with pytest.raises(
        MXNetError,
        match=r"forward of operator 'prod' \(dot\).*"
        r"b: \(4, 2\)",
    ):
        exe.forward()


def test_reshaped_executor_writes_into_the_original_outputs():
    x = mx.sym.var("x")
    fc = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
    exe = fc.simple_bind(mx.cpu(), x=(5, 4), grad_req="null")
    exe.arg_dict["x"][:] = 1
    exe.arg_dict["fc_weight"][:] = 1
    exe.arg_dict["fc_bias"][:] = 0
    exe.forward()
    small = exe.reshape(x=(3, 4))
    small.arg_dict["x"][:] = 2
    small.forward()
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), np.full((3, 4), 8.0))
    # MXNet's reshape shares memory: the original's first rows hold the new values
    np.testing.assert_array_equal(exe.outputs[0].asnumpy()[:3], np.full((3, 4), 8.0))
    exe.forward()
    np.testing.assert_array_equal(exe.outputs[0].asnumpy()[3:], np.full((2, 4), 4.0))
    # an output that is a view of a bound argument is never written through
    flat = mx.sym.Flatten(x)
    exe = flat.simple_bind(mx.cpu(), x=(4, 2))
    exe.forward(x=mx.nd.ones((4, 2)))
    small = exe.reshape(x=(2, 2))
    small.forward(x=mx.nd.ones((2, 2)) * 5)
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), np.full((2, 2), 5.0))
