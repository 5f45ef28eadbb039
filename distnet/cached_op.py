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
from . import autograd as _ag
from .context import current_context
from .ndarray.ndarray import NDArray, wrap

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
        if current_context() is ctx:  # already inside `with ctx:` (or the default cpu(0))
            state = self._plan.forward(datas, _ag._training and _ag._state.training)
        else:
            with ctx:  # creation/random nodes and cupy kernels go to the inputs' device
                state = self._plan.forward(datas, _ag._training and _ag._state.training)
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


class _CachedOpFunction:
    """The tape's view of a CachedOp call: ``backward`` runs the plan's backward.

    The tape node keeps the forward state as ``saved`` and the mask of inputs that need
    gradients as ``attrs``; autograd frees the state after backward unless retained.
    """

    loss_output = False
    nd_backward = False

    def __init__(self, cached_op):
        self.cached_op = cached_op
        self.name = "_CachedOp"

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
