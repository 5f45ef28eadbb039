"""Imperative automatic differentiation: record, backward, grad and custom Functions.

The tape is a graph of ``_Node`` records, one per recorded operator call, linked from each
output NDArray (``arr._ag = (node, index)``). Variables marked with ``attach_grad`` carry a
``Leaf`` holding their gradient buffer and ``grad_req``. The state (recording, training) is
per thread, as in MXNet.
"""

import threading

from numpy import empty as _np_empty, ndarray as _ndarray

from .base import MXNetError
from .backend import array_scope as _array_scope, xp_of as _xp_of
from ._grad_adopt import adoptable as _adoptable
from .ops.sparse_ops import RowSparseGrad as _RowSparseGrad
from . import profiler as _prof
from ._last_user import last_users as _last_users

__all__ = [
    "record",
    "pause",
    "train_mode",
    "predict_mode",
    "is_recording",
    "is_training",
    "set_recording",
    "set_training",
    "mark_variables",
    "backward",
    "grad",
    "Function",
    "register_grad_hook",
    "get_grad_hook",
    "get_symbol",
    "NDArray",
    "Symbol",
]


def __getattr__(name):
    # MXNet's autograd module exposes NDArray and Symbol (its tests star-import them from
    # here); imported on first use, since both packages import this module
    if name == "NDArray":
        from .ndarray.ndarray import NDArray

        return NDArray
    if name == "Symbol":
        from .symbol.symbol import Symbol

        return Symbol
    raise AttributeError(f"module 'distnet.autograd' has no attribute {name!r}")


class _State(threading.local):
    """Recording and training flags, one pair per thread (as MXNet's thread-local
    ``is_recording``/``is_training``): a data-loading or serving thread never sees the
    training loop's ``record()``."""

    recording = False
    training = False


_state = _State()
# Whether any thread records / is in training mode. Readers on hot paths test these
# module globals first (``_ag._recording and _ag._state.recording``): a thread-local read
# costs ~150 ns, a global ~30 ns, and most operator calls run with no thread recording.
_recording = False
_training = False
_counts = {"recording": 0, "training": 0}
_count_lock = threading.Lock()


def _set_flag(name, value):
    """Set this thread's flag ``name``; keep the any-thread global in step. Returns the
    previous value."""
    state = _state
    prev = getattr(state, name)
    if prev != value:
        with _count_lock:
            _counts[name] += 1 if value else -1
            globals()["_" + name] = _counts[name] > 0
        setattr(state, name, value)
    return prev


class Leaf:
    """Autograd data of a marked variable: its gradient NDArray and request type.

    ``hook`` (None or ``fn(var, grad)``, see `register_grad_hook`) is called by
    ``backward`` as soon as the variable's gradient is final and written into ``grad``.
    """

    __slots__ = ("grad", "req", "fresh", "hook")

    def __init__(self, grad, req):
        self.grad = grad
        self.req = req
        self.fresh = False
        self.hook = None


def register_grad_hook(target, fn):
    """Call ``fn(var, grad)`` as soon as backward has written the final gradient of a
    variable, while the rest of backward still runs (what gradient overlap relies on).

    One API for both engines. ``target`` is either an NDArray marked with
    ``attach_grad`` (the autograd tape: ``var`` is that array, ``grad`` its ``.grad``;
    not called by ``grad()``; re-marking the array drops the hook), or an ``Executor``
    (``Executor.backward``: called for each argument with its bound gradient array).
    ``var`` is final once no later backward step adds to it (distnet/_last_user.py);
    under grad_req 'add' ``grad`` holds the accumulated sum. ``fn=None`` removes the hook.
    """
    if fn is not None and not callable(fn):
        raise MXNetError(
            f"register_grad_hook: fn must be callable or None, got {type(fn).__name__}"
        )
    from .executor import Executor

    if isinstance(target, Executor):
        target._grad_hook = fn
        return
    leaf = getattr(target, "_ag", None)
    if not isinstance(leaf, Leaf):
        raise MXNetError(
            "register_grad_hook: the array is not marked with attach_grad() "
            "(and is not an Executor)"
        )
    leaf.hook = fn


