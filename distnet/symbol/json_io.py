"""MXNet's graph JSON: writing it byte for byte as MXNet 1.9.1 does, and reading files of
MXNet 1.x and of the older layout (``param``/``attr`` on nodes, two-element entries).

Layout written (dmlc's JSON writer): ``nodes`` (``op``, ``name``, ``attrs`` when not
empty, ``inputs`` as ``[node, index, version]``), ``arg_nodes``, ``node_row_ptr``,
``heads`` and ``attrs: {"mxnet_version": ["int", 10901]}``; arrays of more than ten
items, objects of more than one key, and the node list are written one item per line.
"""

import json
import os
import tempfile

from ..base import MXNetError
from .. import attribute as _attribute
from .graph import Node, variable_node
from .symbol import Symbol

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
    if name == "Pooling" and node.parsed.get("pool_type") == "max" and \
            node.parsed.get("layout") in (None, "NCW", "NCHW", "NCDHW"):
        return 2  # the oneDNN max-pooling workspace
    return visible


def _node_json(node, index, depth):
    pad = "\n" + "  " * (depth + 1)
    fields = [f'"op": {_str("null" if node.op is None else node.op.name)}',
              f'"name": {_str(node.name)}']
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
    fields = [
        '"nodes": ' + nodes_txt,
        '"arg_nodes": ' + _array([str(i) for i in ix.variables], 1),
        '"node_row_ptr": ' + _array([str(i) for i in row_ptr], 1),
        '"heads": ' + _array(heads, 1),
        '"attrs": {"mxnet_version": ["int", %d]}' % MXNET_VERSION,
    ]
    return "{" + ", ".join("\n  " + f for f in fields) + "\n}"


def save_file(sym, fname):
    """Write ``sym``'s JSON to ``fname`` atomically (temporary file, then rename)."""
    text = to_json(sym)
    folder = os.path.dirname(os.path.abspath(fname))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, fname)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------ reading ---------
def _node_attrs(raw):
    """String attributes of a JSON node: ``attrs`` (MXNet >= 0.9) or the older ``param``
    (operator arguments) and ``attr`` (user attributes; hidden keys get ``__`` marks)."""
    attrs = {}
    for key, value in (raw.get("param") or {}).items():
        attrs[key] = str(value)
    for key, value in (raw.get("attr") or {}).items():
        attrs[_attribute.hidden_key(key)] = str(value)
    for key, value in (raw.get("attrs") or {}).items():
        attrs[key] = str(value)
    return attrs


def _make_node(i, raw, nodes, n_total):
    from ..ops.registry import get_op
    name = raw.get("name")
    if not isinstance(name, str):
        raise MXNetError(f"symbol JSON: node {i} has no name")
    attrs = _node_attrs(raw)
    inputs = []
    for e in raw.get("inputs", []):
        src = e[0]
        if not 0 <= src < i:
            raise MXNetError(f"symbol JSON: node {i} ({name!r}) refers to node {src}, which "
                             "does not come before it")
        version = e[2] if len(e) > 2 else 0
        inputs.append((nodes[src], int(e[1]), int(version)))
    op_name = raw.get("op", "null")
    if op_name == "null":
        return variable_node(name, attrs)
    try:
        op = get_op(op_name)
        parsed = op.parse(attrs)
        expected = len(op.input_names(parsed)) + len(op.aux)
        out_names = tuple(op.output_names(parsed))
    except MXNetError as err:
        raise MXNetError(f"symbol JSON: node {i} ({name!r}, operator {op_name}): {err}") \
            from None
    if expected != len(inputs):
        raise MXNetError(f"symbol JSON: node {i} ({name!r}, operator {op_name}) has "
                         f"{len(inputs)} inputs, the operator takes {expected}")
    return Node(op, name, attrs, parsed, inputs, out_names, n_total)


def load_json(json_str):
    """Load a Symbol from MXNet graph JSON text (MXNet 1.x, or older ``param`` files)."""
    try:
        graph = json.loads(json_str)
        raw_nodes = graph["nodes"]
        raw_heads = graph["heads"]
    except (ValueError, KeyError, TypeError) as err:
        raise MXNetError(f"symbol JSON: not a graph ({err})") from None
    row_ptr = graph.get("node_row_ptr")
    nodes = []
    for i, raw in enumerate(raw_nodes):
        n_total = None
        if isinstance(row_ptr, list) and len(row_ptr) == len(raw_nodes) + 1:
            n_total = row_ptr[i + 1] - row_ptr[i]
        nodes.append(_make_node(i, raw, nodes, n_total))
    for node in nodes:  # a variable's mutation count continues from the file
        for src, _, version in node.inputs:
            if src.op is None and version > src.version:
                src.version = version
    heads = []
    for h in raw_heads:
        if not 0 <= h[0] < len(nodes) or h[1] >= len(nodes[h[0]].out_names):
            raise MXNetError(f"symbol JSON: head {h} does not name an output of a node")
        heads.append((nodes[h[0]], int(h[1])))
    return Symbol(heads)


def load(fname):
    """Load a Symbol from a JSON file written by ``Symbol.save`` or MXNet."""
    if not isinstance(fname, str):
        raise MXNetError(f"sym.load: fname must be a file name, got {type(fname).__name__}")
    try:
        with open(fname, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise MXNetError(f"sym.load: cannot read {fname!r}: {err}") from None
    return load_json(text)
