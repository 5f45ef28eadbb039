"""The transforms added for the vision pipeline, against MXNet 1.9.1 where deterministic."""

import os
import random

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gluon.data.vision import transforms as T

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "vision")


@pytest.fixture(scope="module")
def ref():
    with np.load(os.path.join(FIX, "transforms.npz")) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module")
def img():
    return mx.image.imread(os.path.join(FIX, "img0.jpg"))


def test_crop_resize_and_random_resized_crop_match_mxnet(ref, img):
    np.testing.assert_array_equal(T.CropResize(5, 3, 20, 15)(img).asnumpy(), ref["cropresize"])
    np.testing.assert_array_equal(
        T.CropResize(5, 3, 20, 15, size=(10, 8), interpolation=1)(img).asnumpy(),
        ref["cropresize_size"],
    )
    batch = mx.nd.array(np.stack([img.asnumpy()] * 2), dtype="uint8")
    assert T.CropResize(5, 3, 20, 15)(batch).shape == (2, 15, 20, 3)
    random.seed(4)
    np.testing.assert_array_equal(T.RandomResizedCrop((20, 16))(img).asnumpy(), ref["rrc"])
    with pytest.raises(MXNetError, match="outside the 40x56 image"):
        T.CropResize(50, 0, 20, 15)(img)


def test_rotate_matches_mxnet(ref, img):
    tensor = T.ToTensor()(img)
    np.testing.assert_allclose(T.Rotate(30)(tensor).asnumpy(), ref["rot30"], atol=1e-5)
    np.testing.assert_allclose(
        T.Rotate(30, zoom_in=True)(tensor).asnumpy(), ref["rot30_in"], atol=1e-5
    )
    np.testing.assert_allclose(
        T.Rotate(30, zoom_out=True)(tensor).asnumpy(), ref["rot30_out"], atol=1e-5
    )
    batch = mx.nd.array(tensor.asnumpy()[None])
    np.testing.assert_allclose(T.Rotate(-45)(batch).asnumpy(), ref["rot_m45_batch"], atol=1e-5)
    with pytest.raises(MXNetError, match="apply ToTensor first"):
        T.Rotate(10)(img)


def test_random_rotation_draws_angles_within_limits(img):
    tensor = T.ToTensor()(img)
    mx.random.seed(3)
    out = T.RandomRotation((-20, 20))(tensor).asnumpy()
    angles = np.arange(-20, 21)
    errors = [np.abs(T.Rotate(a)(tensor).asnumpy() - out).mean() for a in angles]
    assert min(errors) < 0.02  # one of the integer angles is close to the drawn one
    mx.random.seed(3)
    np.testing.assert_array_equal(T.RandomRotation((-20, 20))(tensor).asnumpy(), out)
    np.testing.assert_array_equal(
        T.RandomRotation((-20, 20), rotate_with_proba=0.0)(tensor).asnumpy(), tensor.asnumpy()
    )


@pytest.mark.parametrize(
    "name", ["RandomBrightness", "RandomContrast", "RandomSaturation", "RandomHue"]
)
def test_colour_jitters_keep_dtype_and_vary_with_the_seed(img, name):
    t = getattr(T, name)(0.4)
    mx.random.seed(1)
    first = t(img).asnumpy()
    mx.random.seed(1)
    assert np.array_equal(t(img).asnumpy(), first)
    assert first.dtype == np.uint8 and first.shape == img.shape
    outs = [t(img).asnumpy() for _ in range(4)]
    assert any(not np.array_equal(o, first) for o in outs)
    zero = getattr(T, name)(0.0)(img.astype("float32")).asnumpy()
    # no jitter: unchanged (YIQ's rounded constants are not exact inverses)
    np.testing.assert_allclose(zero, img.asnumpy(), atol=1.0 if name == "RandomHue" else 1e-3)


def test_saturation_zero_factor_is_grey_and_contrast_keeps_mean_grey(img):
    fimg = img.astype("float32").asnumpy()
    from distnet.gluon.data.vision._transforms_more import _contrast, _saturation

    grey = _saturation(fimg, np.float32(0.0))
    assert np.allclose(grey[..., 0], grey[..., 1]) and np.allclose(grey[..., 1], grey[..., 2])
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    low = _contrast(fimg, np.float32(0.5))
    assert abs((low @ luma).mean() - (fimg @ luma).mean()) < 1e-2
    assert (low @ luma).std() == pytest.approx((fimg @ luma).std() * 0.5, rel=1e-3)


def test_color_jitter_lighting_and_gray(img):
    mx.random.seed(0)
    out = T.RandomColorJitter(0.2, 0.2, 0.2, 0.1)(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    lit = T.RandomLighting(0.1)(img.astype("float32")).asnumpy() - img.asnumpy()
    assert np.allclose(lit, lit[0, 0])  # one RGB offset for the whole image
    grey = T.RandomGray(p=1.0)(img).asnumpy()
    assert (grey[..., 0] == grey[..., 2]).all()
    np.testing.assert_array_equal(T.RandomGray(p=0.0)(img).asnumpy(), img.asnumpy())
    with pytest.raises(MXNetError, match=r"RGB \(H, W, 3\)"):
        T.RandomBrightness(0.1)(mx.nd.ones((4, 4, 1)))


def test_compose_with_new_transforms_runs_a_training_pipeline(img):
    pipeline = T.Compose(
        [
            T.RandomResizedCrop(24),
            T.RandomFlipTopBottom(),
            T.RandomColorJitter(0.1, 0.1, 0.1),
            T.RandomLighting(0.05),
            T.ToTensor(),
            T.RandomRotation((-5, 5)),
            T.Normalize((0.5, 0.5, 0.5), (0.2, 0.2, 0.2)),
        ]
    )
    out = pipeline(img)
    assert out.shape == (3, 24, 24) and out.dtype == np.float32
