"""DataLoader: batches, last_batch modes, batchify, worker processes and threads."""

import gc
import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gluon import data as gdata
from distnet.gluon.data.dataloader import DataLoaderTimeoutError, default_batchify_fn


def _images(n=37, seed=0):
    rng = np.random.RandomState(seed)
    return (
        rng.randint(0, 256, (n, 6, 5, 1)).astype(np.uint8),
        (np.arange(n) % 10).astype(np.int32),
    )


class _ImageSet(gdata.Dataset):
    """Samples (uint8 NDArray image, numpy int32 label), as the vision data sets give."""

    def __init__(self, n=37):
        self.images, self.labels = _images(n)

    def __getitem__(self, idx):
        return mx.nd.array(self.images[idx], dtype="uint8"), self.labels[idx]

    def __len__(self):
        return len(self.labels)


def _to_float(data, label):
    return data.astype("float32") / 255, label.astype("float32")


class _SlowAt(gdata.Dataset):
    """Sleeps ``delay`` seconds when reading index ``at``."""

    def __init__(self, at, delay, n=12):
        self.at, self.delay, self.n = at, delay, n

    def __getitem__(self, idx):
        if idx == self.at:
            time.sleep(self.delay)
        return np.float32(idx)

    def __len__(self):
        return self.n


class _DiesAt(_SlowAt):
    """Kills its own process when reading index ``at`` (a worker dying of OOM)."""

    def __getitem__(self, idx):
        if idx == self.at:
            os.kill(os.getpid(), signal.SIGKILL)
        return np.float32(idx)


class _RaisesAt(_SlowAt):
    def __getitem__(self, idx):
        if idx == self.at:
            raise ValueError(f"bad sample {idx}")
        return np.float32(idx)


class _Noisy(gdata.Dataset):
    """A random augmentation drawing from numpy's global generator."""

    def __getitem__(self, idx):
        return np.float64(np.random.rand())

    def __len__(self):
        return 16


def _as_numpy(batch):
    if isinstance(batch, (list, tuple)):
        return [_as_numpy(b) for b in batch]
    return (batch.asnumpy(), batch.dtype) if isinstance(batch, mx.nd.NDArray) else batch


def _epoch(loader, seed=None):
    if seed is not None:
        mx.random.seed(seed)
    return [_as_numpy(b) for b in loader]


def _assert_same_batches(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        for (ga, gt), (wa, wt) in zip(g, w):
            assert gt == wt and ga.shape == wa.shape
            np.testing.assert_array_equal(ga, wa)


def test_seed000_array_dataset_batches():
    data = np.random.RandomState(0).rand(200, 28, 28).astype("float32")
    label = np.random.RandomState(1).randint(0, 10, (200,)).astype("float32")
    loader = gdata.DataLoader(
        gdata.ArrayDataset(data, label), batch_size=5, shuffle=False, num_workers=0
    )
    assert len(loader) == 40
    batches = list(loader)
    assert len(batches) == 40
    x, y = batches[1]
    assert x.shape == (5, 28, 28) and x.dtype == np.float32 and x.context == mx.cpu(0)
    np.testing.assert_array_equal(x.asnumpy(), data[5:10])
    np.testing.assert_array_equal(y.asnumpy(), label[5:10])


def test_default_batchify_keeps_dtypes_like_mxnet():
    loader = gdata.DataLoader(_ImageSet(10), batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 6, 5, 1) and x.dtype == np.uint8  # images stay uint8
    assert y.shape == (4,) and y.dtype == np.int32  # numpy int32 labels stay int32
    assert default_batchify_fn([1, 2, 3]).dtype == np.int64
    assert default_batchify_fn([1.0, 2.0]).dtype == np.float64
    assert default_batchify_fn([np.float32(1)]).dtype == np.float32
    pairs = default_batchify_fn([(mx.nd.ones((2,)), 1), (mx.nd.zeros((2,)), 2)])
    assert isinstance(pairs, list) and pairs[0].shape == (2, 2) and pairs[1].dtype == np.int64


def test_default_batchify_shape_mismatch_names_samples():
    with pytest.raises(
        MXNetError,
        match=r"sample 1 has shape \(3,\) but sample 0 has "
        r"shape \(2,\)",
    ):
        default_batchify_fn([mx.nd.ones((2,)), mx.nd.ones((3,))])
    with pytest.raises(MXNetError, match="cannot batch samples of type str"):
        default_batchify_fn(["a", "b"])


def test_fast_path_batches_equal_per_sample_batches():
    images, labels = _images(23)
    arrays = gdata.ArrayDataset(images, labels)
    fast = list(gdata.DataLoader(arrays, batch_size=4, shuffle=False))
    slow = list(
        gdata.DataLoader(arrays, batch_size=4, batchify_fn=lambda s: default_batchify_fn(s))
    )
    _assert_same_batches([_as_numpy(b) for b in fast], [_as_numpy(b) for b in slow])
    sharded = list(gdata.DataLoader(arrays.shard(2, 1), batch_size=5))
    np.testing.assert_array_equal(sharded[0][0].asnumpy(), images[12:17])


@pytest.mark.parametrize(
    "mode,sizes", [("keep", [4, 4, 2]), ("discard", [4, 4]), ("rollover", [4, 4])]
)
def test_last_batch_modes(mode, sizes):
    loader = gdata.DataLoader(gdata.ArrayDataset(np.arange(10)), batch_size=4, last_batch=mode)
    assert [b.shape[0] for b in loader] == sizes
    if mode == "rollover":  # the 2 left over open the next pass
        assert len(loader) == 3
        first = next(iter(loader))
        assert first.asnumpy().tolist() == [8, 9, 0, 1]


def test_argument_errors_are_value_errors_like_mxnet():
    ds = gdata.ArrayDataset(np.arange(4))
    with pytest.raises(ValueError, match="batch_size must be specified"):
        gdata.DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle must not be specified"):
        gdata.DataLoader(ds, batch_size=2, shuffle=True, sampler=gdata.SequentialSampler(4))
    with pytest.raises(MXNetError, match="must not be specified if batch_sampler"):
        gdata.DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(MXNetError, match="timeout must be positive"):
        gdata.DataLoader(ds, batch_size=2, timeout=0)


def test_batch_sampler_argument():
    loader = gdata.DataLoader(gdata.ArrayDataset(np.arange(10)), batch_sampler=[[3, 1], [0, 2, 9]])
    assert [b.asnumpy().tolist() for b in loader] == [[3, 1], [0, 2, 9]]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_workers": 2},
        {"num_workers": 3, "prefetch": 0},
        {"num_workers": 2, "thread_pool": True},
    ],
)
def test_workers_return_the_same_batches(kwargs):
    dataset = _ImageSet(37).transform(_to_float)
    want = _epoch(gdata.DataLoader(dataset, batch_size=4, shuffle=True), seed=3)
    loader = gdata.DataLoader(dataset, batch_size=4, shuffle=True, **kwargs)
    got = _epoch(loader, seed=3)
    _assert_same_batches(got, want)
    assert [g[0][1] for g in got[:1]] == [np.float32]
    _assert_same_batches(_epoch(loader, seed=3), want)  # a second pass works too


