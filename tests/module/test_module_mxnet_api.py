"""mx.mon.Monitor on a Module, and set_params' errors, as MXNet 1.9.1."""

import logging

import numpy as np
import pytest

import distnet as mx


def _module():
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(x, name="fc_0", num_hidden=2)
    x = mx.sym.Activation(x, name="act_0", act_type="sigmoid")
    x = mx.sym.LinearRegressionOutput(x, name="softmax")
    mod = mx.mod.Module(x, context=[mx.cpu()])
    mod.bind([("data", (1, 2))], label_shapes=[("softmax_label", (1, 2))])
    mod.init_params(
        arg_params={
            "fc_0_weight": mx.nd.array([[0.15, 0.20], [0.25, 0.30]]),
            "fc_0_bias": mx.nd.array([0.35, 0.35]),
        }
    )
    return mod


def _batch():
    return mx.io.DataBatch([mx.nd.array([[0.05, 0.10]])], [mx.nd.array([[0.01, 0.99]])])


def test_monitor_collects_outputs_gradients_and_arguments(caplog):
    mod = _module()
    mon = mx.mon.Monitor(1, stat_func=lambda x: mx.nd.sum(mx.nd.abs(x)), sort=True)
    mod.install_monitor(mon)
    mon.tic()
    mod.forward_backward(_batch())
    res = mon.toc()
    names = [k for _, k, _ in res]
    assert names == sorted(names) and all(step == 1 for step, _, _ in res)
    assert set(names) == {
        "act_0_backward_output",
        "act_0_output",
        "data",
        "fc_0_backward_output0",
        "fc_0_backward_output1",
        "fc_0_backward_output2",
        "fc_0_bias",
        "fc_0_output",
        "fc_0_weight",
        "softmax_backward_output0",
        "softmax_backward_output1",
        "softmax_label",
        "softmax_output",
    }
    values = {k: v for _, k, v in res}
    assert values["fc_0_bias"] == "0.7\t" and values["softmax_label"] == "1.0\t"
    fc = 0.05 * np.array([0.15, 0.25]) + 0.10 * np.array([0.20, 0.30]) + 0.35
    assert float(values["fc_0_output"]) == pytest.approx(fc.sum(), rel=1e-6)
    assert values["softmax_backward_output1"] == "0.0\t"  # no gradient reaches the label


def test_monitor_interval_pattern_and_toc_print(caplog):
    mod = _module()
    mon = mx.mon.Monitor(2, pattern="fc_0_w")
    mod.install_monitor(mon)
    steps = []
    for _ in range(3):
        mon.tic()
        mod.forward(_batch())
        steps.append(mon.toc())
    assert [len(s) for s in steps] == [1, 0, 1]
    w = np.array([[0.15, 0.20], [0.25, 0.30]])
    assert float(steps[0][0][2]) == pytest.approx(np.linalg.norm(w) / 2, rel=1e-6)
    mon.tic()  # step 3: inactive
    assert mon.toc() == []
    with caplog.at_level(logging.INFO):
        mon.tic()
        mon.toc_print()
    assert "Batch:       5 fc_0_weight" in caplog.text


def test_set_params_unknown_name_is_a_value_error_missing_is_runtime_error():
    mod = _module()
    good = {k: v.copy() for k, v in mod.get_params()[0].items()}
    extra = dict(good, fc_9_weight=mx.nd.ones((2,)))
    with pytest.raises(ValueError, match='Find name "fc_9_weight"'):
        mod.set_params(extra, {}, force_init=True, allow_missing=True)
    mod.set_params(extra, {}, force_init=True, allow_extra=True)
    missing = {"fc_0_weight": good["fc_0_weight"]}
    with pytest.raises(RuntimeError, match="fc_0_bias"):
        mod.set_params(missing, {}, force_init=True)


def _grouped():
    with mx.AttrScope(ctx_group="dev1"):
        a = mx.sym.Variable("a") * 2
    with mx.AttrScope(ctx_group="dev2"):
        b = mx.sym.Variable("b")
        c = a + b
    return c


def test_module_group2ctxs_places_inputs_and_gradients_on_their_group():
    mod = mx.mod.Module(
        _grouped(),
        context=[mx.cpu(0)],
        data_names=["a", "b"],
        label_names=None,
        group2ctxs={"dev1": mx.cpu(1), "dev2": mx.cpu(2)},
    )
    mod.bind(data_shapes=[("a", (2, 3)), ("b", (2, 3))], inputs_need_grad=True)
    mod.init_params()
    batch = mx.io.DataBatch(data=[mx.nd.ones((2, 3)), mx.nd.full((2, 3), 5)])
    mod.forward(batch, is_train=True)
    assert mod.get_outputs()[0].asnumpy().tolist() == [[7.0] * 3] * 2
    mod.backward([mx.nd.ones((2, 3))])
    ga, gb = mod.get_input_grads()
    assert (ga.context, gb.context) == (mx.cpu(1), mx.cpu(2))
    assert ga.asnumpy().tolist() == [[2.0] * 3] * 2 and gb.asnumpy().tolist() == [[1.0] * 3] * 2


