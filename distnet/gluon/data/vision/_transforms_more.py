"""More of MXNet's image transforms: crops (RandomResizedCrop, CropResize), colour
jitters (RandomBrightness/Contrast/Saturation/Hue, RandomColorJitter, RandomLighting,
RandomGray) and rotations (Rotate, RandomRotation).

RandomResizedCrop draws from Python's ``random`` as MXNet does (``random.seed``
reproduces MXNet's crops); the others draw from distnet's generator (``mx.random.seed``).
Colour transforms take (H, W, 3) or (N, H, W, 3) images and keep the dtype (uint8
results are rounded and clipped); rotations take (C, H, W) or (N, C, H, W) float tensors,
as MXNet's.
"""

import math
import numbers

import numpy as np

from ....base import MXNetError
from . import _imgops
from .transforms import Transform, _indent_repr, _unwrap, _wrap

__all__ = [
    "RandomResizedCrop",
    "CropResize",
    "RandomBrightness",
    "RandomContrast",
    "RandomSaturation",
    "RandomHue",
    "RandomColorJitter",
    "RandomLighting",
    "RandomGray",
    "Rotate",
    "RandomRotation",
    "RandomApply",
]


def _size_pair(size):
    return (size, size) if isinstance(size, numbers.Number) else tuple(size)


class RandomResizedCrop(Transform):
    """Crop a random area fraction ``scale`` and aspect ``ratio`` of an (H, W, C) image
    and resize it to ``size`` (w, h); the centre crop after 10 misses."""

    _hybrid = False

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation=1):
        self._args = (_size_pair(size), scale, ratio, interpolation)

    def forward(self, x):
        from ....image import random_size_crop

        data, ctx = _unwrap(x)
        if data.ndim != 3:
            raise MXNetError(f"RandomResizedCrop: input must be (H, W, C), got {data.shape}")
        return _wrap(random_size_crop(data, *self._args)[0]._data, ctx)


class CropResize(Transform):
    """Crop the (``width`` x ``height``) region at (``x``, ``y``) of (H, W, C) or
    (N, H, W, C) images, then resize it to ``size`` (w, h) if given."""

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        self._box = (int(x), int(y), int(width), int(height))
        self._size = _size_pair(size) if size is not None else None
        self._interpolation = 1 if interpolation is None else interpolation

    def forward(self, x):
        data, ctx = _unwrap(x)
        if data.ndim not in (3, 4):
            raise MXNetError(
                f"CropResize: input must be (H, W, C) or (N, H, W, C), got {data.shape}"
            )
        x0, y0, w, h = self._box
        if w <= 0 or h <= 0:
            raise MXNetError(f"CropResize: width and height must be > 0, got {w} and {h}")
        if self._size is not None and min(self._size) <= 0:
            raise MXNetError(f"CropResize: size must be > 0, got {self._size}")
        rows, cols = data.shape[-3], data.shape[-2]
        if x0 < 0 or y0 < 0 or x0 + w > cols or y0 + h > rows:
            raise MXNetError(
                f"CropResize: region x={x0}, y={y0}, width={w}, height={h} "
                f"is outside the {rows}x{cols} image"
            )
        out = data[..., y0 : y0 + h, x0 : x0 + w, :]
        if self._size is not None:
            out = _imgops.resize(out, self._size[0], self._size[1], self._interpolation)
        return _wrap(out.copy(), ctx)


def _uniform(low, high, n=None):
    from .... import random as _random

    return _random.generator().uniform(low, high, n)


def _color_input(x, name):
    data, ctx = _unwrap(x)
    if data.ndim not in (3, 4) or data.shape[-1] != 3:
        raise MXNetError(f"{name}: input must be RGB (H, W, 3) or (N, H, W, 3), got {data.shape}")
    return data, ctx


def _finish(out, dtype, ctx):
    if np.dtype(dtype).kind in "ui":
        out = np.clip(np.rint(out), 0, np.iinfo(dtype).max)
    return _wrap(out.astype(dtype), ctx)


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _brightness(img, alpha):
    return img * alpha


def _contrast(img, alpha):
    grey = (img * _LUMA).sum(axis=-1, keepdims=True).mean(axis=(-3, -2), keepdims=True)
    return img * alpha + grey * (1 - alpha)


def _saturation(img, alpha):
    grey = (img * _LUMA).sum(axis=-1, keepdims=True)
    return img * alpha + grey * (1 - alpha)


