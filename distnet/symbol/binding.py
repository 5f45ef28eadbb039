"""Array allocation and checks behind ``simple_bind``, ``bind`` and ``Executor.reshape``."""

import numpy as np

from ..base import MXNetError
from ..ndarray.ndarray import NDArray, wrap

__all__ = ["arrays_in_order", "check_bound", "allocate", "reshape"]


def arrays_in_order(values, names, what, required):
    """NDArrays for ``names`` from a list (in order) or a dict (by name)."""
    if isinstance(values, dict):
        out = []
        for name in names:
            arr = values.get(name)
            if arr is None and required:
                raise MXNetError(f"bind: {what} has no array for {name!r} (needed: {names})")
            out.append(arr)
    else:
        out = list(values)
        if len(out) != len(names):
            raise MXNetError(
                f"bind: {what} has {len(out)} arrays, the symbol needs {len(names)}: {names}"
            )
    for name, arr in zip(names, out):
        if arr is not None and not isinstance(arr, NDArray):
            raise MXNetError(f"bind: {what}[{name!r}] must be an NDArray, got {type(arr).__name__}")
        if arr is None and required:
            raise MXNetError(f"bind: {what} has no array for {name!r}")
    return out


def _check_ctx(ctx, name, arr, allowed=()):
    if arr is not None and arr.context != ctx and arr.context not in allowed:
        raise MXNetError(
            f"bind: array {name!r} is on {arr.context}, the executor on {ctx}; "
            "use as_in_context to move it"
        )


def _host_group_ctxs(ctx, group2ctx):
    """The contexts of ``group2ctx`` (MXNet's model parallelism) an executor on ``ctx``
    can use arrays of as they are: other CPU contexts, when ``ctx`` is a CPU (all host
    memory is one). distnet runs the whole graph on ``ctx``; groups on other GPUs are not
    supported, so their arrays must be on ``ctx``."""
    if not group2ctx or ctx.device_type != "cpu":
        return {}
    out = {}
    for group, c in group2ctx.items():
        c = c[0] if isinstance(c, (list, tuple)) else c
        if c.device_type == "cpu":
            out[group] = c
    return out


def group_contexts(symbol, ctx, group2ctx):
    """``{variable name: context}`` for the variables whose ``ctx_group`` attribute maps
    to another host context in ``group2ctx``: simple_bind allocates them there, as MXNet."""
    groups = _host_group_ctxs(ctx, group2ctx)
    if not groups:
        return {}
    attrs = symbol.attr_dict()
    out = {}
    for name in symbol.list_arguments() + symbol.list_auxiliary_states():
        group = attrs.get(name, {}).get("__ctx_group__")
        if group in groups:
            out[name] = groups[group]
    return out


def _out_signature(symbol, shapes, types):
    """Output shapes and dtypes by inference from known input shapes and dtypes."""
    _, out_shapes, _ = symbol.infer_shape_partial(**shapes)
    bad = [n for n, s in zip(symbol.list_outputs(), out_shapes) if _unknown(s)]
    if bad:
        raise MXNetError(f"bind: cannot infer the shapes of outputs {bad} from the inputs")
    _, out_types, _ = symbol.infer_type_partial(**types)
    return out_shapes, [np.float32 if t is None else t for t in out_types]


def check_bound(symbol, ctx, args, grads, aux, group2ctx=None):
    """Check the caller's arrays (contexts, gradient shapes, consistent shapes by
    inference); return the output shapes and dtypes. Arrays may be on the host contexts
    of ``group2ctx`` too."""
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    allowed = set(_host_group_ctxs(ctx, group2ctx).values())
    for name, arr, grad in zip(arg_names, args, grads):
        _check_ctx(ctx, name, arr, allowed)
        _check_ctx(ctx, name, grad, allowed)
        if grad is not None and grad.shape != arr.shape:
            raise MXNetError(
                f"bind: gradient array of {name!r} has shape {grad.shape}, the "
                f"argument has shape {arr.shape}"
            )
    for name, arr in zip(aux_names, aux):
        _check_ctx(ctx, name, arr, allowed)
    shapes = {n: a.shape for n, a in zip(arg_names + aux_names, list(args) + list(aux))}
    types = {n: a.dtype for n, a in zip(arg_names + aux_names, list(args) + list(aux))}
    return _out_signature(symbol, shapes, types)


