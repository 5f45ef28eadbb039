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
