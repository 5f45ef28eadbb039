"""BaseModule: the Module API every module implements (MXNet's mx.mod.BaseModule).

The high-level loops live here: ``fit`` (with MXNet's log lines ``Epoch[4]
Train-accuracy=0.250000``, ``Epoch[4] Time cost=0.076``, ``Epoch[4]
Validation-accuracy=0.078125``), ``score``, ``predict`` and ``iter_predict``; subclasses
provide bind/forward/backward/update and the rest.
"""

import logging
import time
import warnings

import numpy as np

from ..base import MXNetError, _as_list
from ..initializer import Uniform
from ..io import DataBatch, DataIter
from ..model import BatchEndParam, _params_dict, split_params
from .. import metric as _metric
from .. import ndarray as nd
from ._util import concat_arrays

# MXNet's default was the logging module (the root logger); a named logger propagates
# there without configuring it.
_MODULE_LOG = logging.getLogger("distnet.module")

__all__ = ["BaseModule"]


def _call_each(callbacks, *args):
    for callback in _as_list(callbacks):
        callback(*args)


class BaseModule:
    """The base class of modules: a computation machine with states *bound*,
    *params_initialized* and *optimizer_initialized*.

    Parameters
    ----------
    logger : Logger
        Where fit logs (default: the ``distnet.module`` logger, which propagates to the
        root logger; MXNet passed the ``logging`` module itself).
    """

    def __init__(self, logger=_MODULE_LOG):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    def _require(self, what, binded=True, params=True, optimizer=False):
        """Raise a clear MXNetError when the module is not ready for `what`."""
        if binded and not self.binded:
            raise MXNetError(f"{what}: the module is not bound; call bind() first")
        if params and not self.params_initialized:
            raise MXNetError(
                f"{what}: parameters are not initialized; call init_params() or set_params() first"
            )
        if optimizer and not self.optimizer_initialized:
            raise MXNetError(f"{what}: no optimizer; call init_optimizer() first")

    # ---- high-level API ----
    def forward_backward(self, data_batch):
        """forward (training mode) then backward."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def score(
        self,
        eval_data,
        eval_metric,
        num_batch=None,
        batch_end_callback=None,
        score_end_callback=None,
        reset=True,
        epoch=0,
        sparse_row_id_fn=None,
    ):
        """Run prediction on `eval_data` and return ``eval_metric``'s (name, value) pairs.

        Parameters
        ----------
        eval_data : DataIter
        eval_metric : str or EvalMetric
        num_batch : int, optional
            Stop after this many batches.
        batch_end_callback, score_end_callback : callable or list
            Called with a BatchEndParam after every batch / at the end.
        reset : bool
            Reset `eval_data` first.
        epoch : int
            Reported to the callbacks.
        """
        self._require("score")
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            if isinstance(eval_batch, list):
                self.update_metric(eval_metric, [eb.label for eb in eval_batch], pre_sliced=True)
            else:
                self.update_metric(eval_metric, eval_batch.label)
            if batch_end_callback is not None:
                _call_each(
                    batch_end_callback,
                    BatchEndParam(
                        epoch=epoch, nbatch=nbatch, eval_metric=eval_metric, locals=locals()
                    ),
                )
            actual_num_batch += 1
        if score_end_callback:
            _call_each(
                score_end_callback,
                BatchEndParam(
                    epoch=epoch, nbatch=actual_num_batch, eval_metric=eval_metric, locals=locals()
                ),
            )
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yield (outputs, nbatch, batch) per batch; padded rows are cut off the outputs."""
        self._require("iter_predict")
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0 : out.shape[0] - pad] for out in self.get_outputs()]
            yield outputs, nbatch, eval_batch

    def predict(
        self,
        eval_data,
        num_batch=None,
        merge_batches=True,
        reset=True,
        always_output_list=False,
        sparse_row_id_fn=None,
    ):
        """Run prediction and collect the outputs.

        Parameters
        ----------
        eval_data : DataIter or NDArray or numpy.ndarray
            An array is run as one batch; its first output is returned.
        num_batch : int, optional
            Stop after this many batches.
        merge_batches : bool
            Concatenate the batches' outputs (padding removed).
        reset : bool
            Reset `eval_data` first.
        always_output_list : bool
            Return a list even when the network has one output.

        Returns
        -------
        NDArray or list of NDArray, or a list of per-batch lists when not merging.
        """
        self._require("predict")
        if isinstance(eval_data, (nd.NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = nd.array(eval_data)
            self.forward(DataBatch([eval_data]))
            return self.get_outputs()[0]
        if not isinstance(eval_data, DataIter):
            raise MXNetError(
                f"eval_data must be of type NDArray or DataIter, got {type(eval_data).__name__}"
            )
        output_list = [
            [out.copy() for out in outs]
            for outs, _, _ in self.iter_predict(eval_data, num_batch, reset, sparse_row_id_fn)
        ]
        if not output_list:
            return output_list
        if not merge_batches:
            return output_list
        num_outputs = len(output_list[0])
        if any(len(out) != num_outputs for out in output_list):
            raise MXNetError(
                "Cannot merge batches, as num of outputs is not the same in "
                "mini-batches. Maybe bucketing is used?"
            )
        merged = [concat_arrays([out[i] for out in output_list], 0) for i in range(num_outputs)]
        if num_outputs == 1 and not always_output_list:
            return merged[0]
        return merged

    def fit(
        self,
        train_data,
        eval_data=None,
        eval_metric="acc",
        epoch_end_callback=None,
        batch_end_callback=None,
        kvstore="local",
        optimizer="sgd",
        optimizer_params=(("learning_rate", 0.01),),
        eval_end_callback=None,
        eval_batch_end_callback=None,
        initializer=Uniform(0.01),
        arg_params=None,
        aux_params=None,
        allow_missing=False,
        force_rebind=False,
        force_init=False,
        begin_epoch=0,
        num_epoch=None,
        validation_metric=None,
        monitor=None,
        sparse_row_id_fn=None,
    ):
        """Train the module: bind, init_params, init_optimizer, then epochs
        ``begin_epoch .. num_epoch-1`` over `train_data`, logging as MXNet does.

        Parameters
        ----------
        train_data : DataIter
        eval_data : DataIter, optional
            Scored with `validation_metric` after every epoch.
        eval_metric : str or EvalMetric
            Training metric (default 'acc').
        epoch_end_callback : callable or list
            ``callback(epoch, symbol, arg_params, aux_params)``, e.g. do_checkpoint.
        batch_end_callback : callable or list
            Called with a BatchEndParam after every batch, e.g. Speedometer.
        kvstore : str or KVStore
            'local', 'device', 'dist_sync', ... or a KVStore.
        optimizer : str or Optimizer
        optimizer_params : dict or pairs
        eval_end_callback, eval_batch_end_callback : callable or list
            Passed to score() for eval_data.
        initializer : Initializer
            Used for parameters not given in arg_params/aux_params.
        arg_params, aux_params : dict, optional
            Starting parameters (e.g. from load_checkpoint).
        allow_missing, force_rebind, force_init : bool
        begin_epoch : int
            First epoch number (resume from a checkpoint).
        num_epoch : int
            End epoch (exclusive); required.
        validation_metric : str or EvalMetric, optional
            Defaults to eval_metric.
        monitor : Monitor, optional
        """
        if num_epoch is None:
            raise MXNetError("fit: please specify number of epochs (num_epoch)")
        self.bind(
            data_shapes=train_data.provide_data,
            label_shapes=train_data.provide_label,
            for_training=True,
            force_rebind=force_rebind,
        )
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(
            initializer=initializer,
            arg_params=arg_params,
            aux_params=aux_params,
            allow_missing=allow_missing,
            force_init=force_init,
        )
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer, optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            name_vals = self._fit_epoch(
                train_data, epoch, eval_metric, batch_end_callback, monitor, sparse_row_id_fn
            )
            for name, val in name_vals:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
            # sync the parameters (averaged over devices) back into the module
            arg_params, aux_params = self.get_params()
            self.set_params(arg_params, aux_params)
            if epoch_end_callback is not None:
                _call_each(epoch_end_callback, epoch, self.symbol, arg_params, aux_params)
            if eval_data is not None:
                res = self.score(
                    eval_data,
                    validation_metric,
                    score_end_callback=eval_end_callback,
                    batch_end_callback=eval_batch_end_callback,
                    epoch=epoch,
                )
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    def _fit_epoch(
        self, train_data, epoch, eval_metric, batch_end_callback, monitor, sparse_row_id_fn
    ):
        """One pass over train_data; returns the metric's global (name, value) pairs.

        The next batch is fetched (and prepared) before the callbacks of the current one
        run, as in MXNet, so a callback sees the end of the epoch.
        """
        data_iter = iter(train_data)
        try:
            next_batch = next(data_iter)
        except StopIteration:
            raise MXNetError(
                f"fit: train_data gave no batch in epoch {epoch} (was it reset?)"
            ) from None
        nbatch, end_of_batch, name_vals = 0, False, []
        forward_backward, update, update_metric = (
            self.forward_backward,
            self.update,
            self.update_metric,
        )
        while not end_of_batch:
            data_batch = next_batch
            if monitor is not None:
                monitor.tic()
            forward_backward(data_batch)
            update()
            if isinstance(data_batch, list):
                update_metric(eval_metric, [db.label for db in data_batch], pre_sliced=True)
            else:
                update_metric(eval_metric, data_batch.label)
            try:
                next_batch = next(data_iter)
                self.prepare(next_batch, sparse_row_id_fn=sparse_row_id_fn)
            except StopIteration:
                end_of_batch = True
            if monitor is not None:
                monitor.toc_print()
            if end_of_batch:
                name_vals = eval_metric.get_global_name_value()
            if batch_end_callback is not None:
                _call_each(
                    batch_end_callback,
                    BatchEndParam(
                        epoch=epoch, nbatch=nbatch, eval_metric=eval_metric, locals=locals()
                    ),
                )
            nbatch += 1
        return name_vals

    # ---- symbol information ----
    @property
    def data_names(self):
        """Names of the data inputs."""
        raise NotImplementedError()

    @property
    def output_names(self):
        """Names of the outputs."""
        raise NotImplementedError()

    @property
    def data_shapes(self):
        """DataDescs of the data inputs (bound modules)."""
        raise NotImplementedError()

    @property
    def label_shapes(self):
        """DataDescs of the labels (bound modules); None when no labels are bound."""
        raise NotImplementedError()

    @property
    def output_shapes(self):
        """(name, shape) pairs of the outputs (bound modules)."""
        raise NotImplementedError()

    @property
    def symbol(self):
        """The module's Symbol."""
        return self._symbol

    # ---- parameters ----
    def get_params(self):
        """(arg_params, aux_params): copies of the parameters, on the CPU."""
        raise NotImplementedError()

    def init_params(
        self,
        initializer=Uniform(0.01),
        arg_params=None,
        aux_params=None,
        allow_missing=False,
        force_init=False,
        allow_extra=False,
    ):
        """Initialize parameters and auxiliary states."""
        raise NotImplementedError()

    def set_params(
        self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False
    ):
        """Assign parameter and aux state values.

        Parameters
        ----------
        arg_params, aux_params : dict of str to NDArray
        allow_missing : bool
            Allow names of the module missing from the dicts (they keep their values).
        force_init : bool
            Assign even when parameters are already initialized.
        allow_extra : bool
            Allow names in the dicts that the module does not have (they are ignored);
            otherwise they raise MXNetError.
        """
        self.init_params(
            initializer=None,
            arg_params=arg_params,
            aux_params=aux_params,
            allow_missing=allow_missing,
            force_init=force_init,
            allow_extra=allow_extra,
        )

    def _set_params_done(self, arg_params, aux_params, allow_missing, force_init, allow_extra):
        """The start of Module's and BucketingModule's ``set_params``, as MXNet's: without
        ``allow_missing`` it is ``init_params``; with it, already initialized parameters
        are left alone unless ``force_init`` (with MXNet's warning). True when that was
        all there was to do."""
        if not allow_missing:
            self.init_params(
                initializer=None,
                arg_params=arg_params,
                aux_params=aux_params,
                allow_missing=allow_missing,
                force_init=force_init,
                allow_extra=allow_extra,
            )
            return True
        if self.params_initialized and not force_init:
            warnings.warn(
                "Parameters already initialized and force_init=False. set_params call ignored.",
                stacklevel=3,
            )
            return True
        return False

    def save_params(self, fname):
        """Save the parameters to `fname` with ``arg:``/``aux:`` keys (atomically)."""
        arg_params, aux_params = self.get_params()
        nd.save(fname, _params_dict(arg_params, aux_params))

    def load_params(self, fname):
        """Load parameters saved by save_params (or an MXNet ``.params`` checkpoint)."""
        arg_params, aux_params = split_params(nd.load(fname), fname)
        self.set_params(arg_params, aux_params)

    def get_states(self, merge_multi_context=True):
        """States of a stateful module (none here)."""
        self._require("get_states")
        if merge_multi_context:
            raise MXNetError("get_states: merge_multi_context=True is not supported")
        return []

    def set_states(self, states=None, value=None):
        """Set states of a stateful module (none here)."""
        self._require("set_states")
        if states or value:
            raise MXNetError("set_states: this module has no states")

    def install_monitor(self, mon):
        """Install a Monitor on the executors."""
        raise NotImplementedError()

    # ---- computation ----
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Prepare for a batch (sparse row pulls in MXNet; nothing for dense modules)."""
        if sparse_row_id_fn is not None:
            warnings.warn(UserWarning("sparse_row_id_fn is not invoked for BaseModule."))

    def forward(self, data_batch, is_train=None):
        """Forward computation."""
        raise NotImplementedError()

    def backward(self, out_grads=None):
        """Backward computation."""
        raise NotImplementedError()

    def get_outputs(self, merge_multi_context=True):
        """Outputs of the last forward."""
        raise NotImplementedError()

    def get_input_grads(self, merge_multi_context=True):
        """Gradients of the inputs from the last backward."""
        raise NotImplementedError()

    def update(self):
        """Update parameters with the installed optimizer."""
        raise NotImplementedError()

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate `eval_metric` on the last forward's outputs and `labels`."""
        raise NotImplementedError()

    def bind(
        self,
        data_shapes,
        label_shapes=None,
        for_training=True,
        inputs_need_grad=False,
        force_rebind=False,
        shared_module=None,
        grad_req="write",
    ):
        """Allocate executors for the given input shapes."""
        raise NotImplementedError()

    def init_optimizer(
        self,
        kvstore="local",
        optimizer="sgd",
        optimizer_params=(("learning_rate", 0.01),),
        force_init=False,
    ):
        """Install an optimizer (and kvstore)."""
        raise NotImplementedError()
