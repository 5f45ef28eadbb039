"""Hybrid execution of a HybridBlock: trace ``hybrid_forward`` to a Symbol, build a
CachedOp on the shared executor, call it with data and parameter arrays, infer parameter
shapes/dtypes from the graph, and export the graph with its parameters."""

import warnings

from ..context import current_context
from ..ndarray.ndarray import NDArray
from ._common import GluonAssertionError, GluonValueError

__all__ = []


def _symbol_type():
    from ..symbol import Symbol
    return Symbol


def input_context(x, args):
    """The context of the first NDArray among the (nested) inputs, or None for Symbols.

    Raises when NDArrays and Symbols are mixed, or when there is neither.
    """
    if type(x) is NDArray:  # fast path: flat NDArray inputs (a loss called with pred, label)
        for a in args:
            if type(a) is not NDArray and a is not None:
                break
        else:
            return x._ctx
    flat, _ = flatten((x,) + tuple(args), "input", strict=False)
    has_nd = has_sym = False
    first = None
    for item in flat:
        if isinstance(item, NDArray):
            has_nd = True
            if first is None:
                first = item._ctx
        elif item is not None and not isinstance(item, (int, float)):
            has_sym = has_sym or isinstance(item, _symbol_type())
    if has_nd and has_sym:
        raise GluonValueError("In HybridBlock, we do not support mixed NDArrays and Symbols "
                              "types for the input. Please check the type of the args.")
    if not has_nd and not has_sym:
        raise GluonValueError("In HybridBlock, there must be one NDArray or one Symbol in the "
                              "input. Please check the type of the args.")
    return first


def flatten(args, inout_str, strict=True):
    """(flat list, format): nested lists/tuples of NDArrays/Symbols/None to a flat list
    and a format to rebuild them (``regroup``)."""
    if isinstance(args, NDArray):
        return [args], 0
    if args is None:
        return [None], -1
    if not isinstance(args, (list, tuple)):
        sym_type = _symbol_type()
        if isinstance(args, sym_type):
            length = len(args.list_outputs())
            return [args], (length if length > 1 else 0)
        if not strict:
            return [args], 0
        raise GluonValueError(f"When hybridized, the input of HybridBlock {inout_str} must be "
                              f"(nested) list of Symbol or NDArray, but got {args} of type "
                              f"{type(args)}")
    flat, fmts = [], []
    for item in args:
        part, fmt = flatten(item, inout_str, strict)
        flat.extend(part)
        fmts.append(fmt)
    return flat, fmts


def regroup(args, fmt):
    """Rebuild the nested structure ``fmt`` from the flat list ``args``."""
    def merge(args, fmt):
        if isinstance(fmt, int):
            if fmt == 0:
                return args[0], args[1:]
            if fmt == -1:
                if args[0] is not None:
                    raise GluonValueError(
                        "We do not support passing types that are not None when the initial "
                        "HybridBlock has received NoneType and has been hybridized. Received "
                        f"arg = {args[0]}, fmt = {fmt}.")
                return None, args[1:]
            return args[:fmt], args[fmt:]
        ret = []
        for item in fmt:
            res, args = merge(args, item)
            ret.append(res)
        return ret, args
    return merge(args, fmt)[0]


def get_graph(block, args):
    """Trace ``block`` once: (input variables, output Symbol), cached on the block."""
    if block._cached_graph:
        return block._cached_graph
    from .. import symbol
    flat_args, block._in_format = flatten(args, "input")
    real = sum(a is not None for a in flat_args)
    if real == 0:
        raise GluonValueError("There must at least one array/symbol in the input of "
                              f"HybridBlock {block.name}.")
    inputs, flat_inputs = [], []
    for arg in flat_args:
        if arg is None:
            flat_inputs.append(None)
            continue
        var = symbol.var("data" if real == 1 else f"data{len(inputs)}")
        inputs.append(var)
        flat_inputs.append(var)
    grouped = regroup(flat_inputs, block._in_format)
    params = {key: param.var() for key, param in block._reg_params.items()}
    with block.name_scope():
        out = block.hybrid_forward(symbol, *grouped, **params)
    outs, block._out_format = flatten(out, "output")
    graph = outs[0] if len(outs) == 1 else symbol.Group(outs)
    block._cached_graph = (inputs, graph)
    return block._cached_graph


