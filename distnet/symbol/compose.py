"""Building graphs: operator symbols, variables, groups and composition (``net(data=x)``).

Operator attributes are kept twice: as MXNet's strings (``str(value)``: ``'(5, 5)'``,
``'True'``, ``'64'``; only the ones the user gave, which is what MXNet writes to JSON) and
parsed by the operator's typed attributes for execution. Missing inputs become variables
``<name>_<input>`` (``fc1_weight``, ``softmax_label``) that inherit the node's attributes,
as MXNet does.
"""

import numpy as np

from ..base import MXNetError
from .. import attribute as _attribute
from .. import name as _name
from .graph import Node, variable_node, dfs_order, INPUT_INIT
from .symbol import Symbol

__all__ = ["create", "Variable", "var", "Group", "compose", "attr_string"]

_STYPE_ID = {"default": 0, "row_sparse": 1, "csr": 2}


def _plain(value):
    """``value`` with numpy scalars turned into Python ones (also inside tuples/lists)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value


def attr_string(key, value):
    """MXNet's string for an operator attribute value (``str(value)``; dtypes by name)."""
    if isinstance(value, str):
        return value
    if key == "dtype" and value is not None:
        return np.dtype(value).name
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return str(_plain(value))


def _split_inputs(op, args, kwargs):
    """Sort call arguments into (positional Symbols, Symbols by name, attribute kwargs)."""
    positional, attrs = [], {}
    i = 0
    while i < len(args) and (isinstance(args[i], Symbol) or args[i] is None):
        positional.append(args[i])
        i += 1
    rest = args[i:]
    if rest:
        if op.variadic:
            raise MXNetError(
                f"operator {op.name}: positional arguments must be Symbols, "
                f"got {type(rest[0]).__name__}"
            )
        if len(rest) > len(op.param_order):
            raise MXNetError(
                f"operator {op.name}: too many positional arguments ({len(args)} given)"
            )
        attrs.update(zip(op.param_order, rest))
    named = {}
    for key, value in kwargs.items():
        if isinstance(value, Symbol):
            named[key] = value
        elif value is not None or key not in op.inputs:  # MXNet drops inputs given as None
            attrs[key] = value
    return positional, named, attrs


def _string_attrs(attrs):
    out = {}
    for key, value in attrs.items():
        out[_attribute.hidden_key(key)] = attr_string(key, value)
    return out


def _single(op, key, sym):
    if len(sym._outputs) != 1:
        raise MXNetError(
            f"operator {op.name}: input {key!r} must be a single-output Symbol, "
            f"got {len(sym._outputs)} outputs {sym.list_outputs()}"
        )
    return sym._outputs[0]


def _resolve_inputs(op, name, parsed, attrs, positional, named):
    """Input entries in the operator's order; missing ones become new variables."""
    in_names = tuple(op.input_names(parsed))
    aux_names = tuple(op.aux_names(parsed))
    all_names = in_names + aux_names
    if op.variadic:
        if named and "num_args" in op.params:
            raise MXNetError(
                f"operator {op.name} takes its inputs as positional Symbols, "
                f"got keyword inputs {sorted(named)}"
            )
        positional = list(positional)
        if named:  # by name (Custom's list_arguments): positional ones first, in order
            unknown = set(named) - set(all_names)
            if unknown or len(positional) > len(all_names):
                raise MXNetError(
                    f"operator {op.name}: inputs {sorted(unknown)} are not among "
                    f"its inputs {list(all_names)}"
                )
            positional += [named.get(k) for k in all_names[len(positional) :]]
        if "num_args" not in op.params:  # Custom: missing inputs and states become variables
            positional += [None] * (len(all_names) - len(positional))
        else:
            positional += [None] * len(aux_names)
        if len(positional) != len(all_names):
            raise MXNetError(
                f"operator {op.name}: num_args={len(in_names)} but "
                f"{len(positional) - len(aux_names)} inputs were given"
            )
        srcs = positional
    else:
        positional = list(positional)
        while len(positional) > len(all_names) and positional[-1] is None:
            positional.pop()  # an optional input left out as None (bias with no_bias=True)
        if len(positional) > len(all_names):
            raise MXNetError(
                f"operator {op.name}: {len(positional)} positional inputs given, "
                f"it takes {list(all_names)}"
            )
        unknown = set(named) - set(all_names)
        if unknown:
            raise MXNetError(
                f"operator {op.name}: unknown input(s) {sorted(unknown)}; its "
                f"inputs are {list(all_names)}"
            )
        srcs = [
            positional[i] if i < len(positional) and positional[i] is not None else named.get(key)
            for i, key in enumerate(all_names)
        ]
    entries = []
    for i, (key, src) in enumerate(zip(all_names, srcs)):
        is_aux = i >= len(in_names)
        if src is None:
            node = variable_node(f"{name}_{key}", attrs)
            entry = (node, 0)
        else:
            entry = _single(op, key, src)
            node = entry[0]
        if node.op is None:
            init = INPUT_INIT.get((op.name, key))
            if init is not None and "__init__" not in node.attrs:
                node.attrs["__init__"] = init
            if is_aux:
                node.version += 1
        entries.append((node, entry[1], node.version if node.op is None else 0))
    return entries


