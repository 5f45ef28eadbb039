"""Reading image files into uint8 (height, width, channel) arrays, RGB order.

Pillow decodes when it is installed, else OpenCV for JPEG and others. Without Pillow, PNG
files are decoded here with zlib and numpy (8-bit and 16-bit, grey/RGB/palette/alpha, not
interlaced), so ImageFolderDataset works on PNG folders with no extra package.
"""

import struct
import zlib

import numpy as np

from ....base import MXNetError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


def imread(path, flag=1):
    """The image in ``path`` as a uint8 numpy array: (H, W, 3) RGB for ``flag=1``,
    (H, W, 1) grey for ``flag=0``; alpha is dropped."""
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        try:
            img = Image.open(path)
        except (OSError, ValueError) as err:
            raise MXNetError(f"cannot decode {path}: {err}") from None
        with img:
            # Pillow clips 16-bit samples to 255; OpenCV (MXNet) keeps the high byte,
            # as the PNG decoder below does
            if not img.mode.startswith("I"):
                rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
                return rgb if flag else _grey(rgb)
    with open(path, "rb") as fin:
        head = fin.read(8)
    if head != _PNG_SIGNATURE:
        from ....image import _codec

        if _codec._cv2() is not None:  # OpenCV (the 'image' extra) without Pillow
            with open(path, "rb") as fin:
                return _codec.decode(fin.read(), 1 if flag else 0)
        raise MXNetError(
            f"cannot decode {path}: without Pillow distnet reads PNG files "
            "only; install Pillow (pip install Pillow) or OpenCV "
            "(pip install 'distnet[image]') for JPEG and others"
        )
    return _convert(*decode_png(path), flag=flag, path=path)


def _convert(pixels, color_type, palette, flag, path):
    """PNG samples -> uint8 RGB (flag=1) or grey (flag=0) in (H, W, C) layout."""
    if color_type == 3:
        if palette is None:
            raise MXNetError(f"{path}: palette image without a PLTE chunk")
        index = pixels[..., 0]
        if index.max(initial=0) >= len(palette):
            raise MXNetError(f"{path}: palette index out of range")
        rgb = palette[index]
    elif color_type in (0, 4):
        grey = pixels[..., :1]
        return np.repeat(grey, 3, axis=2) if flag else np.ascontiguousarray(grey)
    else:
        rgb = pixels[..., :3]
    return np.ascontiguousarray(rgb) if flag else _grey(rgb)


def _grey(rgb):
    """(H, W, 1) luma of an RGB image: OpenCV's fixed-point BT.601 weights, as MXNet's
    imread(flag=0) used (the same whichever decoder read the file)."""
    weights = np.array([4899, 9617, 1868], dtype=np.uint32)
    grey = (rgb.astype(np.uint32) @ weights + 8192) >> 14
    return grey.astype(np.uint8)[..., None]


def decode_png(path):
    """``(pixels uint8 (H, W, samples), colour type, palette or None)`` of a PNG file."""
    with open(path, "rb") as fin:
        raw = fin.read()
    if raw[:8] != _PNG_SIGNATURE:
        raise MXNetError(f"{path} is not a PNG file")
    header, palette, idat = None, None, []
    pos = 8
    while pos + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[pos : pos + 8])
        body = raw[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise MXNetError(f"{path}: truncated PNG (no IHDR or IDAT chunk)")
    width, height, depth, color_type, _, _, interlace = header
    if (
        color_type not in _CHANNELS
        or interlace
        or depth not in (1, 2, 4, 8, 16)
        or (depth < 8 and color_type not in (0, 3))
    ):
        raise MXNetError(
            f"{path}: unsupported PNG (colour type {color_type}, bit depth "
            f"{depth}, interlace {interlace}); install Pillow to read it"
        )
    try:
        data = zlib.decompress(b"".join(idat))
    except zlib.error as err:
        raise MXNetError(f"{path}: corrupt PNG data ({err})") from None
    samples = _CHANNELS[color_type]
    stride = (width * samples * depth + 7) // 8
    if len(data) < height * (stride + 1):
        raise MXNetError(f"{path}: PNG data too short for {width}x{height}")
    rows = _unfilter(data, height, stride, max(1, samples * depth // 8), path)
    return _samples(rows, width, samples, depth, color_type), color_type, palette


def _samples(rows, width, samples, depth, color_type):
    """Unfiltered rows -> (H, W, samples) uint8 (16-bit keeps the high byte)."""
    height = rows.shape[0]
    if depth == 16:
        return rows.reshape(height, width, samples, 2)[..., 0].copy()
    if depth == 8:
        return rows.reshape(height, width, samples)
    bits = np.unpackbits(rows, axis=1).reshape(height, -1, depth)
    values = (bits * (1 << np.arange(depth - 1, -1, -1, dtype=np.uint8))).sum(axis=2)
    values = values[:, :width].astype(np.uint8)
    if color_type == 0:  # scale grey levels to 0..255
        values = (values.astype(np.uint16) * 255 // ((1 << depth) - 1)).astype(np.uint8)
    return values[..., None]


def _unfilter(data, height, stride, bpp, path):
    """Undo PNG's per-row filters (none, sub, up, average, paeth)."""
    buf = np.frombuffer(data, dtype=np.uint8)[: height * (stride + 1)].reshape(height, -1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = buf[y, 0], buf[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:
            row = _undo_sub(line, bpp)
        elif kind == 2:
            row = line + prev  # uint8 arithmetic wraps modulo 256, as PNG's does
        elif kind in (3, 4):
            row = _undo_recursive(line, prev, bpp, kind)
        else:
            raise MXNetError(f"{path}: bad PNG filter type {kind} in row {y}")
        out[y] = row
        prev = row
    return out


def _undo_sub(line, bpp):
    row = np.empty_like(line)
    for c in range(bpp):
        row[c::bpp] = np.cumsum(line[c::bpp], dtype=np.uint8)
    return row


def _undo_recursive(line, prev, bpp, kind):
    """Average (3) and Paeth (4) depend on the byte just decoded: a plain loop."""
    raw, up, row = line.tolist(), prev.tolist(), [0] * len(line)
    for i, value in enumerate(raw):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 3:
            row[i] = (value + ((left + up[i]) >> 1)) & 0xFF
            continue
        upper_left = up[i - bpp] if i >= bpp else 0
        p = left + up[i] - upper_left
        pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - upper_left)
        pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else upper_left)
        row[i] = (value + pred) & 0xFF
    return np.array(row, dtype=np.uint8)
