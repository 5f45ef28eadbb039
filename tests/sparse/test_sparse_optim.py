"""Row-sparse gradients: Embedding(sparse_grad=True) in nd/autograd and Gluon, and the lazy
optimizer updates checked against MXNet 1.9.1 (fixture from scripts/fixtures/
gen_sparse_optim.py)."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "sparse", "optim.npz")
CASES = json.loads(str(np.load(FIX)["cases"]))  # as gen_sparse_optim.py ran them


@pytest.mark.parametrize("case", sorted(CASES))
def test_lazy_updates_match_mxnet(case):
    ref = np.load(FIX)
    name, kw = CASES[case]
    opt = mx.optimizer.create(name, rescale_grad=0.5, **kw)
    upd = mx.optimizer.get_updater(opt)
    w = mx.nd.array(ref["w0"])
    for k in range(2):
        g = mx.nd.sparse.row_sparse_array((ref[f"vals{k}"], ref[f"rows{k}"]), shape=w.shape)
        upd(0, g, w)
        np.testing.assert_allclose(
            w.asnumpy(), ref[f"{case}_step{k}"], rtol=1e-5, atol=1e-6, err_msg=f"{case} step {k}"
        )


def test_lazy_sgd_leaves_untouched_rows_and_their_momentum_alone():
    opt = mx.optimizer.create("sgd", learning_rate=1.0, momentum=0.5, wd=0.1)
    w = mx.nd.ones((4, 2))
    state = opt.create_state(0, w)
    g = mx.nd.sparse.row_sparse_array((np.ones((1, 2), "float32"), [2]), shape=(4, 2))
    opt.update(0, w, g, state)
    got = w.asnumpy()
    np.testing.assert_array_equal(got[[0, 1, 3]], 1.0)  # no weight decay either
    np.testing.assert_allclose(got[2], 1.0 - (1.0 + 0.1), rtol=1e-6)
    assert state.asnumpy()[[0, 1, 3]].sum() == 0


def test_embedding_sparse_grad_nd_autograd():
    table = np.arange(20, dtype="float32").reshape(10, 2)
    w = mx.nd.array(table)
    w.attach_grad(stype="row_sparse")
    x = mx.nd.array([[1, 3], [3, 7]])
    with autograd.record():
        y = mx.nd.Embedding(x, w, input_dim=10, output_dim=2, sparse_grad=True)
        loss = (y * y).sum()
    loss.backward()
    g = w.grad
    assert g.stype == "row_sparse" and g.indices.asnumpy().tolist() == [1, 3, 7]
    dense = np.zeros_like(table)
    for i in (1, 3, 3, 7):
        dense[i] += 2 * table[i]
    np.testing.assert_allclose(g.asnumpy(), dense)


def _train(sparse, opt, steps=3):
    mx.random.seed(3)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Embedding(50, 4, sparse_grad=sparse), gluon.nn.Dense(1, flatten=True))
    net.initialize(mx.init.Uniform(0.5))
    trainer = gluon.Trainer(net.collect_params(), opt, {"learning_rate": 0.1, "wd": 0.0})
    rng = np.random.RandomState(0)
    for _ in range(steps):
        x = mx.nd.array(rng.randint(0, 50, (8, 3)))
        y = mx.nd.array(rng.rand(8, 1))
        with autograd.record():
            loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        trainer.step(8)
    return [p.data().asnumpy() for p in net.collect_params().values()], net


@pytest.mark.parametrize("opt", ["sgd", "adagrad"])
def test_gluon_sparse_embedding_trains_as_dense(opt):
    """With wd=0 and no momentum, lazy and dense updates are the same numbers."""
    dense, _ = _train(False, opt)
    sparse, net = _train(True, opt)
    assert net[0].weight.grad().stype == "row_sparse"
    for d, s in zip(dense, sparse):
        np.testing.assert_allclose(s, d, rtol=1e-5, atol=1e-6)


def _module_weights(sparse):
    mx.random.seed(7)
    data = mx.sym.var("data")
    emb = mx.sym.Embedding(data, input_dim=20, output_dim=4, sparse_grad=sparse, name="emb")
    fc = mx.sym.FullyConnected(mx.sym.flatten(emb), num_hidden=1, name="fc")
    out = mx.sym.LinearRegressionOutput(fc, name="lro")
    rng = np.random.RandomState(0)
    it = mx.io.NDArrayIter(
        rng.randint(0, 20, (16, 3)).astype("float32"),
        rng.rand(16, 1).astype("float32"),
        batch_size=4,
        label_name="lro_label",
    )
    mod = mx.mod.Module(out, label_names=["lro_label"])
    mod.fit(
        it,
        num_epoch=2,
        optimizer="sgd",
        optimizer_params={"learning_rate": 0.1},
        initializer=mx.init.Uniform(0.5),
    )
    return {k: v.asnumpy() for k, v in mod.get_params()[0].items()}


def test_module_with_sparse_grad_embedding_trains_as_dense():
    dense, sparse = _module_weights(False), _module_weights(True)
    assert np.abs(dense["emb_weight"]).max() > 0
    for k in dense:
        np.testing.assert_allclose(sparse[k], dense[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_compare_optimizer_accepts_row_sparse_gradients():
    from distnet.test_utils import compare_optimizer

    np.random.seed(0)
    compare_optimizer(
        mx.optimizer.create("sgd", learning_rate=0.1, momentum=0.9),
        mx.optimizer.create("sgd", learning_rate=0.1, momentum=0.9),
        (6, 3),
        np.float32,
        g_stype="row_sparse",
    )


@pytest.mark.parametrize("w_stype", ["row_sparse", "csr"])
def test_optimizers_update_sparse_weights_in_their_storage_type(w_stype):
    """A sparse weight is updated through a dense copy written back in its storage type;
    rows the (row_sparse) gradient does not touch keep their values (lazy sgd)."""
    w = mx.nd.array(np.arange(1, 13, dtype="float32").reshape(4, 3)).tostype(w_stype)
    g = mx.nd.sparse.row_sparse_array((np.ones((1, 3), "float32"), [2]), shape=(4, 3))
    opt = mx.optimizer.create("sgd", learning_rate=0.5, momentum=0.9)
    state = opt.create_state_multi_precision(0, w)
    assert state.stype == "default"
    opt.update_multi_precision(0, w, g, state)
    assert w.stype == w_stype
    want = np.arange(1, 13, dtype="float32").reshape(4, 3)
    want[2] -= 0.5
    np.testing.assert_array_equal(w.asnumpy(), want)


def test_csr_gradient_updates_densely():
    w = mx.nd.ones((2, 3))
    g = mx.nd.array([[0, 2, 0], [1, 0, 0]]).tostype("csr")
    mx.optimizer.create("sgd", learning_rate=1.0).update(0, w, g, None)
    np.testing.assert_array_equal(w.asnumpy(), [[1, -1, 1], [0, 1, 1]])


def test_ftrl_is_lazy_for_row_sparse_weights_only():
    """MXNet 1.9.1 runs its lazy ftrl kernel for a row_sparse weight: rows the gradient
    does not hold keep their values; a dense weight gets the dense update (those rows
    become 0 from zero states)."""
    g = mx.nd.sparse.row_sparse_array((np.ones((1, 2), "float32"), [1]), shape=(3, 2))
    got = {}
    for stype in ("row_sparse", "default"):
        w = mx.nd.ones((3, 2)).tostype(stype)
        opt = mx.optimizer.create("ftrl", learning_rate=0.1)
        opt.update_multi_precision(0, w, g, opt.create_state_multi_precision(0, w))
        got[stype] = w.asnumpy()
    np.testing.assert_array_equal(got["row_sparse"][[0, 2]], 1.0)
    np.testing.assert_array_equal(got["default"][[0, 2]], 0.0)
    np.testing.assert_array_equal(got["row_sparse"][1], got["default"][1])


@pytest.mark.parametrize("fused", [False, True])
def test_lazy_adam_multi_precision_float16_steps_the_master_rows(fused):
    w32 = np.linspace(-1, 1, 8).reshape(4, 2).astype("float32")
    g = mx.nd.sparse.row_sparse_array((np.full((2, 2), 0.5, "float32"), [0, 2]), shape=(4, 2))
    ref = mx.nd.array(w32)
    opt = mx.optimizer.create("adam", learning_rate=0.1)
    opt.update(0, ref, g, opt.create_state(0, ref))
    w = mx.nd.array(w32, dtype="float16")
    opt16 = mx.optimizer.create("adam", learning_rate=0.1, multi_precision=True)
    state = opt16.create_state_multi_precision(0, w)
    if fused:
        opt16.update_multi([0], [w], [g.astype("float16")], [state])
    else:
        opt16.update_multi_precision(0, w, g.astype("float16"), state)
    np.testing.assert_allclose(w.asnumpy(), ref.asnumpy(), rtol=1e-3)
    np.testing.assert_array_equal(w.asnumpy()[[1, 3]], w32[[1, 3]].astype("float16"))