def get_grad_hook(target):
    """The hook ``register_grad_hook`` installed on ``target`` (None when there is none or
    ``target`` is an NDArray not marked with attach_grad)."""
    from .executor import Executor

    if isinstance(target, Executor):
        return target._grad_hook
    leaf = getattr(target, "_ag", None)
    return leaf.hook if isinstance(leaf, Leaf) else None


class _Node:
    """One recorded operator call: what backward needs to differentiate it."""

    __slots__ = ("op", "attrs", "inputs", "in_data", "out_data", "saved", "freed")

    def __init__(self, op, attrs, inputs, in_data, out_data, saved):
        self.op = op
        self.attrs = attrs
        self.inputs = inputs
        self.in_data = in_data
        self.out_data = out_data
        self.saved = saved
        self.freed = False


def _record_copy(src, dst):
    from .ops.registry import get_op

    _record_node(get_op("_copyto"), {"ctx": dst._ctx}, [src], [src._data], [dst._data], None, [dst])


def set_recording(is_recording):
    """Set recording on or off; return the previous state."""
    return _set_flag("recording", bool(is_recording))


def set_training(train_mode):
    """Set training mode on or off; return the previous state."""
    return _set_flag("training", bool(train_mode))


def is_recording():
    """Whether operators are being recorded for differentiation (in this thread)."""
    return _state.recording


def is_training():
    """Whether operators run in training mode (Dropout active, BatchNorm batch stats), in
    this thread."""
    return _state.training


class _Scope:
    """Context manager that sets recording/training and restores them on exit."""

    def __init__(self, is_record, train_mode):
        self._enter_record = is_record
        self._enter_train = train_mode
        self._prev = None

    def __enter__(self):
        rec = _state.recording if self._enter_record is None else self._enter_record
        train = _state.training if self._enter_train is None else self._enter_train
        self._prev = (set_recording(rec), set_training(train))
        return self

    def __exit__(self, *exc):
        set_recording(self._prev[0])
        set_training(self._prev[1])


def record(train_mode=True):
    """Scope in which operators are recorded (``with autograd.record():``)."""
    return _Scope(True, train_mode)


def pause(train_mode=False):
    """Scope in which recording is off (``with autograd.pause():``)."""
    return _Scope(False, train_mode)


def train_mode():
    """Scope forcing training mode without changing recording."""
    return _Scope(None, True)


def predict_mode():
    """Scope forcing inference mode without changing recording."""
    return _Scope(None, False)


def _record_node(op, attrs, inputs, in_data, out_data, saved, outputs):
    for x in inputs:
        ag = x._ag
        if isinstance(ag, tuple) and ag[0].freed:
            # a backward without retain_graph ended x's graph: as in MXNet, x is now a
            # constant of the graphs recorded from here on
            x._ag = None
    node = _Node(op, attrs, tuple(inputs), tuple(in_data), tuple(out_data), saved)
    for i, out in enumerate(outputs):
        out._ag = (node, i)


def mark_variables(variables, gradients, grad_reqs="write"):
    """Mark NDArrays as variables whose gradients go into ``gradients``."""
    from .ndarray.ndarray import NDArray

    if isinstance(variables, NDArray):
        variables, gradients = [variables], [gradients]
    if isinstance(grad_reqs, str):
        grad_reqs = [grad_reqs] * len(variables)
    for var, grad, req in zip(variables, gradients, grad_reqs):
        if req not in ("write", "add", "null"):
            raise MXNetError(f"grad_req must be 'write', 'add' or 'null', got {req!r}")
        var._ag = Leaf(grad, req)


