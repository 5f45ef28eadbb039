"""Text input for the legacy RNN API: ``encode_sentences`` and ``BucketSentenceIter``."""

import bisect
import logging
import random

import numpy as np

from ..base import MXNetError
from ..io import DataIter, DataBatch, DataDesc

__all__ = ["encode_sentences", "BucketSentenceIter"]


def encode_sentences(
    sentences, vocab=None, invalid_label=-1, invalid_key="\n", start_label=0, unknown_token=None
):
    """Map each word of each sentence to an integer id.

    Returns ``(encoded sentences, vocab)``. Without ``vocab`` a new one is built (ids from
    ``start_label``, skipping ``invalid_label``, ``invalid_key`` mapped to it); with a
    given ``vocab`` an unknown word needs ``unknown_token`` (MXNet's behaviour: the
    token gets the next id) or raises ``MXNetError`` naming the word.
    """
    idx = start_label
    new_vocab = vocab is None
    if new_vocab:
        vocab = {invalid_key: invalid_label}
    res = []
    for sent in sentences:
        coded = []
        for word in sent:
            if word not in vocab:
                if not (new_vocab or unknown_token):
                    raise MXNetError(f"Unknown token {word}")
                if idx == invalid_label:
                    idx += 1
                if unknown_token:
                    word = unknown_token
                vocab[word] = idx
                idx += 1
            coded.append(vocab[word])
        res.append(coded)
    return res, vocab


class BucketSentenceIter(DataIter):
    """Batches of equal-length sentences for BucketingModule: each sentence goes to the
    smallest bucket that holds it (padded with ``invalid_label``); the label is the
    sentence shifted left by one. ``bucket_key`` of a batch is its bucket length.

    Parameters
    ----------
    sentences : list of list of int
    batch_size : int
    buckets : list of int, optional
        Default: every length with at least ``batch_size`` sentences.
    invalid_label : int, default -1
    data_name, label_name : str
    dtype : str, default 'float32'
    layout : {'NT', 'TN'}, default 'NT'
    """

    def __init__(
        self,
        sentences,
        batch_size,
        buckets=None,
        invalid_label=-1,
        data_name="data",
        label_name="softmax_label",
        dtype="float32",
        layout="NT",
    ):
        super().__init__(batch_size)
        if not buckets:
            buckets = [
                i for i, j in enumerate(np.bincount([len(s) for s in sentences])) if j >= batch_size
            ]
        if not buckets:
            raise MXNetError(
                f"BucketSentenceIter: no sentence length occurs batch_size="
                f"{batch_size} times; pass buckets explicitly"
            )
        buckets = sorted(buckets)
        rows = [[] for _ in buckets]
        ndiscard = 0
        for sent in sentences:
            buck = bisect.bisect_left(buckets, len(sent))
            if buck == len(buckets):
                ndiscard += 1
                continue
            buff = np.full((buckets[buck],), invalid_label, dtype=dtype)
            buff[: len(sent)] = sent
            rows[buck].append(buff)
        # an empty bucket keeps its 2-D shape (MXNet crashed on it in reset)
        self.data = [np.asarray(r, dtype=dtype).reshape(len(r), b) for r, b in zip(rows, buckets)]
        logging.warning("discarded %d sentences longer than the largest bucket.", ndiscard)
        self.batch_size, self.buckets = batch_size, buckets
        self.data_name, self.label_name = data_name, label_name
        self.dtype, self.invalid_label = dtype, invalid_label
        self.layout, self.major_axis = layout, layout.find("N")
        self.default_bucket_key = max(buckets)
        if self.major_axis not in (0, 1):
            raise MXNetError(
                f"Invalid layout {layout}: Must by NT (batch major) or TN (time major)"
            )
        shape = (
            (batch_size, self.default_bucket_key)
            if self.major_axis == 0
            else (self.default_bucket_key, batch_size)
        )
        self.provide_data = [DataDesc(data_name, shape, layout=layout)]
        self.provide_label = [DataDesc(label_name, shape, layout=layout)]
        self.idx = [
            (i, j)
            for i, buck in enumerate(self.data)
            for j in range(0, len(buck) - batch_size + 1, batch_size)
        ]
        self.curr_idx = 0
        self.nddata, self.ndlabel = [], []
        self.reset()

    def reset(self):
        """Shuffle the batch order and the sentences within each bucket."""
        from .. import ndarray

        self.curr_idx = 0
        random.shuffle(self.idx)
        for buck in self.data:
            np.random.shuffle(buck)
        self.nddata, self.ndlabel = [], []
        for buck in self.data:
            label = np.empty_like(buck)
            label[:, :-1] = buck[:, 1:]
            label[:, -1] = self.invalid_label
            self.nddata.append(ndarray.array(buck, dtype=self.dtype))
            self.ndlabel.append(ndarray.array(label, dtype=self.dtype))

    def next(self):
        """The next batch (``bucket_key`` = its bucket's length)."""
        if self.curr_idx == len(self.idx):
            raise StopIteration
        i, j = self.idx[self.curr_idx]
        self.curr_idx += 1
        data = self.nddata[i][j : j + self.batch_size]
        label = self.ndlabel[i][j : j + self.batch_size]
        if self.major_axis == 1:
            data, label = data.T, label.T
        return DataBatch(
            [data],
            [label],
            pad=0,
            bucket_key=self.buckets[i],
            provide_data=[DataDesc(self.data_name, data.shape, layout=self.layout)],
            provide_label=[DataDesc(self.label_name, label.shape, layout=self.layout)],
        )
