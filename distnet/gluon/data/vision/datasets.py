"""Vision data sets: MNIST, FashionMNIST, CIFAR10, CIFAR100, Digits, ImageFolderDataset.

Data sets live in ``<home>/datasets/<name>``, MXNet's layout, where ``<home>`` is
``$DISTNET_HOME``, else ``$MXNET_HOME`` (so MXNet's downloads are found), else
``~/.distnet``; ``root=`` overrides. Files already there are used as they are; missing
ones are downloaded from MXNet's public mirror (``MXNET_GLUON_REPO`` overrides it) with a
sha1 check and an atomic rename. Offline, the error names the URL and the folder to put
the files in.

A sample is ``(image, label)``: the image an NDArray of uint8 in (height, width, channel)
layout, the label a numpy int32 scalar, as in MXNet; ``transform(image, label)`` is
applied to each sample when it is read.

``Digits`` needs no network: the 1,797 8x8 handwritten digits bundled with scikit-learn
(the test set of the UCI "Optical Recognition of Handwritten Digits" data set,
E. Alpaydin and C. Kaynak, 1998, https://archive.ics.uci.edu/dataset/80, CC BY 4.0), stored
in ``_digits.npz`` by ``scripts/fixtures/make_digits.py``.
"""

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "Digits", "ImageFolderDataset"]

import os
import tarfile
import warnings

import numpy as np

from ....base import MXNetError
from ..dataset import Dataset
from ._folder import ImageFolderDataset
from ._record import ImageRecordDataset  # noqa: F401 (MXNet lists it here)

# Download policy for missing files (module-level so tests and offline setups can tune).
_DOWNLOAD_RETRIES = 3
_DOWNLOAD_TIMEOUT = 60


def home_dir():
    """``$DISTNET_HOME``, else ``$MXNET_HOME``, else ``~/.distnet``."""
    from ....config import get

    for name in ("DISTNET_HOME", "MXNET_HOME"):
        if get(name):
            return os.path.expanduser(get(name))
    return os.path.expanduser(os.path.join("~", ".distnet"))


class _ImageArrayDataset(Dataset):
    """Images in one uint8 NDArray ``_data`` (N, H, W, C) and int32 labels ``_label``."""

    def __init__(self, images, labels, transform):
        from ....ndarray import NDArray

        self._transform = transform
        # a writable copy when needed (IDX data arrives as a read-only buffer), as MXNet's
        # data sets hold ordinary arrays a transform may write into
        self._data = NDArray(np.require(images, np.uint8, ["C", "W"]))
        self._label = np.asarray(labels, dtype=np.int32)

    def __getitem__(self, idx):
        from ....ndarray.ndarray import wrap

        data = wrap(self._data._data[idx], self._data.context)
        label = self._label[idx]
        if self._transform is not None:
            return self._transform(data, label)
        return data, label

    def __len__(self):
        return len(self._label)

    def _fetch_batch(self, indices):
        """[images, labels] at ``indices`` at once (untransformed data sets only)."""
        if self._transform is not None:
            return None
        from ....ndarray.ndarray import wrap

        idx = np.asarray(indices, dtype=np.int64)
        ctx = self._data.context
        return [wrap(self._data._data[idx], ctx), wrap(self._label[idx], ctx)]


class _DownloadedDataset(_ImageArrayDataset):
    """A data set read from files in ``root``, downloading the missing ones."""

    _namespace = None

    def __init__(self, root, transform):
        if root is None:
            root = os.path.join(home_dir(), "datasets", self._namespace)
        self._root = os.path.expanduser(root)
        os.makedirs(self._root, exist_ok=True)
        images, labels = self._get_data()
        super().__init__(images, labels, transform)

    def _get_data(self):
        raise NotImplementedError

    def _missing_error(self, name, err):
        from ...utils import _get_repo_file_url

        names = ", ".join(self._all_file_names())
        return MXNetError(
            f"{type(self).__name__}: {name} is not in {self._root} and could not be "
            f"downloaded: {err}\nTo use the data set offline, place {names} (from "
            f"{_get_repo_file_url('gluon/dataset/' + self._namespace, '')}) in "
            f"{self._root}, or pass root= a folder that holds them."
        )

    def _all_file_names(self):
        raise NotImplementedError

    def _fetch(self, name, sha1):
        """Download ``name`` into root (verified against ``sha1``); return its path."""
        from ...utils import download, _get_repo_file_url

        url = _get_repo_file_url("gluon/dataset/" + self._namespace, name)
        try:
            return download(
                url,
                path=self._root,
                sha1_hash=sha1,
                retries=_DOWNLOAD_RETRIES,
                timeout=_DOWNLOAD_TIMEOUT,
            )
        except MXNetError as err:
            raise self._missing_error(name, err) from None