def test_worker_batches_are_writable_numpy_backed_ndarrays():
    loader = gdata.DataLoader(_ImageSet(8), batch_size=4, num_workers=2)
    x, y = next(iter(loader))
    assert isinstance(x, mx.nd.NDArray) and x.dtype == np.uint8 and y.dtype == np.int32
    x[:] = 0  # received into fresh, writable memory
    assert x.asnumpy().sum() == 0 and x.context == mx.cpu(0)


def test_workers_keep_order_when_an_early_batch_is_slow():
    loader = gdata.DataLoader(_SlowAt(at=0, delay=0.5), batch_size=2, num_workers=3)
    got = [b.asnumpy().tolist() for b in loader]
    assert got == [[2 * i, 2 * i + 1] for i in range(6)]


def test_custom_batchify_structures_cross_processes():
    def batchify(samples):
        arr = np.array(samples, dtype=np.float32)
        return {
            "x": mx.nd.array(arr),
            "n": len(samples),
            "s": np.int16(7),
            "t": (arr * 2, None, "tag"),
        }

    ds = gdata.SimpleDataset(list(range(6)))
    want = list(gdata.DataLoader(ds, batch_size=4, batchify_fn=batchify))
    got = list(gdata.DataLoader(ds, batch_size=4, batchify_fn=batchify, num_workers=2))
    for g, w in zip(got, want):
        assert sorted(g) == ["n", "s", "t", "x"] and g["n"] == w["n"]
        assert type(g["s"]) is np.int16 and g["s"] == 7
        np.testing.assert_array_equal(g["x"].asnumpy(), w["x"].asnumpy())
        assert isinstance(g["t"], tuple) and g["t"][1:] == (None, "tag")
        np.testing.assert_array_equal(g["t"][0], w["t"][0])


def test_unsendable_batch_is_a_clear_error():
    loader = gdata.DataLoader(
        gdata.SimpleDataset([1, 2]), batch_size=2, num_workers=1, batchify_fn=lambda s: object()
    )
    with pytest.raises(MXNetError, match="cannot send an object of type object"):
        list(loader)


def test_worker_timeout_raises_timeout_error():
    loader = gdata.DataLoader(_SlowAt(at=1, delay=3.0), batch_size=2, num_workers=1, timeout=0.3)
    start = time.time()
    with pytest.raises(
        DataLoaderTimeoutError,
        match=r"timed out after 0.3 seconds "
        r"waiting for batch 0",
    ) as info:
        list(loader)
    assert isinstance(info.value, multiprocessing.TimeoutError)  # MXNet's type
    assert time.time() - start < 2.5  # the stuck worker is terminated, not awaited


