"""row_sparse weights in Gluon (Parameter(stype='row_sparse'), Trainer pulling rows,
SparseEmbedding) and autograd on sparse arrays, as MXNet 1.9.1."""

import numpy as np
import pytest

import distnet as mx
from distnet import autograd, gluon

import sparse_jobs as jobs


def _rsp_param(ctx=(mx.cpu(0), mx.cpu(1)), init="xavier"):
    p = gluon.Parameter("weight", shape=(10, 4), stype="row_sparse", grad_stype="row_sparse")
    p.initialize(init=init, ctx=list(ctx))
    return p


def test_row_sparse_parameter_refuses_dense_access_and_needs_a_trainer():
    p = _rsp_param()
    with pytest.raises(RuntimeError, match="via data\\(\\) because its storage type is row_sparse"):
        p.data()
    with pytest.raises(RuntimeError, match="Please use row_sparse_data\\(\\) instead"):
        p.list_data()
    rows = mx.nd.arange(0, 10)
    with pytest.raises(RuntimeError, match="when no Trainer is created with it"):
        p.row_sparse_data(rows)
    dense = gluon.Parameter("dense", shape=(10, 4))
    dense.initialize(ctx=mx.cpu(0))
    with pytest.raises(RuntimeError, match="Please use data\\(\\) instead"):
        dense.row_sparse_data(rows)
    assert [g.stype for g in p.list_grad()] == ["row_sparse", "row_sparse"]
    assert p.var().attr("__storage_type__") == "1"


def test_a_row_sparse_parameter_takes_one_trainer():
    p = _rsp_param(ctx=(mx.cpu(0),))
    first = gluon.Trainer([p], "sgd")
    assert p._trainer is first
    p._set_trainer(None)  # detaching and re-attaching the same trainer is fine
    p._set_trainer(first)
    with pytest.raises(RuntimeError, match="More than one trainers for a row_sparse Parameter"):
        gluon.Trainer([p], "sgd")
    dense = gluon.Parameter("dense", shape=(2, 2))
    dense.initialize()
    gluon.Trainer([dense], "sgd")
    gluon.Trainer([dense], "sgd")  # a dense parameter may be shared by trainers


@pytest.mark.parametrize("stype, grad_stype", [("csr", "default"), ("default", "bad")])
def test_invalid_storage_types_are_assertion_errors(stype, grad_stype):
    with pytest.raises(AssertionError, match="must be one of 'default' or 'row_sparse'"):
        gluon.Parameter("w", shape=(2, 2), stype=stype, grad_stype=grad_stype)


def test_row_sparse_data_pulls_only_the_requested_rows():
    p = _rsp_param()
    table = p._data[0].asnumpy()
    gluon.Trainer([p], "sgd")
    got = p.row_sparse_data(mx.nd.array([7, 2, 2], ctx=mx.cpu(1)))
    assert got.context == mx.cpu(1) and got.stype == "row_sparse"
    np.testing.assert_array_equal(got.indices.asnumpy(), [2, 7])
    np.testing.assert_array_equal(got.data.asnumpy(), table[[2, 7]])
    both = p.list_row_sparse_data(mx.nd.array([0]))
    assert [a.indices.asnumpy().tolist() for a in both] == [[0], [0]]


