"""Encoding and decoding image bytes with Pillow (the optional ``image`` extra).

MXNet decoded with OpenCV; Pillow wraps the same libjpeg-turbo and libpng, so decoded
pixels agree with MXNet's (JPEG to within the IDCT's rounding, PNG exactly). Pillow's
decoders release the GIL, which lets ImageRecordIter decode in threads.
"""

import io

import numpy as np

from ..base import MXNetError

_EXTRA_HINT = "pip install 'distnet[image]'"


def pil():
    """The ``PIL.Image`` module, or an MXNetError naming the extra to install."""
    try:
        from PIL import Image
    except ImportError:
        raise MXNetError("decoding and encoding images needs Pillow, which is not "
                         f"installed: {_EXTRA_HINT}") from None
    return Image


def decode(buf, flag=1):
    """uint8 (H, W, 3) RGB (``flag=1``), (H, W, 1) grey (``flag=0``) or, for ``flag=-1``,
    the image as stored ((H, W) grey or (H, W, 3)/(H, W, 4)) from encoded bytes."""
    image_mod = pil()
    try:
        with image_mod.open(io.BytesIO(bytes(buf))) as img:
            if flag == 1:
                return np.asarray(img.convert("RGB"))
            if flag == 0:
                return np.asarray(img.convert("L"))[..., None]
            if img.mode not in ("L", "RGB", "RGBA"):
                img = img.convert("RGBA" if "A" in img.mode else "RGB")
            return np.asarray(img)
    except (OSError, ValueError, SyntaxError) as err:
        raise MXNetError(f"cannot decode image ({len(buf)} bytes, starting "
                         f"{bytes(buf[:8])!r}): {err}") from None


def decode_bgr(buf, iscolor=-1):
    """Decode as OpenCV's ``imdecode`` lays images out: BGR order, grey as (H, W)."""
    img = decode(buf, 1 if iscolor > 0 else (0 if iscolor == 0 else -1))
    if img.ndim == 3 and img.shape[2] == 1:
        return img[..., 0]
    if img.ndim == 3 and img.shape[2] >= 3:
        return np.ascontiguousarray(img[..., [2, 1, 0] + list(range(3, img.shape[2]))])
    return img


def encode(img, quality=95, img_fmt=".jpg"):
    """Encode a uint8 RGB (H, W, 3) or grey (H, W[, 1]) array as JPEG or PNG bytes."""
    image_mod = pil()
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise MXNetError(f"encode: images must be uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise MXNetError(f"encode: expected (H, W), (H, W, 1) or (H, W, 3) image, got "
                         f"shape {arr.shape}")
    fmt = img_fmt.lower().lstrip(".")
    out = io.BytesIO()
    pic = image_mod.fromarray(np.ascontiguousarray(arr))
    if fmt in ("jpg", "jpeg"):
        pic.save(out, format="JPEG", quality=int(quality))
    elif fmt == "png":
        level = 3 if quality is None or int(quality) > 9 else int(quality)
        pic.save(out, format="PNG", compress_level=level)
    else:
        raise MXNetError(f"encode: img_fmt must be '.jpg' or '.png', got {img_fmt!r}")
    return out.getvalue()


def encode_bgr(img, quality=95, img_fmt=".jpg"):
    """Encode an OpenCV-layout (BGR) array, as MXNet's ``recordio.pack_img``."""
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[..., [2, 1, 0] + list(range(3, arr.shape[2]))]
    return encode(arr, quality, img_fmt)