def test_thread_pool_timeout():
    loader = gdata.DataLoader(
        _SlowAt(at=0, delay=1.0), batch_size=2, num_workers=1, thread_pool=True, timeout=0.2
    )
    with pytest.raises(DataLoaderTimeoutError, match="thread timed out after 0.2"):
        list(loader)


def test_worker_death_is_reported_with_the_signal():
    loader = gdata.DataLoader(_DiesAt(at=5, delay=0), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).asnumpy().tolist() == [0, 1]
    assert next(it).asnumpy().tolist() == [2, 3]
    with pytest.raises(
        MXNetError,
        match=r"DataLoader worker 0 \(pid \d+\) exited "
        r"unexpectedly \(signal SIGKILL\) while loading "
        r"batch 2",
    ):
        next(it)


def test_worker_exception_carries_the_traceback():
    loader = gdata.DataLoader(_RaisesAt(at=3, delay=0), batch_size=2, num_workers=2)
    with pytest.raises(
        MXNetError,
        match=r"worker 1 failed to load batch 1: ValueError: "
        r"bad sample 3",
    ) as info:
        list(loader)
    assert "Worker traceback" in str(info.value) and "__getitem__" in str(info.value)


def test_thread_pool_exception_propagates_as_is():
    loader = gdata.DataLoader(
        _RaisesAt(at=3, delay=0), batch_size=2, num_workers=2, thread_pool=True
    )
    with pytest.raises(ValueError, match="bad sample 3"):
        list(loader)


def test_workers_stop_after_break_and_del():
    loader = gdata.DataLoader(_ImageSet(40), batch_size=2, num_workers=2)
    before = len(multiprocessing.active_children())
    for _ in loader:
        assert len(multiprocessing.active_children()) == before + 2
        break
    gc.collect()
    assert len(multiprocessing.active_children()) == before
    it = iter(loader)
    next(it)
    del it
    gc.collect()
    assert len(multiprocessing.active_children()) == before
    assert len(list(loader)) == 20  # and the loader still works


def test_worker_random_streams_differ_and_reproduce():
    loader = gdata.DataLoader(_Noisy(), batch_size=4, num_workers=2)
    first = np.concatenate([b.asnumpy() for b in _epoch_batches(loader, seed=11)])
    again = np.concatenate([b.asnumpy() for b in _epoch_batches(loader, seed=11)])
    np.testing.assert_array_equal(first, again)  # mx.random.seed reproduces workers
    assert len(set(first.tolist())) == 16  # workers do not share one random stream
    other = np.concatenate([b.asnumpy() for b in _epoch_batches(loader, seed=None)])
    assert not np.array_equal(first, other)  # and each pass draws anew


def _epoch_batches(loader, seed):
    if seed is not None:
        mx.random.seed(seed)
    return list(loader)


def test_spawn_start_method(monkeypatch):
    monkeypatch.setenv("DISTNET_DATALOADER_START_METHOD", "spawn")
    images, labels = _images(10)
    loader = gdata.DataLoader(gdata.ArrayDataset(images, labels), batch_size=4, num_workers=1)
    got = list(loader)
    assert [x.shape[0] for x, _ in got] == [4, 4, 2]
    np.testing.assert_array_equal(got[2][0].asnumpy(), images[8:])


def test_spawn_with_an_unpicklable_dataset_says_why(monkeypatch):
    monkeypatch.setenv("DISTNET_DATALOADER_START_METHOD", "spawn")
    ds = gdata.SimpleDataset([1, 2, 3]).transform(lambda x: x)
    with pytest.raises(MXNetError, match="the data set and batchify_fn must be picklable"):
        list(gdata.DataLoader(ds, batch_size=2, num_workers=2))


def test_pin_memory_returns_batches_on_cpu_pinned():
    data = np.arange(20, dtype=np.float32).reshape(10, 2)
    dataset = gdata.ArrayDataset(data, np.arange(10))
    plain = [x.context for x, _ in gdata.DataLoader(dataset, 4)]
    assert plain == [mx.cpu(0)] * 3
    loader = gdata.DataLoader(dataset, 4, pin_memory=True, pin_device_id=1)
    batches = list(loader)
    assert [(x.context, y.context) for x, y in batches] == [(mx.cpu_pinned(1),) * 2] * 3
    np.testing.assert_array_equal(batches[0][0].asnumpy(), data[:4])
    # a pinned batch feeds a layer whose Parameters live on cpu(1)
    dense = mx.gluon.nn.Dense(3, in_units=2)
    dense.initialize(ctx=mx.cpu(1))
    assert dense(batches[0][0]).shape == (4, 3)
