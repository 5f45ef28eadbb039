"""mx.util, mx.engine, mx.runtime and mx.base: the small MXNet modules scripts and MXNet's own
tests import."""

import threading

import pytest

import distnet as mx
from distnet.base import (
    MXNetError,
    NotImplementedForSymbol,
    NotSupportedForSparseNDArray,
    data_dir,
    py_str,
)


def test_mxnet_error_is_a_runtime_error_as_in_mxnet():
    assert issubclass(MXNetError, RuntimeError)
    with pytest.raises(RuntimeError):
        mx.nd.ones((2, 3)).reshape((4, 4))


def test_base_helpers():
    assert py_str(b"caf\xc3\xa9") == "café"
    err = NotImplementedForSymbol(len, "shape_array", 1)
    assert str(err) == (
        'Function len (namely operator "shape_array") with arguments '
        "(<class 'int'>) is not implemented for Symbol and only available "
        "in NDArray."
    )
    assert isinstance(NotSupportedForSparseNDArray(len, None), MXNetError)


def test_data_dir_follows_mxnet_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    assert data_dir() == str(tmp_path)
    monkeypatch.delenv("MXNET_HOME")
    assert data_dir().endswith(".mxnet")


def test_np_shape_flag_is_per_thread_and_restored():
    assert not mx.util.is_np_shape()
    with mx.util.np_shape(True):
        assert mx.util.is_np_shape()
        seen = []
        worker = threading.Thread(target=lambda: seen.append(mx.util.is_np_shape()))
        worker.start()
        worker.join()
        assert seen == [False]
    assert not mx.util.is_np_shape()
    assert mx.util.set_np_shape(True) is False and mx.util.set_np_shape(False) is True

    @mx.util.use_np_shape
    def inside():
        return mx.util.is_np_shape()

    assert inside() and not mx.util.is_np_shape()


def test_np_array_mode_is_refused_with_a_clear_error():
    assert mx.util.is_np_array() is False
    with pytest.raises(MXNetError, match="mx.np"):
        mx.util.set_np()
    with mx.util.np_array(False):
        pass

    @mx.util.use_np
    def needs_np():
        return 1

    with pytest.raises(MXNetError, match="mx.np"):  # decorating works, calling refuses
        needs_np()


def test_getenv_setenv(monkeypatch):
    monkeypatch.delenv("DISTNET_UTIL_T", raising=False)
    assert mx.util.getenv("DISTNET_UTIL_T") is None
    mx.util.setenv("DISTNET_UTIL_T", "7")
    assert mx.util.getenv("DISTNET_UTIL_T") == "7"
    mx.util.setenv("DISTNET_UTIL_T", None)
    assert mx.util.getenv("DISTNET_UTIL_T") is None


def test_gpu_queries_without_a_gpu():
    if mx.util.get_gpu_count():
        pytest.skip("a GPU is present; this checks the no-GPU answers")
    assert mx.util.get_gpu_count() == 0
    with pytest.raises(MXNetError, match="no GPU 0"):
        mx.util.get_gpu_memory(0)


def test_engine_bulk_size_is_saved_and_restored():
    assert mx.engine.set_bulk_size(4) == 0
    with mx.engine.bulk(16):
        assert mx.engine.set_bulk_size(16) == 16
    assert mx.engine.set_bulk_size(0) == 4


def test_runtime_features_list_mxnets_names():
    features = mx.runtime.Features()
    names = list(features)
    assert names[:3] == ["CUDA", "CUDNN", "NCCL"] and "DIST_KVSTORE" in names
    assert len(names) == 32
    assert features.is_enabled("dist_kvstore") is True
    assert features.is_enabled("CUDA") == (mx.util.get_gpu_count() > 0)
    assert features.is_enabled("MKLDNN") is False
    with pytest.raises(RuntimeError, match="Feature 'NOPE' is unknown"):
        features.is_enabled("nope")
    assert repr(features["DIST_KVSTORE"]) == "✔ DIST_KVSTORE"
    assert [f.name for f in mx.runtime.feature_list()] == names


def test_top_level_and_internal_names_mxnet_scripts_use():
    with mx.np_shape(True):
        assert mx.is_np_shape()
    assert mx.use_np_shape is mx.util.use_np_shape and mx.rnd is mx.random
    assert mx.base.mx_real_t is __import__("numpy").float32
    assert mx.nd._internal._plus_scalar(mx.nd.ones(2), scalar=2).asnumpy().tolist() == [3, 3]
    assert mx.sym._internal._plus_scalar(mx.sym.var("x"), scalar=1).list_arguments() == ["x"]
    assert "np_shape" in dir(mx) and not hasattr(mx, "no_such_thing")


def test_amp_and_np_modules_import_and_refuse_when_used():
    from distnet.contrib.amp import amp
    import distnet.numpy as dnp

    with pytest.raises(MXNetError, match="mixed precision is not implemented"):
        amp.init()
    with pytest.raises(AttributeError, match="mx.np.ones: the NumPy front end"):
        dnp.ones((2,))
    assert not hasattr(dnp, "ndarray") and not hasattr(mx, "np")
