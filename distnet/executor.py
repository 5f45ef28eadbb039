"""``Executor``: a Symbol bound to arrays, run forward and backward (MXNet's executor).

Made by ``Symbol.simple_bind`` (arrays allocated from inferred shapes) or ``Symbol.bind``
(the caller's arrays). It runs the symbol's ``GraphPlan`` (``distnet/symbol/plan.py``),
compiled once per symbol and shared by every executor of it.

Buffer policy: ``arg_arrays``, ``grad_arrays`` and ``aux_arrays`` are the bound NDArrays
and keep their identity for the executor's life; backward writes each gradient into its
bound array (``write``: assigned, ``add``: added, ``null``: no array). ``outputs`` are
NDArrays made once at bind (Module keeps them); each forward points their data at the
arrays the output operators return, without copying. Intermediate arrays live in the plan
state of the last forward and are released by the next one.
"""

import numpy as np

from .base import MXNetError
from . import profiler as _prof
from .ndarray.ndarray import NDArray, wrap
from .ops.sparse_ops import RowSparseGrad as _RowSparseGrad

__all__ = ["Executor", "bind", "simple_bind"]

_REQS = ("write", "add", "null")
_NOTHING = ((), ())  # the state kept by executors that compute no gradient


class Executor:
    """A bound symbol: ``forward``, ``backward`` and the bound arrays by name.

    Attributes
    ----------
    arg_arrays, grad_arrays, aux_arrays : list of NDArray
        In ``list_arguments``/``list_auxiliary_states`` order (a grad is None where
        ``grad_req`` is ``'null'``).
    outputs : list of NDArray
        The outputs of the last forward.
    """

    def __init__(
        self, symbol, ctx, arg_arrays, grad_arrays, grad_reqs, aux_arrays, out_shapes, out_types
    ):
        from .symbol.plan import plan_of

        self._symbol = symbol
        self._ctx = ctx
        self._optimized = symbol._optimized()  # MXNET_ELIMINATE_COMMON_EXPR
        self._plan = plan_of(self._optimized)
        self._arg_names = symbol.list_arguments()
        self._aux_names = symbol.list_auxiliary_states()
        self._out_names = symbol.list_outputs()
        for names in (self._arg_names, self._aux_names):
            if len(set(names)) != len(names):
                raise MXNetError(f"Duplicate names detected, {names}")
        self.arg_arrays = list(arg_arrays)
        self.grad_arrays = list(grad_arrays)
        self.aux_arrays = list(aux_arrays)
        self._grad_req = dict(zip(self._arg_names, grad_reqs))
        xp = ctx.xp
        with ctx:  # on ctx's GPU (cupy allocates on its current device)
            self.outputs = [wrap(xp.zeros(s, t), ctx) for s, t in zip(out_shapes, out_types)]
        self._state = None
        self._out_share = None  # Executor.reshape: the original's outputs
        self._monitor = None
        self._backward_monitor = None
        self._grad_hook = None
        self._arg_dict = self._grad_dict = self._aux_dict = self._output_dict = None
        self._wire()

    def _wire(self):
        """Precompute what forward/backward touch per call."""
        ix = self._plan.ix
        args = iter(self.arg_arrays)
        auxs = iter(self.aux_arrays)
        grads = iter(zip(self.grad_arrays, self._grad_req.values()))
        self._var_arrays, need, self._writes = [], [], []
        self._arg_at = {}  # variable position -> argument index
        for pos, i in enumerate(ix.variables):
            if i in ix.mutable:
                self._var_arrays.append(next(auxs))
                need.append(False)
                continue
            self._arg_at[pos] = len(self._arg_at)
            self._var_arrays.append(next(args))
            grad, req = next(grads)
            flag = grad is not None and req != "null"
            need.append(flag)
            if flag:
                self._writes.append((pos, grad, req == "add"))
        self._write_at = {pos: (buf, add) for pos, buf, add in self._writes}
        self._need = tuple(need)
        needs = self._plan.needs(self._need)
        # heads through which no gradient flows (argmax, comparisons) take no head gradient
        self._head_used = [needs[e] for e in self._plan.heads]
        self._head_check = [
            needs[e] and not loss and not blocked
            for e, loss, blocked in zip(
                self._plan.heads, self._plan.head_loss, self._plan.head_blocked
            )
        ]

    # ---------------------------------------------------------------- dicts ---------
    # The bound arrays never change identity, so each dict is built once.
    @property
    def arg_dict(self):
        """{argument name: bound NDArray}."""
        if self._arg_dict is None:
            self._arg_dict = dict(zip(self._arg_names, self.arg_arrays))
        return self._arg_dict

    @property
    def grad_dict(self):
        """{argument name: gradient NDArray or None}."""
        if self._grad_dict is None:
            self._grad_dict = dict(zip(self._arg_names, self.grad_arrays))
        return self._grad_dict

    @property
    def aux_dict(self):
        """{auxiliary state name: NDArray}."""
        if self._aux_dict is None:
            self._aux_dict = dict(zip(self._aux_names, self.aux_arrays))
        return self._aux_dict

    @property
    def output_dict(self):
        """{output name: NDArray}."""
        if self._output_dict is None:
            self._output_dict = dict(zip(self._out_names, self.outputs))
        return self._output_dict

    # ---------------------------------------------------------------- running -------
    @_prof.traced("MXExecutorForward", "executor")
    def forward(self, is_train=False, **kwargs):
        """Run the graph (training mode if ``is_train``); ``kwargs`` are copied into the
        bound arguments first. Returns ``outputs``."""
        if kwargs:
            self._copy_in(kwargs)
        datas = []
        for arr in self._var_arrays:
            if arr._pending is not None:  # inline NDArray._read() (hot path)
                arr._wait()
            datas.append(arr._data)
        self._state = None  # let the previous intermediates go before making new ones
        with self._ctx:  # creation/random nodes and cupy kernels go to the bound device
            state = self._plan.forward(datas, bool(is_train), self._monitor)
        vals = state[0]
        for out, e in zip(self.outputs, self._plan.heads):
            out._data = vals[e]
        if self._out_share:
            self._share_outputs()
        # with no gradient to compute, backward needs nothing of the forward pass
        self._state = state if self._writes else _NOTHING
        return self.outputs

    def _share_outputs(self):
        """A reshaped executor writes its outputs into the memory of the original's
        (MXNet's reshape shares it): the first elements of each original output that is
        large enough and of the same dtype hold this one's values. Only memory the
        original's output owns is written (never a view of a bound argument)."""
        bound = {id(a._data) for a in self._var_arrays}
        for out, old in zip(self.outputs, self._out_share):
            src, dst = out._data, old._data
            if (
                dst.base is not None
                or id(dst) in bound
                or dst.dtype != src.dtype
                or dst.size < src.size
                or not dst.flags.c_contiguous
            ):
                continue
            view = dst.reshape(-1)[: src.size].reshape(src.shape)
            view[...] = src
            out._data = view

    def _copy_in(self, kwargs):
        arg_dict = self.arg_dict
        for name, value in kwargs.items():
            dst = arg_dict.get(name)
            if dst is None:
                raise MXNetError(
                    f"forward: unknown argument {name!r}; the arguments are {self._arg_names}"
                )
            shape = tuple(value.shape)
            if shape != dst.shape:
                raise MXNetError(
                    f"forward: argument {name!r} has shape {dst.shape}, got an "
                    f"array of shape {shape}"
                )
            dst[:] = value

    @_prof.traced("MXExecutorBackwardEx", "executor")
    def backward(self, out_grads=None, is_train=True):
        """Backpropagate from the outputs into the bound gradient arrays (per grad_req).

        ``out_grads`` (an NDArray or a list, one per output) may be omitted for outputs
        of loss operators (``SoftmaxOutput``, ``MakeLoss``...) and for outputs no gradient
        flows through (``argmax``, comparisons, ``BlockGrad``: what is passed for those is
        not used, so its shape is not checked). Entries past the last output are ignored,
        as in MXNet. Called before any ``forward``, it runs ``forward(is_train=True)`` on
        the bound arguments first (MXNet would use whatever its buffers held).
        """
        if self._state is None:
            # MXNet runs backward on whatever its buffers hold; distnet runs the forward
            # pass on the bound arguments first, so the gradients are well defined
            self.forward(is_train=True)
        with self._ctx:  # cupy allocates and runs on its current device: the bound one
            heads = self._head_grads(out_grads)
            if not self._writes:
                return
            xp = self._ctx.xp
            hook = self._grad_hook
            if hook is None:
                grads = self._plan.backward(
                    self._state, heads, self._need, xp, monitor=self._backward_monitor
                )
                self._write_grads(grads, ())
                return
            early = set()

            def on_ready(pos, g):
                buf, add = self._write_at[pos]
                _write_grad(buf, g, add)
                early.add(pos)
                arg = self._arg_at[pos]
                hook(self.arg_arrays[arg], self.grad_arrays[arg])

            grads = self._plan.backward(
                self._state, heads, self._need, xp, on_ready, self._backward_monitor
            )
            self._write_grads(grads, early)

    def _write_grads(self, grads, done):
        """Write (``add``: add) each computed gradient into its bound buffer, except the
        positions in ``done`` (written as soon as they were final)."""
        for pos, buf, add in self._writes:
            if pos not in done:
                _write_grad(buf, grads[pos], add)

    def _head_grads(self, out_grads):
        n = len(self.outputs)
        if out_grads is None:
            out_grads = [None] * n
        elif isinstance(out_grads, (NDArray, np.ndarray)):
            out_grads = [out_grads]
        # missing trailing out_grads are None; extra ones are ignored, as in MXNet
        out_grads = list(out_grads[:n]) + [None] * (n - len(out_grads))
        heads = []
        for k, g in enumerate(out_grads):
            if not self._head_used[k]:
                g = None
            if g is None:
                if self._head_check[k]:
                    raise MXNetError(
                        f"backward: output {self._out_names[k]!r} is not produced by a loss "
                        "operator, so a head gradient is required: pass out_grads"
                    )
                heads.append(None)
                continue
            data = g._read() if isinstance(g, NDArray) else self._ctx.xp.asarray(g)
            if tuple(data.shape) != self.outputs[k].shape:
                raise MXNetError(
                    f"backward: out_grad for {self._out_names[k]!r} has shape "
                    f"{tuple(data.shape)}, the output has shape "
                    f"{self.outputs[k].shape}"
                )
            dtype = self.outputs[k].dtype
            if data.dtype != dtype:  # MXNet copies it into a buffer of the output's dtype
                data = data.astype(dtype)
            heads.append(data)
        return heads

    def set_monitor_callback(self, callback, monitor_all=False):
        """Call ``callback(name, NDArray)`` for every node output (and, with
        ``monitor_all``, every node input) during forward, and during backward for the
        gradients of every node's inputs (``fc1_backward_output0``..., as MXNet; zeros
        where no gradient flows)."""
        if callback is None:
            self._monitor = self._backward_monitor = None
            return
        ctx = self._ctx

        def monitor(node, ins, outs):
            if monitor_all:
                names = tuple(node.op.input_names(node.parsed)) + tuple(
                    node.op.aux_names(node.parsed)
                )
                for name, arr in zip(names, ins):
                    callback(f"{node.name}_{name}", wrap(arr, ctx))
            for j, out in enumerate(outs):
                callback(node.output_name(j), wrap(out, ctx))

        self._monitor = monitor

        def backward_monitor(node, ins, igrads):
            many = len(igrads) > 1
            for j, (x, g) in enumerate(zip(ins, igrads)):
                name = f"{node.name}_backward_output{j if many else ''}"
                callback(name, wrap(ctx.xp.zeros_like(x) if g is None else g, ctx))

        self._backward_monitor = backward_monitor

    # ---------------------------------------------------------------- params --------
    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        """Copy ``{name: array}`` values into the bound arguments and auxiliary states."""
        for params, target, kind in (
            (arg_params, self.arg_dict, "arguments"),
            (aux_params or {}, self.aux_dict, "auxiliary states"),
        ):
            for name, value in params.items():
                dst = target.get(name)
                if dst is None:
                    if allow_extra_params:
                        continue
                    raise MXNetError(
                        f"copy_params_from: {name!r} is not in the {kind} {list(target)}"
                    )
                if tuple(value.shape) != dst.shape:
                    raise MXNetError(
                        f"copy_params_from: {name!r} has shape {dst.shape}, "
                        f"got {tuple(value.shape)}"
                    )
                dst[:] = value

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        """A new executor for new input shapes sharing this one's parameters and plan."""
        from .symbol.binding import reshape

        return reshape(self, partial_shaping, allow_up_sizing, kwargs)

    def debug_str(self):
        """The bound symbol's graph listing and, as MXNet, the memory it allocates."""
        mb = self._plan.allocated_bytes(self._var_arrays, self._need) >> 20
        return self._optimized.debug_str() + f"Total {mb} MB allocated\n"

    def get_optimized_symbol(self):
        """The symbol this executor runs: common expressions merged, as MXNet."""
        return self._optimized

    def __repr__(self):
        return f"<Executor of {self._symbol!r} on {self._ctx}>"


