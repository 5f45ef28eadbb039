"""Module: binding, parameters and their error rules, fit/predict/score, reshape, states,
optimizer states, and data parallelism over several contexts."""

import logging
import re
import warnings

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from data_iter import SyntheticData


def _mlp(hidden=16, classes=4):
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(x, num_hidden=hidden, name="fc1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.FullyConnected(x, num_hidden=classes, name="fc2")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def _data(n=64, features=8, classes=4, seed=0):
    x, y = SyntheticData(classes, features, seed=seed).get(n)
    return x, y


def _bound(batch=8, features=8, for_training=True, **kw):
    mod = mx.mod.Module(_mlp(), **kw)
    mod.bind(
        data_shapes=[("data", (batch, features))],
        label_shapes=[("softmax_label", (batch,))],
        for_training=for_training,
    )
    mod.init_params(mx.init.Xavier())
    return mod


_TUNING_MODULES = ("_threads", "_memory")  # the modules that log the process tunings


def _log_lines(caplog):
    # distnet._threads logs the process tunings once per process, on the first product: which test
    # runs first decides where that line lands, so it is not part of fit's lines.
    return [r.getMessage() for r in caplog.records if r.module not in _TUNING_MODULES]


# ---- construction and binding ----
def test_constructor_checks_names():
    with pytest.raises(MXNetError, match="input with name 'x' is not found"):
        mx.mod.Module(_mlp(), data_names=["x"])
    with pytest.warns(UserWarning, match="label_names=\\['y'\\]"):
        mx.mod.Module(_mlp(), label_names=["y"])
    with pytest.raises(MXNetError, match="work_load_list has 1 entries for 2 contexts"):
        mx.mod.Module(_mlp(), context=[mx.cpu(0), mx.cpu(1)], work_load_list=[1])
    with pytest.raises(MXNetError, match="context must be a Context"):
        mx.mod.Module(_mlp(), context="cpu")
    mod = mx.mod.Module(_mlp(), fixed_param_names=["fc1_weight"])
    assert mod.data_names == ["data"] and mod.label_names == ["softmax_label"]
    assert mod.output_names == ["softmax_output"]
    assert not (mod.binded or mod.params_initialized or mod.optimizer_initialized)


def test_bind_state_and_rebind_warning(caplog):
    mod = _bound()
    assert mod.binded and mod.for_training and mod.params_initialized
    assert not mod.inputs_need_grad
    assert mod.output_shapes == [("softmax_output", (8, 4))]
    assert mod.data_shapes[0].name == "data" and mod.data_shapes[0].shape == (8, 8)
    mod.bind(data_shapes=[("data", (8, 8))])
    assert "Already bound, ignoring bind()" in _log_lines(caplog)
    with pytest.raises(MXNetError, match="don't match names"):
        mx.mod.Module(_mlp()).bind(data_shapes=[("x", (8, 8))])
    with pytest.raises(MXNetError, match="not bound"):
        mx.mod.Module(_mlp()).forward(mx.io.DataBatch([mx.nd.ones((8, 8))]))
    with pytest.raises(MXNetError, match="call bind before initializing"):
        mx.mod.Module(_mlp()).init_params()


# ---- parameters ----
def test_set_params_error_rules():
    mod = _bound()
    arg, aux = mod.get_params()
    arg = {k: v.copy() for k, v in arg.items()}
    # extra names: ignored on the default path (MXNet), refused with allow_missing
    extra = dict(arg, junk=mx.nd.ones((2,)))
    mod.set_params(extra, aux)
    with pytest.raises(MXNetError, match='Find name "junk" that is not in the arguments'):
        mod.set_params(extra, aux, allow_missing=True)
    mod.set_params(extra, aux, allow_missing=True, allow_extra=True)
    # missing names
    missing = {k: v for k, v in arg.items() if k != "fc1_bias"}
    with pytest.raises(MXNetError, match="fc1_bias is not presented"):
        mod.set_params(missing, aux)
    before = mod.get_params()[0]["fc1_bias"].asnumpy()
    mod.set_params(missing, aux, allow_missing=True)
    np.testing.assert_array_equal(mod.get_params()[0]["fc1_bias"].asnumpy(), before)
    # wrong shape names the parameter
    bad = dict(arg, fc1_weight=mx.nd.ones((3, 3)))
    with pytest.raises(MXNetError, match=r"'fc1_weight'.*\(3, 3\).*\(16, 8\)"):
        mod.set_params(bad, aux)
    with pytest.raises(MXNetError, match=r"'fc1_weight'.*\(3, 3\).*\(16, 8\)"):
        mod.set_params(bad, aux, allow_missing=True)
    # values really land
    new = {k: mx.nd.ones(v.shape) * 0.5 for k, v in arg.items()}
    mod.set_params(new, aux)
    got = mod.get_params()[0]
    assert all(np.all(got[k].asnumpy() == 0.5) for k in new)
    with pytest.warns(UserWarning, match="init_params call ignored"):
        mod.init_params()
    with pytest.warns(UserWarning, match="set_params call ignored"):
        mod.set_params(new, aux, allow_missing=True, force_init=False)


def test_init_params_uses_given_values_then_initializer():
    mod = mx.mod.Module(_mlp())
    mod.bind(data_shapes=[("data", (8, 8))], label_shapes=[("softmax_label", (8,))])
    given = {"fc1_weight": mx.nd.ones((16, 8))}
    mod.init_params(mx.init.Constant(0.25), arg_params=given, allow_missing=True)
    arg, _ = mod.get_params()
    assert np.all(arg["fc1_weight"].asnumpy() == 1)
    assert np.all(arg["fc2_weight"].asnumpy() == 0.25)
    # default initializer is Uniform(0.01), as MXNet's Module
    mod2 = mx.mod.Module(_mlp())
    mod2.bind(data_shapes=[("data", (8, 8))], label_shapes=[("softmax_label", (8,))])
    mod2.init_params()
    w = mod2.get_params()[0]["fc1_weight"].asnumpy()
    assert np.abs(w).max() <= 0.01 and w.std() > 0


def test_save_and_load_params(tmp_path):
    mod = _bound()
    fname = str(tmp_path / "m.params")
    mod.save_params(fname)
    assert sorted(mx.nd.load(fname)) == [
        "arg:fc1_bias",
        "arg:fc1_weight",
        "arg:fc2_bias",
        "arg:fc2_weight",
    ]
    mod2 = _bound()
    mod2.load_params(fname)
    for k, v in mod.get_params()[0].items():
        np.testing.assert_array_equal(mod2.get_params()[0][k].asnumpy(), v.asnumpy())


# ---- fit, logs, predict, score ----
def test_fit_logs_mxnet_lines_and_resumes_from_begin_epoch(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.INFO)
    x, y = _data(80)
    train = mx.io.NDArrayIter(x, y, batch_size=8)
    val = mx.io.NDArrayIter(x[:40], y[:40], batch_size=8)
    mod = mx.mod.Module(_mlp())
    mod.fit(
        train,
        eval_data=val,
        eval_metric="acc",
        num_epoch=2,
        batch_end_callback=mx.callback.Speedometer(8, 5),
        epoch_end_callback=mx.callback.do_checkpoint("mx_mlp"),
    )
    lines = _log_lines(caplog)
    assert lines[0].startswith("Epoch[0] Batch [0-5]\tSpeed: ")
    assert lines[0].split("\t")[2].startswith("accuracy=")
    assert re.fullmatch(r"Epoch\[0\] Train-accuracy=\d\.\d{6}", lines[1])
    assert re.fullmatch(r"Epoch\[0\] Time cost=\d+\.\d{3}", lines[2])
    assert lines[3] == 'Saved checkpoint to "mx_mlp-0001.params"'
    assert re.fullmatch(r"Epoch\[0\] Validation-accuracy=\d\.\d{6}", lines[4])
    assert lines[5].startswith("Epoch[1] Batch [0-5]")
    assert lines[8] == 'Saved checkpoint to "mx_mlp-0002.params"'
    assert len(lines) == 10
    caplog.clear()
    mod.fit(train, eval_data=val, eval_metric=["acc", "ce"], num_epoch=3, begin_epoch=2)
    lines = _log_lines(caplog)
    assert lines[:2] == [
        "Already bound, ignoring bind()",
        "optimizer already initialized, ignoring...",
    ]
    assert [l.split("=")[0] for l in lines[2:]] == [
        "Epoch[2] Train-accuracy",
        "Epoch[2] Train-cross-entropy",
        "Epoch[2] Time cost",
        "Epoch[2] Validation-accuracy",
        "Epoch[2] Validation-cross-entropy",
    ]


def test_fit_learns_and_requires_num_epoch():
    x, y = _data(128)
    train = mx.io.NDArrayIter(x, y, batch_size=16, shuffle=True)
    mod = mx.mod.Module(_mlp())
    with pytest.raises(MXNetError, match="num_epoch"):
        mod.fit(train)
    mod.fit(
        train, optimizer_params={"learning_rate": 0.5}, num_epoch=8, initializer=mx.init.Xavier()
    )
    assert mod.score(mx.io.NDArrayIter(x, y, batch_size=16), "acc")[0][1] > 0.95


def test_predict_merge_pad_and_lists():
    x, y = _data(20)
    mod = _bound(batch=8, for_training=False)
    it = mx.io.NDArrayIter(x, y, batch_size=8)  # 3 batches, the last padded by 4
    out = mod.predict(it)
    assert out.shape == (20, 4)
    ref = mod.predict(mx.nd.array(x[:8]))
    np.testing.assert_allclose(out.asnumpy()[:8], ref.asnumpy(), rtol=1e-6)
    assert isinstance(mod.predict(it, always_output_list=True), list)
    per_batch = mod.predict(it, merge_batches=False)
    assert [o[0].shape for o in per_batch] == [(8, 4), (8, 4), (4, 4)]
    assert len(mod.predict(it, num_batch=2, merge_batches=False)) == 2
    with pytest.raises(MXNetError, match="NDArray or DataIter"):
        mod.predict([1, 2, 3])
    seen = [(i, outs[0].shape) for outs, i, _ in mod.iter_predict(it)]
    assert seen == [(0, (8, 4)), (1, (8, 4)), (2, (4, 4))]


def test_score_callbacks_and_num_batch():
    x, y = _data(32)
    mod = _bound()
    calls = []
    res = mod.score(
        mx.io.NDArrayIter(x, y, batch_size=8),
        mx.metric.Accuracy(),
        num_batch=3,
        batch_end_callback=lambda p: calls.append(("b", p.nbatch)),
        score_end_callback=lambda p: calls.append(("end", p.nbatch)),
    )
    assert calls == [("b", 0), ("b", 1), ("b", 2), ("end", 3)]
    assert res[0][0] == "accuracy"


# ---- forward/backward details ----
def test_forward_reshapes_for_a_new_batch_size_sharing_params():
    mod = _bound(batch=8)
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1})
    x, y = _data(8)
    small = mx.io.DataBatch([mx.nd.array(x[:5])], [mx.nd.array(y[:5])])
    mod.forward(small, is_train=True)
    assert mod.get_outputs()[0].shape == (5, 4)
    assert mod.data_shapes[0].shape == (5, 8) and mod.label_shapes[0].shape == (5,)
    mod.backward()
    mod.update()
    w_after = mod.get_params()[0]["fc1_weight"].asnumpy()
    mod.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]), is_train=False)
    assert mod.get_outputs()[0].shape == (8, 4)
    # the 8-batch executor sees the update done through the 5-batch one
    ref = _bound(batch=8, for_training=False)
    ref.set_params(*mod.get_params())
    np.testing.assert_array_equal(ref.get_params()[0]["fc1_weight"].asnumpy(), w_after)
    np.testing.assert_allclose(
        ref.predict(mx.nd.array(x)).asnumpy(), mod.get_outputs()[0].asnumpy(), rtol=1e-6
    )


