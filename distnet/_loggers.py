"""Metric writers and the progress bar of ``mx.callback``: ``CSVLogger``,
``TensorBoardLogger`` and ``TqdmProgress``.

Each writer is a callback for ``Module.fit`` (``batch_end_callback`` every ``frequent``
batches, ``eval_end_callback`` once per validation) and has ``log(epoch, name_value)``
for Gluon loops. tensorboardX and tqdm are optional extras (``distnet-mx[tensorboard]``,
``distnet-mx[progress]``); a writer needing one that is missing says which to install.
"""

import csv
import logging
import os
import sys
import time

from .base import MXNetError

_LOG = logging.getLogger("distnet.callback")

CSV_FIELDS = ("time", "epoch", "batch", "phase", "metric", "value")


def _require(module, extra, what):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise MXNetError(
            f"{what} needs the '{module}' package: pip install 'distnet-mx[{extra}]'"
        ) from None


class _MetricWriter:
    """Shared callback protocol: ``__call__(BatchEndParam)`` writes the metric's values
    since the epoch (or the validation) began: on every call when ``frequent`` is None
    (an ``eval_end_callback``), else after every ``frequent``-th batch (a
    ``batch_end_callback``, batch-level rows)."""

    def __init__(self, phase, frequent):
        self.phase, self.frequent = phase, frequent

    def __call__(self, param):
        if param.eval_metric is None:
            return
        if not self.frequent:
            self.log(param.epoch, param.eval_metric.get_global_name_value())
        elif (param.nbatch + 1) % self.frequent == 0:
            self.log(param.epoch, param.eval_metric.get_global_name_value(), param.nbatch)

    def log(self, epoch, name_value, nbatch=None, phase=None):
        """Write ``(name, value)`` pairs of ``epoch`` (and batch ``nbatch``, None for
        epoch-level values) under ``phase`` (default: this writer's)."""
        self._write(
            phase or self.phase, epoch, nbatch, [(name, float(value)) for name, value in name_value]
        )
        self.flush()

    def flush(self):
        """Make what was written visible to readers."""


class CSVLogger(_MetricWriter):
    """Append metric values to a CSV file, one row per value: ``time`` (Unix seconds),
    ``epoch``, ``batch`` (empty for an epoch-level value), ``phase`` (e.g. ``train``,
    ``validation``), ``metric``, ``value``. Several loggers (train and validation) may
    share one file; ``scripts/plot_metrics.py`` draws it.

    Parameters
    ----------
    filename : str
        The CSV file (created with a header; appended to when it exists).
    phase : str
        Label of the rows (default 'train').
    frequent : int, optional
        As a batch-end callback, write every this many batches.
    """

    def __init__(self, filename, phase="train", frequent=None):
        super().__init__(phase, frequent)
        folder = os.path.dirname(os.path.abspath(filename))
        os.makedirs(folder, exist_ok=True)
        new = not os.path.exists(filename) or os.path.getsize(filename) == 0
        self.filename = filename
        self._file = open(filename, "a", newline="")
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(CSV_FIELDS)
            self._file.flush()

    def _write(self, phase, epoch, nbatch, pairs):
        now, batch = "%.3f" % time.time(), "" if nbatch is None else nbatch
        self._csv.writerows((now, epoch, batch, phase, name, repr(value)) for name, value in pairs)

    def flush(self):
        self._file.flush()

    def close(self):
        """Close the file."""
        self._file.close()


