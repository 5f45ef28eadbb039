"""``mx.test_utils``: the helpers MXNet users' own tests call.

``assert_almost_equal`` compares NDArrays and numpy arrays with MXNet's per-dtype default
tolerances and, on failure, names the worst element and its values the way MXNet does.
``rand_ndarray``/``rand_shape_*`` draw from numpy's global generator (seed it with
``np.random.seed``), as MXNet's did. Sparse storage types do not exist in distnet.

It carries every public name of MXNet 1.9.1's ``mxnet.test_utils``, so MXNet's own unit tests
(and users' tests written against them) import and run: the symbolic checks
(``check_numeric_gradient``, ``check_symbolic_forward``/``backward``, ``check_consistency``),
``environment``, the random-generator statistics (``verify_generator``), and the data-set
helpers. Names that only make sense for storage types distnet lacks raise an MXNetError
saying so; the download helpers fail with an error naming the URL when there is no network.
"""

import contextlib
import functools
import math
import numbers
import os
import platform
import sys
import threading
import time

import bz2  # noqa: F401 - names MXNet's `from mxnet.test_utils import *` provides
import errno  # noqa: F401
import gzip  # noqa: F401
import json  # noqa: F401
import logging  # noqa: F401
import struct  # noqa: F401
import traceback  # noqa: F401
import zipfile  # noqa: F401
from collections import OrderedDict  # noqa: F401
from contextlib import contextmanager  # noqa: F401

import numpy as np
import numpy.random as rnd  # noqa: F401
import numpy.testing as npt  # noqa: F401

from .base import MXNetError
from . import context as _context
from .context import Context, current_context  # noqa: F401
from .util import getenv, setenv, use_np, get_cuda_compute_capability  # noqa: F401
from .runtime import Features  # noqa: F401

mx = sys.modules[__package__]  # `mx` for star-importing tests, as MXNet's module has it
from .ndarray import array  # noqa: E402,F401 - after `mx`: star-import names, as MXNet's
from .symbol import Symbol  # noqa: E402,F401

try:
    import scipy.stats as ss  # noqa: F401 - optional, as in MXNet
except ImportError:
    ss = None

# No __all__: MXNet's test files do `from mxnet.test_utils import *` and then use the modules
# MXNet's test_utils imported (mx, np, sys, os, ...), so they are public names here too.


# ---------------------------------------------------------------- contexts and dtypes
_DEFAULT = threading.local()  # .ctx: the default this module installed in this thread


def default_context():
    """The context tests run on: the current context (``set_default_context`` sets it)."""
    return _context.current_context()


def set_default_context(ctx):
    """Make ``ctx`` the context ``current_context()`` returns outside ``with ctx:`` blocks
    (for this thread, as in MXNet)."""
    if not isinstance(ctx, _context.Context):
        raise MXNetError(f"set_default_context: expected a Context, got {ctx!r}")
    # The default sits at the bottom of the thread's context stack, under any open
    # `with ctx:` blocks; setting it again replaces it.
    stack = _context._stack()
    installed = getattr(_DEFAULT, "ctx", None)
    if installed is not None and stack and stack[0] is installed:
        stack[0] = ctx
    else:
        stack.insert(0, ctx)
    _DEFAULT.ctx = ctx


def default_dtype():
    """The dtype of test data: float32."""
    return np.float32


def default_rtols():
    """MXNet's default relative tolerance per dtype."""
    return {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5}


def default_atols():
    """MXNet's default absolute tolerance per dtype."""
    return {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20}


def _tolerance(dtype, tol, defaults):
    if isinstance(tol, numbers.Number):
        return float(tol)
    dtype = np.dtype(dtype)
    if tol is not None and dtype in tol:
        return float(tol[dtype])
    if dtype.kind == "f":
        return defaults.get(dtype, defaults[np.dtype(np.float64)])
    return 0.0  # integers and booleans compare exactly


def get_tols(x, y, rtol, atol):
    """``(rtol, atol)`` for comparing ``x`` and ``y``: given numbers, else the larger of
    the two dtypes' defaults (``rtol``/``atol`` may also be dicts of dtype to tolerance)."""
    tx, ty = _as_numpy(x).dtype, _as_numpy(y).dtype
    return (
        max(_tolerance(tx, rtol, default_rtols()), _tolerance(ty, rtol, default_rtols())),
        max(_tolerance(tx, atol, default_atols()), _tolerance(ty, atol, default_atols())),
    )


# ---------------------------------------------------------------- comparisons
def _as_numpy(x):
    if hasattr(x, "asnumpy"):
        return x.asnumpy()
    return np.asarray(x)


def same(a, b):
    """Whether ``a`` and ``b`` (NDArrays or numpy) have equal shapes and values."""
    return np.array_equal(_as_numpy(a), _as_numpy(b))


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """Whether ``a`` and ``b`` are element-wise equal within tolerances (``numpy.allclose``
    with the per-dtype defaults of ``assert_almost_equal``)."""
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _as_numpy(a), _as_numpy(b)
    if not use_broadcast and a.shape != b.shape:
        return False
    try:
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:  # shapes that do not broadcast
        return False


def _violations(a, b, rtol, atol, equal_nan):
    """Per element ``|a - b| / (atol + rtol * |b|)``; > 1 fails, NaN mismatches are inf."""
    # Computed in the arrays' float type, so the reported error matches MXNet's digits.
    common = np.result_type(a.dtype, b.dtype)
    common = common if common.kind == "f" else np.dtype(np.float64)
    a64, b64 = a.astype(common), b.astype(common)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(a64 == b64, 0, np.abs(a64 - b64))  # equal infinities pass
        tol = common.type(atol) + common.type(rtol) * np.abs(b64) + common.type(1e-20)
        ratio = np.where(diff == 0, 0, diff / tol)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    ratio = np.where(nan_a | nan_b, np.inf, ratio)
    if equal_nan:
        ratio = np.where(nan_a & nan_b, 0.0, ratio)
    return ratio


def _shapes_for_compare(a, b, use_broadcast):
    if not use_broadcast:
        if a.shape != b.shape:
            raise AssertionError(f"a.shape = {a.shape} and b.shape = {b.shape} are not equal")
        return a, b
    try:
        return np.broadcast_arrays(a, b)
    except ValueError:
        raise AssertionError(
            f"shapes {a.shape} and {b.shape} cannot be compared: they do not broadcast"
        ) from None


