"""ImageIter: MXNet's Python image iterator over a RecordIO file or an image list."""

import os
import random

import numpy as np

from ..base import MXNetError
from ..io.base import DataBatch, DataDesc, DataIter
from .augmenters import CreateAugmenter
from .image import _raw, imdecode


class ImageIter(DataIter):
    """Batches of (C, H, W) images with labels, augmented by ``aug_list``.

    Parameters
    ----------
    batch_size : int
        Samples per batch.
    data_shape : tuple
        (channels, height, width) of the output; channels 1 or 3.
    label_width : int, default 1
        Labels per image.
    path_imgrec : str, optional
        A RecordIO file of packed images (``path_imgidx`` gives random access, needed for
        ``shuffle`` and ``num_parts``).
    path_imglist : str, optional
        A list file of ``index<TAB>label(s)<TAB>relative path`` lines (with ``path_root``).
    imglist : list, optional
        ``[[label(s), path], ...]`` instead of a list file.
    shuffle : bool, default False
        Reshuffle (with Python's ``random``) at every reset.
    part_index, num_parts : int
        Read only part ``part_index`` of ``num_parts`` equal parts.
    aug_list : list of Augmenter, optional
        Defaults to ``CreateAugmenter(data_shape, **kwargs)``.
    last_batch_handle : {'pad', 'discard', 'roll_over'}, default 'pad'
        'pad' completes the last batch from the start (``pad`` counts the repeats),
        'discard' drops it, 'roll_over' carries its samples into the next epoch.
    """

    def __init__(
        self,
        batch_size,
        data_shape,
        label_width=1,
        path_imgrec=None,
        path_imglist=None,
        path_root=None,
        path_imgidx=None,
        shuffle=False,
        part_index=0,
        num_parts=1,
        aug_list=None,
        imglist=None,
        data_name="data",
        label_name="softmax_label",
        dtype="float32",
        last_batch_handle="pad",
        **kwargs,
    ):
        super().__init__(batch_size)
        if len(data_shape) != 3 or data_shape[0] not in (1, 3):
            raise MXNetError(
                f"ImageIter: data_shape must be (channels, height, width) "
                f"with 1 or 3 channels, got {data_shape}"
            )
        if last_batch_handle not in ("pad", "discard", "roll_over"):
            raise MXNetError(
                f"ImageIter: last_batch_handle must be 'pad', 'discard' or "
                f"'roll_over', got {last_batch_handle!r}"
            )
        self.data_shape = tuple(data_shape)
        self.label_width = label_width
        self.shuffle = shuffle
        self.dtype = dtype
        self.last_batch_handle = last_batch_handle
        self.path_root = path_root or ""
        self._load_source(path_imgrec, path_imgidx, path_imglist, imglist)
        count = len(self.seq) // num_parts
        self.seq = self.seq[part_index * count : (part_index + 1) * count]
        self.auglist = CreateAugmenter(data_shape, **kwargs) if aug_list is None else aug_list
        label_shape = (batch_size,) if label_width == 1 else (batch_size, label_width)
        self.provide_data = [DataDesc(data_name, (batch_size,) + self.data_shape, dtype)]
        self.provide_label = [DataDesc(label_name, label_shape)]
        self._carry = []
        self.cur = 0
        self.reset()

    def _load_source(self, path_imgrec, path_imgidx, path_imglist, imglist):
        from ..recordio import MXIndexedRecordIO, MXRecordIO

        self.imgrec, self.imglist = None, None
        if path_imgrec:
            if path_imgidx:
                self.imgrec = MXIndexedRecordIO(path_imgidx, path_imgrec, "r")
                self.seq = list(self.imgrec.keys)
            else:
                self.imgrec = MXRecordIO(path_imgrec, "r")
                self.seq = None
            return
        if path_imglist:
            entries = {}
            with open(path_imglist) as fin:
                for line in fin:
                    fields = line.strip().split("\t")
                    if len(fields) >= 3:
                        entries[int(fields[0])] = (np.array(fields[1:-1], np.float32), fields[-1])
        elif imglist is not None:
            entries = {
                i: (np.atleast_1d(np.asarray(item[0], np.float32)), item[1])
                for i, item in enumerate(imglist)
            }
        else:
            raise MXNetError("ImageIter: give path_imgrec, path_imglist or imglist")
        self.imglist = entries
        self.seq = list(entries)

    def reset(self):
        """Start a new epoch (reshuffled when ``shuffle``)."""
        if self.shuffle and self.seq is not None:
            random.shuffle(self.seq)
        if self.imgrec is not None and self.seq is None:
            self.imgrec.reset()
        self.cur = 0

    def next_sample(self):
        """``(label, encoded image bytes)`` of the next sample; StopIteration at the end."""
        from ..recordio import unpack

        if self.seq is None:
            record = self.imgrec.read()
            if record is None:
                raise StopIteration
            header, img = unpack(record)
            return header.label, img
        if self.cur >= len(self.seq):
            raise StopIteration
        idx = self.seq[self.cur]
        self.cur += 1
        if self.imgrec is not None:
            header, img = unpack(self.imgrec.read_idx(idx))
            return header.label, img
        label, fname = self.imglist[idx]
        with open(os.path.join(self.path_root, fname), "rb") as fin:
            return label, fin.read()

    def _sample(self):
        label, buf = self.next_sample()
        data = self.augmentation_transform(imdecode(buf, 1 if self.data_shape[0] == 3 else 0))
        self.check_data_shape(data.shape)
        return self.postprocess_data(data), np.atleast_1d(np.asarray(label, np.float32))

    def next(self):
        """The next DataBatch."""
        samples = self._carry
        self._carry = []
        try:
            while len(samples) < self.batch_size:
                samples.append(self._sample())
        except StopIteration:
            if not samples:
                raise
            return self._last_batch(samples)
        return self._batch(samples, 0)

    def _last_batch(self, samples):
        if self.last_batch_handle == "discard":
            raise StopIteration
        if self.last_batch_handle == "roll_over":
            self._carry = samples
            raise StopIteration
        pad = self.batch_size - len(samples)
        self.reset()
        while len(samples) < self.batch_size:
            samples.append(self._sample())
        self.cur = len(self.seq) if self.seq is not None else self.cur
        return self._batch(samples, pad)

    def _batch(self, samples, pad):
        from ..ndarray import NDArray

        data = np.stack([s[0] for s in samples]).astype(self.dtype)
        labels = np.zeros((self.batch_size, self.label_width), np.float32)
        for k, (_, label) in enumerate(samples):
            labels[k] = label[: self.label_width]
        labels = labels[:, 0] if self.label_width == 1 else labels
        return DataBatch(
            [NDArray(data)],
            [NDArray(labels)],
            pad=pad,
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )

    def check_data_shape(self, data_shape):
        """Raise unless an augmented (H, W, C) image fits ``data_shape``."""
        c, h, w = self.data_shape
        if tuple(data_shape) != (h, w, c):
            raise MXNetError(
                f"ImageIter: an augmented image has shape {tuple(data_shape)}"
                f" but data_shape {self.data_shape} needs ({h}, {w}, {c}); "
                "add a crop or resize augmenter"
            )

    def augmentation_transform(self, data):
        """Apply every augmenter of ``auglist``."""
        for aug in self.auglist:
            data = aug(data)
        return data

    def postprocess_data(self, datum):
        """(H, W, C) -> (C, H, W) numpy."""
        return np.transpose(_raw(datum), (2, 0, 1))
