"""``gluon.contrib.data.text``: the WikiText-2 and WikiText-103 language-model data sets.

Files live in ``<home>/datasets/wikitext-2`` (``-103``), ``<home>`` being
``$DISTNET_HOME``, else ``$MXNET_HOME`` (MXNet's downloads are found), else ``~/.distnet``;
``root=`` overrides. A segment's ``wiki.*.tokens`` file already there is used as it is
(no sha1 check, so hand-made or pre-extracted files work offline); else MXNet's zip
archive is used when present in the folder, or downloaded from MXNet's mirror
(``MXNET_GLUON_REPO`` overrides it) with its sha1 checked, and its token files are
extracted flat and atomically. Offline, the error names the archive, its URL and the
folder to put the files in (MXNet failed with a bare connection error).

A sample is ``(data, label)``, two int32 NDArrays of ``seq_len`` token indices, the label
the data shifted by one token, as in MXNet: ``<eos>`` ends every non-empty line, the
stream is cut to a multiple of ``seq_len``.
"""

import os
import shutil
import zipfile

import numpy as np

from ....base import MXNetError
from ...data.dataset import Dataset
from ._vocab import Vocabulary, count_tokens_from_str

__all__ = ["WikiText2", "WikiText103"]

EOS_TOKEN = "<eos>"


class _WikiText(Dataset):
    """Shared implementation (``_namespace``, ``_archive``, ``_files`` per subclass)."""

    _namespace = _archive = _files = None

    def __init__(self, root, segment, vocab, seq_len):
        if segment not in self._files:
            raise MXNetError(
                f"{type(self).__name__}: segment must be one of "
                f"{sorted(self._files)}, got {segment!r}"
            )
        if int(seq_len) <= 0:
            raise MXNetError(f"{type(self).__name__}: seq_len must be positive, got {seq_len}")
        if root is None:
            from ...data.vision.datasets import home_dir

            root = os.path.join(home_dir(), "datasets", self._namespace)
        self._root = os.path.expanduser(root)
        self._segment, self._seq_len = segment, int(seq_len)
        self._vocab, self._counter = vocab, None
        os.makedirs(self._root, exist_ok=True)
        self._get_data()

    @property
    def vocabulary(self):
        """The ``Vocabulary`` mapping tokens to indices (built from this segment unless
        one was passed as ``vocab``)."""
        return self._vocab

    @property
    def frequencies(self):
        """``collections.Counter`` of this segment's tokens (None with a given ``vocab``)."""
        return self._counter

    def _read_batch(self, path):
        """Token indices of the file and of the file shifted by one."""
        with open(path, "r", encoding="utf8") as f:
            content = f.read()
        if self._vocab is None:
            self._counter = count_tokens_from_str(content)
            self._vocab = Vocabulary(counter=self._counter, reserved_tokens=[EOS_TOKEN])
        # the vocabulary counts tokens split at ' ' and '\n' (MXNet's rule); the stream
        # splits at any whitespace, so e.g. 'a\tb' is unknown as one token and two in the text
        lines = [line.split() + [EOS_TOKEN] for line in content.splitlines() if line.split()]
        ids = np.array(self._vocab.to_indices([t for line in lines for t in line]), np.int32)
        return ids[:-1], ids[1:]

    def _get_data(self):
        from ....ndarray.ndarray import NDArray

        path = self._segment_file()
        data, label = self._read_batch(path)
        n = len(data) // self._seq_len * self._seq_len
        self._data = NDArray(np.ascontiguousarray(data[:n].reshape(-1, self._seq_len)))
        self._label = NDArray(np.ascontiguousarray(label[:n].reshape(-1, self._seq_len)))

    def _segment_file(self):
        """Path of the segment's token file, extracting or downloading it if missing."""
        name = self._files[self._segment][0]
        path = os.path.join(self._root, name)
        if os.path.exists(path):
            return path
        archive = os.path.join(self._root, self._archive[0])
        if not os.path.exists(archive):
            archive = self._download()
        _extract_zip_members(archive, [n for n, _ in self._files.values()], self._root)
        if not os.path.exists(path):
            raise MXNetError(f"{type(self).__name__}: {archive} holds no {name}")
        return path

    def _download(self):
        from ...utils import download, _get_repo_file_url
        from ...data.vision import datasets as _policy  # the shared retry/timeout policy

        name, sha1 = self._archive
        url = _get_repo_file_url("gluon/dataset/" + self._namespace, name)
        try:
            return download(
                url,
                path=self._root,
                sha1_hash=sha1,
                retries=_policy._DOWNLOAD_RETRIES,
                timeout=_policy._DOWNLOAD_TIMEOUT,
            )
        except MXNetError as err:
            files = ", ".join(n for n, _ in self._files.values())
            raise MXNetError(
                f"{type(self).__name__}: {self._files[self._segment][0]} is not in "
                f"{self._root} and {name} could not be downloaded: {err}\nTo use the data "
                f"set offline, place {name} (from {url}) or its extracted {files} in "
                f"{self._root}, or pass root= a folder that holds them."
            ) from None

    def __getitem__(self, idx):
        return self._data[idx], self._label[idx]

    def __len__(self):
        return self._label.shape[0]

    def _fetch_batch(self, indices):
        """[data, label] rows at ``indices`` at once (for the DataLoader)."""
        from ....ndarray.ndarray import wrap

        idx = np.asarray(indices, dtype=np.int64)
        ctx = self._data.context
        return [wrap(self._data._read()[idx], ctx), wrap(self._label._read()[idx], ctx)]


