"""Vision transforms against MXNet 1.9.1's outputs (fixtures/mxnet_transforms.npz)."""

import os

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.gluon.data.vision import transforms as T

_REF = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_transforms.npz")


@pytest.fixture(scope="module")
def ref():
    with np.load(_REF, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture
def img(ref):
    return mx.nd.array(ref["src"], dtype="uint8")


def _check(out, want, atol=0):
    assert isinstance(out, mx.nd.NDArray)
    got = out.asnumpy()
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(
        got.astype(np.float64), want.astype(np.float64), atol=atol, rtol=1e-6
    )


def test_to_tensor_and_normalize_match_mxnet(img, ref):
    tensor = T.ToTensor()(img)
    _check(tensor, ref["to_tensor"])
    batch = mx.nd.array(np.stack([ref["src"], ref["src"][::-1]]), dtype="uint8")
    _check(T.ToTensor()(batch), ref["to_tensor_batch"])
    _check(T.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))(tensor), ref["normalize"], 1e-6)
    _check(T.Normalize(0.5, 0.25)(tensor), ref["normalize_scalar"], 1e-6)


def test_resize_matches_mxnet(img, ref):
    # bilinear uint8 results may differ by one level: OpenCV rounds in fixed point
    _check(T.Resize((4, 6))(img), ref["resize_w4_h6"], atol=1)
    _check(T.Resize((15, 13))(img), ref["resize_w15_h13"], atol=1)
    _check(T.Resize((4, 6), interpolation=0)(img), ref["resize_nearest_w4_h6"])
    fimg = img.astype("float32")
    _check(T.Resize((4, 6))(fimg), ref["resize_float_w4_h6"], atol=1e-4)
    _check(T.Resize((17, 5))(fimg), ref["resize_float_w17_h5"], atol=1e-4)
    _check(T.Resize(4, keep_ratio=True)(img), ref["resize_keep_4"], atol=1)
    _check(T.Resize(5)(img), ref["resize_square_5"], atol=1)


def test_center_crop_matches_mxnet(img, ref):
    _check(T.CenterCrop(5)(img), ref["center_crop_5"])
    _check(T.CenterCrop((3, 6))(img), ref["center_crop_w3_h6"])
    _check(T.CenterCrop((12, 9))(img), ref["center_crop_up_w12_h9"], atol=1)


def test_compose_and_cast_match_mxnet(img, ref):
    pipeline = T.Compose([T.Resize(4), T.ToTensor(), T.Normalize(0.5, 0.2)])
    _check(pipeline(img), ref["compose"], atol=1 / 255 / 0.2 + 1e-6)
    _check(T.Cast("float16")(img), ref["cast_float16"])
    assert T.Cast()(img).dtype == np.float32


def test_reprs_match_mxnet(ref):
    assert repr(T.ToTensor()) == str(ref["repr_to_tensor"])
    assert repr(T.Compose([T.CenterCrop(3), T.ToTensor(), T.Normalize(0, 1)])) == str(
        ref["repr_compose"]
    )
    assert repr(T.Compose([T.Cast(), T.CenterCrop(3)])) == str(ref["repr_compose_single"])


def test_bilinear_upsampling_uses_half_pixel_centres():
    row = mx.nd.array(np.array([0, 100], dtype=np.uint8).reshape(1, 2, 1), dtype="uint8")
    out = T.Resize((4, 1))(row).asnumpy().ravel().tolist()
    assert out == [0, 25, 75, 100]  # positions -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)


def test_random_flip_left_right_flips_width_reproducibly():
    img = mx.nd.array(np.arange(2 * 3 * 3).reshape(2, 3, 3), dtype="uint8")
    src = img.asnumpy()
    flip = T.RandomFlipLeftRight()
    mx.random.seed(5)
    outs = [flip(img).asnumpy() for _ in range(40)]
    flipped = [np.array_equal(o, src[:, ::-1]) for o in outs]
    same = [np.array_equal(o, src) for o in outs]
    assert all(f != s for f, s in zip(flipped, same))  # each is one or the other
    assert 5 < sum(flipped) < 35
    mx.random.seed(5)
    assert [np.array_equal(flip(img).asnumpy(), src[:, ::-1]) for _ in range(40)] == flipped
    batch = mx.nd.array(np.stack([src] * 8), dtype="uint8")
    out = flip(batch).asnumpy()
    assert all(np.array_equal(o, src) or np.array_equal(o, src[:, ::-1]) for o in out)
    top = T.RandomFlipTopBottom()
    assert all(
        np.array_equal(o, src) or np.array_equal(o, src[::-1])
        for o in (top(img).asnumpy() for _ in range(6))
    )


def test_transforms_apply_to_a_dataset_through_transform_first():
    from distnet.gluon.data import ArrayDataset

    images = np.random.RandomState(0).randint(0, 256, (3, 8, 8, 1)).astype(np.uint8)
    ds = ArrayDataset(mx.nd.array(images, dtype="uint8"), np.arange(3)).transform_first(
        T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5)])
    )
    x, y = ds[2]
    assert x.shape == (1, 8, 8) and x.dtype == np.float32 and y == 2
    np.testing.assert_allclose(
        x.asnumpy()[0], (images[2, :, :, 0] / 255 - 0.5) / 0.5, rtol=1e-6, atol=1e-6
    )


def test_bad_inputs_name_the_shape():
    with pytest.raises(
        MXNetError,
        match=r"ToTensor: input image must have shape .* but "
        r"got \(5, 7\)",
    ):
        T.ToTensor()(mx.nd.ones((5, 7)))
    with pytest.raises(MXNetError, match="mean has 2 values but the input has 3 channels"):
        T.Normalize((0.1, 0.2), 1.0)(mx.nd.ones((3, 4, 4)))
    with pytest.raises(MXNetError, match="interpolation=7 is not supported"):
        T.Resize(4, interpolation=7)(mx.nd.ones((5, 7, 3)))
    with pytest.raises(MXNetError, match=r"dimension should be 3 or 4 but got 2"):
        T.Resize(4)(mx.nd.ones((5, 7)))