def test_input_grads_and_out_grads():
    x = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    mod = mx.mod.Module(net, label_names=None)
    mod.bind(data_shapes=[("data", (4, 5))], inputs_need_grad=True)
    mod.init_params(mx.init.Xavier())
    data = np.random.RandomState(0).rand(4, 5).astype(np.float32)
    mod.forward(mx.io.DataBatch([mx.nd.array(data)]), is_train=True)
    head = np.ones((4, 3), np.float32)
    mod.backward([mx.nd.array(head)])
    w = mod.get_params()[0]["fc_weight"].asnumpy()
    np.testing.assert_allclose(mod.get_input_grads()[0].asnumpy(), head @ w, rtol=1e-5)
    assert mod.get_input_grads(merge_multi_context=False)[0][0].shape == (4, 5)
    no_grad = _bound()
    with pytest.raises(MXNetError, match="inputs_need_grad"):
        no_grad.get_input_grads()
    infer = _bound(for_training=False)
    infer.forward(mx.io.DataBatch([mx.nd.ones((8, 8))]))
    with pytest.raises(MXNetError, match="for_training=True"):
        infer.backward()


def test_fixed_params_and_grad_req_add():
    x, y = _data(8)
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    mod = mx.mod.Module(_mlp(), fixed_param_names=["fc1_weight"])
    mod.bind(data_shapes=[("data", (8, 8))], label_shapes=[("softmax_label", (8,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    before = {k: v.asnumpy().copy() for k, v in mod.get_params()[0].items()}
    mod.forward_backward(batch)
    mod.update()
    after = mod.get_params()[0]
    np.testing.assert_array_equal(after["fc1_weight"].asnumpy(), before["fc1_weight"])
    assert not np.array_equal(after["fc2_weight"].asnumpy(), before["fc2_weight"])
    # grad_req='add' accumulates over backward calls
    add = mx.mod.Module(_mlp())
    add.bind(data_shapes=[("data", (8, 8))], label_shapes=[("softmax_label", (8,))], grad_req="add")
    add.init_params(mx.init.Xavier())
    add.forward_backward(batch)
    g1 = add._exec_group.grad_arrays[0][0].asnumpy().copy()
    add.forward_backward(batch)
    np.testing.assert_allclose(add._exec_group.grad_arrays[0][0].asnumpy(), 2 * g1, rtol=1e-5)


def test_state_names_get_and_set_states():
    data = mx.sym.Variable("data")
    state = mx.sym.Variable("state")
    net = mx.sym.FullyConnected(data, num_hidden=3, name="fc") + state
    mod = mx.mod.Module(net, label_names=None, state_names=["state"])
    mod.bind(data_shapes=[("data", (2, 4))], for_training=False)
    mod.init_params(mx.init.Zero())
    mod.set_states(value=1.5)
    mod.forward(mx.io.DataBatch([mx.nd.ones((2, 4))]))
    np.testing.assert_array_equal(mod.get_outputs()[0].asnumpy(), np.full((2, 3), 1.5))
    states = mod.get_states(merge_multi_context=False)
    assert len(states) == 1 and states[0][0].shape == (2, 3)
    mod.set_states(states=[[mx.nd.ones((2, 3)) * 4]])
    mod.forward(mx.io.DataBatch([mx.nd.ones((2, 4))]))
    np.testing.assert_array_equal(mod.get_outputs()[0].asnumpy(), np.full((2, 3), 4.0))
    with pytest.raises(MXNetError, match="Only one of states & value"):
        mod.set_states(states=states, value=1)
    with pytest.raises(MXNetError, match="not supported"):
        mod.get_states()


# ---- optimizer states and resuming ----
def _train_steps(mod, batches):
    for b in batches:
        mod.forward_backward(b)
        mod.update()


def test_optimizer_states_resume_exactly(tmp_path):
    x, y = _data(32)
    batches = [
        mx.io.DataBatch([mx.nd.array(x[i : i + 8])], [mx.nd.array(y[i : i + 8])])
        for i in range(0, 32, 8)
    ]
    params = {"learning_rate": 0.1, "momentum": 0.9}
    mod = _bound()
    mod.init_optimizer(optimizer_params=params)
    _train_steps(mod, batches[:2])
    prefix = str(tmp_path / "ck")
    mod.save_checkpoint(prefix, 2, save_optimizer_states=True)
    _train_steps(mod, batches[2:])
    resumed = mx.mod.Module.load(prefix, 2, load_optimizer_states=True)
    resumed.bind(data_shapes=[("data", (8, 8))], label_shapes=[("softmax_label", (8,))])
    resumed.init_optimizer(optimizer_params=params)
    _train_steps(resumed, batches[2:])
    for k, v in mod.get_params()[0].items():
        np.testing.assert_allclose(
            resumed.get_params()[0][k].asnumpy(), v.asnumpy(), rtol=1e-6, atol=1e-7
        )
    # without the momentum states the result differs
    fresh = mx.mod.Module.load(prefix, 2)
    fresh.bind(data_shapes=[("data", (8, 8))], label_shapes=[("softmax_label", (8,))])
    fresh.init_optimizer(optimizer_params=params)
    _train_steps(fresh, batches[2:])
    assert not np.allclose(
        fresh.get_params()[0]["fc2_weight"].asnumpy(), mod.get_params()[0]["fc2_weight"].asnumpy()
    )


def test_manual_optimizer_rescale_warning():
    mod = _bound()
    with pytest.warns(UserWarning, match="rescale_grad"):
        mod.init_optimizer(optimizer=mx.optimizer.SGD(learning_rate=0.1))
    mod2 = _bound()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mod2.init_optimizer(optimizer=mx.optimizer.SGD(learning_rate=0.1, rescale_grad=1.0 / 8))
    with pytest.raises(MXNetError, match="optimizer must be a str or an Optimizer"):
        _bound().init_optimizer(optimizer=42)


# ---- data parallelism ----
def _fit_params(context, kvstore="local", work_load_list=None, epochs=2, momentum=0.9):
    x, y = _data(96, seed=3)
    it = mx.io.NDArrayIter(x, y, batch_size=12)
    mod = mx.mod.Module(_mlp(), context=context, work_load_list=work_load_list)
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Constant(0.0))
    init = {
        k: mx.nd.array(np.random.RandomState(7).uniform(-0.3, 0.3, v.shape))
        for k, v in mod.get_params()[0].items()
    }
    mod.set_params(init, {})
    mod.fit(
        it,
        num_epoch=epochs,
        kvstore=kvstore,
        optimizer_params={"learning_rate": 0.2, "momentum": momentum},
    )
    return mod, {k: v.asnumpy() for k, v in mod.get_params()[0].items()}


@pytest.mark.parametrize("kvstore", ["local", "device"])
def test_two_contexts_match_one(kvstore):
    _, one = _fit_params(mx.cpu(0))
    mod, two = _fit_params([mx.cpu(0), mx.cpu(1)], kvstore=kvstore)
    assert mod._kvstore is not None and mod._kvstore.type == kvstore
    for k in one:
        np.testing.assert_allclose(two[k], one[k], rtol=2e-5, atol=2e-6)
    # every context holds the same parameters
    for block in mod._exec_group.param_arrays:
        np.testing.assert_array_equal(block[0].asnumpy(), block[1].asnumpy())


def test_work_load_list_slices_and_merged_outputs(monkeypatch):
    _, one = _fit_params(mx.cpu(0), epochs=1)
    mod, three = _fit_params([mx.cpu(0), mx.cpu(1), mx.cpu(2)], work_load_list=[1, 2, 3], epochs=1)
    assert mod._exec_group.slices == [slice(0, 2), slice(2, 6), slice(6, 12)]
    for k in one:
        np.testing.assert_allclose(three[k], one[k], rtol=2e-5, atol=2e-6)
    x, _ = _data(12, seed=3)
    out = mod.predict(mx.nd.array(x))
    assert out.shape == (12, 4)
    parts = mod.get_outputs(merge_multi_context=False)[0]
    assert [p.shape for p in parts] == [(2, 4), (4, 4), (6, 4)]
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in parts]), out.asnumpy())
    # updating on the devices (MXNET_UPDATE_ON_KVSTORE=0) gives the same result
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    mod0, dev = _fit_params([mx.cpu(0), mx.cpu(1)], epochs=1)
    assert mod0._update_on_kvstore is False and mod0._updater is not None
    for k in one:
        np.testing.assert_allclose(dev[k], one[k], rtol=2e-5, atol=2e-6)


