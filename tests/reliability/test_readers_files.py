"""IDX (MNIST) files and optimizer-state blobs: validated readers, bounded work.

Crafted headers must fail at once with an MXNetError naming the file (never read or
allocate what the file cannot hold); hundreds of mutated optimizer-state blobs must load
or fail with MXNetError, never another exception.
"""

import gzip
import random
import struct
import time
import tracemalloc

import msgpack
import numpy as np
import pytest

import distnet as mx
from distnet.base import MXNetError
from distnet.io.files import read_idx


def _idx(path, array, magic):
    data = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


def test_idx_round_trip_plain_and_gzipped(tmp_path):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 251
    for name in ("img", "img.gz"):
        _idx(tmp_path / name, images, 2051)
        np.testing.assert_array_equal(read_idx(str(tmp_path / name), 2051), images)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_header_claiming_more_than_the_file_holds(tmp_path, suffix):
    path = str(tmp_path / f"huge{suffix}")
    opener = gzip.open if suffix else open
    with opener(path, "wb") as f:  # 4 GiB x 4 GiB x 4 GiB claimed by a tiny file
        f.write(struct.pack(">IIII", 2051, 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\0" * 64)
    tracemalloc.start()
    tic = time.perf_counter()
    with pytest.raises(
        MXNetError,
        match=rf"huge{suffix} is truncated: the header's shape "
        r"\(4294967295, 4294967295, 4294967295\) needs",
    ):
        read_idx(path, 2051)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - tic < 1 and peak < 1 << 20


def test_idx_short_trailing_and_corrupt_gzip(tmp_path):
    labels = np.arange(10)
    _idx(tmp_path / "lab", labels, 2049)
    raw = (tmp_path / "lab").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(
        MXNetError,
        match=r"short is truncated.*needs 10 bytes, "
        r"the file can hold at most 7",
    ):
        read_idx(str(tmp_path / "short"), 2049)
    (tmp_path / "long").write_bytes(raw + b"x")
    with pytest.raises(MXNetError, match="long has trailing data"):
        read_idx(str(tmp_path / "long"), 2049)
    _idx(tmp_path / "lab.gz", labels, 2049)
    gz = bytearray((tmp_path / "lab.gz").read_bytes())
    gz[-12] ^= 0xFF  # corrupt the deflate stream
    (tmp_path / "bad.gz").write_bytes(bytes(gz))
    with pytest.raises(MXNetError, match="bad.gz"):
        read_idx(str(tmp_path / "bad.gz"), 2049)


def test_mutated_idx_files(tmp_path):
    _idx(tmp_path / "img", np.arange(3 * 5 * 4).reshape(3, 5, 4), 2051)
    raw = (tmp_path / "img").read_bytes()
    rng = random.Random(2049)
    for i in range(150):
        buf = bytearray(raw)
        if i % 2:
            del buf[rng.randrange(len(buf)) :]
        else:
            buf[rng.randrange(16)] = rng.randrange(256)
        path = tmp_path / f"m{i}"
        path.write_bytes(bytes(buf))
        try:
            assert read_idx(str(path), 2051).size <= len(buf)
        except MXNetError as err:
            assert f"m{i}" in str(err)


def _states_blob(optimizer="adam"):
    opt = mx.optimizer.create(optimizer, learning_rate=0.1, multi_precision=True)
    updater = mx.optimizer.get_updater(opt)
    for key, dtype in ((0, "float32"), (1, "float16")):
        weight = mx.nd.ones((3, 2), dtype=dtype)
        updater(key, mx.nd.ones((3, 2), dtype=dtype) * 0.5, weight)
    return updater.get_states(dump_optimizer=True)


def _structural_mutants(blob, rng, n):
    doc = msgpack.unpackb(blob, raw=False, strict_map_key=False)
    weird = [
        None,
        -1,
        2**63,
        "x",
        b"\0" * 3,
        [],
        {},
        [["nd", "<f4", [2**40], b""]],
        ["tuple", [["tuple", [["tuple", []]]]]],
        1.5,
        True,
        ["nd", "O", [1], b"\0" * 8],
        ["nd", "<f4", [-1], b""],
        ["nd", "V8", [1], b"x"],
    ]
    for _ in range(n):
        d = msgpack.unpackb(blob, raw=False, strict_map_key=False)
        where = rng.choice(["top", "state", "counters", "optimizer"])
        if where == "top":
            d[rng.choice(list(doc))] = rng.choice(weird)
        elif where == "state":
            entry = rng.choice(d["states"])
            entry[rng.randrange(2)] = rng.choice(weird)
        elif where == "counters":
            d["counters"][rng.choice(["num_update", "devices", "runtime"])] = rng.choice(
                weird + [{"m_schedule": "x"}, [[0, [[0, "x"]]]]]
            )
        else:
            d["optimizer"] = rng.choice(
                weird
                + [["adam", {"learning_rate": "fast"}], ["adam", {"no_such": 1}], ["nope", {}]]
            )
        yield msgpack.packb(d, use_bin_type=True)


def test_mutated_optimizer_states_raise_only_mxneterror():
    blob = _states_blob()
    rng = random.Random(1234)
    bytewise = []
    for i in range(200):
        buf = bytearray(blob)
        if i % 2:
            del buf[rng.randrange(len(buf)) :]
        else:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        bytewise.append(bytes(buf))
    outcomes = {"ok": 0, "error": 0}
    deep = msgpack.packb(
        {
            "format": "distnet-optimizer-states",
            "version": 1,
            "counters": None,
            "optimizer": None,
            "states": [[0, _nest(500)]],
        }
    )
    for mutant in bytewise + list(_structural_mutants(blob, rng, 200)) + [deep]:
        updater = mx.optimizer.get_updater(mx.optimizer.create("adam"))
        try:
            updater.set_states(mutant)
            outcomes["ok"] += 1
        except MXNetError:
            outcomes["error"] += 1
    assert outcomes["error"] > 150, outcomes


def _nest(depth):
    state = None
    for _ in range(depth):
        state = ["tuple", [state]]
    return state


def test_states_round_trip_exactly():
    blob = _states_blob()
    updater = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    updater.set_states(blob)
    assert type(updater.optimizer).__name__ == "Adam"
    assert updater.get_states(dump_optimizer=True) == blob
