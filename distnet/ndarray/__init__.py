"""``mx.nd``: NDArray, the operators generated from the registry, creation functions and
MXNet's ``.params`` file format."""

import builtins  # nd.max/nd.min are operators in this module
import math
import operator
import sys

import numpy as np

from ..base import MXNetError, numeric_types
from ..context import current_context, Context
from ..backend import device_scope
from ..util import is_np_shape
from .ndarray import NDArray, invoke, wrap, array_from  # noqa: F401 - nd.invoke
from .serialize import save, load, load_frombuffer
from . import _gen, _methods
from ._interop import to_dlpack_for_read, to_dlpack_for_write, from_dlpack, from_numpy  # noqa: F401
from . import random  # noqa: F401 - mx.nd.random
from . import sparse  # noqa: F401 - mx.nd.sparse
from .sparse import cast_storage, RowSparseNDArray, CSRNDArray  # noqa: F401

__all__ = [
    "NDArray",
    "array",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "eye",
    "waitall",
    "save",
    "load",
    "load_frombuffer",
    "concatenate",
    "moveaxis",
]


def _generate():
    from ..ops.registry import all_ops

    functions = {}
    for name, op in all_ops().items():
        functions[name] = _gen.make_function(op, name)
    return functions


_FUNCTIONS = _generate()
globals().update({k: v for k, v in _FUNCTIONS.items() if k not in globals()})
_methods.attach(_FUNCTIONS)


def onehot_encode(indices, out):
    """Write the one-hot rows of ``indices`` into ``out`` (shape ``(n, classes)``) and
    return it (MXNet's legacy NDArray function)."""
    return _FUNCTIONS["onehot_encode"](indices, out, out=out)


def _ctx_dtype(ctx, dtype):
    ctx = current_context() if ctx is None else ctx
    if isinstance(ctx, str):
        dev, _, rest = ctx.partition("(")
        ctx = Context(dev, int(rest.rstrip(")") or 0))
    return ctx, np.dtype(np.float32 if dtype is None else dtype)


def _shape(shape):
    return (int(shape),) if isinstance(shape, numeric_types) else tuple(int(s) for s in shape)


def _filled_shape(shape, fn):
    """``shape`` for ``nd.zeros``/``ones``/``full``, checked as MXNet checks it: no
    negative sizes, and without NumPy shape semantics (``mx.util.set_np_shape``) no
    scalar or zero-size shape, since MXNet 1.x reads a 0 there as an unknown size."""
    shape = _shape(shape)
    if any(s < 0 for s in shape):
        raise MXNetError(f"{fn}: shape {shape} has a negative size")
    if not is_np_shape() and (not shape or 0 in shape):
        raise MXNetError(
            f"{fn}: shape {shape} is scalar or zero-size, which MXNet 1.x shape semantics "
            "do not allow (0 means unknown); use mx.util.np_shape() for such arrays"
        )
    return shape


def array(source_array, ctx=None, dtype=None):
    """A new NDArray copied from ``source_array`` (float32 unless ``dtype``; an NDArray
    source keeps its dtype). A scalar gives a 0-d array, as in MXNet
    (``nd.array(5).shape == ()``)."""
    if np.ndim(source_array) == 0 and not isinstance(source_array, NDArray):
        return array_from(source_array, ctx, dtype).reshape(())
    return array_from(source_array, ctx, dtype)


def _into(res, out):
    """``res`` written into ``out`` (MXNet's creation functions take ``out=``)."""
    if out is None:
        return res
    out[:] = res
    return out


def zeros(shape, ctx=None, dtype=None, stype=None, **kwargs):
    """An array of zeros (float32 by default); ``stype`` 'row_sparse'/'csr' makes an
    empty sparse array (``nd.sparse.zeros``)."""
    if stype not in (None, "default"):
        return sparse.zeros(stype, shape, ctx, dtype)
    ctx, dtype = _ctx_dtype(ctx, dtype)
    with device_scope(ctx):  # cupy allocates on its current device
        return _into(
            wrap(ctx.xp.zeros(_filled_shape(shape, "zeros"), dtype), ctx), kwargs.get("out")
        )


def ones(shape, ctx=None, dtype=None, **kwargs):
    """An array of ones (float32 by default)."""
    ctx, dtype = _ctx_dtype(ctx, dtype)
    with device_scope(ctx):
        return _into(wrap(ctx.xp.ones(_filled_shape(shape, "ones"), dtype), ctx), kwargs.get("out"))