def _topo_order(heads):
    """Nodes reachable from ``heads``, inputs before the nodes that use them."""
    order, seen = [], set()
    stack = [(h._ag[0], False) for h in heads if isinstance(h._ag, tuple)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for x in node.inputs:
            ag = x._ag
            if isinstance(ag, tuple) and id(ag[0]) not in seen:
                stack.append((ag[0], False))
    return order


def _seed(heads, head_grads, node_grads, leaf_grads, F_nd):
    """Put the head gradients (ones by default) where backward starts."""
    for i, head in enumerate(heads):
        ag = head._ag
        if ag is None:
            raise MXNetError(
                "cannot differentiate: the array is not in a computational graph; compute it "
                "inside `with autograd.record():` from arrays marked with attach_grad()"
            )
        hg = None if head_grads is None else head_grads[i]
        if hg is None:
            data = head._data
            if type(data) is _ndarray:  # ones, without ones_like's and the scope's calls
                hg = _np_empty(data.shape, data.dtype)
                hg.fill(1)
            else:
                with _array_scope(data):  # cupy allocates on its current device
                    hg = head._ctx.xp.ones_like(data)
        else:
            hg = hg._read() if hasattr(hg, "_read") else hg
        if F_nd is not None:
            hg = _nd_wrap(hg, head._ctx)
        if isinstance(ag, Leaf):
            prev = leaf_grads.get(id(ag))
            leaf_grads[id(ag)] = (head, hg if prev is None else prev[1] + hg)
        else:
            slot = node_grads.setdefault(ag[0], [None] * len(ag[0].out_data))
            slot[ag[1]] = hg if slot[ag[1]] is None else slot[ag[1]] + hg


def _nd_wrap(data, ctx):
    from .ndarray.ndarray import wrap

    return wrap(data, ctx)


def _node_backward(node, ograds, create_graph, _traced=False):
    """Input gradients of one node (arrays, or NDArrays when building a graph)."""
    if _prof.ON and not _traced:
        return _prof.node_backward(_node_backward, node, ograds, create_graph)  # noqa: E501,E701
    if node.freed:
        raise MXNetError(
            f"cannot run backward through operator {node.op.name} a second time: its graph "
            "was freed by the previous backward; pass retain_graph=True to keep it"
        )
    op = node.op
    if create_graph:
        if not op.nd_backward:
            raise MXNetError(f"second-order gradients are not supported through operator {op.name}")
        from . import ndarray as nd

        outs = [_nd_node_output(node, i) for i in range(len(node.out_data))]
        with record():
            return op.backward(nd, node.attrs, list(node.inputs), outs, node.saved, ograds)
    xp = _xp_of(node.in_data[0] if node.in_data else node.out_data[0])
    if getattr(op, "backward_req", False):
        return op.backward(
            xp,
            node.attrs,
            node.in_data,
            node.out_data,
            node.saved,
            ograds,
            req=tuple(_wants_grad(x) for x in node.inputs),
        )
    return op.backward(xp, node.attrs, node.in_data, node.out_data, node.saved, ograds)


def _wants_grad(x):
    """Whether backward should compute a gradient for input NDArray ``x``."""
    ag = x._ag
    return ag is not None and (not isinstance(ag, Leaf) or ag.req != "null")


def _nd_node_output(node, i):
    from .ndarray.ndarray import wrap

    ctx = node.inputs[0]._ctx
    out = wrap(node.out_data[i], ctx)
    out._ag = (node, i)
    return out


def _fill_ograds(node, ograds, create_graph):
    if node.op.loss_output:
        return ograds
    filled = list(ograds)
    for i, g in enumerate(filled):
        if g is None:
            ref = node.out_data[i]
            from .backend import xp_of

            g = xp_of(ref).zeros_like(ref)
            filled[i] = _nd_wrap(g, node.inputs[0]._ctx) if create_graph else g
    return filled


def _run(heads, head_grads, retain_graph, create_graph, on_final=None):
    """Backpropagate from ``heads``; return {id(var): (var, grad)} for reached leaves.

    With ``on_final``, each leaf's gradient is popped and handed to ``on_final(var, grad)``
    right after the last node that uses the leaf; what is returned is then only the
    leaves reached from the heads alone."""
    node_grads, leaf_grads = {}, {}
    _seed(heads, head_grads, node_grads, leaf_grads, create_graph or None)
    order = _topo_order(heads)
    order.reverse()
    final_at = {} if on_final is None else _final_positions(order)
    for k, node in enumerate(order):
        ograds = node_grads.pop(node, None)
        if ograds is not None:
            if type(node.in_data[0] if node.in_data else node.out_data[0]) is _ndarray:
                _backprop_node(
                    node, ograds, node_grads, leaf_grads, retain_graph, create_graph
                )  # host arrays: no device scope to enter
            else:
                with _scope_of(node):
                    _backprop_node(node, ograds, node_grads, leaf_grads, retain_graph, create_graph)
        if k in final_at:
            for var in final_at[k]:
                if id(var._ag) in leaf_grads:
                    g = leaf_grads.pop(id(var._ag))[1]  # g held by this one local (_adoptable)
                    on_final(var, g)
                    g = None
    return leaf_grads


def _final_positions(order):
    """{k: [leaf variables whose last user in ``order`` is node k]}: no node after k
    adds to their gradients (see distnet/_last_user.py)."""
    return _last_users(
        [
            [x for x in node.inputs if x._ag.__class__ is Leaf and x._ag.req != "null"]
            for node in order
        ],
        key=lambda x: id(x._ag),  # arrays sharing one Leaf (sparse fallback views) are one
    )


def _scope_of(node):
    """cupy allocates and runs on its current device: a node's backward (and the sums of
    its gradients) run on the device of the node's inputs."""
    return _array_scope(node.in_data[0] if node.in_data else node.out_data[0])


def _backprop_node(node, ograds, node_grads, leaf_grads, retain_graph, create_graph):
    """Run one node's backward and add its input gradients where they belong."""
    igrads = _node_backward(node, _fill_ograds(node, ograds, create_graph), create_graph)
    if not retain_graph and not create_graph:
        node.saved = None
        node.freed = True
    for x, g in zip(node.inputs, igrads):
        ag = x._ag
        if g is None or ag is None:
            continue
        if isinstance(ag, Leaf):
            if ag.req != "null":
                prev = leaf_grads.get(id(ag))  # by Leaf: views of one variable add up
                leaf_grads[id(ag)] = (x, g if prev is None else prev[1] + g)
        else:
            slot = node_grads.setdefault(ag[0], [None] * len(ag[0].out_data))
            slot[ag[1]] = g if slot[ag[1]] is None else slot[ag[1]] + g


@_prof.traced("MXAutogradBackwardEx", "autograd")
def backward(heads, head_grads=None, retain_graph=False, train_mode=True):
    """Compute gradients of ``heads`` into the ``.grad`` of marked variables."""
    from .ndarray.ndarray import NDArray

    if isinstance(heads, NDArray):
        heads = [heads]
        head_grads = (
            None
            if head_grads is None
            else ([head_grads] if isinstance(head_grads, NDArray) else head_grads)
        )
    with _Scope(False, train_mode):
        rest = _run(heads, head_grads, retain_graph, False, _write_leaf_grad)
        while rest:  # leaves reached from the heads alone
            var, g = rest.popitem()[1]  # g held by this one local (_adoptable)
            _write_leaf_grad(var, g)
            g = None


def _write_leaf_grad(var, g):
    """Write (or add, for grad_req 'add') a final gradient into the variable's buffer, then
    call its hook. The caller holds ``g`` in exactly one local (see ``_adoptable``)."""
    leaf = var._ag
    buf = leaf.grad
    if buf._sparse or g.__class__ is _RowSparseGrad:  # nd.sparse: row_sparse gradients
        return _write_sparse_leaf_grad(var, leaf, g)
    if buf._pending is not None:  # inline NDArray._read() (hot path)
        buf._wait()  # a kvstore pull into the buffer finishes before we replace/overwrite
    if leaf.req == "add":
        with _array_scope(buf._data):  # cupy runs the write on its current device
            buf._data += g
    elif _adoptable(buf, g):
        buf._data = g  # no copy; `buf` itself, what users hold, stays the same NDArray
    else:
        with _array_scope(buf._data):
            buf._data[...] = g
    leaf.fresh = True
    if leaf.hook is not None:
        leaf.hook(var, buf)


def _write_sparse_leaf_grad(var, leaf, g):
    """``_write_leaf_grad`` for a row_sparse buffer or gradient (see ``nd.sparse``)."""
    from .ndarray.sparse import write_grad

    write_grad(leaf.grad, g, leaf.req)
    leaf.fresh = True
    if leaf.hook is not None:
        leaf.hook(var)


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False, train_mode=True):
    """Return the gradients of ``heads`` with respect to ``variables`` (NDArrays).

    With ``create_graph=True`` the gradients are themselves recorded, so they can be
    differentiated again (second order).
    """
    from .ndarray.ndarray import NDArray, wrap

    single = isinstance(variables, NDArray)
    variables = [variables] if single else list(variables)
    if isinstance(heads, NDArray):
        heads = [heads]
        head_grads = None if head_grads is None else [head_grads]
    for v in variables:
        if not isinstance(v._ag, Leaf):
            raise MXNetError(
                "grad: every variable must be marked with attach_grad() before recording"
            )
    retain = create_graph if retain_graph is None else retain_graph
    with _Scope(create_graph, train_mode):
        leaf_grads = _run(heads, head_grads, retain, create_graph)
    out = []
    for v in variables:
        found = leaf_grads.get(id(v._ag))
        if found is None:
            with _array_scope(v._data):
                out.append(wrap(v._ctx.xp.zeros_like(v._data), v._ctx))
        else:
            g = found[1]
            out.append(g if isinstance(g, NDArray) else wrap(g, v._ctx))
    return out[0] if single else out


