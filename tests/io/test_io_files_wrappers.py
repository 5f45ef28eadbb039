"""CSVIter, MNISTIter (on small IDX files written here), ResizeIter, PrefetchingIter."""

import gzip
import logging
import struct
import threading

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError


def _write_mnist(tmp_path, n=10, gz=False):
    img = (np.arange(n * 28 * 28) % 256).astype(np.uint8).reshape(n, 28, 28)
    lab = (np.arange(n) % 10).astype(np.uint8)
    opener = gzip.open if gz else open
    ext = ".gz" if gz else ""
    ipath, lpath = str(tmp_path / f"img{ext}"), str(tmp_path / f"lab{ext}")
    with opener(ipath, "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + img.tobytes())
    with opener(lpath, "wb") as f:
        f.write(struct.pack(">II", 2049, n) + lab.tobytes())
    return ipath, lpath, img, lab


def test_mnist_batches_like_mxnet(tmp_path, caplog):
    ipath, lpath, img, _ = _write_mnist(tmp_path)
    with caplog.at_level(logging.INFO):
        it = mx.io.MNISTIter(image=ipath, label=lpath, batch_size=4, shuffle=False)
    assert (
        caplog.records[-1].getMessage() == "MNISTIter: load 10 images, shuffle=0, shape=[4,1,28,28]"
    )
    assert repr(it.provide_data) == "[DataDesc[data,(4, 1, 28, 28),<class 'numpy.float32'>,NCHW]]"
    assert repr(it.provide_label) == "[DataDesc[softmax_label,(4,),<class 'numpy.float32'>,NCHW]]"
    batches = list(it)
    assert len(batches) == 2  # the short last batch is dropped
    assert batches[1].label[0].asnumpy().tolist() == [4, 5, 6, 7]
    np.testing.assert_allclose(
        batches[0].data[0].asnumpy().ravel()[:3], [0, 0.00390625, 0.0078125]
    )  # MXNet divides by 256
    np.testing.assert_allclose(
        batches[1].data[0].asnumpy(), img[4:8, None].astype(np.float32) / 256
    )
    assert batches[0].pad == 0
    it.reset()
    assert len(list(it)) == 2


def test_mnist_flat_shuffle_parts_and_gzip(tmp_path):
    ipath, lpath, img, lab = _write_mnist(tmp_path, n=12, gz=True)
    it = mx.io.MNISTIter(image=ipath, label=lpath, batch_size=3, flat=True, seed=1, silent=True)
    assert it.provide_data[0].shape == (3, 784)
    first = [b.label[0].asnumpy().tolist() for b in it]
    assert sorted(sum(first, [])) == sorted(lab.tolist()) and sum(first, []) != lab.tolist()
    it.reset()
    assert [b.label[0].asnumpy().tolist() for b in it] == first  # shuffled once
    for b in mx.io.MNISTIter(
        image=ipath, label=lpath, batch_size=3, flat=True, seed=1, silent=True
    ):
        idx = b.index.astype(np.int64)
        np.testing.assert_allclose(
            b.data[0].asnumpy(),
            img.reshape(12, -1)[np.random.RandomState(1).permutation(12)][idx] / 256.0,
            rtol=1e-6,
        )
    part = mx.io.MNISTIter(
        image=ipath,
        label=lpath,
        batch_size=2,
        shuffle=False,
        num_parts=2,
        part_index=1,
        silent=True,
    )
    assert [b.label[0].asnumpy().tolist() for b in part] == [[6, 7], [8, 9], [0, 1]]


def test_mnist_errors_name_the_file(tmp_path):
    ipath, lpath, _, _ = _write_mnist(tmp_path)
    with pytest.raises(MXNetError, match="does not exist"):
        mx.io.MNISTIter(image=str(tmp_path / "nope"), label=lpath)
    with pytest.raises(
        MXNetError,
        match=r"not an IDX file of 3 dimension\(s\): expected magic number 0x00000803 \(2051\), found 00000801",
    ):
        mx.io.MNISTIter(image=lpath, label=lpath)
    bad = tmp_path / "short"
    bad.write_bytes(struct.pack(">IIII", 2051, 5, 28, 28) + b"\0" * 10)
    with pytest.raises(MXNetError, match="truncated"):
        mx.io.MNISTIter(image=str(bad), label=lpath)
    other = tmp_path / "lab3"
    other.write_bytes(struct.pack(">II", 2049, 3) + b"\1\2\3")
    with pytest.raises(MXNetError, match="10 images .* but 3 labels"):
        mx.io.MNISTIter(image=ipath, label=str(other))


@pytest.fixture
def csv_files(tmp_path):
    data, label = tmp_path / "d.csv", tmp_path / "l.csv"
    np.savetxt(data, np.arange(20).reshape(10, 2), delimiter=",")
    np.savetxt(label, np.arange(10), delimiter=",")
    return str(data), str(label)


def test_csv_round_batch_like_mxnet(csv_files):
    data, label = csv_files
    it = mx.io.CSVIter(data_csv=data, data_shape=(2,), label_csv=label, batch_size=4)
    assert repr(it.provide_data) == "[DataDesc[data,(4, 2),<class 'numpy.float32'>,NCHW]]"
    assert repr(it.provide_label) == "[DataDesc[softmax_label,(4,),<class 'numpy.float32'>,NCHW]]"
    epochs = []
    for _ in range(3):
        epochs.append([(b.label[0].asnumpy().tolist(), b.pad) for b in it])
        it.reset()
    # MXNet 1.9.1: the next epoch skips the two samples that completed the last batch
    assert epochs == [
        [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 1], 2)],
        [([2, 3, 4, 5], 0), ([6, 7, 8, 9], 0)],
        [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 1], 2)],
    ]
    it = mx.io.CSVIter(data_csv=data, data_shape=(2,), batch_size=4)
    batch = it.next()
    assert batch.data[0].asnumpy().tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert batch.label[0].asnumpy().tolist() == [0, 0, 0, 0]
    # getdata/getlabel give one NDArray, as MXNet's C++ iterators (NDArrayIter: a list)
    assert it.getdata().asnumpy().tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert it.getlabel().shape == (4,)


