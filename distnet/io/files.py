"""Iterators over data files: CSVIter (comma-separated values) and MNISTIter (IDX files).

Both read the whole file into memory once and cut float32 batches from it; names are
MXNet's (``data`` and ``softmax_label``).
"""

import gzip
import logging
import math
import os
import struct
import zlib

import numpy as np

from ..base import MXNetError
from .base import DataBatch, DataDesc, DataIter

_LOG = logging.getLogger(__name__)  # named: the root logger is the user's to configure

__all__ = ["CSVIter", "MNISTIter"]


def _shape(value, what):
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError) as err:
        raise MXNetError(f"{what} must be a shape tuple, got {value!r}") from err
    if not shape or any(d < 1 for d in shape):
        raise MXNetError(f"{what} must be a non-empty shape of positive sizes, got {value!r}")
    return shape


class _FileBatches(DataIter):
    """Batches of in-memory numpy ``data``/``label`` arrays; subclasses pick what happens
    to the last, short batch (``_wrap``: fill it from the start; else drop it)."""

    _wrap = True

    def _setup(self, data, label, batch_size, data_name, label_name):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise MXNetError(f"batch_size must be a positive int, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self._data, self._label = data, label
        self._start = 0
        self._cursor = None
        self._rows = None
        self.provide_data = [
            DataDesc(data_name, (self.batch_size,) + data.shape[1:], data.dtype.type)
        ]
        self.provide_label = [
            DataDesc(label_name, (self.batch_size,) + label.shape[1:], label.dtype.type)
        ]

    def reset(self):
        self._cursor = None

    def iter_next(self):
        n, bs = len(self._data), self.batch_size
        if self._cursor is None:
            cur, self._last_pad = self._start, 0
        else:
            cur = self._cursor + bs
        if cur >= n or (not self._wrap and cur + bs > n):
            self._cursor = n
            return False
        self._cursor = cur
        self._last_pad = max(0, cur + bs - n)
        self._rows = np.arange(cur, cur + bs) % n if cur + bs > n else slice(cur, cur + bs)
        return True

    def _batch(self, source):
        from ..ndarray import array

        return array(source[self._rows], dtype=source.dtype)

    def getdata(self):
        """The current batch's data: one NDArray, as MXNet's C++ iterators (NDArrayIter
        gives a list)."""
        return self._batch(self._data)

    def getlabel(self):
        """The current batch's label: one NDArray, as MXNet's C++ iterators."""
        return self._batch(self._label)

    def getpad(self):
        return max(0, self._cursor + self.batch_size - len(self._data))

    def getindex(self):
        return np.arange(len(self._data), dtype=np.uint64)[self._rows]

    def next(self):
        if not self.iter_next():
            raise StopIteration
        return DataBatch(
            [self.getdata()],
            [self.getlabel()],
            pad=self.getpad(),
            index=self.getindex(),
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )


def _read_csv(path, shape, dtype, what):
    if not os.path.isfile(path):
        raise MXNetError(f"CSVIter: {what} file {path!r} does not exist")
    try:
        rows = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2).astype(dtype)
    except ValueError as err:
        raise MXNetError(f"CSVIter: cannot parse {what} file {path!r}: {err}") from err
    width = int(np.prod(shape))
    if rows.shape[1] != width:
        raise MXNetError(
            f"CSVIter: {what} file {path!r} has {rows.shape[1]} values per row, "
            f"but {what}_shape {shape} needs {width}"
        )
    return rows.reshape((rows.shape[0],) + shape)


class CSVIter(_FileBatches):
    """Batches from CSV files: each row of ``data_csv`` is one sample of ``data_shape``;
    ``label_csv`` (optional, else zeros) holds the labels.

    With ``round_batch`` (default) the last batch is completed from the start of the file
    and, as in MXNet, the next epoch begins after the samples used to complete it;
    ``pad`` says how many samples were added.
    """

    def __init__(
        self,
        data_csv,
        data_shape,
        label_csv=None,
        label_shape=(1,),
        batch_size=1,
        round_batch=True,
        dtype="float32",
        data_name="data",
        label_name="softmax_label",
        prefetch_buffer=4,
        ctx=None,
    ):
        super().__init__(batch_size)
        dtype = np.dtype(dtype or "float32")
        if dtype not in (np.float32, np.int32, np.int64):
            raise MXNetError(f"CSVIter: dtype must be float32, int32 or int64, got {dtype}")
        data = _read_csv(data_csv, _shape(data_shape, "data_shape"), dtype, "data")
        label_shape = _shape(label_shape, "label_shape")
        if label_csv is None or label_csv == "NULL":
            label = np.zeros((len(data),) + label_shape, dtype)
        else:
            label = _read_csv(label_csv, label_shape, dtype, "label")
            if len(label) != len(data):
                raise MXNetError(
                    f"CSVIter: {len(label)} labels in {label_csv!r} but "
                    f"{len(data)} samples in {data_csv!r}"
                )
        if label_shape == (1,):
            label = label.reshape(len(label))
        self.round_batch = round_batch
        self._setup(data, label, batch_size, data_name, label_name)

    def reset(self):
        # MXNet's round_batch: the samples that completed the last batch are skipped next
        self._start = getattr(self, "_last_pad", 0) if self.round_batch else 0
        super().reset()