def assert_almost_equal(
    a,
    b,
    rtol=None,
    atol=None,
    names=("a", "b"),
    equal_nan=False,
    use_broadcast=True,
    mismatches=(10, 10),
):
    """Raise AssertionError unless ``a`` and ``b`` are equal within tolerances.

    Parameters
    ----------
    a, b : NDArray, numpy array or number
    rtol, atol : float, dict of dtype to float, or None
        None uses MXNet's defaults for the arrays' dtypes (float32: 1e-4 and 1e-3).
    names : tuple of str
        Names for the two arrays in the message.
    equal_nan : bool
        Whether NaNs in the same place compare equal.

    The message gives the worst violation, its location and both values, and the share
    of mismatching elements, as MXNet's does. ``mismatches`` is accepted for MXNet
    compatibility; the exact mismatch percentage is always reported.
    """
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _as_numpy(a), _as_numpy(b)
    a, b = _shapes_for_compare(a, b, use_broadcast)
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        np.testing.assert_array_equal(a, b, err_msg=f"{names[0]} and {names[1]} differ")
        return
    ratio = _violations(a, b, rtol, atol, equal_nan)
    if not (ratio > 1).any():
        return
    raise AssertionError(_failure_message(a, b, ratio, rtol, atol, names))


def _failure_message(a, b, ratio, rtol, atol, names):
    loc = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.ndim else ()
    loc = tuple(int(i) for i in loc)
    worst = float(ratio[loc]) if ratio.ndim else float(ratio)
    share = 100.0 * int((ratio > 1).sum()) / max(ratio.size, 1)
    where = (
        f"Location of maximum error: {loc}, {names[0]}={float(a[loc]):.8f}, "
        f"{names[1]}={float(b[loc]):.8f}"
    )
    with np.printoptions(threshold=4, suppress=True):
        shown = f" ACTUAL: {a!r}\n DESIRED: {b!r}"
    return (
        f"\nItems are not equal:\nError {worst:f} exceeds tolerance rtol={rtol:e}, "
        f"atol={atol:e} (mismatch {share:f}%).\n{where}\n{shown}"
    )


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    """``assert_almost_equal`` with numpy's ``assert_allclose`` defaults."""
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    """``assert_almost_equal`` after zeroing every position where either side is NaN."""
    a, b = np.array(_as_numpy(a), copy=True), np.array(_as_numpy(b), copy=True)
    nan = np.isnan(a) | np.isnan(b)
    a[nan] = 0
    b[nan] = 0
    assert_almost_equal(a, b, rtol, atol, names)


def assert_exception(f, exception_type, *args, **kwargs):
    """Assert that ``f(*args, **kwargs)`` raises ``exception_type``."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)!s} did not raise {exception_type.__name__}")


# ---------------------------------------------------------------- random data
def random_arrays(*shapes):
    """Standard-normal float32 numpy arrays of ``shapes`` (one array if one shape)."""
    arrays = [np.array(np.random.randn(*s), dtype=default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def rand_ndarray(
    shape,
    stype="default",
    density=None,
    dtype=None,
    modifier_func=None,
    shuffle_csr_indices=False,
    distribution=None,
    ctx=None,
):
    """A standard-normal NDArray of ``shape`` on ``ctx`` (default context), float32
    unless ``dtype``; ``stype`` 'row_sparse'/'csr': ``rand_sparse_ndarray``'s array."""
    if stype != "default":
        return rand_sparse_ndarray(
            shape, stype, density, dtype, distribution, modifier_func=modifier_func, ctx=ctx
        )[0]
    return array(random_arrays(tuple(shape)), ctx=ctx or default_context(), dtype=dtype)


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    """A random 2-D shape with sizes in ``[1, dim]`` (``[0, dim]`` with zero sizes)."""
    return tuple(_dims((dim0, dim1), allow_zero_size))


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    """A random 3-D shape with sizes in ``[1, dim]``."""
    return tuple(_dims((dim0, dim1, dim2), allow_zero_size))


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    """A random ``num_dim``-D shape with sizes in ``[1, dim]``."""
    return tuple(_dims((dim,) * num_dim, allow_zero_size))


def _dims(limits, allow_zero_size):
    low = 0 if allow_zero_size else 1
    return [int(np.random.randint(low, d + 1)) for d in limits]


# ---------------------------------------------------------------- misc
def retry(n):
    """Decorator: run a stochastic test up to ``n`` times until it passes."""
    if n < 1:
        raise ValueError(f"retry: n must be positive, got {n}")

    def decorate(test):
        @functools.wraps(test)
        def wrapper(*args, **kwargs):
            for attempt in range(n):
                try:
                    return test(*args, **kwargs)
                except AssertionError:
                    if attempt == n - 1:
                        raise

        return wrapper

    return decorate


def list_gpus():
    """Ids of the GPUs distnet can use (``[]`` without cupy or a GPU)."""
    return list(range(_context.num_gpus()))


# ---------------------------------------------------------------- tolerances (MXNet's helpers)
def default_numeric_eps():
    """The finite-difference step per dtype ``check_numeric_gradient`` uses: powers of two,
    so the step is exact when added to an input."""
    return {
        np.dtype(np.float16): 1.0 / 2**6,
        np.dtype(np.float32): 1.0 / 2**9,
        np.dtype(np.float64): 1.0 / 2**14,
    }


def effective_dtype(dat):
    """The dtype whose tolerances apply to ``dat``: its own (distnet has no TF32 mode)."""
    return np.dtype(dat.dtype)


def get_tolerance(dat, tol, default_tol):
    """``tol`` if it is a number, else ``tol[dtype]`` or ``default_tol[dtype]`` for
    ``dat``'s dtype."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = effective_dtype(dat)
    return (tol or {}).get(dtype, default_tol[dtype])


def get_atol(atol=None, dtype=np.dtype(np.float64)):
    """``atol``, or the default absolute tolerance of ``dtype``."""
    return default_atols()[np.dtype(dtype)] if atol is None else atol


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):
    """``rtol``, or the default relative tolerance of ``dtype``."""
    return default_rtols()[np.dtype(dtype)] if rtol is None else rtol


def get_etol(etol=None):
    """The share of elements allowed to mismatch (``assert_almost_equal_with_err``): 0."""
    return 0 if etol is None else etol


def checkShapes(a, b):  # noqa: N802 (MXNet's name)
    """Raise AssertionError unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise AssertionError(f"a.shape = {a.shape} and b.shape = {b.shape} are not equal")


def locationError(a, b, index, names, maxError=False):  # noqa: N802,N803 (MXNet's names)
    """The "Location of error: ..." line of an element mismatch message."""
    maximum = "maximum " if maxError else ""
    return (
        f"Location of {maximum}error: {index}, {names[0]}={float(a[index]):.8f}, "
        f"{names[1]}={float(b[index]):.8f}"
    )


