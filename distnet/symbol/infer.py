"""Shape and type inference over a symbol's graph.

Known shapes (given by the caller, or ``__shape__`` hints on variables) propagate through
the operators in both directions until nothing changes, as MXNet's InferShape pass:
partial shapes (unknown dimensions) are merged, elementwise operators share shapes
between inputs and outputs, and unknown input dimensions are solved from known outputs
(``_partial``). Unknown dimensions are 0 outside NumPy shape mode and -1 inside it.
"""

import warnings

import numpy as np

from ..base import MXNetError
from ._partial import UNKNOWN, Conflict, backward_solve, forward_probe, is_known, merge, same_shape

__all__ = ["infer_shape", "infer_type", "solve_shapes", "solve_types"]


def _steps(ix):
    """(node, input entry ids, first output entry id) for the operator nodes, in order."""
    out = []
    for i, node in enumerate(ix.nodes):
        if node.op is not None:
            out.append((node, [ix.entry(e) for e in node.inputs], ix.row_ptr[i]))
    return out


def _given(sym, ix, args, kwargs, what):
    """{variable node index: value} from positional (argument order) or keyword values."""
    if args and kwargs:
        raise MXNetError(f"{what}: give known values either positionally or by keyword, not both")
    given = {}
    if args:
        arg_nodes = ix.arguments()
        if len(args) > len(arg_nodes):
            raise MXNetError(
                f"{what}: {len(args)} positional values for {len(arg_nodes)} arguments"
            )
        for i, value in zip(arg_nodes, args):
            if value is not None:
                given[i] = value
        return given
    by_name = {}
    for i in ix.variables:
        by_name.setdefault(ix.nodes[i].name, []).append(i)
    for key, value in kwargs.items():
        if key not in by_name:
            raise MXNetError(
                f"{what}: keyword argument {key!r} is not an input of the "
                f"symbol; its inputs are {sym.list_inputs()}"
            )
        if value is not None:
            for i in by_name[key]:
                given[i] = value
    return given


# ------------------------------------------------------------------ shapes ----------
def _partial_shape(dims, np_mode):
    """A user's shape as a partial shape: unknown dimensions -1, None if nothing is known.

    Outside NumPy shape mode (MXNet's legacy semantics) a 0 dimension and an empty shape
    mean unknown; in NumPy shape mode unknown is -1 and 0 is a real (empty) dimension.
    """
    if not np_mode and not dims:
        return None
    limit = 0 if np_mode else 1
    return tuple(d if d >= limit else UNKNOWN for d in dims)


def _as_shape(value, where, np_mode):
    try:
        if isinstance(value, (int, np.integer)):
            dims = (int(value),)
        else:
            dims = tuple(int(d) for d in value)
    except (TypeError, ValueError):
        raise MXNetError(
            f"infer_shape: shape of {where} must be a tuple of ints, got {value!r}"
        ) from None
    return _partial_shape(dims, np_mode)


def _hint(node, np_mode):
    text = node.attrs.get("__shape__")
    if not text:
        return None
    from ..ops.attrs import Shape

    try:
        dims = Shape(text)
    except (ValueError, TypeError, SyntaxError):
        raise MXNetError(f"variable {node.name!r}: invalid __shape__ attribute {text!r}") from None
    # a hint's 0 stays "unknown" in NumPy shape mode too: Gluon's deferred parameters
    # (Dense(16) before its input is seen) and MXNet 1.x scripts write it that way
    return tuple(d if d > 0 else UNKNOWN for d in dims) if dims else _partial_shape((), np_mode)


