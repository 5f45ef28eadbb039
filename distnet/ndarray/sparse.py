"""``mx.nd.sparse``: RowSparseNDArray and CSRNDArray, as MXNet 1.x.

A sparse array keeps its compact parts as ``xp`` arrays (numpy or cupy): ``_values`` (MXNet's
``data``) and ``_aux`` (row_sparse: ``(indices,)``; csr: ``(indptr, indices)``, MXNet's aux
order). Indices are int64, sorted and unique, as MXNet keeps them.

Operators: those with a sparse rule in ``_RULES`` (elementwise add/sub/mul, scalar
mul/div, zero-preserving unary functions, Cast) keep MXNet's output storage types; every
other operator runs on dense copies of the sparse inputs after logging MXNet's "Storage type
fallback detected" message once per operator and storage types, as MXNet does.
"""

import numpy as np

from ..base import MXNetError, numeric_types
from ..context import Context, current_context
from ..backend import device_scope
from .ndarray import NDArray, wrap, _to_device

__all__ = [
    "BaseSparseNDArray",
    "RowSparseNDArray",
    "CSRNDArray",
    "row_sparse_array",
    "csr_matrix",
    "zeros",
    "empty",
    "array",
    "cast_storage",
    "retain",
    "dot",
    "add",
    "subtract",
    "multiply",
    "divide",
]

_IDX = np.int64


def _xp(ctx):
    return ctx.xp


def _as_xp(data, ctx, dtype=None):
    """``data`` (array-like, NDArray) as an array of ``ctx``'s module."""
    if isinstance(data, NDArray):
        data = data.asnumpy()
    elif type(data).__module__.startswith("cupy"):
        data = data.get()
    arr = np.asarray(data, dtype=dtype)
    return _to_device(arr, ctx, copy=False)


