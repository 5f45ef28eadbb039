"""Partial shapes for graph inference: merging, and running operators on them.

An operator's ``infer_shape`` only understands fully known shapes. Graph inference, as
MXNet's, also works with *partial* shapes: ``None`` (nothing known) or a tuple whose
unknown dimensions are ``-1``. This module adapts the operators to partial shapes:

- ``merge`` combines two partial shapes of one entry, failing on a real conflict;
- ``same_shape`` tells whether an operator's inputs and output all share one shape
  (elementwise operators), so what is known of any of them is known of all, both ways;
- ``forward_probe`` runs the operator with the unknown dimensions set to a few sizes:
  dimensions that come out the same whatever the unknowns are known;
- ``backward_solve`` finds unknown input dimensions from known output dimensions, by
  measuring how each output dimension moves with each unknown (affine in practice:
  a convolution's output width is ``w + 2*pad - kernel + 1``), then checking the answer.
"""

__all__ = ["UNKNOWN", "merge", "is_known", "same_shape", "forward_probe", "backward_solve"]

UNKNOWN = -1
# Sizes tried for unknown dimensions: a pair that the operator accepts (primes first;
# multiples of 12 for a reshape that splits a dimension), then 2, which catches
# "min(dim, bound)" cases (a slice's end) where an operator accepts it.
_PAIRS = ((13, 17), (12, 24), (60, 120))
# 4-d probes for elementwise operators; one dimension large at a time catches a slice
# that only cuts long axes, and keeps a probe's forward (default inference) cheap
_SAME_PROBES = ((2, 3, 5, 7), (3, 5, 7, 11)) + tuple(
    tuple(1009 if i == k else d for i, d in enumerate((2, 3, 5, 7))) for k in range(4)
)
_same_cache = {}


class Conflict(Exception):
    """Two shapes of one entry disagree (``merge``)."""


def is_known(shape):
    """Whether ``shape`` is fully known (no unknown rank or dimension)."""
    return shape is not None and UNKNOWN not in shape


def merge(old, new):
    """What ``old`` and ``new`` say together about one shape; ``Conflict`` if they differ."""
    if new is None:
        return old
    if old is None:
        return tuple(new)
    if len(old) != len(new):
        raise Conflict
    out = []
    for a, b in zip(old, new):
        if a == UNKNOWN:
            out.append(b)
        elif b == UNKNOWN or a == b:
            out.append(a)
        else:
            raise Conflict
    return tuple(out)


def _infer(node, ins, aux):
    """The operator's (inputs + aux, outputs) for fully known (or None) shapes."""
    new_in, new_out, new_aux = node.op.infer_shape(node.parsed, list(ins), list(aux))
    n_out = len(node.out_names)
    return list(new_in) + list(new_aux), list(new_out)[:n_out]


def same_shape(node, n_in, n_aux):
    """Whether the node's inputs and outputs always share one shape (cached per op and
    attributes): checked by giving the first input a few different 4-d shapes."""
    key = (node.op.name, n_in, n_aux, tuple(sorted(node.attrs.items())))
    hit = _same_cache.get(key)
    if hit is None:
        hit = n_aux == 0 and n_in >= 1
        for probe in _SAME_PROBES if hit else ():
            try:
                ins, outs = _infer(node, [probe] + [None] * (n_in - 1), [])
            except Exception:  # noqa: BLE001 - an operator that cannot say is not elementwise
                hit = False
                break
            if any(s is None or tuple(s) != probe for s in ins + outs):
                hit = False
                break
        if len(_same_cache) > 4096:
            _same_cache.clear()
        _same_cache[key] = hit
    return hit


def _fill(shapes, value):
    """Partial shapes with unknown dimensions set to ``value`` (None stays None)."""
    return [None if s is None else tuple(value if d == UNKNOWN else d for d in s) for s in shapes]


def _consensus(results):
    """Per entry: the dimensions every result agrees on, UNKNOWN elsewhere."""
    merged = []
    for shapes in zip(*results):
        if any(s is None for s in shapes) or len({len(s) for s in shapes}) != 1:
            merged.append(None)
            continue
        merged.append(tuple(d[0] if len(set(d)) == 1 else UNKNOWN for d in zip(*shapes)))
    return merged


def forward_probe(node, ins, aux):
    """(inputs + aux, outputs) partial shapes the operator gives for partial inputs, or
    None when it rejects the probe sizes (``where`` with an unknown condition, or
    ``batch_dot`` whose inner dimensions must match)."""
    for pair in _PAIRS:
        results = []
        for value in pair + (2,):
            try:
                got = _infer(node, _fill(ins, value), _fill(aux, value))
            except Exception:  # noqa: BLE001 - the probe sizes do not fit this operator
                if value != 2:
                    break
                continue
            results.append(got[0] + got[1])
        if len(results) >= 2:
            merged = _consensus(results)
            n = len(ins) + len(aux)
            return merged[:n], merged[n:]
    return None


