"""Dataset, SimpleDataset, ArrayDataset and the samplers (MXNet 1.9.1's behaviour)."""

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gluon import data as gdata


def test_array_dataset_items_match_mxnet_types():
    # MXNet: 1-d NDArrays become numpy (labels come out as numpy scalars), lists stay
    a = gdata.ArrayDataset(np.arange(10), mx.nd.arange(10), [i for i in range(10)])
    x, y, z = a[3]
    assert (type(x), type(y), type(z)) == (np.int64, np.float32, int)
    assert (x, y, z) == (3, 3.0, 3)
    assert len(a) == 10
    two_d = gdata.ArrayDataset(mx.nd.ones((4, 2)))
    assert isinstance(two_d[1], mx.nd.NDArray) and two_d[1].shape == (2,)


def test_array_dataset_length_mismatch_names_the_array():
    with pytest.raises(MXNetError, match=r"array\[0\] has length 3 while array\[1\] has 2"):
        gdata.ArrayDataset([1, 2, 3], [1, 2])
    with pytest.raises(MXNetError, match="at least 1"):
        gdata.ArrayDataset()


def test_simple_dataset_filter_shard_take():
    s = gdata.SimpleDataset(list(range(10)))
    assert list(s.filter(lambda x: x % 2 == 0)) == [0, 2, 4, 6, 8]
    # shards are contiguous; the first len % num_shards shards get one more
    assert [list(s.shard(3, i)) for i in range(3)] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert sum(len(s.shard(4, i)) for i in range(4)) == 10
    assert list(s.take(3)) == [0, 1, 2]
    assert len(s.take(None)) == 10 and len(s.take(100)) == 10
    with pytest.raises(MXNetError, match=r"index must be in \[0, 3\), got 3"):
        s.shard(3, 3)


def test_sample_with_sampler_and_bad_sampler():
    s = gdata.SimpleDataset(list("abcdef"))
    assert list(s.sample(gdata.SequentialSampler(3, start=2))) == ["c", "d", "e"]
    with pytest.raises(TypeError, match="Expected gluon.data.Sampler"):
        s.sample([0, 1])


def test_transform_and_transform_first():
    pairs = gdata.SimpleDataset([(i, i * 10) for i in range(5)])
    assert pairs.transform(lambda x, y: x + y)[2] == 22
    first = pairs.transform_first(lambda x: -x)
    assert first[3] == (-3, 30)
    eager = pairs.transform(lambda x, y: (y, x), lazy=False)
    assert type(eager).__name__ == "SimpleDataset" and eager[1] == (10, 1)
    singles = gdata.SimpleDataset([1, 2, 3]).transform_first(lambda x: x * 2)
    assert list(singles) == [2, 4, 6]


def test_lazy_transform_runs_on_each_read():
    calls = []
    ds = gdata.SimpleDataset([1, 2]).transform(lambda x: calls.append(x) or x)
    ds[0], ds[0]
    assert calls == [1, 1]


def test_sequential_and_random_samplers():
    assert list(gdata.SequentialSampler(4)) == [0, 1, 2, 3]
    assert list(gdata.SequentialSampler(3, 5)) == [5, 6, 7]
    mx.random.seed(7)
    first = list(gdata.RandomSampler(20))
    second = list(gdata.RandomSampler(20))
    assert sorted(first) == list(range(20)) and first != second
    mx.random.seed(7)
    assert list(gdata.RandomSampler(20)) == first  # mx.random.seed reproduces the order
    assert len(gdata.RandomSampler(20)) == 20


def test_filter_sampler():
    sampler = gdata.FilterSampler(lambda x: x > 2, gdata.SimpleDataset([5, 1, 3, 0]))
    assert list(sampler) == [0, 2] and len(sampler) == 2


def test_batch_sampler_last_batch_modes():
    seq = gdata.SequentialSampler(10)
    keep = gdata.BatchSampler(seq, 3, "keep")
    assert list(keep) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(keep) == 4
    discard = gdata.BatchSampler(seq, 3, "discard")
    assert list(discard) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(discard) == 3
    roll = gdata.BatchSampler(seq, 3, "rollover")
    assert len(roll) == 3
    assert list(roll) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(roll) == 3  # (1 carried + 10) // 3
    assert list(roll)[0] == [9, 0, 1]
    assert len(roll) == 4  # (2 carried + 10) // 3


def test_batch_sampler_rejects_bad_arguments():
    with pytest.raises(
        MXNetError, match="last_batch must be one of 'keep', 'discard', or 'rollover', but got drop"
    ):
        gdata.BatchSampler(gdata.SequentialSampler(3), 2, "drop")
    with pytest.raises(MXNetError, match="batch_size must be a positive integer"):
        gdata.BatchSampler(gdata.SequentialSampler(3), 0)
