"""mx.io.ImageRecordIter against MXNet 1.9.1's C++ iterator on the same .rec files."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "vision")


def _meta():
    with open(os.path.join(FIX, "meta.json")) as fin:
        return json.load(fin)["iter"]


def _make(kwargs, **extra):
    kwargs = dict(kwargs)
    rec = kwargs.pop("rec", "images")
    return mx.io.ImageRecordIter(
        path_imgrec=os.path.join(FIX, rec + ".rec"),
        path_imgidx=os.path.join(FIX, rec + ".idx"),
        **kwargs,
        **extra,
    )


@pytest.mark.parametrize("case", ["center28", "resize36", "noround", "part1of2", "lw2", "grey"])
def test_batches_equal_mxnets(case, backend):
    meta = _meta()[case]
    ref = np.load(os.path.join(FIX, "iter_batches.npz"))
    it = _make(meta["kwargs"], preprocess_threads=2)
    assert [[d.name, list(d.shape)] for d in it.provide_data] == meta["provide_data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == meta["provide_label"]
    for epoch in range(2):
        batches = list(it)
        assert len(batches) == len(meta["pads"])
        for b, batch in enumerate(batches):
            want_data = ref[f"{case}_{b}_data"]
            want_label = ref[f"{case}_{b}_label"]
            keep = len(want_data)
            if case == "noround" and b == 1:
                keep = 2  # MXNet leaves garbage (and pad=0) in the unfilled slots
                assert batch.pad == 2
                assert not batch.data[0].asnumpy()[2:].any()
            else:
                assert batch.pad == meta["pads"][b]
            np.testing.assert_allclose(
                batch.data[0].asnumpy()[:keep], want_data[:keep], rtol=1e-6, atol=1e-5
            )
            np.testing.assert_array_equal(batch.label[0].asnumpy()[:keep], want_label[:keep])
        it.reset()


def test_uint8_iter_gives_raw_pixels():
    ref = np.load(os.path.join(FIX, "iter_batches.npz"))
    it = mx.io.ImageRecordUInt8Iter(
        path_imgrec=os.path.join(FIX, "images.rec"), data_shape=(3, 32, 32), batch_size=3, resize=36
    )
    batch = next(it)
    assert batch.data[0].dtype == np.uint8
    np.testing.assert_array_equal(batch.data[0].asnumpy(), ref["resize36_0_data"])


def test_parts_cover_the_file_once_and_shuffle_is_seeded():
    seen = []
    for part in range(3):
        it = mx.io.ImageRecordIter(
            path_imgrec=os.path.join(FIX, "images_lw2.rec"),
            data_shape=(3, 16, 16),
            batch_size=2,
            label_width=2,
            num_parts=3,
            part_index=part,
        )
        seen += [row[0] for b in it for row in b.label[0].asnumpy().tolist()]
    assert sorted(seen) == [0, 1, 2, 3, 4, 5]

    def order(seed, threads):
        it = mx.io.ImageRecordIter(
            path_imgrec=os.path.join(FIX, "images_lw2.rec"),
            data_shape=(3, 16, 16),
            batch_size=6,
            label_width=2,
            shuffle=True,
            seed=seed,
            rand_crop=True,
            rand_mirror=True,
            preprocess_threads=threads,
        )
        batch = next(it)
        return batch.label[0].asnumpy()[:, 0].tolist(), batch.data[0].asnumpy()

    labels_a, data_a = order(3, 1)
    labels_b, data_b = order(3, 4)
    assert labels_a == labels_b and sorted(labels_a) == [0, 1, 2, 3, 4, 5]
    np.testing.assert_array_equal(data_a, data_b)  # independent of the thread count
    assert order(4, 1)[0] != labels_a or not np.array_equal(order(4, 1)[1], data_a)


def test_random_augmentations_keep_shapes_and_ranges():
    it = mx.io.ImageRecordIter(
        path_imgrec=os.path.join(FIX, "images.rec"),
        data_shape=(3, 24, 24),
        batch_size=6,
        rand_crop=True,
        rand_mirror=True,
        max_rotate_angle=20,
        max_shear_ratio=0.1,
        max_aspect_ratio=0.2,
        min_random_scale=0.8,
        max_random_scale=1.2,
        brightness=0.3,
        contrast=0.3,
        saturation=0.3,
        pca_noise=0.1,
        pad=2,
        resize=40,
        preprocess_threads=2,
    )
    data = next(it).data[0].asnumpy()
    assert data.shape == (6, 3, 24, 24) and 0 <= data.min() and data.max() <= 255
    rrc = mx.io.ImageRecordIter(
        path_imgrec=os.path.join(FIX, "images.rec"),
        data_shape=(3, 20, 20),
        batch_size=6,
        random_resized_crop=True,
        min_random_area=0.3,
        max_random_area=1.0,
        inter_method=2,
    )
    assert next(rrc).data[0].shape == (6, 3, 20, 20)


def test_mirror_flips_every_image():
    plain = next(_make({"data_shape": (3, 28, 28), "batch_size": 6}))
    flipped = next(_make({"data_shape": (3, 28, 28), "batch_size": 6}, mirror=True))
    np.testing.assert_array_equal(flipped.data[0].asnumpy(), plain.data[0].asnumpy()[..., ::-1])


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(MXNetError, match=r"unknown argument\(s\) \['rand_cropp'\]"):
        _make({"data_shape": (3, 28, 28), "batch_size": 2}, rand_cropp=True)
    with pytest.raises(MXNetError, match="does not exist"):
        mx.io.ImageRecordIter(
            path_imgrec=str(tmp_path / "x.rec"), data_shape=(3, 8, 8), batch_size=1
        )
    it = _make({"data_shape": (3, 60, 60), "batch_size": 2})
    with pytest.raises(MXNetError, match=r"record 0 .* is 40x56 .* needs 60x60; set resize"):
        next(it)
    with pytest.raises(MXNetError, match="data_shape must be"):
        _make({"data_shape": (2, 8, 8), "batch_size": 2})


def test_image_list_overrides_the_records_labels(tmp_path):
    lst = tmp_path / "labels.lst"
    lst.write_text("".join(f"{i}\t{i + 100}.0\t{i * 2}.0\timg{i}.jpg\n" for i in range(6)))
    it = mx.io.ImageRecordIter(
        path_imgrec=os.path.join(FIX, "images.rec"),
        path_imglist=str(lst),
        data_shape=(3, 16, 16),
        batch_size=6,
        label_width=2,
    )
    np.testing.assert_array_equal(next(it).label[0].asnumpy(), [[100 + i, 2 * i] for i in range(6)])


def test_mxnet_image_classification_arguments_are_accepted():
    """The keyword arguments of MXNet's example/image-classification/common/data.py (as
    train_cifar10.py passes them), including the HLS jitter."""
    kwargs = dict(
        path_imgrec=os.path.join(FIX, "images.rec"),
        path_imgidx="",
        label_width=1,
        mean_r=123.68,
        mean_g=116.779,
        mean_b=103.939,
        data_name="data",
        label_name="softmax_label",
        data_shape=(3, 28, 28),
        batch_size=6,
        rand_crop=True,
        max_random_scale=1.0,
        pad=4,
        fill_value=127,
        min_random_scale=1.0,
        max_aspect_ratio=0.0,
        random_h=0,
        random_s=0,
        random_l=0,
        max_rotate_angle=0,
        max_shear_ratio=0.0,
        rand_mirror=True,
        preprocess_threads=2,
        shuffle=True,
        num_parts=1,
        part_index=0,
    )
    plain = next(mx.io.ImageRecordIter(**kwargs)).data[0].asnumpy()
    assert plain.shape == (6, 3, 28, 28)
    kwargs.update(random_l=60, mean_r=0.0, mean_g=0.0, mean_b=0.0)
    brighter = next(mx.io.ImageRecordIter(**kwargs)).data[0].asnumpy()
    kwargs.update(random_l=0)
    same = next(mx.io.ImageRecordIter(**kwargs)).data[0].asnumpy()
    assert not np.array_equal(brighter, same)
    assert abs(brighter - same).mean() > 3  # lightness moved by up to 60 levels


def test_hls_jitter_matches_opencv_conversions():
    cv2 = pytest.importorskip("cv2")
    from distnet.image import _codec, _record_aug

    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3)).astype(np.uint8)
    hls = cv2.cvtColor(img, cv2.COLOR_RGB2HLS)
    saved = list(_codec._BACKEND)
    try:
        _codec._BACKEND[:] = [None]  # the numpy fallback (no OpenCV)
        assert np.abs(_record_aug._rgb_to_hls(img).astype(int) - hls).max() <= 1
        np.testing.assert_array_equal(
            _record_aug._hls_to_rgb(hls), cv2.cvtColor(hls, cv2.COLOR_HLS2RGB)
        )
    finally:
        _codec._BACKEND[:] = saved
