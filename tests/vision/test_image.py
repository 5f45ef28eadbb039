"""mx.image: decoding, resizing, crops, augmenters and ImageIter against MXNet 1.9.1."""

import json
import os
import random

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "vision")


@pytest.fixture(scope="module")
def ref():
    with np.load(os.path.join(FIX, "augmenters.npz")) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module")
def boxes():
    with open(os.path.join(FIX, "meta.json")) as fin:
        return json.load(fin)["boxes"]


def _img(i):
    return mx.image.imread(os.path.join(FIX, f"img{i}.jpg"))


def test_imread_and_imdecode_equal_mxnets_pixels(backend):
    decoded = np.load(os.path.join(FIX, "decoded.npz"))
    for i in range(6):
        with open(os.path.join(FIX, f"img{i}.jpg"), "rb") as fin:
            buf = fin.read()
        np.testing.assert_array_equal(mx.image.imdecode(buf).asnumpy(), decoded[f"img{i}.jpg"])
        np.testing.assert_array_equal(
            mx.image.imdecode(buf, flag=0).asnumpy(), decoded[f"img{i}.jpg_grey"]
        )
        bgr = mx.image.imdecode(buf, to_rgb=False).asnumpy()
        np.testing.assert_array_equal(bgr[..., ::-1], decoded[f"img{i}.jpg"])
    png = mx.image.imread(os.path.join(FIX, "img_png.png")).asnumpy()
    np.testing.assert_array_equal(png, decoded["img_png.png"])


def test_imresize_every_interpolation(ref):
    img = _img(0)
    for interp in range(5):
        for key, (w, h) in ((f"imresize_{interp}", (30, 20)), (f"imresize_up_{interp}", (70, 45))):
            got = mx.image.imresize(img, w, h, interp=interp).asnumpy().astype(int)
            want = ref[key].astype(int)
            exact = interp in (0, 1)  # nearest and OpenCV's fixed-point bilinear
            if exact:
                np.testing.assert_array_equal(got, want, err_msg=key)
            else:  # float kernels vs OpenCV's fixed point: within a few levels
                assert np.abs(got - want).max() <= 3, key
                assert np.abs(got - want).mean() < 0.6, key


def test_crops_match_mxnet_boxes_and_pixels(ref, boxes):
    img = _img(0)
    out, box = mx.image.center_crop(img, (24, 20))
    assert list(box) == boxes["center_crop"]
    np.testing.assert_array_equal(out.asnumpy(), ref["center_crop"])
    random.seed(3)
    out, box = mx.image.random_crop(img, (24, 20), interp=1)
    assert list(box) == boxes["random_crop"]
    np.testing.assert_array_equal(out.asnumpy(), ref["random_crop"])
    random.seed(5)
    out, box = mx.image.random_size_crop(img, (20, 20), 0.3, (3.0 / 4, 4.0 / 3), interp=1)
    assert list(box) == boxes["random_size_crop"]
    np.testing.assert_array_equal(out.asnumpy(), ref["random_size_crop"])
    assert (
        np.abs(
            mx.image.resize_short(_img(1), 40).asnumpy().astype(int)
            - ref["resize_short"].astype(int)
        ).max()
        <= 3
    )


_EIGVAL = np.array([55.46, 4.794, 1.148])
_EIGVEC = np.array(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
)
AUGS = {
    "brightness": lambda: mx.image.BrightnessJitterAug(0.3),
    "contrast": lambda: mx.image.ContrastJitterAug(0.3),
    "saturation": lambda: mx.image.SaturationJitterAug(0.3),
    "hue": lambda: mx.image.HueJitterAug(0.2),
    "colorjitter": lambda: mx.image.ColorJitterAug(0.3, 0.3, 0.3),
    "lighting": lambda: mx.image.LightingAug(0.1, _EIGVAL, _EIGVEC),
    "gray": lambda: mx.image.RandomGrayAug(0.5),
    "flip": lambda: mx.image.HorizontalFlipAug(0.5),
    "normalize": lambda: mx.image.ColorNormalizeAug(
        mx.nd.array([123.0, 117.0, 104.0]), mx.nd.array([58.0, 57.0, 57.5])
    ),
}