_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand more: bounds what a .gz can hold


def _idx_header(f, path, magic, prefix):
    ndim = magic & 0xFF
    head = f.read(4 + 4 * ndim)
    if len(head) < 4 + 4 * ndim or struct.unpack(">I", head[:4])[0] != magic:
        found = head[:4].hex() if len(head) >= 4 else "a short file"
        raise MXNetError(
            f"{prefix}{path} is not an IDX file of {ndim} dimension(s): "
            f"expected magic number {magic:#010x} ({magic}), found {found}"
        )
    return struct.unpack(f">{ndim}I", head[4:])


def read_idx(path, magic, prefix=""):
    """The uint8 array of an IDX file (gzipped if the name ends in .gz) whose magic number
    is ``magic`` (2051: images, 2049: labels).

    The header's shape is checked against what the file can hold before anything is
    read (a .gz holds at most 1032 times its size), so a crafted header cannot make the
    reader allocate more than the file justifies; a short or overlong body is an
    MXNetError naming the file, the shape and the byte counts."""
    gz = path.endswith(".gz")
    try:
        size = os.path.getsize(path)
        with (gzip.open if gz else open)(path, "rb") as f:
            shape = _idx_header(f, path, magic, prefix)
            count = math.prod(shape)
            can_hold = size * _DEFLATE_MAX_RATIO if gz else size - 4 - 4 * len(shape)
            if count > can_hold:
                raise MXNetError(
                    f"{prefix}{path} is truncated: the header's shape {shape} "
                    f"needs {count} bytes, the file can hold at most "
                    f"{can_hold}"
                )
            body = f.read(count + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise MXNetError(f"{prefix}cannot read {path}: {err}") from None
    if len(body) != count:
        state = "is truncated" if len(body) < count else "has trailing data"
        raise MXNetError(
            f"{prefix}{path} {state}: the header's shape {shape} needs "
            f"{count} bytes of data, the file holds "
            f"{'more' if len(body) > count else len(body)}"
        )
    return np.frombuffer(body, np.uint8, count).reshape(shape)


def _read_idx(path, magic, what):
    if not os.path.isfile(path):
        raise MXNetError(f"MNISTIter: {what} file {path!r} does not exist")
    return read_idx(path, magic, "MNISTIter: ")


class MNISTIter(_FileBatches):
    """Batches of MNIST from its IDX files (optionally gzipped): pixels divided by 256 (as
    MXNet does) as float32 ``(batch, 1, 28, 28)`` (``(batch, 784)`` with ``flat``), labels float32.
    ``shuffle`` permutes once with ``seed``; ``num_parts``/``part_index`` take one
    contiguous part (for distributed workers). A last incomplete batch is dropped."""

    _wrap = False

    def __init__(
        self,
        image="./train-images-idx3-ubyte",
        label="./train-labels-idx1-ubyte",
        batch_size=128,
        shuffle=True,
        flat=False,
        seed=0,
        silent=False,
        num_parts=1,
        part_index=0,
        data_name="data",
        label_name="softmax_label",
        prefetch_buffer=4,
        ctx=None,
        dtype=None,
        input_shape=None,
        **kwargs,
    ):
        # **kwargs: MXNet's iterators accept and ignore unknown keys (data_shape= in its
        # Module examples)
        super().__init__(batch_size)
        images = _read_idx(image, 2051, "image")
        labels = _read_idx(label, 2049, "label")
        if len(images) != len(labels):
            raise MXNetError(
                f"MNISTIter: {len(images)} images in {image!r} but "
                f"{len(labels)} labels in {label!r}"
            )
        if not 0 <= part_index < num_parts:
            raise MXNetError(f"MNISTIter: part_index {part_index} must be in [0, {num_parts})")
        n = len(images)
        lo, hi = n * part_index // num_parts, n * (part_index + 1) // num_parts
        images, labels = images[lo:hi], labels[lo:hi]
        if shuffle:
            order = np.random.RandomState(seed).permutation(len(images))
            images, labels = images[order], labels[order]
        shape = (-1, images.shape[1] * images.shape[2]) if flat else (-1, 1) + images.shape[1:]
        data = (images.reshape(shape).astype(np.float32)) * np.float32(1.0 / 256)  # MXNet's
        self._setup(data, labels.astype(np.float32), batch_size, data_name, label_name)
        if not silent:
            dims = (
                f"({batch_size},{shape[1]})"
                if flat
                else "[" + ",".join(str(d) for d in (batch_size,) + data.shape[1:]) + "]"
            )
            _LOG.info(
                "MNISTIter: load %d images, shuffle=%d, shape=%s",
                len(data),
                int(bool(shuffle)),
                dims,
            )