def assert_almost_equal_with_err(
    a, b, rtol=None, atol=None, etol=None, names=("a", "b"), equal_nan=False, mismatches=(10, 10)
):
    """As ``assert_almost_equal``, but up to a share ``etol`` of the elements may
    mismatch."""
    etol = get_etol(etol)
    if etol <= 0:
        assert_almost_equal(a, b, rtol, atol, names, equal_nan)
        return
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _shapes_for_compare(_as_numpy(a), _as_numpy(b), True)
    ratio = _violations(a, b, rtol, atol, equal_nan)
    share = float((ratio > 1).mean()) if ratio.size else 0.0
    if share > etol:
        raise AssertionError(
            f"{share:.2%} of the elements mismatch, more than etol="
            f"{etol}" + _failure_message(a, b, ratio, rtol, atol, names)
        )


def same_array(array1, array2):
    """Whether two NDArrays share their memory (a write to one shows in the other)."""
    raw1, raw2 = _raw_of(array1), _raw_of(array2)
    if raw1.shape != raw2.shape or not np.shares_memory(raw1, raw2):
        return False
    return bool(np.array_equal(raw1, raw2))


def _raw_of(x):
    from .ndarray.ndarray import read_raw

    return read_raw(x)


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None):
    """Assert that two (nested) tuples of NDArrays are equal element by element."""
    if t1 is None or t2 is None:
        return
    if isinstance(t1, tuple):
        for s1, s2 in zip(t1, t2):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def same_symbol_structure(sym1, sym2):
    """Whether two Symbols run the same operator at every node position (MXNet's check:
    operators only, not names or attributes)."""
    nodes1 = json.loads(sym1.tojson())["nodes"]
    nodes2 = json.loads(sym2.tojson())["nodes"]
    return all(n1["op"] == n2["op"] for n1, n2 in zip(nodes1, nodes2))


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Reduce ``dat`` over ``axis`` (int, tuple or None) with ``numpy_reduce_func`` one axis
    at a time, keeping reduced axes as size 1 if ``keepdims``."""
    axes = (
        [axis]
        if isinstance(axis, int)
        else (list(axis) if axis is not None else list(range(dat.ndim)))
    )
    out = dat
    for ax in sorted(axes, reverse=True):
        out = numpy_reduce_func(out, axis=ax)
    if keepdims:
        shape = list(dat.shape)
        for ax in axes:
            shape[ax] = 1
        out = out.reshape(tuple(shape))
    return out


def collapse_sum_like(a, shape):
    """Sum ``a`` over the axes broadcasting added or stretched to reach ``a.shape`` from
    ``shape`` (the gradient of a broadcast)."""
    assert len(a.shape) >= len(shape)
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1
    )
    return a.sum(axis=axes).reshape(shape) if axes else a.reshape(shape)


# ---------------------------------------------------------------- more random data
def random_uniform_arrays(*shapes, low=0.0, high=1.0, dtype=None):
    """Uniform ``[low, high)`` numpy arrays of ``shapes`` (float32 unless ``dtype``)."""
    dtype = dtype or default_dtype()
    arrays = [np.random.uniform(low, high, size=s).astype(dtype) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_sample(population, k):
    """``k`` distinct elements of ``population`` drawn with numpy's global generator."""
    assert 0 <= k <= len(population)
    population = list(population)
    order = np.random.permutation(len(population))[:k]
    return [population[i] for i in order]


def rand_coord_2d(x_low, x_high, y_low, y_high):
    """A random integer point ``(x, y)`` with ``x`` in ``[x_low, x_high)``."""
    return int(np.random.randint(x_low, x_high)), int(np.random.randint(y_low, y_high))


def create_2d_tensor(rows, columns, dtype=np.int64):
    """An NDArray whose row ``i`` is filled with ``i`` (large-tensor tests' helper)."""
    values = np.repeat(np.arange(rows, dtype=dtype)[:, None], columns, axis=1)
    return array(values, dtype=dtype)


def create_vector(size, dtype=np.int64):
    """``nd.arange(size)`` of ``dtype``."""
    from .ndarray import arange

    return arange(0, size, dtype=dtype)


def get_identity_mat(size):
    """A ``size`` x ``size`` identity matrix as an NDArray."""
    from .ndarray import eye

    return eye(size)


def get_identity_mat_batch(size):
    """Two stacked ``size`` x ``size`` identity matrices, shape ``(2, size, size)``."""
    return array(np.stack([np.eye(size)] * 2).astype(default_dtype()))


def assign_each(the_input, function):
    """``function`` applied to every element of a numpy array (None: a copy)."""
    if function is None:
        return np.array(the_input)
    return np.vectorize(function)(the_input)


def assign_each2(input1, input2, function):
    """``function(a, b)`` applied to matching elements of two numpy arrays."""
    if function is None:
        return np.array(input1)
    return np.vectorize(function)(input1, input2)


def new_matrix_with_real_eigvals_2d(n):
    """An ``n`` x ``n`` float64 matrix with real, distinct eigenvalues."""
    shape = (n, n)
    q = new_orthonormal_matrix_2d(n)
    eigvals = np.random.uniform(1, 10, size=n) * np.random.choice([-1, 1], size=n)
    return (q @ np.diag(eigvals) @ np.linalg.inv(q)).reshape(shape)


def new_matrix_with_real_eigvals_nd(shape):
    """A batch (leading axes of ``shape``) of matrices with real eigenvalues."""
    n = int(np.prod(shape[:-2]))
    mats = [new_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(n)]
    return np.array(mats).reshape(shape)


def new_orthonormal_matrix_2d(n):
    """A random ``n`` x ``n`` orthonormal float64 matrix (QR of a Gaussian matrix)."""
    q, _ = np.linalg.qr(np.random.uniform(-10, 10, size=(n, n)))
    return q


def new_sym_matrix_with_real_eigvals_2d(n):
    """A random symmetric ``n`` x ``n`` float64 matrix."""
    q = new_orthonormal_matrix_2d(n)
    return q @ np.diag(np.random.uniform(-10, 10, size=n)) @ q.T


def new_sym_matrix_with_real_eigvals_nd(shape):
    """A batch (leading axes of ``shape``) of random symmetric matrices."""
    n = int(np.prod(shape[:-2]))
    mats = [new_sym_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(n)]
    return np.array(mats).reshape(shape)


