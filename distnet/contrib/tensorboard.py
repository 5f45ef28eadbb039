"""``mx.contrib.tensorboard``: MXNet's ``LogMetricsCallback``, writing through tensorboardX
(MXNet used mxboard, which is no longer maintained): ``pip install 'distnet-mx[tensorboard]'``.
"""

from .._loggers import _require

__all__ = ["LogMetricsCallback"]


class LogMetricsCallback:
    """Log a metric's values as TensorBoard scalars at every call, with the epoch as step
    (MXNet's callback: use it as ``batch_end_callback`` and/or ``eval_end_callback``,
    one logging folder for each).

    Parameters
    ----------
    logging_dir : str
        Folder of the event files (``tensorboard --logdir=...``).
    prefix : str, optional
        Scalars are named ``<prefix>-<metric>`` (plain ``<metric>`` without it).
    """

    def __init__(self, logging_dir, prefix=None):
        self.prefix = prefix
        tbx = _require("tensorboardX", "tensorboard", "LogMetricsCallback")
        self.summary_writer = tbx.SummaryWriter(logging_dir)

    def __call__(self, param):
        """Write ``param.eval_metric``'s values at step ``param.epoch``."""
        if param.eval_metric is None:
            return
        for name, value in param.eval_metric.get_name_value():
            if self.prefix is not None:
                name = "%s-%s" % (self.prefix, name)
            self.summary_writer.add_scalar(name, value, global_step=param.epoch)
        self.summary_writer.flush()
