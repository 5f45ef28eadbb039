"""Transforms behaviour MXNet's vision tests rely on (issue #21): RandomApply, CropResize's
argument checks, and MXNet's exception types for Rotate/RandomRotation (which stay
MXNetErrors too)."""

import numpy as np
import pytest

import distnet as mx
from distnet import nd
from distnet.base import MXNetError
from distnet.gluon.data.vision import transforms as T


def test_random_apply_applies_with_probability_p():
    mx.random.seed(5)
    inner = T.Compose([T.Resize(20), T.CenterCrop(8)])
    apply_half = T.RandomApply(inner, 0.5)
    img = nd.ones((10, 10, 3), dtype="uint8")
    shapes = [apply_half(img).shape for _ in range(400)]
    applied = sum(s == (8, 8, 3) for s in shapes)
    assert all(s in ((8, 8, 3), (10, 10, 3)) for s in shapes)
    assert 150 < applied < 250
    assert T.RandomApply(inner, 0.0)(img) is img
    assert T.RandomApply(inner, 1.0)(img).shape == (8, 8, 3)
    with pytest.raises(ValueError, match="p must be in"):
        T.RandomApply(inner, 1.5)
    assert "RandomApply" in repr(apply_half)


def test_random_apply_is_seeded():
    inner = T.CenterCrop(4)
    img = nd.ones((10, 10, 3), dtype="uint8")
    runs = []
    for _ in range(2):
        mx.random.seed(11)
        t = T.RandomApply(inner, 0.5)
        runs.append([t(img).shape for _ in range(20)])
    assert runs[0] == runs[1]


def test_crop_resize_checks_its_arguments():
    data = nd.array(np.arange(60).reshape(5, 4, 3), dtype="uint8")
    out = T.CropResize(0, 0, 3, 2)(data).asnumpy()
    np.testing.assert_array_equal(out, np.arange(60).reshape(5, 4, 3)[0:2, 0:3])
    with pytest.raises(MXNetError, match="width and height must be > 0"):
        T.CropResize(0, 0, -3, -2)(data)
    with pytest.raises(MXNetError, match="size must be > 0"):
        T.CropResize(0, 0, 3, 2, (-2, 2))(data)
    with pytest.raises(MXNetError, match="outside"):
        T.CropResize(1, 1, 4, 4)(data)


def test_rotation_errors_have_mxnet_types():
    img = nd.ones((3, 6, 8), dtype="uint8")
    with pytest.raises(TypeError, match="float32"):
        T.Rotate(10)(img)
    with pytest.raises(MXNetError):
        T.RandomRotation((-10, 10))(img)
    for bad in (1.1, -0.3):
        with pytest.raises(ValueError, match=r"rotate_with_proba must be in \[0, 1\]"):
            T.RandomRotation((-10, 10), rotate_with_proba=bad)
    rot = T.Rotate(90)(nd.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]]))
    np.testing.assert_allclose(rot.asnumpy()[0], [[0, 1, 0], [0, 0, 0], [0, 0, 0]], atol=1e-6)