def _slots(shapes):
    return [(i, d) for i, s in enumerate(shapes) if s is not None for d, v in enumerate(s) if v < 0]


def _with(shapes, slots, values):
    out = [None if s is None else list(s) for s in shapes]
    for (i, d), v in zip(slots, values):
        out[i][d] = v
    return [None if s is None else tuple(s) for s in out]


def _outputs(node, shapes, n_in):
    try:
        _, outs = _infer(node, shapes[:n_in], shapes[n_in:])
    except Exception:  # noqa: BLE001 - these sizes do not fit the operator
        return None
    return outs


def backward_solve(node, shapes, n_in, outs):
    """Input (+ aux) partial shapes with unknown dimensions found from the known output
    dimensions ``outs``, or None when nothing can be solved.

    Each unknown is moved alone (13 -> 17, say) to see which output dimensions follow it;
    unknowns that the operator only accepts moving together (``concat``'s batch size)
    move as one. An output dimension that follows exactly one unknown (or the group)
    gives its value; the answer is checked by running the operator on it.
    """
    slots = _slots(shapes)
    targets = [
        (j, d, v) for j, s in enumerate(outs) if s is not None for d, v in enumerate(s) if v >= 0
    ]
    if not slots or not targets:
        return None
    for lo, hi in _PAIRS:
        base = _outputs(node, _with(shapes, slots, [lo] * len(slots)), n_in)
        joint = _outputs(node, _with(shapes, slots, [hi] * len(slots)), n_in)
        if base is not None and joint is not None:
            break
    else:  # no size fits but the right one (a reshape to a fixed shape)
        return _search(node, shapes, n_in, targets, slots) if len(slots) == 1 else None
    moved = []
    for k in range(len(slots)):
        values = [hi if i == k else lo for i in range(len(slots))]
        moved.append(_outputs(node, _with(shapes, slots, values), n_in))
    tied = [k for k, m in enumerate(moved) if m is None]
    solved, used = {}, []
    for j, d, target in targets:
        if base[j] is None or joint[j] is None or len(base[j]) != len(outs[j]):
            continue
        deps = [k for k, m in enumerate(moved) if m is not None and m[j][d] != base[j][d]]
        if len(deps) == 1:
            group, rate = deps, (moved[deps[0]][j][d] - base[j][d]) / (hi - lo)
        elif not deps and tied and joint[j][d] != base[j][d]:
            group, rate = tied, (joint[j][d] - base[j][d]) / (hi - lo)
        else:
            continue
        value = lo + (target - base[j][d]) / rate
        if value != int(value) or value < 0:
            continue
        for k in group:
            solved.setdefault(k, int(value))
        used.append((j, d, target))
    if not solved:
        return None
    return _checked(node, shapes, n_in, used, slots, solved, (lo, hi))


def _search(node, shapes, n_in, targets, slots):
    """``shapes`` with its one unknown dimension set to the only size that gives the
    known output dimensions ``targets``: the size that keeps the element count (a
    reshape), else the one match among 1..64; None if there is none or several."""
    known_in = 1
    for s in shapes[:n_in]:
        for d in s or ():
            known_in *= d if d >= 0 else 1
    sizes = {}
    for j, d, v in targets:
        sizes.setdefault(j, []).append(v)
    candidates = list(range(1, 65))
    for j, dims in sizes.items():
        total = 1
        for v in dims:
            total *= v
        if known_in and total % known_in == 0 and total // known_in > 64:
            candidates.append(total // known_in)
    hits = []
    for value in candidates:
        got = _outputs(node, _with(shapes, slots, [value]), n_in)
        if got is not None and all(
            got[j] is not None and len(got[j]) > d and got[j][d] == v for j, d, v in targets
        ):
            hits.append(value)
            if len(hits) > 1:
                return None
    return _with(shapes, slots, hits) if hits else None


def _checked(node, shapes, n_in, used, slots, solved, pair):
    """``shapes`` with the ``solved`` unknowns filled, if the operator gives the output
    dimensions ``used`` to solve them for two sizes of the unknowns left; else None."""
    keys = sorted(solved)
    filled = _with(shapes, [slots[k] for k in keys], [solved[k] for k in keys])
    for value in pair:
        got = _outputs(node, _fill(filled, value), n_in)
        if got is None or any(got[j][d] != target for j, d, target in used):
            return None
    return filled