def _write_grad(buf, g, add):
    """Write gradient ``g`` (None: none flowed) into ``buf`` per its request."""
    if g.__class__ is _RowSparseGrad or buf._sparse:  # row_sparse gradients (nd.sparse)
        return _write_sparse_grad(buf, g, add)
    # inline NDArray._read() (hot path): a kvstore push of the last gradient may still read it
    if buf._pending is not None:
        buf._wait()
    if add:
        if g is not None:
            buf._data += g
    elif g is None:
        buf._data[...] = 0
    else:
        buf._data[...] = g


def _write_sparse_grad(buf, g, add):
    """``_write_grad`` with a row_sparse gradient or buffer (dense buffers get the dense
    gradient, as MXNet's executor falls back)."""
    from .ndarray.sparse import write_grad

    if g is None:
        if not add:
            buf[:] = 0
        return
    write_grad(buf, g, "add" if add else "write")


# ------------------------------------------------------------------ binding ---------
def grad_reqs(grad_req, names):
    """One request per name from a string, a list or a dict (missing names: 'null')."""
    if isinstance(grad_req, str):
        reqs = [grad_req] * len(names)
    elif isinstance(grad_req, dict):
        reqs = [grad_req.get(n, "null") for n in names]
    else:
        reqs = list(grad_req)
        if len(reqs) != len(names):
            raise MXNetError(f"grad_req: {len(reqs)} requests for {len(names)} arguments")
    for name, req in zip(names, reqs):
        if req not in _REQS:
            raise MXNetError(f"grad_req for {name!r} must be 'write', 'add' or 'null', got {req!r}")
    return reqs


