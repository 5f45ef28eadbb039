"""``mx.operator``: operators written in Python (MXNet's ``CustomOp`` API).

Subclass ``CustomOpProp`` (what the operator takes and returns) and ``CustomOp`` (its
forward and backward on NDArrays), register the prop under a name, and call it as
``mx.nd.Custom(x, op_type='name')`` or ``mx.sym.Custom(x, op_type='name')``::

    class Square(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            self.assign(out_data[0], req[0], in_data[0] * in_data[0])

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])

    @mx.operator.register('square')
    class SquareProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, shapes, dtypes):
            return Square()

The operator runs through distnet's one operator registry (``distnet/ops/custom.py``), so it
works imperatively, under autograd, in Module and in hybridized Gluon blocks. Unlike MXNet,
nothing crosses a C boundary: an exception in your code arrives as an MXNetError, as in MXNet,
with your exception as its ``__cause__`` (its own traceback kept).
Auxiliary states (``list_auxiliary_states``) are bound like BatchNorm's and updated in place by
the operator's forward.
"""

import collections

from .base import MXNetError

__all__ = [
    "CustomOp",
    "CustomOpProp",
    "register",
    "get_all_registered_operators",
    "get_operator_arguments",
    "OperatorArguments",
    "PythonOp",
    "NumpyOp",
    "NDArrayOp",
]

OperatorArguments = collections.namedtuple("OperatorArguments", ["narg", "names", "types"])
OperatorArguments.__doc__ = "An operator's argument count, names and type descriptions."


