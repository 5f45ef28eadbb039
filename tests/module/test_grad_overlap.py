"""Gradients leave for the kvstore while backward still runs (issue 6 item 4, Module).

The graph plan reports each variable's gradient as soon as the last node adding to it
has run; the executor writes it into the bound array then and calls its hook; the
executor group turns that into a parameter index once every context is done; Module
sends it to a parameter-server kvstore at once and update() skips it.
"""

import numpy as np
import pytest

import distnet as mx
from distnet.symbol.plan import plan_of

import dist_jobs as jobs


def _shared_weight_net():
    """data -> FC(w) -> relu -> FC(w) -> FC(v) -> loss: w gets two contributions."""
    x = mx.sym.Variable("data")
    w = mx.sym.Variable("w")
    h = mx.sym.FullyConnected(x, weight=w, num_hidden=5, no_bias=True, name="fc_a")
    h = mx.sym.Activation(h, act_type="relu", name="relu")
    h = mx.sym.FullyConnected(h, weight=w, num_hidden=5, no_bias=True, name="fc_b")
    h = mx.sym.FullyConnected(h, num_hidden=3, name="fc_c")
    return mx.sym.SoftmaxOutput(h, name="softmax")


def _bound(net, grad_req="write"):
    ex = net.simple_bind(mx.cpu(), grad_req=grad_req, data=(4, 5), softmax_label=(4,))
    rs = np.random.RandomState(3)
    for name, arr in ex.arg_dict.items():
        arr[:] = (
            rs.randint(0, 3, arr.shape) if name == "softmax_label" else rs.uniform(-1, 1, arr.shape)
        )
    return ex


def test_plan_reports_each_gradient_once_after_its_last_contribution():
    net = _shared_weight_net()
    ex = _bound(net)
    plan = plan_of(net)
    names = net.list_arguments()
    datas = [a._data for a in ex.arg_arrays]
    need = [n != "softmax_label" and n != "data" for n in names]
    state = plan.forward(datas, True)
    reported = []
    grads = plan.backward(state, [None], need, np, lambda p, g: reported.append((p, g.copy())))
    order = [names[p] for p, _ in reported]
    # fc_c's parameters are final first; w only after fc_a, its second (last) user
    assert order == ["fc_c_weight", "fc_c_bias", "w"]
    for p, g in reported:
        np.testing.assert_array_equal(g, grads[p])
    # both contributions are in w's reported gradient: it differs from fc_b's part alone
    state = plan.forward(datas, True)
    alone = plan.backward(state, [None], need, np)[names.index("w")]
    np.testing.assert_array_equal(alone, reported[2][1])


def test_executor_writes_the_gradient_before_calling_its_hook():
    net = _shared_weight_net()
    plain, hooked = _bound(net), _bound(net)
    plain.forward(is_train=True)
    plain.backward()
    seen = {}

    def hook(var, grad):
        arg_index = [id(a) for a in hooked.arg_arrays].index(id(var))
        name = net.list_arguments()[arg_index]
        assert grad is hooked.grad_arrays[arg_index]
        seen[name] = hooked.grad_arrays[arg_index].asnumpy().copy()

    mx.autograd.register_grad_hook(hooked, hook)
    hooked.forward(is_train=True)
    hooked.backward()
    # the label gets no gradient from SoftmaxOutput: zeros written at the end, no hook
    assert sorted(seen) == ["data", "fc_c_bias", "fc_c_weight", "w"]
    for name, value in seen.items():
        np.testing.assert_array_equal(value, plain.grad_dict[name].asnumpy())
    np.testing.assert_array_equal(hooked.grad_dict["softmax_label"].asnumpy(), 0)


def test_executor_hook_adds_under_grad_req_add():
    net = _shared_weight_net()
    ex = _bound(net, grad_req="add")
    mx.autograd.register_grad_hook(ex, lambda var, grad: None)
    for _ in range(2):
        ex.forward(is_train=True)
        ex.backward()
    once = _bound(net)
    once.forward(is_train=True)
    once.backward()
    np.testing.assert_allclose(
        ex.grad_dict["w"].asnumpy(), 2 * once.grad_dict["w"].asnumpy(), rtol=1e-6
    )


def test_a_failing_hook_raises_its_own_error_not_an_operator_error():
    ex = _bound(_shared_weight_net())

    def hook(var, grad):
        raise KeyError("kvstore key 7 is not initialized")

    mx.autograd.register_grad_hook(ex, hook)
    ex.forward(is_train=True)
    with pytest.raises(KeyError, match="kvstore key 7"):
        ex.backward()


def test_group_reports_a_parameter_once_all_contexts_are_final():
    x, y = jobs.dataset()
    it = mx.io.NDArrayIter(x[:8], y[:8], batch_size=8)
    mod = mx.mod.Module(jobs.mlp(mx), context=[mx.cpu(0), mx.cpu(1)])
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Uniform(0.3))
    group = mod._exec_group
    group.forward(next(iter(it)), is_train=True)
    seen = []

    def ready(index):
        # every context's gradient is final now: copy what the kvstore would send
        seen.append(
            (group.param_names[index], [g.asnumpy().copy() for g in group.grad_arrays[index]])
        )

    group.backward(grad_ready=ready)
    assert [name for name, _ in seen] == ["fc2_weight", "fc2_bias", "fc1_weight", "fc1_bias"]
    for name, values in seen:
        final = group.grad_arrays[group.param_names.index(name)]
        for value, grad in zip(values, final):
            np.testing.assert_array_equal(value, grad.asnumpy())


@pytest.mark.parametrize("overlap", ["1", "0"])
def test_module_sends_gradients_during_backward_in_a_dist_job(run_distributed, overlap):
    """With overlap every gradient goes out inside backward, last layer first, and
    update() sends nothing more; DISTNET_GRAD_OVERLAP=0 sends them all in update().
    (test_dist.py checks the overlapped training against one process.)"""
    job = run_distributed(
        "dist_jobs:fit_dist_sync_phases",
        num_workers=2,
        num_servers=1,
        timeout=90,
        env={"DISTNET_GRAD_OVERLAP": overlap},
    )
    job.check()
    results = [w.result for w in job.workers]
    for result in results:
        calls = result["calls"]
        assert len(calls) == 2 * 4  # two batches, four parameters
        phases = {phase for phase, _ in calls}
        assert phases == ({"backward"} if overlap == "1" else {"outside"})
        if overlap == "1":
            assert [key for _, key in calls[:4]] == [
                "fc2_weight",
                "fc2_bias",
                "fc1_weight",
                "fc1_bias",
            ]
    for k, v in results[0]["params"].items():
        np.testing.assert_array_equal(np.array(v), np.array(results[1]["params"][k]))
