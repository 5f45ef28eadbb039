"""``mx.io``: data descriptions, batches and iterators (NDArrayIter, CSVIter, MNISTIter,
ResizeIter, PrefetchingIter)."""

from .base import DataDesc, DataBatch, DataIter
from .ndarray_iter import NDArrayIter
from .wrappers import ResizeIter, PrefetchingIter
from .files import CSVIter, MNISTIter

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "ResizeIter",
           "PrefetchingIter", "CSVIter", "MNISTIter"]
