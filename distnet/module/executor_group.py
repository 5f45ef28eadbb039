"""DataParallelExecutorGroup: one executor per context, the batch split among them.

Each input is sliced along its batch axis (from its layout: axis 0 for ``NCHW``, 1 for
``TNC``) in proportion to the work load list; outputs are concatenated back along theirs.
Parameters live in every executor and are kept identical by Module's update (through
the kvstore when there are several contexts).  With one context the batch is copied
once into the bound arrays and nothing is sliced.
"""

import logging

from ..base import MXNetError
from ..autograd import register_grad_hook
from ..io import DataDesc
from .. import ndarray as nd
from ._binding import NP_OF_FLAG, grad_req_dict, prepare_group2ctxs, bind_shared
from ._util import (
    ExtraParamError,
    axis_slice,
    concat_arrays,
    load_into,
    load_slice_into,
    raw_of,
    split_input_slice,
)

# MXNet's default was the logging module (the root logger); a named logger propagates
# there without configuring it.
_MODULE_LOG = logging.getLogger("distnet.module")

__all__ = ["DataParallelExecutorGroup"]


class DataParallelExecutorGroup:
    """Executors of one Symbol on a list of contexts (MXNet's executor group).

    Parameters
    ----------
    symbol : Symbol
    contexts : list of Context
    workload : list of float
        Share of the batch for each context.
    data_shapes, label_shapes : list of DataDesc or (name, shape)
    param_names : list of str
    for_training, inputs_need_grad : bool
    shared_group : DataParallelExecutorGroup, optional
        Share its parameter, gradient and aux arrays (bucketing).
    fixed_param_names : list of str, optional
        Parameters with grad_req 'null'.
    grad_req : str, list or dict
    state_names : list of str, optional
    group2ctxs : dict or list, optional
    """

    def __init__(
        self,
        symbol,
        contexts,
        workload,
        data_shapes,
        label_shapes,
        param_names,
        for_training,
        inputs_need_grad,
        shared_group=None,
        logger=_MODULE_LOG,
        fixed_param_names=None,
        grad_req="write",
        state_names=None,
        group2ctxs=None,
    ):
        self.param_names = param_names
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.symbol = symbol
        self.contexts = contexts
        self.workload = workload
        self.group2ctxs = prepare_group2ctxs(group2ctxs, len(contexts))
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.logger = logger
        self._total_exec_bytes = 0
        self.fixed_param_names = list(fixed_param_names or [])
        self.state_names = list(state_names or [])
        data_shapes = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in data_shapes]
        if label_shapes is not None:
            label_shapes = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in label_shapes]
        self.grad_req = grad_req_dict(
            grad_req if for_training else "null",
            self.arg_names,
            set(param_names),
            set(self.fixed_param_names),
            {x.name for x in data_shapes},
            inputs_need_grad,
        )
        self.batch_size = None
        self.slices = None
        self.execs = []
        self._default_execs = None
        self._exec_cache = {}
        self._param_index_of_arg = None
        self.data_shapes = self.label_shapes = None
        self.data_names = self.label_names = None
        self.data_layouts = self.label_layouts = None
        self.output_names = symbol.list_outputs()
        self.num_outputs = len(self.output_names)
        self.output_layouts = [
            DataDesc.get_batch_axis(symbol[i].attr("__layout__")) for i in range(self.num_outputs)
        ]
        self.bind_exec(data_shapes, label_shapes, shared_group)

    # ---- binding ----
    def decide_slices(self, data_shapes):
        """Batch axis of each input; sets batch_size and the per-context slices."""
        if not data_shapes:
            raise MXNetError("bind: no data shapes were given")
        major_axis = [DataDesc.get_batch_axis(x.layout) for x in data_shapes]
        for desc, axis in zip(data_shapes, major_axis):
            if axis == -1:
                continue
            batch_size = desc.shape[axis]
            if self.batch_size is not None:
                if batch_size != self.batch_size:
                    raise MXNetError(
                        f"all data must have the same batch size: batch_size = "
                        f"{self.batch_size}, but {desc.name} has shape "
                        f"{desc.shape}"
                    )
            else:
                self.batch_size = batch_size
                self.slices = split_input_slice(batch_size, self.workload)
        return major_axis

    def bind_exec(self, data_shapes, label_shapes, shared_group=None, reshape=False):
        """Bind (or, for reshape, fetch or make) one executor per context."""
        if not reshape and self.execs:
            raise MXNetError("bind_exec: executors are already bound")
        self.batch_size = None
        self.data_layouts = self.decide_slices(data_shapes)
        if label_shapes is not None:
            self.label_layouts = self.decide_slices(label_shapes)
        self.data_names = [d.name for d in data_shapes]
        key = tuple((d.name, tuple(d.shape)) for d in data_shapes + (label_shapes or []))
        execs = self._exec_cache.get(key)
        if execs is None:
            execs = []
            for i in range(len(self.contexts)):
                shapes_i = self._sliced_shape(data_shapes, i, self.data_layouts)
                if label_shapes is not None:
                    shapes_i += self._sliced_shape(label_shapes, i, self.label_layouts)
                shared = (
                    self._default_execs[i]
                    if reshape
                    else shared_group.execs[i]
                    if shared_group is not None
                    else None
                )
                execs.append(self._bind_ith_exec(i, shapes_i, shared))
            self._exec_cache[key] = execs
        self.execs = execs
        self.data_shapes = data_shapes
        self.label_shapes = label_shapes
        self.label_names = [d.name for d in label_shapes] if label_shapes is not None else []
        self._collect_arrays()

    def reshape(self, data_shapes, label_shapes):
        """Switch to executors for new input shapes, sharing the parameters."""
        if data_shapes == self.data_shapes and label_shapes == self.label_shapes:
            return
        if self._default_execs is None:
            self._default_execs = list(self.execs)
        self.bind_exec(data_shapes, label_shapes, reshape=True)

    def _sliced_shape(self, shapes, i, major_axis):
        """DataDescs of the i-th context's part of the batch."""
        out = []
        for desc, axis in zip(shapes, major_axis):
            shape = list(desc.shape)
            if axis >= 0:
                shape[axis] = self.slices[i].stop - self.slices[i].start
            out.append(DataDesc(desc.name, tuple(shape), desc.dtype, desc.layout))
        return out

    def _input_types(self, descs):
        """dtype of every input; a variable's own ``__dtype__`` attribute wins for data."""
        types = {d.name: d.dtype for d in descs}
        attrs = self.symbol.attr_dict()
        for name in self.data_names:
            flag = attrs.get(name, {}).get("__dtype__")
            if flag is not None and flag != "-1":
                types[name] = NP_OF_FLAG[int(flag)]
        return types

    def _bind_ith_exec(self, i, shapes_i, shared_exec):
        """simple_bind on context i; with a shared executor, bind sharing its arrays."""
        context = self.contexts[i]
        input_shapes = {d.name: tuple(d.shape) for d in shapes_i}
        input_types = self._input_types(shapes_i)
        if shared_exec is not None:
            return bind_shared(
                self.symbol,
                context,
                input_shapes,
                input_types,
                shared_exec,
                self.param_names,
                self.grad_req,
            )
        kwargs = {"group2ctx": self.group2ctxs[i]} if self.group2ctxs[i] else {}
        return self.symbol.simple_bind(
            ctx=context, grad_req=self.grad_req, type_dict=input_types, **kwargs, **input_shapes
        )

    def _collect_arrays(self):
        """Per-input lists of (slice, array) and per-parameter lists over the executors."""
        execs = self.execs
        slices = self.slices or [slice(i, i + 1) for i in range(len(execs))]
        self.data_arrays = [
            [(slices[i], e.arg_dict[name]) for i, e in enumerate(execs)] for name in self.data_names
        ]
        self.state_arrays = [[e.arg_dict[name] for e in execs] for name in self.state_names]
        self.label_arrays = (
            [
                [(slices[i], e.arg_dict[name]) for i, e in enumerate(execs)]
                for name in self.label_names
            ]
            if self.label_shapes is not None
            else None
        )
        idx = [i for i, name in enumerate(self.arg_names) if name in self.param_names]
        self.param_arrays = [[e.arg_arrays[i] for e in execs] for i in idx]
        self.grad_arrays = (
            [[e.grad_arrays[i] for e in execs] for i in idx] if self.for_training else None
        )
        self.input_grad_arrays = (
            [
                [e.grad_arrays[self.arg_names.index(name)] for e in execs]
                for name in self.data_names
                if name in self.arg_names
            ]
            if self.inputs_need_grad
            else None
        )
        self.aux_arrays = [[e.aux_arrays[i] for e in execs] for i in range(len(self.aux_names))]
        # the one-context path: bound input arrays in batch order
        self._single = len(execs) == 1
        self._data_dst = [e.arg_dict[name] for e in execs[:1] for name in self.data_names]
        self._label_dst = [e.arg_dict[name] for e in execs[:1] for name in self.label_names]
        self.generation = getattr(self, "generation", 0) + 1

    # ---- parameters ----
    def set_params(self, arg_params, aux_params, allow_extra=False):
        """Copy parameters into every executor; unknown names raise unless allow_extra."""
        for exec_ in self.execs:
            _copy_params(exec_.arg_dict, arg_params, "arguments", allow_extra)
            _copy_params(exec_.aux_dict, aux_params or {}, "auxiliary states", allow_extra)

    def get_params(self, arg_params, aux_params):
        """Copy the executors' parameters (averaged over contexts) into the given dicts."""
        for names, blocks, out in (
            (self.param_names, self.param_arrays, arg_params),
            (self.aux_names, self.aux_arrays, aux_params),
        ):
            for name, block in zip(names, blocks):
                dst = out[name]
                if len(block) == 1:
                    load_into(dst, block[0], name)
                    continue
                datas = [raw_of(w.as_in_context(dst.context)) for w in block]
                avg = datas[0].copy()
                for d in datas[1:]:
                    avg += d
                avg /= len(block)
                load_into(dst, avg, name)

    # ---- computation ----
    def forward(self, data_batch, is_train=None):
        """Load the batch (sliced per context) and run forward on every executor."""
        if is_train is None:
            is_train = self.for_training
        if self._single and not isinstance(data_batch, list):
            data = data_batch.data
            if len(data) != len(self._data_dst):
                raise MXNetError(
                    f"forward: the batch has {len(data)} data arrays but the "
                    f"module's data names are {self.data_names}"
                )
            for src, dst, name in zip(data, self._data_dst, self.data_names):
                if src is not dst:
                    load_into(dst, src, f"data {name!r}")
            label = getattr(data_batch, "label", None)  # a namedtuple of data only works
            if self.label_arrays is not None and label:
                for src, dst, name in zip(label, self._label_dst, self.label_names):
                    if src is not dst:
                        load_into(dst, src, f"label {name!r}")
            self.execs[0].forward(is_train=is_train)
            return
        self._load(data_batch, "data", self.data_arrays, self.data_layouts)
        if self.label_arrays is not None:
            first = data_batch[0] if isinstance(data_batch, list) else data_batch
            has_label = getattr(first, "label", None)
            if has_label:
                self._load(data_batch, "label", self.label_arrays, self.label_layouts)
        for exec_ in self.execs:
            exec_.forward(is_train=is_train)

    def _load(self, data_batch, field, targets, layouts):
        """Copy a batch's data or label into the executors' arrays, slicing once."""
        names = self.data_names if field == "data" else self.label_names
        if isinstance(data_batch, list):  # pre-sliced: one batch per context
            if len(data_batch) != len(self.execs):
                raise MXNetError(
                    f"forward: got {len(data_batch)} pre-sliced batches for "
                    f"{len(self.execs)} contexts"
                )
            for j, (name, target) in enumerate(zip(names, targets)):
                for batch, (_, dst) in zip(data_batch, target):
                    load_into(dst, getattr(batch, field)[j], f"{field} {name!r}")
            return
        srcs = getattr(data_batch, field)
        if len(srcs) < len(targets):
            raise MXNetError(
                f"forward: the batch has {len(srcs)} {field} arrays but the "
                f"module's {field} names are {names}"
            )
        for src, target, axis, name in zip(srcs, targets, layouts, names):
            for sl, dst in target:
                load_slice_into(dst, src, axis, sl, f"{field} {name!r}")

    def backward(self, out_grads=None, grad_ready=None):
        """Backward on every executor, with each its slice of `out_grads`.

        ``grad_ready(param index)``, if given, is called (through the executor's
        ``autograd.register_grad_hook``) as soon as a parameter's gradients are final on
        every context (during the last executor's backward, as
        the executors run one after another), so that it can be sent while backward
        goes on.
        """
        if not self.for_training:
            raise MXNetError("backward: re-bind with for_training=True to run backward")
        if out_grads is None:
            out_grads = []
        elif not isinstance(out_grads, (list, tuple)):
            out_grads = [out_grads]
        last = self.execs[-1]
        register_grad_hook(last, None if grad_ready is None else self._param_hook(last, grad_ready))
        if self._single:
            last.backward(out_grads=list(out_grads) or None)
            return
        for i, (exec_, islice) in enumerate(zip(self.execs, self.slices)):
            ctx = self.contexts[i]
            part = []
            for grad, axis in zip(out_grads, self.output_layouts):
                data = axis_slice(raw_of(grad), axis, islice) if axis >= 0 else raw_of(grad)
                part.append(nd.NDArray(data, grad.context).as_in_context(ctx))
            exec_.backward(out_grads=part or None)

    def _param_hook(self, exec_, grad_ready):
        """A gradient hook on ``exec_`` calling ``grad_ready(param index)``."""
        cached = self._param_index_of_arg
        if cached is None or cached[0] is not exec_:
            where = {name: i for i, name in enumerate(self.param_names)}
            cached = self._param_index_of_arg = (
                exec_,
                {
                    id(arr): where[name]
                    for arr, name in zip(exec_.arg_arrays, self.arg_names)
                    if name in where
                },
            )
        param_at = cached[1]

        def hook(var, _grad):
            index = param_at.get(id(var))
            if index is not None:
                grad_ready(index)

        return hook

    def get_output_shapes(self):
        """(name, shape) of each output for the whole batch."""
        shapes = []
        for key, out, axis in zip(self.output_names, self.execs[0].outputs, self.output_layouts):
            shape = list(out.shape)
            if axis >= 0:
                shape[axis] = self.batch_size
            shapes.append((key, tuple(shape)))
        return shapes

    def get_outputs(self, merge_multi_context=True, begin=0, end=None):
        """Outputs of the last forward: merged along the batch axis, or per context."""
        if end is None:
            end = self.num_outputs
        if self._single:
            outs = self.execs[0].outputs[begin:end]
            return list(outs) if merge_multi_context else [[o] for o in outs]
        outputs = [[e.outputs[i] for e in self.execs] for i in range(begin, end)]
        if merge_multi_context:
            return _merge_multi_context(outputs, self.output_layouts[begin:end])
        return outputs

    def get_states(self, merge_multi_context=True):
        """State arrays per state name, one per context."""
        if merge_multi_context:
            raise MXNetError("merge_multi_context=True is not supported for get_states yet.")
        return self.state_arrays

    def set_states(self, states=None, value=None):
        """Set states from arrays (per name, per context) or to a scalar value."""
        if states is not None:
            if value is not None:
                raise MXNetError("Only one of states & value can be specified.")
            for name, srcs, dsts in zip(self.state_names, states, self.state_arrays):
                srcs = srcs if isinstance(srcs, (list, tuple)) else [srcs] * len(dsts)
                for src, dst in zip(srcs, dsts):
                    load_into(dst, src, f"state {name!r}")
        else:
            if value is None:
                raise MXNetError("At least one of states & value must be specified.")
            for dsts in self.state_arrays:
                for dst in dsts:
                    dst._read()[...] = value  # after a pull into it, if any

    def get_input_grads(self, merge_multi_context=True):
        """Gradients of the data inputs (bound with inputs_need_grad=True)."""
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads: bind with inputs_need_grad=True first")
        if merge_multi_context:
            return _merge_multi_context(self.input_grad_arrays, self.data_layouts)
        return self.input_grad_arrays

    def update_metric(self, eval_metric, labels, pre_sliced):
        """Accumulate `eval_metric` over every context's outputs and its labels."""
        if self._single and not pre_sliced:
            eval_metric.update_dict(
                dict(zip(self.label_names, labels)),
                dict(zip(self.output_names, self.execs[0].outputs)),
            )
            return
        layouts = self.label_layouts or [0] * len(labels)
        for k, (texec, islice) in enumerate(zip(self.execs, self.slices)):
            if pre_sliced:
                part = labels[k]
            else:
                part = [
                    nd.NDArray(axis_slice(raw_of(lab), axis, islice), lab.context)
                    if axis >= 0
                    else lab
                    for lab, axis in zip(labels, layouts)
                ]
            eval_metric.update_dict(
                dict(zip(self.label_names, part)), dict(zip(self.output_names, texec.outputs))
            )

    def install_monitor(self, mon):
        """Install a Monitor on every executor."""
        for exe in self.execs:
            mon.install(exe)


def _merge_multi_context(outputs, major_axis):
    """Concatenate per-context arrays along their batch axis (axis -1: take the first)."""
    return [
        concat_arrays(tensors, axis) if axis >= 0 else tensors[0]
        for tensors, axis in zip(outputs, major_axis)
    ]


def _copy_params(targets, params, what, allow_extra):
    """Copy params[name] into targets[name], with MXNet's rule for unknown names."""
    for name, value in params.items():
        dst = targets.get(name)
        if dst is None:
            if allow_extra:
                continue
            raise ExtraParamError(
                f'Find name "{name}" that is not in the {what} (pass '
                "allow_extra=True to ignore names the module does not have)"
            )
        if tuple(value.shape) != tuple(dst.shape):
            raise MXNetError(
                f"parameter {name!r}: the value has shape {tuple(value.shape)} "
                f"but the module expects {tuple(dst.shape)}"
            )
        load_into(dst, value, f"parameter {name!r}")
