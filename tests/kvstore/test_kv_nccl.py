"""The 'device' store's NCCL path (kvstore/nccl.py) against stand-ins for CuPy and its
NCCL binding that do the reduce on host memory: which calls are made, in which group, on
which device and stream, and that the sum lands in a fresh array on the first GPU while
the pushed values stay as they were. tests/gpu runs the real thing on two GPUs."""

import contextlib
import types

import numpy as np
import pytest

from kvstore.nccl import NcclSum


class FakeGpuArray:
    """A host array posing as a cupy array on GPU `dev` (pointer = its host address)."""

    def __init__(self, host, dev):
        self.host, self.device = host, types.SimpleNamespace(id=dev)
        self.dtype, self.shape, self.size, self.flags = (
            host.dtype,
            host.shape,
            host.size,
            host.flags,
        )
        self.data = types.SimpleNamespace(ptr=host.ctypes.data)
        MEMORY[self.data.ptr] = host


FakeGpuArray.__module__ = "cupy._core.fake"  # what the store checks to see a GPU array
MEMORY = {}


def _fakes():
    current = [0]
    log = []

    @contextlib.contextmanager
    def device(dev):
        saved, current[0] = current[0], dev
        yield
        current[0] = saved

    cuda = types.SimpleNamespace(
        Device=device, get_current_stream=lambda: types.SimpleNamespace(ptr=1000 + current[0])
    )
    cupy = types.SimpleNamespace(
        cuda=cuda, empty_like=lambda a: FakeGpuArray(np.empty_like(a.host), current[0])
    )

    class Comm:
        def __init__(self, devices):
            self.devices, self.rank, self.calls = devices, None, []

        def groupStart(self):
            log.append("start")

        def setCurrentComm(self, rank):
            self.rank = rank

        def reduce(self, send, recv, count, dtype, op, root, stream):
            assert current[0] == self.devices[self.rank]  # issued on the rank's own GPU
            self.calls.append((self.rank, send, recv, count, dtype, op, root, stream))

        def groupEnd(self):
            log.append("end")
            sends = [MEMORY[c[1]] for c in self.calls]
            root = [c for c in self.calls if c[0] == c[6]][0]
            MEMORY[root[2]][...] = sum(sends)
            self.calls_done, self.calls = self.calls, []

    made = []

    def init_all(n, devices):
        assert n == len(devices)
        made.append(Comm(devices))
        return made[-1]

    nccl = types.SimpleNamespace(
        NCCL_SUM=0,
        NCCL_FLOAT32=7,
        NCCL_FLOAT16=6,
        NCCL_FLOAT64=8,
        NCCL_INT8=0,
        NCCL_UINT8=1,
        NCCL_INT32=2,
        NCCL_INT64=4,
        NcclCommunicator=types.SimpleNamespace(initAll=init_all),
    )
    return nccl, cupy, made, log


def test_sum_is_one_grouped_reduce_onto_the_first_gpu():
    nccl, cupy, made, log = _fakes()
    summer = NcclSum(nccl, cupy)
    hosts = [np.full((3, 4), i + 1.0, np.float32) for i in range(3)]
    values = [FakeGpuArray(h, dev) for h, dev in zip(hosts, (2, 0, 1))]
    assert summer.usable(values)
    total = summer.sum(values)
    assert total.device.id == 2 and total is not values[0]
    np.testing.assert_array_equal(total.host, np.full((3, 4), 6.0))
    for i, h in enumerate(hosts):  # pushed values untouched
        np.testing.assert_array_equal(h, i + 1.0)
    (comm,) = made
    assert comm.devices == [2, 0, 1] and log == ["start", "end"]
    calls = comm.calls_done
    assert [c[0] for c in calls] == [0, 1, 2]
    assert all(c[3] == 12 and c[4] == nccl.NCCL_FLOAT32 and c[6] == 0 for c in calls)
    assert [c[7] for c in calls] == [1002, 1000, 1001]  # each GPU's current stream
    assert calls[0][2] == total.data.ptr
    summer.sum(values)  # the communicator of these devices is made once
    assert len(made) == 1


@pytest.mark.parametrize(
    "case",
    ["one value", "same gpu twice", "host array", "bool dtype", "mixed dtypes", "turned off"],
)
def test_cases_nccl_cannot_do_fall_back(case, monkeypatch):
    nccl, cupy, _, _ = _fakes()
    summer = NcclSum(nccl, cupy)
    a = np.ones((2, 2), np.float32)
    values = {
        "one value": [FakeGpuArray(a, 0)],
        "same gpu twice": [FakeGpuArray(a, 0), FakeGpuArray(a.copy(), 0)],
        "host array": [FakeGpuArray(a, 0), a.copy()],
        "bool dtype": [FakeGpuArray(a > 0, 0), FakeGpuArray(a > 0, 1)],
        "mixed dtypes": [FakeGpuArray(a, 0), FakeGpuArray(a.astype(np.float64), 1)],
        "turned off": [FakeGpuArray(a, 0), FakeGpuArray(a.copy(), 1)],
    }[case]
    if case == "turned off":
        monkeypatch.setenv("DISTNET_KVSTORE_NCCL", "0")
    assert not summer.usable(values)


def test_without_cupy_nothing_is_usable():
    # on this CPU-only machine CuPy is absent (or has no GPU): the store adds by itself
    summer = NcclSum()
    a = np.ones(3, np.float32)
    values = [FakeGpuArray(a, 0), FakeGpuArray(a.copy(), 1)]
    try:
        import cupy  # noqa: F401
    except Exception:
        assert not summer.usable(values)
    else:
        pytest.skip("cupy is installed here")
