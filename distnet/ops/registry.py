"""The operator registry: every operator is declared once, as a subclass of ``Op``.

An operator declares its MXNet name and aliases, its inputs and auxiliary states, its typed
attributes, and implements shape/type inference, ``forward`` and ``backward`` against the
array module of its inputs (numpy or cupy). ``nd.*``, ``sym.*``, NDArray methods, autograd,
the executor and ``hybrid_forward(F, ...)`` all call this one definition.
"""

import importlib

import numpy as np

from ..base import MXNetError
from .attrs import REQUIRED, parse_attrs

_OPS = {}
_LOADED = False
# Modules holding operator definitions; imported on first registry lookup so that
# `import distnet` stays cheap.
_OP_MODULES = (
    "elemwise",
    "reduce",
    "shape",
    "broadcast",
    "linalg",
    "softmax",
    "index",
    "creation",
    "random",
    "nn",
    "conv",
    "pooling",
    "norm",
    "loss",
    "custom",
    "rnn",
    "ctc",
    "sequence",
    "optimizer_ops",
    "special",
    "contrib",
    "pdf",
    "index_extra",
    "im2col_ops",
    "sparse_defs",
    "image",
    "spatial",
    "correlation",
    "deformable",
    "detection",
    "quantize",
    "amp",
    "attention",
    "norm_variants",
)


class OpRuntimeError(MXNetError):
    """A check an operator makes on its data or arguments while running (a sampler's
    ``scale > 0``). As in MXNet, whose kernels run asynchronously, ``nd.*`` calls report
    it at the next read of the result (``asnumpy``, ``wait_to_read``, ``nd.waitall``);
    see ``distnet/ndarray/_failed.py``."""


class Op:
    """Base class of an operator. Subclasses set the class attributes and override methods.

    Attributes
    ----------
    name : str
        MXNet's canonical operator name, written into graph JSON.
    aliases : tuple of str
        Other names the operator answers to (``nd.flatten`` for ``Flatten``).
    inputs : tuple of str
        Argument names in order (``('data', 'weight', 'bias')``).
    aux : tuple of str
        Auxiliary state names (``('moving_mean', 'moving_var')``), updated in place.
    params : dict of str to Attr
        Typed attributes with defaults.
    variadic : bool
        Inputs come as ``*args`` (``concat``, ``add_n``); their count is ``num_args``.
    loss_output : bool
        ``backward`` needs no head gradient (``SoftmaxOutput``).
    zero_grad : bool
        No gradient flows through it (``argmax``, comparisons, ``BlockGrad``): backward
        skips it and a head gradient for its output is neither needed nor checked.
    nd_backward : bool
        ``backward`` is written with ``F``-generic calls only, so it can run on NDArrays
        while recording (second-order gradients).
    zero_d : bool
        Its 0-d outputs stay 0-d in ``nd`` calls (``contrib.allclose``), where MXNet 1.x
        otherwise gives shape ``(1,)``.
    backward_req : bool
        ``backward`` accepts ``req=`` (one bool per input: is its gradient wanted), so it
        can skip costly gradients nobody uses (the data gradient of a first layer).
    """

    name = None
    aliases = ()
    inputs = ("data",)
    aux = ()
    params = {}
    variadic = False
    loss_output = False
    zero_grad = False
    nd_backward = False
    backward_req = False
    zero_d = False
    # Filled by register():
    defaults = {}
    required = ()
    param_order = ()

    # ---- declaration ----
    def input_names(self, a):
        """Names of the inputs for attributes ``a`` (optional inputs may drop out)."""
        if self.variadic:
            return tuple(f"arg{i}" for i in range(a.get("num_args", 0)))
        return self.inputs

    def aux_names(self, a):
        """Names of the auxiliary states for attributes ``a`` (``Custom`` asks its prop)."""
        return self.aux

    def output_names(self, a):
        """Names of the visible outputs (``output``, or ``output0``... for several)."""
        return ("output",)

    def num_outputs(self, a):
        """Number of visible outputs."""
        return len(self.output_names(a))

    # ---- inference ----
    def infer_shape(self, a, in_shapes, aux_shapes):
        """Complete shapes: return ``(in_shapes, out_shapes, aux_shapes)``.

        Unknown shapes are ``None``. The default runs ``forward`` on zero arrays once all
        input shapes are known; operators with parameters override it so that weight shapes
        follow from the data shape.
        """
        if any(s is None for s in in_shapes) or any(s is None for s in aux_shapes):
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        ins = [np.zeros(s, np.float32) for s in in_shapes]
        aux = [np.zeros(s, np.float32) for s in aux_shapes]
        outs, _ = self.forward(a, ins, aux, False)
        return in_shapes, [tuple(o.shape) for o in outs], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        """Complete dtypes: outputs and unknown inputs take the first known input dtype."""
        known = next((t for t in in_types if t is not None), None)
        if known is None:
            known = np.dtype(np.float32)
        in_types = [known if t is None else t for t in in_types]
        aux_types = [known if t is None else t for t in aux_types]
        return in_types, [known] * self.num_outputs(a), aux_types

    # ---- computation ----
    def forward(self, a, ins, aux, is_train):
        """Compute ``(outputs, saved)`` from input arrays; ``saved`` goes to ``backward``."""
        raise NotImplementedError(f"operator {self.name} has no forward")

    def backward(self, F, a, ins, outs, saved, ograds):
        """Return one gradient per input (``None`` where there is none).

        ``F`` is the array module of the inputs (or the ``nd`` namespace when recording a
        second-order graph for ``nd_backward`` operators). Operators that set
        ``backward_req`` also receive ``req``, a tuple of one bool per input; an input
        whose flag is False may get None.
        """
        raise MXNetError(f"operator {self.name} is not differentiable")

    def __repr__(self):
        return f"<Op {self.name}>"

    def parse(self, kwargs):
        """Parsed attributes for ``kwargs``, with a small cache for repeated calls."""
        try:
            key = tuple(kwargs.items())
            hit = self._cache.get(key)
        except TypeError:  # unhashable value (a list): parse every time
            return parse_attrs(self, kwargs)
        if hit is None:
            hit = parse_attrs(self, kwargs)
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[key] = hit
        return hit


def register(cls):
    """Class decorator: instantiate ``cls`` and register it under its name and aliases."""
    op = cls()
    op.defaults = {k: v.default for k, v in cls.params.items() if v.default is not REQUIRED}
    op.required = tuple(k for k, v in cls.params.items() if v.default is REQUIRED)
    op.param_order = tuple(cls.params)
    op._cache = {}
    for key in (cls.name,) + tuple(cls.aliases):
        if key in _OPS and _OPS[key] is not op:
            raise RuntimeError(f"operator name {key!r} registered twice")
        _OPS[key] = op
    return cls


def _load():
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for mod in _OP_MODULES:
            try:
                importlib.import_module(f"{__package__}.{mod}")
            except ModuleNotFoundError as err:
                if err.name != f"{__package__}.{mod}":
                    raise


def get_op(name):
    """The operator registered as ``name``; MXNetError if there is none."""
    op = _OPS.get(name)  # registered already: no need to load the operator modules
    if op is None:
        _load()
        op = _OPS.get(name)
        if op is None:
            raise MXNetError(f"operator {name!r} is not registered in distnet")
    return op


def all_ops():
    """Mapping of every registered name (canonical and alias) to its operator."""
    _load()
    return dict(_OPS)
