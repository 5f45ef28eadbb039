"""Common-expression elimination, as MXNet's executor does when binding
(``MXNET_ELIMINATE_COMMON_EXPR``, on by default).

Two operator nodes compute the same values when they call the same operator with the same
attributes on the same input entries; the later one is dropped and its users read the
first. Nodes that draw random numbers (Dropout, samplers), update auxiliary states
(BatchNorm) or run user code (Custom) are never merged. When merging leaves one entry
as several outputs of the graph, ``_copy`` nodes keep the outputs distinct arrays.
"""

from .graph import Node, dfs_order

__all__ = ["eliminate_common_expr", "is_pure"]

# operators that are not pure functions of their inputs and attributes
_IMPURE = frozenset(
    {"Dropout", "RNN", "LeakyReLU", "Custom", "_sample_multinomial", "_shuffle", "_copyto"}
)


def is_pure(op):
    """Whether ``op`` is a function of its inputs and attributes only: no random draws,
    no auxiliary states, no user code."""
    return (
        not op.aux
        and op.name not in _IMPURE
        and not type(op).__module__.endswith(".random")
        and not op.name.startswith(("_random_", "_sample_"))
    )


def eliminate_common_expr(sym):
    """``sym`` with repeated computations merged (a new Symbol), or ``sym`` itself when
    there is nothing to merge. Variables, names and the outputs' order are kept."""
    from .symbol import Symbol

    canon, seen, merged = {}, {}, False
    for node in dfs_order(sym._outputs):
        if node.op is None:
            canon[id(node)] = node
            continue
        inputs = [(canon[id(e[0])],) + tuple(e[1:]) for e in node.inputs]
        key = (
            node.op.name,
            tuple(sorted(node.attrs.items())),
            tuple((id(e[0]),) + tuple(e[1:]) for e in inputs),
        )
        twin = seen.get(key) if is_pure(node.op) else None
        if twin is not None:
            canon[id(node)] = twin
            merged = True
            continue
        changed = any(a[0] is not b[0] for a, b in zip(inputs, node.inputs))
        new = node
        if changed:
            new = Node(node.op, node.name, node.attrs, node.parsed, inputs, node.out_names)
            new.n_total = node.n_total
        canon[id(node)] = new
        if is_pure(node.op):
            seen[key] = new
    if not merged:
        return sym
    return Symbol(_distinct_heads([(canon[id(n)], i) for n, i in sym._outputs]))


def _distinct_heads(heads):
    """Heads with a ``_copy`` of each entry that already is an earlier output."""
    from ..ops.registry import get_op

    copy_op, out, taken = get_op("_copy"), [], set()
    for node, i in heads:
        if (id(node), i) in taken and node.op is not None:
            src = (node, i, 0)
            name = f"{node.name}_copy{len(out)}"
            node, i = Node(copy_op, name, {}, copy_op.parse({}), [src], ("output",)), 0
        taken.add((id(node), i))
        out.append((node, i))
    return out
