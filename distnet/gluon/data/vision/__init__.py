"""``gluon.data.vision``: image data sets and transforms."""

from .datasets import MNIST, FashionMNIST, CIFAR10, CIFAR100, Digits, ImageFolderDataset
from ._record import RecordFileDataset, ImageRecordDataset
from . import datasets, transforms

__all__ = [
    "MNIST",
    "FashionMNIST",
    "CIFAR10",
    "CIFAR100",
    "Digits",
    "ImageFolderDataset",
    "ImageRecordDataset",
    "RecordFileDataset",
    "datasets",
    "transforms",
]