class BaseSparseNDArray(NDArray):
    """The common part of MXNet's sparse arrays: shape, dtype, context and conversions.

    ``_data`` (the dense buffer of a dense NDArray) is computed on demand, so any operator
    without a sparse rule works on a dense copy, as MXNet's storage fallback."""

    __slots__ = ("_values", "_aux", "_sshape", "_agview")
    _sparse = True

    @classmethod
    def _make(cls, values, aux, shape, ctx):
        """An array of this class around the parts (no copy)."""
        return cls.__new__(cls)._init(values, aux, shape, ctx)

    def _init(self, values, aux, shape, ctx):
        self._values = values
        self._aux = tuple(aux)
        self._sshape = tuple(int(d) for d in shape)
        self._ctx = ctx
        self._ag = None
        self._pending = None
        self._agview = None
        return self

    @property
    def _data(self):
        return self._dense_xp()

    @property
    def shape(self):
        """Tuple of dimensions of the (dense) array."""
        return self._sshape

    @property
    def dtype(self):
        """The element type of the stored values."""
        return self._values.dtype.type

    @property
    def size(self):
        """Number of elements of the dense array."""
        return int(np.prod(self._sshape))

    @property
    def ndim(self):
        """Number of dimensions."""
        return len(self._sshape)

    @property
    def data(self):
        """The stored values (an NDArray sharing memory)."""
        self._read_parts()
        return wrap(self._values, self._ctx)

    def _read_parts(self):
        if self._pending is not None:
            self._wait()

    def _read(self):
        self._read_parts()
        return self._dense_xp()

    def asnumpy(self):
        """A dense numpy copy."""
        out = self._read()
        return out if isinstance(out, np.ndarray) else out.get()

    def todense(self):
        """A dense NDArray with the same values (``tostype('default')``)."""
        return self.tostype("default")

    def tostype(self, stype):
        """This array converted to storage type ``stype`` (MXNet's ``cast_storage``)."""
        return cast_storage(self, stype)

    def astype(self, dtype, copy=True):
        """A copy with values converted to ``dtype`` (same storage type)."""
        dtype = np.dtype(dtype)
        if not copy and self._values.dtype == dtype:
            return self
        return type(self)._make(self._values.astype(dtype), self._aux, self._sshape, self._ctx)

    def copy(self):
        """A deep copy on the same context."""
        return self.copyto(self._ctx)

    def copyto(self, other):
        """Copy to a new array on context ``other`` or into the NDArray ``other`` (a dense
        target gets the dense values; a sparse one is converted to its storage type)."""
        self._read_parts()
        if isinstance(other, Context):
            return type(self)._make(
                _to_device(self._values, other, copy=True),
                [_to_device(a, other, copy=True) for a in self._aux],
                self._sshape,
                other,
            )
        if not isinstance(other, NDArray):
            raise MXNetError(f"copyto: expected an NDArray or Context, got {type(other).__name__}")
        if other is self:
            return other
        if other.shape != self.shape:
            raise MXNetError(f"copyto: shape mismatch, source {self.shape} vs target {other.shape}")
        if not other._sparse:
            return NDArray.copyto(wrap(self._dense_xp(), self._ctx), other)
        src = cast_storage(self.copyto(other._ctx), other.stype)
        other._assign(src)
        return other

    def _assign(self, src):
        """Take ``src``'s parts (same storage type and shape) as this array's."""
        self._read_parts()
        self._values = src._values.astype(self._values.dtype, copy=False)
        self._aux = src._aux

    def as_in_context(self, context):
        """This array if it is on ``context`` already, else a copy there."""
        return self if context == self._ctx else self.copyto(context)

    as_in_ctx = as_in_context

    def __setitem__(self, key, value):
        if not (isinstance(key, slice) and key == slice(None)):
            raise MXNetError(f"{type(self).__name__} supports only x[:] = value assignment")
        if isinstance(value, NDArray):
            value.copyto(self) if value._sparse else self._assign(
                cast_storage(value.as_in_context(self._ctx), self.stype)
            )
            return
        if isinstance(value, numeric_types) and value == 0:
            self._assign(zeros(self.stype, self.shape, self._ctx, self.dtype))
            return
        if isinstance(value, numeric_types) or hasattr(value, "__array__"):
            # a scalar or a dense array (what initializers write): stored in this storage type
            dense = _as_xp(value, self._ctx, self.dtype)
            with device_scope(self._ctx):
                dense = _xp(self._ctx).broadcast_to(dense, self.shape)
            self._assign(cast_storage(wrap(dense, self._ctx), self.stype))
            return
        raise MXNetError(
            f"{type(self).__name__}[:] = value: value must be an NDArray, a scalar or an "
            f"array, got {type(value).__name__}"
        )

    def __repr__(self):
        shape_info = "x".join(str(d) for d in self.shape)
        return f"\n<{type(self).__name__} {shape_info} @{self._ctx}>"

    def __reduce__(self):
        return (_rebuild_sparse, (self.stype, self._host_parts(), self._sshape, str(self._ctx)))

    def _host_parts(self):
        self._read_parts()
        host = [a if isinstance(a, np.ndarray) else a.get() for a in (self._values,) + self._aux]
        return host

    def attach_grad(self, grad_req="write", stype=None):
        """Mark this array as a variable to differentiate; the gradient buffer has storage
        type ``stype`` (default: this array's own), as MXNet. Operators read a sparse
        variable through a dense copy that carries its autograd identity, so gradients
        reach ``self.grad`` (cast to the buffer's storage type)."""
        from .. import autograd

        autograd.mark_variables([self], [zeros_like(self, stype or self.stype)], grad_req)

    def detach(self):
        """A new array of the same storage type sharing the parts, cut from autograd."""
        self._read_parts()
        return type(self)._make(self._values, self._aux, self._sshape, self._ctx)

    def _dense_var(self):
        """A dense NDArray with this array's values that autograd sees as this array
        (cached while the parts are the same objects, so one variable used twice in a
        graph sums its gradients)."""
        cached = self._agview
        if cached is not None and cached[0] is self._values and cached[1] is self._aux:
            view = cached[2]
        else:
            view = wrap(self._read(), self._ctx)
            self._agview = (self._values, self._aux, view)
        view._ag = self._ag  # the current mark (mark_variables may have run again)
        return view