def _extract_zip_members(archive, names, folder):
    """Extract the files called ``names`` (at any depth) from a zip archive into
    ``folder``, flat and atomically; no other member is written (no path traversal)."""
    wanted = set(names)
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                base = os.path.basename(member.filename)
                if member.is_dir() or base not in wanted:
                    continue
                tmp = os.path.join(folder, f".{base}.{os.getpid()}.part")
                with zf.open(member) as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                os.replace(tmp, os.path.join(folder, base))
    except (zipfile.BadZipFile, OSError) as err:
        raise MXNetError(f"cannot extract {sorted(wanted)} from {archive}: {err}") from err


class WikiText2(_WikiText):
    """WikiText-2 word-level language-modelling data set (Merity et al. 2016, Salesforce
    research; CC BY-SA): 2 million training tokens, every sample ``seq_len`` tokens.

    Parameters
    ----------
    root : str, default $DISTNET_HOME/datasets/wikitext-2
        Folder of ``wiki.train.tokens``, ``wiki.valid.tokens``, ``wiki.test.tokens`` (or
        of ``wikitext-2-v1.zip``).
    segment : {'train', 'validation', 'test'}, default 'train'
    vocab : Vocabulary, optional
        Token indices to use (e.g. the training set's ``vocabulary`` for the other
        segments); built from this segment by default.
    seq_len : int, default 35
        Length of each sample, regardless of line boundaries.
    """

    _namespace = "wikitext-2"
    _archive = ("wikitext-2-v1.zip", "3c914d17d80b1459be871a5039ac23e752a53cbe")
    _files = {
        "train": ("wiki.train.tokens", "863f29c46ef9d167fff4940ec821195882fe29d1"),
        "validation": ("wiki.valid.tokens", "0418625c8b4da6e4b5c7a0b9e78d4ae8f7ee5422"),
        "test": ("wiki.test.tokens", "c7b8ce0aa086fb34dab808c5c49224211eb2b172"),
    }

    def __init__(self, root=None, segment="train", vocab=None, seq_len=35):
        super().__init__(root, segment, vocab, seq_len)


class WikiText103(_WikiText):
    """WikiText-103 word-level language-modelling data set (Merity et al. 2016; CC
    BY-SA): 103 million training tokens. Parameters as ``WikiText2``, ``root`` default
    ``$DISTNET_HOME/datasets/wikitext-103`` (archive ``wikitext-103-v1.zip``)."""

    _namespace = "wikitext-103"
    _archive = ("wikitext-103-v1.zip", "0aec09a7537b58d4bb65362fee27650eeaba625a")
    _files = {
        "train": ("wiki.train.tokens", "b7497e2dfe77e72cfef5e3dbc61b7b53712ac211"),
        "validation": ("wiki.valid.tokens", "c326ac59dc587676d58c422eb8a03e119582f92b"),
        "test": ("wiki.test.tokens", "8a5befc548865cec54ed4273cf87dbbad60d1e47"),
    }

    def __init__(self, root=None, segment="train", vocab=None, seq_len=35):
        super().__init__(root, segment, vocab, seq_len)
