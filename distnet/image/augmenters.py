"""MXNet's image augmenters: callables taking and returning an (H, W, C) NDArray.

Each draws its randomness from Python's ``random`` (``LightingAug`` from numpy's global
generator) in MXNet 1.9.1's order, so seeded runs reproduce MXNet's choices.
"""

import json
import random

import numpy as np

from ..base import MXNetError
from .image import (
    _interp,
    _nd,
    _raw,
    center_crop,
    color_normalize,
    imresize,
    random_crop,
    random_size_crop,
    resize_short,
)

__all__ = [
    "Augmenter",
    "SequentialAug",
    "RandomOrderAug",
    "ResizeAug",
    "ForceResizeAug",
    "RandomCropAug",
    "RandomSizedCropAug",
    "CenterCropAug",
    "BrightnessJitterAug",
    "ContrastJitterAug",
    "SaturationJitterAug",
    "HueJitterAug",
    "ColorJitterAug",
    "LightingAug",
    "ColorNormalizeAug",
    "RandomGrayAug",
    "HorizontalFlipAug",
    "CastAug",
    "CreateAugmenter",
]

_GREY_COEF = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class Augmenter:
    """Base class: ``aug(src) -> NDArray``; ``dumps()`` gives ``[name, kwargs]`` JSON."""

    def __init__(self, **kwargs):
        self._kwargs = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in kwargs.items()}

    def dumps(self):
        """The augmenter as a JSON string ``[class name (lower case), kwargs]``."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __call__(self, src):
        raise NotImplementedError


class SequentialAug(Augmenter):
    """Apply ``ts`` in order."""

    def __init__(self, ts):
        super().__init__()
        self.ts = list(ts)

    def dumps(self):
        return [type(self).__name__.lower(), [t.dumps() for t in self.ts]]

    def __call__(self, src):
        for aug in self.ts:
            src = aug(src)
        return src


class RandomOrderAug(SequentialAug):
    """Apply ``ts`` in a random order (shuffled in place, as MXNet does)."""

    def __call__(self, src):
        random.shuffle(self.ts)
        return super().__call__(src)


class ResizeAug(Augmenter):
    """Resize the shorter edge to ``size``."""

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src):
        return resize_short(src, self.size, self.interp)


class ForceResizeAug(Augmenter):
    """Resize to ``size`` (w, h), ignoring the aspect ratio."""

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src):
        sizes = (src.shape[0], src.shape[1], self.size[1], self.size[0])
        return imresize(src, self.size[0], self.size[1], _interp(self.interp, sizes))


class RandomCropAug(Augmenter):
    """A random crop of ``size`` (w, h)."""

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src):
        return random_crop(src, self.size, self.interp)[0]


class RandomSizedCropAug(Augmenter):
    """A crop of random ``area`` fraction and aspect ``ratio``, resized to ``size``."""

    def __init__(self, size, area, ratio, interp=2, **kwargs):
        super().__init__(size=size, area=area, ratio=ratio, interp=interp)
        self.size, self.area, self.ratio, self.interp = size, area, ratio, interp
        self.kwargs = kwargs

    def __call__(self, src):
        return random_size_crop(src, self.size, self.area, self.ratio, self.interp, **self.kwargs)[
            0
        ]


class CenterCropAug(Augmenter):
    """The centre crop of ``size`` (w, h)."""

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src):
        return center_crop(src, self.size, self.interp)[0]


def _float(src):
    arr = _raw(src)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float32)


class BrightnessJitterAug(Augmenter):
    """Scale by ``1 + uniform(-brightness, brightness)``."""

    def __init__(self, brightness):
        super().__init__(brightness=brightness)
        self.brightness = brightness

    def __call__(self, src):
        alpha = 1.0 + random.uniform(-self.brightness, self.brightness)
        arr = _float(src)
        return _nd(arr * arr.dtype.type(alpha))


class ContrastJitterAug(Augmenter):
    """Blend with the image's mean grey level by ``1 + uniform(-contrast, contrast)``."""

    def __init__(self, contrast):
        super().__init__(contrast=contrast)
        self.contrast = contrast

    def __call__(self, src):
        alpha = 1.0 + random.uniform(-self.contrast, self.contrast)
        arr = _float(src)
        grey = (arr * _GREY_COEF).astype(arr.dtype)
        offset = np.float32(3.0 * (1.0 - alpha) / grey.size) * grey.sum(dtype=arr.dtype)
        return _nd(arr * arr.dtype.type(alpha) + offset)


class SaturationJitterAug(Augmenter):
    """Blend with each pixel's grey level by ``1 + uniform(-saturation, saturation)``."""

    def __init__(self, saturation):
        super().__init__(saturation=saturation)
        self.saturation = saturation

    def __call__(self, src):
        alpha = 1.0 + random.uniform(-self.saturation, self.saturation)
        arr = _float(src)
        grey = (arr * _GREY_COEF).astype(arr.dtype).sum(axis=2, keepdims=True)
        return _nd(arr * arr.dtype.type(alpha) + grey * arr.dtype.type(1.0 - alpha))