class CustomOp:
    """Base class of a Python operator's computation: override ``forward``/``backward``."""

    def forward(self, is_train, req, in_data, out_data, aux):
        """Compute ``out_data`` (NDArrays to fill, with ``self.assign``) from ``in_data``."""

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        """Compute ``in_grad`` (NDArrays to fill) from ``out_grad`` and the forward's data."""

    def assign(self, dst, req, src):
        """Write ``src`` into ``dst`` as ``req`` says: 'write'/'inplace', 'add' or 'null'."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] += src
        else:
            raise MXNetError(
                f"CustomOp.assign: req must be 'null', 'write', 'inplace' or 'add', got {req!r}"
            )


class CustomOpProp:
    """Base class of a Python operator's description: arguments, outputs, shapes, types,
    and ``create_operator``. Attributes given at the call arrive as string keyword
    arguments of the constructor.

    Parameters
    ----------
    need_top_grad : bool
        Whether backward uses the output gradient (False for loss-like operators).
    """

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def infer_shape(self, in_shape):
        """``(in_shapes, out_shapes, aux_shapes)``; default: every output shaped like the
        first input."""
        return in_shape, (in_shape[0],) * len(self.list_outputs()), ()

    def infer_type(self, in_type):
        """``(in_types, out_types, aux_types)``; default: everything the first input's
        type."""
        first = in_type[0]
        return (
            [first] * len(in_type),
            [first] * len(self.list_outputs()),
            [first] * len(self.list_auxiliary_states()),
        )

    def infer_storage_type(self, in_stype):
        """Storage types: dense only in distnet."""
        return (
            ["default"] * len(in_stype),
            ["default"] * len(self.list_outputs()),
            ["default"] * len(self.list_auxiliary_states()),
        )

    def list_outputs(self):
        """Output names (default ``['output']``)."""
        return ["output"]

    def list_arguments(self):
        """Input names (default ``['data']``)."""
        return ["data"]

    def list_auxiliary_states(self):
        """Auxiliary state names (default none)."""
        return []

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        """What backward reads (kept for MXNet compatibility; distnet keeps all of it)."""
        deps = list(in_data) + list(out_data)
        return (list(out_grad) + deps) if self.need_top_grad_ else deps

    def create_operator(self, ctx, in_shapes, in_dtypes):
        """Return the ``CustomOp`` that computes this operator (must be overridden)."""
        raise NotImplementedError(f"{type(self).__name__}.create_operator must return a CustomOp")


def register(reg_name):
    """Class decorator: make a ``CustomOpProp`` subclass callable as
    ``Custom(..., op_type=reg_name)``; registering a name again replaces it."""

    def do_register(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise MXNetError(
                f"mx.operator.register({reg_name!r}): expected a CustomOpProp "
                f"subclass, got {prop_cls!r}"
            )
        from .ops import custom

        custom.PROPS[reg_name] = prop_cls
        for key in [k for k in custom._INSTANCES if dict(k).get("op_type") == reg_name]:
            del custom._INSTANCES[key]
        return prop_cls

    return do_register


def get_all_registered_operators():
    """Names of every registered operator (canonical names and aliases)."""
    from .ops.registry import all_ops

    return sorted(all_ops())


def get_operator_arguments(op_name):
    """``OperatorArguments(narg, names, types)`` of a registered operator: its inputs
    (type ``'NDArray-or-Symbol'``) and then its attributes, with type strings written as
    MXNet writes them (``"{'relu', 'tanh'}, required"``, ``'int, optional, default=1'``)."""
    from .ops.attrs import REQUIRED
    from .ops.registry import get_op

    op = get_op(op_name)
    if op.variadic:
        names, types = ["args"], ["NDArray-or-Symbol[]"]
    else:
        names = list(op.inputs) + list(op.aux)
        types = ["NDArray-or-Symbol"] * len(names)
    for key in op.param_order:
        attr = op.params[key]
        names.append(key)
        kind = _type_name(attr.parse_value)
        if attr.default is REQUIRED:
            types.append(f"{kind}, required")
        else:
            types.append(f"{kind}, optional, default={_default_text(attr.default)}")
    return OperatorArguments(len(names), names, types)


def _type_name(parser):
    from .ops import attrs

    choices = getattr(parser, "choices", None)
    if choices is not None:
        return "{" + ", ".join(repr(c) for c in sorted(choices)) + "}"
    inner = getattr(parser, "inner", None)
    if inner is not None:
        return f"{_type_name(inner)} or None"
    known = {
        attrs.Int: "int",
        attrs.Float: "float",
        attrs.Bool: "boolean",
        attrs.Str: "string",
        attrs.Shape: "Shape(tuple)",
        attrs.Dtype: "dtype",
    }
    return known.get(parser, getattr(parser, "__name__", "string").lstrip("_"))


def _default_text(value):
    if isinstance(value, bool):
        return str(int(value))  # MXNet writes booleans as 0/1
    if isinstance(value, tuple):
        return str(list(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


class PythonOp:
    """MXNet's legacy Python operator (``NumpyOp``/``NDArrayOp``), kept for old scripts:
    override ``forward(in_data, out_data)``, ``backward(out_grad, in_data, out_data,
    in_grad)``, ``infer_shape``, ``list_arguments``/``list_outputs`` and
    ``need_top_grad``; ``get_symbol(*inputs, name=...)`` makes the Symbol. The defaults
    are the identity. It runs as a ``Custom`` operator registered under a name private to
    this instance, so (as in MXNet) its graph JSON loads only in the same process.

    Parameters
    ----------
    need_top_grad : bool
        Whether backward reads the output gradient.
    """

    _count = 0

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad
        PythonOp._count += 1
        self._op_type = f"_python_op{PythonOp._count}"

    def forward(self, in_data, out_data):
        """Fill ``out_data`` from ``in_data`` (default: copy the first input)."""
        out_data[0][:] = in_data[0]

    def backward(self, out_grad, in_data, out_data, in_grad):
        """Fill ``in_grad`` (default: pass the output gradient through)."""
        in_grad[0][:] = out_grad[0]

    def infer_shape(self, in_shape):
        """``(in_shapes, out_shapes)``; default: one output shaped like the first input."""
        return in_shape, [in_shape[0]]

    def list_outputs(self):
        """Output names (default ``['output']``)."""
        return ["output"]

    def list_arguments(self):
        """Input names (default ``['data']``)."""
        return ["data"]

    def need_top_grad(self):
        """Whether backward reads the output gradient."""
        return self.need_top_grad_

    def get_symbol(self, *args, **kwargs):
        """The Symbol that runs this operator on the Symbols ``args``/``kwargs``."""
        from . import symbol

        register(self._op_type)(_legacy_prop(self))
        return symbol.Custom(*args, op_type=self._op_type, **kwargs)

    def _convert(self, arrays):
        """What ``forward``/``backward`` get: NDArrays (``NDArrayOp``)."""
        return list(arrays)

    def _assign_back(self, converted, arrays):
        """Write what the user filled back (nothing to do for NDArrays)."""


class NDArrayOp(PythonOp):
    """A legacy Python operator whose ``forward``/``backward`` get NDArrays."""


class NumpyOp(PythonOp):
    """A legacy Python operator whose ``forward``/``backward`` get numpy arrays (copies
    on the host; what the user writes into outputs and gradients is copied back)."""

    def _convert(self, arrays):
        return [a.asnumpy() for a in arrays]

    def _assign_back(self, converted, arrays):
        for src, dst in zip(converted, arrays):
            dst[:] = src


def _legacy_prop(legacy):
    """A CustomOpProp class running the legacy operator ``legacy``."""

    class _Run(CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            ins, outs = legacy._convert(in_data), legacy._convert(out_data)
            legacy.forward(in_data=ins, out_data=outs)
            legacy._assign_back(outs, out_data)

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            conv = legacy._convert
            grads = conv(in_grad)
            legacy.backward(
                out_grad=conv(out_grad),
                in_data=conv(in_data),
                out_data=conv(out_data),
                in_grad=grads,
            )
            legacy._assign_back(grads, in_grad)

    class _Prop(CustomOpProp):
        def __init__(self):
            super().__init__(need_top_grad=legacy.need_top_grad())

        def list_arguments(self):
            return legacy.list_arguments()

        def list_outputs(self):
            return legacy.list_outputs()

        def infer_shape(self, in_shape):
            ins, outs = legacy.infer_shape(in_shape)[:2]
            return ins, outs, []

        def create_operator(self, ctx, shapes, dtypes):
            return _Run()

    return _Prop