def test_multi_context_score_and_input_grads():
    x, y = _data(16)
    one = _bound(batch=16)
    two = mx.mod.Module(_mlp(), context=[mx.cpu(0), mx.cpu(1)])
    two.bind(
        data_shapes=[("data", (16, 8))],
        label_shapes=[("softmax_label", (16,))],
        inputs_need_grad=True,
    )
    two.set_params(*one.get_params())
    it = mx.io.NDArrayIter(x, y, batch_size=16)
    assert two.score(it, "ce")[0][1] == pytest.approx(one.score(it, "ce")[0][1], rel=1e-6)
    two.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
    assert two.get_input_grads()[0].shape == (16, 8)


def test_single_context_has_no_kvstore():
    mod = _bound()
    mod.init_optimizer(kvstore="local")
    assert mod._kvstore is None and mod._update_on_kvstore is False
    two = mx.mod.Module(_mlp(), context=[mx.cpu(0), mx.cpu(1)])
    two.bind(data_shapes=[("data", (8, 8))], label_shapes=[("softmax_label", (8,))])
    two.init_params()
    two.init_optimizer(kvstore=None)
    assert two._kvstore is None
    with pytest.raises(MXNetError, match="kvstore must be"):
        _bound().init_optimizer(kvstore=3)
    # a KVStore object is used even with one context (updates on the store)
    _, plain = _fit_params(mx.cpu(0), epochs=1)
    mod, stored = _fit_params(mx.cpu(0), kvstore=mx.kv.create("local"), epochs=1)
    assert mod._update_on_kvstore is True
    for k in plain:
        np.testing.assert_allclose(stored[k], plain[k], rtol=1e-5, atol=1e-6)


