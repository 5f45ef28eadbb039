"""MXNet's graph JSON: writing it byte for byte as MXNet 1.9.1 does, and reading files of
MXNet 1.x and of the older layout (``param``/``attr`` on nodes, two-element entries).

Layout written (dmlc's JSON writer): ``nodes`` (``op``, ``name``, ``attrs`` when not
empty, ``inputs`` as ``[node, index, version]``), ``arg_nodes``, ``node_row_ptr``,
``heads`` and ``attrs: {"mxnet_version": ["int", 10901]}``; arrays of more than ten
items, objects of more than one key, and the node list are written one item per line.
"""

import json
import os


from .._sibling import import_sibling
from ..base import MXNetError
from .. import attribute as _attribute
from .graph import Node, variable_node
from .symbol import Symbol

write_atomic = import_sibling("kvstore.atomic").write_atomic  # checked: no user kvstore.py

__all__ = ["to_json", "save_file", "load_json", "load", "MXNET_VERSION"]

MXNET_VERSION = 10901
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


# ------------------------------------------------------------------ writing ---------
def _str(text):
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def _array(items, depth):
    """A JSON array of pre-rendered ``items`` at nesting ``depth`` (dmlc's layout)."""
    if len(items) <= 10:
        return "[" + ", ".join(items) + "]"
    pad = "\n" + "  " * (depth + 1)
    return "[" + ", ".join(pad + it for it in items) + "\n" + "  " * depth + "]"


def _object(items, depth):
    """A JSON object of rendered ``"key": value`` items (one per line if more than one)."""
    if len(items) <= 1:
        return "{" + "".join(items) + "}"
    pad = "\n" + "  " * (depth + 1)
    return "{" + ", ".join(pad + it for it in items) + "\n" + "  " * depth + "}"


def _entry(e):
    return f"[{e[0]}, {e[1]}, {e[2]}]"


def _total_outputs(node):
    """Outputs of ``node`` including hidden ones, as MXNet 1.9.1 (oneDNN build) counts them
    for ``node_row_ptr``. Only informational: MXNet recomputes it when loading."""
    visible = len(node.out_names)
    if node.n_total is not None:
        return max(node.n_total, visible)
    name = node.op.name if node.op is not None else None
    if name in ("BatchNorm", "InstanceNorm", "LayerNorm", "_contrib_SyncBatchNorm"):
        return max(3, visible)
    if name in ("Dropout", "LRN"):
        return max(2, visible)
    if (
        name == "Pooling"
        and node.parsed.get("pool_type") == "max"
        and node.parsed.get("layout") in (None, "NCW", "NCHW", "NCDHW")
    ):
        return 2  # the oneDNN max-pooling workspace
    return visible


def _node_json(node, index, depth):
    pad = "\n" + "  " * (depth + 1)
    fields = [
        f'"op": {_str("null" if node.op is None else node.op.name)}',
        f'"name": {_str(node.name)}',
    ]
    if node.attrs:
        items = [f"{_str(k)}: {_str(v)}" for k, v in sorted(node.attrs.items())]
        fields.append('"attrs": ' + _object(items, depth + 1))
    inputs = [_entry((index[id(e[0])], e[1], e[2])) for e in node.inputs]
    fields.append('"inputs": ' + _array(inputs, depth + 1))
    return "{" + ", ".join(pad + f for f in fields) + "\n" + "  " * depth + "}"


def to_json(sym):
    """MXNet 1.9.1's JSON text of ``sym``."""
    ix = sym._indexed()
    nodes = ix.nodes
    index = ix.index
    row_ptr, total = [0], 0
    for node in nodes:
        total += _total_outputs(node)
        row_ptr.append(total)
    node_items = [_node_json(n, index, 2) for n in nodes]
    nodes_txt = "[" + ", ".join("\n    " + t for t in node_items) + "\n  ]"
    heads = [_entry((index[id(n)], i, 0)) for n, i in sym._outputs]
    from ..util import is_np_shape

    # MXNet marks graphs written under NumPy shape semantics (0 is an empty dimension)
    np_flag = '"is_np_shape": ["int", 1], ' if is_np_shape() else ""
    fields = [
        '"nodes": ' + nodes_txt,
        '"arg_nodes": ' + _array([str(i) for i in ix.variables], 1),
        '"node_row_ptr": ' + _array([str(i) for i in row_ptr], 1),
        '"heads": ' + _array(heads, 1),
        '"attrs": {%s"mxnet_version": ["int", %d]}' % (np_flag, MXNET_VERSION),
    ]
    return "{" + ", ".join("\n  " + f for f in fields) + "\n}"


def save_file(sym, fname):
    """Write ``sym``'s JSON to ``fname`` atomically and durably (``write_atomic``)."""
    write_atomic(fname, to_json(sym))