class MNIST(_DownloadedDataset):
    """The MNIST handwritten digits (http://yann.lecun.com/exdb/mnist): 60,000 training
    and 10,000 test images of shape (28, 28, 1).

    Parameters
    ----------
    root : str, default $DISTNET_HOME/datasets/mnist
        Folder of the gzipped IDX files (``train-images-idx3-ubyte.gz``, ...; unzipped
        copies are read too).
    train : bool, default True
        The training set, else the test set.
    transform : callable, optional
        ``transform(data, label) -> sample``, e.g.
        ``lambda data, label: (data.astype('float32') / 255, label)``.
    """

    _namespace = "mnist"
    _files = {
        True: (
            ("train-images-idx3-ubyte.gz", "6c95f4b05d2bf285e1bfb0e7960c31bd3b3f8a7d"),
            ("train-labels-idx1-ubyte.gz", "2a80914081dc54586dbdf242f9805a6b8d2a15fc"),
        ),
        False: (
            ("t10k-images-idx3-ubyte.gz", "c3a25af1f52dad7f726cce8cacb138654b760d48"),
            ("t10k-labels-idx1-ubyte.gz", "763e7fa3757d93b0cdec073cef058b2004252c17"),
        ),
    }

    def __init__(self, root=None, train=True, transform=None):
        self._train = bool(train)
        super().__init__(root, transform)

    def _all_file_names(self):
        return [name for pair in self._files.values() for name, _ in pair]

    def _path(self, name, sha1):
        for candidate in (name, name[:-3]):  # the gzipped file, or an unzipped copy
            path = os.path.join(self._root, candidate)
            if os.path.exists(path):
                return path
        return self._fetch(name, sha1)

    def _get_data(self):
        (img_name, img_sha1), (lbl_name, lbl_sha1) = self._files[self._train]
        labels = _read_idx(self._path(lbl_name, lbl_sha1), 2049)
        images = _read_idx(self._path(img_name, img_sha1), 2051)
        if len(images) != len(labels):
            raise MXNetError(
                f"{type(self).__name__}: {img_name} holds {len(images)} "
                f"images but {lbl_name} holds {len(labels)} labels"
            )
        return images[..., None], labels


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist), a
    drop-in replacement of MNIST: 28x28 grey images of 10 kinds of clothing.

    Parameters
    ----------
    root : str, default $DISTNET_HOME/datasets/fashion-mnist
        Folder of the gzipped IDX files.
    train : bool, default True
        The training set, else the test set.
    transform : callable, optional
        ``transform(data, label) -> sample``.
    """

    _namespace = "fashion-mnist"
    _files = {
        True: (
            ("train-images-idx3-ubyte.gz", "0cf37b0d40ed5169c6b3aba31069a9770ac9043d"),
            ("train-labels-idx1-ubyte.gz", "236021d52f1e40852b06a4c3008d8de8aef1e40b"),
        ),
        False: (
            ("t10k-images-idx3-ubyte.gz", "626ed6a7c06dd17c0eec72fa3be1740f146a2863"),
            ("t10k-labels-idx1-ubyte.gz", "17f9ab60e7257a1620f4ad76bbbaf857c3920701"),
        ),
    }


def _read_idx(path, magic):
    """The array in an IDX file (gzipped if the name ends in .gz) with ``magic``; the
    header is validated against the file's size (distnet.io.files.read_idx)."""
    from ....io.files import read_idx

    return read_idx(path, magic)


class CIFAR10(_DownloadedDataset):
    """CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html): 50,000 training and 10,000
    test colour images of shape (32, 32, 3) in 10 classes.

    Parameters
    ----------
    root : str, default $DISTNET_HOME/datasets/cifar10
        Folder of the binary batches (``data_batch_1.bin`` ... ``test_batch.bin``, also
        found under ``cifar-10-batches-bin/``); if some are missing the archive
        ``cifar-10-binary.tar.gz`` is downloaded and they are extracted from it.
    train : bool, default True
        The training set, else the test set.
    transform : callable, optional
        ``transform(data, label) -> sample``.
    """

    _namespace = "cifar10"
    _archive = ("cifar-10-binary.tar.gz", "fab780a1e191a7eda0f345501ccd62d20f7ed891")
    _subdir = "cifar-10-batches-bin"
    _train_files = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    _test_files = ("test_batch.bin",)
    _label_bytes = 1
    # MXNet's published sha1 of each batch file: a local file that differs is reported
    _sha1 = {
        "data_batch_1.bin": "aadd24acce27caa71bf4b10992e9e7b2d74c2540",
        "data_batch_2.bin": "c0ba65cce70568cd57b4e03e9ac8d2a5367c1795",
        "data_batch_3.bin": "1dd00a74ab1d17a6e7d73e185b69dbf31242f295",
        "data_batch_4.bin": "aab85764eb3584312d3c7f65fd2fd016e36a258e",
        "data_batch_5.bin": "26e2849e66a845b7f1e4614ae70f4889ae604628",
        "test_batch.bin": "67eb016db431130d61cd03c7ad570b013799c88c",
    }

    def __init__(self, root=None, train=True, transform=None):
        self._train = bool(train)
        super().__init__(root, transform)

    def _all_file_names(self):
        return [self._archive[0]]

    def _label_column(self):
        return 0

    def _find(self, name):
        for path in (os.path.join(self._root, name), os.path.join(self._root, self._subdir, name)):
            if os.path.exists(path):
                return path
        return None

    def _get_data(self):
        names = self._train_files if self._train else self._test_files
        if any(self._find(name) is None for name in names):
            archive = os.path.join(self._root, self._archive[0])
            if not os.path.exists(archive):
                archive = self._fetch(*self._archive)
            _extract_members(archive, self._train_files + self._test_files, self._root)
            missing = [name for name in names if self._find(name) is None]
            if missing:
                raise MXNetError(
                    f"{type(self).__name__}: {archive} does not contain {', '.join(missing)}"
                )
        self._check_sha1([self._find(name) for name in names])
        parts = [self._read_batch(self._find(name)) for name in names]
        return (
            np.concatenate([images for images, _ in parts]),
            np.concatenate([labels for _, labels in parts]),
        )

    def _check_sha1(self, paths):
        """Warn (once per file) when a batch file differs from MXNet's published one:
        a local or re-packed copy is used as it is, a truncated one fails when read."""
        from ...utils import check_sha1

        for path in paths:
            name = os.path.basename(path)
            if name in self._sha1 and not check_sha1(path, self._sha1[name]):
                warnings.warn(
                    f"{path} does not match the sha1 of MXNet's {name} "
                    f"({self._sha1[name]}); using it as it is",
                    stacklevel=4,
                )

    def _read_batch(self, path):
        record = self._label_bytes + 3072
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % record:
            raise MXNetError(
                f"{path}: {raw.size} bytes is not a whole number of {record}-byte CIFAR records"
            )
        raw = raw.reshape(-1, record)
        images = raw[:, self._label_bytes :].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, raw[:, self._label_column()].astype(np.int32)