class TensorBoardLogger(_MetricWriter):
    """Write metric values as TensorBoard scalars (``<phase>/<metric>``) through
    tensorboardX. The step is the epoch for epoch-level values and
    ``epoch * batches_per_epoch + batch`` for batch-level ones when
    ``batches_per_epoch`` is given (else the batch count seen so far).

    Parameters
    ----------
    logdir : str
        Folder of the event files (``tensorboard --logdir`` reads it).
    phase : str
        Tag prefix (default 'train').
    frequent : int, optional
        As a batch-end callback, write every this many batches.
    """

    def __init__(self, logdir, phase="train", frequent=None, batches_per_epoch=None, writer=None):
        """``writer``: an existing tensorboardX ``SummaryWriter`` to share (then
        ``logdir`` is unused)."""
        super().__init__(phase, frequent)
        if writer is None:
            tbx = _require("tensorboardX", "tensorboard", "TensorBoardLogger")
            writer = tbx.SummaryWriter(logdir)
        self.writer, self.batches_per_epoch = writer, batches_per_epoch
        self._seen = 0

    def _step(self, epoch, nbatch):
        if nbatch is None:
            return epoch
        if self.batches_per_epoch:
            return epoch * self.batches_per_epoch + nbatch
        self._seen += 1
        return self._seen

    def _write(self, phase, epoch, nbatch, pairs):
        step = self._step(epoch, nbatch)
        for name, value in pairs:
            self.writer.add_scalar(f"{phase}/{name}", value, step)

    def flush(self):
        self.writer.flush()

    def close(self):
        """Flush and close the event file."""
        self.writer.close()


def _rank():
    from .config import job_rank

    return job_rank() or 0


def progress_wanted(stream=None):
    """Whether a progress bar should be drawn on ``stream`` (stderr): ``DISTNET_PROGRESS``
    `0`/`1` decide; else when it is a terminal, or the launcher says rank 0's stderr ends
    on one (`tty`)."""
    from .config import get

    setting = get("DISTNET_PROGRESS").strip().lower()
    if setting in ("0", "1"):
        return setting == "1"
    if setting == "tty":
        return True
    isatty = getattr(stream or sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class TqdmProgress:
    """A tqdm progress bar of each epoch's batches, with the running training metric.

    Shown only on rank 0 (``rank`` defaults to the launcher's ``RANK``) and only when
    ``stream`` (stderr) is a terminal; otherwise every call does nothing, so the callback
    can be passed unconditionally. Use ``__call__`` as ``batch_end_callback`` and
    ``epoch_end`` as ``epoch_end_callback`` (or call them from a Gluon loop); log lines
    go through :meth:`handler` so that they do not break the bar.

    Parameters
    ----------
    total : int, optional
        Batches per epoch (the bar then shows a percentage and time left).
    num_epoch : int, optional
        Shown as ``Epoch e/num_epoch``.
    **tqdm_kwargs
        Passed to ``tqdm.tqdm`` (e.g. ``mininterval``).
    """

    def __init__(self, total=None, num_epoch=None, rank=None, stream=None, **tqdm_kwargs):
        self.stream = stream or sys.stderr
        self.rank = _rank() if rank is None else rank
        self.enabled = self.rank == 0 and progress_wanted(self.stream)
        self.total, self.num_epoch = total, num_epoch
        self._bar, self._epoch, self._kwargs = None, None, tqdm_kwargs
        if self.enabled:
            self._tqdm = _require("tqdm", "progress", "TqdmProgress").tqdm

    def __call__(self, param):
        """Batch-end callback: advance the bar, show the running metric."""
        if not self.enabled:
            return
        if self._bar is None or self._epoch != param.epoch:
            self.epoch_end()
            self._epoch = param.epoch
            of = "/%d" % self.num_epoch if self.num_epoch else ""
            self._bar = self._tqdm(
                total=self.total,
                file=self.stream,
                leave=False,
                desc="Epoch %d%s" % (param.epoch + 1, of),
                unit="batch",
                **self._kwargs,
            )
        self._bar.update(1)
        if param.eval_metric is not None:
            self._bar.set_postfix_str(
                "  ".join("%s=%.4f" % nv for nv in param.eval_metric.get_global_name_value()),
                refresh=False,
            )

    def epoch_end(self, *unused):
        """Epoch-end callback: remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def handler(self, fmt=None):
        """A logging handler writing through ``tqdm.write`` (above the bar)."""
        progress = self

        class _Handler(logging.StreamHandler):
            def emit(self, record):
                if progress._bar is None:
                    return super().emit(record)
                try:
                    progress._tqdm.write(self.format(record), file=self.stream)
                except Exception:  # noqa: BLE001 -- logging must never raise
                    self.handleError(record)

        handler = _Handler(self.stream)
        if fmt:
            handler.setFormatter(logging.Formatter(fmt))
        return handler
