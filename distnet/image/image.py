"""MXNet's ``mx.image`` functions and augmenters on (H, W, C) NDArrays.

Random choices use Python's ``random`` module (and numpy's global generator for the
lighting noise), in the same order as MXNet 1.9.1, so ``random.seed``/``np.random.seed``
reproduce MXNet's crops, flips and jitters. Interpolation codes are OpenCV's: 0 nearest,
1 bilinear, 2 bicubic, 3 area, 4 Lanczos, 9 auto, 10 random.
"""

import random

import numpy as np

from ..base import MXNetError
from ..gluon.data.vision import _imgops
from . import _codec

__all__ = [
    "imread",
    "imdecode",
    "imresize",
    "scale_down",
    "resize_short",
    "fixed_crop",
    "random_crop",
    "center_crop",
    "color_normalize",
    "random_size_crop",
    "copyMakeBorder",
]


def _raw(src):
    """The numpy array behind an NDArray (or the array itself)."""
    from ..ndarray.ndarray import read_raw

    return np.asarray(read_raw(src))


def _nd(arr):
    from ..ndarray import NDArray

    return NDArray(np.ascontiguousarray(arr))


def imdecode(buf, flag=1, to_rgb=True, out=None):
    """Decode image bytes to a uint8 (H, W, C) NDArray: 3 channels for ``flag=1``, one
    (grey) for ``flag=0``; BGR order when ``to_rgb`` is False (OpenCV's)."""
    if isinstance(buf, str):
        raise MXNetError("imdecode needs the image's bytes, got a str (use imread for paths)")
    img = _codec.decode(
        _raw(buf).tobytes() if not isinstance(buf, (bytes, bytearray)) else buf, 1 if flag else 0
    )
    if flag and not to_rgb:
        img = img[..., ::-1]
    if out is not None:
        out[:] = _nd(img)
        return out
    return _nd(img)


def imread(filename, flag=1, to_rgb=True, out=None):
    """Read and decode an image file (see ``imdecode``)."""
    try:
        with open(filename, "rb") as fin:
            buf = fin.read()
    except OSError as err:
        raise MXNetError(f"cannot read image {filename}: {err}") from None
    return imdecode(buf, flag, to_rgb, out)


def _interp(interp, sizes=()):
    """OpenCV code for ``interp``: 9 picks by the resize direction, 10 at random."""
    if interp == 9:
        if sizes:
            old_h, old_w, new_h, new_w = sizes
            if new_h > old_h and new_w > old_w:
                return 2
            if new_h < old_h and new_w < old_w:
                return 3
            return 1
        return 2
    if interp == 10:
        return random.randint(0, 4)
    if interp not in (0, 1, 2, 3, 4):
        raise MXNetError(f"Unknown interp method {interp}: expected 0-4, 9 or 10")
    return interp


def imresize(src, w, h, interp=1, out=None):
    """Resize ``src`` (H, W, C) to ``h`` x ``w``."""
    img = _imgops.resize(_raw(src), int(w), int(h), _interp(interp))
    if out is not None:
        out[:] = _nd(img)
        return out
    return _nd(img)


def scale_down(src_size, size):
    """Shrink crop ``size`` (w, h) to fit ``src_size`` (w, h), keeping its aspect."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def resize_short(src, size, interp=2):
    """Resize so the shorter edge is ``size``, keeping the aspect ratio."""
    h, w = src.shape[:2]
    new_h, new_w = (size * h // w, size) if h > w else (size, size * w // h)
    return imresize(src, new_w, new_h, _interp(interp, (h, w, new_h, new_w)))


def fixed_crop(src, x0, y0, w, h, size=None, interp=2):
    """The region at (x0, y0) of size (w, h), resized to ``size`` (w, h) if given."""
    out = _raw(src)[y0 : y0 + h, x0 : x0 + w]
    if size is not None and (w, h) != tuple(size):
        return imresize(out, size[0], size[1], _interp(interp, (h, w, size[1], size[0])))
    return _nd(out)


def random_crop(src, size, interp=2):
    """A random crop of ``size`` (w, h) (shrunk to fit, then resized up): ``(out,
    (x0, y0, w, h))``."""
    h, w = src.shape[:2]
    new_w, new_h = scale_down((w, h), size)
    x0 = random.randint(0, w - new_w)
    y0 = random.randint(0, h - new_h)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def center_crop(src, size, interp=2):
    """The centre crop of ``size`` (w, h): ``(out, (x0, y0, w, h))``."""
    h, w = src.shape[:2]
    new_w, new_h = scale_down((w, h), size)
    x0, y0 = int((w - new_w) / 2), int((h - new_h) / 2)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def color_normalize(src, mean, std=None):
    """``(src - mean) / std``."""
    out = _raw(src) - (_raw(mean) if mean is not None else 0)
    if std is not None:
        out = out / _raw(std)
    return _nd(out)


def random_size_crop(src, size, area, ratio, interp=2, **kwargs):
    """A crop of random area (fraction ``area``, or a (min, max) range) and aspect
    ``ratio`` (min, max), resized to ``size``; the centre crop after 10 misses."""
    h, w = src.shape[:2]
    area = kwargs.pop("min_area", area)
    if isinstance(area, (int, float)):
        area = (area, 1.0)
    for _ in range(10):
        target_area = random.uniform(area[0], area[1]) * h * w
        new_ratio = np.exp(random.uniform(np.log(ratio[0]), np.log(ratio[1])))
        new_w = int(round(np.sqrt(target_area * new_ratio)))
        new_h = int(round(np.sqrt(target_area / new_ratio)))
        if new_w <= w and new_h <= h:
            x0 = random.randint(0, w - new_w)
            y0 = random.randint(0, h - new_h)
            return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)
    return center_crop(src, size, interp)


def copyMakeBorder(src, top, bot, left, right, type=0, value=0.0):  # noqa: A002 (MXNet's)
    """Pad ``src`` (H, W, C): ``type`` 0 constant ``value``, 1 replicate the edge."""
    modes = {0: "constant", 1: "edge", 2: "symmetric", 4: "reflect"}
    if type not in modes:
        raise MXNetError(f"copyMakeBorder: type {type} not supported; use 0, 1, 2 or 4")
    widths = ((top, bot), (left, right), (0, 0))
    arr = _raw(src)
    kw = {"constant_values": value} if type == 0 else {}
    return _nd(np.pad(arr, widths, mode=modes[type], **kw))