class _Solver:
    """Shape propagation over the entries of an indexed graph, as MXNet's InferShape pass.

    Every entry holds a partial shape (None, or unknown dimensions -1). Passes over the
    operators, forward then backward, merge what each operator says about its inputs and
    outputs (see ``_partial``) until a pass changes nothing. Known shapes flow both ways:
    ``a + b`` learns ``a``'s shape from its output, a convolution its data's size from a
    later operator's known output.
    """

    def __init__(self, ix, given, np_mode):
        self.ix = ix
        self.shapes = [None] * ix.num_entries
        self._done = set()  # nodes whose known shapes the operator has confirmed
        for i in ix.variables:
            node = ix.nodes[i]
            value = given.get(i)
            self.shapes[ix.row_ptr[i]] = (
                _as_shape(value, repr(node.name), np_mode)
                if value is not None
                else _hint(node, np_mode)
            )

    def _assign(self, node, e, shape, what):
        if shape is None:
            return False
        old = self.shapes[e]
        if old is not None and old == shape:  # the common case: nothing new
            return False
        # negative dimensions only come from a creator's open shape (ones(shape=(-1, 3)))
        shape = tuple(max(int(d), UNKNOWN) for d in shape)
        if not shape and what == "output":
            shape = (1,)  # MXNet has no 0-d arrays
        try:
            new = merge(old, shape)
        except Conflict:
            raise self._conflict(node, e, old, shape, what) from None
        if new == old:
            return False
        self.shapes[e] = new
        return True

    def _conflict(self, node, e, old, new, what):
        name = self.ix.entry_names()[e]
        kind = "argument" if name in (n.name for n in self.ix.nodes if n.op is None) else "entry"
        return MXNetError(
            f"infer_shape: error in operator {node.name!r} ({node.op.name}): "
            f"{what} {kind} {name!r} has shape {old}, but the operator "
            f"infers {new}"
        )

    def _take(self, node, in_e, new_ins, out_e, new_outs):
        changed = False
        for e, s in zip(in_e, new_ins):
            changed |= self._assign(node, e, s, "input")
        for e, s in zip(out_e, new_outs):
            changed |= self._assign(node, e, s, "output")
        return changed

    def _visit(self, node, in_e, o0):
        out_e = list(range(o0, o0 + len(node.out_names)))
        n_in = len(in_e) - node.n_aux
        ins = [self.shapes[e] for e in in_e]
        if all(is_known(s) for s in ins):
            if id(node) in self._done:
                return False
            new_ins, new_outs = self._full(node, ins, n_in)
            changed = self._take(node, in_e, new_ins, out_e, new_outs)
            if all(is_known(self.shapes[e]) for e in out_e):
                self._done.add(id(node))  # checked; known shapes never change again
            return changed
        if not self._ready(node, ins):
            return False
        changed = self._from_known(node, in_e, ins, n_in, out_e)
        if changed and all(is_known(self.shapes[e]) for e in list(in_e) + out_e):
            self._done.add(id(node))  # the operator filled and checked everything
            return True
        if _probe_safe(node.op):
            changed |= self._partial(node, in_e, n_in, out_e)
        return changed

    def _partial(self, node, in_e, n_in, out_e):
        """What partly known shapes tell: elementwise sharing, probing forward, solving
        inputs from known outputs (``_partial``)."""
        changed = False
        if same_shape(node, n_in, node.n_aux):
            changed |= self._same(node, in_e, out_e)
        ins = [self.shapes[e] for e in in_e]
        if any(s is not None and not is_known(s) for s in ins):
            probed = forward_probe(node, ins[:n_in], ins[n_in:])
            if probed is not None:
                changed |= self._take(node, in_e, probed[0], out_e, probed[1])
        outs = [self.shapes[e] for e in out_e]
        ins = [self.shapes[e] for e in in_e]
        if any(s is not None and any(d >= 0 for d in s) for s in outs):
            solved = backward_solve(node, ins, n_in, outs)
            if solved is not None:
                changed |= self._take(node, in_e, solved, out_e, [])
        return changed

    @staticmethod
    def _ready(node, ins):
        """Whether the inputs an operator needs fully known (its ``needs_known`` names,
        as ``where``'s condition) are known."""
        needs = getattr(node.op, "needs_known", ())
        if not needs:
            return True
        names = list(node.op.input_names(node.parsed))
        return all(is_known(ins[names.index(n)]) for n in needs)

    def _full(self, node, ins, n_in):
        """The operator's shapes for fully known inputs; its errors name the node."""
        try:
            new_in, new_out, new_aux = node.op.infer_shape(node.parsed, ins[:n_in], ins[n_in:])
        except MXNetError as err:  # the operator's own check names what is wrong
            raise MXNetError(
                f"infer_shape: error in operator {node.name!r} ({node.op.name}): {err}"
            ) from None
        except Exception as err:  # e.g. numpy on shapes that do not fit
            raise MXNetError(
                f"infer_shape: error in operator {node.name!r} "
                f"({node.op.name}) with input shapes {ins}: {err}"
            ) from None
        return list(new_in) + list(new_aux), list(new_out)[: len(node.out_names)]

    def _from_known(self, node, in_e, ins, n_in, out_e):
        """What the operator fills from its fully known inputs (a FullyConnected's weight
        from its data); the unknown ones are passed as None."""
        known = [s if is_known(s) else None for s in ins]
        try:
            new_in, new_out, new_aux = node.op.infer_shape(node.parsed, known[:n_in], known[n_in:])
        except MXNetError as err:
            raise MXNetError(
                f"infer_shape: error in operator {node.name!r} ({node.op.name}): {err}"
            ) from None
        except Exception:  # noqa: BLE001 - cannot tell yet; a later pass may know more
            return False
        n_out = len(out_e)
        return self._take(node, in_e, list(new_in) + list(new_aux), out_e, list(new_out)[:n_out])

    def _same(self, node, in_e, out_e):
        """Elementwise operators: inputs and outputs share what is known of each."""
        merged = None
        for e in list(in_e) + out_e:
            try:
                merged = merge(merged, self.shapes[e])
            except Conflict:
                raise self._conflict(node, e, self.shapes[e], merged, "input") from None
        if merged is None:
            return False
        return self._take(node, in_e, [merged] * len(in_e), out_e, [merged] * len(out_e))

    def run(self):
        """Forward and backward passes until nothing changes; return the shapes."""
        steps = _steps(self.ix)
        for _ in range(2 * len(steps) + 4):
            changed = False
            for node, in_e, o0 in steps:
                changed |= self._visit(node, in_e, o0)
            for node, in_e, o0 in reversed(steps):
                changed |= self._visit(node, in_e, o0)
            if not changed:
                break
        return self.shapes


