"""MXNet's .params format both ways, against files written by real MXNet 1.9.1."""

import json
import os

import numpy as np
import pytest

import distnet as mx
from distnet import nd

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet")


def _values():
    with np.load(os.path.join(FIX, "params_values.npz"), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _meta():
    with open(os.path.join(FIX, "params_meta.json")) as f:
        return json.load(f)


def test_load_mxnet_list_file():
    loaded = nd.load(os.path.join(FIX, "params_list.params"))
    values = _values()
    order = _meta()["list_file_order"]
    assert isinstance(loaded, list) and len(loaded) == len(order)
    for arr, name in zip(loaded, order):
        want = values[name]
        assert arr.dtype == want.dtype.type, name
        assert arr.shape == want.shape, name
        np.testing.assert_array_equal(arr.asnumpy(), want, err_msg=name)


def test_load_mxnet_dict_file_keeps_names_and_order():
    loaded = nd.load(os.path.join(FIX, "params_dict.params"))
    meta = _meta()
    assert list(loaded) == meta["dict_file_keys_as_loaded"]
    values = _values()
    for key, arr in loaded.items():
        want = values[key[4:] if key.startswith("arg:") else key]
        np.testing.assert_array_equal(arr.asnumpy(), want, err_msg=key)
        assert arr.context == mx.cpu(0)


@pytest.mark.parametrize("name", ["params_list.params", "params_dict.params"])
def test_save_is_byte_identical_to_mxnet(tmp_path, name):
    src = os.path.join(FIX, name)
    loaded = nd.load(src)
    out = tmp_path / name
    nd.save(str(out), loaded)
    with open(src, "rb") as a, open(out, "rb") as b:
        assert a.read() == b.read()


def test_empty_list_file_matches_mxnet(tmp_path):
    nd.save(str(tmp_path / "e.params"), [])
    assert (tmp_path / "e.params").read_bytes().hex() == _meta()["empty_list_file_hex"]


def test_v3_file_loads_scalars_as_shape_1():
    loaded = nd.load(os.path.join(FIX, "params_v3.params"))
    with np.load(os.path.join(FIX, "params_v3_values.npz"), allow_pickle=False) as f:
        for key in f.files:
            want = f[key]
            got = loaded[key].asnumpy()
            np.testing.assert_array_equal(got.reshape(want.shape), want, err_msg=key)
    assert loaded["scalar0d"].shape == (1,)


def test_roundtrip_all_dtypes(tmp_path):
    arrays = {
        f"a{i}": nd.array(np.arange(6).reshape(2, 3), dtype=dt)
        for i, dt in enumerate(
            ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]
        )
    }
    path = tmp_path / "x.params"
    nd.save(path, arrays)
    back = nd.load(path)
    for key, arr in arrays.items():
        assert back[key].dtype == arr.dtype
        np.testing.assert_array_equal(back[key].asnumpy(), arr.asnumpy())


def test_single_array_loads_as_list(tmp_path):
    nd.save(tmp_path / "one", nd.ones((2,)))
    back = nd.load(tmp_path / "one")
    assert isinstance(back, list) and back[0].shape == (2,)


def test_load_frombuffer():
    with open(os.path.join(FIX, "params_dict.params"), "rb") as f:
        back = nd.load_frombuffer(f.read())
    assert "aux:m" in back


def test_save_is_atomic_and_leaves_no_temp_on_error(tmp_path):
    path = tmp_path / "p.params"
    nd.save(path, [nd.ones((1,))])
    with pytest.raises(mx.MXNetError, match="not an NDArray"):
        nd.save(path, {"w": np.ones(3)})
    assert nd.load(path)[0].asnumpy().tolist() == [1.0]
    assert os.listdir(tmp_path) == ["p.params"]


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.params"
    bad.write_bytes(b"\x00" * 40)
    with pytest.raises(mx.MXNetError, match="bad.params.*not an MXNet NDArray file"):
        nd.load(bad)
    with open(os.path.join(FIX, "params_list.params"), "rb") as f:
        data = f.read()
    trunc = tmp_path / "trunc.params"
    trunc.write_bytes(data[:100])
    with pytest.raises(mx.MXNetError, match="truncated"):
        nd.load(trunc)
    with pytest.raises(mx.MXNetError, match="cannot read"):
        nd.load(tmp_path / "missing.params")
