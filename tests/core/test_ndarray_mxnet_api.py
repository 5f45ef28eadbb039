"""NDArray behaviours MXNet 1.9.1 users rely on: DLPack and numpy exchange, MXNet's state
pair, legacy files, reshape/expand_dims/moveaxis, slice assignment, autograd on assignment."""

import os
import pickle

import numpy as np
import pytest

import distnet as mx
from distnet.ndarray.ndarray import NDArray

_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "ndarray")


def test_dlpack_round_trip_shares_memory():
    a = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = mx.nd.from_dlpack(a.to_dlpack_for_write())
    assert b.shape == (2, 3) and b.dtype == np.float32
    b[0, 0] = 42  # writable, and the same memory
    assert a.asnumpy()[0, 0] == 42
    c = mx.nd.from_dlpack(mx.nd.to_dlpack_for_read(a))
    np.testing.assert_array_equal(c.asnumpy(), a.asnumpy())
    d = mx.nd.from_dlpack(np.arange(3, dtype=np.int32))  # any __dlpack__ producer
    assert d.asnumpy().tolist() == [0, 1, 2] and d.dtype == np.int32


def test_dlpack_capsule_is_consumed_once():
    pack = mx.nd.ones((2,)).to_dlpack_for_read()
    mx.nd.from_dlpack(pack)
    with pytest.raises(mx.MXNetError, match="consumed once"):
        mx.nd.from_dlpack(pack)


def test_from_numpy_zero_copy_locks_the_numpy_array():
    src = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    arr = mx.nd.from_numpy(src)
    with pytest.raises(ValueError):
        src[2, 1] = 0
    arr[2, 1] = 100
    assert src[2, 1] == 100
    with pytest.raises(ValueError, match="c-contiguous"):
        mx.nd.from_numpy(np.ones((2, 3)).T)
    copy = mx.nd.from_numpy(np.ones((2, 3)).T, zero_copy=False)
    assert copy.shape == (3, 2)


def test_getstate_is_mxnets_record_and_setstate_reads_gpu_records():
    state = mx.nd.arange(3).__getstate__()
    # the bytes MXNet 1.9.1 gives for mx.nd.arange(3).__getstate__()
    assert bytes(state["handle"]) == (
        b"\xc9\xfa\x93\xf9\x00\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00"
        b"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80?"
        b"\x00\x00\x00@"
    )
    gpu_state = {  # mx.nd.arange(1, ctx=mx.gpu()).__getstate__() in MXNet
        "handle": bytearray(
            b"\xc9\xfa\x93\xf9\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
            b"\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        )
    }
    a = mx.nd.ones((5,))
    a.__setstate__(gpu_state)
    assert a.shape == (1,) and a.asnumpy().tolist() == [0.0]
    assert pickle.loads(pickle.dumps(mx.nd.arange(2))).asnumpy().tolist() == [0.0, 1.0]


def test_legacy_v0_file_loads():
    """Records from before the magic numbers (uint32 ndim and dims first)."""
    out = mx.nd.load(os.path.join(_FIXTURES, "legacy_v0.params"))
    assert len(out) == 2
    assert out[0].asnumpy().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert out[1].shape == (2, 2) and out[1].asnumpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_reshape_to_another_size_is_a_value_error_naming_sizes():
    x = mx.nd.arange(30).reshape(2, 3, 5)
    for bad in [(2, 3), (0, 4), (-1, 4)]:
        with pytest.raises(ValueError, match=r"Cannot reshape array of size 30 into shape"):
            x.reshape(bad)
    assert x.reshape(-1, 0, reverse=True).shape == (6, 5)


def test_reshape_like_takes_rhs_keyword_and_expand_dims_inplace_is_a_view():
    x = mx.nd.ones((5, 17, 2, 3))
    assert x.reshape_like(rhs=mx.nd.ones((30, 17))).shape == (30, 17)
    d = mx.nd.array([[1.0, 2.0]])
    view, copy = d.expand_dims(axis=-1, inplace=True), d.expand_dims(axis=-1)
    d[0] = -1
    assert view.shape == (1, 2, 1) and view.asnumpy().ravel().tolist() == [-1.0, -1.0]
    assert copy.asnumpy().ravel().tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "source,destination,shape",
    [([0, 1], [2, 3], (2, 3, 4, 1)), ([3, 0], [1, 0], (4, 3, 1, 2)), (range(4), range(4), None)],
)
def test_moveaxis_with_lists(source, destination, shape):
    x = mx.nd.array(np.random.rand(4, 1, 2, 3))
    got = mx.nd.moveaxis(x, source, destination)
    want = np.moveaxis(x.asnumpy(), list(source), list(destination))
    assert got.shape == (shape or want.shape)
    np.testing.assert_array_equal(got.asnumpy(), want)