def get_symbol(x):
    """The recorded computation that produced ``x``, as a Symbol (MXNet's
    ``autograd.get_symbol``): one node per recorded operator call; every array the tape
    did not produce (a marked variable or a constant) becomes one variable, ``var0``,
    ``var1``, ... (the same array used twice is one variable)."""
    from .symbol.compose import Variable, create

    made, variables = {}, {}

    def entry(arr):
        ag = arr._ag
        if isinstance(ag, tuple):
            sym = made[id(ag[0])]
            return sym[ag[1]] if len(sym.list_outputs()) > 1 else sym
        if id(arr) not in variables:
            variables[id(arr)] = (arr, Variable(f"var{len(variables)}"))
        return variables[id(arr)][1]

    if not isinstance(getattr(x, "_ag", None), tuple):
        raise MXNetError(
            "get_symbol: the array was not computed while recording "
            "(use it inside autograd.record())"
        )
    for node in _topo_order([x]):
        args = [entry(a) for a in node.inputs]
        if hasattr(node.op, "to_symbol"):  # a hybridized block's CachedOp call
            made[id(node)] = node.op.to_symbol(args)
            continue
        attrs = {k: v for k, v in node.attrs.items() if not k.startswith("__")}
        made[id(node)] = create(node.op, node.op.name.lower(), args, attrs)
    return entry(x)


