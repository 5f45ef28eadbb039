"""ImageRecordIter and ImageRecordUInt8Iter: batches of augmented images from a RecordIO
file, decoded in parallel threads (Pillow releases the GIL while decoding), the next
batch prepared while the current one is used.

Arguments and outputs follow MXNet 1.9.1's C++ iterator: data (N, C, H, W) as
``(pixel - mean) / std * scale`` in RGB order, labels (N,) or (N, label_width); with
``round_batch`` the last batch is completed from the start of the data and ``pad`` says
how many samples are repeats. Improvements over MXNet: with ``round_batch=False`` the last
batch reports its padding (MXNet reports 0 and leaves garbage) and the padded slots are
zeros; every image's random numbers are drawn in advance from a generator seeded by
``(seed, epoch, part, position)``, so results do not depend on ``preprocess_threads``; a crop
larger than the image raises an error naming the record. ``num_parts``/``part_index``
split the records by count (MXNet splits the file by bytes), so each worker of a
distributed job reads an equal share.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..base import MXNetError
from .base import DataBatch, DataDesc, DataIter

__all__ = ["ImageRecordIter", "ImageRecordUInt8Iter"]

_DRAWS_PER_IMAGE = 12  # random numbers drawn in advance per image (Draws)
_DEFAULTS = {
    "path_imgrec": None,
    "path_imgidx": None,
    "path_imglist": None,
    "data_shape": None,
    "batch_size": None,
    "label_width": 1,
    "shuffle": False,
    "seed": 0,
    "num_parts": 1,
    "part_index": 0,
    "round_batch": True,
    "preprocess_threads": 4,
    "prefetch_buffer": 4,
    "data_name": "data",
    "label_name": "softmax_label",
    "dtype": "float32",
    "resize": -1,
    "rand_crop": False,
    "random_resized_crop": False,
    "rand_mirror": False,
    "mirror": False,
    "max_rotate_angle": 0,
    "rotate": -1,
    "max_aspect_ratio": 0.0,
    "min_aspect_ratio": 0.0,
    "max_shear_ratio": 0.0,
    "max_random_scale": 1.0,
    "min_random_scale": 1.0,
    "max_random_area": 1.0,
    "min_random_area": 1.0,
    "max_crop_size": -1,
    "min_crop_size": -1,
    "max_img_size": 1e10,
    "min_img_size": 0.0,
    "pad": 0,
    "fill_value": 255,
    "inter_method": 1,
    "brightness": 0.0,
    "contrast": 0.0,
    "saturation": 0.0,
    "pca_noise": 0.0,
    "random_h": 0,
    "random_s": 0,
    "random_l": 0,
    "mean_r": 0.0,
    "mean_g": 0.0,
    "mean_b": 0.0,
    "mean_a": 0.0,
    "std_r": 1.0,
    "std_g": 1.0,
    "std_b": 1.0,
    "std_a": 1.0,
    "scale": 1.0,
    "verbose": True,
    "shuffle_chunk_size": 0,
    "shuffle_chunk_seed": 0,
    "ctx": None,
}


def _record_offsets(path):
    """Byte offset of every record of a .rec file (read from the headers only)."""
    from ..recordio import MXRecordIO

    reader = MXRecordIO(path, "r")
    offsets = []
    try:
        while True:
            pos = reader.handle.tell()
            if reader.read() is None:
                return offsets
            offsets.append(pos)
    finally:
        reader.close()


class ImageRecordIter(DataIter):
    """Iterate over a RecordIO file of images (see the module docstring).

    Main parameters: ``path_imgrec``, ``path_imgidx`` (optional; without it the file is
    scanned once), ``path_imglist`` (labels by image id, overriding the records'),
    ``data_shape`` (C, H, W), ``batch_size``, ``label_width``, ``shuffle``, ``seed``,
    ``num_parts``/``part_index``, ``round_batch``, ``preprocess_threads``, ``resize``,
    ``rand_crop``, ``random_resized_crop``, ``rand_mirror``, ``mirror``,
    ``max_rotate_angle``, ``max_shear_ratio``, ``max/min_random_scale``,
    ``max/min_aspect_ratio``, ``max/min_random_area``, ``max/min_crop_size``, ``pad``,
    ``fill_value``, ``inter_method``, ``random_h/s/l``, ``brightness``, ``contrast``,
    ``saturation``, ``pca_noise``, ``mean_r/g/b``, ``std_r/g/b``, ``scale``, ``data_name``, ``label_name``,
    ``dtype``. ``prefetch_buffer``, ``verbose``, ``shuffle_chunk_size``,
    ``shuffle_chunk_seed`` and ``ctx`` are accepted for MXNet scripts and have no effect
    (one batch is always prepared ahead); any other name is an error that lists these.
    """

    _uint8 = False

    def __init__(self, **kwargs):
        unknown = sorted(set(kwargs) - set(_DEFAULTS))
        if unknown:
            raise MXNetError(
                f"{type(self).__name__}: unknown argument(s) {unknown}; "
                f"supported: {sorted(_DEFAULTS)}"
            )
        p = dict(_DEFAULTS, **kwargs)
        for name in ("path_imgrec", "data_shape", "batch_size"):
            if p[name] is None:
                raise MXNetError(f"{type(self).__name__}: {name} is required")
        p["data_shape"] = tuple(int(d) for d in p["data_shape"])
        if len(p["data_shape"]) != 3 or p["data_shape"][0] not in (1, 3):
            raise MXNetError(
                f"{type(self).__name__}: data_shape must be (channels, height, "
                f"width) with 1 or 3 channels, got {p['data_shape']}"
            )
        if not 0 <= p["part_index"] < p["num_parts"]:
            raise MXNetError(
                f"part_index {p['part_index']} must be in [0, num_parts={p['num_parts']})"
            )
        super().__init__(int(p["batch_size"]))
        self._p = p
        self._open(p)
        self._labels = self._read_imglist(p["path_imglist"]) if p["path_imglist"] else None
        self._threads = max(1, int(p["preprocess_threads"]))
        self._pool = ThreadPoolExecutor(self._threads)
        dtype = np.uint8 if self._uint8 else np.dtype(p["dtype"])
        self.provide_data = [DataDesc(p["data_name"], (self.batch_size,) + p["data_shape"], dtype)]
        label_shape = (
            (self.batch_size,) if p["label_width"] == 1 else (self.batch_size, p["label_width"])
        )
        self.provide_label = [DataDesc(p["label_name"], label_shape)]
        self._epoch = -1
        self.reset()

    def _open(self, p):
        from ..recordio import MXIndexedRecordIO, MXRecordIO

        path = p["path_imgrec"]
        if not os.path.exists(path):
            raise MXNetError(f"ImageRecordIter: path_imgrec {path} does not exist")
        idx = p["path_imgidx"]
        if idx and os.path.exists(idx):
            self._rec = MXIndexedRecordIO(idx, path, "r")
            offsets = [self._rec.idx[k] for k in self._rec.keys]
        else:
            self._rec = MXRecordIO(path, "r")
            offsets = _record_offsets(path)
        total = len(offsets)
        lo = total * p["part_index"] // p["num_parts"]
        hi = total * (p["part_index"] + 1) // p["num_parts"]
        self._offsets = offsets[lo:hi]
        if not self._offsets:
            raise MXNetError(
                f"ImageRecordIter: part {p['part_index']} of {p['num_parts']} "
                f"of {path} holds no records ({total} in the file)"
            )

    @staticmethod
    def _read_imglist(path):
        labels = {}
        with open(path) as fin:
            for num, line in enumerate(fin, 1):
                fields = line.strip().split("\t")
                if len(fields) < 3:
                    if line.strip():
                        raise MXNetError(
                            f"{path}, line {num}: expected 'index<TAB>label"
                            f"(s)<TAB>path', got {line.strip()!r}"
                        )
                    continue
                labels[int(fields[0])] = np.array(fields[1:-1], dtype=np.float32)
        return labels

    def reset(self):
        """Start a new epoch (reshuffled when ``shuffle``)."""
        self._epoch += 1
        order = np.arange(len(self._offsets))
        if self._p["shuffle"]:
            np.random.default_rng([self._p["seed"], self._epoch]).shuffle(order)
        self._order = order
        self._cursor = 0
        self._pending = None
        self._current = None

    def _read_at(self, offset):
        """The record at byte ``offset`` (read in the consumer thread; only decoding
        runs in the pool, so one file handle serves)."""
        self._rec.handle.seek(offset)
        return self._rec.read()

    def _schedule(self):
        """Read the next batch's records and submit their decoding, in one chunk per
        thread; None at the end."""
        n, bs = len(self._order), self.batch_size
        if self._cursor >= n:
            return None
        picks = list(self._order[self._cursor : self._cursor + bs])
        pad = bs - len(picks)
        if pad and self._p["round_batch"]:
            picks += [self._order[i % n] for i in range(pad)]
        rng = np.random.default_rng(
            [self._p["seed"], self._epoch, self._p["part_index"], self._cursor]
        )
        draws = rng.random((len(picks), _DRAWS_PER_IMAGE))
        self._cursor += bs
        jobs = [(self._read_at(self._offsets[i]), int(i), d) for i, d in zip(picks, draws)]
        step = -(-len(jobs) // self._threads)
        futures = [
            self._pool.submit(self._process_chunk, jobs[k : k + step])
            for k in range(0, len(jobs), step)
        ]
        return futures, pad

    def _process_chunk(self, jobs):
        """Decode and augment ``(record, index, draws)`` jobs (in a pool thread)."""
        from ..image._record_aug import Draws, augment
        from ..recordio import unpack

        out = []
        for record, index, draws in jobs:
            header, buf = unpack(record)
            img = augment(buf, self._p, Draws(draws), f"record {index} (id {header.id})")
            label = self._labels.get(int(header.id)) if self._labels is not None else None
            if label is None:
                label = np.atleast_1d(np.asarray(header.label, dtype=np.float32))
            out.append((img, label))
        return out

    def iter_next(self):
        """Assemble the next batch (and start decoding the one after)."""
        job = self._pending if self._pending is not None else self._schedule()
        if job is None:
            self._current = None
            return False
        self._pending = self._schedule()
        futures, pad = job
        self._current = self._assemble([s for f in futures for s in f.result()], pad)
        return True

    def _assemble(self, samples, pad):
        from ..ndarray import NDArray

        p = self._p
        c, h, w = p["data_shape"]
        lw = p["label_width"]
        pixels = np.zeros((self.batch_size, h, w, c), np.uint8)
        labels = np.zeros((self.batch_size, lw), np.float32)
        for k, (img, label) in enumerate(samples):
            pixels[k] = img
            if label.size < lw:
                raise MXNetError(
                    f"ImageRecordIter: a record has {label.size} label(s) but label_width={lw}"
                )
            labels[k] = label[:lw]
        labels = labels[:, 0] if lw == 1 else labels
        data = pixels.transpose(0, 3, 1, 2)
        data = np.ascontiguousarray(data) if self._uint8 else self._normalize(data)
        return [NDArray(data)], [NDArray(labels)], pad

    def _normalize(self, batch):
        """``(x - mean) / std * scale`` of the uint8 (N, C, H, W) batch, in one pass."""
        p = self._p
        keys = ("r", "g", "b")[: batch.shape[1]]
        mean = np.array([p["mean_" + k] for k in keys], np.float32)[:, None, None]
        factor = np.array([p["scale"] / p["std_" + k] for k in keys], np.float32)[:, None, None]
        out = batch.astype(np.dtype(p["dtype"]))
        out -= mean
        out *= factor
        return out

    def next(self):
        """The next DataBatch."""
        if not self.iter_next():
            raise StopIteration
        data, label, pad = self._current
        return DataBatch(
            data=data,
            label=label,
            pad=pad,
            index=None,
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )

    def getdata(self):
        """The current batch's data."""
        return self._current[0]

    def getlabel(self):
        """The current batch's labels."""
        return self._current[1]

    def getpad(self):
        """How many samples of the current batch are padding."""
        return self._current[2]

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)


class ImageRecordUInt8Iter(ImageRecordIter):
    """ImageRecordIter giving uint8 data (no mean/std/scale normalisation)."""

    _uint8 = True
