"""row_sparse push and row_sparse_pull on the 'local' and 'device' stores, Trainer with
sparse gradients through a kvstore, and MXNet's compression rule for sparse pushes."""

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon
from distnet.base import MXNetError

SHAPE = (6, 3)


def _rsp_rows(rows, value, shape=SHAPE):
    v = np.zeros(shape, "float32")
    v[rows] = value
    return mx.nd.array(v).tostype("row_sparse")


@pytest.mark.parametrize("store", ["local", "device"])
def test_push_rows_with_updater_then_pull_subset(store):
    kv = mx.kv.create(store)
    kv.init("9", mx.nd.ones(SHAPE).tostype("row_sparse"))
    kv.set_optimizer(mx.optimizer.create("test", rescale_grad=2))
    # two "devices" push different rows: they are summed, then the updater adds 2x
    kv.push("9", [_rsp_rows([1], 1.0), _rsp_rows([1, 4], 3.0)])
    out = mx.nd.zeros(SHAPE, stype="row_sparse")
    kv.row_sparse_pull("9", out=out, row_ids=mx.nd.array([[4, 1], [1, 5]]))
    assert out.stype == "row_sparse" and out.indices.asnumpy().tolist() == [1, 4, 5]
    expected = np.zeros(SHAPE, "float32")
    expected[[1, 4, 5]] = [[9] * 3, [7] * 3, [1] * 3]
    np.testing.assert_array_equal(out.asnumpy(), expected)
    kv.row_sparse_pull("9", out=out, row_ids=mx.nd.array([]))
    assert out.indices.shape == (0,) and out.asnumpy().sum() == 0


def test_push_rows_without_updater_replaces_the_value():
    kv = mx.kv.create("local")
    kv.init(3, mx.nd.ones(SHAPE))
    kv.push(3, _rsp_rows([2], 5.0))
    dense = mx.nd.zeros(SHAPE)
    kv.pull(3, out=dense)
    expected = np.zeros(SHAPE, "float32")
    expected[2] = 5
    np.testing.assert_array_equal(dense.asnumpy(), expected)


def test_sparse_push_errors_name_key_and_problem():
    kv = mx.kv.create("local")
    kv.init("w", mx.nd.ones(SHAPE))
    with pytest.raises(MXNetError, match="push of key 'w'.*shape"):
        kv.push("w", _rsp_rows([1], 1.0, shape=(7, 3)))
    out = mx.nd.zeros(SHAPE, stype="row_sparse")
    with pytest.raises(MXNetError, match=r"row_ids must be in \[0, 6\)"):
        kv.row_sparse_pull("w", out=out, row_ids=mx.nd.array([9]))
    with pytest.raises(MXNetError, match="out must be a RowSparseNDArray"):
        kv.row_sparse_pull("w", out=mx.nd.zeros(SHAPE), row_ids=mx.nd.array([1]))
    kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    with pytest.raises(
        MXNetError, match="Gradient compression for row sparse storage type is not supported"
    ):
        kv.push("w", _rsp_rows([1], 1.0))


def _train(sparse, kvstore, update_on_kvstore, ctxs, steps=3):
    mx.random.seed(5)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Embedding(40, 4, sparse_grad=sparse), gluon.nn.Dense(1, flatten=True))
    net.initialize(mx.init.Uniform(0.5), ctx=ctxs)
    trainer = gluon.Trainer(
        net.collect_params(),
        "sgd",
        {"learning_rate": 0.1},
        kvstore=kvstore,
        update_on_kvstore=update_on_kvstore,
    )
    rng = np.random.RandomState(1)
    for _ in range(steps):
        x = rng.randint(0, 40, (8, 3))
        y = rng.rand(8, 1)
        with autograd.record():
            losses = [
                ((net(mx.nd.array(x[i::2], ctx=c)) - mx.nd.array(y[i::2], ctx=c)) ** 2).sum()
                for i, c in enumerate(ctxs)
            ]
        autograd.backward(losses)
        trainer.step(8)
    return [p.data(ctxs[0]).asnumpy() for p in net.collect_params().values()]


@pytest.mark.parametrize("update_on_kvstore", [True, False])
def test_trainer_sparse_grads_through_local_kvstore_equal_dense(update_on_kvstore):
    ctxs = [mx.cpu(0), mx.cpu(1)]
    dense = _train(False, "local", update_on_kvstore, ctxs)
    sparse = _train(True, "local", update_on_kvstore, ctxs)
    for d, s in zip(dense, sparse):
        np.testing.assert_allclose(s, d, rtol=1e-5, atol=1e-6)


def test_store_without_row_sparse_path_says_so():
    class _MpiLike:  # kvstore.mpi.MPIStore has no init_rows/push_rows/pull_rows
        type = "mpi"

    kv = mx.kvstore.KVStore(_MpiLike())
    with pytest.raises(MXNetError, match="'mpi' kvstore has no row_sparse support"):
        kv.push("w", _rsp_rows([1], 1.0))
    with pytest.raises(MXNetError, match="'mpi' kvstore has no row_sparse support"):
        kv.init("w", _rsp_rows([1], 1.0))
    with pytest.raises(MXNetError, match="'mpi' kvstore has no row_sparse support"):
        kv.row_sparse_pull(
            "w", out=mx.nd.zeros(SHAPE, stype="row_sparse"), row_ids=mx.nd.array([1])
        )


@pytest.mark.parametrize("store", ["local", "device"])
def test_pull_into_row_sparse_outs_gets_every_row_unless_ignored(store):
    """MXNet's ``pull(ignore_sparse=False)`` fills RowSparseNDArray outs with the whole
    value; the default (``ignore_sparse=True``) leaves them alone."""
    kv = mx.kv.create(store)
    kv.init("a", mx.nd.zeros(SHAPE).tostype("row_sparse"))
    outs = [_rsp_rows([0, 2], 1.0).copyto(mx.cpu(i)) for i in range(3)]
    kv.push("a", outs)
    kept = _rsp_rows([5], 7.0)
    kv.pull("a", out=kept)
    np.testing.assert_array_equal(kept.indices.asnumpy(), [5])
    kv.pull("a", out=outs, ignore_sparse=False)
    want = np.zeros(SHAPE, "float32")
    want[[0, 2]] = 3.0
    for o in outs:
        assert o.stype == "row_sparse"
        np.testing.assert_array_equal(o.asnumpy(), want)
