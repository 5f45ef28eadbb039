"""``mx.callback``: callbacks for ``Module.fit``/``score`` with MXNet's log lines.

Batch-end callbacks receive a ``BatchEndParam(epoch, nbatch, eval_metric, locals)``;
epoch-end callbacks receive ``(epoch, symbol, arg_params, aux_params)``.
"""

import json
import logging
import math
import os
import re
import time

# Named loggers only: the root logger is the user's to configure (an early library call
# through logging.info would install a root handler and swallow the user's basicConfig).
_LOG = logging.getLogger(__name__)

__all__ = [
    "module_checkpoint",
    "do_checkpoint",
    "log_train_metric",
    "Speedometer",
    "ProgressBar",
    "LogValidationMetricsCallback",
    "BatchEndParam",
    "latest_checkpoint",
    "BestCheckpoint",
    "TqdmProgress",
    "CSVLogger",
    "TensorBoardLogger",
    "log_combined_train_metric",
]


def __getattr__(name):
    # BatchEndParam lives in mx.model (one definition); imported on first use
    if name == "BatchEndParam":
        from .model import BatchEndParam

        return BatchEndParam
    if name in ("TqdmProgress", "CSVLogger", "TensorBoardLogger"):
        from . import _loggers

        return getattr(_loggers, name)
    raise AttributeError(f"module 'distnet.callback' has no attribute {name!r}")


def module_checkpoint(mod, prefix, period=1, save_optimizer_states=False):
    """Epoch-end callback: ``mod.save_checkpoint(prefix, epoch + 1, ...)`` every
    ``period`` epochs."""
    period = int(max(1, period))

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)

    return _callback


def do_checkpoint(prefix, period=1):
    """Epoch-end callback saving ``prefix-symbol.json`` and ``prefix-%04d.params`` (epoch
    number ``iter_no + 1``) every ``period`` epochs, with ``mx.model.save_checkpoint``."""
    period = int(max(1, period))

    def _callback(iter_no, sym, arg, aux):
        if (iter_no + 1) % period == 0:
            from .model import save_checkpoint

            save_checkpoint(prefix, iter_no + 1, sym, arg, aux)

    return _callback


def log_train_metric(period, auto_reset=False):
    """Batch-end callback logging ``Iter[e] Batch[n] Train-<name>=<value>`` every
    ``period`` batches (resetting the local metric afterwards when ``auto_reset``)."""

    def _callback(param):
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                _LOG.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch, name, value)
            if auto_reset:
                param.eval_metric.reset_local()

    return _callback


class Speedometer:
    """Batch-end callback logging throughput and the training metric every ``frequent``
    batches::

        Epoch[0] Batch [0-50]\tSpeed: 1234.56 samples/sec\taccuracy=0.812500

    With ``auto_reset`` (default) the metric's local statistics are reset after each line,
    so each line reports the last ``frequent`` batches; otherwise ``Batch [0-n]`` shows the
    running value since the epoch began. An epoch shorter than ``frequent`` batches (MXNet
    logged nothing for it) gets one ``Batch [0-n]`` line at its end, under ``Module.fit``
    or when the caller's ``locals`` hold ``end_of_batch=True``.
    """

    def __init__(self, batch_size, frequent=50, auto_reset=True):
        self.batch_size = batch_size
        self.frequent = frequent
        self.init = False
        self.tic = 0
        self.last_count = 0
        self.auto_reset = auto_reset
        self._logged = False  # a line was logged in this epoch

    def __call__(self, param):
        count = param.nbatch
        if self.last_count > count:
            self.init = False  # a new epoch began
        self.last_count = count
        if not self.init:
            self.init, self._logged = True, False
            self.tic = self._epoch_tic = time.time()
            return
        if count % self.frequent == 0:
            self._log(
                param,
                count - self.frequent if self.auto_reset else 0,
                count,
                self.frequent,
                self.tic,
            )
        elif not self._logged and count > 0 and param.locals and param.locals.get("end_of_batch"):
            self._log(param, 0, count, count, self._epoch_tic)

    def _log(self, param, first, count, batches, since):
        try:
            speed = batches * self.batch_size / (time.time() - since)
        except ZeroDivisionError:
            speed = float("inf")
        if param.eval_metric is not None:
            name_value = param.eval_metric.get_name_value()
            if self.auto_reset:
                param.eval_metric.reset_local()
            msg = "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(name_value)
            _LOG.info(msg, param.epoch, first, count, speed, *sum(name_value, ()))
        else:
            _LOG.info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec", param.epoch, count, speed)
        self._logged = True
        self.tic = time.time()


class ProgressBar:
    """Batch-end callback logging a text progress bar of ``length`` characters for
    ``total`` batches."""

    def __init__(self, total, length=80):
        self.bar_len = length
        self.total = total

    def __call__(self, param):
        count = param.nbatch
        filled_len = int(round(self.bar_len * count / float(self.total)))
        percents = math.ceil(100.0 * count / float(self.total))
        prog_bar = "=" * filled_len + "-" * (self.bar_len - filled_len)
        _LOG.info("[%s] %s%s\r", prog_bar, percents, "%")


