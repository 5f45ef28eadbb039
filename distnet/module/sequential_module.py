"""SequentialModule: modules chained so that each one's outputs feed the next one's data
(MXNet's mx.mod.SequentialModule)."""

import copy
import logging

from ..base import MXNetError
from ..initializer import Uniform
from .base_module import BaseModule

# MXNet's default was the logging module (the root logger); a named logger propagates
# there without configuring it.
_MODULE_LOG = logging.getLogger("distnet.module")

__all__ = ["SequentialModule"]


class SequentialModule(BaseModule):
    """A chain of modules.

    ``add(module, take_labels=True)`` gives a module the labels (a loss at the end);
    ``add(module, auto_wiring=True)`` renames the previous outputs to its data names.
    """

    META_TAKE_LABELS = "take_labels"
    META_AUTO_WIRING = "auto_wiring"

    def __init__(self, logger=_MODULE_LOG):
        super().__init__(logger=logger)
        self._modules = []
        self._metas = []
        self._label_shapes = None
        self._data_shapes = None
        self._meta_keys = {self.META_TAKE_LABELS, self.META_AUTO_WIRING}

    def add(self, module, **kwargs):
        """Append `module`; returns self so calls chain. Meta keys: take_labels,
        auto_wiring."""
        for key in kwargs:
            if key not in self._meta_keys:
                raise MXNetError(
                    f'Unknown meta "{key}", a typo? (known: {sorted(self._meta_keys)})'
                )
        self._modules.append(module)
        self._metas.append(kwargs)
        # a new module invalidates binding and initialization
        self.binded = False
        self.params_initialized = False
        self.optimizer_initialized = False
        return self

    def _takes_labels(self, i):
        return bool(self._metas[i].get(self.META_TAKE_LABELS, False))

    @property
    def data_names(self):
        """Data names of the first module."""
        return self._modules[0].data_names if self._modules else []

    @property
    def output_names(self):
        """Output names of the last module."""
        return self._modules[-1].output_names if self._modules else []

    @property
    def data_shapes(self):
        """Data shapes of the first module."""
        self._require("data_shapes", params=False)
        return self._modules[0].data_shapes

    @property
    def label_shapes(self):
        """Label shapes (None when no module takes labels)."""
        self._require("label_shapes", params=False)
        return self._label_shapes

    @property
    def output_shapes(self):
        """Output shapes of the last module."""
        self._require("output_shapes", params=False)
        return self._modules[-1].output_shapes

    def get_params(self):
        """All modules' parameters in one pair of dicts."""
        self._require("get_params")
        arg_params, aux_params = {}, {}
        for module in self._modules:
            arg, aux = module.get_params()
            arg_params.update(arg)
            aux_params.update(aux)
        return arg_params, aux_params

    def init_params(
        self,
        initializer=Uniform(0.01),
        arg_params=None,
        aux_params=None,
        allow_missing=False,
        force_init=False,
        allow_extra=False,
    ):
        """Initialize every module; parameter names must be unique across modules."""
        if self.params_initialized and not force_init:
            return
        self._require("init_params", params=False)
        for module in self._modules:
            module.init_params(
                initializer=initializer,
                arg_params=arg_params,
                aux_params=aux_params,
                allow_missing=allow_missing,
                force_init=force_init,
                allow_extra=allow_extra,
            )
        arg_owner, aux_owner = {}, {}
        for i, module in enumerate(self._modules):
            args, auxs = module.get_params()
            self._check_unique(arg_owner, args, i)
            self._check_unique(aux_owner, auxs, i)
        self.params_initialized = True

    def _check_unique(self, owner, names, i):
        for name in names:
            if name in owner:
                j = owner[name]
                raise MXNetError(
                    f'Duplicated parameter names: name "{name}" in layer {i} '
                    f"({type(self._modules[i]).__name__}) is already used in "
                    f"layer {j} ({type(self._modules[j]).__name__})."
                )
            owner[name] = i

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
        """Bind each module on the previous one's output shapes."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if inputs_need_grad and not for_training:
            raise MXNetError("bind: inputs_need_grad=True needs for_training=True")
        if shared_module is not None:
            raise MXNetError("Shared module is not supported")
        if not self._modules:
            raise MXNetError("Attempting to bind an empty SequentialModule")
        self.binded = True
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._label_shapes = label_shapes
        my_data_shapes = data_shapes
        anybody_needs_label = False
        for i, module in enumerate(self._modules):
            my_label_shapes = None
            if self._takes_labels(i):
                my_label_shapes = label_shapes
                anybody_needs_label = True
            my_inputs_need_grad = bool(inputs_need_grad or (for_training and i > 0))
            if self._metas[i].get(self.META_AUTO_WIRING, False):
                names = module.data_names
                if len(names) != len(my_data_shapes):
                    raise MXNetError(
                        f"auto_wiring: layer {i} has data names {names} for "
                        f"{len(my_data_shapes)} inputs"
                    )
                my_data_shapes = [(new, shape) for new, (_, shape) in zip(names, my_data_shapes)]
            module.bind(
                data_shapes=my_data_shapes,
                label_shapes=my_label_shapes,
                for_training=for_training,
                inputs_need_grad=my_inputs_need_grad,
                force_rebind=force_rebind,
                shared_module=None,
                grad_req=grad_req,
            )
            my_data_shapes = module.output_shapes
        if not anybody_needs_label:
            self._label_shapes = None

    def init_optimizer(
        self,
        kvstore="local",
        optimizer="sgd",
        optimizer_params=(("learning_rate", 0.01),),
        force_init=False,
    ):
        """Install the optimizer on every module."""
        self._require("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        for module in self._modules:
            module.init_optimizer(
                kvstore=kvstore,
                optimizer=optimizer,
                optimizer_params=optimizer_params,
                force_init=force_init,
            )
        self.optimizer_initialized = True

    def forward(self, data_batch, is_train=None):
        """Forward through the chain; each module's outputs are the next one's data."""
        self._require("forward")
        data_batch = copy.copy(data_batch)
        for i, module in enumerate(self._modules):
            module.forward(data_batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            data_batch.data = module.get_outputs()
            if hasattr(data_batch, "provide_data"):
                names = [x[0] for x in module.output_shapes]
                data_batch.provide_data = [
                    (name, x.shape) for name, x in zip(names, data_batch.data)
                ]

    def backward(self, out_grads=None):
        """Backward through the chain in reverse, passing input gradients down."""
        self._require("backward")
        for i in range(len(self._modules) - 1, -1, -1):
            module = self._modules[i]
            module.backward(out_grads=out_grads)
            if i == 0:
                break
            out_grads = module.get_input_grads()

    def update(self):
        """Update every module."""
        self._require("update", optimizer=True)
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context=True):
        """Outputs of the last module."""
        self._require("get_outputs")
        return self._modules[-1].get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """Input gradients of the first module."""
        self._require("get_input_grads")
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads: bind with inputs_need_grad=True first")
        return self._modules[0].get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate the metric on the modules that take labels."""
        self._require("update_metric")
        for i, module in enumerate(self._modules):
            if self._takes_labels(i):
                module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Install a Monitor on every module."""
        self._require("install_monitor", params=False)
        for module in self._modules:
            module.install_monitor(mon)