# ---------------------------------------------------------------- sparse
def rand_sparse_ndarray(
    shape,
    stype,
    density=None,
    dtype=None,
    distribution=None,
    data_init=None,
    rsp_indices=None,
    modifier_func=None,
    shuffle_csr_indices=False,
    ctx=None,
):
    """MXNet's random sparse array: each row (row_sparse) or element (csr) is stored with
    probability ``density`` (random when None), values uniform in [0, 1) or ``data_init``.
    Returns ``(arr, (data, indices))`` for row_sparse and ``(arr, (indptr, indices,
    data))`` for csr, as MXNet. ``distribution`` is accepted; values are uniform."""
    from .ndarray import sparse

    density = np.random.rand() if density is None else density
    dtype = default_dtype() if dtype is None else dtype
    ctx = ctx or default_context()
    shape = tuple(shape)
    if stype == "row_sparse":
        idx = (
            np.unique(np.asarray(rsp_indices, dtype=np.int64))
            if rsp_indices is not None
            else np.argwhere(np.random.rand(shape[0]) < density).flatten()
        )
        val = (
            np.random.rand(idx.size, *shape[1:])
            if data_init is None
            else np.full((idx.size,) + shape[1:], data_init)
        )
        val = (
            val.astype(dtype)
            if modifier_func is None
            else np.asarray(modifier_func(val), dtype=dtype)
        )
        arr = sparse.row_sparse_array((val, idx), shape=shape, ctx=ctx, dtype=dtype)
        return arr, (arr.data, arr.indices)
    if stype == "csr":
        dense = np.where(
            np.random.rand(*shape) < density,
            np.random.rand(*shape) if data_init is None else data_init,
            0,
        )
        if modifier_func is not None:
            dense = np.where(dense != 0, modifier_func(dense), 0)
        arr = sparse.csr_matrix(dense.astype(dtype), ctx=ctx, dtype=dtype)
        return arr, (arr.indptr, arr.indices, arr.data)
    raise MXNetError(
        f"rand_sparse_ndarray: unknown storage type {stype!r}, expected 'row_sparse' or 'csr'"
    )


def create_sparse_array(
    shape,
    stype,
    data_init=None,
    rsp_indices=None,
    dtype=None,
    modifier_func=None,
    density=0.5,
    shuffle_csr_indices=False,
):
    """MXNet's sparse array factory: ``rand_sparse_ndarray(...)[0]``."""
    return rand_sparse_ndarray(
        shape,
        stype,
        density,
        dtype,
        data_init=data_init,
        rsp_indices=rsp_indices,
        modifier_func=modifier_func,
    )[0]


def create_sparse_array_zd(
    shape,
    stype,
    density,
    data_init=None,
    rsp_indices=None,
    dtype=None,
    modifier_func=None,
    shuffle_csr_indices=False,
):
    """``create_sparse_array`` with an explicit density (zero density allowed)."""
    return create_sparse_array(shape, stype, data_init, rsp_indices, dtype, modifier_func, density)


def shuffle_csr_column_indices(csr):
    """The csr matrix itself: distnet keeps column indices sorted within each row, and
    its operators do not depend on their order."""
    return csr


# ---------------------------------------------------------------- checking symbols
_FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def _nd(value, ctx, dtype):
    """``value`` (numpy, number or NDArray) as an NDArray on ``ctx`` (``dtype='asnumpy'``
    keeps a numpy array's own dtype)."""
    from .ndarray.ndarray import NDArray

    if isinstance(value, NDArray):
        return value
    value = np.asarray(value)
    return array(value, ctx=ctx, dtype=value.dtype if dtype == "asnumpy" else dtype)


def _parse_location(sym, location, ctx, dtype=np.float32):
    """``location`` (list in ``list_arguments`` order, or dict of every argument) as a dict
    of NDArrays."""
    names = sym.list_arguments()
    if isinstance(location, dict):
        if set(location) != set(names):
            raise ValueError(
                "Symbol arguments and keys of the given location do not match."
                f"symbol args:{set(names)}, location.keys():{set(location)}"
            )
    else:
        location = dict(zip(names, location))
    return {k: _nd(v, ctx, dtype) for k, v in sorted(location.items())}


def _parse_aux_states(sym, aux_states, ctx, dtype=np.float32):
    """``aux_states`` (list or dict of every auxiliary state, or None) as a dict of
    NDArrays."""
    if aux_states is None:
        return None
    names = sym.list_auxiliary_states()
    if isinstance(aux_states, dict):
        if set(aux_states) != set(names):
            raise ValueError(
                "Symbol aux_states names and given aux_states do not match."
                f"symbol aux_names:{set(names)}, aux_states.keys:"
                f"{set(aux_states)}"
            )
    else:
        aux_states = dict(zip(names, aux_states))
    return {k: _nd(v, ctx, dtype) for k, v in aux_states.items()}


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Bind ``sym`` to the numpy ``inputs`` (by argument name), run forward and return the
    output as numpy (a list when there are several)."""
    exe = sym.bind(ctx or default_context(), args={k: array(v) for k, v in inputs.items()})
    exe.forward(is_train=is_train)
    outputs = [out.asnumpy() for out in exe.outputs]
    return outputs[0] if len(outputs) == 1 else outputs


def _grad_reqs(sym, grad_nodes):
    if grad_nodes is None:
        return {k: "write" for k in sym.list_arguments()}
    if isinstance(grad_nodes, (list, tuple)):
        return {k: "write" for k in grad_nodes}
    if isinstance(grad_nodes, dict):
        return dict(grad_nodes)
    raise ValueError(f"grad_nodes must be None, a list or a dict, got {grad_nodes!r}")


def numeric_grad(
    executor, location, aux_states=None, eps=1e-4, use_forward_train=True, dtype=np.float32
):
    """Central finite differences of ``sum(outputs[0])`` with respect to every float array
    of ``location`` (dict of name to numpy array), through ``executor``'s forward."""
    assert dtype in _FLOAT_DTYPES
    grads = {k: np.zeros(np.shape(v), dtype=dtype) for k, v in location.items()}

    def value_at(name, flat):
        executor.arg_dict[name][:] = flat.reshape(np.shape(location[name])).astype(dtype)
        for key, val in (aux_states or {}).items():
            executor.aux_dict[key][:] = val
        executor.forward(is_train=use_forward_train)
        return executor.outputs[0].asnumpy().astype(np.float64).sum()

    for name, value in location.items():
        executor.arg_dict[name][:] = np.asarray(value).astype(dtype)
    for name, value in location.items():
        value = np.asarray(value)
        if value.dtype.kind != "f":
            continue
        flat = value.astype(dtype).ravel().copy()
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps / 2.0
            upper = value_at(name, flat)
            flat[i] = old - eps / 2.0
            lower = value_at(name, flat)
            flat[i] = old
            grads[name].ravel()[i] = (upper - lower) / eps
        executor.arg_dict[name][:] = value.astype(dtype)
    return grads