class RowSparseNDArray(BaseSparseNDArray):
    """MXNet's row_sparse array: a set of rows (``indices``) of a dense array whose other
    rows are zero; ``data`` has shape ``(len(indices),) + shape[1:]``."""

    __slots__ = ()
    stype = "row_sparse"

    @property
    def indices(self):
        """The row ids of the stored rows (int64 NDArray)."""
        self._read_parts()
        return wrap(self._aux[0], self._ctx)

    def _dense_xp(self):
        xp = _xp(self._ctx)
        with device_scope(self._ctx):
            out = xp.zeros(self._sshape, self._values.dtype)
            if self._aux[0].size:
                out[self._aux[0]] = self._values
        return out

    def retain(self, indices):
        """The rows of ``indices`` that are stored (MXNet's ``sparse.retain``)."""
        return retain(self, indices)

    def __getitem__(self, key):
        if isinstance(key, slice) and key == slice(None):
            return self
        raise MXNetError(
            "RowSparseNDArray supports only x[:] indexing; use retain() or tostype('default') first"
        )


class CSRNDArray(BaseSparseNDArray):
    """MXNet's csr matrix (2-D): ``data``, column ``indices`` and row pointers ``indptr``."""

    __slots__ = ()
    stype = "csr"

    @property
    def indptr(self):
        """Row pointers (int64 NDArray of length rows + 1)."""
        self._read_parts()
        return wrap(self._aux[0], self._ctx)

    @property
    def indices(self):
        """Column ids of the stored values (int64 NDArray)."""
        self._read_parts()
        return wrap(self._aux[1], self._ctx)

    def _rows(self):
        xp = _xp(self._ctx)
        indptr = self._aux[0]
        return xp.repeat(xp.arange(self._sshape[0], dtype=_IDX), xp.diff(indptr).astype(_IDX))

    def _dense_xp(self):
        xp = _xp(self._ctx)
        with device_scope(self._ctx):
            out = xp.zeros(self._sshape, self._values.dtype)
            if self._values.size:
                out[self._rows(), self._aux[1]] = self._values
        return out

    def __getitem__(self, key):
        """Rows ``key`` (an int or a step-1 slice) as a CSRNDArray, as MXNet."""
        n = self._sshape[0]
        if isinstance(key, tuple) and (len(key) == 1 or key[1:] == (slice(None),)):
            key = key[0]  # x[a:b,] and x[a:b, :] as split_and_load writes them
        if isinstance(key, (int, np.integer)):
            k = int(key) + n if key < 0 else int(key)
            if not 0 <= k < n:
                raise MXNetError(f"CSRNDArray index {key} is out of range for {n} rows")
            key = slice(k, k + 1)
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise MXNetError(
                "CSRNDArray supports only integer and step-1 slice indexing "
                f"on the first axis, got {key!r}"
            )
        start, stop, _ = key.indices(n)
        stop = max(stop, start)
        self._read_parts()
        indptr = self._aux[0][start : stop + 1]
        lo, hi = int(indptr[0]), int(indptr[-1])
        return CSRNDArray._make(
            self._values[lo:hi],
            (indptr - lo, self._aux[1][lo:hi]),
            (stop - start, self._sshape[1]),
            self._ctx,
        )

    def take_rows(self, positions):
        """The rows at ``positions`` (an int array, any order) as a CSRNDArray, without
        densifying (NDArrayIter's shuffled csr batches)."""
        self._read_parts()
        xp = _xp(self._ctx)
        with device_scope(self._ctx):
            pos = xp.asarray(positions, dtype=_IDX).reshape(-1)
            ptr = self._aux[0]
            starts, lens = ptr[pos], ptr[pos + 1] - ptr[pos]
            new_ptr = xp.concatenate([xp.zeros(1, _IDX), xp.cumsum(lens).astype(_IDX)])
            take = xp.repeat(starts - new_ptr[:-1], lens) + xp.arange(int(new_ptr[-1]))
            return CSRNDArray._make(
                self._values[take],
                (new_ptr, self._aux[1][take]),
                (pos.shape[0], self._sshape[1]),
                self._ctx,
            )

    def asscipy(self):
        """A ``scipy.sparse.csr_matrix`` copy (needs scipy)."""
        sp = _scipy()
        values, indptr, indices = self._host_parts()
        return sp.csr_matrix((values, indices, indptr), shape=self._sshape)


