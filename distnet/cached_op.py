"""``CachedOp``: a Symbol called like a function on NDArrays (hybridized Gluon blocks).

``op = CachedOp(sym)``; ``op(*arrays)`` takes one NDArray per ``sym.list_inputs()`` name
(data inputs, parameters and auxiliary states, in that order) and returns the output
NDArray (or a list, one per output). It runs the symbol's ``GraphPlan``, the same runner
as the executor, in training mode iff ``autograd.is_training()``. While recording, a call
whose inputs include arrays in an autograd graph is recorded on the tape as ONE node whose
backward runs the plan's backward from the head gradients. Auxiliary states (BatchNorm's
moving statistics) are the caller's arrays, updated in place.

The plan is compiled once per symbol and does not depend on shapes, dtypes or context, so
unlike MXNet there is nothing to rebind per input signature: every call runs the same plan.
"""

from .base import MXNetError
from .ops.attrs import Attr, Int
from .ops.registry import Op
from . import autograd as _ag
from .context import current_context
from .ndarray.ndarray import NDArray, wrap
from .symbol.graph import dfs_order

__all__ = ["CachedOp"]


class CachedOp:
    """Run ``sym`` on NDArrays, recorded for autograd as one operation.

    Parameters
    ----------
    sym : Symbol
        The graph; its ``list_inputs()`` order is the call's argument order.
    flags : sequence of (str, value), optional
        MXNet's CachedOp flags (``static_alloc``, ``static_shape``, ``data_indices``,
        ``param_indices``...). Accepted for compatibility; distnet's plan needs none.
    """

    def __init__(self, sym, flags=()):
        from .symbol.plan import plan_of

        self._symbol = sym
        self._plan = plan_of(sym)
        self._flags = dict(flags)
        ix = self._plan.ix
        self._input_names = sym.list_inputs()
        self._is_aux = tuple(i in ix.mutable for i in ix.variables)
        self._single = len(self._plan.heads) == 1
        self._fn = _CachedOpFunction(self)
        # MXNet inlines a small graph into the recording (autograd.get_symbol shows its
        # operators) unless static_alloc; a larger one is one _CachedOp node.
        n_ops = sum(1 for node in dfs_order(sym._outputs) if node.op is not None)
        limit = self._flags.get("inline_limit", 2)
        self._fn.inline = not self._flags.get("static_alloc", False) and n_ops <= int(limit)

    _monitor = None

    def register_op_hook(self, callback, monitor_all=False):
        """Call ``callback(node_name, op_name, array)`` for every node output of each call
        (with ``monitor_all`` first for every node input too). Names are UTF-8 bytes as
        MXNet's (``b'dense0_fwd_output'``, ``b'FullyConnected'``); ``array`` is an NDArray
        (MXNet passed a raw handle). ``callback=None`` removes the hook."""
        if callback is None:
            self._monitor = None
            return

        def for_context(ctx):
            def monitor(node, ins, outs):
                op_name = node.op.name.encode()
                if monitor_all:
                    for name, arr in zip(monitor_input_names(node), ins):
                        callback(f"{node.name}_{name}".encode(), op_name, wrap(arr, ctx))
                for j, out in enumerate(outs):
                    callback(node.output_name(j).encode(), op_name, wrap(out, ctx))

            return monitor

        self._monitor = for_context

    @property
    def symbol(self):
        """The symbol this op runs."""
        return self._symbol

    def __call__(self, *args, out=None, default_ctx=None):
        if len(args) != len(self._input_names):
            raise MXNetError(
                f"CachedOp: {len(args)} inputs given, the symbol takes "
                f"{len(self._input_names)}: {self._input_names}"
            )
        ctx, datas, recorded = None, [], False
        for name, x in zip(self._input_names, args):
            if type(x) is not NDArray and not isinstance(x, NDArray):
                raise MXNetError(
                    f"CachedOp: input {name!r} must be an NDArray, got {type(x).__name__}"
                )
            if x._pending is not None:  # inline NDArray._read() (hot path)
                x._wait()
            if ctx is None:
                ctx = x._ctx
            elif x._ctx is not ctx and x._ctx != ctx:
                raise MXNetError(
                    f"CachedOp: input {name!r} is on {x._ctx}, the other inputs on {ctx}"
                )
            datas.append(x._data)
            if x._ag is not None:
                recorded = True
        if ctx is None:
            ctx = default_ctx or current_context()
        monitor = self._monitor and self._monitor(ctx)
        if current_context() is ctx:  # already inside `with ctx:` (or the default cpu(0))
            state = self._plan.forward(datas, _ag._training and _ag._state.training, monitor)
        else:
            with ctx:  # creation/random nodes and cupy kernels go to the inputs' device
                state = self._plan.forward(datas, _ag._training and _ag._state.training, monitor)
        vals = state[0]
        outs = [vals[e] for e in self._plan.heads]
        res = [wrap(o, ctx) for o in outs]
        if recorded and _ag._recording and _ag._state.recording:
            need = tuple([x._ag is not None and not aux for x, aux in zip(args, self._is_aux)])
            if True in need:
                _ag._record_node(self._fn, need, args, datas, outs, state, res)
        if out is not None:
            return _write_out(res, out)
        return res[0] if self._single else res

    def __repr__(self):
        return f"<CachedOp of {self._symbol!r}>"