def build_cache(block, args):
    """Build the CachedOp of ``block`` and the recipe mapping its inputs to arrays."""
    from ..cached_op import CachedOp
    inputs, out = get_graph(block, args)
    data_index = {var.name: i for i, var in enumerate(inputs)}
    params = block.collect_params()
    input_names = out.list_inputs()
    for name in input_names:
        if name not in params and name not in data_index:
            raise GluonAssertionError(f"Unknown input to HybridBlock: {name}")
    used = set(input_names)
    unused_data = [f"{i}-th" for name, i in data_index.items() if name not in used]
    if unused_data:
        warnings.warn(f"The {', '.join(unused_data)} input to HybridBlock is not used by any "
                      "computation. Is this intended?", stacklevel=4)
    unused_params = [name for name in params.keys() if name not in used]
    if unused_params:
        warnings.warn(f"Parameter {', '.join(unused_params)} is not used by any computation. "
                      "Is this intended?", stacklevel=4)
    block._cached_op_args = [(True, data_index[name]) if name in data_index
                             else (False, params[name]) for name in input_names]
    block._cached_op = CachedOp(out, block._flags)


def _cached_args(block, flat, ctx):
    return [flat[ref] if is_arg else ref.data(ctx) for is_arg, ref in block._cached_op_args]


def call_cached_op(block, args):
    """Run the hybridized block on NDArray ``args`` through its CachedOp."""
    if block._cached_op is None:
        build_cache(block, args)
    if len(args) == 1 and block._in_format == [0]:
        flat = args
    else:
        flat, fmt = flatten(args, "input")
        if fmt != block._in_format:
            raise GluonValueError("The argument structure of HybridBlock does not match the "
                                  f"cached version. Stored format = {block._in_format}, input "
                                  f"format = {fmt}")
        flat = [a for a in flat if a is not None]
    ctx = flat[0]._ctx
    try:
        cargs = _cached_args(block, flat, ctx)
    except Exception as err:
        from .parameter import DeferredInitializationError
        if not isinstance(err, DeferredInitializationError):
            raise
        block._deferred_infer_shape(*args)
        for is_arg, ref in block._cached_op_args:
            if not is_arg:
                ref._finish_deferred_init()
        cargs = _cached_args(block, flat, ctx)
    current = current_context()
    if current is ctx or current == ctx:
        out = block._cached_op(*cargs)
    else:
        with ctx:
            out = block._cached_op(*cargs)
    if isinstance(out, NDArray):
        out = [out]
    return regroup(list(out), block._out_format)


def infer_attrs(block, infer_fn, attr, args):
    """Set ``attr`` ('shape' or 'dtype') of every Parameter from the traced graph."""
    inputs, out = get_graph(block, args)
    flat, _ = flatten(args, "input")
    flat = [a for a in flat if a is not None]
    given = {var.name: getattr(arr, attr) for var, arr in zip(inputs, flat)}
    arg_attrs, _, aux_attrs = getattr(out, infer_fn)(**given)
    if arg_attrs is None:
        raise GluonValueError(f"{infer_fn} could not complete the Parameters of "
                              f"{block.name} from inputs {given}")
    found = dict(zip(out.list_arguments(), arg_attrs))
    found.update(zip(out.list_auxiliary_states(), aux_attrs))
    for param in block.collect_params().values():
        if param.name in found:
            setattr(param, attr, found[param.name])


def export(block, path, epoch):
    """Write the traced graph and its parameters (``arg:``/``aux:`` keys)."""
    from .. import ndarray
    sym = block._cached_graph[1]
    sym.save(f"{path}-symbol.json")
    arg_names = set(sym.list_arguments())
    aux_names = set(sym.list_auxiliary_states())
    params = block.collect_params()
    arg_dict = {}
    for name in sym.list_inputs():
        param = params._params.get(name)
        if param is None:
            continue
        if name in arg_names:
            arg_dict[f"arg:{name}"] = param._reduce()
        elif name in aux_names:
            arg_dict[f"aux:{name}"] = param._reduce()
    for name in params.keys():
        if name not in arg_names and name not in aux_names:
            warnings.warn(f'Parameter "{name}" is not found in the graph. ', stacklevel=3)
    ndarray.save("%s-%04d.params" % (path, epoch), arg_dict)
