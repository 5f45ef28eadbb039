"""Generate the ``nd.*`` functions and NDArray methods from the operator registry."""

from ..base import MXNetError
from .ndarray import NDArray, invoke


def _split_args(op, args, kwargs):
    """Map positional and keyword arguments to (named NDArray inputs, attribute kwargs).

    As MXNet's generated functions: leading positional NDArrays are the inputs in order,
    further positional values are attributes in declaration order.
    """
    arg_names = op.inputs + op.aux
    named = {k: kwargs[k] for k in arg_names if k in kwargs}
    attrs = {k: v for k, v in kwargs.items() if k not in named}
    i = 0
    while (
        i < len(args) and i < len(arg_names) and (isinstance(args[i], NDArray) or args[i] is None)
    ):
        named[arg_names[i]] = args[i]
        i += 1
    rest = args[i:]
    if len(rest) > len(op.param_order):
        raise MXNetError(f"operator {op.name}: too many positional arguments ({len(args)} given)")
    for key, value in zip(op.param_order, rest):
        attrs[key] = value
    return named, attrs


def _gather(op, a, named):
    """The NDArray inputs (then auxiliary states) in the operator's order."""
    nds = []
    for key in tuple(op.input_names(a)) + tuple(op.aux_names(a)):
        value = named.get(key)
        if value is None:
            raise MXNetError(f"operator {op.name}: input {key!r} is missing")
        if not isinstance(value, NDArray):
            raise MXNetError(
                f"operator {op.name}: input {key!r} must be an NDArray, got {type(value).__name__}"
            )
        nds.append(value)
    return nds


def make_function(op, fname):
    """The ``nd.<fname>`` function for ``op``: inputs positional or by name, attributes
    positional after the inputs or by keyword, plus ``out=`` and ``name=``."""
    defaults = op.parse({}) if not op.required else None
    single_input = not op.variadic and len(op.inputs) == 1 and not op.aux

    def fn(*args, out=None, name=None, **kwargs):
        if single_input and len(args) == 1 and not kwargs and defaults is not None:
            x = args[0]
            if isinstance(x, NDArray):  # fast path: nd.exp(x)
                res = invoke(op, [x], defaults, out)
                return res[0] if len(res) == 1 else res
        if op.variadic:
            nds = [x for x in args if isinstance(x, NDArray)]
            extra = [x for x in args if not isinstance(x, NDArray)]
            if extra:
                raise MXNetError(
                    f"operator {op.name}: positional arguments must be "
                    f"NDArrays, got {type(extra[0]).__name__}"
                )
            by_name = {k: kwargs.pop(k) for k in list(kwargs) if isinstance(kwargs[k], NDArray)}
            kwargs.setdefault("num_args", len(nds) + len(by_name))
            a = op.parse(kwargs)
            if by_name:  # inputs by name (Custom's list_arguments) after positional ones
                named = dict(zip(op.input_names(a), nds))
                named.update(by_name)
                nds = _gather(op, a, named)
        else:
            named, attrs = _split_args(op, args, kwargs)
            a = op.parse(attrs)
            nds = _gather(op, a, named)
        res = invoke(op, nds, a, out)
        if out is not None and not isinstance(out, (list, tuple)):
            return out
        return res[0] if len(res) == 1 else res

    fn.__name__ = fname
    fn.__qualname__ = fname
    fn.__doc__ = op.__class__.__doc__ or f"The {op.name} operator."
    return fn


def make_method(fn):
    """An NDArray method calling ``fn`` with the array as first input."""

    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method
