"""NDArray: an array of numpy (CPU) or cupy (GPU) with its context and autograd links."""

import numpy as np

from ..base import MXNetError, numeric_types
from ..context import Context, current_context, cpu
from ..backend import device_scope as _device_scope
from .. import autograd as _ag
from .. import profiler as _prof
from ..ops.registry import OpRuntimeError
from ._failed import Failure, failed_copy, failed_result

__all__ = ["NDArray", "invoke", "wrap", "read_raw"]

_DEFAULT_DTYPE = np.float32


class ReshapeError(MXNetError, ValueError):
    """``NDArray.reshape`` to a shape of another size: a ValueError, as MXNet's method
    raises, and an MXNetError, as distnet's operators raise (tracebacks name it so)."""


ReshapeError.__name__ = ReshapeError.__qualname__ = "MXNetError"
ReshapeError.__module__ = "distnet.base"


class NDArray:
    """An n-dimensional array on a context, as MXNet's ``mx.nd.NDArray``.

    It wraps an ``xp`` array without copying: ``NDArray(numpy_array)`` shares memory with
    ``numpy_array``. Slices share memory with the array they come from, as in MXNet.
    """

    __slots__ = ("_data", "_ctx", "_ag", "_pending", "__weakref__")
    __array_priority__ = 1000.0
    _sparse = False  # True for nd.sparse's arrays: invoke hands them to _sparse_dispatch

    def __init__(self, data, ctx=None):
        if isinstance(data, NDArray):
            data = data._data
        self._data = data
        self._ctx = (
            ctx
            if ctx is not None
            else (cpu(0) if isinstance(data, np.ndarray) else _gpu_ctx_of(data))
        )
        self._ag = None
        self._pending = None

    # ---- basic properties ----
    @property
    def shape(self):
        """Tuple of dimensions."""
        return self._data.shape

    @property
    def dtype(self):
        """The element type, as a numpy scalar type (``numpy.float32``)."""
        return self._data.dtype.type

    @property
    def size(self):
        """Number of elements."""
        return self._data.size

    @property
    def ndim(self):
        """Number of dimensions."""
        return self._data.ndim

    @property
    def context(self):
        """The device context holding the array."""
        return self._ctx

    ctx = context

    @property
    def stype(self):
        """Storage type; always ``'default'`` (dense)."""
        return "default"

    @property
    def T(self):
        """Transpose (2-D arrays and up: axes reversed)."""
        return _op_fn("transpose")(self)

    @property
    def handle(self):
        """The underlying numpy/cupy array (distnet's analogue of MXNet's handle)."""
        return self._data

    # ---- synchronisation and conversion ----
    def _wait(self):
        pending = self._pending
        if pending is not None:
            self._pending = None
            _prof.wait(pending) if _prof.ON else pending.wait()

    def _read(self):
        """The backing numpy/cupy array, once any pending kvstore transfer into or out of
        it has finished.  Every reader of an NDArray's memory goes through this accessor
        (or `read_raw`); hot loops that inline it say so and point here."""
        if self._pending is not None:
            self._wait()
        return self._data

    def wait_to_read(self):
        """Block until pending writes (kvstore pulls, GPU kernels) into this array finish."""
        if self._pending is not None:
            self._wait()
        if not isinstance(self._data, np.ndarray):
            _synchronize(self._data)

    def asnumpy(self):
        """A numpy copy of the array."""
        if self._pending is not None:
            self._wait()
        data = self._data
        if isinstance(data, np.ndarray):
            return data.copy()
        return data.get()

    def asscalar(self):
        """The value of a one-element array as a numpy scalar."""
        if self.size != 1:
            raise MXNetError(f"asscalar needs an array of size 1, this one has shape {self.shape}")
        return self.asnumpy().reshape(())[()]

    def __array__(self, dtype=None, copy=None):
        out = self.asnumpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def astype(self, dtype, copy=True):
        """A copy converted to ``dtype`` (no copy when ``copy=False`` and types match)."""
        dtype = np.dtype(dtype)
        if not copy and self._data.dtype == dtype:
            return self
        return _op_fn("Cast")(self, dtype=dtype)

    def copy(self):
        """A deep copy on the same context."""
        return self.copyto(self._ctx)

    def copyto(self, other):
        """Copy into ``other`` (an NDArray, returned) or to a new array on context ``other``."""
        if self._pending is not None:
            if type(self._pending) is Failure:  # the copy carries the error on
                return failed_copy(self, other)
            self._wait()
        if isinstance(other, NDArray):
            if other is self:
                return other
            if other.shape != self.shape:
                raise MXNetError(
                    f"copyto: shape mismatch, source {self.shape} vs target {other.shape}"
                )
            if other._pending is not None:
                other._wait()
            _copy_into(other._data, self._data)
            return other
        if isinstance(other, Context):
            data = _to_device(self._data, other, copy=True)
            out = wrap(data, other)
            if _ag._recording and _ag._state.recording and self._ag is not None:
                _ag._record_copy(self, out)
            return out
        raise MXNetError(f"copyto: expected an NDArray or Context, got {type(other).__name__}")

    def as_in_context(self, context):
        """This array if it is on ``context`` already, else a copy there."""
        if context == self._ctx:
            return self
        return self.copyto(context)

    as_in_ctx = as_in_context

    def tostype(self, stype):
        """This array converted to storage type ``stype`` ('default', 'row_sparse' or
        'csr'; see ``nd.sparse.cast_storage``)."""
        if stype == "default":
            return self
        from .sparse import cast_storage

        return cast_storage(self, stype)

    # ---- shape ----
    def reshape(self, *shape, **kwargs):
        """Reshape with MXNet's special codes (0 copy, -1 infer, -2, -3, -4); shares memory."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        if "shape" in kwargs:
            shape = kwargs.pop("shape")
        shape = tuple(shape)
        if not kwargs and self._ag is None and all(d > 0 or d == -1 for d in shape):
            # plain shapes need none of MXNet's codes: a numpy view, as MXNet shares memory
            if self._pending is not None:
                self._wait()
            try:
                return wrap(self._data.reshape(shape), self._ctx)
            except ValueError:
                pass  # the operator decides, and the error below names the sizes
        try:
            return _op_fn("Reshape")(self, shape=shape, **kwargs)
        except MXNetError as err:  # MXNet's method raises ValueError with this message
            raise ReshapeError(
                f"Cannot reshape array of size {self.size} into shape {shape}: {err}"
            ) from None

    def reshape_like(self, other=None, rhs=None, **kwargs):
        """Reshape to the shape of ``other`` (also ``rhs=``, MXNet's operator argument;
        ``lhs_begin=``... as ``nd.reshape_like``)."""
        other = rhs if other is None else other
        if other is None:
            raise MXNetError("reshape_like: the array to take the shape of (rhs) is missing")
        if kwargs:
            return _op_fn("reshape_like")(self, other, **kwargs)
        return self.reshape(other.shape)

    def expand_dims(self, axis, inplace=False):
        """Insert an axis of size 1 at ``axis``: a copy, or with ``inplace=True`` a view
        sharing memory (MXNet)."""
        if not inplace:  # the operator returns a view
            return _op_fn("_copy")(_op_fn("expand_dims")(self, axis=axis))
        if not -self.ndim - 1 <= axis <= self.ndim:
            raise MXNetError(
                f"expand_dims: axis {axis} is out of range for an array of {self.ndim} dims"
            )
        shape = list(self.shape)
        shape.insert(axis % (self.ndim + 1), 1)
        return self.reshape(shape)

    def flatten(self, inplace=False):
        """``(d0, d1*d2*...)``: a copy, or with ``inplace=True`` a view sharing memory
        (MXNet)."""
        if inplace:
            return self.reshape((self.shape[0], -1) if self.ndim else (1, 1))
        return _op_fn("_copy")(_op_fn("Flatten")(self))  # the operator returns a view

    def squeeze(self, axis=None, inplace=False):
        """Drop axes of size 1 (those in ``axis``): a copy, or with ``inplace=True`` a
        view sharing memory (MXNet)."""
        if not inplace:
            return _op_fn("_copy")(_op_fn("squeeze")(self, axis=axis))
        axes = range(self.ndim) if axis is None else [axis] if isinstance(axis, int) else list(axis)
        axes = {ax % self.ndim for ax in axes if self.shape[ax] == 1 or axis is not None}
        shape = tuple(d for i, d in enumerate(self.shape) if i not in axes)
        return self.reshape(shape or (1,))

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self.size == 1:
            return bool(self.asnumpy().reshape(()))
        if self.size == 0:
            return False
        raise ValueError("The truth value of an NDArray with more than one element is ambiguous.")

    def __float__(self):
        return float(self.asscalar())

    def __int__(self):
        return int(self.asscalar())

    def __index__(self):
        return int(self.asscalar())

    # ---- indexing ----
    def __getitem__(self, key):
        if isinstance(key, NDArray):
            key = key._data.astype(np.int64) if key.dtype != np.bool_ else key._data
        elif isinstance(key, tuple):
            key = tuple(k._data.astype(np.int64) if isinstance(k, NDArray) else k for k in key)
        return invoke(_op("_getitem"), [self], {"key": key})[0]

    def __setitem__(self, key, value):
        record_from = None
        if _ag._recording and _ag._state.recording:
            record_from = _recorded_assignment(self, key, value)
        if self._pending is not None:
            self._wait()
        if isinstance(key, NDArray):
            key = key._data.astype(np.int64)
        if isinstance(value, NDArray):
            if value._pending is not None:
                value._wait()
            value = _to_device(value._data, self._ctx, copy=False)
        elif not isinstance(value, numeric_types):
            value = _to_device(np.asarray(value), self._ctx, copy=False)
        if isinstance(key, slice) and key == slice(None):
            key = Ellipsis
        with _device_scope(self._ctx):  # cupy runs the copy on its current device
            try:
                self._data[key] = value
            except ValueError:
                # MXNet assigns a value of the target's size whatever its shape
                # (``b[0] = np.array([1.0])``), which numpy 2 refuses
                target = self._data[key]
                if getattr(value, "size", None) != getattr(target, "size", 1):
                    raise
                self._data[key] = value.reshape(getattr(target, "shape", ()))
        if record_from is not None:
            _ag._record_copy(record_from, self)

    @staticmethod
    def _basic_indexing_slice_is_contiguous(slc_key, shape):
        """Whether ``x[slc_key]`` (ints and slices) of a C-contiguous ``x`` of ``shape``
        is C-contiguous, so that basic indexing can return a view (MXNet's helper)."""
        slc_key = tuple(slc_key) + (slice(None),) * (len(shape) - len(slc_key))
        dims = []  # (length, stride in elements) of each axis of the result
        stride = 1
        for key, dim in reversed(list(zip(slc_key, shape))):
            if isinstance(key, slice):
                start, stop, step = key.indices(dim)
                dims.append((len(range(start, stop, step)), step * stride))
            stride *= dim
        if any(n == 0 for n, _ in dims):
            return True
        expected = 1
        for n, step in dims:  # innermost first; axes of length 1 have any stride
            if n != 1:
                if step != expected:
                    return False
                expected *= n
        return True

    # ---- autograd ----
    def attach_grad(self, grad_req="write", stype=None):
        """Allocate a gradient buffer and mark this array as a variable to differentiate
        (``stype='row_sparse'``: a RowSparseNDArray buffer holding only touched rows)."""
        if stype not in (None, "default"):
            from .sparse import zeros_like

            _ag.mark_variables([self], [zeros_like(self, stype)], grad_req)
            return
        with _device_scope(self._ctx):  # cupy's zeros_like allocates on the current device
            grad = self._ctx.xp.zeros_like(self._data)
        _ag.mark_variables([self], [wrap(grad, self._ctx)], grad_req)

    @property
    def grad(self):
        """The gradient buffer attached by ``attach_grad`` (None if there is none)."""
        leaf = self._ag
        return leaf.grad if isinstance(leaf, _ag.Leaf) else None

    @property
    def _fresh_grad(self):
        """Whether a backward wrote this variable's gradient since it was last consumed
        (MXNet's flag, which the Trainer's stale-gradient check reads)."""
        leaf = self._ag
        return bool(leaf.fresh) if isinstance(leaf, _ag.Leaf) else False

    @_fresh_grad.setter
    def _fresh_grad(self, value):
        leaf = self._ag
        if isinstance(leaf, _ag.Leaf):
            leaf.fresh = bool(value)

    def detach(self):
        """A new array sharing data but cut from the autograd graph."""
        return wrap(self._data, self._ctx)

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        """Compute gradients of this array with respect to the marked variables."""
        _ag.backward(
            [self],
            None if out_grad is None else [out_grad],
            retain_graph=retain_graph,
            train_mode=train_mode,
        )

    # ---- display ----
    def __repr__(self):
        shape_info = "x".join(str(d) for d in self.shape)
        return f"\n{self.asnumpy()}\n<NDArray {shape_info} @{self._ctx}>"

    def __str__(self):
        return repr(self)

    def __hash__(self):
        return id(self)

    def __reduce__(self):
        return (_rebuild, (self.asnumpy(), str(self._ctx)))

    def __getstate__(self):
        """MXNet's state: ``{'handle': bytearray}`` holding the array in MXNet's binary
        record (pickling itself goes through ``__reduce__``)."""
        from ._interop import getstate

        return getstate(self)

    def __setstate__(self, state):
        """Take the array of an MXNet state (``__getstate__``); one saved on a GPU loads on
        the CPU where there is no GPU."""
        from ._interop import setstate

        setstate(self, state)

    def to_dlpack_for_read(self):
        """A DLPack capsule sharing this array's memory, for reading."""
        from ._interop import to_dlpack_for_read

        return to_dlpack_for_read(self)

    def to_dlpack_for_write(self):
        """A DLPack capsule sharing this array's memory, for reading and writing."""
        from ._interop import to_dlpack_for_write

        return to_dlpack_for_write(self)

    # arithmetic operators and generated op methods are attached in _methods.py


def _recorded_assignment(dst, key, value):
    """``dst[key] = value`` while autograd records: the whole of ``dst`` (``x[:]``,
    ``x[...]``, ``x[None]``) from an array of its shape is recorded as a copy, whose source
    is returned; any other assignment that touches the graph raises, as MXNet."""
    src = value if isinstance(value, NDArray) else None
    if dst._ag is None and (src is None or src._ag is None):
        return None
    whole = key is None or key is Ellipsis or (isinstance(key, slice) and key == slice(None))
    if whole and src is not None and src.shape == dst.shape:
        return src
    raise MXNetError(
        "Inplace operations (+=, -=, x[:]=, etc) are not supported when recording with "
        f"autograd: x[{key!r}] = v touches an array of the graph; assign outside "
        "autograd.record() or compute a new array (nd.where, nd.concat, ...)"
    )


def _rebuild(array, ctx_str):
    """Unpickle/copy.copy/copy.deepcopy: the same values, dtype and context."""
    dev, _, rest = ctx_str.partition("(")
    return array_from(array, Context(dev, int(rest.rstrip(")"))), array.dtype)


py_slice = slice  # MXNet's name for the builtin (its tests import it from here)

# MXNet's storage-type ids (`from mxnet.ndarray.ndarray import _STORAGE_TYPE_STR_TO_ID`)
_STORAGE_TYPE_STR_TO_ID = {"undefined": -1, "default": 0, "row_sparse": 1, "csr": 2}


def _gpu_ctx_of(data):
    from ..context import gpu

    return gpu(int(data.device.id))


def _synchronize(data):
    from ..backend import require_cupy

    with data.device:  # the stream of the array's own device, not of the current one
        require_cupy().cuda.get_current_stream().synchronize()


def _to_device(data, ctx, copy):
    """``data`` as an array of ``ctx``'s module (copying across devices)."""
    if ctx.device_typeid == 2:
        cp = ctx.xp
        with cp.cuda.Device(ctx.device_id):
            return (
                cp.array(data, copy=copy)
                if copy or not isinstance(data, cp.ndarray) or data.device.id != ctx.device_id
                else data
            )
    if isinstance(data, np.ndarray):
        return data.copy() if copy else data
    return data.get()


def _copy_into(dst, src):
    """Copy ``src`` into the existing buffer ``dst`` (numpy/cupy, across devices)."""
    if isinstance(dst, np.ndarray):
        dst[...] = src if isinstance(src, np.ndarray) else src.get()
        return
    with dst.device:  # cupy copies onto (and runs on) the current device: make it dst's
        same = type(src) is type(dst) and src.device.id == dst.device.id
        dst[...] = src if same else _to_device_like(dst, src)


def _to_device_like(dst, src):
    from ..backend import xp_of

    return xp_of(dst).asarray(src)


def wrap(data, ctx):
    """Make an NDArray around ``data`` on ``ctx`` without copying (internal fast path)."""
    out = NDArray.__new__(NDArray)
    out._data = data
    out._ctx = ctx
    out._ag = None
    out._pending = None
    return out


def array_from(source, ctx=None, dtype=None):
    """Copy ``source`` (array-like) to a new NDArray on ``ctx``; float32 unless ``dtype``."""
    ctx = ctx or current_context()
    if isinstance(source, NDArray):
        dtype = source.dtype if dtype is None else dtype
        source = source.asnumpy()
    else:
        dtype = _DEFAULT_DTYPE if dtype is None else dtype
        if type(source).__module__.startswith("cupy"):
            source = source.get()  # cupy refuses implicit conversion to numpy
    data = np.array(source, dtype=dtype)
    if data.ndim == 0:
        data = data.reshape(1)
    return wrap(_to_device(data, ctx, copy=False), ctx)


_OPS_CACHE = {}
_FN_CACHE = {}


def _op(name):
    op = _OPS_CACHE.get(name)
    if op is None:
        from ..ops.registry import get_op

        op = _OPS_CACHE[name] = get_op(name)
    return op


def _op_fn(name):
    fn = _FN_CACHE.get(name)
    if fn is None:
        from . import _gen

        fn = _FN_CACHE[name] = _gen.make_function(_op(name), name)
    return fn


def invoke(op, args, a, out=None, _traced=False):
    """Run ``op`` imperatively on NDArrays ``args`` (inputs then auxiliary states).

    Returns a list of output NDArrays. Records the operation on the autograd tape when
    recording and some input is in a graph.
    """
    if _prof.ON and not _traced:
        return _prof.operator(invoke, op, args, a, out)  # noqa: E701
    datas = []
    ctx = None
    for x in args:
        if x._sparse:
            return _sparse_dispatch(op, args, a, out)
        if x._pending is not None:
            if type(x._pending) is Failure:  # an input of a failed call: pass it on
                return failed_result(op, a, args, x._pending, out)
            x._wait()
        if ctx is None:
            ctx = x._ctx
        elif (
            x._ctx is not ctx
            and x._ctx != ctx
            and (ctx.device_typeid == 2 or x._ctx.device_typeid == 2)
        ):
            # host contexts (cpu(i), cpu_pinned) share memory and mix as in MXNet
            raise MXNetError(
                f"operator {op.name}: inputs are on different contexts "
                f"({ctx} and {x._ctx}); use as_in_context to move them"
            )
        datas.append(x._data)
    if ctx is None:
        ctx = a.get("ctx") or current_context()
    n_aux = len(op.aux_names(a))
    if n_aux:
        ins, aux = datas[:-n_aux], datas[-n_aux:]
    else:
        ins, aux = datas, ()
    try:
        if getattr(ctx, "device_typeid", 1) == 2:
            with _device_scope(ctx):  # outputs on ctx's GPU, not on cupy's current one
                outs, saved = op.forward(a, ins, aux, _ag._training and _ag._state.training)
        else:
            outs, saved = op.forward(a, ins, aux, _ag._training and _ag._state.training)
    except OpRuntimeError as err:  # reported at the next read, as MXNet's engine does
        return failed_result(op, a, args, Failure(err), out)
    except MXNetError:
        raise  # already names the operator (and may be an IndexError too, as gather_nd's)
    except (ValueError, TypeError, IndexError) as err:
        raise _op_error(op, datas, err) from err
    res = []
    for o in outs:
        if o.ndim == 0 and not op.zero_d:
            o = o.reshape(1)
        res.append(wrap(o, ctx))
    if _ag._recording and _ag._state.recording:
        inputs = args[:-n_aux] if n_aux else args
        for x in inputs:
            if x._ag is not None:
                _ag._record_node(op, a, inputs, ins, outs, saved, res)
                break
    if out is not None:
        return _write_out(op, res, out)
    return res


def _sparse_dispatch(op, args, a, out):
    """An operator call with a sparse input: MXNet's sparse rules or its dense fallback."""
    from ._sparse_ops import dispatch

    return dispatch(op, args, a, out)


def _op_error(op, datas, err):
    """An MXNetError naming the operator and its input shapes for an array-library error
    (a failed broadcast, an index out of range)."""
    shapes = ", ".join(str(tuple(d.shape)) for d in datas)
    return MXNetError(f"operator {op.name} failed on inputs of shapes [{shapes}]: {err}")


def _write_out(op, res, out):
    outs = out if isinstance(out, (list, tuple)) else [out]
    if len(outs) != len(res):
        raise MXNetError(f"operator {op.name}: {len(res)} outputs but {len(outs)} out arrays")
    for dst, src in zip(outs, res):
        if dst.shape != src.shape:
            raise MXNetError(
                f"operator {op.name}: out= has shape {dst.shape}, the result has shape {src.shape}"
            )
        if dst._pending is not None:
            dst._wait()
        _copy_into(dst._data, src._data)
        if src._ag is not None:
            dst._ag = src._ag
    return list(outs)


def read_raw(x):
    """`x._read()` for an NDArray; any other value (a numpy/cupy array) is returned as is."""
    if isinstance(x, NDArray):
        return x._read()
    return x
