"""``Symbol``: a handle on one or more outputs of an operator graph.

Listing (arguments, outputs, auxiliary states, internals), indexing, attributes, JSON,
inference and binding live here; building graphs is in ``compose.py``, the generated
operator functions in ``_gen.py``, Python operators in ``_arith.py``.
"""

from ..base import MXNetError, NotImplementedForSymbol
from .. import attribute as _attribute
from .graph import Indexed

__all__ = ["Symbol"]


class Symbol:
    """A symbolic graph with one or more outputs, as MXNet's ``mx.sym.Symbol``.

    Symbols are built with ``mx.sym.Variable`` and the operator functions
    (``mx.sym.FullyConnected(data=..., num_hidden=128, name='fc1')``), combined with
    Python operators and ``mx.sym.Group``, saved as MXNet's graph JSON and executed by
    binding (``simple_bind``/``bind``) to arrays.
    """

    __slots__ = ("_outputs", "_ix", "_plan", "_cse", "__weakref__")

    def __init__(self, outputs):
        self._outputs = [(e[0], e[1]) for e in outputs]
        self._ix = None
        self._plan = None
        self._cse = None

    # ---- graph views ----
    def _indexed(self):
        """The ordered, numbered view of this symbol's graph (computed once)."""
        ix = self._ix
        if ix is None:
            ix = self._ix = Indexed(self._outputs)
        return ix

    def _optimized(self):
        """The graph an executor runs: common expressions merged unless
        ``MXNET_ELIMINATE_COMMON_EXPR=0`` (``Executor.get_optimized_symbol``)."""
        from .. import config

        if not config.get("MXNET_ELIMINATE_COMMON_EXPR"):
            return self
        if self._cse is None:
            from .cse import eliminate_common_expr

            self._cse = eliminate_common_expr(self)
        return self._cse

    @property
    def name(self):
        """Name of the head node; None for a group of outputs of different nodes."""
        node = self._outputs[0][0]
        if any(n is not node for n, _ in self._outputs):
            return None
        return node.name

    def list_arguments(self):
        """Names of the arguments (variables that are not auxiliary states), in order."""
        ix = self._indexed()
        return [ix.nodes[i].name for i in ix.arguments()]

    def list_auxiliary_states(self):
        """Names of the auxiliary states (``bn_moving_mean``...), in order."""
        ix = self._indexed()
        return [ix.nodes[i].name for i in ix.auxiliary()]

    def list_inputs(self):
        """Names of all variables, arguments and auxiliary states, in graph order."""
        ix = self._indexed()
        return [ix.nodes[i].name for i in ix.variables]

    def list_outputs(self):
        """Names of the outputs (``fc1_output``, ``split_output0``, or a variable's name)."""
        return [node.output_name(i) for node, i in self._outputs]

    def get_internals(self):
        """A symbol whose outputs are every output of every node, in graph order."""
        ix = self._indexed()
        return Symbol([(n, i) for n in ix.nodes for i in range(len(n.out_names))])

    def get_children(self):
        """A symbol of the inputs of the head node(s), each head node once (the three
        outputs of a split have one input); None for a variable."""
        heads = list({id(node): node for node, _ in self._outputs}.values())
        entries = [e for node in heads for e in node.inputs]
        if not entries:
            return None
        return Symbol([(e[0], e[1]) for e in entries])

    def __len__(self):
        return len(self._outputs)

    def __iter__(self):
        return (self[i] for i in range(len(self._outputs)))

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            hits = [i for i, n in enumerate(names) if n == index]
            if not hits:
                raise MXNetError(
                    f"Cannot find output that matches name {index!r}; outputs are {names}"
                )
            if len(hits) > 1:
                raise MXNetError(f"There are multiple outputs with name {index!r}")
            index = hits[0]
        if isinstance(index, slice):
            from .compose import Group

            return Group([self[i] for i in range(*index.indices(len(self._outputs)))])
        if not isinstance(index, int):
            raise MXNetError(
                f"Symbol index must be an int, a slice or an output name, "
                f"got {type(index).__name__}"
            )
        if not -len(self._outputs) <= index < len(self._outputs):
            raise IndexError(
                f"Symbol index {index} out of range: the symbol has {len(self._outputs)} outputs"
            )
        return Symbol([self._outputs[index]])

    def __repr__(self):
        name = self.name
        if name is not None:
            return f"<Symbol {name}>"
        return f"<Symbol group [{', '.join(node.name for node, _ in self._outputs)}]>"

    def __bool__(self):
        raise NotImplementedForSymbol(self.__bool__, "bool")

    def __hash__(self):
        return id(self)

    # ---- copying and composition ----
    def __copy__(self):
        from .compose import _copy_graph

        memo = _copy_graph(self._outputs, {})
        return Symbol([(memo[id(n)][0], i) for n, i in self._outputs])

    def __deepcopy__(self, memo):
        return self.__copy__()

    def _gen_atomic_symbol(self):
        """The head node's operator and attributes as a new symbol with no inputs and no
        name (MXNet's atomic symbol); calling it composes it again:
        ``atom(data, weight, name='fc2')``."""
        from .graph import Node

        node = self._head_node("_gen_atomic_symbol")
        if node.op is None:
            raise MXNetError(f"_gen_atomic_symbol: {node.name!r} is a variable, not an operator")
        atom = Node(node.op, "", dict(node.attrs), node.parsed, [], node.out_names)
        return Symbol([(atom, i) for i in range(len(atom.out_names))])

    def __call__(self, *args, **kwargs):
        """Compose: a copy with variables replaced, ``net(data=other_symbol)``; an atomic
        symbol (``_gen_atomic_symbol``) takes its inputs as ``sym.<op>`` does."""
        from .compose import compose, create

        node = self._outputs[0][0]
        if node.op is not None and not node.inputs and not node.name:
            name = kwargs.pop("name", None)
            attrs = dict(node.attrs)
            attrs.update(kwargs)
            return create(node.op, node.op.name.lower(), args, attrs, name)
        if args:
            raise MXNetError(
                "Symbol composition takes keyword arguments only "
                "(net(data=other)), as MXNet's general composition"
            )
        name = kwargs.pop("name", None)
        return compose(self, name=name, **kwargs)

    # ---- attributes ----
    def _head_node(self, what):
        node = self._outputs[0][0]
        if any(n is not node for n, _ in self._outputs):
            raise MXNetError(f"{what} only works for a non-grouped symbol")
        return node

    def attr(self, key):
        """The attribute ``key`` of the head node as a string, or None."""
        node = self._outputs[0][0]
        if any(n is not node for n, _ in self._outputs):
            return None
        if key == "name":
            return node.name
        value = node.attrs.get(key)
        if value is None:
            value = node.attrs.get(_attribute.hidden_key(key))
        return value

    def list_attr(self, recursive=False):
        """The head node's attributes (hidden ``__lr_mult__`` also as ``lr_mult``)."""
        if recursive:
            raise MXNetError("Symbol.list_attr(recursive=True) was removed; use attr_dict()")
        return _with_plain_keys(self._head_node("list_attr").attrs)

    def attr_dict(self):
        """{node name: attributes} for every node with attributes, in graph order."""
        out = {}
        for node in self._indexed().nodes:
            if node.attrs:
                out.setdefault(node.name, {}).update(_with_plain_keys(node.attrs))
        return out

    def _set_attr(self, **kwargs):
        """Set string attributes on the head node (re-validated for operators)."""
        node = self._head_node("_set_attr")
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise MXNetError(
                    f"_set_attr: attribute {key!r} must be a string, got {type(value).__name__}"
                )
        new = dict(node.attrs)
        new.update({_attribute.hidden_key(k): v for k, v in kwargs.items()})
        if node.op is not None:
            node.parsed = node.op.parse(new)
            self._plan = self._cse = None  # made with the old attributes
        node.attrs = new

    # ---- serialisation ----
    def tojson(self, remove_amp_cast=True):
        """MXNet's graph JSON of this symbol (a string MXNet 1.9.1 loads)."""
        from .json_io import to_json

        return to_json(self)

    def save(self, fname, remove_amp_cast=True):
        """Write ``tojson()`` to ``fname`` (atomically)."""
        from .json_io import save_file

        save_file(self, fname)

    def debug_str(self):
        """A readable listing of the graph's nodes and their inputs."""
        lines = []
        ix = self._indexed()
        for node in ix.nodes:
            if node.op is None:
                lines.append(f"Variable:{node.name}")
                continue
            lines.append("-" * 40)
            lines.append(f"Op:{node.op.name}, Name={node.name}")
            lines.append("Inputs:")
            for k, e in enumerate(node.inputs):
                lines.append(f"\targ[{k}]={e[0].output_name(e[1])}")
            if node.attrs:
                lines.append("Attrs:")
                lines.extend(f"\t{k}={v}" for k, v in sorted(node.attrs.items()))
        return "\n".join(lines) + "\n"

    # ---- inference ----
    def infer_shape(self, *args, **kwargs):
        """Infer shapes from known input shapes: ``(arg_shapes, out_shapes, aux_shapes)``.

        Returns ``(None, None, None)`` with a warning when some shape stays unknown.
        """
        from .infer import infer_shape

        return infer_shape(self, args, kwargs, partial=False)

    def infer_shape_partial(self, *args, **kwargs):
        """As ``infer_shape``, but unknown shapes are ``()`` instead of failing."""
        from .infer import infer_shape

        return infer_shape(self, args, kwargs, partial=True)

    def infer_type(self, *args, **kwargs):
        """Infer dtypes (numpy types) from known input dtypes."""
        from .infer import infer_type

        return infer_type(self, args, kwargs, partial=False)

    def infer_type_partial(self, *args, **kwargs):
        """As ``infer_type``, but unknown dtypes are None instead of failing."""
        from .infer import infer_type

        return infer_type(self, args, kwargs, partial=True)

    # ---- execution ----
    def simple_bind(
        self,
        ctx,
        grad_req="write",
        type_dict=None,
        stype_dict=None,
        group2ctx=None,
        shared_arg_names=None,
        shared_exec=None,
        shared_buffer=None,
        **kwargs,
    ):
        """Bind to new arrays whose shapes are inferred from ``kwargs`` (input shapes)."""
        from ..executor import simple_bind

        kwargs.pop("force_rebind", None)  # Module.bind's flag; MXNet ignores it here
        return simple_bind(
            self,
            ctx,
            grad_req,
            type_dict,
            shared_arg_names,
            shared_exec,
            shared_buffer,
            kwargs,
            group2ctx,
        )

    def bind(
        self,
        ctx,
        args,
        args_grad=None,
        grad_req="write",
        aux_states=None,
        group2ctx=None,
        shared_exec=None,
    ):
        """Bind to the given argument (and gradient, auxiliary) arrays."""
        from ..executor import bind

        return bind(self, ctx, args, args_grad, grad_req, aux_states, group2ctx)

    def eval(self, ctx=None, **kwargs):
        """Bind to ``kwargs`` (every argument), run forward, return the output list."""
        from ..context import current_context

        exe = self.bind(ctx or current_context(), kwargs, grad_req="null")
        return exe.forward()

    # arithmetic operators and generated operator methods are attached in _arith/_gen


def _with_plain_keys(attrs):
    """Attributes plus the plain form of MXNet's hidden keys (``lr_mult`` next to
    ``__lr_mult__``), as MXNet's attribute listings show them."""
    out = dict(attrs)
    for key, value in attrs.items():
        if key.startswith("__") and key.endswith("__") and key[2:-2] in _attribute.HIDDEN_KEYS:
            out[key[2:-2]] = value
    return out