def bind(symbol, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None):
    """``Symbol.bind``: an executor over the caller's arrays (no copies)."""
    from .symbol.binding import arrays_in_order, check_bound

    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    args = arrays_in_order(args, arg_names, "args", required=True)
    aux = arrays_in_order(aux_states or [], aux_names, "aux_states", required=True)
    grads = (
        arrays_in_order(args_grad, arg_names, "args_grad", required=False)
        if args_grad is not None
        else [None] * len(arg_names)
    )
    reqs = grad_reqs(grad_req, arg_names)
    reqs = ["null" if g is None else r for g, r in zip(grads, reqs)]
    out_shapes, out_types = check_bound(symbol, ctx, args, grads, aux, group2ctx)
    return Executor(symbol, ctx, args, grads, reqs, aux, out_shapes, out_types)


def simple_bind(
    symbol,
    ctx,
    grad_req="write",
    type_dict=None,
    shared_arg_names=None,
    shared_exec=None,
    shared_buffer=None,
    shapes=None,
    group2ctx=None,
):
    """``Symbol.simple_bind``: allocate arguments, gradients and auxiliary states from the
    shapes inferred from ``shapes`` (input name -> shape)."""
    from .symbol.binding import allocate

    return allocate(
        symbol,
        ctx,
        grad_req,
        type_dict or {},
        shared_arg_names,
        shared_exec,
        shared_buffer,
        shapes or {},
        group2ctx,
    )