def test_csv_shapes_no_round_batch_and_dtype(csv_files):
    data, label = csv_files
    it = mx.io.CSVIter(
        data_csv=data,
        data_shape=(1, 2),
        label_csv=data,
        label_shape=(2,),
        batch_size=3,
        round_batch=False,
        dtype="int32",
    )
    assert it.provide_data[0].shape == (3, 1, 2) and it.provide_label[0].shape == (3, 2)
    pads = []
    for _ in range(2):
        pads.append([b.pad for b in it])
        it.reset()
    assert pads == [[0, 0, 0, 2], [0, 0, 0, 2]]
    assert next(it).data[0].dtype == np.int32


def test_csv_errors(csv_files, tmp_path):
    data, label = csv_files
    with pytest.raises(MXNetError, match="has 2 values per row, but data_shape \\(3,\\)"):
        mx.io.CSVIter(data_csv=data, data_shape=(3,))
    with pytest.raises(MXNetError, match="does not exist"):
        mx.io.CSVIter(data_csv=str(tmp_path / "x.csv"), data_shape=(2,))
    short = tmp_path / "s.csv"
    np.savetxt(short, np.arange(3), delimiter=",")
    with pytest.raises(MXNetError, match="3 labels"):
        mx.io.CSVIter(data_csv=data, data_shape=(2,), label_csv=str(short))


def test_resize_iter_cycles_the_inner_iterator():
    inner = mx.io.NDArrayIter(np.arange(6).reshape(6, 1), batch_size=2)
    it = mx.io.ResizeIter(inner, 5)
    assert it.provide_data == inner.provide_data and it.batch_size == 2
    rows = [b.data[0].asnumpy().ravel().tolist() for b in it]
    assert rows == [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3]]
    it.reset()
    assert len(list(it)) == 5


def test_prefetching_iter_joins_and_renames():
    a = mx.io.NDArrayIter(np.arange(8).reshape(4, 2), np.arange(4), batch_size=2)
    b = mx.io.NDArrayIter(
        np.arange(4).reshape(4, 1),
        np.arange(4) * 10,
        batch_size=2,
        data_name="extra",
        label_name="lab2",
    )
    it = mx.io.PrefetchingIter([a, b], rename_data=[{"data": "x"}, {"extra": "y"}])
    try:
        assert [d.name for d in it.provide_data] == ["x", "y"]
        assert [d.name for d in it.provide_label] == ["softmax_label", "lab2"]
        assert it.batch_size == 2
        for _ in range(2):
            batches = list(it)
            assert len(batches) == 2
            assert [len(bb.data) for bb in batches] == [2, 2]
            assert batches[1].label[1].asnumpy().tolist() == [20, 30]
            it.reset()
    finally:
        it.close()


def test_prefetching_iter_reraises_errors_and_stops_threads():
    class Broken(mx.io.DataIter):
        provide_data = [mx.io.DataDesc("data", (1, 1))]
        provide_label = []

        def next(self):
            raise RuntimeError("disk on fire")

    before = threading.active_count()
    it = mx.io.PrefetchingIter(Broken())
    with pytest.raises(RuntimeError, match="disk on fire"):
        next(it)
    it.close()
    assert threading.active_count() == before


def test_prefetching_iter_detects_length_mismatch():
    a = mx.io.NDArrayIter(np.zeros((4, 1)), batch_size=2)
    b = mx.io.NDArrayIter(np.zeros((2, 1)), batch_size=2)
    it = mx.io.PrefetchingIter([a, b])
    try:
        next(it)
        with pytest.raises(MXNetError, match="mismatches"):
            next(it)
    finally:
        it.close()