_SAFE = {}


def _probe_safe(op):
    """Whether ``op`` may be run on made-up shapes: its inference does not run a forward
    that draws random numbers or calls user code (which would change what a seeded
    program computes)."""
    safe = _SAFE.get(op.name)
    if safe is None:
        from ..ops.registry import Op
        from .cse import is_pure

        safe = _SAFE[op.name] = is_pure(op) or type(op).infer_shape is not Op.infer_shape
    return safe


def solve_shapes(ix, given, np_mode=False):
    """Partial shapes of every entry of ``ix`` (None or -1 dimensions where unknown)."""
    return _Solver(ix, given, np_mode).run()


def _user_shape(shape, np_mode):
    """A partial shape as MXNet returns it: unknown is None/-1 in NumPy shape mode,
    ``()``/0 otherwise."""
    if shape is None:
        return None if np_mode else ()
    if np_mode:
        return shape
    return tuple(0 if d == UNKNOWN else d for d in shape)


def _result(ix, values, complete, partial, what):
    """(arg, out, aux) lists of ``values`` per entry; when not ``partial`` and an entry
    is not ``complete``, a warning naming the arguments and (None, None, None), as MXNet."""
    arg = [values[ix.row_ptr[i]] for i in ix.arguments()]
    aux = [values[ix.row_ptr[i]] for i in ix.auxiliary()]
    out = [values[e] for e in ix.heads]
    if not partial:
        missing = [
            (ix.nodes[i].name, values[ix.row_ptr[i]])
            for i in ix.variables
            if not complete[ix.row_ptr[i]]
        ]
        if missing or not all(complete[e] for e in ix.heads):
            lines = "".join(f"\n\t{n}: {v}" for n, v in missing)
            note = " (0s in shape means unknown dimensions)" if what == "shape" else ""
            warnings.warn(
                f"Cannot decide {what} for the following arguments{note}. "
                f"Consider providing them as input:{lines}",
                stacklevel=4,
            )
            return None, None, None
    return arg, out, aux


