"""Image resizing and cropping on (H, W, C) or (N, H, W, C) numpy/cupy arrays.

Resizing follows OpenCV's ``cv2.resize`` (which MXNet's image operators call): bilinear
uses half-pixel centres, nearest picks ``floor(x * in / out)``. Bilinear on uint8 images
repeats OpenCV's fixed-point arithmetic (11-bit weights, its SIMD rounding), so results
are bit-identical to MXNet's ImageRecordIter; bicubic (OpenCV's a = -0.75), area and
Lanczos-4 are computed in float32 and rounded (within 1 of OpenCV on uint8).
"""

import numpy as np

from ....base import MXNetError

NEAREST, BILINEAR, BICUBIC, AREA, LANCZOS = 0, 1, 2, 3, 4


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
    return np.minimum(
        np.floor(np.arange(out_size) * (in_size / out_size)).astype(np.int64), in_size - 1
    )


def resize(img, width, height, interp=BILINEAR):
    """``img`` (H, W, C) or (N, H, W, C) resized to ``height`` x ``width``."""
    from ....backend import xp_of

    xp = xp_of(img)
    if img.ndim not in (3, 4):
        raise MXNetError(
            f"Input image dimension should be 3 or 4 but got {img.ndim} (shape {img.shape})"
        )
    if width <= 0 or height <= 0:
        raise MXNetError(
            f"resize: output size must be positive, got width {width}, height {height}"
        )
    h_axis = img.ndim - 3
    in_h, in_w = img.shape[h_axis], img.shape[h_axis + 1]
    if (in_h, in_w) == (height, width):
        return img.copy()
    if interp == NEAREST:
        rows = xp.asarray(_nearest_taps(height, in_h))
        cols = xp.asarray(_nearest_taps(width, in_w))
        return xp.take(xp.take(img, rows, axis=h_axis), cols, axis=h_axis + 1)
    if interp in (BICUBIC, AREA, LANCZOS):
        return _resize_weighted(xp, img, width, height, interp, h_axis)
    if interp != BILINEAR:
        raise MXNetError(
            f"resize: interpolation={interp} is not supported; use 0 "
            "(nearest), 1 (bilinear), 2 (bicubic), 3 (area) or 4 (Lanczos)"
        )
    if img.dtype == np.uint8:
        return _linear_u8(xp, img, width, height, h_axis)
    work = img.astype(np.float32) if img.dtype != np.float64 else img
    work = _lerp(xp, work, *_linear_taps(height, in_h), h_axis)
    work = _lerp(xp, work, *_linear_taps(width, in_w), h_axis + 1)
    if img.dtype.kind in "ui":
        info = np.iinfo(img.dtype)
        return xp.clip(xp.rint(work), info.min, info.max).astype(img.dtype)
    return work.astype(img.dtype, copy=False)


def _fixed_taps(out_size, in_size, vertical=False):
    """Bilinear taps with OpenCV's 11-bit integer weights (summing to 2048). OpenCV
    clamps a column's weight at the borders but not a row's: a border row blends the
    edge row with itself, which its truncating arithmetic does not always round back."""
    if vertical:
        pos = ((np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5).astype(np.float32)
        i0 = np.floor(pos).astype(np.int64)
        frac = pos - i0
        return (np.clip(i0, 0, in_size - 1), np.clip(i0 + 1, 0, in_size - 1), *_split_weight(frac))
    i0, i1, frac = _linear_taps(out_size, in_size)
    return (i0, i1, *_split_weight(frac))


def _split_weight(frac):
    w1 = np.rint(frac.astype(np.float64) * 2048).astype(np.int32)
    return 2048 - w1, w1


def _linear_u8(xp, img, width, height, h_axis):
    """OpenCV's fixed-point bilinear resize of uint8 images: a horizontal pass in
    2048ths, then the vertical pass as its SIMD code rounds ((b * (row >> 4)) >> 16)."""
    in_h, in_w = img.shape[h_axis], img.shape[h_axis + 1]
    x0, x1, ax0, ax1 = (xp.asarray(t) for t in _fixed_taps(width, in_w))
    y0, y1, by0, by1 = (xp.asarray(t) for t in _fixed_taps(height, in_h, vertical=True))
    shape = [1] * img.ndim
    shape[h_axis + 1] = -1
    src = img.astype(np.int32)
    rows = (
        xp.take(src, x0, axis=h_axis + 1) * ax0.reshape(shape)
        + xp.take(src, x1, axis=h_axis + 1) * ax1.reshape(shape)
    ) >> 4
    shape[h_axis + 1], shape[h_axis] = 1, -1
    top = (xp.take(rows, y0, axis=h_axis) * by0.reshape(shape)) >> 16
    bottom = (xp.take(rows, y1, axis=h_axis) * by1.reshape(shape)) >> 16
    return xp.clip((top + bottom + 2) >> 2, 0, 255).astype(np.uint8)


def _cubic(t):
    """OpenCV's bicubic kernel (a = -0.75)."""
    a, t = -0.75, np.abs(t)
    return np.where(
        t <= 1,
        ((a + 2) * t - (a + 3)) * t * t + 1,
        np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0),
    )


def _lanczos4(t):
    t = np.abs(t)
    return np.where(t < 4, np.sinc(t) * np.sinc(t / 4), 0.0)


def _weights(out_size, in_size, interp):
    """(out, in) float matrix of the separable resize along one axis."""
    scale = in_size / out_size
    matrix = np.zeros((out_size, in_size))
    if interp == AREA and scale > 1:  # each output pixel averages the inputs it covers
        for i in range(out_size):
            lo, hi = i * scale, (i + 1) * scale
            for j in range(int(np.floor(lo)), min(int(np.ceil(hi)), in_size)):
                matrix[i, j] = (min(hi, j + 1) - max(lo, j)) / scale
        return matrix
    if interp == AREA:  # upsampling: OpenCV's area resize is bilinear then
        i0, i1, frac = _linear_taps(out_size, in_size)
        np.add.at(matrix, (np.arange(out_size), i0), 1 - frac)
        np.add.at(matrix, (np.arange(out_size), i1), frac)
        return matrix
    kernel, support = (_cubic, 2) if interp == BICUBIC else (_lanczos4, 4)
    pos = (np.arange(out_size) + 0.5) * scale - 0.5
    base = np.floor(pos).astype(np.int64)
    for k in range(1 - support, support + 1):
        taps = base + k
        np.add.at(matrix, (np.arange(out_size), np.clip(taps, 0, in_size - 1)), kernel(pos - taps))
    return matrix / matrix.sum(axis=1, keepdims=True)


def _resize_weighted(xp, img, width, height, interp, h_axis):
    """Resize with dense separable weight matrices (bicubic, area, Lanczos)."""
    in_h, in_w = img.shape[h_axis], img.shape[h_axis + 1]
    work = img.astype(np.float32)
    wh = xp.asarray(_weights(height, in_h, interp).astype(np.float32))
    ww = xp.asarray(_weights(width, in_w, interp).astype(np.float32))
    work = xp.moveaxis(xp.tensordot(wh, work, axes=([1], [h_axis])), 0, h_axis)
    work = xp.moveaxis(xp.tensordot(ww, work, axes=([1], [h_axis + 1])), 0, h_axis + 1)
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