def check_numeric_gradient(
    sym,
    location,
    aux_states=None,
    numeric_eps=None,
    rtol=None,
    atol=None,
    grad_nodes=None,
    use_forward_train=True,
    ctx=None,
    grad_stype_dict=None,
    dtype=np.float32,
):
    """Check ``sym``'s backward against finite differences.

    The output is multiplied by a fixed random projection and summed (``make_loss``), so
    every output element's gradient is checked at once; ``grad_nodes`` (names, or a dict of
    name to grad_req) picks the arguments checked (default: all). Gradients with
    ``'add'`` are checked after removing the random initial value, ``'null'`` ones must be
    left untouched.
    """
    from . import symbol as _sym

    assert dtype in _FLOAT_DTYPES
    ctx = ctx or default_context()
    location = _parse_location(sym, location, ctx, dtype)
    location_np = {k: v.asnumpy() for k, v in location.items()}
    aux = _parse_aux_states(sym, aux_states, ctx, dtype)
    aux_np = None if aux is None else {k: v.asnumpy() for k, v in aux.items()}
    grad_req = _grad_reqs(sym, grad_nodes)
    _, out_shapes, _ = sym.infer_shape(**{k: v.shape for k, v in location.items()})
    proj = _sym.Variable("__random_proj")
    loss = _sym.make_loss(sym * proj)
    args = dict(location)
    args["__random_proj"] = _nd(np.random.rand(*out_shapes[0]) + 0.1, ctx, dtype)
    grads_np = {k: np.random.normal(0, 0.01, size=location[k].shape) for k in grad_req}
    args_grad = {k: _nd(v, ctx, dtype) for k, v in grads_np.items()}
    reqs = {k: grad_req.get(k, "null") for k in loss.list_arguments()}
    executor = loss.bind(ctx, args=args, args_grad=args_grad, grad_req=reqs, aux_states=aux)
    executor.forward(is_train=True)
    eps = get_tolerance(executor.outputs[0], numeric_eps, default_numeric_eps())
    if dtype in (np.float32, np.float16):
        assert eps >= 1e-5
    executor.backward()
    symbolic = {k: args_grad[k].asnumpy() for k in grad_req}
    location_np["__random_proj"] = args["__random_proj"].asnumpy()
    numeric = numeric_grad(
        executor, location_np, aux_np, eps=eps, use_forward_train=use_forward_train, dtype=dtype
    )
    for name, req in grad_req.items():
        names = (f"NUMERICAL_{name}", f"BACKWARD_{name}")
        if req == "write":
            assert_almost_equal(numeric[name], symbolic[name], rtol, atol, names)
        elif req == "add":
            assert_almost_equal(numeric[name], symbolic[name] - grads_np[name], rtol, atol, names)
        elif req == "null":
            assert_almost_equal(grads_np[name], symbolic[name], rtol, atol, names)
        else:
            raise ValueError(f"Invalid grad_req {req} for argument {name}")


def check_symbolic_forward(
    sym,
    location,
    expected,
    rtol=None,
    atol=None,
    aux_states=None,
    ctx=None,
    equal_nan=False,
    dtype=np.float32,
):
    """Bind ``sym`` at ``location``, run forward (inference) and compare every output with
    ``expected`` (a list in output order, or a dict by output name). Returns the outputs."""
    ctx = ctx or default_context()
    location = _parse_location(sym, location, ctx, dtype)
    aux = _parse_aux_states(sym, aux_states, ctx, dtype)
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    from .ndarray import zeros

    grads = {k: zeros(v.shape, ctx=ctx, dtype=v.dtype) for k, v in location.items()}
    executor = sym.bind(ctx=ctx, args=location, args_grad=grads, aux_states=aux)
    executor.forward(is_train=False)
    for name, want, got in zip(sym.list_outputs(), expected, executor.outputs):
        assert_almost_equal(
            want, got, rtol, atol, (f"EXPECTED_{name}", f"FORWARD_{name}"), equal_nan=equal_nan
        )
    return executor.outputs


def _out_grads(out_grads, ctx, dtype):
    if out_grads is None:
        return None
    if isinstance(out_grads, dict):
        return {k: _nd(v, ctx, dtype) for k, v in out_grads.items()}
    return [_nd(v, ctx, dtype) for v in out_grads]


def check_symbolic_backward(
    sym,
    location,
    out_grads,
    expected,
    rtol=None,
    atol=None,
    aux_states=None,
    grad_req="write",
    ctx=None,
    grad_stypes=None,
    equal_nan=False,
    dtype=np.float32,
):
    """Bind ``sym`` at ``location``, run forward and backward with ``out_grads`` and compare
    the gradients with ``expected`` (list in argument order or dict by name). Gradient
    arrays start random: ``'add'`` is checked net of that start, ``'null'`` unchanged.
    Returns the gradient arrays by name."""
    ctx = ctx or default_context()
    location = _parse_location(sym, location, ctx, dtype)
    aux = _parse_aux_states(sym, aux_states, ctx, dtype)
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(sym.list_arguments(), expected))
    start = {k: np.random.normal(size=np.shape(v)) for k, v in sorted(expected.items())}
    grads = {
        k: _nd(v, ctx, np.asarray(expected[k]).dtype if dtype == "asnumpy" else dtype)
        for k, v in start.items()
    }
    if isinstance(grad_req, str):
        grad_req = {k: grad_req for k in sym.list_arguments()}
    elif isinstance(grad_req, (list, tuple)):
        grad_req = dict(zip(sym.list_arguments(), grad_req))
    executor = sym.bind(ctx=ctx, args=location, args_grad=grads, aux_states=aux, grad_req=grad_req)
    executor.forward(is_train=True)
    executor.backward(_out_grads(out_grads, ctx, dtype))
    for name, want in expected.items():
        names = (f"EXPECTED_{name}", f"BACKWARD_{name}")
        got = grads[name].asnumpy()
        req = grad_req.get(name, "null")
        if req == "write":
            assert_almost_equal(want, got, rtol, atol, names, equal_nan=equal_nan)
        elif req == "add":
            assert_almost_equal(want, got - start[name], rtol, atol, names, equal_nan=equal_nan)
        elif req == "null":
            assert_almost_equal(start[name], got, rtol, atol, names, equal_nan=equal_nan)
        else:
            raise ValueError(f"Invalid grad_req {req} for argument {name}")
    return grads


