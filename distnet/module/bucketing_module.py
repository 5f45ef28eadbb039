"""BucketingModule: one Module per bucket key (e.g. sequence length), all sharing the
default bucket's parameters, gradients and optimizer (MXNet's mx.mod.BucketingModule)."""

import logging

import numpy as np

from ..base import MXNetError
from ..context import cpu
from ..initializer import Uniform
from ..model import _write_atomic, load_params
from .. import ndarray as nd
from .. import symbol as sym
from .base_module import BaseModule
from ._names import _check_input_names
from .module import Module

# MXNet's default was the logging module (the root logger); a named logger propagates
# there without configuring it.
_MODULE_LOG = logging.getLogger("distnet.module")

__all__ = ["BucketingModule"]


class BucketingModule(BaseModule):
    """Handles inputs of varying shape with a Symbol per bucket.

    Parameters
    ----------
    sym_gen : callable
        ``sym_gen(bucket_key) -> (symbol, data_names, label_names)``.
    default_bucket_key : hashable
        The bucket bound first; the others share its parameters, so it should be the
        largest.
    logger, context, work_load_list, fixed_param_names, state_names, group2ctxs,
    compression_params :
        As for Module.
    """

    def __init__(
        self,
        sym_gen,
        default_bucket_key=None,
        logger=_MODULE_LOG,
        context=cpu(),
        work_load_list=None,
        fixed_param_names=None,
        state_names=None,
        group2ctxs=None,
        compression_params=None,
    ):
        super().__init__(logger=logger)
        if default_bucket_key is None:
            raise MXNetError("BucketingModule needs a default_bucket_key")
        self._default_bucket_key = default_bucket_key
        self._sym_gen = sym_gen
        symbol, data_names, label_names = self._call_sym_gen(default_bucket_key)
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)
        self._compression_params = compression_params
        self._fixed_param_names = fixed_param_names
        self._state_names = state_names
        self._context = context
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None
        self._params_dirty = False
        self._monitor = None
        self._grad_req = None

    def _reset_bind(self):
        self.binded = False
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None

    def _call_sym_gen(self, *args, **kwargs):
        """sym_gen under a fresh NameManager, so auto names match across buckets."""
        from ..name import NameManager

        with NameManager():
            return self._sym_gen(*args, **kwargs)

    def _new_module(self, symbol, data_names, label_names):
        return Module(
            symbol,
            data_names,
            label_names,
            logger=self.logger,
            context=self._context,
            work_load_list=self._work_load_list,
            fixed_param_names=self._fixed_param_names,
            state_names=self._state_names,
            group2ctxs=self._group2ctxs,
            compression_params=self._compression_params,
        )

    # ---- names and shapes ----
    @property
    def data_names(self):
        """Data names of the current bucket (the default one before binding)."""
        if self.binded:
            return self._curr_module.data_names
        return self._call_sym_gen(self._default_bucket_key)[1]

    @property
    def output_names(self):
        """Output names of the current bucket (the default one before binding)."""
        if self.binded:
            return self._curr_module.output_names
        return self._call_sym_gen(self._default_bucket_key)[0].list_outputs()

    @property
    def data_shapes(self):
        """Data shapes of the current bucket."""
        self._require("data_shapes", params=False)
        return self._curr_module.data_shapes

    @property
    def label_shapes(self):
        """Label shapes of the current bucket."""
        self._require("label_shapes", params=False)
        return self._curr_module.label_shapes

    @property
    def output_shapes(self):
        """Output shapes of the current bucket."""
        self._require("output_shapes", params=False)
        return self._curr_module.output_shapes

    @property
    def symbol(self):
        """The current bucket's Symbol."""
        self._require("symbol", params=False)
        return self._curr_module.symbol

    # ---- parameters ----
    def get_params(self):
        """(arg_params, aux_params) shared by all buckets, on the CPU."""
        self._require("get_params", binded=False)
        self._curr_module._params_dirty = self._params_dirty
        params = self._curr_module.get_params()
        self._params_dirty = False
        return params

    def set_params(
        self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False
    ):
        """Assign parameters (see Module.set_params)."""
        if self._set_params_done(arg_params, aux_params, allow_missing, force_init, allow_extra):
            return
        self._curr_module.set_params(
            arg_params,
            aux_params,
            allow_missing=allow_missing,
            force_init=force_init,
            allow_extra=allow_extra,
        )
        self._params_dirty = True
        self.params_initialized = True

    def init_params(
        self,
        initializer=Uniform(0.01),
        arg_params=None,
        aux_params=None,
        allow_missing=False,
        force_init=False,
        allow_extra=False,
    ):
        """Initialize the (shared) parameters through the current bucket."""
        if self.params_initialized and not force_init:
            return
        self._require("init_params", params=False)
        self._curr_module.init_params(
            initializer=initializer,
            arg_params=arg_params,
            aux_params=aux_params,
            allow_missing=allow_missing,
            force_init=force_init,
            allow_extra=allow_extra,
        )
        self._params_dirty = False
        self.params_initialized = True

    def get_states(self, merge_multi_context=True):
        """States of the current bucket."""
        self._require("get_states")
        return self._curr_module.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        """Set states of the current bucket."""
        self._require("set_states")
        self._curr_module.set_states(states, value)

    # ---- binding and buckets ----
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
        """Bind the default bucket (other buckets bind when first used)."""
        if self.params_initialized:
            arg_params, aux_params = self.get_params()
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise MXNetError("shared_module for BucketingModule is not supported")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.binded = True
        self._grad_req = grad_req
        module = self._buckets.get(self._default_bucket_key)
        if module is None:
            module = self._new_module(*self._call_sym_gen(self._default_bucket_key))
        module.bind(
            data_shapes,
            label_shapes,
            for_training,
            inputs_need_grad,
            force_rebind=False,
            shared_module=None,
            grad_req=self._grad_req,
        )
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        if self.params_initialized:
            self.set_params(arg_params, aux_params)

    def switch_bucket(self, bucket_key, data_shapes, label_shapes=None):
        """Make `bucket_key` current, binding its module (sharing the default bucket's
        parameters and optimizer) the first time."""
        self._require("switch_bucket", params=False)
        module = self._buckets.get(bucket_key)
        if module is None or not module.binded:
            if module is None:
                module = self._new_module(*self._call_sym_gen(bucket_key))
            module.bind(
                data_shapes,
                label_shapes,
                self._curr_module.for_training,
                self._curr_module.inputs_need_grad,
                force_rebind=False,
                shared_module=self._buckets[self._default_bucket_key],
                grad_req=self._grad_req,
            )
            if self._monitor is not None:
                module.install_monitor(self._monitor)
            self._buckets[bucket_key] = module
        self._curr_module = module
        self._curr_bucket_key = bucket_key

    def init_optimizer(
        self,
        kvstore="local",
        optimizer="sgd",
        optimizer_params=(("learning_rate", 0.01),),
        force_init=False,
    ):
        """Install the optimizer on the current bucket; every other bucket borrows it."""
        self._require("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        self._curr_module.init_optimizer(
            kvstore, optimizer, optimizer_params, force_init=force_init
        )
        for mod in self._buckets.values():
            if mod is not self._curr_module:
                mod.borrow_optimizer(self._curr_module)
        self.optimizer_initialized = True

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Bind the batch's bucket ahead of forward."""
        self._require("prepare")
        original_bucket_key = self._curr_bucket_key
        self.switch_bucket(data_batch.bucket_key, data_batch.provide_data, data_batch.provide_label)
        self._curr_module.prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)
        self.switch_bucket(original_bucket_key, None, None)

    # ---- computation ----
    def forward(self, data_batch, is_train=None):
        """Switch to the batch's bucket (``data_batch.bucket_key``) and run forward."""
        self._require("forward")
        key = getattr(data_batch, "bucket_key", None)
        if key is None:
            key = self._default_bucket_key
        self.switch_bucket(key, data_batch.provide_data, data_batch.provide_label)
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads=None):
        """Backward on the current bucket."""
        self._require("backward")
        self._curr_module.backward(out_grads=out_grads)

    def update(self):
        """Update the shared parameters."""
        self._require("update", optimizer=True)
        self._params_dirty = True
        self._curr_module.update()

    def get_outputs(self, merge_multi_context=True):
        """Outputs of the last forward."""
        self._require("get_outputs")
        return self._curr_module.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """Input gradients of the last backward."""
        self._require("get_input_grads")
        return self._curr_module.get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate `eval_metric` on the current bucket's outputs."""
        self._require("update_metric")
        self._curr_module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Install a Monitor on every bucket."""
        self._require("install_monitor", params=False)
        self._monitor = mon
        for mod in self._buckets.values():
            mod.install_monitor(mon)

    # ---- checkpoints ----
    def save_checkpoint(self, prefix, epoch, remove_amp_cast=False):
        """Save ``prefix-%04d.params``, ``prefix-<key>-symbol.json`` per bucket and the
        bucket keys in ``prefix.buckets`` (integer keys, as MXNet)."""
        if not self._buckets:
            raise MXNetError("Empty BucketingModule cannot be saved")
        keys = list(self._buckets)
        if not all(isinstance(k, (int, np.integer)) for k in keys):
            raise MXNetError(
                f"save_checkpoint: bucket keys must be integers to be saved, got {keys}"
            )
        self.save_params("%s-%04d.params" % (prefix, epoch))
        for key, module in self._buckets.items():
            _write_atomic("%s-%s-symbol.json" % (prefix, key), module.symbol.tojson())
        nd.save("%s.buckets" % prefix, nd.array(keys, dtype=np.int32))

    @staticmethod
    def load(prefix, epoch, sym_gen=None, default_bucket_key=None, **kwargs):
        """A BucketingModule from save_checkpoint's files (sym_gen and the default key are
        needed again)."""
        if sym_gen is None:
            raise MXNetError("sym_gen is required for loading BucketingModule")
        if default_bucket_key is None:
            raise MXNetError("default_bucket_key is required for loading BucketingModule")
        keys = [int(k) for k in nd.load("%s.buckets" % prefix)[0].asnumpy().astype("int32")]
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        for key in keys:
            _, data_names, label_names = sym_gen(key)
            symbol = sym.load("%s-%s-symbol.json" % (prefix, key))
            mod._buckets[key] = Module(symbol, data_names, label_names, **kwargs)
        if default_bucket_key not in mod._buckets:
            raise MXNetError(
                f"default_bucket_key {default_bucket_key!r} is not among the saved buckets {keys}"
            )
        mod._curr_module = mod._buckets[default_bucket_key]
        arg_params, aux_params = load_params(prefix, epoch)
        mod._curr_module._arg_params = arg_params
        mod._curr_module._aux_params = aux_params
        mod._curr_module.params_initialized = True
        mod.params_initialized = True
        return mod

    @staticmethod
    def load_dict(
        sym_dict=None,
        sym_gen=None,
        default_bucket_key=None,
        arg_params=None,
        aux_params=None,
        **kwargs,
    ):
        """A BucketingModule from {bucket_key: Symbol} and shared parameters."""
        for what, value in (
            ("sym_dict", sym_dict),
            ("arg_params", arg_params),
            ("aux_params", aux_params),
            ("default_bucket_key", default_bucket_key),
        ):
            if value is None:
                raise MXNetError(f"{what} needs to be provided for BucketingModule.load_dict")
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        _, data_names, label_names = sym_gen(default_bucket_key)
        for key, loaded in sym_dict.items():
            mod._buckets[key] = Module(loaded, data_names, label_names, **kwargs)
        mod._curr_module = mod._buckets[default_bucket_key]
        mod._curr_module._arg_params = arg_params
        mod._curr_module._aux_params = aux_params
        mod._curr_module.params_initialized = True
        mod.params_initialized = True
        return mod