def _hue(img, alpha):
    """Rotate the hue by ``alpha * pi`` in YIQ space."""
    tyiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321], [0.211, -0.523, 0.311]])
    ityiq = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.107, 1.705]])
    u, w = math.cos(alpha * math.pi), math.sin(alpha * math.pi)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]])
    return img @ (ityiq @ rot @ tyiq).T.astype(np.float32)


class _Jitter(Transform):
    """One colour jitter with factor ``1 + uniform(-amount, amount)`` (hue: the angle)."""

    _op = None
    _centre = 1.0

    def __init__(self, amount):
        if amount < 0:
            raise MXNetError(f"{type(self).__name__}: the amount must be >= 0, got {amount}")
        self._amount = float(amount)

    def forward(self, x):
        data, ctx = _color_input(x, type(self).__name__)
        alpha = self._centre + _uniform(-self._amount, self._amount)
        if self._centre == 1.0:
            alpha = max(alpha, 0.0)
        out = type(self)._op(np.asarray(data, dtype=np.float32), np.float32(alpha))
        return _finish(out, data.dtype, ctx)


class RandomBrightness(_Jitter):
    """Scale pixel values by ``uniform(max(0, 1 - brightness), 1 + brightness)``."""

    _op = staticmethod(_brightness)


class RandomContrast(_Jitter):
    """Blend with the image's mean grey level by ``1 + uniform(-contrast, contrast)``."""

    _op = staticmethod(_contrast)


class RandomSaturation(_Jitter):
    """Blend with each pixel's grey level by ``1 + uniform(-saturation, saturation)``."""

    _op = staticmethod(_saturation)


class RandomHue(_Jitter):
    """Rotate the hue by ``uniform(-hue, hue) * pi`` (YIQ rotation)."""

    _op = staticmethod(_hue)
    _centre = 0.0


class RandomColorJitter(Transform):
    """Brightness, contrast, saturation and hue jitters, in a random order."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self._children = [
            cls(amount)
            for cls, amount in (
                (RandomBrightness, brightness),
                (RandomContrast, contrast),
                (RandomSaturation, saturation),
                (RandomHue, hue),
            )
            if amount > 0
        ]

    def forward(self, x):
        from .... import random as _random

        order = _random.generator().permutation(len(self._children))
        for i in order:
            x = self._children[i](x)
        return x


class RandomLighting(Transform):
    """AlexNet's PCA lighting noise: add ``eigvec @ (normal(0, alpha) * eigval)``."""

    _EIGVAL = np.array([55.46, 4.794, 1.148])
    _EIGVEC = np.array(
        [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
    )

    def __init__(self, alpha):
        self._alpha = float(alpha)

    def forward(self, x):
        from .... import random as _random

        data, ctx = _color_input(x, "RandomLighting")
        noise = _random.generator().normal(0, self._alpha, 3)
        rgb = (self._EIGVEC @ (noise * self._EIGVAL)).astype(np.float32)
        return _finish(np.asarray(data, dtype=np.float32) + rgb, data.dtype, ctx)


class RandomGray(Transform):
    """Turn the image grey (0.21 R + 0.72 G + 0.07 B in all 3 channels) with
    probability ``p`` (MXNet 2's transform; 1.9.1 has it as ``image.RandomGrayAug``)."""

    def __init__(self, p=0.5):
        self._p = float(p)

    def forward(self, x):
        data, ctx = _color_input(x, "RandomGray")
        if _uniform(0.0, 1.0) >= self._p:
            return _wrap(data.copy(), ctx)
        grey = (
            np.asarray(data, dtype=np.float32) @ np.array([0.21, 0.72, 0.07], dtype=np.float32)
        )[..., None]
        return _finish(np.repeat(grey, 3, axis=-1), data.dtype, ctx)


def _rotate(chw, degrees, zoom_in, zoom_out):
    """Rotate (C, H, W) by ``degrees`` (counter-clockwise on screen) about the pixel
    centre ((H-1)/2, (W-1)/2), bilinear, zero outside; zoom to fill or to fit."""
    _, h, w = chw.shape
    theta = math.radians(degrees)
    cos, sin = abs(math.cos(theta)), abs(math.sin(theta))
    scale = 1.0
    if zoom_in:
        scale = max((w * cos + h * sin) / w, (w * sin + h * cos) / h)
    elif zoom_out:
        scale = min(w / (w * cos + h * sin), h / (w * sin + h * cos))
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = xs - cx, ys - cy
    sx = (math.cos(theta) * dx - math.sin(theta) * dy) / scale + cx
    sy = (math.sin(theta) * dx + math.cos(theta) * dy) / scale + cy
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = (sx - x0).astype(np.float32), (sy - y0).astype(np.float32)

    def tap(yy, xx):
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        return chw[:, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)] * inside

    return (
        tap(y0, x0) * (1 - fx) * (1 - fy)
        + tap(y0, x0 + 1) * fx * (1 - fy)
        + tap(y0 + 1, x0) * (1 - fx) * fy
        + tap(y0 + 1, x0 + 1) * fx * fy
    )