@pytest.mark.parametrize("kv", ["local", "device"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_sparse_embedding_training_equals_dense_table_lazy_updates(kv, optimizer):
    want = jobs.train_embedding(None, True, optimizer=optimizer)
    got = jobs.train_embedding(kv, "weight", optimizer=optimizer)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, atol=1e-7)


def test_row_sparse_weight_refuses_update_off_the_store():
    p = _rsp_param(ctx=[mx.cpu(0)])
    trainer = gluon.Trainer([p], "sgd", update_on_kvstore=False)
    with pytest.raises(ValueError, match="Cannot set update_on_kvstore=False when sparse"):
        p.row_sparse_data(mx.nd.array([0]))
    assert trainer._kvstore is None


def test_save_load_parameters_and_trainer_states_with_a_row_sparse_weight(tmp_path):
    p = _rsp_param(ctx=[mx.cpu(0)], init="zeros")
    trainer = gluon.Trainer([p], "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    rows = mx.nd.arange(0, 10)
    for _ in range(2):
        ids = mx.nd.array([1, 3])
        with autograd.record():
            w = p.row_sparse_data(ids)
            y = mx.nd.Embedding(ids, w, input_dim=10, output_dim=4, sparse_grad=True)
        y.backward()
        trainer.step(1)
    value = p.row_sparse_data(rows).asnumpy()
    np.testing.assert_allclose(value[[1, 3]], -0.1 - 0.19)  # momentum 0.9, two steps
    assert not value[[0, 2, 4]].any()
    params = gluon.ParameterDict()
    params._params["weight"] = p
    params.save(str(tmp_path / "w.params"))
    np.testing.assert_array_equal(mx.nd.load(str(tmp_path / "w.params"))["weight"].asnumpy(), value)
    trainer.save_states(str(tmp_path / "t.states"))
    trainer.load_states(str(tmp_path / "t.states"))
    p.lr_mult = 2.0
    assert trainer._kvstore._updater.optimizer._get_lr(0) == pytest.approx(0.2)
    dense = gluon.ParameterDict()
    dense.get("weight", shape=(10, 4))
    dense.load(str(tmp_path / "w.params"))
    np.testing.assert_array_equal(dense["weight"].data().asnumpy(), value)


def test_symbol_block_refuses_a_row_sparse_weight():
    data = mx.sym.var("data")
    out = mx.sym.dot(data, mx.sym.var("weight", stype="row_sparse"))
    with pytest.raises(AssertionError, match="storage type is 'row_sparse'"):
        gluon.SymbolBlock(out, data)


@pytest.mark.parametrize("stype", ["row_sparse", "csr"])
def test_attach_grad_on_sparse_arrays(stype):
    x = mx.nd.array([[1, 0], [0, 3], [0, 0]]).tostype(stype)
    x.attach_grad()
    assert x.grad.stype == stype
    with autograd.record():
        y = (x * x) * 2 + x
    y.backward()
    assert x.grad.stype == stype
    np.testing.assert_array_equal(x.grad.asnumpy(), [[5, 1], [1, 13], [1, 1]])
    assert x.detach().stype == stype
    x.attach_grad(stype="default")
    assert x.grad.stype == "default"


def test_csr_dot_grad_into_a_row_sparse_buffer():
    lhs = mx.nd.array([[0, 2, 0], [1, 0, 0]]).tostype("csr")
    w = mx.nd.ones((3, 2))
    w.attach_grad(stype="row_sparse")
    with autograd.record():
        y = mx.nd.dot(lhs, w)
    y.backward()
    assert w.grad.stype == "row_sparse"
    np.testing.assert_array_equal(w.grad.indices.asnumpy(), [0, 1])
    np.testing.assert_array_equal(w.grad.asnumpy(), [[1, 1], [2, 2], [0, 0]])


def test_csr_tuple_slices_as_split_and_load_writes_them():
    x = mx.nd.array(np.arange(12).reshape(4, 3) % 5).tostype("csr")
    part = x[(slice(1, 3),)]
    assert part.stype == "csr"
    np.testing.assert_array_equal(part.asnumpy(), x.asnumpy()[1:3])
    parts = gluon.utils.split_and_load(x, [mx.cpu(0), mx.cpu(1)])
    assert [q.stype for q in parts] == ["csr", "csr"]
    np.testing.assert_array_equal(np.vstack([q.asnumpy() for q in parts]), x.asnumpy())


def test_embedding_on_pulled_rows_never_builds_the_table():
    """SparseEmbedding's lookup reads the pulled rows where they are: forward and backward
    on a 5M-row table allocate kilobytes, not the table's 160 MB."""
    import tracemalloc

    rows = np.array([3, 4_000_000, 7])
    w = mx.nd.sparse.row_sparse_array(
        (np.arange(12, dtype="float32").reshape(3, 4), rows), shape=(5_000_000, 4)
    )
    w.attach_grad()
    ids = mx.nd.array([[4_000_000, 3], [7, 9]])
    tracemalloc.start()
    with autograd.record():
        out = mx.nd.Embedding(ids, w, input_dim=5_000_000, output_dim=4, sparse_grad=True)
    out.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20, peak
    np.testing.assert_array_equal(out.asnumpy()[0], [[4, 5, 6, 7], [0, 1, 2, 3]])
    np.testing.assert_array_equal(out.asnumpy()[1, 1], 0)  # row 9 was not pulled
    assert w.grad.stype == "row_sparse"
    np.testing.assert_array_equal(w.grad.indices.asnumpy(), [3, 7, 9, 4_000_000])
    np.testing.assert_array_equal(w.grad.data.asnumpy(), np.ones((4, 4)))
