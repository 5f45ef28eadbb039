"""NDArray behaviour users rely on: dtypes, reprs, indexing, operators, copies, contexts."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import nd

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet")


@pytest.fixture(scope="module")
def strings():
    with open(os.path.join(FIX, "strings.json")) as f:
        return json.load(f)


def test_repr_matches_mxnet(strings):
    assert repr(nd.array([[1, 2], [3, 4]])) == strings["repr(nd.array([[1,2],[3,4]]))"]
    assert (
        repr(nd.array([1, 2, 3], dtype="int32"))
        == strings["repr(nd.array([1,2,3], dtype='int32'))"]
    )
    assert repr(nd.array([7])) == strings["repr(nd.array([7]))"]
    assert repr(nd.zeros((2, 3, 4))) == strings["repr(nd.zeros((2,3,4)))"]
    assert (
        repr(nd.array([1.5, 2.25], dtype="float64"))
        == strings["repr(nd.array([1.5,2.25], dtype='float64'))"]
    )


def test_default_dtypes_match_mxnet():
    assert nd.array([1, 2, 3]).dtype == np.float32
    assert nd.array(np.arange(3, dtype=np.int64)).dtype == np.float32
    assert nd.array(np.ones(2, np.float64)).dtype == np.float32
    assert nd.array(nd.array([1], dtype="int32")).dtype == np.int32
    assert nd.array(np.ones(2), dtype="float64").dtype == np.float64
    assert nd.zeros((2, 3)).dtype == np.float32
    assert nd.arange(5).asnumpy().tolist() == [0, 1, 2, 3, 4]
    assert nd.arange(2, 5, repeat=2).asnumpy().tolist() == [2, 2, 3, 3, 4, 4]
    assert nd.random.randint(0, 5, shape=(2,)).dtype == np.int32
    assert (nd.array([1, 2]) == nd.array([1, 3])).dtype == np.float32


def test_no_zero_dim_arrays():
    x = nd.array([[1, 2]])
    assert x.sum().shape == (1,)
    assert x[0, 1].shape == (1,)
    assert x[0].shape == (2,)
    assert x.sum().asscalar() == 3.0


def test_int_scalar_arithmetic_casts_scalar_first():
    x = nd.array([3], dtype="int32")
    assert (x * 2.5).asnumpy().tolist() == [6]
    assert (x / 2).asnumpy().tolist() == [1]
    assert (x * 2.5).dtype == np.int32


def test_operators_and_reflected_forms():
    x = nd.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose((2 - x).asnumpy(), [1, 0, -2])
    np.testing.assert_allclose((8 / x).asnumpy(), [8, 4, 2])
    np.testing.assert_allclose((x**2).asnumpy(), [1, 4, 16])
    np.testing.assert_allclose((2**x).asnumpy(), [2, 4, 16])
    np.testing.assert_allclose((-x).asnumpy(), [-1, -2, -4])
    np.testing.assert_allclose((x % 3).asnumpy(), [1, 2, 1])
    np.testing.assert_allclose((x > 1.5).asnumpy(), [0, 1, 1])
    np.testing.assert_allclose(nd.maximum(x, 2).asnumpy(), [2, 2, 4])
    np.testing.assert_allclose(nd.minimum(3, x).asnumpy(), [1, 2, 3])
    m = nd.ones((2, 3)) + nd.array([[1], [2]])
    assert m.shape == (2, 3) and m.asnumpy()[1, 0] == 3


def test_inplace_operators_keep_the_buffer():
    x = nd.ones((2, 2))
    buf = x._data
    x += 1
    x *= nd.array([[2, 3], [4, 5]])
    assert x._data is buf
    np.testing.assert_allclose(x.asnumpy(), [[4, 6], [8, 10]])


def test_slices_share_memory_like_mxnet():
    x = nd.zeros((4, 3))
    row = x[1]
    row[:] = 5
    x[2:4] = nd.ones((2, 3)) * 7
    x[0, 1] = 9
    np.testing.assert_allclose(x.asnumpy(), [[0, 9, 0], [5, 5, 5], [7, 7, 7], [7, 7, 7]])
    idx = x[nd.array([3, 1])]
    assert idx.shape == (2, 3) and idx.asnumpy()[1, 0] == 5


def test_transpose_is_a_copy():
    x = nd.array([[1, 2], [3, 4]])
    t = x.T
    t[:] = 0
    assert x.asnumpy().tolist() == [[1, 2], [3, 4]]


def test_reshape_codes_and_methods():
    x = nd.arange(24).reshape((2, 3, 4))
    assert x.reshape((-1, 0)).shape == (6, 4) or x.reshape((-1, 0)).shape == (8, 3)
    assert x.reshape(0, -1).shape == (2, 12)
    assert x.reshape((-3, -2)).shape == (6, 4)
    assert x.reshape(shape=(4, -1)).shape == (4, 6)
    assert x.flatten().shape == (2, 12)
    assert x.expand_dims(axis=0).shape == (1, 2, 3, 4)
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)
    with pytest.raises(mx.MXNetError, match="cannot reshape"):
        x.reshape((5, -1))


def test_astype_copy_copyto_and_context():
    x = nd.array([1.7, -1.7])
    assert x.astype("int32").asnumpy().tolist() == [1, -1]
    assert x.astype("float32", copy=False) is x
    y = x.copy()
    y[:] = 0
    assert x.asnumpy()[0] == pytest.approx(1.7)
    z = nd.zeros((2,))
    x.copyto(z)
    assert z.asnumpy()[0] == pytest.approx(1.7)
    w = x.copyto(mx.cpu(1))
    assert w.context == mx.cpu(1) and x.as_in_context(mx.cpu(0)) is x
    with pytest.raises(mx.MXNetError, match="shape mismatch"):
        x.copyto(nd.zeros((3,)))
    mixed = x + w  # host contexts mix as in MXNet; the result is on the first input's
    assert mixed.context == mx.cpu(0)
    assert (x + nd.ones((2,), ctx=mx.cpu_pinned(0))).context == mx.cpu(0)


def test_with_context_sets_default():
    with mx.cpu(1):
        assert mx.current_context() == mx.cpu(1)
        assert nd.zeros((1,)).context == mx.cpu(1)
    assert mx.current_context() == mx.cpu(0)


def test_len_iter_bool_scalar_conversions():
    x = nd.array([[1, 2], [3, 4]])
    assert len(x) == 2
    assert [r.asnumpy().tolist() for r in x] == [[1, 2], [3, 4]]
    assert float(nd.array([2.5])) == 2.5 and int(nd.array([3])) == 3
    assert bool(nd.array([1]))
    with pytest.raises(ValueError):
        bool(x)
    with pytest.raises(mx.MXNetError, match="size 1"):
        x.asscalar()
    assert np.asarray(x).tolist() == [[1, 2], [3, 4]]


def test_generated_functions_take_positional_attributes():
    x = nd.array([[1, 5], [3, 2]])
    assert nd.sum(x, 1).asnumpy().tolist() == [6, 5]
    assert nd.broadcast_to(nd.array([1, 2]), (2, 2)).shape == (2, 2)
    assert x.argmax(axis=1).asnumpy().tolist() == [1, 0]
    out = nd.zeros((2, 2))
    nd.exp(x, out=out)
    np.testing.assert_allclose(out.asnumpy(), np.exp(x.asnumpy()), rtol=1e-6)
    with pytest.raises(mx.MXNetError, match="unknown argument 'axes'"):
        nd.sum(x, axes=1)
    with pytest.raises(mx.MXNetError, match="input 'rhs' is missing"):
        nd.broadcast_add(x)


def test_random_seed_reproducible():
    mx.random.seed(7)
    a = nd.random.uniform(shape=(3,)).asnumpy()
    b = nd.random.normal(0, 1, shape=(2, 2)).asnumpy()
    mx.random.seed(7)
    np.testing.assert_array_equal(a, nd.random.uniform(shape=(3,)).asnumpy())
    np.testing.assert_array_equal(b, mx.random.normal(0, 1, shape=(2, 2)).asnumpy())
    assert ((a >= 0) & (a < 1)).all()


def test_context_basics():
    assert str(mx.cpu()) == "cpu(0)" and repr(mx.gpu(2)) == "gpu(2)"
    assert mx.cpu() == mx.cpu(0) and mx.cpu(0) != mx.cpu(1)
    assert len({mx.cpu(0), mx.Context("cpu", 0), mx.cpu(1)}) == 2
    assert mx.cpu_pinned(0).device_typeid == 3
    assert mx.gpu(0).device_typeid == 2


def test_gpu_context_without_cupy_says_how_to_install():
    from distnet import backend

    if backend.cupy_or_none() is not None:
        pytest.skip("a GPU is present; the error path is for machines without one")
    assert mx.num_gpus() == 0
    with pytest.raises(mx.MXNetError, match=r"pip install 'distnet\[gpu\]'"):
        nd.zeros((2,), ctx=mx.gpu(0))


def test_array_library_errors_name_the_operator_and_shapes():
    with pytest.raises(mx.MXNetError, match=r"broadcast_add.*\(2, 3\), \(4,\)"):
        nd.ones((2, 3)) + nd.ones((4,))
    with pytest.raises(mx.MXNetError, match=r"_getitem.*\(2,\)"):
        nd.ones((2,))[5]


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "uint8", "int64"])
def test_copy_deepcopy_and_pickle_keep_dtype_values_and_context(dtype):
    import copy
    import pickle

    a = nd.array([[1, 2], [3, 4]], dtype=dtype)
    for dup in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert dup.dtype == np.dtype(dtype) and dup.context == a.context
        np.testing.assert_array_equal(dup.asnumpy(), a.asnumpy())
        assert not np.shares_memory(dup.asnumpy(), a.asnumpy())


def test_binary_functions_of_two_numbers_give_numbers_as_mxnet():
    assert nd.power(2, 3) == 8 and nd.add(5, 3) == 8 and nd.divide(5, 2) == 2.5
    assert (nd.maximum(5, 3), nd.minimum(5, 3)) == (5, 3)
    assert (nd.equal(5, 3), nd.greater(5, 3), nd.logical_and(1, 0)) == (0, 1, 0)
    assert nd.power(nd.array([2.0]), 3).asnumpy().tolist() == [8.0]
    with pytest.raises(mx.base.MXNetError, match="NDArrays or numbers"):
        nd.add("a", 3)