class _RotateTypeError(MXNetError, TypeError):
    """A rotation's input of the wrong dtype: MXNet raises TypeError, distnet's errors
    are MXNetErrors; this is both."""


class _ProbaValueError(MXNetError, ValueError):
    """A probability outside [0, 1]: MXNet raises ValueError; this is an MXNetError too."""


def _rotate_batch(x, angles, zoom_in, zoom_out, name):
    data, ctx = _unwrap(x)
    if data.ndim not in (3, 4) or data.dtype != np.float32:
        raise _RotateTypeError(
            f"{name}: input must be a float32 (C, H, W) or (N, C, H, W) "
            f"tensor (apply ToTensor first), got {data.dtype} {data.shape}"
        )
    if zoom_in and zoom_out:
        raise MXNetError(f"{name}: zoom_in and zoom_out cannot both be set")
    arr = np.asarray(data)
    if arr.ndim == 3:
        return _wrap(_rotate(arr, angles[0], zoom_in, zoom_out).astype(np.float32), ctx)
    out = np.stack([_rotate(img, a, zoom_in, zoom_out) for img, a in zip(arr, angles)])
    return _wrap(out.astype(np.float32), ctx)


class Rotate(Transform):
    """Rotate (C, H, W) or (N, C, H, W) float tensors by ``rotation_degrees``
    (counter-clockwise), keeping their size; ``zoom_in`` scales up so no empty corner
    shows, ``zoom_out`` scales down so the whole image stays visible."""

    def __init__(self, rotation_degrees, zoom_in=False, zoom_out=False):
        self._args = (float(rotation_degrees), zoom_in, zoom_out)

    def forward(self, x):
        degrees, zoom_in, zoom_out = self._args
        count = x.shape[0] if len(x.shape) == 4 else 1
        return _rotate_batch(x, [degrees] * count, zoom_in, zoom_out, "Rotate")


class RandomRotation(Transform):
    """Rotate by an angle drawn uniformly from ``angle_limits`` (degrees), each image of
    a batch on its own, with probability ``rotate_with_proba``."""

    def __init__(self, angle_limits, zoom_in=False, zoom_out=False, rotate_with_proba=1.0):
        low, high = angle_limits
        if low > high:
            raise MXNetError(
                f"RandomRotation: angle_limits must be (low, high), got {angle_limits}"
            )
        if not 0 <= rotate_with_proba <= 1:
            raise _ProbaValueError(
                f"RandomRotation: rotate_with_proba must be in [0, 1], got {rotate_with_proba}"
            )
        self._limits = (float(low), float(high))
        self._zoom = (zoom_in, zoom_out)
        self._proba = rotate_with_proba

    def forward(self, x):
        if _uniform(0.0, 1.0) >= self._proba:
            data, ctx = _unwrap(x)
            return _wrap(data.copy(), ctx)
        count = x.shape[0] if len(x.shape) == 4 else 1
        angles = list(_uniform(self._limits[0], self._limits[1], count))
        return _rotate_batch(x, angles, *self._zoom, "RandomRotation")


class RandomApply(Transform):
    """Apply ``transforms`` (one callable, e.g. a Compose) with probability ``p``, else
    return the input unchanged (drawn from distnet's generator: ``mx.random.seed``
    makes it reproducible).

    Parameters
    ----------
    transforms : callable
        The transform to apply.
    p : float, default 0.5
        The probability to apply it, in [0, 1].
    """

    _hybrid = False

    def __init__(self, transforms, p=0.5):
        if not 0 <= p <= 1:
            raise _ProbaValueError(f"RandomApply: p must be in [0, 1], got {p}")
        self.transforms = transforms
        self.p = p

    def forward(self, x):
        if _uniform(0.0, 1.0) < self.p:
            return self.transforms(x)
        return x

    def __repr__(self):
        return f"RandomApply(\n  (transforms): {_indent_repr(self.transforms)}\n)"
