"""distnet's settings: every environment variable the ``distnet`` package reads, declared
once with its default and what it does.

``get(name)`` parses a variable by its declaration; nothing else in ``distnet/`` reads
``os.environ`` for a setting. Values are read when the setting is used (creating a
Trainer, a DataLoader, the first layer call), never at import, so a script or test may
set a variable any time before that. The framework-free packages keep their own
settings modules, because they must not import distnet: ``kvstore/ps/config.py`` (the
job's ``DMLC_*``/``DISTNET_KVSTORE_*`` variables) and ``launcher/config.py``. The README's
table of environment variables is checked against all three by tests/core/test_config.py.
"""

import os
from collections import namedtuple

from .base import MXNetError

__all__ = ["Setting", "SETTINGS", "get", "raw", "readme_rows", "job_rank", "in_job"]

Setting = namedtuple("Setting", ["name", "kind", "default", "shown", "doc"])
Setting.__doc__ = """One environment variable: its name, kind ('bool', 'int' or 'str'), default
(the parsed value used when it is unset or empty), the default as the README shows it, and
what it does (the README's text)."""

SETTINGS = {
    s.name: s
    for s in (
        Setting(
            "DISTNET_GRAD_OVERLAP",
            "bool",
            None,
            "auto",
            "push each gradient to the servers as soon as backward has produced it, while "
            "the rest of backward runs. Unset: on for Module (nothing can change a gradient "
            "between its backward and update), off for the Gluon Trainer, whose loops may "
            "edit gradients before `step()` (`clip_global_norm`); `1` on for both (only if "
            "your loop never edits gradients between `backward()` and `step()`), `0` off",
        ),
        Setting(
            "MXNET_UPDATE_ON_KVSTORE",
            "bool",
            True,
            "1",
            "`0` runs the optimizer on every worker instead of on the servers",
        ),
        Setting(
            "MXNET_ELIMINATE_COMMON_EXPR",
            "bool",
            True,
            "1",
            "binding a Symbol merges nodes that compute the same thing (same operator, "
            "attributes and inputs; never random or stateful ones), as MXNet; `0` runs "
            "the graph as written",
        ),
        Setting(
            "MXNET_OPTIMIZER_AGGREGATION_SIZE",
            "int",
            4,
            "4",
            "how many parameters SGD updates in one fused call",
        ),
        Setting(
            "DISTNET_KEEP_FREED_MEMORY",
            "bool",
            True,
            "1",
            "the first fully-connected or convolution product tunes glibc's malloc once "
            "(logged) so that freed arrays are reused instead of handed back to the OS; "
            "`0` leaves malloc alone",
        ),
        Setting(
            "DISTNET_DATALOADER_START_METHOD",
            "str",
            "",
            "`fork` where available",
            "how DataLoader starts its worker processes (`fork`, `spawn`, `forkserver`)",
        ),
        Setting(
            "DISTNET_HOME", "str", "", "`~/.distnet`", "where data sets live (`datasets/<name>`)"
        ),
        Setting(
            "DISTNET_GLUON_REPO",
            "str",
            "",
            "`MXNET_GLUON_REPO`",
            "where missing data set and model files are downloaded from",
        ),
        Setting(
            "MXNET_GLUON_REPO",
            "str",
            "",
            "MXNet's mirror",
            "where missing data set files are downloaded from",
        ),
        Setting(
            "DISTNET_BLAS_THREADS",
            "str",
            "auto",
            "`auto`",
            "`auto`: matrix products use the BLAS pool (the cores this process may use, "
            "never more than `OMP_NUM_THREADS`/`OPENBLAS_NUM_THREADS`/`MKL_NUM_THREADS` when "
            "set) while other processes leave those cores idle (`/proc/stat`, read at most "
            "every 0.2 s; one busy reading drops the pool, 0.6 s of quiet restores it); "
            "while cores are busy, products below `DISTNET_BLAS_SMALL_MACS` multiply-adds run "
            "on one thread and larger ones on the idle cores; a number: at most that many; "
            "`off`: leave numpy's BLAS as it loaded. Applied on the first heavy operator, "
            "through `threadpoolctl`",
        ),
        Setting(
            "DISTNET_BLAS_SMALL_MACS",
            "str",
            "",
            "67108864",
            "while other processes keep some cores busy, products with fewer multiply-adds "
            "(every MLP layer up to batch 512, per-sample convolution products) run "
            "single-threaded",
        ),
        Setting(
            "DISTNET_IMAGE_BACKEND",
            "str",
            "",
            "OpenCV if installed, else Pillow",
            "the image codec of `mx.image`, `ImageRecordIter` and `recordio.pack_img`: "
            "`cv2` or `pil`",
        ),
        Setting(
            "DISTNET_PROGRESS",
            "str",
            "",
            "auto",
            "the progress bar of rank 0 (`mx.callback.TqdmProgress`, `train_mnist.py`): shown "
            "when stderr is a terminal; `distnet-launch` sets `tty` for rank 0 when its own "
            "stderr is one and passes the bar's redraws through; `0` never, `1` always",
        ),
        Setting(
            "MXNET_STORAGE_FALLBACK_LOG_VERBOSE",
            "bool",
            True,
            "1",
            "an operator without a sparse rule runs on dense copies of its sparse inputs "
            "and logs MXNet's storage-fallback message once per operator; `0` silences it",
        ),
        Setting(
            "MXNET_HOME",
            "str",
            "",
            "`~/.mxnet`",
            "MXNet's folder for downloads (`mx.base.data_dir()`: model_zoo `models/`, `datasets/`)",
        ),
    )
}

# The variables a launcher or MPI sets for a job's processes (not user settings).
_RANK_VARS = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "DMLC_WORKER_ID")
_SIZE_VARS = ("DMLC_NUM_WORKER", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


def job_rank():
    """This worker's rank in a distnet-launch, MXNet launcher or MPI job, else None."""
    for var in _RANK_VARS:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return None


def in_job():
    """Whether this process is a worker of a multi-process job (launcher or mpiexec)."""
    if "DMLC_ROLE" in os.environ:
        return True
    sizes = (os.environ.get(var, "1") for var in _SIZE_VARS)
    return any(size.isdigit() and int(size) > 1 for size in sizes)


def readme_rows():
    """The README's table rows for these settings (tests/core/test_config.py checks that
    the README holds them; ``python -m distnet.config`` prints them)."""
    return [f"| `{s.name}` | {s.shown} | {s.doc} |" for s in SETTINGS.values()]


def _parse(setting, raw):
    if setting.kind == "str":
        return raw
    try:
        number = int(raw)
    except ValueError:
        raise MXNetError(
            f"environment variable {setting.name}={raw!r}: expected an integer ({setting.doc})"
        ) from None
    return number != 0 if setting.kind == "bool" else number


def raw(names):
    """``{name: raw string}`` of environment variables, for parsers with their own rules
    (the BLAS thread policy reads its settings and the OMP/OPENBLAS/MKL caps through it)."""
    return {name: os.environ.get(name, "") for name in names}


def get(name):
    """The value of setting ``name`` from the environment, or its default when unset."""
    setting = SETTINGS.get(name)
    if setting is None:
        raise MXNetError(f"unknown distnet setting {name!r}; declared: {sorted(SETTINGS)}")
    raw = os.environ.get(name, "")
    if raw == "":
        return setting.default
    return _parse(setting, raw)


if __name__ == "__main__":
    print("\n".join(readme_rows()))