@pytest.mark.parametrize("name", sorted(AUGS))
def test_augmenters_reproduce_mxnet_with_the_same_seeds(ref, name):
    fimg = mx.nd.array(_img(0).asnumpy()[:12, :16].astype(np.float32))
    aug = AUGS[name]()
    for seed in (1, 2):
        random.seed(seed)
        np.random.seed(seed)
        np.testing.assert_allclose(
            aug(fimg).asnumpy(), ref[f"aug_{name}_{seed}"], rtol=1e-5, atol=1e-3
        )


def test_create_augmenter_chain_reproduces_mxnet(ref):
    chain = mx.image.CreateAugmenter(
        (3, 24, 24),
        resize=30,
        rand_crop=True,
        rand_mirror=True,
        mean=True,
        std=True,
        brightness=0.2,
        contrast=0.2,
        saturation=0.2,
        hue=0.1,
        pca_noise=0.1,
        rand_gray=0.2,
        inter_method=1,
    )
    assert [type(a).__name__ for a in chain] == [
        "ResizeAug",
        "RandomCropAug",
        "HorizontalFlipAug",
        "CastAug",
        "ColorJitterAug",
        "HueJitterAug",
        "LightingAug",
        "RandomGrayAug",
        "ColorNormalizeAug",
    ]
    for seed in (1, 2, 3):
        random.seed(seed)
        np.random.seed(seed)
        x = _img(1)
        for aug in chain:
            x = aug(x)
        np.testing.assert_allclose(x.asnumpy(), ref[f"chain_{seed}"], rtol=1e-4, atol=1e-3)


def test_image_iter_equals_mxnet(ref, boxes):
    it = mx.image.ImageIter(
        4,
        (3, 24, 24),
        path_imgrec=os.path.join(FIX, "images.rec"),
        path_imgidx=os.path.join(FIX, "images.idx"),
    )
    for epoch in range(2):
        batches = list(it)
        assert len(batches) == 2
        for b, batch in enumerate(batches):
            np.testing.assert_array_equal(batch.data[0].asnumpy(), ref[f"imageiter_{b}_data"])
            np.testing.assert_array_equal(batch.label[0].asnumpy(), ref[f"imageiter_{b}_label"])
            assert batch.pad == boxes[f"imageiter_{b}_pad"]
        it.reset()


def test_image_iter_from_an_image_list(tmp_path):
    lst = tmp_path / "x.lst"
    lst.write_text("".join(f"{i}\t{i * 2}.0\timg{i}.jpg\n" for i in range(6)))
    it = mx.image.ImageIter(
        3,
        (3, 16, 16),
        path_imglist=str(lst),
        path_root=FIX,
        last_batch_handle="discard",
        part_index=1,
        num_parts=2,
    )
    batches = list(it)
    assert len(batches) == 1
    assert batches[0].label[0].asnumpy().tolist() == [6.0, 8.0, 10.0]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(MXNetError, match="cannot decode image"):
        mx.image.imdecode(b"not an image")
    with pytest.raises(MXNetError, match="cannot read image .*missing.jpg"):
        mx.image.imread(str(tmp_path / "missing.jpg"))
    it = mx.image.ImageIter(
        2, (3, 16, 16), imglist=[[0, os.path.join(FIX, "img0.jpg")]], aug_list=[]
    )
    with pytest.raises(MXNetError, match=r"shape \(40, 56, 3\) but data_shape"):
        next(it)


def test_encode_decode_roundtrip_with_either_backend(backend):
    rgb = np.zeros((6, 5, 3), np.uint8)
    rgb[..., 0], rgb[2, 3] = 200, [10, 20, 30]
    from distnet.image import _codec

    np.testing.assert_array_equal(_codec.decode(_codec.encode(rgb, 3, ".png")), rgb)
    assert np.abs(_codec.decode(_codec.encode(rgb, 95)).astype(int) - rgb).mean() < 10


def test_missing_image_library_names_the_extra(monkeypatch):
    import builtins
    from distnet.image import _codec

    real_import = builtins.__import__

    def no_image_lib(name, *args, **kwargs):
        if name.split(".")[0] in ("PIL", "cv2"):
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_image_lib)
    monkeypatch.setattr(_codec, "_BACKEND", [])
    with pytest.raises(MXNetError, match=r"pip install 'distnet\[image\]'"):
        mx.image.imdecode(b"\xff\xd8\xff")


def test_mx_img_is_mx_image():
    assert mx.img is mx.image and mx.img.ImageIter is mx.image.ImageIter  # MXNet's alias
