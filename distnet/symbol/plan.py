"""``GraphPlan``: the one graph runner behind the executor (Module) and CachedOp (Gluon).

A plan is compiled once per symbol: nodes in topological order, and per operator node the
operator, its parsed attributes and the slots (entry ids) of its inputs, auxiliary states
and outputs. It does not depend on shapes or dtypes, so one plan serves every binding.

Buffer policy: a forward pass fills a slot table (one Python list per call) with the
variables' arrays and each node's outputs, as the operators return them (numpy/cupy
arrays; no copies). The table and each node's ``saved`` values form the *state* that
``backward`` consumes; the caller keeps it (the executor: until its next forward; a
recorded CachedOp call: on its autograd tape node) and dropping it frees the
intermediates. Gradients flow through a second slot table; a slot used by several nodes
sums their contributions.
"""

import numpy as np

from ..base import MXNetError
from .._last_user import last_users

__all__ = ["GraphPlan", "plan_of"]


class GraphPlan:
    """Compiled forward/backward of an indexed graph.

    Attributes
    ----------
    ix : Indexed
    variables : list of int
        Entry ids of the variables, in ``list_inputs`` order.
    heads : list of int
        Entry ids of the outputs.
    head_loss : list of bool
        Whether each output is produced by a loss operator (needs no head gradient).
    """

    def __init__(self, ix):
        self.ix = ix
        self.n_entries = ix.num_entries
        self.variables = [ix.row_ptr[i] for i in ix.variables]
        self.heads = list(ix.heads)
        steps, names = [], []
        for i, node in enumerate(ix.nodes):
            if node.op is None:
                continue
            slots = [ix.entry(e) for e in node.inputs]
            n_in = len(slots) - node.n_aux
            steps.append(
                (
                    node.op,
                    node.parsed,
                    tuple(slots[:n_in]),
                    tuple(slots[n_in:]),
                    ix.row_ptr[i],
                    len(node.out_names),
                )
            )
            names.append(node)
        self.steps = steps
        self.step_nodes = names
        owner = {}
        for k, step in enumerate(steps):
            for j in range(step[5]):
                owner[step[4] + j] = step[0]
        self.head_loss = [getattr(owner.get(e), "loss_output", False) for e in self.heads]
        self.head_blocked = [getattr(owner.get(e), "name", None) == "BlockGrad" for e in self.heads]
        self._bwd_cache = {}
        # creators with unknown dimensions (ones(shape=(-1, 3))) take the shape inference
        # finds for their output; per signature of the variables' shapes
        self._open = [k for k, st in enumerate(steps) if not st[2] and _open_shape(st[1])]
        self._open_cache = {}

    # ---------------------------------------------------------------- forward -------
    def forward(self, var_datas, is_train, monitor=None):
        """Run every node; return the state ``(slots, saved)`` for ``backward``.

        ``var_datas`` are the variables' arrays in ``list_inputs`` order.
        """
        vals = [None] * self.n_entries
        for e, data in zip(self.variables, var_datas):
            vals[e] = data
        saved = [None] * len(self.steps)
        steps = self._resolved(var_datas) if self._open else self.steps
        k = -1
        try:
            for k, (op, a, ins, aux, o0, n_out) in enumerate(steps):
                outs, saved[k] = op.forward(
                    a, [vals[i] for i in ins], [vals[i] for i in aux], is_train
                )
                if len(outs) != n_out:
                    raise MXNetError(f"returned {len(outs)} outputs, expected {n_out}")
                for j, out in enumerate(outs):
                    vals[o0 + j] = out if out.ndim else out.reshape(1)
                if monitor is not None:
                    monitor(self.step_nodes[k], [vals[i] for i in ins + aux], vals[o0 : o0 + n_out])
        except Exception as err:
            if k < 0:
                raise
            raise self._node_error(k, vals, "forward", err) from err
        return vals, saved

    def _resolved(self, var_datas):
        """The steps with open creator shapes filled by inference from the variables'
        shapes (MXNet infers them when binding)."""
        key = tuple(tuple(d.shape) for d in var_datas)
        steps = self._open_cache.get(key)
        if steps is None:
            from .infer import solve_shapes

            given = {i: shape for i, shape in zip(self.ix.variables, key)}
            shapes = solve_shapes(self.ix, given, np_mode=True)
            steps = list(self.steps)
            for k in self._open:
                op, a, ins, aux, o0, n_out = steps[k]
                shape = shapes[o0]
                if shape is None or min(shape) < 0:
                    name = self.step_nodes[k].name
                    raise MXNetError(
                        f"operator {name!r} ({op.name}): shape {tuple(a['shape'])} has "
                        f"unknown dimensions that inference cannot fill ({shape})"
                    )
                steps[k] = (op, dict(a, shape=tuple(shape)), ins, aux, o0, n_out)
            if len(self._open_cache) > 64:
                self._open_cache.clear()
            self._open_cache[key] = steps
        return steps

    def _node_error(self, k, vals, phase, err):
        node = self.step_nodes[k]
        op, _, ins, aux, _, _ = self.steps[k]
        shapes = [None if vals[i] is None else tuple(vals[i].shape) for i in ins + aux]
        names = [e[0].output_name(e[1]) for e in node.inputs]
        where = ", ".join(f"{n}: {s}" for n, s in zip(names, shapes))
        return MXNetError(
            f"{phase} of operator {node.name!r} ({op.name}) failed with inputs ({where}): {err}"
        )

    def allocated_bytes(self, var_datas, need_vars):
        """Bytes of the arrays a forward and backward pass makes for variables of these
        arrays: every operator output, and a gradient for each of them that carries one
        toward a variable flagged in ``need_vars`` (so a ``stop_gradient`` or
        ``grad_req='null'`` shrinks it). An estimate without MXNet's in-place sharing."""
        from .infer import solve_shapes, solve_types

        given = dict(zip(self.ix.variables, (tuple(d.shape) for d in var_datas)))
        shapes = solve_shapes(self.ix, given, np_mode=True)
        types = solve_types(self.ix, dict(zip(self.ix.variables, (d.dtype for d in var_datas))))
        grads = [n and r for n, r in zip(self.needs(need_vars), self._reached())]
        total = 0
        for op, a, ins, aux, o0, n_out in self.steps:
            for e in range(o0, o0 + n_out):
                if shapes[e] is None or min(shapes[e], default=0) < 0:
                    continue
                size = int(np.prod(shapes[e], dtype=np.int64))
                size *= np.dtype(types[e] or np.float32).itemsize
                total += size * ((0 if _views_input(op) else 1) + grads[e])
        return total

    def _reached(self):
        """Per entry: whether backward computes a gradient for it from the head
        gradients (the caller's arrays); BlockGrad stops them."""
        reached = [False] * self.n_entries
        heads = set(self.heads)
        for op, a, ins, aux, o0, n_out in reversed(self.steps):
            outs = range(o0, o0 + n_out)
            if op.name != "BlockGrad" and any(reached[e] or e in heads for e in outs):
                for e in ins:
                    reached[e] = True
        return reached

    # ---------------------------------------------------------------- backward ------
    def needs(self, need_vars):
        """Entries that carry gradient toward the variables flagged in ``need_vars``."""
        return self._backward_steps(tuple(bool(x) for x in need_vars))[1]

    def _backward_steps(self, need_vars):
        hit = self._bwd_cache.get(need_vars)
        if hit is not None:
            return hit
        needs = [False] * self.n_entries
        for e, flag in zip(self.variables, need_vars):
            needs[e] = flag
        bsteps = []
        for k, (op, a, ins, aux, o0, n_out) in enumerate(self.steps):
            in_need = tuple(needs[i] for i in ins)
            if any(in_need) and not op.zero_grad:  # argmax, comparisons: no gradient flows
                for j in range(n_out):
                    needs[o0 + j] = True
                bsteps.append((k, op, a, ins, o0, n_out, in_need))
        bsteps.reverse()
        hit = self._bwd_cache[need_vars] = (bsteps, needs, self._ready_after(bsteps))
        return hit

    def _ready_after(self, bsteps):
        """Per backward step, the variable positions whose gradient is final after it
        (the step is the last one that adds to that gradient; distnet/_last_user.py)."""
        pos_of = {e: p for p, e in enumerate(self.variables)}
        adds = [
            [pos_of[i] for i, flag in zip(ins, in_need) if flag and i in pos_of]
            for _, _, _, ins, _, _, in_need in bsteps
        ]
        final_at = last_users(adds)
        return [tuple(final_at.get(j, ())) for j in range(len(bsteps))]

    def backward(self, state, head_grads, need_vars, xp, on_ready=None, monitor=None):
        """Gradients of the variables (``list_inputs`` order; None where none flowed).

        ``head_grads`` has one array (or None) per output; ``need_vars`` flags the
        variables whose gradients are wanted; nodes leading to none of them are skipped.
        ``on_ready(position, grad)``, if given, is called as soon as a variable's
        gradient is final (after the last node adding to it), while the rest of backward
        still runs: callers start communicating it early. Gradients that are final
        before any node runs (a variable that is only an output) are not reported.
        ``monitor(node, inputs, input_grads)``, if given, sees each node's gradients.
        """
        vals, saved = state
        if type(need_vars) is not tuple:  # CachedOp passes a tuple of bools already
            need_vars = tuple(bool(x) for x in need_vars)
        bsteps, _, ready = self._backward_steps(need_vars)
        grads = [None] * self.n_entries
        for e, g in zip(self.heads, head_grads):
            if g is not None:
                grads[e] = g if grads[e] is None else grads[e] + g
        k = -1
        try:
            for j, (k, op, a, ins, o0, n_out, in_need) in enumerate(bsteps):
                if n_out == 1:  # the common case, checked cheaply
                    g0 = grads[o0]
                    og = [g0]
                    skip = g0 is None and not op.loss_output
                elif op.loss_output:
                    og, skip = grads[o0 : o0 + n_out], False
                else:
                    og, skip = _fill_missing(grads[o0 : o0 + n_out], vals, o0, xp)
                if skip:  # no gradient reaches this node
                    if on_ready is not None and ready[j]:
                        self._report_ready(ready[j], grads, on_ready)
                    continue
                args = (xp, a, [vals[i] for i in ins], vals[o0 : o0 + n_out], saved[k], og)
                igrads = op.backward(*args, req=in_need) if op.backward_req else op.backward(*args)
                if monitor is not None:
                    monitor(self.step_nodes[k], args[2], igrads)
                for i, g, flag in zip(ins, igrads, in_need):
                    if flag and g is not None:
                        cur = grads[i]
                        grads[i] = g if cur is None else cur + g
                if on_ready is not None and ready[j]:
                    self._report_ready(ready[j], grads, on_ready)
        except _HookFailed as failed:
            raise failed.__cause__ from None  # the caller's own error, not the node's
        except Exception as err:
            if k < 0:
                raise
            raise self._node_error(k, vals, "backward", err) from err
        return [grads[e] for e in self.variables]

    def _report_ready(self, positions, grads, on_ready):
        variables = self.variables
        for p in positions:
            g = grads[variables[p]]
            if g is not None:
                try:
                    on_ready(p, g)
                except Exception as err:
                    raise _HookFailed() from err


def _fill_missing(og, vals, o0, xp):
    """(head gradients with zeros for the outputs that got none, whether none got any)."""
    missing = [g is None for g in og]  # `None in og` would compare arrays
    if all(missing):
        return og, True
    if any(missing):
        og = [xp.zeros_like(vals[o0 + n]) if g is None else g for n, g in enumerate(og)]
    return og, False


class _HookFailed(Exception):
    """Carries an ``on_ready`` callback's error past the node-error wrapping."""


def _views_input(op):
    """Whether ``op``'s output is its input or a view of it (no memory of its own)."""
    from ..ops.shape import _ShapeOnly

    return op.name == "BlockGrad" or isinstance(op, _ShapeOnly)


def _open_shape(a):
    """Whether parsed attributes ``a`` hold a ``shape`` with unknown (-1) dimensions."""
    shape = a.get("shape") if isinstance(a, dict) else None
    return isinstance(shape, tuple) and any(isinstance(d, int) and d < 0 for d in shape)


def plan_of(sym):
    """The (cached) plan of a Symbol."""
    plan = sym._plan
    if plan is None:
        plan = sym._plan = GraphPlan(sym._indexed())
    return plan
