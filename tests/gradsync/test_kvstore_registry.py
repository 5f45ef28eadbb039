"""``kvstore.register`` (MXNet's ``KVStoreBase.register``) and MXNet's store-name rules:
a user's store class is selectable by name through ``mx.kv.create`` and used by Trainer
and Module; every name MXNet accepts selects the same kind of store."""

import warnings

import numpy as np
import pytest

import distnet as mx
import kvstore
from distnet.base import MXNetError
from kvstore.base import canonical_name, kv_registry


@pytest.fixture
def registry():
    """Restore the registry after a test registers classes."""
    assert mx.kv.TestStore  # mx.kv's own registrations happen before the snapshot
    saved = dict(kv_registry)
    yield kv_registry
    kv_registry.clear()
    kv_registry.update(saved)


def _summing_store(log):
    """A store in MXNet's KVStoreBase style: broadcast + pushpull on NDArrays."""

    class SumStore(mx.kv.KVStoreBase):
        def __init__(self):  # MXNet creates registered stores with no arguments
            pass

        def broadcast(self, key, value, out, priority=0):
            log.append(("broadcast", key))
            for o in out if isinstance(out, list) else [out]:
                o[:] = value

        def pushpull(self, key, value, out=None, priority=0):
            log.append(("pushpull", key))
            total = sum(v.as_in_context(value[0].context) for v in value)
            for o in value if out is None else out:
                o[:] = total

        @staticmethod
        def is_capable(capability):
            return False  # the optimizer runs in the trainer

        @property
        def type(self):
            return "sumstore"

        rank, num_workers = 0, 1

    return SumStore


def test_registered_store_is_created_by_lowercased_name(registry):
    log = []
    cls = mx.kv.KVStoreBase.register(_summing_store(log))
    assert registry["sumstore"] is cls
    kv = mx.kv.create("SumStore")
    assert type(kv) is cls and kv.type == "sumstore"  # the user's object, not wrapped
    assert type(mx.kv.create("local")) is mx.kv.KVStore
    assert mx.kv.register is kvstore.register


def test_reregistering_a_name_warns_and_replaces(registry):
    first = kvstore.register(_summing_store([]))
    with pytest.warns(UserWarning, match="overriding existing kvstore"):
        second = kvstore.register(_summing_store([]))
    assert second is not first and registry["sumstore"] is second
    with pytest.raises(kvstore.KVStoreError, match="expected a class"):
        kvstore.register("sumstore")


def test_trainer_uses_a_registered_store_on_two_contexts(registry):
    log = []
    mx.kv.KVStoreBase.register(_summing_store(log))
    ctxs = [mx.cpu(0), mx.cpu(1)]
    net = mx.gluon.nn.Dense(1, in_units=2)
    net.initialize(mx.init.Constant(0.5), ctx=ctxs)
    trainer = mx.gluon.Trainer(
        net.collect_params(), "sgd", {"learning_rate": 0.1}, kvstore="sumstore"
    )
    for ctx in ctxs:
        with mx.autograd.record():
            loss = net(mx.nd.array([[1.0, 2.0]], ctx=ctx)).sum()
        loss.backward()
    trainer.step(1)
    assert trainer._update_on_kvstore is False
    assert ("broadcast", 0) in log and ("pushpull", 0) in log and ("pushpull", 1) in log
    for w in net.weight.list_data():  # gradient [1, 2] summed over two contexts
        np.testing.assert_allclose(w.asnumpy(), [[0.5 - 0.2, 0.5 - 0.4]], rtol=1e-6)


def test_module_uses_a_registered_store_object(registry):
    log = []
    store = mx.kv.KVStoreBase.register(_summing_store(log))()
    data = mx.sym.Variable("data")
    net = mx.sym.LinearRegressionOutput(
        mx.sym.FullyConnected(data, num_hidden=1, name="fc"), name="out"
    )
    mod = mx.mod.Module(net, label_names=["out_label"], context=[mx.cpu(0), mx.cpu(1)])
    it = mx.io.NDArrayIter(
        np.ones((4, 2), np.float32),
        np.zeros((4, 1), np.float32),
        batch_size=4,
        label_name="out_label",
    )
    mod.fit(
        it,
        num_epoch=1,
        kvstore=store,
        optimizer="sgd",
        optimizer_params={"learning_rate": 0.1},
        initializer=mx.init.Constant(0.5),
    )
    assert ("broadcast", "fc_weight") in log and ("pushpull", "fc_weight") in log
    # bias 0 (initializers leave biases at zero): out = 1.0, gradient [1, 1] per sample,
    # summed over the two contexts' halves and scaled by 1/4
    np.testing.assert_allclose(
        mod.get_params()[0]["fc_weight"].asnumpy(), [[0.5 - 0.1, 0.5 - 0.1]], rtol=1e-6
    )