def full(shape, val, ctx=None, dtype=None, out=None):
    """An array filled with ``val``."""
    ctx, dtype = _ctx_dtype(ctx, dtype)
    with device_scope(ctx):
        res = wrap(ctx.xp.full(_filled_shape(shape, "full"), val, dtype), ctx)
    return _into(res, out)


def empty(shape, ctx=None, dtype=None):
    """An uninitialised array."""
    ctx, dtype = _ctx_dtype(ctx, dtype)
    with device_scope(ctx):
        return wrap(ctx.xp.empty(_shape(shape), dtype), ctx)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=None):
    """Evenly spaced values in ``[start, stop)``, each repeated ``repeat`` times."""
    from ..ops.registry import get_op

    ctx, dtype = _ctx_dtype(ctx, dtype)
    op = get_op("_arange")  # the values as sym.arange computes them (in dtype, as MXNet)
    a = op.parse({"start": start, "stop": stop, "step": step, "repeat": repeat, "dtype": dtype})
    return array_from(op.make(a, None), ctx, dtype)


def linspace(start, stop, num, endpoint=True, ctx=None, dtype=None):
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    ctx, dtype = _ctx_dtype(ctx, dtype)
    return array_from(np.linspace(start, stop, num, endpoint=endpoint), ctx, dtype)


def eye(N, M=0, k=0, ctx=None, dtype=None):
    """A 2-d array with ones on the ``k``-th diagonal."""
    ctx, dtype = _ctx_dtype(ctx, dtype)
    with device_scope(ctx):
        return wrap(ctx.xp.eye(N, M or None, k, dtype=dtype), ctx)


def waitall():
    """Wait for all pending work: GPU streams and every kvstore transfer in flight (pushes
    and pulls of the parameter server, on CPU too).  A transfer that failed and was not
    waited for raises MXNetError here, naming its key; so does an operator that failed
    while running and whose result no read has reported yet (as MXNet)."""
    _wait_kvstore()
    from ..backend import _cupy

    if _cupy is not None:
        from ..context import _CACHE

        # every GPU distnet handed out a context for (syncing others would create
        # CUDA contexts on devices this process never used), and the current one
        count = _cupy.cuda.runtime.getDeviceCount()
        ids = {i for dev, i in list(_CACHE) if dev == "gpu" and 0 <= i < count}
        ids.add(_cupy.cuda.Device().id)
        for i in sorted(ids):
            _cupy.cuda.Device(i).synchronize()
    from ._failed import raise_unreported

    raise_unreported()


# Two plain numbers give a plain number, as in MXNet (`nd.power(2, 3)` is 8; comparisons
# and logical operators give 0 or 1).
_SCALAR = {
    "broadcast_add": operator.add,
    "broadcast_sub": operator.sub,
    "broadcast_mul": operator.mul,
    "broadcast_div": operator.truediv,
    "broadcast_mod": operator.mod,
    "broadcast_power": operator.pow,
    "broadcast_maximum": builtins.max,
    "broadcast_minimum": builtins.min,
    "broadcast_hypot": math.hypot,
    "broadcast_equal": lambda a, b: int(a == b),
    "broadcast_not_equal": lambda a, b: int(a != b),
    "broadcast_greater": lambda a, b: int(a > b),
    "broadcast_greater_equal": lambda a, b: int(a >= b),
    "broadcast_lesser": lambda a, b: int(a < b),
    "broadcast_lesser_equal": lambda a, b: int(a <= b),
    "broadcast_logical_and": lambda a, b: int(bool(a) and bool(b)),
    "broadcast_logical_or": lambda a, b: int(bool(a) or bool(b)),
    "broadcast_logical_xor": lambda a, b: int(bool(a) != bool(b)),
}


def _wait_kvstore():
    # only a process that created a dist kvstore has imported its client (and zmq)
    client = sys.modules.get("kvstore.ps.client")
    if client is None:
        return
    try:
        client.wait_all()
    except client.KVStoreError as err:
        raise MXNetError(str(err)) from err


def _ufunc(bname, sname, rname=None):
    apply = _methods._binary(bname, sname, rname)
    scalar = _SCALAR[bname]

    def fn(lhs, rhs):
        if isinstance(lhs, NDArray):
            return apply(lhs, rhs)
        if isinstance(rhs, NDArray):
            return apply(rhs, lhs, True)
        if isinstance(lhs, numeric_types) and isinstance(rhs, numeric_types):
            return scalar(lhs, rhs)
        raise MXNetError(
            f"{bname}: arguments must be NDArrays or numbers, got "
            f"{type(lhs).__name__} and {type(rhs).__name__}"
        )

    fn.__name__ = bname.replace("broadcast_", "")
    fn.__doc__ = f"Elementwise ``{fn.__name__}`` of NDArrays and/or scalars, broadcasting."
    return fn