def create(op, hint, args=(), kwargs=None, name=None, attr=None):
    """A Symbol for one call of ``op``: inputs from Symbols in ``args``/``kwargs``, the
    other keywords are attributes; the name comes from the current name manager."""
    kwargs = dict(kwargs or {})
    kwargs.update(_attribute.current().get(attr))
    name = _name.current().get(name, hint)
    positional, named, attrs = _split_inputs(op, args, kwargs)
    if op.variadic and "num_args" in op.params and "num_args" not in attrs:
        attrs["num_args"] = len(positional)
    str_attrs = _string_attrs(attrs)
    parsed = op.parse(str_attrs)
    entries = _resolve_inputs(op, name, parsed, str_attrs, positional, named)
    node = Node(op, name, str_attrs, parsed, entries, tuple(op.output_names(parsed)))
    return Symbol([(node, i) for i in range(len(node.out_names))])


def Variable(
    name,
    attr=None,
    shape=None,
    lr_mult=None,
    wd_mult=None,
    dtype=None,
    init=None,
    stype=None,
    profiler_scope=None,
    **kwargs,
):
    """A symbolic variable (an input, parameter or auxiliary state) named ``name``.

    Parameters
    ----------
    name : str
    attr : dict of str to str, optional
        Extra attributes; MXNet's hidden keys (``lr_mult``...) are stored as ``__key__``.
    shape, dtype : optional
        Shape and type hints used by inference (``__shape__``, ``__dtype__``).
    lr_mult, wd_mult : float, optional
        Learning-rate and weight-decay multipliers for this parameter.
    init : Initializer or str, optional
        Initializer for this parameter (stored as its ``dumps()`` string).
    stype : str, optional
        Storage type; distnet only has ``'default'`` (dense) arrays.
    **kwargs
        Further attributes, which must be written ``__key__``.
    """
    from ..ndarray.serialize import _DTYPE_TO_FLAG

    if not isinstance(name, str):
        raise MXNetError(f"Variable: name must be a string, got {type(name).__name__}")
    attrs = _attribute.current().get(attr)
    extra = {
        "__shape__": shape,
        "__lr_mult__": lr_mult,
        "__wd_mult__": wd_mult,
        "__profiler_scope__": profiler_scope,
    }
    for key, value in extra.items():
        if value is not None:
            attrs[key] = str(_plain(value))
    if dtype is not None:
        flag = _DTYPE_TO_FLAG.get(np.dtype(dtype))
        if flag is None:
            raise MXNetError(
                f"Variable {name!r}: dtype {np.dtype(dtype).name} has no MXNet type flag"
            )
        attrs["__dtype__"] = str(flag)
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        if stype not in _STYPE_ID:
            raise MXNetError(f"Variable {name!r}: unknown stype {stype!r}")
        attrs["__storage_type__"] = str(_STYPE_ID[stype])
    for key, value in kwargs.items():
        if not (key.startswith("__") and key.endswith("__")):
            raise MXNetError(
                f"Variable {name!r}: attribute name={key} is not supported; "
                "additional attributes must start and end with double "
                "underscores, e.g. __yourattr__"
            )
        attrs[key] = str(value)
    node = variable_node(name)
    sym = Symbol([(node, 0)])
    sym._set_attr(**attrs)
    return sym


var = Variable


def Group(symbols):
    """A Symbol whose outputs are the outputs of ``symbols``, in order."""
    if not symbols or any(not isinstance(s, Symbol) for s in symbols):
        raise MXNetError("Group: expected a non-empty list of Symbols")
    outputs = []
    for sym in symbols:
        outputs.extend(sym._outputs)
    return Symbol(outputs)


def compose(sym, name=None, **kwargs):
    """A copy of ``sym`` whose variables named in ``kwargs`` are replaced by those Symbols;
    ``name`` renames the head node (MXNet's ``Symbol.__call__``)."""
    inputs = sym.list_inputs()
    for key, value in kwargs.items():
        if key not in inputs:
            raise MXNetError(
                f"Symbol.compose: keyword argument {key!r} is not an input of "
                f"the symbol; its inputs are {inputs}"
            )
        if not isinstance(value, Symbol) or len(value._outputs) != 1:
            raise MXNetError(f"Symbol.compose: argument {key!r} must be a single-output Symbol")
    subst = {key: value._outputs[0] for key, value in kwargs.items()}
    memo = _copy_graph(sym._outputs, subst)
    heads = [(memo[id(e[0])][0], memo[id(e[0])][1] + e[1]) for e in sym._outputs]
    if name is not None and len({id(h[0]) for h in heads}) == 1 and heads[0][0].op:
        heads[0][0].name = name
    return Symbol(heads)


def _copy_graph(heads, subst):
    """Deep copy of the graph of ``heads`` with variables named in ``subst`` replaced.

    Returns {id(old node): (new node, output offset)}; a replaced variable maps to the
    replacing entry. Iterative, so deep graphs do not hit the recursion limit.
    """
    memo = {}
    for node in dfs_order(heads):
        if node.op is None:
            if node.name in subst:
                memo[id(node)] = subst[node.name][:2]
            else:
                copy = variable_node(node.name, node.attrs)
                copy.version = node.version
                memo[id(node)] = (copy, 0)
            continue
        inputs = []
        for e in node.inputs:
            src, offset = memo[id(e[0])]
            inputs.append((src, offset + e[1], e[2] if src.op is None else 0))
        copy = Node(
            node.op, node.name, dict(node.attrs), node.parsed, inputs, node.out_names, node.n_total
        )
        memo[id(node)] = (copy, 0)
    return memo
