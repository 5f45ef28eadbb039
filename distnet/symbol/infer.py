"""Shape and type inference over a symbol's graph.

Known shapes (given by the caller, or ``__shape__`` hints on variables) propagate through
each operator's ``infer_shape``, which may also fill inputs (a FullyConnected fills its
weight from the data shape, a same-shape binary op one input from the other). Passes over
the graph repeat until nothing changes, as MXNet does. A dimension 0 in a hint means
"unknown", as in MXNet's legacy shapes; such hints are checked against what inference finds.
"""

import warnings

import numpy as np

from ..base import MXNetError

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
def _as_shape(value, where):
    try:
        if isinstance(value, (int, np.integer)):
            return (int(value),)
        return tuple(int(d) for d in value)
    except (TypeError, ValueError):
        raise MXNetError(
            f"infer_shape: shape of {where} must be a tuple of ints, got {value!r}"
        ) from None


def _hint(node):
    text = node.attrs.get("__shape__")
    if not text:
        return None
    from ..ops.attrs import Shape

    try:
        return Shape(text)
    except (ValueError, TypeError, SyntaxError):
        raise MXNetError(f"variable {node.name!r}: invalid __shape__ attribute {text!r}") from None


def _compatible(hint, shape):
    return len(hint) == len(shape) and all(h in (0, s) for h, s in zip(hint, shape))


def _call_infer(node, known, n_in):
    new_in, new_out, new_aux = node.op.infer_shape(node.parsed, known[:n_in], known[n_in:])
    return list(new_in) + list(new_aux) + list(new_out)


def _infer_with_unknowns(node, known, n_in):
    """The operator's shapes for inputs with unknown (0) dimensions, or None.

    First as given (most operators carry the zeros through); if the operator rejects them
    (a convolution cannot slide a 3x3 kernel over 0 pixels), it runs twice with the unknown
    dimensions set to two different small sizes: dimensions that agree do not depend on
    the unknowns and are known, the others stay 0.
    """
    try:
        return _call_infer(node, known, n_in)
    except Exception:  # noqa: BLE001 - try the two-size probe below
        pass
    probes = []
    for size in (13, 17):
        filled = [None if s is None else tuple(d or size for d in s) for s in known]
        try:
            probes.append(_call_infer(node, filled, n_in))
        except Exception:  # noqa: BLE001 - an operator that cannot say stays unknown
            return None
    merged = []
    for a, b in zip(*probes):
        if a is None or b is None or len(a) != len(b):
            merged.append(None)
        else:
            merged.append(tuple(x if x == y else 0 for x, y in zip(a, b)))
    return merged


def _fill_from_outputs(node, known, n_in, outs):
    """Input shapes with their unknown (0) dimensions found from known output shapes, or
    None: probing with two sizes shows which output dimensions are the unknown size itself
    (a FullyConnected on a begin state (0, 20) whose output must be (5, 80) has batch 5);
    the filled shapes are kept only if the operator then gives exactly the known outputs.
    All unknown dimensions of one node are taken to be one size (the batch)."""
    n = len(known)
    probes = []
    for size in (13, 17):
        filled = [None if s is None else tuple(d or size for d in s) for s in known]
        try:
            probes.append(_call_infer(node, filled, n_in)[n:])
        except Exception:  # noqa: BLE001 - an operator that cannot say: no answer
            return None
    value = None
    for a, b, real in zip(probes[0], probes[1], outs):
        if real is None or a is None or b is None or not len(a) == len(b) == len(real):
            continue
        for x, y, r in zip(a, b, real):
            if (x, y) == (13, 17):
                if value not in (None, r):
                    return None
                value = r
    if not value:
        return None
    filled = [None if s is None else tuple(d or value for d in s) for s in known]
    try:
        got = _call_infer(node, filled, n_in)[n:]
    except Exception:  # noqa: BLE001
        return None
    if any(r is not None and tuple(g or ()) != tuple(r) for g, r in zip(got, outs)):
        return None
    return filled


