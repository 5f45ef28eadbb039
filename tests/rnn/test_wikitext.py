"""gluon.contrib.data.text: WikiText2/WikiText103 against MXNet 1.9.1 on small synthetic
files laid out as WikiText's (vocabulary, frequencies, every sample), offline use from
extracted files or a local zip, and the error naming the archive when offline."""

import json
import os
import zipfile

import numpy as np
import pytest

from distnet import gluon
from distnet.base import MXNetError
from distnet.gluon.contrib.data import text

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "rnn")


@pytest.fixture(scope="module")
def ref():
    with open(os.path.join(FIX, "wikitext.json"), encoding="utf8") as f:
        return json.load(f)


def _write(folder, ref):
    for name, key in (("wiki.train.tokens", "train_text"), ("wiki.valid.tokens", "valid_text")):
        with open(os.path.join(folder, name), "w", encoding="utf8") as f:
            f.write(ref[key])


def _samples(ds):
    return [[ds[i][0].asnumpy().tolist(), ds[i][1].asnumpy().tolist()] for i in range(len(ds))]


def test_wikitext2_matches_mxnet(tmp_path, ref):
    _write(tmp_path, ref)
    train = gluon.contrib.data.text.WikiText2(root=str(tmp_path), segment="train", seq_len=5)
    assert train.vocabulary.idx_to_token == ref["idx_to_token"]
    assert train.vocabulary.unknown_token == "<unk>"
    assert train.vocabulary.reserved_tokens == ["<eos>"]
    assert dict(train.frequencies) == ref["frequencies"]
    assert len(train) == len(ref["train"])
    data, label = train[0]
    assert data.shape == (5,) and data.dtype == np.int32 and label.dtype == np.int32
    assert _samples(train) == ref["train"]
    valid = text.WikiText2(
        root=str(tmp_path), segment="validation", vocab=train.vocabulary, seq_len=5
    )
    assert valid.vocabulary is train.vocabulary and valid.frequencies is None
    assert _samples(valid) == ref["valid"]


def test_wikitext_batches_through_the_dataloader(tmp_path, ref):
    _write(tmp_path, ref)
    train = text.WikiText103(root=str(tmp_path), seq_len=5)
    loader = gluon.data.DataLoader(train, batch_size=4, last_batch="discard")
    data, label = next(iter(loader))
    assert data.shape == (4, 5) and data.dtype == np.int32
    np.testing.assert_array_equal(data.asnumpy(), [s[0] for s in ref["train"][:4]])
    # label is the data stream shifted by one token
    np.testing.assert_array_equal(label.asnumpy()[:, :-1], data.asnumpy()[:, 1:])


def test_wikitext_from_a_local_zip_and_default_root(tmp_path, ref, monkeypatch):
    home = tmp_path / "home"
    folder = home / "datasets" / "wikitext-2"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "wikitext-2-v1.zip", "w") as zf:
        zf.writestr("wikitext-2/wiki.train.tokens", ref["train_text"])
        zf.writestr("wikitext-2/wiki.valid.tokens", ref["valid_text"])
        zf.writestr("../evil.tokens", "not extracted")
    monkeypatch.setenv("DISTNET_HOME", str(home))
    train = text.WikiText2(seq_len=5)
    assert _samples(train) == ref["train"]
    assert sorted(os.listdir(folder)) == [
        "wiki.train.tokens",
        "wiki.valid.tokens",
        "wikitext-2-v1.zip",
    ]
    with pytest.raises(MXNetError, match="holds no wiki.test.tokens"):
        text.WikiText2(segment="test")


def test_wikitext_offline_error_names_the_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")  # nothing listens
    monkeypatch.setattr(gluon.data.vision.datasets, "_DOWNLOAD_RETRIES", 1)
    with pytest.raises(MXNetError) as err:
        text.WikiText103(root=str(tmp_path), segment="test")
    msg = str(err.value)
    assert "WikiText103: wiki.test.tokens is not in" in msg
    assert "wikitext-103-v1.zip" in msg and str(tmp_path) in msg
    assert "http://127.0.0.1:9/gluon/dataset/wikitext-103/wikitext-103-v1.zip" in msg


def test_wikitext_bad_arguments(tmp_path):
    with pytest.raises(
        MXNetError,
        match=r"segment must be one of \['test', 'train', "
        r"'validation'\], got 'valid'",
    ):
        text.WikiText2(root=str(tmp_path), segment="valid")
    with pytest.raises(MXNetError, match="seq_len must be positive, got 0"):
        text.WikiText2(root=str(tmp_path), seq_len=0)


def test_vocabulary_rules_as_mxnet():
    """Values from MXNet 1.9.1's ``contrib.text.vocab.Vocabulary`` on the same counter."""
    import collections
    from distnet.gluon.contrib.data._vocab import Vocabulary

    counter = collections.Counter({"b": 3, "a": 3, "c": 1, "<unk>": 5, "d": 2})
    v = Vocabulary(counter, most_freq_count=2, reserved_tokens=["<eos>"])
    assert v.idx_to_token == ["<unk>", "<eos>", "a", "b"] and len(v) == 4
    assert v.to_indices(["a", "zz"]) == [2, 0] and v.to_indices("b") == 3
    assert v.to_tokens([1, 2]) == ["<eos>", "a"]
    assert Vocabulary(counter, min_freq=2).idx_to_token == ["<unk>", "a", "b", "d"]
    with pytest.raises(MXNetError, match="token index 9 is not in 0..3"):
        v.to_tokens(9)
    with pytest.raises(MXNetError, match="must not contain the unknown token '<unk>'"):
        Vocabulary(reserved_tokens=["<unk>"])
