"""scripts/im2rec.py and gluon.data.vision.ImageRecordDataset / RecordFileDataset."""

import os
import subprocess
import sys

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "mxnet", "vision")


def _write_images(folder, per_class=3):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, name in enumerate(["cat", "dog"]):
        os.makedirs(folder / name)
        for i in range(per_class):
            img = np.full((20 + i, 30, 3), 60 * (label + 1), np.uint8)
            img += rng.integers(0, 20, img.shape, dtype=np.uint8)
            Image.fromarray(img).save(folder / name / f"{i}.png")


def _im2rec(*args):
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "im2rec.py"), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_im2rec_lists_and_packs_a_folder_tree(tmp_path):
    _write_images(tmp_path / "img")
    prefix = str(tmp_path / "data")
    _im2rec("--list", "--recursive", "--no-shuffle", prefix, str(tmp_path / "img"))
    lines = (tmp_path / "data.lst").read_text().splitlines()
    assert lines[0] == "0\t0.000000\tcat/0.png" and lines[5] == "5\t1.000000\tdog/2.png"
    _im2rec(
        "--resize", "16", "--encoding", ".png", "--num-thread", "2", prefix, str(tmp_path / "img")
    )
    ds = mx.gluon.data.vision.ImageRecordDataset(prefix + ".rec")
    assert len(ds) == 6
    img, label = ds[4]
    assert label == 1.0 and img.shape == (16, 22, 3) and img.dtype == np.uint8
    assert abs(float(img.asnumpy().mean()) - 129.5) < 6  # 120 + noise in [0, 20)
    it = mx.io.ImageRecordIter(
        path_imgrec=prefix + ".rec",
        path_imgidx=prefix + ".idx",
        data_shape=(3, 16, 16),
        batch_size=6,
    )
    assert next(it).label[0].asnumpy().tolist() == [0, 0, 0, 1, 1, 1]


def test_pass_through_keeps_the_files_bytes(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(2):
        with open(os.path.join(FIX, f"img{i}.jpg"), "rb") as fin:
            (tmp_path / "img" / f"img{i}.jpg").write_bytes(fin.read())
    prefix = str(tmp_path / "p")
    _im2rec("--list", "--no-shuffle", prefix, str(tmp_path / "img"))
    _im2rec("--pass-through", prefix, str(tmp_path / "img"))
    ds = mx.gluon.data.RecordFileDataset(prefix + ".rec")
    header, body = mx.recordio.unpack(ds[1])
    assert body == (tmp_path / "img" / "img1.jpg").read_bytes() and header.id == 1


def test_image_record_dataset_reads_mxnet_files_with_transform_and_loader():
    decoded = np.load(os.path.join(FIX, "decoded.npz"))
    ds = mx.gluon.data.vision.ImageRecordDataset(os.path.join(FIX, "images_lw2.rec"))
    img, label = ds[3]
    np.testing.assert_array_equal(img.asnumpy(), decoded["img3.jpg"])
    np.testing.assert_array_equal(label, [3.0, 13.0])
    grey = mx.gluon.data.vision.ImageRecordDataset(os.path.join(FIX, "images.rec"), flag=0)
    np.testing.assert_array_equal(grey[2][0].asnumpy(), decoded["img2.jpg_grey"])
    crop = mx.gluon.data.vision.transforms.CenterCrop(16)
    tds = mx.gluon.data.vision.ImageRecordDataset(
        os.path.join(FIX, "images.rec"), transform=lambda d, l: (crop(d), l)
    )
    loader = mx.gluon.data.DataLoader(tds, batch_size=3, num_workers=2)
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(3, 16, 16, 3)] * 2
    assert np.concatenate([b[1].asnumpy() for b in batches]).tolist() == [0, 1, 2, 0, 1, 2]


def test_missing_index_is_named(tmp_path):
    (tmp_path / "x.rec").write_bytes(b"")
    with pytest.raises(MXNetError, match=r"x.idx .* does not exist"):
        mx.gluon.data.vision.ImageRecordDataset(str(tmp_path / "x.rec"))