add = _ufunc("broadcast_add", "_plus_scalar")
subtract = _ufunc("broadcast_sub", "_minus_scalar", "_rminus_scalar")
multiply = _ufunc("broadcast_mul", "_mul_scalar")
divide = _ufunc("broadcast_div", "_div_scalar", "_rdiv_scalar")
true_divide = divide
modulo = _ufunc("broadcast_mod", "_mod_scalar", "_rmod_scalar")
power = _ufunc("broadcast_power", "_power_scalar", "_rpower_scalar")
maximum = _ufunc("broadcast_maximum", "_maximum_scalar")
minimum = _ufunc("broadcast_minimum", "_minimum_scalar")
hypot = _ufunc("broadcast_hypot", "_hypot_scalar")
equal = _ufunc("broadcast_equal", "_equal_scalar")
not_equal = _ufunc("broadcast_not_equal", "_not_equal_scalar")
greater = _ufunc("broadcast_greater", "_greater_scalar", "_lesser_scalar")
greater_equal = _ufunc("broadcast_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar")
lesser = _ufunc("broadcast_lesser", "_lesser_scalar", "_greater_scalar")
lesser_equal = _ufunc("broadcast_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar")
logical_and = _ufunc("broadcast_logical_and", "_logical_and_scalar")
logical_or = _ufunc("broadcast_logical_or", "_logical_or_scalar")
logical_xor = _ufunc("broadcast_logical_xor", "_logical_xor_scalar")


def concatenate(arrays, axis=0, always_copy=True):
    """Join arrays along ``axis`` (MXNet's older name for ``concat``)."""
    return globals()["concat"](*arrays, dim=axis)


def _axes_arg(axes, ndim, what):
    """``axes`` (an int or a sequence of ints) as non-negative axes, checked as numpy."""
    axes = [axes] if isinstance(axes, numeric_types) else list(axes)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise ValueError(f"moveaxis: {what} axis {ax} is out of bounds for {ndim} dimensions")
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"moveaxis: repeated axis in {what} {axes}")
    return out


def moveaxis(tensor, source, destination):
    """Move axes ``source`` (an int or a list) to positions ``destination`` (as many),
    the others keeping their order; numpy's rules and ValueErrors, as MXNet."""
    src = _axes_arg(source, tensor.ndim, "source")
    dst = _axes_arg(destination, tensor.ndim, "destination")
    if len(src) != len(dst):
        raise ValueError(
            f"moveaxis: source {source} and destination {destination} must have the "
            "same number of elements"
        )
    order = [ax for ax in range(tensor.ndim) if ax not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return globals()["transpose"](tensor, axes=tuple(order))


def histogram(a, bins=10, range=None):  # noqa: A002 - MXNet's argument name
    """Counts of ``a`` in ``bins`` equal bins over ``range`` (default: the data's min and
    max), or in the bins whose edges are the NDArray ``bins``; returns
    ``(counts, bin_edges)`` as MXNet."""
    if isinstance(bins, NDArray):
        return _FUNCTIONS["_histogram"](a, bins)
    return _FUNCTIONS["_histogram"](a, bin_cnt=bins, range=range)


def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """Split ``ary`` into equal sections or at the given indices along ``axis``."""
    from ..ops.index_join import split_v2_attrs

    return globals()["_split_v2"](ary, **split_v2_attrs(indices_or_sections, axis, squeeze_axis))


class _Namespace:
    """A namespace of functions (``nd.contrib``) made from registry names."""

    def __init__(self, prefix, functions):
        for name, fn in functions.items():
            if name.startswith(prefix):
                setattr(self, name[len(prefix) :], fn)


contrib = _Namespace("_contrib_", _FUNCTIONS)
linalg = _Namespace("_linalg_", _FUNCTIONS)
image = _Namespace("_image_", _FUNCTIONS)
# MXNet's `_internal` namespace: the operators whose names start with "_", by full name
_internal = type(
    "_internal", (), {k: staticmethod(v) for k, v in _FUNCTIONS.items() if k.startswith("_")}
)
NDArray.split_v2 = lambda self, *args, **kwargs: split_v2(self, *args, **kwargs)


def __getattr__(name):
    # mx.nd.CachedOp, as MXNet; imported on use (distnet.cached_op imports this package)
    if name == "CachedOp":
        from ..cached_op import CachedOp

        return CachedOp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