def check_consistency(
    sym,
    ctx_list,
    scale=1.0,
    grad_req="write",
    arg_params=None,
    aux_params=None,
    rtol=None,
    atol=None,
    raise_on_err=True,
    ground_truth=None,
    equal_nan=False,
    use_uniform=False,
    rand_type=np.float64,
):
    """Run ``sym`` (or one symbol per entry) bound as each entry of ``ctx_list`` says
    (``{'ctx': ..., '<arg>': shape, 'type_dict': {...}}``) on the same random inputs and
    assert that outputs and gradients agree with the most precise binding's (or
    ``ground_truth``). Returns the ground truth dict."""
    assert len(ctx_list) > 1
    syms = [sym] * len(ctx_list) if not isinstance(sym, (list, tuple)) else list(sym)
    exes = [s.simple_bind(grad_req=grad_req, **spec) for s, spec in zip(syms, ctx_list)]
    arg_params = dict(arg_params or {})
    aux_params = dict(aux_params or {})
    for name, arr in sorted(exes[0].arg_dict.items()):
        if name not in arg_params:
            arg_params[name] = (
                np.random.uniform(-0.92 * scale, 0.92 * scale, arr.shape)
                if use_uniform
                else np.random.normal(size=arr.shape, scale=scale)
            ).astype(rand_type)
    for name in exes[0].aux_dict:
        aux_params.setdefault(name, 0)
    for exe in exes:
        for name, arr in exe.arg_dict.items():
            arr[:] = arg_params[name]
        for name, arr in exe.aux_dict.items():
            arr[:] = aux_params[name]
        if grad_req == "add":
            for arr in exe.grad_arrays:
                if arr is not None:
                    arr[:] = 0
    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exes]
    best = int(np.argmax([d.itemsize for d in dtypes]))
    for exe in exes:
        exe.forward(is_train=False)
    truth = _consistency_truth(exes[best], ground_truth, grad_req, forward_only=True)
    _compare_bindings(
        exes,
        best,
        truth,
        syms[0].list_outputs(),
        rtol,
        atol,
        equal_nan,
        raise_on_err,
        lambda exe: exe.outputs,
    )
    if grad_req != "null":
        for exe in exes:
            exe.forward(is_train=True)
        heads = [out.asnumpy() for out in exes[0].outputs]
        for exe in exes:
            exe.backward([_nd(h, exe._ctx, out.dtype) for h, out in zip(heads, exe.outputs)])
        truth = _consistency_truth(exes[best], ground_truth, grad_req, forward_only=False)
        names = syms[0].list_outputs() + syms[0].list_arguments()
        _compare_bindings(
            exes,
            best,
            truth,
            names,
            rtol,
            atol,
            equal_nan,
            raise_on_err,
            lambda exe: list(exe.outputs) + list(exe.grad_arrays),
        )
    return truth


def _consistency_truth(exe, ground_truth, grad_req, forward_only):
    if ground_truth is not None:
        return ground_truth
    truth = {k: v.asnumpy() for k, v in exe.output_dict.items()}
    if not forward_only and grad_req != "null":
        truth.update({k: (None if v is None else v.asnumpy()) for k, v in exe.grad_dict.items()})
    return truth


def _compare_bindings(exes, best, truth, names, rtol, atol, equal_nan, raise_on_err, arrays):
    for i, exe in enumerate(exes):
        if i == best:
            continue
        for name, arr in zip(names, arrays(exe)):
            want = truth.get(name)
            if want is None or arr is None:
                continue
            try:
                assert_almost_equal(
                    arr,
                    want,
                    rtol=rtol,
                    atol=atol,
                    equal_nan=equal_nan,
                    names=(f"ctx {i} {name}", f"ctx {best} {name}"),
                )
            except AssertionError as err:
                if raise_on_err:
                    raise
                print(str(err))


def check_speed(
    sym,
    location=None,
    ctx=None,
    N=20,
    grad_req=None,
    typ="whole",  # noqa: N803
    **kwargs,
):
    """Seconds per run of ``sym``: forward and backward (``typ='whole'``) or forward only
    (``'forward'``), averaged over ``N`` runs after one warm-up."""
    ctx = ctx or default_context()
    grad_req = grad_req or "write"
    if location is None:
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **kwargs)
        location = {
            k: np.random.normal(size=arr.shape, scale=1.0) for k, arr in exe.arg_dict.items()
        }
    else:
        assert isinstance(location, dict), "location must be a dict of name to numpy array"
        exe = sym.simple_bind(
            grad_req=grad_req, ctx=ctx, **{k: v.shape for k, v in location.items()}
        )
    for name, value in location.items():
        exe.arg_dict[name][:] = value
    if typ not in ("whole", "forward"):
        raise ValueError(f'typ can only be "whole" or "forward", got {typ!r}')

    def run():
        exe.forward(is_train=typ == "whole")
        if typ == "whole":
            exe.backward(out_grads=exe.outputs)
        for out in exe.outputs:
            out.wait_to_read()

    run()
    tic = time.perf_counter()
    for _ in range(N):
        run()
    return (time.perf_counter() - tic) / N