@pytest.mark.parametrize("src,dst", [(3, 0), (-4, 0), ([0, 0], [0, 1]), (0, [0, 1])])
def test_moveaxis_errors_are_value_errors(src, dst):
    with pytest.raises(ValueError, match="moveaxis"):
        mx.nd.moveaxis(mx.nd.zeros((1, 2, 3)), src, dst)


def test_crop_assign_writes_the_box():
    x = mx.nd.ones((2, 3))
    y = mx.nd._internal._crop_assign(x, mx.nd.zeros((1, 2)), begin=(0, 1), end=(1, 3))
    assert y.asnumpy().tolist() == [[1, 0, 0], [1, 1, 1]] and x.asnumpy().min() == 1
    mx.nd._internal._slice_assign_scalar(x, scalar=3, begin=(0, 1), end=(1, 3), out=x)
    assert x.asnumpy().tolist() == [[1, 3, 3], [1, 1, 1]]
    with pytest.raises(mx.MXNetError, match=r"rhs has shape \(2, 2\)"):
        mx.nd._internal._slice_assign(x, mx.nd.zeros((2, 2)), begin=(0, 1), end=(1, 3))


def test_crop_assign_gradients():
    x, v = mx.nd.ones((2, 3)), mx.nd.ones((1, 2))
    x.attach_grad()
    v.attach_grad()
    with mx.autograd.record():
        y = mx.nd._internal._slice_assign(x, v, begin=(0, 1), end=(1, 3))
    y.backward(mx.nd.array([[1, 2, 3], [4, 5, 6]]))
    assert x.grad.asnumpy().tolist() == [[1, 0, 0], [4, 5, 6]]
    assert v.grad.asnumpy().tolist() == [[2, 3]]


def test_onehot_encode_writes_out():
    out = mx.nd.zeros((3, 4))
    got = mx.nd.onehot_encode(mx.nd.array([1, 0, 3]), out)
    assert got is out or np.array_equal(got.asnumpy(), out.asnumpy())
    assert out.asnumpy().tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]


def test_assign_one_element_array_to_a_scalar_position():
    b = mx.nd.zeros(1)
    b[0] = np.array([47.844944], dtype=np.float32)
    assert b.asnumpy()[0] == np.float32(47.844944)


def test_basic_indexing_slice_is_contiguous_matches_numpy():
    x = np.zeros((4, 5, 6))
    check = NDArray._basic_indexing_slice_is_contiguous
    for key in [
        (slice(None),),
        (slice(1, 3),),
        (slice(None), slice(1, 2)),
        (slice(None), slice(1, 3)),
        (1, slice(None, None, 2)),
        (slice(None, None, -1),),
        (slice(0, 1), slice(None), slice(2, 4)),
        (slice(0, 0),),
    ]:
        assert check(key, x.shape) == x[key].flags.c_contiguous, key


