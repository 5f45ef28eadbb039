"""PythonModule and PythonLossModule: modules written in Python, with most of the API as
no-ops to override (MXNet's mx.mod.PythonModule / PythonLossModule)."""

import logging

from ..base import MXNetError
from ..initializer import Uniform
from .. import ndarray as nd
from .base_module import BaseModule

# MXNet's default was the logging module (the root logger); a named logger propagates
# there without configuring it.
_MODULE_LOG = logging.getLogger("distnet.module")

__all__ = ["PythonModule", "PythonLossModule"]


class PythonModule(BaseModule):
    """A module without parameters whose computation is Python code.

    Subclasses implement ``_compute_output_shapes``, ``forward``, ``backward``,
    ``get_outputs`` and ``get_input_grads``.

    Parameters
    ----------
    data_names, label_names, output_names : list of str
    logger : Logger
    """

    def __init__(self, data_names, label_names, output_names, logger=_MODULE_LOG):
        super().__init__(logger=logger)
        self._data_names = list(data_names) if isinstance(data_names, tuple) else data_names
        self._label_names = list(label_names) if isinstance(label_names, tuple) else label_names
        self._output_names = output_names
        self._data_shapes = None
        self._label_shapes = None
        self._output_shapes = None

    @property
    def data_names(self):
        """Names of the data inputs."""
        return self._data_names

    @property
    def output_names(self):
        """Names of the outputs."""
        return self._output_names

    @property
    def data_shapes(self):
        """Bound data shapes."""
        return self._data_shapes

    @property
    def label_shapes(self):
        """Bound label shapes."""
        return self._label_shapes

    @property
    def output_shapes(self):
        """Output shapes from _compute_output_shapes."""
        return self._output_shapes

    def get_params(self):
        """No parameters: two empty dicts."""
        return {}, {}

    def init_params(
        self,
        initializer=Uniform(0.01),
        arg_params=None,
        aux_params=None,
        allow_missing=False,
        force_init=False,
        allow_extra=False,
    ):
        """Nothing to initialize (the module counts as initialized afterwards)."""
        self.params_initialized = True

    def update(self):
        """No parameters to update."""

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate `eval_metric` on get_outputs() when labels are bound."""
        if self._label_shapes is None:
            return
        if pre_sliced:
            raise MXNetError("PythonModule does not support presliced labels")
        eval_metric.update(labels, self.get_outputs())

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
        """Record the shapes and compute the output shapes."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if grad_req != "write":
            raise MXNetError("Python module only support write gradient")
        names = [x[0] for x in data_shapes]
        if names != list(self._data_names):
            raise MXNetError(
                f"bind: data shapes are for {names} but the module's data names "
                f"are {self._data_names}"
            )
        if label_shapes is not None:
            lnames = [x[0] for x in label_shapes]
            if self._label_names is None or lnames != list(self._label_names):
                raise MXNetError(
                    f"bind: label shapes are for {lnames} but the module's "
                    f"label names are {self._label_names}"
                )
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._data_shapes = data_shapes
        self._label_shapes = label_shapes
        self._output_shapes = self._compute_output_shapes()
        self.binded = True

    def _compute_output_shapes(self):
        """[(name, shape)] of the outputs, from self._data_shapes/_label_shapes."""
        raise NotImplementedError()

    def init_optimizer(
        self,
        kvstore="local",
        optimizer="sgd",
        optimizer_params=(("learning_rate", 0.01),),
        force_init=False,
    ):
        """No parameters, no optimizer needed."""
        self.optimizer_initialized = True

    def install_monitor(self, mon):
        """Nothing to monitor."""


class PythonLossModule(PythonModule):
    """A loss written in Python: forward passes the scores through; backward computes
    ``grad_func(scores, labels)``.

    Parameters
    ----------
    name : str
        Output name prefix (output ``<name>_output``).
    data_names, label_names : one name each
    grad_func : callable
        ``grad_func(scores, labels) -> gradient`` (NDArray or array-like).
    """

    def __init__(
        self,
        name="pyloss",
        data_names=("data",),
        label_names=("softmax_label",),
        logger=_MODULE_LOG,
        grad_func=None,
    ):
        super().__init__(data_names, label_names, [name + "_output"], logger=logger)
        self._name = name
        if len(data_names) != 1 or len(label_names) != 1:
            raise MXNetError("PythonLossModule takes exactly one data and one label name")
        self._scores = None
        self._labels = None
        self._scores_grad = None
        if grad_func is not None and not callable(grad_func):
            raise MXNetError("grad_func must be callable")
        self._grad_func = grad_func

    def _compute_output_shapes(self):
        """The output has the shape of the input scores."""
        return [(self._name + "_output", self._data_shapes[0][1])]

    def forward(self, data_batch, is_train=None):
        """Keep the scores (and labels when training)."""
        self._scores = data_batch.data[0]
        if is_train is None:
            is_train = self.for_training
        if is_train:
            self._labels = data_batch.label[0]

    def get_outputs(self, merge_multi_context=True):
        """The scores of the last forward."""
        if not merge_multi_context:
            raise MXNetError("PythonLossModule has one context: use merge_multi_context=True")
        return [self._scores]

    def backward(self, out_grads=None):
        """Compute the gradient of the scores with grad_func."""
        if out_grads is not None:
            raise MXNetError("For a loss module, out_grads should be None")
        if not self.for_training:
            raise MXNetError("backward: bind with for_training=True first")
        self._backward_impl()

    def _backward_impl(self):
        """Override to compute self._scores_grad without a grad_func."""
        if self._grad_func is None:
            raise NotImplementedError(
                "PythonLossModule needs grad_func or an overridden _backward_impl"
            )
        grad = self._grad_func(self._scores, self._labels)
        if not isinstance(grad, nd.NDArray):
            grad = nd.array(grad)
        self._scores_grad = grad

    def get_input_grads(self, merge_multi_context=True):
        """The gradient of the scores from the last backward."""
        if not merge_multi_context:
            raise MXNetError("PythonLossModule has one context: use merge_multi_context=True")
        return [self._scores_grad]

    def install_monitor(self, mon):
        """Not supported for a Python loss."""
        raise NotImplementedError()