class _Solver:
    """Fixed-point shape propagation over the entries of an indexed graph."""

    def __init__(self, ix, given):
        self.ix = ix
        self.shapes = [None] * ix.num_entries
        self.hints = {}
        for i in ix.variables:
            node = ix.nodes[i]
            value = given.get(i)
            shape = _as_shape(value, repr(node.name)) if value is not None else _hint(node)
            if shape is None:
                continue
            if len(shape) and all(shape):
                self.shapes[ix.row_ptr[i]] = shape
            else:
                self.hints[ix.row_ptr[i]] = shape

    def _assign(self, node, e, shape, what):
        if shape is None:
            return False
        shape = tuple(int(d) for d in shape)
        if not shape and what == "output":
            shape = (1,)  # MXNet has no 0-d arrays
        old = self.shapes[e]
        if old is None:
            hint = self.hints.get(e)
            if hint is not None and not _compatible(hint, shape):
                raise self._conflict(node, e, hint, shape, what)
            self.shapes[e] = shape
            return True
        if old != shape:
            raise self._conflict(node, e, old, shape, what)
        return False

    def _conflict(self, node, e, old, new, what):
        name = self.ix.entry_names()[e]
        kind = "argument" if name in (n.name for n in self.ix.nodes if n.op is None) else "entry"
        return MXNetError(
            f"infer_shape: error in operator {node.name!r} ({node.op.name}): "
            f"{what} {kind} {name!r} has shape {old}, but the operator "
            f"infers {new}"
        )

    def _visit(self, node, in_e, o0):
        shapes = self.shapes
        n_aux = node.n_aux
        n_in = len(in_e) - n_aux
        ins = [shapes[e] for e in in_e[:n_in]]
        aux = [shapes[e] for e in in_e[n_in:]]
        n_out = len(node.out_names)
        if None not in ins and None not in aux and None not in shapes[o0 : o0 + n_out]:
            return False
        try:
            new_in, new_out, new_aux = node.op.infer_shape(node.parsed, ins, aux)
        except MXNetError as err:  # the operator's own check names what is wrong
            raise MXNetError(
                f"infer_shape: error in operator {node.name!r} ({node.op.name}): {err}"
            ) from None
        except Exception as err:  # e.g. numpy on shapes that do not fit
            if None in ins or None in aux:
                return False  # cannot tell yet; a later pass may know more
            raise MXNetError(
                f"infer_shape: error in operator {node.name!r} "
                f"({node.op.name}) with input shapes {ins + aux}: {err}"
            ) from None
        changed = False
        for e, s in zip(in_e, list(new_in) + list(new_aux)):
            changed |= self._assign(node, e, s, "input")
        for j, s in enumerate(list(new_out)[:n_out]):
            changed |= self._assign(node, o0 + j, s, "output")
        return changed

    def run(self):
        """Visit every operator until a pass changes nothing, then let partly known shapes
        (0 = unknown dimension) fill what they can, as MXNet does; return the shapes."""
        steps = _steps(self.ix)
        for _ in range(len(steps) + 1):
            self._fixed_point(steps)
            if not self._partial_pass(steps):
                break
        return self.shapes

    def _fixed_point(self, steps):
        for _ in range(len(steps) + 1):
            changed = False
            for node, in_e, o0 in steps:
                changed |= self._visit(node, in_e, o0)
            if not changed:
                break

    def _partial_pass(self, steps):
        """One pass feeding hints (shapes with unknown 0 dimensions) to the operators: a
        FullyConnected on data (0, 5) still knows its weight is (num_hidden, 5). What comes
        out fully known becomes a shape, the rest a hint (negative dimensions, which only
        unknown sizes produce, become 0). Returns whether a full shape was found."""
        found = False
        for node, in_e, o0 in steps:
            entries = list(in_e) + list(range(o0, o0 + len(node.out_names)))
            if all(self.shapes[e] is not None for e in entries):
                continue
            n_in = len(in_e) - node.n_aux
            known = [
                self.shapes[e] if self.shapes[e] is not None else self.hints.get(e) for e in in_e
            ]
            if all(self.shapes[e] is None and e not in self.hints for e in in_e):
                continue
            outs = [self.shapes[e] for e in entries[len(in_e) :]]
            if any(o is not None for o in outs):  # e.g. a begin state's batch from its user
                filled = _fill_from_outputs(node, known, n_in, outs)
                for e, shape in zip(in_e, filled or ()):
                    found |= self._learn(e, shape)
                if filled is not None:
                    continue
            shapes = _infer_with_unknowns(node, known, n_in)
            for e, shape in zip(entries, shapes or ()):
                found |= self._learn(e, shape)
        return found

    def _learn(self, e, shape):
        if shape is None or self.shapes[e] is not None:
            return False
        shape = tuple(max(int(d), 0) for d in shape)
        if shape and all(shape):
            hint = self.hints.get(e)
            if hint is not None and not _compatible(hint, shape):
                return False
            self.shapes[e] = shape
            return True
        old = self.hints.get(e)
        if old is None or (len(old) == len(shape) and sum(map(bool, shape)) > sum(map(bool, old))):
            self.hints[e] = shape
        return False


def solve_shapes(ix, given):
    """Shapes of every entry of ``ix`` (None where unknown) and the partial hints."""
    solver = _Solver(ix, given)
    return solver.run(), solver.hints


def _result(ix, sym, values, hints, partial, what, unknown):
    """(arg, out, aux) lists; unknowns are ``unknown`` when partial, else a warning."""

    def pick(e):
        v = values[e]
        return v if v is not None else hints.get(e, unknown)

    arg = [pick(ix.row_ptr[i]) for i in ix.arguments()]
    aux = [pick(ix.row_ptr[i]) for i in ix.auxiliary()]
    out = [pick(e) for e in ix.heads]
    if not partial:
        missing = [
            (ix.nodes[i].name, pick(ix.row_ptr[i]))
            for i in ix.variables
            if values[ix.row_ptr[i]] is None
        ]
        if missing or any(values[e] is None for e in ix.heads):
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
    ix = sym._indexed()
    shapes, hints = solve_shapes(ix, _given(sym, ix, args, kwargs, "infer_shape"))
    return _result(ix, sym, shapes, hints, partial, "shape", ())


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
    if (in_e and not known) or (len(known) == len(in_e) and None not in types[o0 : o0 + n_out]):
        return False
    new_in, new_out, new_aux = node.op.infer_type(node.parsed, ins, aux)
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
    return _result(ix, sym, as_type, {}, partial, "type", None)
