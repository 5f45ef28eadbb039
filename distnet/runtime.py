"""``mx.runtime``: which features this build has (MXNet's ``Features``).

MXNet reported the options its C++ library was compiled with. distnet reports what this
process can actually use: CUDA and NCCL when CuPy finds a GPU, the BLAS numpy links, the
distributed kvstore (always), int64 tensor sizes (numpy indexes with int64). Features of
MXNet's C++ build that distnet has no counterpart for (cuDNN, TensorRT, MKL-DNN, TVM, the
CPU instruction sets MXNet was compiled for) are listed and disabled, so
``Features().is_enabled('MKLDNN')`` answers False instead of raising.
"""

import collections

__all__ = ["Feature", "feature_list", "Features"]

_NAMES = (
    "CUDA",
    "CUDNN",
    "NCCL",
    "CUDA_RTC",
    "TENSORRT",
    "CPU_SSE",
    "CPU_SSE2",
    "CPU_SSE3",
    "CPU_SSE4_1",
    "CPU_SSE4_2",
    "CPU_SSE4A",
    "CPU_AVX",
    "CPU_AVX2",
    "OPENMP",
    "SSE",
    "F16C",
    "JEMALLOC",
    "BLAS_OPEN",
    "BLAS_ATLAS",
    "BLAS_MKL",
    "BLAS_APPLE",
    "LAPACK",
    "MKLDNN",
    "OPENCV",
    "CAFFE",
    "PROFILER",
    "DIST_KVSTORE",
    "CXX14",
    "INT64_TENSOR_SIZE",
    "SIGNAL_HANDLER",
    "DEBUG",
    "TVM_OP",
)


class Feature:
    """One feature: ``name`` and whether it is ``enabled``."""

    __slots__ = ("name", "enabled")

    def __init__(self, name, enabled):
        self.name = name
        self.enabled = bool(enabled)

    def __repr__(self):
        return f"{'✔' if self.enabled else '✖'} {self.name}"


def _blas_vendor():
    import numpy as np

    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {}).get("name", "")
    except (TypeError, AttributeError):  # numpy < 1.26 has no mode=
        blas = ""
    return str(blas).lower()


def _enabled():
    from .context import num_gpus
    from .backend import _cupy

    gpus = num_gpus() > 0
    blas = _blas_vendor()
    nccl = False
    if gpus and _cupy is not None:
        try:
            from cupy.cuda import nccl as _nccl  # noqa: F401 (availability probe)

            nccl = True
        except ImportError:
            nccl = False
    return {
        "CUDA": gpus,
        "NCCL": nccl,
        "BLAS_OPEN": "openblas" in blas,
        "BLAS_MKL": "mkl" in blas,
        "BLAS_APPLE": "accelerate" in blas,
        "LAPACK": True,
        "DIST_KVSTORE": True,
        "PROFILER": _has_profiler(),
        "CXX14": True,
        "INT64_TENSOR_SIZE": True,
    }


def _has_profiler():
    import importlib.util

    return importlib.util.find_spec(__package__ + ".profiler") is not None


def feature_list():
    """Every feature MXNet 1.9.1 lists, as ``Feature`` objects, in MXNet's order."""
    enabled = _enabled()
    return [Feature(name, enabled.get(name, False)) for name in _NAMES]


class Features(collections.OrderedDict):
    """Feature name -> ``Feature``; ``is_enabled(name)`` raises RuntimeError for names MXNet
    does not know either."""

    def __init__(self):
        super().__init__((f.name, f) for f in feature_list())

    def __repr__(self):
        return str(list(self.values()))

    def is_enabled(self, feature_name):
        """Whether ``feature_name`` (case-insensitive) is available in this process."""
        name = feature_name.upper()
        if name not in self:
            raise RuntimeError(
                f"Feature '{name}' is unknown, known features are: {list(self.keys())}"
            )
        return self[name].enabled