def test_labels_bound_again_after_a_reshape_without_them():
    """MXNet re-binds without labels here and then trains on stale label arrays."""
    x, y = _data(8)
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    mod = _bound(batch=8)
    ref = _bound(batch=8)
    ref.set_params(*mod.get_params())
    with pytest.warns(UserWarning, match="label_shapes"):
        mod.reshape(data_shapes=[("data", (8, 8))])
    assert mod.label_shapes is None
    for m in (mod, ref):
        m.forward_backward(batch)
    assert mod.label_shapes[0].shape == (8,)
    for g, r in zip(mod._exec_group.grad_arrays, ref._exec_group.grad_arrays):
        np.testing.assert_allclose(g[0].asnumpy(), r[0].asnumpy(), rtol=1e-6)


def test_tnc_layout_is_split_along_axis_1():
    """A time-major input (layout TNC) is sliced along N (axis 1) across contexts."""
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(mx.sym.sum(data, axis=0), num_hidden=4, name="fc")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    rs = np.random.RandomState(0)
    x = rs.rand(3, 12, 5).astype(np.float32)  # T=3, N=12, C=5
    y = rs.randint(0, 4, 12).astype(np.float32)
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    shapes = dict(
        data_shapes=[mx.io.DataDesc("data", (3, 12, 5), layout="TNC")],
        label_shapes=[mx.io.DataDesc("softmax_label", (12,))],
    )
    mods = []
    for ctx in (mx.cpu(0), [mx.cpu(0), mx.cpu(1)]):
        mod = mx.mod.Module(net, context=ctx)
        mod.bind(**shapes)
        mod.init_params(mx.init.Constant(0.1))
        mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
        mod.forward_backward(batch)
        mod.update()
        mods.append(mod)
    one, two = mods
    assert two._exec_group.data_layouts == [1]
    assert [e.arg_dict["data"].shape for e in two._exec_group.execs] == [(3, 6, 5)] * 2
    np.testing.assert_allclose(
        two.get_outputs()[0].asnumpy(), one.get_outputs()[0].asnumpy(), rtol=1e-6
    )
    for k, v in one.get_params()[0].items():
        np.testing.assert_allclose(two.get_params()[0][k].asnumpy(), v.asnumpy(), rtol=1e-5)
