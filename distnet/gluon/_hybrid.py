"""Hybrid execution of a HybridBlock, owned by its `HybridCache`: trace ``hybrid_forward``
to a Symbol, build a CachedOp on the shared executor, call it with data and parameter
arrays, infer parameter shapes/dtypes from the graph, and export the graph with its
parameters. ``flatten``/``regroup`` map nested inputs and outputs to flat lists."""

import warnings

from ..context import current_context
from ..ndarray.ndarray import NDArray
from ._common import GluonAssertionError, GluonValueError

__all__ = ["HybridCache"]


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
        raise GluonValueError(
            "In HybridBlock, we do not support mixed NDArrays and Symbols "
            "types for the input. Please check the type of the args."
        )
    if not has_nd and not has_sym:
        raise GluonValueError(
            "In HybridBlock, there must be one NDArray or one Symbol in the "
            "input. Please check the type of the args."
        )
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
        raise GluonValueError(
            f"When hybridized, the input of HybridBlock {inout_str} must be "
            f"(nested) list of Symbol or NDArray, but got {args} of type "
            f"{type(args)}"
        )
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
                        f"arg = {args[0]}, fmt = {fmt}."
                    )
                return None, args[1:]
            return args[:fmt], args[fmt:]
        ret = []
        for item in fmt:
            res, args = merge(args, item)
            ret.append(res)
        return ret, args

    return merge(args, fmt)[0]


def _same_but_trailing_none(fmt, stored):
    """Whether two top-level input formats differ only by trailing None arguments (a
    keyword default of None given or left out), which select the same traced graph."""
    short, long_ = (fmt, stored) if len(fmt) < len(stored) else (stored, fmt)
    n = len(short)
    return long_[:n] == short and all(f == -1 for f in long_[n:])


def _check_one_context(flat):
    """A hybridized block runs one graph on one device: all its NDArray inputs must share a
    context (MXNet raised ValueError here too; the graph would otherwise copy silently)."""
    ctx = flat[0]._ctx
    for arr in flat[1:]:
        if isinstance(arr, NDArray) and arr._ctx != ctx:
            found = sorted({str(a._ctx) for a in flat if isinstance(a, NDArray)})
            raise GluonValueError(
                "Find multiple contexts in the input, After hybridized, the HybridBlock only "
                "supports one input context. You can print the ele.ctx in the input arguments "
                f"to inspect their contexts. Find all contexts = {{{', '.join(found)}}}"
            )