def _rebuild_sparse(stype, parts, shape, ctx_str):
    dev, _, rest = ctx_str.partition("(")
    ctx = Context(dev, int(rest.rstrip(")")))
    cls = RowSparseNDArray if stype == "row_sparse" else CSRNDArray
    return cls._make(
        _to_device(parts[0], ctx, False), [_to_device(p, ctx, False) for p in parts[1:]], shape, ctx
    )


def _scipy():
    try:
        import scipy.sparse as sp
    except ImportError:
        raise MXNetError(
            "scipy is needed for scipy sparse matrices: pip install 'distnet-mx[sparse]' (scipy)"
        ) from None
    return sp


def _is_scipy(x):
    return type(x).__module__.startswith("scipy.sparse")


# ---------------------------------------------------------------- creation
def _ctx_dtype(ctx, dtype, source=None):
    ctx = current_context() if ctx is None else ctx
    if dtype is None:
        dtype = source.dtype if isinstance(source, (np.ndarray, NDArray)) else np.float32
    return ctx, np.dtype(dtype)


def row_sparse_array(arg1, shape=None, ctx=None, dtype=None):
    """A RowSparseNDArray from ``(data, indices)``, a dense array-like or NDArray, or
    another RowSparseNDArray (copied), as ``mx.nd.sparse.row_sparse_array``."""
    if isinstance(arg1, tuple) and len(arg1) == 2 and not isinstance(arg1[0], numeric_types):
        data, indices = arg1
        ctx, dtype = _ctx_dtype(ctx, dtype, data)
        values = _as_xp(data, ctx, dtype)
        idx = _as_xp(indices, ctx, _IDX).reshape(-1)
        if values.ndim < 1 or values.shape[0] != idx.shape[0]:
            raise MXNetError(
                f"row_sparse_array: data has {values.shape[0] if values.ndim else 0}"
                f" rows but indices has {idx.shape[0]} entries"
            )
        if shape is None:
            if not idx.size:
                raise MXNetError("row_sparse_array: shape is needed when indices is empty")
            shape = (int(idx.max()) + 1,) + tuple(values.shape[1:])
        shape = tuple(int(d) for d in shape)
        _check_rows(idx, shape[0], "row_sparse_array")
        if shape[1:] != tuple(values.shape[1:]):
            raise MXNetError(
                f"row_sparse_array: data rows have shape {values.shape[1:]}, "
                f"shape {shape} needs {shape[1:]}"
            )
        return _canonical_rsp(values, idx, shape, ctx)
    if isinstance(arg1, RowSparseNDArray):
        ctx, dtype = _ctx_dtype(ctx or arg1.context, dtype, arg1)
        return arg1.copyto(ctx).astype(dtype, copy=False)
    ctx, dtype = _ctx_dtype(ctx, dtype, arg1)
    dense = arg1.tostype("default") if isinstance(arg1, NDArray) else arg1
    return cast_storage(wrap(_as_xp(dense, ctx, dtype), ctx), "row_sparse")


def _check_rows(idx, n, what):
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise MXNetError(
            f"{what}: row indices must be in [0, {n}), got [{int(idx.min())}, {int(idx.max())}]"
        )