# Single-input operators that MXNet registers with their input's name; other single-input
# operators (relu, Activation, Reshape, Cast, ...) have no input names and show "input0".
_NAMED_SINGLE = frozenset(
    "LeakyReLU Dropout softmax log_softmax softmin SoftmaxActivation SliceChannel SwapAxis "
    "Pooling Pooling_v1 LRN UpSampling".split()
)


def monitor_input_names(node):
    """The names MXNet's monitors give ``node``'s inputs (``data``, ``weight``; ``lhs``,
    ``rhs``; ``input0`` for single-input operators without declared input names)."""
    names = tuple(node.op.input_names(node.parsed)) + tuple(node.op.aux)
    if len(names) == 1 and not node.op.variadic and node.op.name not in _NAMED_SINGLE:
        return ("input0",)
    return names


class _CachedOpFunction:
    """The tape's view of a CachedOp call: ``backward`` runs the plan's backward.

    The tape node keeps the forward state as ``saved`` and the mask of inputs that need
    gradients as ``attrs``; autograd frees the state after backward unless retained.
    """

    loss_output = False
    nd_backward = False
    inline = False

    def __init__(self, cached_op):
        self.cached_op = cached_op
        self.name = "_CachedOp"

    def to_symbol(self, args):
        """This call as a Symbol on the input Symbols ``args`` (``autograd.get_symbol``):
        the graph itself when inlined, else one ``_CachedOp`` node running it."""
        from .symbol.compose import compose, create

        sym = self.cached_op.symbol
        if self.inline:
            return compose(sym, **dict(zip(self.cached_op._input_names, args)))
        return create(_CachedOpNode(self.cached_op), "_cachedop", args)

    def backward(self, F, need, ins, outs, state, ograds):
        """Input gradients (one per CachedOp input, None where not needed)."""
        if state is None:
            raise MXNetError(
                "CachedOp: backward through this call a second time needs "
                "retain_graph=True on the first backward"
            )
        return self.cached_op._plan.backward(state, ograds, need, F)


def _write_out(res, out):
    outs = out if isinstance(out, (list, tuple)) else [out]
    if len(outs) != len(res):
        raise MXNetError(f"CachedOp: {len(res)} outputs but {len(outs)} out arrays")
    for dst, src in zip(outs, res):
        if dst.shape != src.shape:
            raise MXNetError(
                f"CachedOp: out= has shape {dst.shape}, the output has shape {src.shape}"
            )
        dst[:] = src
        dst._ag = src._ag
    return out


class _CachedOpNode(Op):
    """The ``_CachedOp`` operator of a Symbol from ``autograd.get_symbol``: one node whose
    inputs are the CachedOp's and which runs its graph (forward, backward, inference).
    Not registered: like MXNet's, such a node cannot be loaded back from JSON."""

    name = "_CachedOp"
    variadic = True
    params = {"num_args": Attr(Int, 0)}

    def __init__(self, cached_op):
        self.cached_op = cached_op
        self.defaults, self.required, self.param_order = {"num_args": 0}, (), ("num_args",)
        self._cache = {}

    def output_names(self, a):
        return tuple(self.cached_op.symbol.list_outputs())

    def infer_shape(self, a, in_shapes, aux_shapes):
        return self._infer("infer_shape_partial", in_shapes, aux_shapes)

    def infer_type(self, a, in_types, aux_types):
        return self._infer("infer_type_partial", in_types, aux_types)

    def _infer(self, method, ins, aux_in):
        sym = self.cached_op.symbol
        known = {n: v for n, v in zip(self.cached_op._input_names, ins) if v is not None}
        args, outs, aux = getattr(sym, method)(**known)
        found = dict(zip(sym.list_arguments(), args or ()))
        found.update(zip(sym.list_auxiliary_states(), aux or ()))
        filled = [found.get(n, v) for n, v in zip(self.cached_op._input_names, ins)]
        return filled, list(outs or [None] * len(self.output_names(None))), aux_in

    def forward(self, a, ins, aux, is_train):
        plan = self.cached_op._plan
        state = plan.forward(list(ins), is_train)
        return [state[0][e] for e in plan.heads], state

    def backward(self, F, a, ins, outs, saved, ograds):
        return self.cached_op._plan.backward(saved, list(ograds), (True,) * len(ins), F)
