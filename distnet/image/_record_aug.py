"""Per-image decoding and augmentation of ImageRecordIter, as MXNet's C++
``DefaultImageAugmenter`` orders it: resize the shorter edge, affine (rotation, shear,
scale, aspect), pad, crop (random-resized, random or centre; resized to ``data_shape``),
HLS and colour jitters, lighting noise, mirror. Each image's random numbers are drawn for it in
advance (``Draws``) by the iterator's thread, so a run is reproducible whatever the number
of decoding threads, and no generator is built per image.
"""

import math

import numpy as np

from ..base import MXNetError
from ..gluon.data.vision import _imgops
from . import _codec

_PCA_EIGVAL = np.array([55.46, 4.794, 1.148])
_PCA_EIGVEC = np.array(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
)
_GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class Draws:
    """Uniform numbers drawn in advance for one image, handed out in order; more come
    from a generator seeded by the first one if an image needs many (random-resized
    crops retry up to 10 times)."""

    def __init__(self, values):
        self._values = values
        self._next = 0
        self._more = None

    def random(self):
        """A float in [0, 1)."""
        if self._next < len(self._values):
            self._next += 1
            return float(self._values[self._next - 1])
        if self._more is None:
            self._more = np.random.default_rng(int(self._values[0] * 2**32))
        return float(self._more.random())

    def uniform(self, low, high):
        """A float in [low, high)."""
        return low + (high - low) * self.random()

    def integers(self, low, high):
        """An int in [low, high) (``low`` when the range is empty)."""
        return low + min(int(self.random() * (high - low)), max(high - low - 1, 0))

    def normal(self, loc, scale, size):
        """``size`` normal values (Box-Muller)."""
        out = []
        for _ in range(size):
            u1, u2 = 1.0 - self.random(), self.random()
            out.append(loc + scale * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
        return np.array(out)


def augment(buf, p, rng, where):
    """Decode the encoded image ``buf`` and augment it with the settings ``p`` (a dict
    of ImageRecordIter's arguments); uint8 (H, W, C) out. ``where`` names the record
    in errors."""
    channels, height, width = p["data_shape"]
    img = _codec.decode(buf, 1 if channels == 3 else 0)
    interp = p["inter_method"]
    if p["resize"] > 0:
        img = _resize_short(img, p["resize"], interp)
    if _needs_affine(p):
        img = _affine(img, p, rng, interp)
    if p["pad"] > 0:
        pad, (rows, cols, chans) = p["pad"], img.shape
        canvas = np.empty((rows + 2 * pad, cols + 2 * pad, chans), np.uint8)
        canvas[:] = p["fill_value"]
        canvas[pad : pad + rows, pad : pad + cols] = img
        img = canvas
    img = _crop(img, p, rng, height, width, interp, where)
    if p["random_h"] or p["random_s"] or p["random_l"]:
        img = _hls_jitter(img, p, rng)
    if p["brightness"] or p["contrast"] or p["saturation"] or p["pca_noise"]:
        img = _color(img, p, rng)
    if p["mirror"] or (p["rand_mirror"] and rng.random() < 0.5):
        img = img[:, ::-1]
    return img


def _resize_short(img, size, interp):
    h, w = img.shape[:2]
    new_h, new_w = (size * h // w, size) if h > w else (size, size * w // h)
    return _imgops.resize(img, new_w, new_h, interp)


def _needs_affine(p):
    return (
        p["max_rotate_angle"] > 0
        or p["max_shear_ratio"] > 0
        or p["rotate"] > 0
        or p["max_random_scale"] != 1
        or p["min_random_scale"] != 1
        or p["max_aspect_ratio"] != 0
        or p["max_img_size"] != 1e10
        or p["min_img_size"] != 0
    )


def _affine(img, p, rng, interp):
    """Rotate, shear, scale and stretch about the centre into a new canvas filled with
    ``fill_value`` (MXNet's warpAffine step)."""
    shear = rng.uniform(-p["max_shear_ratio"], p["max_shear_ratio"])
    angle = (
        p["rotate"]
        if p["rotate"] > 0
        else rng.integers(-int(p["max_rotate_angle"]), int(p["max_rotate_angle"]) + 1)
    )
    a, b = math.cos(angle / 180.0 * math.pi), math.sin(angle / 180.0 * math.pi)
    scale = rng.uniform(p["min_random_scale"], p["max_random_scale"])
    ratio = rng.uniform(-p["max_aspect_ratio"], p["max_aspect_ratio"]) + 1
    hs = 2 * scale / (1 + ratio)
    ws = ratio * hs
    rows, cols = img.shape[:2]
    new_w = int(max(p["min_img_size"], min(p["max_img_size"], scale * cols)))
    new_h = int(max(p["min_img_size"], min(p["max_img_size"], scale * rows)))
    m = np.array([[hs * a - shear * b * ws, hs * b + shear * a * ws, 0.0], [-b * ws, a * ws, 0.0]])
    m[0, 2] = (new_w - (m[0, 0] * cols + m[0, 1] * rows)) / 2
    m[1, 2] = (new_h - (m[1, 0] * cols + m[1, 1] * rows)) / 2
    return _warp(img, m, new_w, new_h, p["fill_value"], interp)


def _warp(img, m, width, height, fill, interp):
    """OpenCV's warpAffine (bilinear, or nearest for interp 0) with a constant border."""
    inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    src = np.pad(img.astype(np.float32), ((1, 1), (1, 1), (0, 0)), constant_values=fill)
    sx, sy = sx + 1, sy + 1
    if interp == 0:
        xi = np.clip(np.rint(sx).astype(np.int64), 0, src.shape[1] - 1)
        yi = np.clip(np.rint(sy).astype(np.int64), 0, src.shape[0] - 1)
        out = src[yi, xi]
    else:
        x0 = np.clip(np.floor(sx).astype(np.int64), 0, src.shape[1] - 2)
        y0 = np.clip(np.floor(sy).astype(np.int64), 0, src.shape[0] - 2)
        fx = np.clip(sx - x0, 0, 1)[..., None].astype(np.float32)
        fy = np.clip(sy - y0, 0, 1)[..., None].astype(np.float32)
        top = src[y0, x0] * (1 - fx) + src[y0, x0 + 1] * fx
        bottom = src[y0 + 1, x0] * (1 - fx) + src[y0 + 1, x0 + 1] * fx
        out = top * (1 - fy) + bottom * fy
    outside = (sx < 0) | (sy < 0) | (sx > src.shape[1] - 1) | (sy > src.shape[0] - 1)
    out[outside] = fill
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _crop(img, p, rng, height, width, interp, where):
    rows, cols = img.shape[:2]
    if p["random_resized_crop"]:
        box = _random_resized_box(rows, cols, p, rng)
    else:
        crop_h, crop_w = height, width
        if p["max_crop_size"] > 0 and p["min_crop_size"] > 0:
            crop_h = crop_w = int(rng.integers(p["min_crop_size"], p["max_crop_size"] + 1))
        if rows < crop_h or cols < crop_w:
            raise MXNetError(
                f"ImageRecordIter: {where} is {rows}x{cols} (after resize/pad) "
                f"but the crop needs {crop_h}x{crop_w}; set resize= to at least "
                f"{max(crop_h, crop_w)}"
            )
        if p["rand_crop"]:
            y0 = int(rng.integers(0, rows - crop_h + 1))
            x0 = int(rng.integers(0, cols - crop_w + 1))
        else:
            y0, x0 = (rows - crop_h) // 2, (cols - crop_w) // 2
        box = (y0, x0, crop_h, crop_w)
    y0, x0, h, w = box
    out = img[y0 : y0 + h, x0 : x0 + w]
    if (h, w) != (height, width):
        out = _imgops.resize(out, width, height, interp)
    return out


def _random_resized_box(rows, cols, p, rng):
    """A box of random area fraction and aspect ratio; the centre square after 10 tries."""
    lo_ratio = p["min_aspect_ratio"] or 3.0 / 4.0
    hi_ratio = p["max_aspect_ratio"] or 4.0 / 3.0
    for _ in range(10):
        area = rng.uniform(p["min_random_area"], p["max_random_area"]) * rows * cols
        ratio = math.exp(rng.uniform(math.log(lo_ratio), math.log(hi_ratio)))
        w = int(round(math.sqrt(area * ratio)))
        h = int(round(math.sqrt(area / ratio)))
        if 0 < w <= cols and 0 < h <= rows:
            return (int(rng.integers(0, rows - h + 1)), int(rng.integers(0, cols - w + 1)), h, w)
    side = min(rows, cols)
    return ((rows - side) // 2, (cols - side) // 2, side, side)


def _color(img, p, rng):
    """Brightness, contrast, saturation jitters and PCA lighting noise, in float."""
    arr = img.astype(np.float32)
    if p["brightness"]:
        arr *= 1.0 + rng.uniform(-p["brightness"], p["brightness"])
    if p["contrast"]:
        alpha = 1.0 + rng.uniform(-p["contrast"], p["contrast"])
        grey_mean = float((arr[..., :3] * _GREY[: arr.shape[2]]).sum(axis=2).mean())
        arr = arr * alpha + (1.0 - alpha) * grey_mean
    if p["saturation"] and arr.shape[2] == 3:
        alpha = 1.0 + rng.uniform(-p["saturation"], p["saturation"])
        grey = (arr * _GREY).sum(axis=2, keepdims=True)
        arr = arr * alpha + grey * (1.0 - alpha)
    if p["pca_noise"] and arr.shape[2] == 3:
        alpha = rng.normal(0, p["pca_noise"], 3)
        arr += np.dot(_PCA_EIGVEC * alpha, _PCA_EIGVAL).astype(np.float32)
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def _hls_jitter(img, p, rng):
    """Shift hue (OpenCV's 0-180 units), lightness and saturation (0-255) by integers
    drawn from +-random_h/l/s, clamped, in OpenCV's 8-bit HLS space (MXNet's step)."""
    if img.shape[2] != 3:
        return img
    shift = np.array(
        [
            int(rng.uniform(-p["random_h"], p["random_h"])),
            int(rng.uniform(-p["random_l"], p["random_l"])),
            int(rng.uniform(-p["random_s"], p["random_s"])),
        ]
    )
    hls = _rgb_to_hls(img).astype(np.int32) + shift
    return _hls_to_rgb(np.clip(hls, 0, [180, 255, 255]).astype(np.uint8))


def _rgb_to_hls(img):
    """OpenCV's 8-bit RGB -> HLS (H in 0..180)."""
    cv2 = _codec._cv2()
    if cv2 is not None:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2HLS)
    rgb = img.astype(np.float32) / 255
    vmax, vmin = rgb.max(axis=2), rgb.min(axis=2)
    diff, light = vmax - vmin, (vmax + vmin) / 2
    safe = np.where(diff > 0, diff, 1)
    sat = np.where(
        light < 0.5,
        diff / np.where(vmax + vmin > 0, vmax + vmin, 1),
        diff / np.where(2 - vmax - vmin > 0, 2 - vmax - vmin, 1),
    )
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hue = np.where(
        vmax == r,
        60 * (g - b) / safe,
        np.where(vmax == g, 120 + 60 * (b - r) / safe, 240 + 60 * (r - g) / safe),
    )
    hue = np.where(diff > 0, np.where(hue < 0, hue + 360, hue), 0)
    out = np.stack([hue / 2, light * 255, np.where(diff > 0, sat, 0) * 255], axis=2)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _hls_to_rgb(hls):
    """OpenCV's 8-bit HLS -> RGB."""
    cv2 = _codec._cv2()
    if cv2 is not None:
        return cv2.cvtColor(np.ascontiguousarray(hls), cv2.COLOR_HLS2RGB)
    h = hls[..., 0].astype(np.float32) * 2 / 360
    light, sat = hls[..., 1] / np.float32(255), hls[..., 2] / np.float32(255)
    q = np.where(light < 0.5, light * (1 + sat), light + sat - light * sat)
    pp = 2 * light - q
    channels = []
    for offset in (1 / 3, 0, -1 / 3):
        t = (h + offset) % 1.0
        channels.append(
            np.where(
                t < 1 / 6,
                pp + (q - pp) * 6 * t,
                np.where(t < 1 / 2, q, np.where(t < 2 / 3, pp + (q - pp) * (2 / 3 - t) * 6, pp)),
            )
        )
    return np.clip(np.rint(np.stack(channels, axis=2) * 255), 0, 255).astype(np.uint8)
