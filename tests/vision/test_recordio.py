"""mx.recordio: byte compatibility with MXNet 1.9.1's .rec/.idx files, both ways."""

import json
import os
import pickle
import struct

import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet", "vision")


def _meta():
    with open(os.path.join(FIX, "meta.json")) as fin:
        return json.load(fin)


def _read(name):
    with open(os.path.join(FIX, name), "rb") as fin:
        return fin.read()


def test_reads_mxnet_written_records_sequentially_and_by_key():
    meta = _meta()
    payloads = [bytes.fromhex(p) for p in meta["payloads_hex"]]
    reader = mx.recordio.MXRecordIO(os.path.join(FIX, "raw.rec"), "r")
    got = [reader.read() for _ in payloads]
    assert got == payloads
    assert reader.read() is None
    reader.close()
    indexed = mx.recordio.MXIndexedRecordIO(
        os.path.join(FIX, "raw.idx"), os.path.join(FIX, "raw.rec"), "r"
    )
    assert indexed.keys == meta["keys"]
    for key, payload in reversed(list(zip(meta["keys"], payloads))):
        assert indexed.read_idx(key) == payload


def test_writes_files_byte_identical_to_mxnet(tmp_path):
    meta = _meta()
    writer = mx.recordio.MXIndexedRecordIO(str(tmp_path / "x.idx"), str(tmp_path / "x.rec"), "w")
    for key, payload in zip(meta["keys"], meta["payloads_hex"]):
        writer.write_idx(key, bytes.fromhex(payload))
    writer.close()
    assert (tmp_path / "x.rec").read_bytes() == _read("raw.rec")
    assert (tmp_path / "x.idx").read_bytes() == _read("raw.idx")


def test_image_records_roundtrip_bytes_identical(tmp_path):
    reader = mx.recordio.MXIndexedRecordIO(
        os.path.join(FIX, "images_lw2.idx"), os.path.join(FIX, "images_lw2.rec"), "r"
    )
    writer = mx.recordio.MXIndexedRecordIO(str(tmp_path / "c.idx"), str(tmp_path / "c.rec"), "w")
    for key in reader.keys:
        header, body = mx.recordio.unpack(reader.read_idx(key))
        assert header.flag == 2 and header.id == key
        np.testing.assert_array_equal(header.label, [key, 10 + key])
        assert body == _read(f"img{key}.jpg")
        writer.write_idx(key, mx.recordio.pack(header, body))
    writer.close()
    assert (tmp_path / "c.rec").read_bytes() == _read("images_lw2.rec")


def test_pack_matches_mxnet_and_unpack_inverts():
    packed = _meta()["packed"]
    cases = {
        "scalar": (mx.recordio.IRHeader(0, 3.5, 7, 9), b"payload"),
        "array": (mx.recordio.IRHeader(0, [1.0, 2.5, -3.0], 11, 0), b"xyz"),
        "big_id": (mx.recordio.IRHeader(0, 1.0, 2**40 + 5, 2**33), b""),
    }
    for name, (header, body) in cases.items():
        blob = mx.recordio.pack(header, body)
        assert blob.hex() == packed[name], name
        back, rest = mx.recordio.unpack(blob)
        assert rest == body and back.id == header.id and back.id2 == header.id2
        np.testing.assert_array_equal(
            np.asarray(back.label, np.float32), np.asarray(header.label, np.float32)
        )


def test_pack_img_unpack_img_keep_opencv_bgr_order():
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 0] = 200  # blue in OpenCV's order
    header, back = mx.recordio.unpack_img(
        mx.recordio.pack_img(mx.recordio.IRHeader(0, 1, 0, 0), img, img_fmt=".png")
    )
    np.testing.assert_array_equal(back, img)
    _, grey = mx.recordio.unpack_img(mx.recordio.pack_img((0, 1, 0, 0), img), iscolor=0)
    assert grey.shape == (8, 8)


def test_corrupt_and_truncated_files_name_the_offset(tmp_path):
    path = tmp_path / "bad.rec"
    path.write_bytes(_read("raw.rec")[:30])
    reader = mx.recordio.MXRecordIO(str(path), "r")
    with pytest.raises(MXNetError, match="bad.rec"):
        while reader.read() is not None:
            pass
    path.write_bytes(b"\0" * 16)
    with pytest.raises(MXNetError, match=r"invalid RecordIO magic .* at byte 0"):
        mx.recordio.MXRecordIO(str(path), "r").read()
    with pytest.raises(MXNetError, match="missing.rec"):
        mx.recordio.MXRecordIO(str(tmp_path / "missing.rec"), "r")
    with pytest.raises(MXNetError, match="key 99 is not in the index"):
        mx.recordio.MXIndexedRecordIO(
            os.path.join(FIX, "raw.idx"), os.path.join(FIX, "raw.rec"), "r"
        ).read_idx(99)


def test_reader_pickles_and_reset_restarts():
    reader = mx.recordio.MXIndexedRecordIO(
        os.path.join(FIX, "raw.idx"), os.path.join(FIX, "raw.rec"), "r"
    )
    first = reader.read()
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.read() == first and clone.keys == reader.keys
    reader.reset()
    assert reader.read() == first


def test_large_random_payloads_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    payloads = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (1, 5, 4096, 99)]
    payloads.append(struct.pack("<I", 0xCED7230A) * 3 + b"z")
    writer = mx.recordio.MXRecordIO(str(tmp_path / "r.rec"), "w")
    for p in payloads:
        writer.write(p)
    writer.close()
    reader = mx.recordio.MXRecordIO(str(tmp_path / "r.rec"), "r")
    assert [reader.read() for _ in payloads] == payloads