# ------------------------------------------------------------------ reading ---------
# Every malformed file raises MXNetError naming the source, the node and the field; nothing
# recurses on the file's nesting, and attributes are checked at least as MXNet checks them
# (MXNet's ``int`` parameters are 32-bit; sizes such as ``num_hidden`` must be positive),
# so a crafted file cannot make bind allocate terabytes.
_INT32 = (-(2**31), 2**31 - 1)
_POSITIVE = frozenset(
    (
        "num_hidden",
        "num_filter",
        "num_group",
        "num_groups",
        "num_args",
        "num_outputs",
        "input_dim",
        "output_dim",
        "depth",
        "block_size",
        "nsize",
        "state_size",
        "num_layers",
    )
)
_TUPLE_MIN = {"kernel": 1, "stride": 1, "dilate": 1, "pad": 0, "adj": 0}
_MAX_OUTPUTS = 1 << 16  # node_row_ptr steps beyond this are not believed


class _Bad(Exception):
    """A malformed field; load_json adds the source and re-raises it as MXNetError."""


def _int_field(value, what, lo=0, hi=None):
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(f"{what} must be an integer, got {value!r:.60}")
    if value < lo or (hi is not None and value > hi):
        raise _Bad(f"{what} is {value}, expected {lo}..{'' if hi is None else hi}")
    return value


def _node_attrs(raw):
    """String attributes of a JSON node: ``attrs`` (MXNet >= 0.9) or the older ``param``
    (operator arguments) and ``attr`` (user attributes; hidden keys get ``__`` marks)."""
    attrs = {}
    for field in ("param", "attr", "attrs"):
        table = raw.get(field)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise _Bad(f"'{field}' must be an object, got {type(table).__name__}")
        for key, value in table.items():
            if not isinstance(value, (str, int, float)):
                raise _Bad(f"{field}[{key!r}] must be a string, got {type(value).__name__}")
            attrs[_attribute.hidden_key(key) if field == "attr" else key] = str(value)
    return attrs


def _check_parsed(op, parsed):
    """Range checks the parsers leave out: MXNet's 32-bit ints, positive sizes, kernel,
    stride and dilate of at least 1, pad and adj of at least 0."""
    from ..ops import attrs as A

    for key, value in parsed.items():
        spec = op.params.get(key)
        if spec is None or value is None:
            continue
        if spec.parse_value in (A.Int, A.OptInt):
            lo = 1 if key in _POSITIVE else _INT32[0]
            if isinstance(value, int) and not lo <= value <= _INT32[1]:
                raise _Bad(
                    f"attribute {key}={value} is out of range: expected an int in "
                    f"[{lo}, {_INT32[1]}]"
                )
        elif key in _TUPLE_MIN and isinstance(value, tuple):
            lo = _TUPLE_MIN[key]
            if any(not lo <= v <= _INT32[1] for v in value if isinstance(v, int)):
                raise _Bad(
                    f"attribute {key}={value} is out of range: every entry must be "
                    f"in [{lo}, {_INT32[1]}]"
                )


def _entry_of(e, nodes, limit, what):
    """(node, output index, version) of an input or head entry ``[node, index(, version)]``
    referring to one of the first ``limit`` nodes."""
    if not isinstance(e, list) or len(e) not in (2, 3):
        raise _Bad(f"{what} {e!r:.60} must be [node, output] or [node, output, version]")
    src = _int_field(e[0], f"{what} node", 0, limit - 1) if limit else None
    if src is None:
        raise _Bad(f"{what} {e!r:.60} refers to a node, but none comes before it")
    n_out = len(nodes[src].out_names)
    index = _int_field(e[1], f"{what} output index", 0, n_out - 1)
    version = _int_field(e[2], f"{what} version", 0, _INT32[1]) if len(e) == 3 else 0
    return nodes[src], index, version


def _make_node(i, raw, nodes, n_total):
    from ..ops.registry import get_op

    if not isinstance(raw, dict):
        raise _Bad(f"must be an object, got {type(raw).__name__}")
    name, op_name = raw.get("name"), raw.get("op", "null")
    if not isinstance(name, str):
        raise _Bad("has no name (a string 'name' field)")
    if not isinstance(op_name, str):
        raise _Bad(f"({name!r}): 'op' must be a string, got {op_name!r:.40}")
    attrs = _node_attrs(raw)
    raw_inputs = raw.get("inputs", [])
    if not isinstance(raw_inputs, list):
        raise _Bad(f"({name!r}): 'inputs' must be a list")
    inputs = [_entry_of(e, nodes, i, "input") for e in raw_inputs]
    if op_name == "null":
        if inputs:
            raise _Bad(f"({name!r}): a variable ('null' op) has no inputs")
        return variable_node(name, attrs)
    try:
        op = get_op(op_name)
        parsed = op.parse(attrs)
        _check_parsed(op, parsed)
        expected = len(op.input_names(parsed)) + len(op.aux_names(parsed))
        out_names = tuple(op.output_names(parsed))
    except (MXNetError, _Bad) as err:
        raise _Bad(f"({name!r}, operator {op_name}): {err}") from None
    if expected != len(inputs):
        raise _Bad(
            f"({name!r}, operator {op_name}) has {len(inputs)} inputs, the "
            f"operator takes {expected}"
        )
    return Node(op, name, attrs, parsed, inputs, out_names, n_total)


