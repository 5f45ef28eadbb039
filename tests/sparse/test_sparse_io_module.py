"""csr data through NDArrayIter and row_sparse variables in Module, as MXNet 1.9.1."""

import numpy as np
import pytest

import distnet as mx


def _csr(rows=7, cols=5):
    dense = (np.arange(rows * cols).reshape(rows, cols) % 3 == 0) * np.arange(rows * cols).reshape(
        rows, cols
    )
    return dense.astype("float32"), mx.nd.array(dense).tostype("csr")


def test_ndarray_iter_csr_batches_stay_sparse_and_follow_the_shuffle():
    dense, csr = _csr()
    np.random.seed(3)
    it = mx.io.NDArrayIter(
        {"csr_data": csr, "dns_data": dense}, dense, 3, shuffle=True, last_batch_handle="discard"
    )
    seen = []
    for batch in it:
        sparse_part, dense_part = batch.data  # sorted by name
        assert sparse_part.stype == "csr" and sparse_part.shape == (3, 5)
        np.testing.assert_array_equal(sparse_part.asnumpy(), dense_part.asnumpy())
        seen.append(dense_part.asnumpy())
    assert len(seen) == 2
    rows = np.vstack(seen)
    assert not np.array_equal(rows, dense[:6])  # shuffled (seed 3)
    for r in rows:
        assert any(np.array_equal(r, d) for d in dense)


def test_ndarray_iter_csr_needs_discard_and_takes_scipy():
    dense, csr = _csr()
    with pytest.raises(NotImplementedError, match="`last_batch_handle` set to `discard`"):
        mx.io.NDArrayIter({"data": csr}, dense, 3)
    sp = pytest.importorskip("scipy.sparse")
    it = mx.io.NDArrayIter(sp.csr_matrix(dense), None, 2, last_batch_handle="discard")
    batches = [b.data[0] for b in it]
    assert [b.stype for b in batches] == ["csr"] * 3
    np.testing.assert_array_equal(np.vstack([b.asnumpy() for b in batches]), dense[:6])


def test_csr_take_rows_any_order():
    dense, csr = _csr()
    got = csr.take_rows([6, 0, 3, 3])
    assert got.stype == "csr"
    np.testing.assert_array_equal(got.asnumpy(), dense[[6, 0, 3, 3]])


def test_module_row_sparse_variable_gets_row_sparse_params():
    x = mx.sym.var("data", stype="csr")
    v = mx.sym.var("v", shape=(5, 1), init=mx.init.Constant(2.0), stype="row_sparse")
    out = mx.sym.LinearRegressionOutput(mx.sym.sparse.dot(x, v), mx.sym.var("label"), name="out")
    mod = mx.mod.Module(out, data_names=["data"], label_names=["label"])
    mod.bind(data_shapes=[("data", (4, 5))], label_shapes=[("label", (4, 1))])
    mod.init_params()
    arg, _ = mod.get_params()
    assert arg["v"].stype == "row_sparse"
    np.testing.assert_array_equal(arg["v"].asnumpy(), np.full((5, 1), 2.0))
    _, csr = _csr(4, 5)
    mod.forward(mx.io.DataBatch([csr], [mx.nd.zeros((4, 1))]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), csr.asnumpy() @ np.full((5, 1), 2.0))


def test_initializers_write_row_sparse_arrays():
    arr = mx.nd.zeros((3, 2), stype="row_sparse")
    mx.init.One()(mx.init.InitDesc("w_weight"), arr)
    assert arr.stype == "row_sparse" and arr.indices.asnumpy().tolist() == [0, 1, 2]
    np.testing.assert_array_equal(arr.asnumpy(), np.ones((3, 2)))
