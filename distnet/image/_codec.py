"""Encoding and decoding image bytes: OpenCV (``opencv-python-headless``) when installed,
else Pillow; one of them is needed (``pip install 'distnet[image]'``).

MXNet decoded with OpenCV, so OpenCV gives its pixels exactly; Pillow wraps the same
libjpeg-turbo and libpng (the JPEG and PNG fixtures decode identically). OpenCV is also
the faster (measured here: 80 us against 470 us for a 32x32 JPEG, 2.0 ms against 3.7 ms
for 256x300), which matters for ImageRecordIter. Both release the GIL while decoding.
``DISTNET_IMAGE_BACKEND=pil`` (or ``cv2``) forces one.
"""

import io

import numpy as np

from ..base import MXNetError

_EXTRA_HINT = "pip install 'distnet[image]'"
_BACKEND = []  # the chosen module, once


def pil():
    """The ``PIL.Image`` module, or an MXNetError naming the extra to install."""
    try:
        from PIL import Image
    except ImportError:
        raise MXNetError(
            "decoding and encoding images needs Pillow or OpenCV, neither is "
            f"installed: {_EXTRA_HINT}"
        ) from None
    return Image


def _cv2():
    """The ``cv2`` module when it is installed and not overridden, else None."""
    if not _BACKEND:
        from ..config import get

        choice = get("DISTNET_IMAGE_BACKEND")
        module = None
        if choice != "pil":
            try:
                import cv2 as module
            except ImportError:
                if choice == "cv2":
                    raise MXNetError(
                        "DISTNET_IMAGE_BACKEND=cv2 but OpenCV is not "
                        "installed: pip install opencv-python-headless"
                    ) from None
        _BACKEND.append(module)
    return _BACKEND[0]


def decode(buf, flag=1):
    """uint8 (H, W, 3) RGB (``flag=1``), (H, W, 1) grey (``flag=0``) or, for ``flag=-1``,
    the image as stored ((H, W) grey or (H, W, 3)/(H, W, 4)) from encoded bytes."""
    cv2 = _cv2()
    if cv2 is not None:
        return _decode_cv2(cv2, buf, flag)
    image_mod = pil()
    try:
        with image_mod.open(io.BytesIO(bytes(buf))) as img:
            if flag == 1:
                return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
            if flag == 0:
                return np.asarray(img if img.mode == "L" else img.convert("L"))[..., None]
            if img.mode not in ("L", "RGB", "RGBA"):
                img = img.convert("RGBA" if "A" in img.mode else "RGB")
            return np.asarray(img)
    except (OSError, ValueError, SyntaxError) as err:
        raise _decode_error(buf, err) from None


def _decode_error(buf, err):
    return MXNetError(f"cannot decode image ({len(buf)} bytes, starting {bytes(buf[:8])!r}): {err}")


def _decode_cv2(cv2, buf, flag):
    mode = {1: cv2.IMREAD_COLOR, 0: cv2.IMREAD_GRAYSCALE}.get(flag, cv2.IMREAD_UNCHANGED)
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), mode) if len(buf) else None
    if img is None:
        raise _decode_error(buf, "not an image OpenCV can read")
    if img.dtype != np.uint8:  # 16-bit PNG (IMREAD_UNCHANGED): keep the high byte
        img = (img >> 8).astype(np.uint8)
    if img.ndim == 2:
        return img[..., None] if flag == 0 else img
    if img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)


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
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise MXNetError(f"encode: images must be uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise MXNetError(
            f"encode: expected (H, W), (H, W, 1) or (H, W, 3) image, got shape {arr.shape}"
        )
    fmt = img_fmt.lower().lstrip(".")
    if fmt not in ("jpg", "jpeg", "png"):
        raise MXNetError(f"encode: img_fmt must be '.jpg' or '.png', got {img_fmt!r}")
    level = 3 if quality is None or int(quality) > 9 else int(quality)
    cv2 = _cv2()
    if cv2 is not None:  # the bytes MXNet's pack_img writes
        if arr.ndim == 3:
            arr = arr[..., [2, 1, 0] + list(range(3, arr.shape[2]))]
        params = (
            [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
            if fmt != "png"
            else [cv2.IMWRITE_PNG_COMPRESSION, level]
        )
        ok, out = cv2.imencode("." + fmt, np.ascontiguousarray(arr), params)
        if not ok:
            raise MXNetError(f"encode: OpenCV could not encode a {arr.shape} image as {fmt}")
        return out.tobytes()
    out = io.BytesIO()
    pic = pil().fromarray(np.ascontiguousarray(arr))
    if fmt in ("jpg", "jpeg"):
        pic.save(out, format="JPEG", quality=int(quality))
    else:
        pic.save(out, format="PNG", compress_level=level)
    return out.getvalue()


def encode_bgr(img, quality=95, img_fmt=".jpg"):
    """Encode an OpenCV-layout (BGR) array, as MXNet's ``recordio.pack_img``."""
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[..., [2, 1, 0] + list(range(3, arr.shape[2]))]
    return encode(arr, quality, img_fmt)
