"""``Custom``: operators written in Python by users (``mx.operator.CustomOp``).

A user registers a ``CustomOpProp`` subclass under a name (``mx.operator.register``); the
one ``Custom`` operator here looks it up by the ``op_type`` attribute and runs it wherever
any operator runs: ``nd.Custom``, ``sym.Custom`` (graph JSON keeps ``op_type`` and the
user's attributes, as MXNet's does), autograd, the executor and hybridized blocks. Extra
attributes reach the prop's constructor as strings, as in MXNet. The user's forward and
backward get NDArrays and run with recording paused, so their own operations never appear on
the tape: the Custom node's gradient is whatever the user's backward writes. An exception raised
in the user's forward or backward arrives as an MXNetError (as in MXNet) whose
``__cause__`` is the original exception, with its own traceback.
"""

import contextlib

import numpy as np

from ..base import MXNetError
from .attrs import REQUIRED, Attr
from .registry import Op, register

# op_type -> the CustomOpProp subclass registered for it (mx.operator.register fills it)
PROPS = {}


def _prop(a):
    """A prop instance for attributes ``a`` (made once per distinct attribute set)."""
    key = a["__key__"]
    prop = _INSTANCES.get(key)
    if prop is None:
        op_type = a["op_type"]
        cls = PROPS.get(op_type)
        if cls is None:
            raise MXNetError(
                f"operator Custom: op_type {op_type!r} is not registered; "
                f"register a CustomOpProp with mx.operator.register("
                f"{op_type!r}) (registered: {sorted(PROPS)})"
            )
        kwargs = {k: v for k, v in a.items() if k not in ("op_type", "__key__")}
        prop = cls(**kwargs)
        _INSTANCES[key] = prop
    return prop


_INSTANCES = {}


@register
class Custom(Op):
    """Run the Python operator registered as ``op_type`` (``mx.operator.register``)."""

    name = "Custom"
    variadic = True
    params = {"op_type": Attr(str, REQUIRED)}  # plus any attribute the user's prop takes

    def parse(self, kwargs):
        """``op_type`` (required) and the user's attributes, every value as a string."""
        attrs = {
            k: (v if isinstance(v, str) else str(v))
            for k, v in kwargs.items()
            if k not in ("name", "num_args", "ctx", "out") and not k.startswith("__")
        }
        if "op_type" not in attrs:
            raise MXNetError("operator Custom: required argument 'op_type' is missing")
        attrs["__key__"] = tuple(sorted(attrs.items()))
        return attrs

    def input_names(self, a):
        """The registered prop's ``list_arguments()``."""
        return tuple(_prop(a).list_arguments())

    def aux_names(self, a):
        """The registered prop's ``list_auxiliary_states()``."""
        return tuple(_prop(a).list_auxiliary_states())

    def output_names(self, a):
        """The registered prop's ``list_outputs()``."""
        return tuple(_prop(a).list_outputs())

    def infer_shape(self, a, in_shapes, aux_shapes):
        """The prop's ``infer_shape`` once every input shape is known."""
        prop = _prop(a)
        if any(s is None for s in in_shapes):
            return in_shapes, [None] * self.num_outputs(a), aux_shapes
        result = prop.infer_shape([list(s) for s in in_shapes])
        ins, outs = result[0], result[1]
        aux = result[2] if len(result) > 2 else ()
        n_aux = len(prop.list_auxiliary_states())
        if len(aux) != n_aux:
            raise MXNetError(
                f"operator Custom: {type(prop).__name__}.infer_shape returned {len(aux)} "
                f"auxiliary shapes for its {n_aux} auxiliary states"
            )
        return ([tuple(s) for s in ins], [tuple(s) for s in outs], [tuple(s) for s in aux])

    def infer_type(self, a, in_types, aux_types):
        """The prop's ``infer_type`` (default: every type is the first input's)."""
        known = next((t for t in in_types if t is not None), np.dtype(np.float32))
        in_types = [known if t is None else t for t in in_types]
        result = _prop(a).infer_type([np.dtype(t).type for t in in_types])
        aux = result[2] if len(result) > 2 else [known] * len(aux_types)
        return (
            [np.dtype(t) for t in result[0]],
            [np.dtype(t) for t in result[1]],
            [np.dtype(t) for t in aux],
        )

    def forward(self, a, ins, aux, is_train):
        """Make the user's operator and run its ``forward`` into fresh outputs."""
        from ..ndarray.ndarray import wrap
        from ..context import cpu
        from .. import autograd

        prop = _prop(a)
        shapes = [list(x.shape) for x in ins]
        dtypes = [x.dtype.type for x in ins]
        _, out_shapes, _ = self.infer_shape(a, [tuple(s) for s in shapes], [None] * len(aux))
        _, out_types, _ = self.infer_type(a, [np.dtype(t) for t in dtypes], [None] * len(aux))
        xp = _xp_of(ins)
        ctx = cpu() if xp is np else _gpu_ctx(ins[0])
        user_op = prop.create_operator(ctx, shapes, dtypes)
        in_nd = [wrap(x, ctx) for x in ins]
        aux_nd = [wrap(x, ctx) for x in aux]  # the bound states: the user updates them in place
        out_nd = [wrap(xp.zeros(s, t), ctx) for s, t in zip(out_shapes, out_types)]
        with autograd.pause(train_mode=is_train), _user_code(prop, "forward"):
            user_op.forward(
                is_train=is_train,
                req=["write"] * len(out_nd),
                in_data=in_nd,
                out_data=out_nd,
                aux=aux_nd,
            )
        return [o._data for o in out_nd], (user_op, in_nd, out_nd, aux_nd, ctx)

    def backward(self, F, a, ins, outs, saved, ograds):
        """The user's ``backward``, writing into zero-filled input gradients."""
        from ..ndarray.ndarray import wrap
        from .. import autograd

        user_op, in_nd, out_nd, aux_nd, ctx = saved
        prop = _prop(a)
        xp = _xp_of(ins)
        out_grad = [
            wrap(g if g is not None else xp.zeros_like(o), ctx) for g, o in zip(ograds, outs)
        ]
        in_grad = [wrap(xp.zeros_like(x), ctx) for x in ins]
        with autograd.pause(), _user_code(prop, "backward"):
            user_op.backward(
                req=["write"] * len(in_grad),
                out_grad=out_grad,
                in_data=in_nd,
                out_data=out_nd,
                in_grad=in_grad,
                aux=aux_nd,
            )
        return [g._data for g in in_grad]


@contextlib.contextmanager
def _user_code(prop, what):
    """Raise what the user's operator raises as an MXNetError, as MXNet does, with the
    user's exception chained (``__cause__``) so its own traceback is kept."""
    try:
        yield
    except MXNetError:
        raise
    except Exception as err:
        raise MXNetError(
            f"operator Custom: {what} of {type(prop).__name__} raised {type(err).__name__}: {err}"
        ) from err


def _xp_of(arrays):
    from ..backend import xp_of

    return xp_of(arrays[0]) if arrays else np


def _gpu_ctx(array):
    from ..context import gpu

    return gpu(array.device.id)