class LogValidationMetricsCallback:
    """Eval-end callback logging ``Epoch[e] Validation-<name>=<value>`` per metric."""

    def __call__(self, param):
        if not param.eval_metric:
            return
        for name, value in param.eval_metric.get_name_value():
            _LOG.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)


def latest_checkpoint(prefix):
    """The epoch of the newest ``prefix-NNNN.params`` on disk, or None when there is none.

    ``mod.fit(..., begin_epoch=e)`` / ``--load-epoch e`` resume from it; the files of
    :class:`BestCheckpoint` (``prefix-best-NNNN.params``) are not counted.
    """
    folder, base = os.path.split(prefix)
    pattern = re.compile(re.escape(base) + r"-(\d{4,})\.params$")
    try:
        names = os.listdir(folder or ".")
    except FileNotFoundError:
        return None
    epochs = [int(m.group(1)) for m in map(pattern.match, names) if m]
    return max(epochs) if epochs else None


_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "entropy", "perplexity", "nll")


class BestCheckpoint:
    """Keep the checkpoint with the best validation metric as ``prefix-best-symbol.json``
    and ``prefix-best-%04d.params`` (the epoch number in the name, the previous best
    removed; ``prefix-best.json`` records the value, so a resumed run continues the
    comparison), loadable with ``mx.model.load_checkpoint(prefix + '-best', epoch)``.

    Use it as ``Module.fit(..., eval_end_callback=BestCheckpoint(prefix))`` or, in a Gluon
    loop, call ``update(epoch, [(name, value)], save)`` with ``save(prefix, epoch)`` writing
    the files (e.g. ``net.export``). MXNet had no such callback.

    Parameters
    ----------
    prefix : str
        Checkpoint prefix (``-best`` is appended).
    metric : str, optional
        Name of the metric to watch (default: the first one reported).
    mode : {'auto', 'max', 'min'}
        'auto' minimises metrics named like a loss or an error and maximises the rest.
    """

    def __init__(self, prefix, metric=None, mode="auto"):
        if mode not in ("auto", "max", "min"):
            from .base import MXNetError

            raise MXNetError(f"BestCheckpoint: mode must be 'auto', 'max' or 'min', got {mode!r}")
        self.prefix, self.metric, self.mode = prefix + "-best", metric, mode
        self.best, self.best_epoch = self._read_record()

    def _read_record(self):
        """(value, epoch) of the best so far from ``prefix-best.json``, so that a resumed
        run competes with the checkpoint it kept before."""
        try:
            with open(self.prefix + ".json") as f:
                record = json.load(f)
            return float(record["value"]), int(record["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            return None, None

    def _write_record(self, name):
        tmp = "%s.json.%d.tmp" % (self.prefix, os.getpid())
        with open(tmp, "w") as f:
            json.dump({"metric": name, "value": self.best, "epoch": self.best_epoch}, f)
        os.replace(tmp, self.prefix + ".json")

    def _better(self, name, value):
        lower = self.mode == "min" or (
            self.mode == "auto" and any(w in name.lower() for w in _LOWER_IS_BETTER)
        )
        return self.best is None or (value < self.best if lower else value > self.best)

    def update(self, epoch, name_value, save):
        """Save through ``save(prefix, epoch + 1)`` when the watched value improved;
        returns whether it did."""
        name_value = list(name_value)
        chosen = [nv for nv in name_value if self.metric in (None, nv[0])][:1]
        if not chosen:
            from .base import MXNetError

            raise MXNetError(
                f"BestCheckpoint: no metric named {self.metric!r} among "
                f"{[n for n, _ in name_value]}"
            )
        name, value = chosen[0]
        if not self._better(name, value):
            return False
        old = self.best_epoch
        save(self.prefix, epoch + 1)
        self.best, self.best_epoch = value, epoch + 1
        self._write_record(name)
        if old is not None and old != epoch + 1:
            try:
                os.remove("%s-%04d.params" % (self.prefix, old))
            except FileNotFoundError:
                pass
        _LOG.info(
            'Saved best checkpoint (Validation-%s=%f, epoch %d) to "%s-%04d.params"',
            name,
            value,
            epoch,
            self.prefix,
            epoch + 1,
        )
        return True

    def __call__(self, param):
        """Eval-end callback of ``Module.fit``: the module is the scorer (``self``)."""
        module = param.locals["self"]
        self.update(
            param.epoch,
            param.eval_metric.get_name_value(),
            lambda prefix, epoch: module.save_checkpoint(prefix, epoch),
        )


def log_combined_train_metric(kvstore):
    """Batch-end callback for ``Module.fit`` in a distributed job: at each epoch's last
    batch, log the training metric over all workers (``mx.metric.allreduce_metric``)::

        Epoch[3] Train-accuracy=0.951667 (all 4 workers)

    Every worker must pass it (a collective call), and all must run as many batches.
    """

    def _callback(param):
        if param.eval_metric is None or not (param.locals or {}).get("end_of_batch"):
            return
        from .metric import allreduce_metric

        for name, value in allreduce_metric(param.eval_metric, kvstore):
            _LOG.info(
                "Epoch[%d] Train-%s=%f (all %d workers)",
                param.epoch,
                name,
                value,
                kvstore.num_workers,
            )

    return _callback
