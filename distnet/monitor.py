"""``mx.mon.Monitor``: statistics of every array an executor computes, every N batches.

Install it on executors (``Module.install_monitor``, or ``fit(monitor=...)``); between
``tic()`` and ``toc()`` of an active step it collects ``stat_func`` of each node output
(``fc1_output``), each gradient backward computes (``fc1_backward_output0``...) and, at
``toc``, each argument of the executors (``fc1_weight``, ``data``), as MXNet's Monitor.
"""

import logging
import math
import re

from .ndarray import NDArray

__all__ = ["Monitor"]


def _default_stat(x):
    """MXNet's default statistic: ``norm(x) / sqrt(x.size)``."""
    return x.norm() / math.sqrt(x.size)


class Monitor:
    """Collect statistics of an executor's arrays every ``interval`` batches.

    Parameters
    ----------
    interval : int
        Collect on every ``interval``-th ``tic()``.
    stat_func : callable, optional
        ``NDArray -> NDArray`` (or a list of them); default ``norm(x) / sqrt(x.size)``.
    pattern : str
        Regular expression; only arrays whose name matches from the start are collected.
    sort : bool
        Sort the collected entries by name in ``toc``.
    monitor_all : bool
        Also collect the inputs of every node (``fc1_data``...), not only its outputs.
    """

    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        self.interval = int(interval)
        self.stat_func = stat_func or _default_stat
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all
        self.activated = False
        self.queue = []
        self.step = 0
        self.exes = []

    def stat_helper(self, name, array):
        """The executors' callback: record ``stat_func(array)`` while active."""
        if self.activated and self.re_prog.match(name):
            self.queue.append((self.step, name, self.stat_func(array)))

    def install(self, exe):
        """Watch executor ``exe``."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self):
        """Start a batch: collection is active if this step is a multiple of interval."""
        if self.step % self.interval == 0:
            for exe in self.exes:
                for array in exe.arg_arrays:
                    array.wait_to_read()
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """End the batch: ``[(step, name, 'value\\t...')]`` of what was collected (and of
        the executors' arguments); empty if this step was not active."""
        if not self.activated:
            return []
        for exe in self.exes:
            names = exe._symbol.list_arguments()
            for name, array in zip(names, exe.arg_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda entry: entry[1])
        res = [(step, name, _format(stats)) for step, name, stats in self.queue]
        self.queue = []
        return res

    def toc_print(self):
        """``toc()`` and log each entry as MXNet: ``Batch:       1 fc1_output  0.5``."""
        for n, k, v in self.toc():
            logging.info("Batch: {:7d} {:30s} {:s}".format(n, k, v))


def _format(stats):
    """A statistic (NDArray or list of them) as MXNet's text: each value then a tab."""
    if isinstance(stats, NDArray):
        stats = [stats]
    out = ""
    for v in stats:
        out += (str(v.asscalar()) if v.shape == (1,) else str(v.asnumpy())) + "\t"
    return out