class HybridCache:
    """What a HybridBlock keeps for hybrid execution: the traced graph ``(input variables,
    output Symbol)``, the CachedOp built from it, the recipe mapping the CachedOp's inputs
    to data and Parameter arrays, the nesting formats of inputs and outputs, and the
    CachedOp flags. `clear` drops what depends on the children and the Parameters."""

    __slots__ = ("graph", "op", "op_args", "in_format", "out_format", "flags", "op_hook")

    def __init__(self):
        self.in_format = self.out_format = None
        self.flags = []
        self.op_hook = None  # (callback, monitor_all) from register_op_hook
        self.clear()

    def clear(self):
        """Forget the traced graph and the CachedOp (re-traced on the next call)."""
        self.graph = ()
        self.op = None
        self.op_args = []

    def get_graph(self, block, args):
        """Trace ``block`` once: (input variables, output Symbol)."""
        if self.graph:
            return self.graph
        from .. import symbol

        flat_args, self.in_format = flatten(args, "input")
        real = sum(a is not None for a in flat_args)
        if real == 0:
            raise GluonValueError(
                f"There must at least one array/symbol in the input of HybridBlock {block.name}."
            )
        inputs, flat_inputs = [], []
        for arg in flat_args:
            if arg is None:
                flat_inputs.append(None)
                continue
            var = symbol.var("data" if real == 1 else f"data{len(inputs)}")
            inputs.append(var)
            flat_inputs.append(var)
        grouped = regroup(flat_inputs, self.in_format)
        params = {key: param.var() for key, param in block._reg_params.items()}
        with block.name_scope():
            out = block.hybrid_forward(symbol, *grouped, **params)
        outs, self.out_format = flatten(out, "output")
        self.graph = (inputs, outs[0] if len(outs) == 1 else symbol.Group(outs))
        return self.graph

    def build(self, block, args):
        """Build the CachedOp and the recipe mapping its inputs to arrays."""
        from ..cached_op import CachedOp

        inputs, out = self.get_graph(block, args)
        data_index = {var.name: i for i, var in enumerate(inputs)}
        params = block.collect_params()
        input_names = out.list_inputs()
        for name in input_names:
            if name not in params and name not in data_index:
                raise GluonAssertionError(f"Unknown input to HybridBlock: {name}")
        used = set(input_names)
        unused_data = [f"{i}-th" for name, i in data_index.items() if name not in used]
        if unused_data:
            warnings.warn(
                f"The {', '.join(unused_data)} input to HybridBlock is not used by "
                "any computation. Is this intended?",
                stacklevel=4,
            )
        unused_params = [name for name in params.keys() if name not in used]
        if unused_params:
            warnings.warn(
                f"Parameter {', '.join(unused_params)} is not used by any "
                "computation. Is this intended?",
                stacklevel=4,
            )
        self.op_args = [
            (True, data_index[name]) if name in data_index else (False, params[name])
            for name in input_names
        ]
        self.op = CachedOp(out, self.flags)
        if self.op_hook is not None:
            self.op.register_op_hook(*self.op_hook)

    def _op_inputs(self, flat, ctx):
        return [flat[ref] if is_arg else ref.data(ctx) for is_arg, ref in self.op_args]

    def call(self, block, args):
        """Run the hybridized ``block`` on NDArray ``args`` through its CachedOp."""
        if self.op is None:
            self.build(block, args)
        if len(args) == 1 and self.in_format == [0]:
            flat = args
        else:
            flat, fmt = flatten(args, "input")
            if fmt != self.in_format and not _same_but_trailing_none(fmt, self.in_format):
                raise GluonValueError(
                    "The argument structure of HybridBlock does not match "
                    f"the cached version. Stored format = {self.in_format},"
                    f" input format = {fmt}"
                )
            flat = [a for a in flat if a is not None]
            _check_one_context(flat)
        ctx = flat[0]._ctx
        try:
            cargs = self._op_inputs(flat, ctx)
        except Exception as err:
            from .parameter import DeferredInitializationError

            if not isinstance(err, DeferredInitializationError):
                raise
            block._deferred_infer_shape(*args)
            for is_arg, ref in self.op_args:
                if not is_arg:
                    ref._finish_deferred_init()
            cargs = self._op_inputs(flat, ctx)
        current = current_context()
        if current is ctx or current == ctx:
            out = self.op(*cargs)
        else:
            with ctx:
                out = self.op(*cargs)
        if isinstance(out, NDArray):
            out = [out]
        return regroup(list(out), self.out_format)

    def infer_attrs(self, block, infer_fn, attr, args):
        """Set ``attr`` ('shape' or 'dtype') of every Parameter from the traced graph."""
        inputs, out = self.get_graph(block, args)
        flat, _ = flatten(args, "input")
        flat = [a for a in flat if a is not None]
        given = {var.name: getattr(arr, attr) for var, arr in zip(inputs, flat)}
        arg_attrs, _, aux_attrs = getattr(out, infer_fn)(**given)
        if arg_attrs is None:
            raise GluonValueError(
                f"{infer_fn} could not complete the Parameters of {block.name} from inputs {given}"
            )
        found = dict(zip(out.list_arguments(), arg_attrs))
        found.update(zip(out.list_auxiliary_states(), aux_attrs))
        for param in block.collect_params().values():
            if param.name in found:
                setattr(param, attr, found[param.name])

    def export(self, block, path, epoch):
        """Write the traced graph and its parameters (``arg:``/``aux:`` keys)."""
        from .. import ndarray

        sym = self.graph[1]
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