def test_bind_with_group2ctx_uses_arrays_of_other_cpu_contexts_in_place():
    with mx.AttrScope(ctx_group="dev1"):
        net = (mx.sym.var("x") + mx.sym.var("y")) * 3
    with mx.AttrScope(ctx_group="dev2"):
        net = net + mx.sym.var("z")
    args = [mx.nd.zeros((2,)), mx.nd.zeros((2,)), mx.nd.zeros((2,), ctx=mx.cpu(1))]
    grads = [mx.nd.zeros((2,)), mx.nd.zeros((2,)), mx.nd.zeros((2,), ctx=mx.cpu(1))]
    exe = net.bind(mx.cpu(0), args, grads, group2ctx={"dev1": mx.cpu(0), "dev2": mx.cpu(1)})
    args[0][:], args[1][:], args[2][:] = 1, 2, 3  # written after bind: the bound arrays
    assert exe.forward(is_train=True)[0].asnumpy().tolist() == [12.0, 12.0]
    exe.backward([mx.nd.ones((2,))])
    assert [g.asnumpy().tolist() for g in grads] == [[3.0, 3.0], [3.0, 3.0], [1.0, 1.0]]
    with pytest.raises(mx.MXNetError, match="use as_in_context"):
        net.bind(mx.cpu(0), args, grads)  # without group2ctx the contexts must match


def test_rnn_begin_states_take_their_batch_from_the_data():
    stack = mx.rnn.SequentialRNNCell()
    for i in range(2):
        stack.add(mx.rnn.LSTMCell(num_hidden=4, prefix=f"l{i}_"))
    begin = stack.begin_state(func=mx.sym.Variable)  # shapes (0, 4): batch unknown
    _, states = stack.unroll(3, begin_state=begin, inputs=mx.sym.Variable("data"))
    arg_shapes, out_shapes, _ = mx.sym.Group(states).infer_shape(data=(5, 3))
    names = mx.sym.Group(states).list_arguments()
    shapes = dict(zip(names, arg_shapes))
    assert all(shapes[s.name] == (5, 4) for s in begin)
    assert out_shapes == [(5, 4)] * 4
    mod = mx.mod.Module(
        mx.sym.Group(states),
        context=[mx.cpu(0), mx.cpu(1)],
        label_names=None,
        state_names=[s.name for s in begin],
    )
    mod.bind(data_shapes=[("data", (6, 3))], for_training=False)
    mod.init_params()
    mod.set_states(value=1)
    mod.forward(mx.io.DataBatch(data=[mx.nd.zeros((6, 3))], label=[]))
    assert [o.shape for o in mod.get_outputs()] == [(6, 4)] * 4


def test_forward_takes_any_object_with_data_and_reshapes():
    from collections import namedtuple

    Batch = namedtuple("Batch", ["data"])  # no label attribute at all
    mod = mx.mod.Module(mx.sym.Variable("data") * 2, label_names=None)
    mod.bind(data_shapes=[("data", (1, 10))])
    mod.init_params()
    mod.forward(Batch([mx.nd.ones((1, 10))]))
    assert mod.get_outputs()[0].shape == (1, 10)
    mod.forward(Batch([mx.nd.ones((3, 5))]))  # a new shape: the module reshapes
    assert mod.get_outputs()[0].asnumpy().tolist() == [[2.0] * 5] * 3


def test_predict_with_an_iterator_naming_its_data_differently():
    """NDArrayIter over a list names its inputs _0_data, _1_data: the module's names hold."""
    net = mx.sym.Variable("data1") + mx.sym.sum(mx.sym.Variable("data2"), axis=1, keepdims=True)
    mod = mx.mod.Module(net, data_names=["data1", "data2"], label_names=None)
    mod.bind(data_shapes=[("data1", (4, 1)), ("data2", (4, 3))], for_training=False)
    mod.init_params()
    it = mx.io.NDArrayIter(data=[mx.nd.ones((6, 1)), mx.nd.ones((6, 3))], batch_size=2)
    assert mod.predict(it).asnumpy().ravel().tolist() == [4.0] * 6


def test_softmax_output_negative_label_pads_without_a_target():
    """MXNet's invalid_label -1: the row's gradient is the softmax itself (checked against
    MXNet 1.9.1); a label >= the number of classes is an error."""
    x = mx.nd.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.SoftmaxOutput(x, mx.nd.array([-1, 2]))
    y.backward()
    np.testing.assert_allclose(
        x.grad.asnumpy(),
        [[0.09003057, 0.24472848, 0.66524094], [1 / 3, 1 / 3, -2 / 3]],
        rtol=1e-6,
    )
    with mx.autograd.record():
        y = mx.nd.SoftmaxOutput(x, mx.nd.array([3, 2]))
    with pytest.raises(mx.MXNetError, match="label 3 is out of range for 3 classes"):
        y.backward()