class HueJitterAug(Augmenter):
    """Rotate the hue by ``uniform(-hue, hue) * pi`` in YIQ space."""

    _TYIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321], [0.211, -0.523, 0.311]])
    _ITYIQ = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.107, 1.705]])

    def __init__(self, hue):
        super().__init__(hue=hue)
        self.hue = hue

    def __call__(self, src):
        alpha = random.uniform(-self.hue, self.hue)
        u, w = np.cos(alpha * np.pi), np.sin(alpha * np.pi)
        rot = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]])
        t = np.dot(np.dot(self._ITYIQ, rot), self._TYIQ).T
        arr = _float(src)
        return _nd(np.dot(arr, t.astype(arr.dtype)))


class ColorJitterAug(RandomOrderAug):
    """Brightness, contrast and saturation jitters in a random order."""

    def __init__(self, brightness, contrast, saturation):
        ts = []
        if brightness > 0:
            ts.append(BrightnessJitterAug(brightness))
        if contrast > 0:
            ts.append(ContrastJitterAug(contrast))
        if saturation > 0:
            ts.append(SaturationJitterAug(saturation))
        super().__init__(ts)


class LightingAug(Augmenter):
    """AlexNet-style PCA lighting noise (``alphastd`` on the ``eigval``/``eigvec`` basis)."""

    def __init__(self, alphastd, eigval, eigvec):
        super().__init__(alphastd=alphastd, eigval=eigval, eigvec=eigvec)
        self.alphastd = alphastd
        self.eigval, self.eigvec = np.asarray(eigval), np.asarray(eigvec)

    def __call__(self, src):
        alpha = np.random.normal(0, self.alphastd, size=(3,))
        rgb = np.dot(self.eigvec * alpha, self.eigval)
        arr = _float(src)
        return _nd(arr + rgb.astype(arr.dtype))


class ColorNormalizeAug(Augmenter):
    """``(src - mean) / std``."""

    def __init__(self, mean, std):
        super().__init__(
            mean=_raw(mean) if mean is not None else None,
            std=_raw(std) if std is not None else None,
        )
        self.mean = _raw(mean).astype(np.float32) if mean is not None else None
        self.std = _raw(std).astype(np.float32) if std is not None else None

    def __call__(self, src):
        return color_normalize(src, self.mean, self.std)


class RandomGrayAug(Augmenter):
    """Make the image grey (3 equal channels) with probability ``p``."""

    _MAT = np.array([[0.21, 0.21, 0.21], [0.72, 0.72, 0.72], [0.07, 0.07, 0.07]])

    def __init__(self, p):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src):
        if random.random() < self.p:
            arr = _float(src)
            return _nd(np.dot(arr, self._MAT.astype(arr.dtype)))
        return src


class HorizontalFlipAug(Augmenter):
    """Flip left-right with probability ``p``."""

    def __init__(self, p):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src):
        if random.random() < self.p:
            return _nd(_raw(src)[:, ::-1])
        return src


class CastAug(Augmenter):
    """Cast to ``typ`` (default float32)."""

    def __init__(self, typ="float32"):
        super().__init__(type=typ)
        self.typ = typ

    def __call__(self, src):
        return _nd(_raw(src).astype(self.typ))


_MEAN_RGB = np.array([123.68, 116.28, 103.53])
_STD_RGB = np.array([58.395, 57.12, 57.375])
_PCA_EIGVAL = np.array([55.46, 4.794, 1.148])
_PCA_EIGVEC = np.array(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
)


def CreateAugmenter(
    data_shape,
    resize=0,
    rand_crop=False,
    rand_resize=False,  # noqa: N802
    rand_mirror=False,
    mean=None,
    std=None,
    brightness=0,
    contrast=0,
    saturation=0,
    hue=0,
    pca_noise=0,
    rand_gray=0,
    inter_method=2,
):
    """MXNet's standard augmenter list for ``data_shape`` (C, H, W): resize, crop
    (random-sized, random or centre), mirror, cast, colour jitters, lighting, grey,
    normalisation (``mean``/``std`` True for ImageNet's values)."""
    auglist = []
    if resize > 0:
        auglist.append(ResizeAug(resize, inter_method))
    crop_size = (data_shape[2], data_shape[1])
    if rand_resize:
        if not rand_crop:
            raise MXNetError("CreateAugmenter: rand_resize needs rand_crop=True")
        auglist.append(RandomSizedCropAug(crop_size, 0.08, (3.0 / 4.0, 4.0 / 3.0), inter_method))
    elif rand_crop:
        auglist.append(RandomCropAug(crop_size, inter_method))
    else:
        auglist.append(CenterCropAug(crop_size, inter_method))
    if rand_mirror:
        auglist.append(HorizontalFlipAug(0.5))
    auglist.append(CastAug())
    if brightness or contrast or saturation:
        auglist.append(ColorJitterAug(brightness, contrast, saturation))
    if hue:
        auglist.append(HueJitterAug(hue))
    if pca_noise > 0:
        auglist.append(LightingAug(pca_noise, _PCA_EIGVAL, _PCA_EIGVEC))
    if rand_gray > 0:
        auglist.append(RandomGrayAug(rand_gray))
    mean = _MEAN_RGB if mean is True else mean
    std = _STD_RGB if std is True else std
    for name, value in (("mean", mean), ("std", std)):
        if value is not None and np.asarray(_raw(value)).shape[0] not in (1, 3):
            raise MXNetError(f"CreateAugmenter: {name} must have 1 or 3 values")
    if mean is not None or std is not None:
        auglist.append(ColorNormalizeAug(mean, std))
    return auglist
