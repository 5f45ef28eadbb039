"""The graph under a Symbol: nodes, their input entries, and the indexed (ordered) view.

A node is an operator call or a variable. An *entry* ``(node, index, version)`` names one
output of a node (``version`` counts how often a variable was mutated as an auxiliary
state, as NNVM records it). A Symbol is a list of head entries. ``Indexed`` orders the
nodes reachable from the heads depth-first, inputs before users (NNVM's order, which is
the node order of MXNet's graph JSON), and numbers every visible output.
"""

__all__ = ["Node", "Indexed", "variable_node", "dfs_order", "INPUT_INIT"]

# Initializers operators give their variable inputs that carry no ``__init__`` (MXNet's
# FSetInputVarAttrOnCompose): (operator, input name) -> ``__init__`` string.
_BN_INIT = {"moving_mean": '["zero", {}]', "moving_var": '["one", {}]'}
INPUT_INIT = {("LeakyReLU", "gamma"): '["Constant", {"value": 0.25}]'}
for _op in ("BatchNorm", "_contrib_SyncBatchNorm", "_contrib_BatchNormWithReLU"):
    INPUT_INIT.update({(_op, k): v for k, v in _BN_INIT.items()})


class Node:
    """One graph node: an operator call (``op`` set) or a variable (``op`` is None).

    Attributes
    ----------
    attrs : dict of str to str
        MXNet's attribute strings, exactly as written to graph JSON (the user's operator
        arguments and hidden ``__key__`` attributes).
    parsed : dict
        The operator's typed attributes (defaults filled), parsed from ``attrs``.
    inputs : list of (Node, int, int)
        Input entries: regular inputs first, then auxiliary states.
    out_names : tuple of str
        Suffixes of the visible outputs (``('output',)``; ``('output0', 'output1')``).
    version : int
        For variables: times mutated as an auxiliary state so far.
    n_total : int or None
        Outputs including hidden ones (informational, for ``node_row_ptr``).
    """

    __slots__ = (
        "op",
        "name",
        "attrs",
        "parsed",
        "inputs",
        "out_names",
        "version",
        "n_total",
        "__weakref__",
    )

    def __init__(self, op, name, attrs, parsed, inputs, out_names, n_total=None):
        self.op = op
        self.name = name
        self.attrs = attrs
        self.parsed = parsed
        self.inputs = inputs
        self.out_names = out_names
        self.version = 0
        self.n_total = n_total

    @property
    def is_variable(self):
        """Whether the node is a variable (an argument or auxiliary state)."""
        return self.op is None

    @property
    def n_aux(self):
        """Number of trailing inputs that are auxiliary states."""
        return 0 if self.op is None else len(self.op.aux_names(self.parsed))

    def output_name(self, index):
        """MXNet's name of output ``index``: ``data`` or ``fc1_output``."""
        if self.op is None:
            return self.name
        if not self.name:  # an atomic symbol's node (Symbol._gen_atomic_symbol)
            return self.out_names[index]
        return f"{self.name}_{self.out_names[index]}"

    def __repr__(self):
        kind = "var" if self.op is None else self.op.name
        return f"<Node {self.name} ({kind})>"


def variable_node(name, attrs=None):
    """A new variable node named ``name`` with attribute strings ``attrs``."""
    return Node(None, name, dict(attrs or {}), None, [], ("",))


def dfs_order(heads):
    """Nodes reachable from head entries in post-order: inputs first, each node once."""
    order, visited = [], set()
    for head in heads:
        node = head[0]
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack = [(node, 0)]
        while stack:
            cur, i = stack[-1]
            if i == len(cur.inputs):
                order.append(cur)
                stack.pop()
                continue
            stack[-1] = (cur, i + 1)
            child = cur.inputs[i][0]
            if id(child) not in visited:
                visited.add(id(child))
                stack.append((child, 0))
    return order


class Indexed:
    """Nodes of a graph in DFS order with numbered outputs (entry ids).

    Attributes
    ----------
    nodes : list of Node
    index : dict of id(Node) to int
    row_ptr : list of int
        ``row_ptr[i]`` is the entry id of node ``i``'s first visible output.
    heads : list of int
        Entry ids of the symbol's outputs.
    variables : list of int
        Node indices of the variables, in order (``list_inputs`` order).
    mutable : set of int
        Node indices of variables used as auxiliary states.
    """

    def __init__(self, heads):
        self.nodes = dfs_order(heads)
        self.index = {id(n): i for i, n in enumerate(self.nodes)}
        row_ptr, total = [], 0
        for node in self.nodes:
            row_ptr.append(total)
            total += len(node.out_names)
        self.row_ptr = row_ptr
        self.num_entries = total
        self.heads = [self.entry(e) for e in heads]
        self.variables = [i for i, n in enumerate(self.nodes) if n.op is None]
        mutable = set()
        for node in self.nodes:
            n_aux = node.n_aux
            if n_aux:
                for e in node.inputs[len(node.inputs) - n_aux :]:
                    if e[0].op is None:
                        mutable.add(self.index[id(e[0])])
        self.mutable = mutable

    def entry(self, e):
        """Entry id of an entry ``(node, index, ...)``."""
        return self.row_ptr[self.index[id(e[0])]] + e[1]

    def arguments(self):
        """Node indices of the variables that are arguments (not auxiliary states)."""
        return [i for i in self.variables if i not in self.mutable]

    def auxiliary(self):
        """Node indices of the variables that are auxiliary states."""
        return [i for i in self.variables if i in self.mutable]

    def entry_names(self):
        """MXNet's name for every entry id (``data``, ``fc1_output``, ...)."""
        names = []
        for node in self.nodes:
            names.extend(node.output_name(i) for i in range(len(node.out_names)))
        return names
