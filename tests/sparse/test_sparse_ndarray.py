"""nd.sparse: RowSparseNDArray/CSRNDArray creation, conversion, operators with MXNet's
output storage types, the fallback message, sparse.dot and .params files written by MXNet."""

import json
import logging
import os
import pickle

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "sparse")


def _rsp():
    return mx.nd.sparse.row_sparse_array(
        (np.array([[1, 2], [3, 4]], dtype="float32"), np.array([1, 3])), shape=(5, 2)
    )


def _csr():
    return mx.nd.sparse.csr_matrix(
        (np.array([1.0, 2, 3], dtype="float32"), np.array([0, 2, 1]), np.array([0, 2, 2, 3])),
        shape=(3, 4),
    )


RSP_DENSE = np.array([[0, 0], [1, 2], [0, 0], [3, 4], [0, 0]], dtype=np.float32)
CSR_DENSE = np.array([[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 0]], dtype=np.float32)


def test_row_sparse_parts_and_dense_values():
    a = _rsp()
    assert isinstance(a, mx.nd.sparse.RowSparseNDArray) and isinstance(a, mx.nd.NDArray)
    assert a.stype == "row_sparse" and a.shape == (5, 2) and a.dtype == np.float32
    assert a.indices.asnumpy().tolist() == [1, 3] and a.indices.dtype == np.int64
    np.testing.assert_array_equal(a.data.asnumpy(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(a.asnumpy(), RSP_DENSE)
    assert repr(a) == "\n<RowSparseNDArray 5x2 @cpu(0)>"


def test_row_sparse_unsorted_duplicate_rows_are_summed_and_sorted():
    a = mx.nd.sparse.row_sparse_array((np.ones((3, 2), "float32"), [3, 1, 3]), shape=(4, 2))
    assert a.indices.asnumpy().tolist() == [1, 3]
    np.testing.assert_array_equal(a.data.asnumpy(), [[1, 1], [2, 2]])


def test_csr_parts_slicing_and_scipy():
    m = _csr()
    assert m.stype == "csr" and m.indptr.asnumpy().tolist() == [0, 2, 2, 3]
    np.testing.assert_array_equal(m.asnumpy(), CSR_DENSE)
    s = m[1:3]
    assert s.stype == "csr" and s.indptr.asnumpy().tolist() == [0, 0, 1]
    np.testing.assert_array_equal(s.asnumpy(), CSR_DENSE[1:3])
    np.testing.assert_array_equal(m[2].asnumpy(), CSR_DENSE[2:3])
    coo = mx.nd.sparse.csr_matrix(([5.0, 6.0], ([0, 2], [3, 1])), shape=(3, 4))
    assert coo.asnumpy()[0, 3] == 5 and coo.asnumpy()[2, 1] == 6


def test_csr_from_and_to_scipy():
    sp = pytest.importorskip("scipy.sparse")  # optional: scipy is not a dependency
    c = mx.nd.sparse.csr_matrix(sp.csr_matrix(CSR_DENSE))
    np.testing.assert_array_equal(c.asnumpy(), CSR_DENSE)
    np.testing.assert_array_equal(c.asscipy().toarray(), CSR_DENSE)


def test_tostype_cast_storage_round_trips():
    d = mx.nd.array(RSP_DENSE)
    r = d.tostype("row_sparse")
    assert r.stype == "row_sparse" and r.indices.asnumpy().tolist() == [1, 3]
    c = mx.nd.cast_storage(mx.nd.array(CSR_DENSE), "csr")
    assert c.indices.asnumpy().tolist() == [0, 2, 1]
    assert c.tostype("row_sparse").indices.asnumpy().tolist() == [0, 2]
    back = r.tostype("default")
    assert back.stype == "default"
    np.testing.assert_array_equal(back.asnumpy(), RSP_DENSE)
    with pytest.raises(MXNetError, match="unknown storage type 'coo'"):
        d.tostype("coo")


def test_zeros_retain_copyto():
    z = mx.nd.sparse.zeros("row_sparse", (4, 3))
    assert z.indices.shape == (0,) and z.asnumpy().sum() == 0
    zc = mx.nd.sparse.zeros("csr", (3, 2))
    assert zc.indptr.asnumpy().tolist() == [0, 0, 0, 0]
    kept = _rsp().retain(mx.nd.array([1, 2]))
    assert kept.indices.asnumpy().tolist() == [1]
    np.testing.assert_array_equal(kept.data.asnumpy(), [[1, 2]])
    dst = mx.nd.sparse.zeros("row_sparse", (5, 2))
    _rsp().copyto(dst)
    np.testing.assert_array_equal(dst.asnumpy(), RSP_DENSE)
    dense = mx.nd.zeros((5, 2))
    _rsp().copyto(dense)
    np.testing.assert_array_equal(dense.asnumpy(), RSP_DENSE)
    cp = pickle.loads(pickle.dumps(_csr()))
    assert cp.stype == "csr"
    np.testing.assert_array_equal(cp.asnumpy(), CSR_DENSE)


def test_bad_input_errors_name_the_problem():
    with pytest.raises(MXNetError, match=r"row indices must be in \[0, 2\)"):
        mx.nd.sparse.row_sparse_array((np.ones((1, 2)), [5]), shape=(2, 2))
    with pytest.raises(MXNetError, match="indptr has 3 entries"):
        mx.nd.sparse.csr_matrix(([1.0], [0], [0, 1, 1]), shape=(3, 2))
    with pytest.raises(MXNetError, match="only x\\[:\\]"):
        _rsp()[1]


@pytest.mark.parametrize(
    "expr,stype",
    [
        (lambda a, d: a + a, "row_sparse"),
        (lambda a, d: a - a, "row_sparse"),
        (lambda a, d: a * a, "row_sparse"),
        (lambda a, d: a * 2, "row_sparse"),
        (lambda a, d: a / 2, "row_sparse"),
        (lambda a, d: a + 1, "default"),
        (lambda a, d: a + d, "default"),
        (lambda a, d: a * d, "row_sparse"),
        (lambda a, d: mx.nd.sqrt(a), "row_sparse"),
        (lambda a, d: mx.nd.square(a), "row_sparse"),
        (lambda a, d: a.astype("float64"), "row_sparse"),
        (lambda a, d: mx.nd.exp(a), "default"),
    ],
)
def test_operator_output_storage_types_match_mxnet(expr, stype):
    a, d = _rsp(), mx.nd.array(np.arange(10).reshape(5, 2))
    out = expr(a, d)
    assert out.stype == stype
    np.testing.assert_allclose(out.asnumpy(), expr(mx.nd.array(RSP_DENSE), d).asnumpy(), rtol=1e-6)


def test_csr_operator_storage_types():
    m = _csr()
    assert (m * 2).stype == "csr" and (m + m).stype == "csr" and (m + 1).stype == "default"
    np.testing.assert_array_equal((m + m).asnumpy(), 2 * CSR_DENSE)


def test_fallback_logs_mxnet_message_once(caplog):
    a = _rsp()
    with caplog.at_level(logging.WARNING, logger="distnet.sparse"):
        out = mx.nd.sigmoid(a)
        mx.nd.sigmoid(a)
    assert out.stype == "default"
    np.testing.assert_allclose(out.asnumpy(), 1 / (1 + np.exp(-RSP_DENSE)), rtol=1e-6)
    msgs = [r.getMessage() for r in caplog.records if "fallback" in r.getMessage()]
    assert len(msgs) == 1
    assert (
        "Storage type fallback detected:\noperator = sigmoid\ninput storage types = "
        "[row_sparse, ]\noutput storage types = [default, ]" in msgs[0]
    )
    assert "MXNET_STORAGE_FALLBACK_LOG_VERBOSE" in msgs[0]


def test_sparse_dot_storage_and_values():
    m = _csr()
    w = mx.nd.array(np.arange(8).reshape(4, 2))
    out = mx.nd.sparse.dot(m, w)
    assert out.stype == "default"
    np.testing.assert_array_equal(out.asnumpy(), CSR_DENSE @ np.arange(8).reshape(4, 2))
    g = mx.nd.array(np.arange(6).reshape(3, 2))
    outt = mx.nd.sparse.dot(m, g, transpose_a=True)
    assert outt.stype == "row_sparse" and outt.indices.asnumpy().tolist() == [0, 1, 2]
    np.testing.assert_array_equal(outt.asnumpy(), CSR_DENSE.T @ np.arange(6).reshape(3, 2))
    with pytest.raises(MXNetError, match="do not match"):
        mx.nd.sparse.dot(m, g)


def test_params_written_by_mxnet_load_and_save_byte_identical(tmp_path):
    src = os.path.join(FIX, "mixed.params")
    with open(os.path.join(FIX, "expected.json")) as f:
        expected = json.load(f)
    loaded = mx.nd.load(src)
    assert sorted(loaded) == sorted(expected)
    for name, exp in expected.items():
        arr = loaded[name]
        assert arr.stype == exp["stype"] and list(arr.shape) == exp["shape"], name
        assert np.dtype(arr.dtype).name == exp["dtype"], name
        np.testing.assert_array_equal(arr.asnumpy(), np.array(exp["dense"]), err_msg=name)
    out = tmp_path / "resaved.params"
    mx.nd.save(str(out), loaded)
    with open(src, "rb") as f:
        assert out.read_bytes() == f.read()
    lst = mx.nd.load(os.path.join(FIX, "list.params"))
    assert [a.stype for a in lst] == ["row_sparse", "csr"]


def test_truncated_sparse_file_names_the_problem(tmp_path):
    with open(os.path.join(FIX, "list.params"), "rb") as f:
        raw = f.read()
    bad = tmp_path / "cut.params"
    bad.write_bytes(raw[:100])
    with pytest.raises(MXNetError, match="cut.params: invalid NDArray file"):
        mx.nd.load(str(bad))


def test_square_sum_and_sparse_embedding_operators():
    x = mx.nd.array([[1, 2], [3, 4]])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd._internal._square_sum(x, axis=1, keepdims=True)
    y.backward()
    np.testing.assert_array_equal(y.asnumpy(), [[5], [25]])
    np.testing.assert_array_equal(x.grad.asnumpy(), [[2, 4], [6, 8]])
    data, weight = mx.sym.var("data"), mx.sym.var("weight")
    emb = mx.sym.contrib.SparseEmbedding(data=data, weight=weight, input_dim=5, output_dim=2)
    assert emb.list_arguments() == ["data", "weight"]
    w = mx.nd.array(np.arange(10).reshape(5, 2))
    w.attach_grad(stype="row_sparse")
    with mx.autograd.record():
        out = mx.nd.contrib.SparseEmbedding(mx.nd.array([3, 1, 3]), w, input_dim=5, output_dim=2)
    out.backward()
    np.testing.assert_array_equal(out.asnumpy(), [[6, 7], [2, 3], [6, 7]])
    np.testing.assert_array_equal(w.grad.indices.asnumpy(), [1, 3])
    np.testing.assert_array_equal(w.grad.data.asnumpy(), [[1, 1], [2, 2]])


def test_sym_sparse_namespace_runs_with_sparse_inputs():
    x = mx.sym.var("x", stype="csr")
    w = mx.sym.var("w", stype="row_sparse")
    assert x.attr("__storage_type__") == "2"
    ex = mx.sym.sparse.dot(x, w).bind(
        mx.cpu(), {"x": mx.nd.array([[0, 1], [2, 0]]), "w": mx.nd.array([[1, 2], [3, 4]])}
    )
    np.testing.assert_array_equal(ex.forward()[0].asnumpy(), [[3, 4], [2, 4]])


def test_sparse_namespace_has_mxnets_operators_keeping_storage_as_mxnet():
    # values and output storage types as MXNet 1.9.1 gives them
    eye = np.eye(3, dtype="float32") * 2
    a = mx.nd.array(eye).tostype("csr")
    product = mx.nd.sparse.elemwise_mul(a, a)
    assert product.stype == "csr"
    np.testing.assert_array_equal(product.asnumpy(), eye * eye)
    root = mx.nd.sparse.sqrt(a)
    assert root.stype == "csr"
    np.testing.assert_allclose(root.asnumpy(), np.sqrt(eye))
    with pytest.raises(AttributeError, match="has no attribute 'no_such_op'"):
        mx.nd.sparse.no_such_op