class Function:
    """A user-defined differentiable function (override ``forward`` and ``backward``).

    ``forward`` and ``backward`` take and return NDArrays; ``save_for_backward`` keeps
    arrays for the backward pass, as in MXNet.
    """

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        """Keep ``args`` for ``backward`` (available as ``self.saved_tensors``)."""
        self.saved_tensors = args

    def forward(self, *inputs):
        """Compute the outputs from NDArray inputs."""
        raise NotImplementedError

    def backward(self, *output_grads):
        """Return the input gradients given the output gradients."""
        raise NotImplementedError

    def __call__(self, *inputs):
        from .ndarray.ndarray import NDArray

        if self._used:
            raise MXNetError("each autograd.Function object can only be called once")
        self._used = True
        with pause(_state.training):
            outputs = self.forward(*inputs)
        single = isinstance(outputs, NDArray)
        outs = [outputs] if single else list(outputs)
        if _state.recording and any(x._ag is not None for x in inputs):
            node = _Node(
                _FunctionOp(self),
                {},
                tuple(inputs),
                tuple(x._data for x in inputs),
                tuple(o._data for o in outs),
                None,
            )
            outs = [o.detach() for o in outs]
            for i, o in enumerate(outs):
                o._ag = (node, i)
        return outs[0] if single else outs


class _FunctionOp:
    """Adapter letting the tape call a custom Function's backward on NDArrays."""

    loss_output = False
    nd_backward = False

    def __init__(self, func):
        self.func = func
        self.name = type(func).__name__

    def backward(self, F, a, ins, outs, saved, ograds):
        from .ndarray.ndarray import wrap, NDArray

        ctx = self.func_ctx(ins)
        with pause():
            res = self.func.backward(*[wrap(g, ctx) for g in ograds])
        res = [res] if isinstance(res, NDArray) else list(res)
        return [None if r is None else r._data for r in res]

    @staticmethod
    def func_ctx(ins):
        from .ndarray.ndarray import NDArray  # noqa: F401
        from .backend import xp_of
        from .context import cpu, gpu

        x = ins[0]
        return cpu(0) if xp_of(x).__name__ == "numpy" else gpu(x.device.id)
