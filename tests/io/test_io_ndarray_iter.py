"""DataDesc, DataBatch and NDArrayIter: MXNet's strings, batches, pads, shapes, shuffle."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError

STRINGS = json.load(
    open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "strings.json"))
)


def _rows(batch, i=0, source="data"):
    return getattr(batch, source)[i].asnumpy()[:, 0].tolist()


def test_datadesc_matches_mxnet():
    dd = mx.io.DataDesc("data", (4, 3))
    assert repr(dd) == str(dd) == STRINGS["repr(DataDesc)"]
    assert [dd.name, list(dd.shape), np.dtype(dd.dtype).name, dd.layout] == STRINGS[
        "DataDesc fields"
    ]
    assert dd == ("data", (4, 3))
    assert (
        repr(mx.io.DataDesc("x", (2, 3), dtype="int32", layout="NTC"))
        == STRINGS["repr(DataDesc int32 NTC)"]
    )
    assert mx.io.DataDesc.get_batch_axis("TNC") == STRINGS["DataDesc.get_batch_axis('NTC')"]
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    descs = mx.io.DataDesc.get_list([("a", (1, 2))], [("a", np.int32)])
    assert descs[0].dtype is np.int32


def test_databatch_str_matches_mxnet():
    it = mx.io.NDArrayIter(
        np.arange(30, dtype=np.float32).reshape(10, 3),
        np.arange(10, dtype=np.float32),
        batch_size=4,
    )
    batch = next(it)
    assert str(batch) == STRINGS["str(DataBatch)"]
    assert repr(it.provide_data) == STRINGS["NDArrayIter.provide_data"]
    assert repr(it.provide_label) == STRINGS["NDArrayIter.provide_label"]
    assert (
        str(mx.io.DataBatch([nd.zeros((2, 3))]))
        == "DataBatch: data shapes: [(2, 3)] label shapes: None"
    )
    with pytest.raises(TypeError, match="Data must be list"):
        mx.io.DataBatch(nd.zeros((2,)))


def test_pad_discard_and_roll_over_match_mxnet():
    data = np.arange(30, dtype=np.float32).reshape(10, 3)
    it = mx.io.NDArrayIter(data, np.arange(10, dtype=np.float32), batch_size=4)
    next(it)  # the fixture took the first batch before listing the pads
    assert [0] + [b.pad for b in it] == [0] + STRINGS[
        "NDArrayIter pad per batch (10 rows, bs 4, last_batch_handle=pad)"
    ]
    it.reset()
    assert _rows(list(it)[-1]) == STRINGS["NDArrayIter last batch data roll_over?"]
    it = mx.io.NDArrayIter(
        np.arange(10, dtype=np.float32).reshape(10, 1), batch_size=4, last_batch_handle="discard"
    )
    assert len(list(it)) == STRINGS["NDArrayIter discard num batches"]


def test_roll_over_carries_the_short_batch_into_the_next_epoch():
    it = mx.io.NDArrayIter(
        np.arange(10).reshape(10, 1), batch_size=4, last_batch_handle="roll_over"
    )
    epochs = []
    for _ in range(3):
        epochs.append([(_rows(b), b.pad) for b in it])
        it.reset()
    # the values MXNet 1.9.1 produces for this iterator
    assert epochs == [
        [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)],
        [([8, 9, 0, 1], 2), ([2, 3, 4, 5], 0), ([6, 7, 8, 9], 0)],
        [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)],
    ]
    it.hard_reset()
    assert _rows(next(it)) == [0, 1, 2, 3]


def test_pad_wraps_around_more_than_once():
    it = mx.io.NDArrayIter(np.arange(3).reshape(3, 1), batch_size=8)
    (batch,) = list(it)
    assert _rows(batch) == [0, 1, 2, 0, 1, 2, 0, 1] and batch.pad == 5


def test_shuffle_follows_numpys_global_rng_like_mxnet():
    np.random.seed(0)
    it = mx.io.NDArrayIter(np.arange(10).reshape(10, 1), np.arange(10), batch_size=3, shuffle=True)
    epochs = []
    for _ in range(2):
        epochs.append([(_rows(b), b.label[0].asnumpy().tolist()) for b in it])
        it.reset()
    # MXNet 1.9.1 with np.random.seed(0): data and label stay aligned
    assert [r for r, _ in epochs[0]] == [[2, 8, 4], [9, 1, 6], [7, 3, 0], [5, 2, 8]]
    assert [r for r, _ in epochs[1]] == [[5, 7, 0], [1, 6, 2], [4, 3, 9], [8, 5, 7]]
    for rows, labels in epochs[0] + epochs[1]:
        assert rows == labels


def test_input_forms_names_and_dtypes():
    it = mx.io.NDArrayIter({"b": np.zeros((5, 2)), "a": np.ones((5, 3), np.int64)}, batch_size=2)
    assert [d.name for d in it.provide_data] == ["a", "b"]  # sorted, as MXNet
    assert all(d.dtype is np.float32 for d in it.provide_data)  # numpy -> float32
    assert it.provide_label == []
    batch = next(it)
    assert batch.label == [] and batch.index is None
    it = mx.io.NDArrayIter(
        [np.zeros((5, 2)), np.ones((5, 3))], [np.zeros(5)], batch_size=2, label_name="lab"
    )
    assert [d.name for d in it.provide_data] == ["_0_data", "_1_data"]
    assert [d.name for d in it.provide_label] == ["lab"]
    kept = mx.io.NDArrayIter(nd.array(np.ones((4, 2)), dtype="float64"), batch_size=2)
    assert kept.provide_data[0].dtype is np.float64  # NDArrays keep dtype
    assert next(kept).data[0].dtype == np.float64


def test_layout_batch_axis():
    data = np.arange(2 * 6 * 3, dtype=np.float32).reshape(2, 6, 3)  # T, N, C
    it = mx.io.NDArrayIter(data, batch_size=4, layout="TNC", last_batch_handle="discard")
    assert it.provide_data[0].shape == (2, 4, 3)
    batch = next(it)
    np.testing.assert_array_equal(batch.data[0].asnumpy(), data[:, :4])
    assert len(list(it)) == 0


def test_batches_are_copies_not_views():
    data = np.arange(8, dtype=np.float32).reshape(4, 2)
    it = mx.io.NDArrayIter(data, batch_size=2)
    batch = next(it)
    batch.data[0][:] = -1
    it.reset()
    np.testing.assert_array_equal(next(it).data[0].asnumpy(), data[:2])
    data[:] = 100  # the iterator copied the numpy input, as nd.array does
    np.testing.assert_array_equal(next(it).data[0].asnumpy(), [[4, 5], [6, 7]])


def test_iteration_protocol_and_getters():
    it = mx.io.NDArrayIter(np.arange(4).reshape(4, 1), np.arange(4), batch_size=2)
    assert iter(it) is it
    assert it.iter_next()
    assert it.getdata()[0].asnumpy().ravel().tolist() == [0, 1]
    assert it.getlabel()[0].asnumpy().tolist() == [0, 1]
    assert it.getpad() == 0 and it.getindex() is None
    assert it.iter_next() and not it.iter_next()
    with pytest.raises(MXNetError, match="needs reset"):
        it.getdata()
    it.reset()
    assert len(list(it)) == 2


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"last_batch_handle": "keep"}, "last_batch_handle must be one of"),
        ({"batch_size": 0}, "batch_size must be a positive int"),
        ({"label": np.zeros(3)}, "'softmax_label' has shape \\(3,\\), expected 4 samples"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(MXNetError, match=match):
        mx.io.NDArrayIter(np.zeros((4, 2)), **kwargs)


def test_bad_input_types():
    with pytest.raises(TypeError, match="Input must be NDArray"):
        mx.io.NDArrayIter("not data")
    with pytest.raises(MXNetError, match="must not be None"):
        mx.io.NDArrayIter(None)


def test_dataiter_base_next_uses_iter_next():
    class Three(mx.io.DataIter):
        def __init__(self):
            super().__init__(batch_size=1)
            self.i = 0

        def iter_next(self):
            self.i += 1
            return self.i <= 3

        def getdata(self):
            return [nd.array([self.i])]

    batches = list(Three())
    assert [b.data[0].asscalar() for b in batches] == [1, 2, 3]
    assert batches[0].pad == 0 and batches[0].label is None