def _canonical_rsp(values, idx, shape, ctx):
    """Sort the rows by index and sum duplicates (MXNet keeps indices sorted, unique)."""
    xp = _xp(ctx)
    if idx.size > 1 and not bool(xp.all(idx[1:] > idx[:-1])):
        uniq, inv = xp.unique(idx, return_inverse=True)
        out = xp.zeros((uniq.shape[0],) + tuple(values.shape[1:]), values.dtype)
        _scatter_add(xp, out, inv.reshape(-1), values)
        values, idx = out, uniq
    return RowSparseNDArray._make(values, (idx.astype(_IDX, copy=False),), shape, ctx)


def _scatter_add(xp, out, idx, values):
    if xp is np:
        np.add.at(out, idx, values)
    else:  # cupy's spelling of add.at
        import cupyx

        cupyx.scatter_add(out, idx, values)


def csr_matrix(arg1, shape=None, ctx=None, dtype=None):
    """A CSRNDArray from ``(data, indices, indptr)``, ``(data, (row, col))``, a scipy
    sparse matrix, a dense array-like or NDArray, or another CSRNDArray."""
    if isinstance(arg1, tuple) and len(arg1) == 3:
        data, indices, indptr = arg1
        ctx, dtype = _ctx_dtype(ctx, dtype, data)
        values = _as_xp(data, ctx, dtype).reshape(-1)
        col, ptr = _as_xp(indices, ctx, _IDX).reshape(-1), _as_xp(indptr, ctx, _IDX).reshape(-1)
        if shape is None:
            shape = (ptr.shape[0] - 1, int(col.max()) + 1 if col.size else 0)
        return _checked_csr(values, ptr, col, tuple(int(d) for d in shape), ctx)
    if isinstance(arg1, tuple) and len(arg1) == 2:
        data, (row, col) = arg1
        ctx, dtype = _ctx_dtype(ctx, dtype, data)
        xp = _xp(ctx)
        r, c = _as_xp(row, ctx, _IDX).reshape(-1), _as_xp(col, ctx, _IDX).reshape(-1)
        if shape is None:
            shape = (int(r.max()) + 1, int(c.max()) + 1)
        with device_scope(ctx):
            dense = xp.zeros(tuple(shape), dtype)
            _scatter_add(xp, dense, (r, c), _as_xp(data, ctx, dtype).reshape(-1))
        return cast_storage(wrap(dense, ctx), "csr")
    if _is_scipy(arg1):
        m = arg1.tocsr()
        m.sum_duplicates()
        m.sort_indices()
        ctx, dtype = _ctx_dtype(ctx, dtype, m.data)
        return csr_matrix((m.data, m.indices, m.indptr), shape or m.shape, ctx, dtype)
    if isinstance(arg1, CSRNDArray):
        ctx, dtype = _ctx_dtype(ctx or arg1.context, dtype, arg1)
        return arg1.copyto(ctx).astype(dtype, copy=False)
    ctx, dtype = _ctx_dtype(ctx, dtype, arg1)
    dense = arg1.tostype("default") if isinstance(arg1, NDArray) else arg1
    return cast_storage(wrap(_as_xp(dense, ctx, dtype), ctx), "csr")


def _checked_csr(values, ptr, col, shape, ctx):
    if len(shape) != 2:
        raise MXNetError(f"csr_matrix: shape must be 2-D, got {shape}")
    if ptr.shape[0] != shape[0] + 1:
        raise MXNetError(
            f"csr_matrix: indptr has {ptr.shape[0]} entries, shape {shape} needs {shape[0] + 1}"
        )
    if col.shape[0] != values.shape[0] or (ptr.size and int(ptr[-1]) != values.shape[0]):
        raise MXNetError(
            f"csr_matrix: {values.shape[0]} values, {col.shape[0]} column "
            f"indices and indptr[-1] = {int(ptr[-1])} must agree"
        )
    if col.size and (int(col.min()) < 0 or int(col.max()) >= shape[1]):
        raise MXNetError(f"csr_matrix: column indices must be in [0, {shape[1]})")
    return CSRNDArray._make(values, (ptr, col), shape, ctx)


