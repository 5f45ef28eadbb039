"""``gluon.data``: data sets, samplers, the DataLoader and ``vision`` data sets/transforms."""

from .dataset import Dataset, SimpleDataset, ArrayDataset
from .sampler import Sampler, SequentialSampler, RandomSampler, FilterSampler, BatchSampler
from .dataloader import DataLoader
from . import vision
from .vision._record import RecordFileDataset  # MXNet's gluon.data.RecordFileDataset

__all__ = [
    "Dataset",
    "SimpleDataset",
    "ArrayDataset",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "FilterSampler",
    "BatchSampler",
    "DataLoader",
    "vision",
    "RecordFileDataset",
]