class CIFAR100(CIFAR10):
    """CIFAR-100: 32x32 colour images with 20 coarse and 100 fine classes.

    Parameters
    ----------
    root : str, default $DISTNET_HOME/datasets/cifar100
        Folder of ``train.bin`` and ``test.bin`` (also under ``cifar-100-binary/``).
    fine_label : bool, default False
        Labels of the 100 fine classes, else of the 20 coarse ones.
    train : bool, default True
        The training set, else the test set.
    transform : callable, optional
        ``transform(data, label) -> sample``.
    """

    _namespace = "cifar100"
    _archive = ("cifar-100-binary.tar.gz", "a0bb982c76b83111308126cc779a992fa506b90b")
    _subdir = "cifar-100-binary"
    _train_files = ("train.bin",)
    _test_files = ("test.bin",)
    _label_bytes = 2
    _sha1 = {
        "train.bin": "e207cd2e05b73b1393c74c7f5e7bea451d63e08e",
        "test.bin": "8fb6623e830365ff53cf14adec797474f5478006",
    }

    def __init__(self, root=None, fine_label=False, train=True, transform=None):
        self._fine_label = bool(fine_label)
        super().__init__(root, train, transform)

    def _label_column(self):
        return int(self._fine_label)


def _extract_members(archive, names, folder):
    """Extract the files called ``names`` (at any depth) from a tar archive into
    ``folder``, flat and atomically; no other member is written (no path traversal)."""
    wanted = set(names)
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                base = os.path.basename(member.name)
                if not member.isfile() or base not in wanted:
                    continue
                tmp = os.path.join(folder, f".{base}.{os.getpid()}.part")
                with tar.extractfile(member) as src, open(tmp, "wb") as dst:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        dst.write(chunk)
                os.replace(tmp, os.path.join(folder, base))
    except (tarfile.TarError, OSError, EOFError) as err:
        raise MXNetError(f"cannot extract {archive}: {err}") from None


class Digits(_ImageArrayDataset):
    """The 1,797 8x8 handwritten digits bundled with scikit-learn, without a network.

    Images are (8, 8, 1) uint8; the original 0..16 counts are scaled by 16 (clipped to
    255) so the transforms written for MNIST apply. The split is fixed: the test set is
    every sixth sample (indices 5, 11, ..., 1781: 297 samples), the training set the other
    1,500 in file order (every class has 142-156 and 25-36 samples in them). Interleaved,
    both parts span the whole file: the last 297 samples alone are markedly harder than
    the rest (a 1-nearest-neighbour classifier scores 94.6% on them, 98.0% on this split).

    Parameters
    ----------
    train : bool, default True
        The training set, else the test set.
    transform : callable, optional
        ``transform(data, label) -> sample``.
    """

    num_train = 1500

    def __init__(self, train=True, transform=None):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_digits.npz")
        with np.load(path, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
        test = np.zeros(len(labels), dtype=bool)
        test[np.arange(5, len(labels), 6)[: len(labels) - self.num_train]] = True
        part = ~test if train else test
        images = np.minimum(images[part].astype(np.uint16) * 16, 255).astype(np.uint8)
        self._train = bool(train)
        super().__init__(images[..., None], labels[part], transform)