def check_gluon_hybridize_consistency(
    net_builder, data_l, numpy_func=None, test_grad=True, rtol=1e-4, atol=1e-4
):
    """Build the net three ways (imperative, hybridized, hybridized after a first call),
    run it on ``data_l`` with the same parameters, and assert equal outputs (against
    ``numpy_func`` too when given) and, with ``test_grad``, equal input gradients."""
    from . import autograd

    saved = None
    results = []
    for hybridize in (False, True):
        net = net_builder()
        net.initialize()
        if hybridize:
            net.hybridize()
        inputs = [x.copy() for x in data_l]
        for x in inputs:
            x.attach_grad()
        net(*inputs)  # deferred initialisation, then share the first net's parameters
        if saved is None:
            saved = {k: p.data().asnumpy() for k, p in net.collect_params().items()}
        else:
            for (_, p), value in zip(
                sorted(net.collect_params().items()), [saved[k] for k in sorted(saved)]
            ):
                p.set_data(value)
        with autograd.record():
            out = net(*inputs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        if test_grad:
            autograd.backward(list(outs))
        results.append(
            ([o.asnumpy() for o in outs], [x.grad.asnumpy() for x in inputs] if test_grad else [])
        )
    (out0, grad0), (out1, grad1) = results
    for a, b in zip(out0, out1):
        assert_almost_equal(a, b, rtol=rtol, atol=atol)
    if numpy_func is not None:
        want = numpy_func(*[x.asnumpy() for x in data_l])
        want = want if isinstance(want, (list, tuple)) else [want]
        for a, b in zip(out0, want):
            assert_almost_equal(a, b, rtol=rtol, atol=atol)
    for a, b in zip(grad0, grad1):
        assert_almost_equal(a, b, rtol=rtol, atol=atol)


def compare_optimizer(
    opt1,
    opt2,
    shape,
    dtype,
    w_stype="default",
    g_stype="default",
    rtol=1e-4,
    atol=1e-5,
    compare_states=True,
    ntensors=1,
):
    """Run one update of ``opt1`` and ``opt2`` on the same random weight and gradient
    (``ntensors`` of them when ``shape`` is a list) and assert equal states and weights."""
    import copy as _copy
    from . import random as _random

    ctx = default_context()
    shapes = shape if isinstance(shape, list) else [shape]
    assert isinstance(shape, list) or ntensors == 1
    # as MXNet: opt2 gets the (sparse) arrays, opt1 dense copies of them
    if w_stype == "default":
        w2 = [_random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shapes]
        w1 = _copy.deepcopy(w2)
    else:
        w2 = [rand_ndarray(s, w_stype, density=1, dtype=dtype, ctx=ctx) for s in shapes]
        w1 = [w.tostype("default") for w in w2]
    if g_stype == "default":
        g2 = [_random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shapes]
        g1 = _copy.deepcopy(g2)
    else:
        g2 = [rand_ndarray(s, g_stype, dtype=dtype, ctx=ctx) for s in shapes]
        g1 = [g.tostype("default") for g in g2]
    if not isinstance(shape, list):
        s1 = opt1.create_state_multi_precision(0, w1[0])
        s2 = opt2.create_state_multi_precision(0, w2[0])
        if compare_states:
            compare_ndarray_tuple(s1, s2)
        opt1.update_multi_precision(0, w1[0], g1[0], s1)
        opt2.update_multi_precision(0, w2[0], g2[0], s2)
        if compare_states:
            compare_ndarray_tuple(s1, s2, rtol=rtol, atol=atol)
        assert_almost_equal(w1[0], w2[0], rtol=rtol, atol=atol)
        return
    states2 = [opt2.create_state_multi_precision(0, w2[i]) for i in range(ntensors)]
    opt2.update_multi_precision(list(range(ntensors)), w2, g2, states2)
    for i in range(ntensors):
        s1 = opt1.create_state_multi_precision(i, w1[i])
        opt1.update_multi_precision(i, w1[i], g1[i], s1)
        if compare_states:
            compare_ndarray_tuple(s1, states2[i], rtol, atol)
        compare_ndarray_tuple(w1[i], w2[i], rtol, atol)


# ---------------------------------------------------------------- random-generator statistics
def gen_buckets_probs_with_ppf(ppf, nbuckets):
    """``nbuckets`` equal-probability buckets ``(ppf(i/n), ppf((i+1)/n))`` and their
    probabilities, for ``chi_square_check``."""
    assert nbuckets > 0
    probs = [1.0 / nbuckets] * nbuckets
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets))) for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator, mu, sigma, nsamples=1000000):
    """Whether the mean of ``generator(nsamples)`` lies within 3 standard errors of ``mu``."""
    mean = np.asarray(generator(nsamples)).mean()
    bound = 3 * sigma / np.sqrt(nsamples)
    return bool(mu - bound < mean < mu + bound)


def var_check(generator, sigma, nsamples=1000000):
    """Whether the sample variance of ``generator(nsamples)`` lies within 3 standard errors
    of ``sigma ** 2``."""
    var = np.asarray(generator(nsamples)).var(ddof=1)
    bound = 3 * np.sqrt(2 * sigma**4 / (nsamples - 1))
    return bool(sigma**2 - bound < var < sigma**2 + bound)


def _chi2_survival(stat, dof):
    """P(X > stat) for a chi-square variable with ``dof`` degrees of freedom: the regularized
    upper incomplete gamma Q(dof/2, stat/2) (series below a+1, continued fraction above)."""
    a, x = dof / 2.0, stat / 2.0
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        k = a
        while abs(term) > abs(total) * 1e-15:
            k += 1
            term *= x / k
            total += term
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b, c, d = x + 1 - a, 1 / tiny, 1 / (x + 1 - a)
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)


def chi_square_check(generator, buckets, probs, nsamples=1000000):
    """Chi-square goodness of fit of ``generator(nsamples)`` to ``probs`` over ``buckets``
    (``(low, high)`` ranges for a continuous generator, values for a discrete one).

    Returns ``(p_value, observed_counts, expected_counts)``. Unlike MXNet's (scipy's
    ``chisquare``), it needs no scipy and accepts expected counts that do not sum exactly
    to the sample count.
    """
    assert isinstance(buckets, list) and len(probs) == len(buckets)
    samples = np.asarray(generator(nsamples))
    expected = (nsamples * np.array(probs, dtype=np.float32)).astype(np.int32)
    observed = np.zeros(len(buckets), dtype=np.int64)
    if isinstance(buckets[0], (list, tuple)):
        edges = np.array([edge for bucket in buckets for edge in bucket], dtype=np.float32)
        for i in range(len(buckets) - 1):
            assert buckets[i][0] <= buckets[i][1] <= buckets[i + 1][0]
        ids = np.searchsorted(edges, samples, side="right") // 2
        for i in range(len(buckets)):
            observed[i] = int((ids == i).sum())
    else:
        for i, value in enumerate(buckets):
            observed[i] = int((samples == value).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0)
    return _chi2_survival(float(terms.sum()), len(buckets) - 1), observed, expected


def verify_generator(
    generator, buckets, probs, nsamples=1000000, nrepeat=5, success_rate=0.2, alpha=0.05
):
    """Run ``chi_square_check`` ``nrepeat`` times; raise AssertionError unless at least a
    share ``success_rate`` of the p-values exceed ``alpha``. Returns the p-values."""
    results = [chi_square_check(generator, buckets, probs, nsamples) for _ in range(nrepeat)]
    p_values = [r[0] for r in results]
    if sum(p > alpha for p in p_values) < nrepeat * success_rate:
        raise AssertionError(
            f"Generator test fails, Chi-square p={p_values}, obs_freq={[r[1] for r in results]}"
            f", expected_freq={[r[2] for r in results]}.\nbuckets={buckets}, probs={probs}"
        )
    return p_values


# ---------------------------------------------------------------- environment and process
@contextlib.contextmanager
def environment(*args):
    """Set environment variables for the ``with`` body and restore them after, even on
    error: ``environment('NAME', 'value')`` or ``environment({'A': '1', 'B': None})``
    (None unsets). Pending work is waited for before restoring."""
    if len(args) == 1 and isinstance(args[0], dict):
        wanted = dict(args[0])
    elif len(args) == 2:
        wanted = {args[0]: args[1]}
    else:
        raise AssertionError("Expecting one dict arg or two args: env var name and value")
    saved = {name: os.environ.get(name) for name in wanted}
    _set_environ(wanted)
    try:
        yield
    finally:
        from .ndarray import waitall

        waitall()
        _set_environ(saved)


def _set_environ(values):
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(value)


@contextlib.contextmanager
def discard_stderr():
    """Send file descriptor 2 (C-level and Python stderr) to /dev/null for the body."""
    try:
        fileno = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fileno)
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), fileno)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fileno)
            os.close(saved)


def is_cd_run():
    """Whether this runs in MXNet's continuous-delivery pipeline (``CD_JOB=1``)."""
    return os.environ.get("CD_JOB") == "1"


