"""``mx.io``: data descriptions, batches and iterators (NDArrayIter, CSVIter, MNISTIter,
ResizeIter, PrefetchingIter, ImageRecordIter, ImageRecordUInt8Iter)."""

from .base import DataDesc, DataBatch, DataIter
from .ndarray_iter import NDArrayIter
from .wrappers import ResizeIter, PrefetchingIter
from .files import CSVIter, MNISTIter
from .image_record import ImageRecordIter, ImageRecordUInt8Iter

__all__ = [
    "DataDesc",
    "DataBatch",
    "DataIter",
    "NDArrayIter",
    "ResizeIter",
    "PrefetchingIter",
    "CSVIter",
    "MNISTIter",
    "ImageRecordIter",
    "ImageRecordUInt8Iter",
]
