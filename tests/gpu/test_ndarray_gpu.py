"""NDArrays on GPUs: creation, copies CPU<->GPU<->GPU, synchronisation, files, autograd and
random numbers, each checked against the same code on the CPU."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

from .gpu_util import AS_CPU, assert_on, count, dev

rng = np.random.default_rng(3)
X = rng.standard_normal((4, 5)).astype(np.float32)
N = 256 if AS_CPU else 2048  # matrices big enough to keep a GPU busy for a while


def _needs(n):
    if count() < n:
        pytest.skip(f"needs {n} GPUs, {count()} visible")


def _real_gpu():
    if AS_CPU:
        pytest.skip("checks cupy itself (not in the CPU dry run)")
    from distnet import backend

    return backend.cupy_or_none()


def test_num_gpus_is_cupys_device_count():
    cp = _real_gpu()
    assert mx.num_gpus() == cp.cuda.runtime.getDeviceCount() >= 1
    assert mx.context.num_gpus() == mx.num_gpus()
    assert mx.gpu(0).xp is cp


@pytest.mark.parametrize(
    "make, want",
    [
        (lambda c: nd.zeros((2, 3), ctx=c), np.zeros((2, 3), np.float32)),
        (lambda c: nd.ones((2, 3), ctx=c, dtype="float64"), np.ones((2, 3))),
        (lambda c: nd.full((2, 3), 7, ctx=c), np.full((2, 3), 7, np.float32)),
        (lambda c: nd.eye(3, k=1, ctx=c), np.eye(3, k=1, dtype=np.float32)),
        (lambda c: nd.arange(0, 6, 2, ctx=c), np.arange(0, 6, 2, dtype=np.float32)),
        (lambda c: nd.linspace(0, 1, 5, ctx=c), np.linspace(0, 1, 5, dtype=np.float32)),
        (lambda c: nd.array(X, ctx=c), X),
        (
            lambda c: nd.array([[1, 2], [3, 4]], ctx=c, dtype="int32"),
            np.array([[1, 2], [3, 4]], np.int32),
        ),
    ],
    ids=["zeros", "ones_f64", "full", "eye", "arange", "linspace", "array", "array_int"],
)
def test_creation_puts_arrays_on_the_gpu(make, want):
    ctx = dev(0)
    arr = make(ctx)
    assert_on(arr, ctx)
    assert arr.dtype == want.dtype and arr.shape == want.shape
    np.testing.assert_array_equal(arr.asnumpy(), want)
    empty = nd.empty((3,), ctx=ctx)
    assert_on(empty, ctx)
    assert empty.shape == (3,)


def test_copies_between_cpu_and_gpu():
    host = nd.array(X)
    gpu = host.copyto(dev(0))
    assert_on(gpu, dev(0))
    np.testing.assert_array_equal(gpu.asnumpy(), X)
    gpu += 1  # a copy: the host array is untouched
    np.testing.assert_array_equal(host.asnumpy(), X)
    assert gpu.as_in_context(dev(0)) is gpu
    back = gpu.as_in_context(mx.cpu())
    assert_on(back, mx.cpu())
    np.testing.assert_array_equal(back.asnumpy(), X + 1)
    into = nd.zeros(X.shape, ctx=dev(0))
    assert host.copyto(into) is into  # CPU -> existing GPU array
    assert_on(into, dev(0))
    np.testing.assert_array_equal(into.asnumpy(), X)
    target = nd.zeros(X.shape)
    gpu.copyto(target)  # GPU -> existing CPU array
    np.testing.assert_array_equal(target.asnumpy(), X + 1)
    dup = gpu.copy()
    assert_on(dup, dev(0))
    dup[:] = 0
    np.testing.assert_array_equal(gpu.asnumpy(), X + 1)
    got = gpu.asnumpy()
    assert isinstance(got, np.ndarray)
    got[:] = 5  # asnumpy is a host copy
    np.testing.assert_array_equal(gpu.asnumpy(), X + 1)
    with pytest.raises(MXNetError, match="shape mismatch"):
        gpu.copyto(nd.zeros((2, 2), ctx=dev(0)))


def test_setitem_and_slices_on_the_gpu():
    arr = nd.array(X, ctx=dev(0))
    arr[1] = nd.array(np.arange(5), ctx=mx.cpu())  # a host value is copied over
    arr[2:4, 1] = 9
    want = X.copy()
    want[1] = np.arange(5)
    want[2:4, 1] = 9
    np.testing.assert_array_equal(arr.asnumpy(), want)
    row = arr[3]
    assert_on(row, dev(0))
    np.testing.assert_array_equal(row.asnumpy(), want[3])
    picked = arr[nd.array([0, 3], ctx=dev(0))]
    assert_on(picked, dev(0))
    np.testing.assert_array_equal(picked.asnumpy(), want[[0, 3]])
    assert float(arr[0, 0]) == pytest.approx(float(want[0, 0]))


def test_copies_between_gpus_and_work_stays_on_each_device():
    _needs(2)
    a = nd.array(X, ctx=dev(0))
    b = a.copyto(dev(1))
    assert_on(b, dev(1))
    np.testing.assert_array_equal(b.asnumpy(), X)
    c = b.as_in_context(dev(0))
    assert_on(c, dev(0))
    into = nd.zeros(X.shape, ctx=dev(1))
    a.copyto(into)
    assert_on(into, dev(1))
    np.testing.assert_array_equal(into.asnumpy(), X)
    # operators, creation and gradients on gpu(1) produce gpu(1) arrays
    y = nd.relu(b) * 2 + nd.ones(X.shape, ctx=dev(1))
    assert_on(y, dev(1))
    np.testing.assert_allclose(y.asnumpy(), np.maximum(X, 0) * 2 + 1, rtol=1e-6)
    b.attach_grad()
    assert_on(b.grad, dev(1))
    with mx.autograd.record():
        z = (b * b).sum()
    z.backward()
    assert_on(b.grad, dev(1))
    np.testing.assert_allclose(b.grad.asnumpy(), 2 * X, rtol=1e-6)
    with dev(1):
        made = nd.zeros((2,))
    assert_on(made, dev(1))
    if not AS_CPU:  # host contexts mix freely; two GPUs never do
        with pytest.raises(MXNetError, match="different contexts"):
            a + b


def test_mixing_cpu_and_gpu_inputs_names_both_contexts():
    if AS_CPU:
        pytest.skip("host contexts mix freely; only a real GPU array cannot")
    with pytest.raises(MXNetError, match=r"different contexts \(cpu\(0\) and gpu\(0\)\)"):
        nd.array(X) + nd.array(X, ctx=dev(0))


def test_wait_to_read_and_waitall_finish_the_gpu_work():
    a = nd.array(rng.standard_normal((N, N)), ctx=dev(0))
    y = a
    for _ in range(20):
        y = nd.dot(y, a) * (N**-0.5)
    y.wait_to_read()
    if not AS_CPU:
        cp = _real_gpu()
        with cp.cuda.Device(dev(0).device_id):
            assert cp.cuda.get_current_stream().done
    for _ in range(20):
        y = nd.dot(y, a) * (N**-0.5)
    nd.waitall()
    if not AS_CPU:
        with cp.cuda.Device(dev(0).device_id):
            assert cp.cuda.get_current_stream().done
    assert np.isfinite(y.asnumpy()).all()


def test_wait_to_read_syncs_the_arrays_own_gpu():
    _needs(2)
    b = nd.array(rng.standard_normal((N, N)), ctx=dev(1))
    y = b
    for _ in range(20):
        y = nd.dot(y, b) * (N**-0.5)
    y.wait_to_read()  # while cupy's current device is gpu(0)
    if not AS_CPU:
        cp = _real_gpu()
        with cp.cuda.Device(1):
            assert cp.cuda.get_current_stream().done


def test_arrays_made_by_cupy_are_accepted():
    cp = _real_gpu()
    raw = cp.arange(6, dtype=cp.float32).reshape(2, 3)
    wrapped = nd.NDArray(raw)  # no copy, as NDArray(numpy_array)
    assert wrapped.context == mx.gpu(0) and wrapped._data is raw
    copied = nd.array(raw, ctx=dev(0))
    assert_on(copied, dev(0))
    np.testing.assert_array_equal(copied.asnumpy(), np.arange(6).reshape(2, 3))


def test_save_and_load_from_the_gpu(tmp_path):
    arrays = {
        "arg:w": nd.array(X, ctx=dev(0)),
        "aux:m": nd.array(np.arange(3), ctx=dev(0), dtype="int64"),
    }
    gpu_file, cpu_file = tmp_path / "g.params", tmp_path / "c.params"
    nd.save(str(gpu_file), arrays)
    nd.save(str(cpu_file), {k: v.as_in_context(mx.cpu()) for k, v in arrays.items()})
    assert gpu_file.read_bytes() == cpu_file.read_bytes()  # MXNet's format, either way
    loaded = nd.load(str(gpu_file))
    assert_on(loaded["arg:w"], mx.cpu())
    np.testing.assert_array_equal(loaded["arg:w"].asnumpy(), X)
    on_gpu = nd.load(str(gpu_file), ctx=dev(0))
    assert_on(on_gpu["aux:m"], dev(0))
    assert on_gpu["aux:m"].dtype == np.int64
    np.testing.assert_array_equal(on_gpu["aux:m"].asnumpy(), [0, 1, 2])


def _grads(ctx):
    x = nd.array(X, ctx=ctx)
    w = nd.array(X.T[:, :3], ctx=ctx)
    for v in (x, w):
        v.attach_grad()
    with mx.autograd.record():
        h = nd.relu(nd.dot(x, w))
        loss = (nd.sigmoid(h) * nd.log_softmax(h, axis=1)).sum() + nd.norm(w)
    loss.backward()
    return loss, x.grad, w.grad


def test_autograd_on_the_gpu_matches_the_cpu():
    loss_c, gx_c, gw_c = _grads(mx.cpu())
    loss_g, gx_g, gw_g = _grads(dev(0))
    for got in (loss_g, gx_g, gw_g):
        assert_on(got, dev(0))
    np.testing.assert_allclose(loss_g.asnumpy(), loss_c.asnumpy(), rtol=1e-5)
    np.testing.assert_allclose(gx_g.asnumpy(), gx_c.asnumpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gw_g.asnumpy(), gw_c.asnumpy(), rtol=1e-4, atol=1e-6)


def test_second_order_gradient_on_the_gpu():
    x = nd.array([0.5, -1.0, 2.0], ctx=dev(0))
    x.attach_grad()
    with mx.autograd.record():
        y = (x * x * x).sum()
        (dx,) = mx.autograd.grad(y, [x], create_graph=True)
        total = dx.sum()
    assert_on(dx, dev(0))
    np.testing.assert_allclose(dx.asnumpy(), 3 * x.asnumpy() ** 2, rtol=1e-6)
    total.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 6 * x.asnumpy(), rtol=1e-6)


def test_gradients_flow_back_through_copies_between_devices():
    x = nd.array(X)
    x.attach_grad()
    with mx.autograd.record():
        on_gpu = x.as_in_context(dev(0))
        loss = (on_gpu * on_gpu).sum().as_in_context(mx.cpu())
    loss.backward()
    assert_on(x.grad, mx.cpu())
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * X, rtol=1e-6)
    g = nd.array(X, ctx=dev(0))
    g.attach_grad()
    with mx.autograd.record():
        loss = (g.copyto(mx.cpu()) * 3).sum()
    loss.backward()
    assert_on(g.grad, dev(0))
    np.testing.assert_allclose(g.grad.asnumpy(), np.full_like(X, 3))


def test_random_numbers_on_the_gpu_are_seeded():
    ctx = dev(0)
    mx.random.seed(11)
    a = nd.random.uniform(-1, 1, shape=(2000,), ctx=ctx)
    n = nd.random.normal(2, 0.5, shape=(2000,), ctx=ctx)
    mx.random.seed(11)
    b = nd.random.uniform(-1, 1, shape=(2000,), ctx=ctx)
    for arr in (a, n, b):
        assert_on(arr, ctx)
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    assert -1 <= a.asnumpy().min() and a.asnumpy().max() < 1
    assert abs(float(n.asnumpy().mean()) - 2) < 0.05
    x = nd.ones((200, 50), ctx=ctx)

    def dropout():
        with mx.autograd.train_mode():
            return nd.Dropout(x, p=0.3).asnumpy()

    mx.random.seed(5)
    first = dropout()
    mx.random.seed(5)
    np.testing.assert_array_equal(dropout(), first)  # the GPU generator is seeded
    assert set(np.unique(first)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((first == 0).mean() - 0.3) < 0.03