def _unknown(shape):
    """Whether an inferred shape is not fully known: None or -1 dimensions in NumPy shape
    mode (where 0 is an empty dimension), ``()`` or 0 dimensions otherwise."""
    from ..util import is_np_shape

    if is_np_shape():
        return shape is None or -1 in shape
    return not shape or 0 in shape


def _shape_kwargs(symbol, kwargs):
    """The input shapes among ``simple_bind``'s keyword arguments. As MXNet, other
    keywords (``axis=1`` copied from the operator call) are ignored; an input given
    something that is not a shape is an error (MXNet ignored that too)."""
    inputs = set(symbol.list_inputs())
    shapes = {}
    for key, value in kwargs.items():
        if isinstance(value, (tuple, list)):
            shapes[key] = value
        elif key in inputs:
            raise MXNetError(
                f"simple_bind: the shape of input {key!r} must be a tuple, "
                f"got {type(value).__name__} {value!r}"
            )
    return shapes


def allocate(
    symbol,
    ctx,
    grad_req,
    type_dict,
    shared_arg_names,
    shared_exec,
    shared_buffer,
    shapes,
    group2ctx=None,
):
    """``simple_bind``: infer shapes and dtypes, allocate (or share) arrays, bind.
    Variables of a ``ctx_group`` that ``group2ctx`` maps to another host context get
    their arrays (and gradients) there."""
    from ..executor import Executor, grad_reqs

    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    shapes = _shape_kwargs(symbol, shapes)
    arg_shapes, out_shapes, aux_shapes = symbol.infer_shape_partial(**shapes)
    missing = [n for n, s in zip(arg_names + aux_names, arg_shapes + aux_shapes) if _unknown(s)]
    if missing or any(_unknown(s) for s in out_shapes):
        raise MXNetError(
            f"simple_bind: cannot infer the shapes of {missing or 'the outputs'}"
            f" from the given shapes {shapes}; give them as keyword arguments"
        )
    arg_types, out_types, aux_types = symbol.infer_type_partial(**type_dict)
    reqs = grad_reqs(grad_req, arg_names)
    shared = set(shared_arg_names or ())
    s_args = shared_exec.arg_dict if shared_exec is not None else {}
    s_grads = shared_exec.grad_dict if shared_exec is not None else {}
    s_aux = shared_exec.aux_dict if shared_exec is not None else {}
    xp = ctx.xp
    args, grads = [], []
    for name, shape, dtype, req in zip(arg_names, arg_shapes, arg_types, reqs):
        dtype = np.float32 if dtype is None else dtype
        if name in shared and name in s_args:
            arr = _shared(s_args[name], name, shape, ctx)
            grad = s_grads.get(name) if req != "null" else None
            if req != "null" and grad is None:
                grad = wrap(xp.zeros(shape, dtype), ctx)
        else:
            if shared_buffer is not None:
                arr = _from_buffer(shared_buffer, name, shape, dtype, ctx)
            else:
                arr = wrap(xp.zeros(shape, dtype), ctx)
            grad = wrap(xp.zeros(shape, dtype), ctx) if req != "null" else None
        args.append(arr)
        grads.append(grad)
    aux = []
    for name, shape, dtype in zip(aux_names, aux_shapes, aux_types):
        old = s_aux.get(name)
        if old is not None and old.shape == tuple(shape) and old.context == ctx:
            aux.append(old)
        else:
            aux.append(wrap(xp.zeros(shape, np.float32 if dtype is None else dtype), ctx))
    out_types = [np.float32 if t is None else t for t in out_types]
    placed = group_contexts(symbol, ctx, group2ctx)
    if placed:  # host memory is one: the same arrays, labelled with their group's context
        args, grads = _relabel(arg_names, args, placed), _relabel(arg_names, grads, placed)
        aux = _relabel(aux_names, aux, placed)
    return Executor(symbol, ctx, args, grads, reqs, aux, out_shapes, out_types)