@pytest.mark.parametrize(
    "name, backend",
    [
        ("local", "local"),
        ("Local", "local"),
        ("local_update_cpu", "local"),
        ("local_allreduce_cpu", "local"),
        ("device", "device"),
        ("local_allreduce_device", "device"),
        ("nccl", "device"),
        ("mpi", "mpi"),
        ("dist", "dist_sync"),
        ("dist_sync", "dist_sync"),
        ("DIST_SYNC", "dist_sync"),
        ("dist_async", "dist_async"),
        ("dist_async_device", "dist_async"),
        ("dist_device_sync", "dist_device_sync"),
        ("dist_sync_device", "dist_device_sync"),
    ],
)
def test_mxnet_store_names_select_the_same_backend(name, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unknown name" warning for these
        assert canonical_name(name) == backend


def test_in_process_names_create_working_stores():
    for name, backend in [("local_update_cpu", "local"), ("nccl", "device")]:
        kv = mx.kv.create(name)
        assert kv.type == name and kv._kind == backend  # type: the name, as MXNet
        kv.init("k", mx.nd.ones((2,)))
        out = mx.nd.zeros((2,))
        kv.pushpull("k", [mx.nd.ones((2,)), mx.nd.ones((2,)) * 2], out=out)
        np.testing.assert_array_equal(out.asnumpy(), [3.0, 3.0])


def test_unknown_and_unsupported_names():
    with pytest.warns(UserWarning, match="'mystery' is not a known name"):
        assert canonical_name("mystery") == "local"  # MXNet makes a local store too
    for name, what in [("horovod", "Horovod"), ("BytePS", "BytePS")]:
        with pytest.raises(MXNetError, match=f"kvstore '{name.lower()}' needs {what}.*'dist_sync'"):
            mx.kv.create(name)
    with pytest.raises(MXNetError, match="name must be a string"):
        mx.kv.create(3)


def test_mxnet_dist_names_make_working_dist_stores(run_distributed):
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    names = ["dist", "dist_sync_device"]  # worker r uses names[r], in one job
    job = run_distributed(
        "registry_jobs:dist_names",
        num_workers=2,
        num_servers=1,
        timeout=60,
        env={"PYTHONPATH": here},
        args=[names],
    )
    # the job succeeded and every worker exited 0; the scheduler and server may be stopped
    # by the launcher's SIGTERM once the workers are done (by design), so not their codes
    assert job.returncode == 0, job.output
    assert all(p.returncode == 0 for p in job if p.role == "worker"), [p.output for p in job]
    results = sorted((p.result for p in job if p.result), key=lambda r: r["rank"])
    assert [(r["type"], r["n"], r["sum"]) for r in results] == [
        ("dist_sync", 2, [3.0] * 3),
        ("dist_device_sync", 2, [3.0] * 3),
    ]


def test_mxnets_teststore_is_registered_and_behaves_as_mxnets():
    kv = mx.kv.create("teststore")
    assert kv.type == "teststore" and type(kv).is_capable("optimizer") is False
    out = mx.nd.empty((2,))
    kv.broadcast(1, mx.nd.ones((2,)) * 3, out=out)
    assert out.asnumpy().tolist() == [3, 3]
    values = [mx.nd.ones((2,)), mx.nd.ones((2,)) * 2]
    outs = [mx.nd.empty((2,)), mx.nd.empty((2,))]
    kv.pushpull(1, values, out=outs)
    assert [o.asnumpy().tolist() for o in outs] == [[3, 3], [3, 3]]
    kv.pushpull(1, values)  # no out: the sum goes back into the values
    assert [v.asnumpy().tolist() for v in values] == [[3, 3], [3, 3]]
    with pytest.raises(NotImplementedError):
        kv.set_optimizer(mx.optimizer.SGD())
