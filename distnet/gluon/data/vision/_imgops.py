"""Image resizing and cropping on (H, W, C) or (N, H, W, C) numpy/cupy arrays.

Resizing follows OpenCV's ``cv2.resize`` (which MXNet's image operators call): bilinear
uses half-pixel centres, nearest picks ``floor(x * in / out)``; uint8 results are rounded.
"""

import numpy as np

from ....base import MXNetError

NEAREST, BILINEAR = 0, 1


def _linear_taps(out_size, in_size):
    """Source indices (i0, i1) and the weight of i1 for each output position."""
    pos = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    i0 = np.floor(pos).astype(np.int64)
    frac = pos - i0
    low = i0 < 0
    i0[low], frac[low] = 0, 0.0
    high = i0 >= in_size - 1
    i0[high], frac[high] = in_size - 1, 0.0
    return i0, np.minimum(i0 + 1, in_size - 1), frac.astype(np.float32)


def _nearest_taps(out_size, in_size):
    return np.minimum(np.floor(np.arange(out_size) * (in_size / out_size)).astype(np.int64),
                      in_size - 1)


def resize(img, width, height, interp=BILINEAR):
    """``img`` (H, W, C) or (N, H, W, C) resized to ``height`` x ``width``."""
    from ....backend import xp_of
    xp = xp_of(img)
    if img.ndim not in (3, 4):
        raise MXNetError(f"Input image dimension should be 3 or 4 but got {img.ndim} "
                         f"(shape {img.shape})")
    if width <= 0 or height <= 0:
        raise MXNetError(f"resize: output size must be positive, got width {width}, "
                         f"height {height}")
    h_axis = img.ndim - 3
    in_h, in_w = img.shape[h_axis], img.shape[h_axis + 1]
    if (in_h, in_w) == (height, width):
        return img.copy()
    if interp == NEAREST:
        rows = xp.asarray(_nearest_taps(height, in_h))
        cols = xp.asarray(_nearest_taps(width, in_w))
        return xp.take(xp.take(img, rows, axis=h_axis), cols, axis=h_axis + 1)
    if interp != BILINEAR:
        raise MXNetError(f"resize: interpolation={interp} is not supported; use 0 "
                         "(nearest) or 1 (bilinear)")
    work = img.astype(np.float32) if img.dtype != np.float64 else img
    work = _lerp(xp, work, *_linear_taps(height, in_h), h_axis)
    work = _lerp(xp, work, *_linear_taps(width, in_w), h_axis + 1)
    if img.dtype.kind in "ui":
        info = np.iinfo(img.dtype)
        return xp.clip(xp.rint(work), info.min, info.max).astype(img.dtype)
    return work.astype(img.dtype, copy=False)


def _lerp(xp, arr, i0, i1, frac, axis):
    shape = [1] * arr.ndim
    shape[axis] = -1
    weight = xp.asarray(frac).reshape(shape).astype(arr.dtype)
    first = xp.take(arr, xp.asarray(i0), axis=axis)
    second = xp.take(arr, xp.asarray(i1), axis=axis)
    return first + (second - first) * weight


def output_size(in_h, in_w, size, keep_ratio):
    """(height, width) for MXNet's Resize ``size`` (int, or (width, height))."""
    if isinstance(size, (int, np.integer)):
        size = int(size)
        if not keep_ratio:
            return size, size
        if in_h > in_w:
            return int(in_h * size / in_w), size
        return size, int(in_w * size / in_h)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return output_size(in_h, in_w, size[0], keep_ratio)
    if len(size) != 2:
        raise MXNetError(f"Resize: size must be an int or (width, height), got {size}")
    return size[1], size[0]


def center_crop(img, width, height, interp=BILINEAR):
    """The centre ``height`` x ``width`` region; a smaller image gives the largest
    centred region of that aspect ratio, resized up (MXNet's ``image.center_crop``)."""
    h_axis = img.ndim - 3
    in_h, in_w = img.shape[h_axis], img.shape[h_axis + 1]
    crop_w, crop_h = _scale_down(in_w, in_h, width, height)
    x0, y0 = int((in_w - crop_w) / 2), int((in_h - crop_h) / 2)
    index = [slice(None)] * img.ndim
    index[h_axis] = slice(y0, y0 + crop_h)
    index[h_axis + 1] = slice(x0, x0 + crop_w)
    out = img[tuple(index)]
    if (crop_w, crop_h) != (width, height):
        return resize(out, width, height, interp)
    return out.copy()


def _scale_down(src_w, src_h, width, height):
    """Shrink a (width, height) crop to fit the image, keeping its aspect ratio."""
    w, h = float(width), float(height)
    if src_h < h:
        w, h = w * src_h / h, src_h
    if src_w < w:
        w, h = src_w, h * src_w / w
    return int(w), int(h)