def infer_shape(sym, args, kwargs, partial):
    """``Symbol.infer_shape``/``infer_shape_partial``."""
    from ..util import is_np_shape

    np_mode = is_np_shape()
    ix = sym._indexed()
    shapes = solve_shapes(ix, _given(sym, ix, args, kwargs, "infer_shape"), np_mode)
    complete = [is_known(s) for s in shapes]
    values = [_user_shape(s, np_mode) for s in shapes]
    return _result(ix, values, complete, partial, "shape")


# ------------------------------------------------------------------ types -----------
def _as_dtype(value, where):
    try:
        return np.dtype(value)
    except TypeError:
        raise MXNetError(f"infer_type: dtype of {where} is not a data type: {value!r}") from None


def _type_hint(node):
    text = node.attrs.get("__dtype__")
    if text is None or text in ("-1", ""):
        return None
    from ..ndarray.serialize import _FLAG_TO_DTYPE

    flag = int(text)
    if flag not in _FLAG_TO_DTYPE:
        raise MXNetError(f"variable {node.name!r}: unknown __dtype__ type flag {text}")
    return np.dtype(_FLAG_TO_DTYPE[flag])


def solve_types(ix, given):
    """dtypes of every entry of ``ix`` (None where unknown)."""
    types = [None] * ix.num_entries
    for i in ix.variables:
        node = ix.nodes[i]
        value = given.get(i)
        types[ix.row_ptr[i]] = (
            _as_dtype(value, repr(node.name)) if value is not None else _type_hint(node)
        )
    steps = _steps(ix)
    for _ in range(len(steps) + 1):
        changed = False
        for node, in_e, o0 in steps:
            changed |= _visit_type(ix, types, node, in_e, o0)
        if not changed:
            break
    return types


def _visit_type(ix, types, node, in_e, o0):
    n_in = len(in_e) - node.n_aux
    ins = [types[e] for e in in_e[:n_in]]
    aux = [types[e] for e in in_e[n_in:]]
    n_out = len(node.out_names)
    known = [t for t in ins + aux if t is not None]
    if len(known) == len(in_e) and None not in types[o0 : o0 + n_out]:
        return False
    new_in, new_out, new_aux = node.op.infer_type(node.parsed, ins, aux)
    if in_e and not known:
        # nothing known: only an output type the operator takes from its attributes
        # (Cast's dtype) counts, not the float32 default it fills the inputs with
        if any(t is not None for t in list(new_in) + list(new_aux)):
            return False
        new_in, new_aux = [], []
    changed = False
    names = None
    for e, t in list(zip(in_e, list(new_in) + list(new_aux))) + [
        (o0 + j, t) for j, t in enumerate(list(new_out)[:n_out])
    ]:
        if t is None:
            continue
        t = np.dtype(t)
        if types[e] is None:
            types[e] = t
            changed = True
        elif types[e] != t:
            names = names or ix.entry_names()
            raise MXNetError(
                f"infer_type: error in operator {node.name!r} "
                f"({node.op.name}): {names[e]!r} has dtype {types[e].name}, "
                f"but the operator infers {t.name}"
            )
    return changed


def infer_type(sym, args, kwargs, partial):
    """``Symbol.infer_type``/``infer_type_partial``: numpy types (``numpy.float32``)."""
    ix = sym._indexed()
    types = solve_types(ix, _given(sym, ix, args, kwargs, "infer_type"))
    as_type = [None if t is None else t.type for t in types]
    return _result(ix, as_type, [t is not None for t in types], partial, "type")