def is_aarch64_run():
    """Whether this machine is 64-bit ARM."""
    return platform.machine() == "aarch64"


def has_tvm_ops():
    """Whether TVM-generated operators are available: never in distnet."""
    return False


def is_op_runnable():
    """Whether TVM operators can run here: False (distnet has none)."""
    return False


# ---------------------------------------------------------------- data for tests
class DummyIter:
    """A data iterator that returns the first batch of ``real_iter`` forever (for speed
    tests); it has the wrapped iterator's ``provide_data``/``provide_label``."""

    def __init__(self, real_iter):
        self.real_iter = real_iter
        self.provide_data = real_iter.provide_data
        self.provide_label = real_iter.provide_label
        self.batch_size = real_iter.batch_size
        self.the_batch = next(real_iter)

    def __iter__(self):
        return self

    def __next__(self):
        return self.the_batch

    def next(self):
        """The first batch of the wrapped iterator, again; never raises StopIteration."""
        return self.the_batch

    def reset(self):
        """Nothing to reset: the same batch is always returned."""


def download(url, fname=None, dirname=None, overwrite=False, retries=5):
    """Download ``url`` to ``dirname/fname`` (``fname`` defaults to the URL's last part)
    unless it exists; returns the file name. Failures raise MXNetError naming the URL."""
    from .gluon.utils import download as _download

    assert retries >= 0, "Number of retries should be at least 0"
    fname = fname or url.split("/")[-1]
    if dirname is not None:
        fname = os.path.join(dirname, fname)
    folder = os.path.dirname(fname)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not overwrite and os.path.exists(fname):
        return fname
    return _download(url, path=fname, overwrite=True, retries=max(retries, 1))


def download_model(model_name, dst_dir="./", meta_info=None):
    """Download ``model_name``'s symbol and parameters (``meta_info`` maps names to
    ``{'symbol': url, 'params': url}``); returns the two file names."""
    if meta_info is None or model_name not in meta_info:
        raise MXNetError(
            f"download_model: no URLs known for model {model_name!r}; pass "
            "meta_info={name: {'symbol': url, 'params': url}}"
        )
    urls = meta_info[model_name]
    return (download(urls["symbol"], dirname=dst_dir), download(urls["params"], dirname=dst_dir))


_MXNET_DATA = "http://data.mxnet.io/"


def get_mnist():
    """MNIST as a dict of numpy arrays (``train_data`` (60000, 1, 28, 28) float32 in
    [0, 1], ``train_label``, ``test_data``, ``test_label``), downloaded into ``data/``."""

    def read(label_url, image_url):
        with gzip.open(download(label_url, dirname="data")) as f:
            struct.unpack(">II", f.read(8))
            label = np.frombuffer(f.read(), dtype=np.int8)
        with gzip.open(download(image_url, dirname="data")) as f:
            _, _, rows, cols = struct.unpack(">IIII", f.read(16))
            image = np.frombuffer(f.read(), dtype=np.uint8).reshape(len(label), 1, rows, cols)
        return label, image.astype(np.float32) / 255

    base = _MXNET_DATA + "data/mnist/"
    train_label, train_data = read(
        base + "train-labels-idx1-ubyte.gz", base + "train-images-idx3-ubyte.gz"
    )
    test_label, test_data = read(
        base + "t10k-labels-idx1-ubyte.gz", base + "t10k-images-idx3-ubyte.gz"
    )
    return {
        "train_data": train_data,
        "train_label": train_label,
        "test_data": test_data,
        "test_label": test_label,
    }


def get_mnist_pkl():
    """Download ``data/mnist.pkl.gz`` (MXNet's helper; distnet never unpickles it)."""
    os.makedirs("data", exist_ok=True)
    if not os.path.exists("data/mnist.pkl.gz"):
        download("http://deeplearning.net/data/mnist/mnist.pkl.gz", dirname="data")


def _get_zip(url, wanted):
    os.makedirs("data", exist_ok=True)
    if not all(os.path.exists(os.path.join("data", name)) for name in wanted):
        with zipfile.ZipFile(download(url, dirname="data")) as archive:
            archive.extractall("data")


def get_mnist_ubyte():
    """Download and unpack the four MNIST IDX files into ``data/``."""
    _get_zip(
        _MXNET_DATA + "mxnet/data/mnist.zip",
        [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ],
    )


def get_cifar10():
    """Download and unpack CIFAR-10 as RecordIO into ``data/cifar``."""
    _get_zip(
        _MXNET_DATA + "mxnet/data/cifar10.zip",
        ["cifar/train.rec", "cifar/test.rec", "cifar/train.lst", "cifar/test.lst"],
    )


def get_mnist_iterator(batch_size, input_shape, num_parts=1, part_index=0):
    """``(train, val)`` ``MNISTIter``s over ``data/`` (downloaded if missing); flat images
    unless ``input_shape`` has three dimensions."""
    from .io import MNISTIter

    get_mnist_ubyte()
    flat = len(input_shape) != 3
    common = dict(
        input_shape=input_shape,
        batch_size=batch_size,
        flat=flat,
        num_parts=num_parts,
        part_index=part_index,
    )
    train = MNISTIter(
        image="data/train-images-idx3-ubyte",
        label="data/train-labels-idx1-ubyte",
        shuffle=True,
        **common,
    )
    val = MNISTIter(
        image="data/t10k-images-idx3-ubyte", label="data/t10k-labels-idx1-ubyte", **common
    )
    return train, val


def get_zip_data(data_dir, url, data_origin_name):
    """Download ``url`` into ``data_dir`` as ``data_origin_name`` and unpack it there."""
    origin = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(origin):
        download(url, dirname=data_dir, overwrite=False)
        with zipfile.ZipFile(origin) as archive:
            archive.extractall(path=data_dir)


def get_bz2_data(data_dir, data_name, url, data_origin_name):
    """Download the bz2 file ``url`` into ``data_dir`` and decompress it to ``data_name``."""
    import shutil

    target = os.path.join(data_dir, data_name)
    origin = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(target):
        download(url, fname=data_origin_name, dirname=data_dir, overwrite=False)
        with bz2.BZ2File(origin, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.remove(origin)


def get_im2rec_path(home_env="MXNET_HOME"):
    """Path of the ``im2rec.py`` tool: ``$MXNET_HOME/tools/im2rec.py`` or distnet's
    ``scripts/im2rec.py``; IOError if neither exists."""
    candidates = []
    if home_env in os.environ:
        candidates.append(os.path.join(os.environ[home_env], "tools", "im2rec.py"))
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "scripts", "im2rec.py"))
    for path in candidates:
        if os.path.isfile(path):
            return os.path.normpath(path)
    raise IOError(f"Could not find im2rec.py (looked at {candidates})")
