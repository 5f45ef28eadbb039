"""Training on GPUs: Module and Gluon on one and on two GPUs against the same training on
CPUs, the 'device' kvstore reducing GPU arrays, and a dist_device_sync job."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.gluon import nn

from .conftest import HERE
from .gpu_util import AS_CPU, assert_on, count, dev

rng = np.random.default_rng(5)
FEATURES, CLASSES, N = 20, 4, 96
TEMPLATES = rng.uniform(0, 1, (CLASSES, FEATURES)).astype(np.float32)
Y = rng.integers(0, CLASSES, N).astype(np.float32)
XDATA = TEMPLATES[Y.astype(int)] + rng.uniform(0, 0.5, (N, FEATURES)).astype(np.float32)


def _gpus(n):
    if count() < n:
        pytest.skip(f"needs {n} GPUs, {count()} visible")
    return [dev(i) for i in range(n)]


# ---------------------------------------------------------------- Module ---------------
def _mlp_symbol():
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(x, num_hidden=16, name="fc1")
    x = mx.sym.Activation(x, act_type="relu", name="relu1")
    x = mx.sym.FullyConnected(x, num_hidden=CLASSES, name="fc2")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def _initial_params():
    r = np.random.default_rng(0)
    shapes = {
        "fc1_weight": (16, FEATURES),
        "fc1_bias": (16,),
        "fc2_weight": (CLASSES, 16),
        "fc2_bias": (CLASSES,),
    }
    return {k: nd.array(r.uniform(-0.3, 0.3, s)) for k, s in shapes.items()}


def _module_fit(contexts, kvstore="device"):
    it = mx.io.NDArrayIter(XDATA, Y, batch_size=24, shuffle=False)
    mod = mx.mod.Module(_mlp_symbol(), context=contexts)
    mod.fit(
        it,
        num_epoch=3,
        optimizer="sgd",
        kvstore=kvstore,
        optimizer_params={"learning_rate": 0.2, "momentum": 0.9},
        arg_params=_initial_params(),
        aux_params={},
        force_init=True,
    )
    return mod


def _assert_same_params(got, want):
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_allclose(
            got[name].asnumpy(), want[name].asnumpy(), rtol=1e-4, atol=1e-5, err_msg=name
        )


def _check_module(contexts, cpu_contexts):
    want = _module_fit(cpu_contexts).get_params()[0]
    mod = _module_fit(contexts)
    got = mod.get_params()[0]
    _assert_same_params(got, want)
    assert not np.allclose(
        got["fc1_weight"].asnumpy(), _initial_params()["fc1_weight"].asnumpy()
    )  # it trained
    for i, ctx in enumerate(contexts):  # one executor and parameter copy per device
        exe = mod._exec_group.execs[i]
        assert_on(exe.arg_dict["fc1_weight"], ctx)
        assert_on(exe.grad_dict["fc1_weight"], ctx)
    it = mx.io.NDArrayIter(XDATA, Y, batch_size=24, shuffle=False)
    acc = dict(mod.score(it, "acc"))["accuracy"]
    assert acc > 0.9, acc


def test_module_fit_on_one_gpu_matches_the_cpu():
    _check_module(_gpus(1), [mx.cpu()])


def test_module_fit_on_two_gpus_matches_two_cpus():
    _check_module(_gpus(2), [mx.cpu(0), mx.cpu(1)])


# ---------------------------------------------------------------- Gluon ----------------
def _gluon_train(contexts, hybridize, steps=4):
    mx.random.seed(1)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(16, activation="relu"), nn.Dense(CLASSES))
    net.initialize(mx.init.Xavier(), ctx=contexts)
    if hybridize:
        net.hybridize()
    trainer = mx.gluon.Trainer(
        net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9}, kvstore="device"
    )
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    x, y = nd.array(XDATA[:48]), nd.array(Y[:48])
    for _ in range(steps):
        xs = mx.gluon.utils.split_and_load(x, contexts)
        ys = mx.gluon.utils.split_and_load(y, contexts)
        for part, ctx in zip(xs, contexts):
            assert_on(part, ctx)
        with mx.autograd.record():
            losses = [loss_fn(net(a), b) for a, b in zip(xs, ys)]
        for loss in losses:
            loss.backward()
        trainer.step(x.shape[0])
    return net


def _check_gluon(contexts, cpu_contexts, hybridize):
    want = _gluon_train(cpu_contexts, hybridize)
    net = _gluon_train(contexts, hybridize)
    for (name, p), (_, q) in zip(net.collect_params().items(), want.collect_params().items()):
        assert p.list_ctx() == contexts
        for ctx in contexts:
            assert_on(p.data(ctx), ctx)
            assert_on(p.grad(ctx), ctx)
            np.testing.assert_allclose(
                p.data(ctx).asnumpy(),
                q.data(cpu_contexts[0]).asnumpy(),
                rtol=1e-4,
                atol=1e-5,
                err_msg=name,
            )
    out = net(nd.array(XDATA[:5], ctx=contexts[0]))
    assert_on(out, contexts[0])


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
def test_gluon_trainer_on_one_gpu_matches_the_cpu(hybridize):
    _check_gluon(_gpus(1), [mx.cpu()], hybridize)


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
def test_gluon_split_and_load_over_two_gpus_matches_two_cpus(hybridize):
    _check_gluon(_gpus(2), [mx.cpu(0), mx.cpu(1)], hybridize)


def test_hybridized_lenet_step_on_the_gpu_matches_the_cpu():
    def step(ctx):
        mx.random.seed(2)
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(
                nn.Conv2D(6, 5, activation="relu"),
                nn.MaxPool2D(2, 2),
                nn.Conv2D(8, 3, activation="relu"),
                nn.AvgPool2D(2, 2),
                nn.Flatten(),
                nn.Dense(10),
            )
        net.initialize(mx.init.Xavier(), ctx=ctx)
        net.hybridize()
        trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        x = nd.array(np.random.default_rng(0).uniform(0, 1, (8, 1, 28, 28)), ctx=ctx)
        y = nd.array(np.arange(8) % 10, ctx=ctx)
        loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
        for _ in range(2):
            with mx.autograd.record():
                loss = loss_fn(net(x), y)
            loss.backward()
            trainer.step(8)
        return loss, net

    want_loss, want = step(mx.cpu())
    loss, net = step(dev(0))
    assert_on(loss, dev(0))
    np.testing.assert_allclose(loss.asnumpy(), want_loss.asnumpy(), rtol=1e-4, atol=1e-5)
    for (name, p), (_, q) in zip(net.collect_params().items(), want.collect_params().items()):
        assert_on(p.data(), dev(0))
        np.testing.assert_allclose(
            p.data().asnumpy(), q.data().asnumpy(), rtol=1e-3, atol=1e-5, err_msg=name
        )


# ---------------------------------------------------------------- kvstore --------------
def test_device_kvstore_reduces_gpu_arrays_on_the_gpus():
    ctxs = [dev(0), dev(1) if count() >= 2 else dev(0)]
    kv = mx.kv.create("device")
    shape = (3, 4)
    kv.init("w", nd.zeros(shape, ctx=ctxs[0]))
    grads = [nd.array(np.full(shape, i + 1.0), ctx=c) for i, c in enumerate(ctxs)]
    kv.push("w", grads)
    outs = [nd.zeros(shape, ctx=c) for c in ctxs] + [nd.zeros(shape)]
    kv.pull("w", out=outs)
    for o, c in zip(outs, ctxs + [mx.cpu()]):
        assert_on(o, c)
        np.testing.assert_array_equal(o.asnumpy(), np.full(shape, 3.0))
    stored = kv._store._store["w"]  # reduced on the devices, not copied to the host
    assert type(stored).__module__.split(".")[0] == ("numpy" if AS_CPU else "cupy")
    kv2 = mx.kv.create("device")
    kv2.set_optimizer(mx.optimizer.SGD(learning_rate=0.5))
    weights = [nd.ones(shape, ctx=c) for c in ctxs]
    kv2.init(0, weights[0])
    kv2.push(0, grads)  # the updater runs where the store lives
    kv2.pull(0, out=weights)
    for w, c in zip(weights, ctxs):
        assert_on(w, c)
        np.testing.assert_allclose(w.asnumpy(), np.full(shape, 1 - 0.5 * 3.0))


@pytest.mark.parametrize("nccl", ["1", "0"])
def test_device_kvstore_sums_two_gpus_with_nccl(nccl, monkeypatch):
    """With two GPUs the 'device' store sums through one NCCL reduce (a communicator over
    the two devices exists afterwards); DISTNET_KVSTORE_NCCL=0 adds with peer copies.
    Both give the same sums on both devices."""
    if AS_CPU:
        pytest.skip("NCCL needs real GPUs")
    ctxs = _gpus(2)
    monkeypatch.setenv("DISTNET_KVSTORE_NCCL", nccl)
    kv = mx.kv.create("device")
    shape = (257, 33)
    kv.init(3, nd.zeros(shape, ctx=ctxs[1]))
    grads = [nd.array(np.full(shape, 1.5 * (i + 1)), ctx=c) for i, c in enumerate(ctxs)]
    outs = [nd.zeros(shape, ctx=c) for c in ctxs]
    kv.pushpull(3, grads, out=outs)
    for o, c in zip(outs, ctxs):
        assert_on(o, c)
        np.testing.assert_array_equal(o.asnumpy(), np.full(shape, 4.5, np.float32))
    np.testing.assert_array_equal(grads[1].asnumpy(), 3.0)  # pushed values unchanged
    comms = kv._store._nccl._comms
    assert list(comms) == ([(0, 1)] if nccl == "1" else [])


def test_dist_device_sync_job_with_gpu_arrays(run_distributed):
    env = {"PYTHONPATH": HERE}
    if AS_CPU:
        env["DISTNET_TEST_GPU_AS_CPU"] = "1"
    job = run_distributed("gpu_jobs:device_sync_sums", 2, num_servers=1, timeout=120, env=env)
    job.check()
    results = sorted((w.result for w in job.workers), key=lambda r: r["rank"])
    assert [r["rank"] for r in results] == [0, 1]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for res in results:
        assert res["workers"] == 2 and all(res["placed"])
        for i, outs in enumerate(res["rounds"], start=1):
            # two workers (1x, 2x) times two pushed values each, in round i
            for out in outs:
                np.testing.assert_allclose(out, x * (1 + 2) * 2 * i)
