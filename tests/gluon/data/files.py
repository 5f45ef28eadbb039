"""Writers of small data set files in the formats distnet reads (IDX, CIFAR, PNG)."""

import gzip
import os
import struct
import zlib

import numpy as np


def write_idx(path, array):
    """Write ``array`` (uint8) as an IDX file, gzipped when the name ends in .gz."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as fout:
        fout.write(header + array.tobytes())


def write_mnist(folder, n_train=200, n_test=100, seed=0):
    """MNIST-style files in ``folder``; returns {'train': (images, labels), 'test': ...}
    with images (N, 28, 28) uint8 and labels (N,) uint8."""
    rng = np.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    out = {}
    for part, prefix, count in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.randint(0, 256, (count, 28, 28)).astype(np.uint8)
        labels = (np.arange(count) * 7 + seed) % 10
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels)
        out[part] = (images, labels.astype(np.uint8))
    return out


def write_cifar(folder, files, label_bytes, per_file=10, seed=0):
    """CIFAR binary batches ``files`` in ``folder``; returns {name: (images (N, 32, 32, 3),
    labels (N, label_bytes))}."""
    rng = np.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    out = {}
    for k, name in enumerate(files):
        images = rng.randint(0, 256, (per_file, 32, 32, 3)).astype(np.uint8)
        labels = (
            (np.arange(per_file * label_bytes).reshape(per_file, label_bytes) * 3 + k) % 20
        ).astype(np.uint8)
        planar = images.transpose(0, 3, 1, 2).reshape(per_file, 3072)
        with open(os.path.join(folder, name), "wb") as fout:
            fout.write(np.concatenate([labels, planar], axis=1).tobytes())
        out[name] = (images, labels)
    return out


def write_png(path, image, filters=(0, 1, 2, 3, 4)):
    """Write an 8-bit PNG: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA, cycling the row
    filter types in ``filters`` so every filter is exercised."""
    image = np.asarray(image, dtype=np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    height, width, channels = image.shape
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = image.reshape(height, width * channels).astype(np.int64)
    bpp = channels
    body = bytearray()
    prev = np.zeros(width * channels, dtype=np.int64)
    for y in range(height):
        kind = filters[y % len(filters)]
        body.append(kind)
        body.extend((_filter(rows[y], prev, bpp, kind) % 256).astype(np.uint8).tobytes())
        prev = rows[y]

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    with open(path, "wb") as fout:
        fout.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(body)))
            + chunk(b"IEND", b"")
        )


def _filter(row, prev, bpp, kind):
    left = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
    upper_left = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])
    if kind == 0:
        return row
    if kind == 1:
        return row - left
    if kind == 2:
        return row - prev
    if kind == 3:
        return row - (left + prev) // 2
    p = left + prev - upper_left
    pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upper_left)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upper_left))
    return row - pred


def write_png_raw(path, rows, width, height, depth, color_type, palette=None):
    """Write a PNG from already packed ``rows`` (bytes per row, filter type 0)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    body = b"".join(b"\x00" + bytes(row) for row in rows)
    parts = [chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))]
    if palette is not None:
        parts.append(chunk(b"PLTE", np.asarray(palette, dtype=np.uint8).tobytes()))
    parts.append(chunk(b"IDAT", zlib.compress(body)))
    with open(path, "wb") as fout:
        fout.write(b"\x89PNG\r\n\x1a\n" + b"".join(parts) + chunk(b"IEND", b""))