def _row_counts(graph, n_nodes):
    """Per-node output counts from ``node_row_ptr`` when it is well formed, else Nones
    (it is informational: MXNet recomputes it)."""
    ptr = graph.get("node_row_ptr")
    if not (
        isinstance(ptr, list)
        and len(ptr) == n_nodes + 1
        and all(isinstance(v, int) and not isinstance(v, bool) for v in ptr)
    ):
        return [None] * n_nodes
    steps = [b - a for a, b in zip(ptr, ptr[1:])]
    if any(not 0 <= s <= _MAX_OUTPUTS for s in steps):
        return [None] * n_nodes
    return steps


def _legacy_shapes(graph):
    """Whether ``graph`` was written under MXNet's legacy shape semantics (no
    ``is_np_shape`` flag) and is loaded under NumPy shape semantics."""
    from ..util import is_np_shape

    attrs = graph.get("attrs")
    flag = attrs.get("is_np_shape") if isinstance(attrs, dict) else None
    written_np = isinstance(flag, list) and len(flag) == 2 and flag[1] not in (0, "0")
    return is_np_shape() and not written_np


def _upgrade_shape_hint(node):
    """A legacy ``__shape__`` hint in NumPy shape terms: unknown 0 dimensions become -1
    (``(128, 0)`` -> ``[128,-1]``), as MXNet converts on load."""
    text = node.attrs.get("__shape__") if node.op is None else None
    if not text:
        return
    from ..ops.attrs import Shape

    try:
        dims = tuple(Shape(text))
    except (ValueError, TypeError, SyntaxError):
        return  # reported with the variable's name when inference reads it
    if dims:
        node.attrs["__shape__"] = "[" + ",".join(str(d if d > 0 else -1) for d in dims) + "]"


def _build(graph):
    if not isinstance(graph, dict):
        raise _Bad(f"the top level must be an object, got {type(graph).__name__}")
    raw_nodes, raw_heads = graph.get("nodes"), graph.get("heads")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise _Bad("'nodes' must be a non-empty list")
    if not isinstance(raw_heads, list) or not raw_heads:
        raise _Bad("'heads' must be a non-empty list")
    nodes = []
    for i, (raw, n_total) in enumerate(zip(raw_nodes, _row_counts(graph, len(raw_nodes)))):
        try:
            nodes.append(_make_node(i, raw, nodes, n_total))
        except _Bad as err:
            raise _Bad(f"node {i} {err}") from None
    if _legacy_shapes(graph):
        for node in nodes:
            _upgrade_shape_hint(node)
    for node in nodes:  # a variable's mutation count continues from the file
        for src, _, version in node.inputs:
            if src.op is None and version > src.version:
                src.version = version
    heads = []
    for h in raw_heads:
        node, index, _ = _entry_of(h, nodes, len(nodes), "head")
        heads.append((node, index))
    return Symbol(heads)


def load_json(json_str, source="symbol JSON"):
    """Load a Symbol from MXNet graph JSON text (MXNet 1.x, or older ``param`` files).

    Anything malformed raises MXNetError naming ``source``, the node and the field."""
    if isinstance(json_str, (bytes, bytearray)):
        json_str = json_str.decode("utf-8", errors="replace")
    if not isinstance(json_str, str):
        raise MXNetError(f"{source}: expected JSON text, got {type(json_str).__name__}")
    try:
        graph = json.loads(json_str)
    except (ValueError, RecursionError) as err:
        what = "nested too deeply" if isinstance(err, RecursionError) else err
        raise MXNetError(f"{source}: not a graph: not valid JSON ({what})") from None
    try:
        return _build(graph)
    except _Bad as err:
        raise MXNetError(f"{source}: not a graph: {err}") from None


def load(fname):
    """Load a Symbol from a JSON file written by ``Symbol.save`` or MXNet."""
    if not isinstance(fname, (str, os.PathLike)):
        raise MXNetError(f"sym.load: fname must be a file name, got {type(fname).__name__}")
    fname = os.fspath(fname)
    try:
        with open(fname, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise MXNetError(f"sym.load: cannot read {fname!r}: {err}") from None
    return load_json(text, fname)