def zeros(stype, shape, ctx=None, dtype=None, **kwargs):
    """An all-zero array of storage type ``stype`` (nothing stored)."""
    ctx, dtype = _ctx_dtype(ctx, dtype)
    shape = (int(shape),) if isinstance(shape, numeric_types) else tuple(int(d) for d in shape)
    xp = _xp(ctx)
    with device_scope(ctx):
        if stype == "row_sparse":
            return RowSparseNDArray._make(
                xp.zeros((0,) + shape[1:], dtype), (xp.zeros(0, _IDX),), shape, ctx
            )
        if stype == "csr":
            if len(shape) != 2:
                raise MXNetError(f"sparse.zeros: csr needs a 2-D shape, got {shape}")
            return CSRNDArray._make(
                xp.zeros(0, dtype), (xp.zeros(shape[0] + 1, _IDX), xp.zeros(0, _IDX)), shape, ctx
            )
        if stype == "default":
            return wrap(xp.zeros(shape, dtype), ctx)
    raise MXNetError(
        f"sparse.zeros: unknown storage type {stype!r}, expected 'row_sparse', 'csr' or 'default'"
    )


empty = zeros


def array(source_array, ctx=None, dtype=None):
    """A sparse array copied from a sparse NDArray or a scipy sparse matrix."""
    if isinstance(source_array, RowSparseNDArray):
        return row_sparse_array(source_array, ctx=ctx, dtype=dtype)
    if isinstance(source_array, CSRNDArray) or _is_scipy(source_array):
        return csr_matrix(source_array, ctx=ctx, dtype=dtype)
    raise MXNetError(
        "sparse.array: source must be a RowSparseNDArray, a CSRNDArray or a "
        f"scipy sparse matrix, got {type(source_array).__name__}"
    )


# ---------------------------------------------------------------- conversions
def cast_storage(data, stype):
    """``data`` converted to storage type ``stype`` ('default', 'row_sparse', 'csr')."""
    if stype not in ("default", "row_sparse", "csr"):
        raise MXNetError(
            f"cast_storage: unknown storage type {stype!r}, expected "
            "'default', 'row_sparse' or 'csr'"
        )
    if data.stype == stype:
        return data
    dense = data._read()
    ctx = data.context
    if stype == "default":
        return wrap(dense, ctx)
    xp = _xp(ctx)
    with device_scope(ctx):
        if stype == "row_sparse":
            if dense.ndim == 0:
                raise MXNetError("cast_storage: a row_sparse array needs ndim >= 1")
            nz = xp.any(dense.reshape(dense.shape[0], -1) != 0, axis=1)
            rows = xp.nonzero(nz)[0].astype(_IDX)
            return RowSparseNDArray._make(dense[rows], (rows,), dense.shape, ctx)
        if dense.ndim != 2:
            raise MXNetError(f"cast_storage: csr needs a 2-D array, got shape {dense.shape}")
        r, c = xp.nonzero(dense)
        counts = (
            xp.bincount(r, minlength=dense.shape[0]) if r.size else xp.zeros(dense.shape[0], _IDX)
        )
        ptr = xp.concatenate([xp.zeros(1, _IDX), xp.cumsum(counts).astype(_IDX)])
        return CSRNDArray._make(dense[r, c], (ptr, c.astype(_IDX)), dense.shape, ctx)


def _sorted_member(xp, keys, sorted_ids):
    """Mask of the entries of ``keys`` found in the sorted array ``sorted_ids``."""
    if not sorted_ids.size:
        return xp.zeros(keys.shape, bool)
    pos = xp.clip(xp.searchsorted(sorted_ids, keys), 0, sorted_ids.shape[0] - 1)
    return sorted_ids[pos] == keys