def test_broadcast_like_empty_axes_raise():
    lhs, rhs = mx.nd.ones((1, 2)), mx.nd.ones((3, 2))
    with pytest.raises(mx.MXNetError, match="empty axes"):
        mx.nd.broadcast_like(lhs, rhs, lhs_axes=(), rhs_axes=())
    with pytest.raises(mx.MXNetError, match="same length"):
        mx.nd.broadcast_like(lhs, rhs, lhs_axes=(0,), rhs_axes=())
    assert mx.nd.broadcast_like(lhs, rhs).shape == (3, 2)
    assert mx.nd.broadcast_like(lhs, rhs, lhs_axes=(0,), rhs_axes=(0,)).shape == (3, 2)


def test_relu_gradient_keeps_nan():
    x = mx.nd.array([np.nan, -1.0, 2.0, np.inf])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.relu(x)
    y.backward()
    g = x.grad.asnumpy()
    assert np.isnan(g[0]) and g[1:].tolist() == [0.0, 1.0, 1.0]


def test_setitem_while_recording():
    x, y = mx.nd.zeros((2, 3)), mx.nd.ones((3,))
    y.attach_grad()
    with mx.autograd.record():
        with pytest.raises(mx.MXNetError, match=r"Inplace operations \(\+=, -=, x\[:\]=, etc\)"):
            x[0] = y
    z = mx.nd.ones((3,))
    with mx.autograd.record():
        w = mx.nd.zeros((3,))
        w[:] = y * 2  # the whole array: recorded as a copy
        (w * 3).backward()
    assert y.grad.asnumpy().tolist() == [6.0, 6.0, 6.0]
    assert z.asnumpy().tolist() == [1.0] * 3


def test_arrays_of_a_freed_graph_are_constants_of_later_graphs():
    v = mx.nd.ones((2,))
    v.attach_grad()
    with mx.autograd.record():
        b = v * 3
    b.backward()
    w = mx.nd.ones((2,))
    w.attach_grad()
    with mx.autograd.record():
        out = (b + 1) * w  # b's graph was freed: b is a constant here, as in MXNet
    out.backward()
    assert w.grad.asnumpy().tolist() == [4.0, 4.0]
    assert v.grad.asnumpy().tolist() == [3.0, 3.0]


def test_cached_op_in_nd_namespace():
    sym = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc") + 1
    op = mx.nd.CachedOp(sym)
    out = op(mx.nd.ones((1, 3)), mx.nd.ones((2, 3)), mx.nd.zeros((2,)))
    assert out.asnumpy().tolist() == [[4.0, 4.0]]


def test_exp_is_correctly_rounded_in_float32():
    """MXNet's exp(1) in float32 is 2.7182817 (numpy's float32 exp gives 2.718282)."""
    x = mx.nd.ones((1,))
    x.attach_grad()
    with mx.autograd.record():
        z = mx.nd.elemwise_add(mx.nd.exp(x), x)
    (dx,) = mx.autograd.grad(z, [x], create_graph=True)
    assert dx.asscalar() == np.float32(3.7182817)
    dx.backward()
    assert x.grad.asscalar() == np.float32(2.7182817)


@pytest.mark.parametrize("stype", ["row_sparse", "csr"])
def test_autograd_through_the_sparse_fallback(stype):
    """Sparse variables in dense-fallback operators: x + x*y gives 1 + y, as in MXNet."""
    xd, yd = np.random.rand(3, 4).astype(np.float32), np.random.rand(3, 4).astype(np.float32)
    x, y = mx.nd.array(xd).tostype(stype), mx.nd.array(yd)
    gx, gy = mx.nd.zeros((3, 4)), mx.nd.zeros((3, 4))
    mx.autograd.mark_variables([x, y], [gx, gy])
    with mx.autograd.record():
        out = x + x * y
    out.backward()
    np.testing.assert_allclose(gx.asnumpy(), 1 + yd, rtol=1e-6)
    np.testing.assert_allclose(gy.asnumpy(), xd, rtol=1e-6)
    with mx.autograd.record():
        sq = x**2
    sq.backward()
    np.testing.assert_allclose(gx.asnumpy(), 2 * xd, rtol=1e-6)
