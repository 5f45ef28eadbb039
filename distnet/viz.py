"""``mx.viz``: ``print_summary`` (MXNet's layer table) and ``plot_network`` (a graphviz
``Digraph``; the ``graphviz`` Python package is an optional dependency)."""

import re
import warnings

from .base import MXNetError

__all__ = ["print_summary", "plot_network"]

_WEIGHT_LIKE = (
    "_weight",
    "_bias",
    "_beta",
    "_gamma",
    "_moving_var",
    "_moving_mean",
    "_running_var",
    "_running_mean",
)
_COLORS = ("#8dd3c7", "#fb8072", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5")


def _check(symbol):
    from .symbol import Symbol

    if not isinstance(symbol, Symbol):
        raise MXNetError(f"symbol must be a Symbol, got {type(symbol).__name__}")


def _shape_dict(symbol, shape):
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape(**shape)
    if out_shapes is None:
        raise MXNetError(f"Input shape is incomplete: cannot infer every shape from {shape}")
    return dict(zip(internals.list_outputs(), out_shapes))


def _digits(text):
    return [int(d) for d in re.findall(r"\d+", text)]


def _row(fields, positions):
    """One table row: each field cut or padded to end at its column position."""
    line = ""
    for field, end in zip(fields, positions):
        line = (line + str(field))[:end]
        line += " " * (end - len(line))
    print(line)


def _params(node, pre_filter, shape_dict):
    """Parameter count of a layer, computed as MXNet's print_summary does."""
    op, attrs = node.op.name, node.attrs
    if op == "Convolution":
        count = pre_filter * int(attrs["num_filter"]) // int(attrs.get("num_group", "1"))
        for k in _digits(attrs["kernel"]):
            count *= k
        return count + (0 if attrs.get("no_bias") == "True" else int(attrs["num_filter"]))
    if op == "FullyConnected":
        bias = 0 if attrs.get("no_bias") == "True" else 1
        return (pre_filter + bias) * int(attrs["num_hidden"])
    if op == "BatchNorm" and shape_dict is not None:
        return int(shape_dict[node.name + "_output"][1]) * 2
    if op == "Embedding":
        return int(attrs["input_dim"]) * int(attrs["output_dim"])
    return 0


def _layer(ix, i, heads, shape_dict, positions):
    """Print one layer's row(s); return its parameter count."""
    node = ix.nodes[i]
    key = node.name if node.op is None else node.name + "_output"
    out_shape = shape_dict[key][1:] if shape_dict and key in shape_dict else ()
    previous, pre_filter = [], 0
    for e in node.inputs:
        j = ix.index[id(e[0])]
        src = e[0]
        if src.op is None and j not in heads:
            continue
        previous.append(src.name)
        src_key = src.name if src.op is None else src.name + "_output"
        if shape_dict and src_key in shape_dict and len(shape_dict[src_key]) > 1:
            pre_filter += int(shape_dict[src_key][1])
    count = 0 if node.op is None else _params(node, pre_filter, shape_dict)
    op_name = "null" if node.op is None else node.op.name
    _row(
        [
            f"{node.name}({op_name})",
            "x".join(str(d) for d in out_shape),
            count,
            previous[0] if previous else "",
        ],
        positions,
    )
    for name in previous[1:]:
        _row(["", "", "", name], positions)
    return count


def print_summary(symbol, shape=None, line_length=120, positions=(0.44, 0.64, 0.74, 1.0)):
    """Print MXNet's layer table: name(type), output shape, parameter count, inputs.

    Parameters
    ----------
    symbol : Symbol
    shape : dict of str to tuple, optional
        Input shapes; without them output shapes and BatchNorm counts are left out.
    line_length : int
    positions : sequence of float or int
        Column ends, relative to ``line_length`` when the last is <= 1.

    As MXNet 1.9.1, the nodes of the first output's ``[node, index, version]`` triple
    count as layers for the "previous layer" column (which makes the data variable,
    node 0, the input of the first layer), and a layer's input width is the second
    dimension of its inputs' shapes.
    """
    _check(symbol)
    shape_dict = _shape_dict(symbol, shape) if shape is not None else None
    positions = list(positions)
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    ix = symbol._indexed()
    first = symbol._outputs[0]
    heads = {ix.index[id(first[0])], first[1], 0}
    print("_" * line_length)
    _row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"], positions)
    print("=" * line_length)
    total = 0
    last = len(ix.nodes) - 1
    for i, node in enumerate(ix.nodes):
        if node.op is None and i > 0:
            continue
        total += _layer(ix, i, heads, shape_dict, positions)
        print(("=" if i == last else "_") * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)


def _label(node, attrs):
    """Node label and fill colour in plot_network (MXNet's choices)."""
    op = node.op.name
    if op == "Convolution":
        stride = "x".join(map(str, _digits(attrs["stride"]))) if "stride" in attrs else "1"
        kernel = "x".join(map(str, _digits(attrs["kernel"])))
        return f"Convolution\n{kernel}/{stride}, {attrs['num_filter']}", _COLORS[1]
    if op == "FullyConnected":
        return f"FullyConnected\n{attrs['num_hidden']}", _COLORS[1]
    if op == "BatchNorm":
        return node.name, _COLORS[3]
    if op in ("Activation", "LeakyReLU"):
        act = attrs.get("act_type", "Leaky" if op == "LeakyReLU" else "")
        return f"{op}\n{act}", _COLORS[2]
    if op == "Pooling":
        kernel = "x".join(map(str, _digits(attrs["kernel"]))) if "kernel" in attrs else "[]"
        stride = "x".join(map(str, _digits(attrs["stride"]))) if "stride" in attrs else "1"
        return f"Pooling\n{attrs.get('pool_type', 'max')}, {kernel}/{stride}", _COLORS[4]
    if op in ("Concat", "Flatten", "Reshape"):
        return node.name, _COLORS[5]
    if op == "Softmax":
        return node.name, _COLORS[6]
    return node.name, _COLORS[7]


def plot_network(
    symbol,
    title="plot",
    save_format="pdf",
    shape=None,
    dtype=None,
    node_attrs=None,
    hide_weights=True,
):
    """A graphviz ``Digraph`` of the graph computing ``symbol``.

    Parameters
    ----------
    symbol : Symbol
    title : str
        Name of the digraph (and of the rendered file).
    save_format : str
        Format ``Digraph.render`` writes (``'pdf'``, ``'png'``...).
    shape : dict of str to tuple, optional
        Input shapes; edges are then labelled with the shapes they carry.
    dtype : dict of str to dtype, optional
        Input dtypes; edges are then labelled with their dtypes.
    node_attrs : dict, optional
        Graphviz node attributes overriding the defaults.
    hide_weights : bool
        Leave out weight, bias and statistics variables.
    """
    try:
        from graphviz import Digraph
    except ImportError:
        raise ImportError(
            "Draw network requires graphviz library: install the Python "
            "package with `pip install graphviz` (rendering also needs the "
            "Graphviz programs)"
        ) from None
    _check(symbol)
    shape_dict = _shape_dict(symbol, shape) if shape is not None else None
    type_dict = None
    if dtype is not None:
        internals = symbol.get_internals()
        _, out_types, _ = internals.infer_type(**dtype)
        if out_types is None:
            raise MXNetError("Input type is incomplete")
        type_dict = dict(zip(internals.list_outputs(), out_types))
    ix = symbol._indexed()
    names = [n.name for n in ix.nodes]
    if len(set(names)) != len(names):
        repeated = sorted({n for i, n in enumerate(names) if n in names[:i]})
        warnings.warn(
            "There are multiple variables with the same name in your graph, this "
            "may result in cyclic graph. Repeated names: " + ",".join(repeated),
            RuntimeWarning,
        )
    base = {
        "shape": "box",
        "fixedsize": "true",
        "width": "1.3",
        "height": "0.8034",
        "style": "filled",
    }
    base.update(node_attrs or {})
    dot = Digraph(name=title, format=save_format)
    hidden = _add_nodes(dot, ix, base, hide_weights)
    _add_edges(dot, ix, hidden, shape_dict, type_dict)
    return dot


def _add_nodes(dot, ix, base, hide_weights):
    hidden = set()
    for node in ix.nodes:
        attr = dict(base)
        if node.op is None:
            if node.name.endswith(_WEIGHT_LIKE):
                if hide_weights:
                    hidden.add(node.name)
                continue
            attr["shape"] = "oval"
            attr["fillcolor"] = _COLORS[0]
            label = node.name
        else:
            label, attr["fillcolor"] = _label(node, node.attrs)
        dot.node(name=node.name, label=label, **attr)
    return hidden


def _add_edges(dot, ix, hidden, shape_dict, type_dict):
    for node in ix.nodes:
        if node.op is None:
            continue
        for e in node.inputs:
            src = e[0]
            if src.name in hidden:
                continue
            key = src.output_name(e[1])
            label = ""
            if shape_dict is not None:
                label = "x".join(str(d) for d in shape_dict[key][1:])
            if type_dict is not None:
                label += f"({type_dict[key].__name__})"
            dot.edge(
                tail_name=node.name, head_name=src.name, dir="back", arrowtail="open", label=label
            )