def retain(data, indices):
    """The stored rows of the RowSparseNDArray ``data`` whose ids are in ``indices``."""
    if not isinstance(data, RowSparseNDArray):
        raise MXNetError(f"sparse.retain: data must be a RowSparseNDArray, got {data.stype}")
    data._read_parts()
    ctx = data.context
    xp = _xp(ctx)
    keep = xp.unique(_as_xp(indices, ctx, _IDX).reshape(-1))
    mask = _sorted_member(xp, data._aux[0], keep)
    return RowSparseNDArray._make(data._values[mask], (data._aux[0][mask],), data.shape, ctx)


from ._sparse_ops import dot, add, subtract, multiply, divide  # noqa: E402 - needs the classes


# ---------------------------------------------------------------- gradients
def write_grad(buf, g, req):
    """Write the gradient ``g`` (an ops ``RowSparseGrad`` or a dense xp array) into the
    gradient buffer ``buf`` (RowSparseNDArray or dense NDArray), for grad_req ``req``
    ('write' or 'add'). A row_sparse buffer keeps only the rows the gradient touches."""
    from ..ops.sparse_ops import RowSparseGrad, canonical_rows

    ctx = buf.context
    if not buf._sparse:
        dense = g.dense() if isinstance(g, RowSparseGrad) else g
        with device_scope(ctx):
            if req == "add":
                buf._read()[...] += dense
            else:
                buf._read()[...] = dense
        return
    buf._read_parts()
    if buf.stype == "csr":
        _write_csr_grad(buf, g.dense() if isinstance(g, RowSparseGrad) else g, req)
        return
    xp = _xp(ctx)
    with device_scope(ctx):
        if isinstance(g, RowSparseGrad):
            rows, vals = g.canonical()
        else:
            rsp = cast_storage(wrap(g, ctx), "row_sparse")
            rows, vals = rsp._aux[0], rsp._values
        if req == "add" and buf._aux[0].size:
            rows, vals = canonical_rows(
                xp,
                xp.concatenate([buf._aux[0], rows]),
                xp.concatenate([buf._values, vals.astype(buf._values.dtype, copy=False)]),
            )
    buf._values = vals.astype(buf._values.dtype, copy=False)
    buf._aux = (rows,)


def _write_csr_grad(buf, dense, req):
    """``write_grad`` into a csr buffer: the dense gradient (plus the buffer for 'add')
    stored as csr."""
    ctx = buf.context
    with device_scope(ctx):
        if req == "add":
            dense = dense + buf._dense_xp()
        src = cast_storage(wrap(dense.astype(buf._values.dtype, copy=False), ctx), "csr")
    buf._values, buf._aux = src._values, src._aux


def zeros_like(arr, stype):
    """An all-zero array of storage type ``stype`` shaped like ``arr`` on its context."""
    return zeros(stype, arr.shape, arr.context, arr.dtype)


# The operators MXNet 1.9.1 lists under `mx.nd.sparse` (those with a sparse kernel). Every
# distnet operator takes sparse inputs (a sparse rule where MXNet has one, else the dense
# fallback with MXNet's storage-fallback warning), so these names are the nd operators.
_OPERATOR_NAMES = frozenset(
    "ElementWiseSum Embedding FullyConnected LinearRegressionOutput LogisticRegressionOutput "
    "MAERegressionOutput abs adam_update add_n arccos arccosh arcsin arcsinh arctan arctanh "
    "broadcast_add broadcast_div broadcast_minus broadcast_mul broadcast_plus broadcast_sub "
    "cbrt ceil clip concat cos cosh degrees elemwise_add elemwise_div elemwise_mul elemwise_sub "
    "exp expm1 fix floor ftrl_update gamma gammaln log log10 log1p log2 make_loss mean negative "
    "norm radians relu rint round rsqrt sgd_mom_update sgd_update sigmoid sign sin sinh slice "
    "sqrt square stop_gradient sum tan tanh trunc where".split()
)


def __getattr__(name):
    """``nd.sparse.elemwise_mul`` and MXNet's other sparse-namespace operators."""
    if name in _OPERATOR_NAMES:
        from .. import ndarray as nd

        return getattr(nd, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