def _relabel(names, arrays, placed):
    return [
        wrap(a._data, placed[n]) if a is not None and n in placed and a._ctx != placed[n] else a
        for n, a in zip(names, arrays)
    ]


def _shared(arr, name, shape, ctx):
    if arr.shape != tuple(shape):
        raise MXNetError(
            f"simple_bind: shared argument {name!r} has shape {arr.shape}, this "
            f"executor needs {tuple(shape)}"
        )
    _check_ctx(ctx, name, arr)
    return arr


def _from_buffer(buffer, name, shape, dtype, ctx):
    """An array for ``name`` reusing ``buffer[name]``'s memory when it is big enough
    (bucketing executors share data arrays this way); a new one otherwise."""
    old = buffer.get(name)
    size = int(np.prod(shape, dtype=np.int64))
    if (
        old is not None
        and old.size >= size
        and old.dtype == np.dtype(dtype).type
        and old.context == ctx
    ):
        return wrap(old._data.reshape(-1)[:size].reshape(shape), ctx)
    arr = wrap(ctx.xp.zeros(shape, dtype), ctx)
    buffer[name] = arr
    return arr


def _resized(old, shape, allow_up_sizing, name):
    """``old``'s memory viewed as ``shape`` when it fits, else a new array."""
    if old is None:
        return None
    size = int(np.prod(shape, dtype=np.int64))
    if size <= old.size:
        return wrap(old._data.reshape(-1)[:size].reshape(shape), old.context)
    if not allow_up_sizing:
        raise MXNetError(
            f"reshape: new shape {tuple(shape)} of {name!r} is larger than the "
            f"original {old.shape}; pass allow_up_sizing=True to allocate new "
            "arrays (making a big executor and shrinking it is cheaper)"
        )
    return wrap(old.context.xp.zeros(shape, old._data.dtype), old.context)


def reshape(exe, partial_shaping, allow_up_sizing, kwargs):
    """``Executor.reshape``: new shapes for the inputs in ``kwargs``; arrays whose shape
    does not change are shared, the others view the old memory or are new."""
    from ..executor import Executor

    sym = exe._symbol
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape_partial(**kwargs)
    names = exe._arg_names + exe._aux_names
    missing = [n for n, s in zip(names, arg_shapes + aux_shapes) if _unknown(s)]
    if missing:
        raise MXNetError(f"reshape: cannot infer the shapes of {missing} from {kwargs}")
    args, grads, aux = [], [], []
    for name, shape, arr, grad in zip(exe._arg_names, arg_shapes, exe.arg_arrays, exe.grad_arrays):
        if arr.shape == tuple(shape):
            args.append(arr)
            grads.append(grad)
            continue
        _check_partial(name, kwargs, partial_shaping, arr.shape, shape)
        args.append(_resized(arr, shape, allow_up_sizing, name))
        grads.append(_resized(grad, shape, allow_up_sizing, name))
    for name, shape, arr in zip(exe._aux_names, aux_shapes, exe.aux_arrays):
        if arr.shape == tuple(shape):
            aux.append(arr)
            continue
        _check_partial(name, kwargs, partial_shaping, arr.shape, shape)
        aux.append(_resized(arr, shape, allow_up_sizing, name))
    reqs = [exe._grad_req[n] for n in exe._arg_names]
    out_types = [o.dtype for o in exe.outputs]
    new = Executor(sym, exe._ctx, args, grads, reqs, aux, out_shapes, out_types)
    new._out_share = list(exe.outputs)  # outputs written into the old ones' memory
    return new


def _check_partial(name, kwargs, partial_shaping, old, new):
    if name not in kwargs and not partial_shaping:
        raise MXNetError(
            f"reshape: the shape of {name!r}, which was not given, changes "
            f"from {old} to {tuple(new)}; this would stop it sharing memory "
            "with the original executor. Pass partial_shaping=True if intended"
        )
