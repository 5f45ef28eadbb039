"""``mx.test_utils``: the helpers MXNet users' own tests call.

``assert_almost_equal`` compares NDArrays and numpy arrays with MXNet's per-dtype default
tolerances and, on failure, names the worst element and its values the way MXNet does.
``rand_ndarray``/``rand_shape_*`` draw from numpy's global generator (seed it with
``np.random.seed``), as MXNet's did. Sparse storage types do not exist in distnet.
"""

import functools
import numbers
import threading

import numpy as np

from .base import MXNetError
from . import context as _context

__all__ = ["default_context", "set_default_context", "default_dtype", "default_rtols",
           "default_atols", "get_tols", "almost_equal", "same", "assert_almost_equal",
           "assert_allclose", "assert_almost_equal_ignore_nan", "assert_exception",
           "random_arrays", "rand_ndarray", "rand_shape_2d", "rand_shape_3d",
           "rand_shape_nd", "retry", "list_gpus"]


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
    return {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4,
            np.dtype(np.float64): 1e-5}


def default_atols():
    """MXNet's default absolute tolerance per dtype."""
    return {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3,
            np.dtype(np.float64): 1e-20}


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
    return (max(_tolerance(tx, rtol, default_rtols()), _tolerance(ty, rtol, default_rtols())),
            max(_tolerance(tx, atol, default_atols()), _tolerance(ty, atol, default_atols())))


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
        raise AssertionError(f"shapes {a.shape} and {b.shape} cannot be compared: they "
                             "do not broadcast") from None


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)):
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
    where = (f"Location of maximum error: {loc}, {names[0]}={float(a[loc]):.8f}, "
             f"{names[1]}={float(b[loc]):.8f}")
    with np.printoptions(threshold=4, suppress=True):
        shown = f" ACTUAL: {a!r}\n DESIRED: {b!r}"
    return (f"\nItems are not equal:\nError {worst:f} exceeds tolerance rtol={rtol:e}, "
            f"atol={atol:e} (mismatch {share:f}%).\n{where}\n{shown}")


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
    raise AssertionError(f"{getattr(f, '__name__', f)!s} did not raise "
                         f"{exception_type.__name__}")


# ---------------------------------------------------------------- random data
def random_arrays(*shapes):
    """Standard-normal float32 numpy arrays of ``shapes`` (one array if one shape)."""
    arrays = [np.array(np.random.randn(*s), dtype=default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices=False, distribution=None, ctx=None):
    """A standard-normal NDArray of ``shape`` on ``ctx`` (default context), float32
    unless ``dtype``. Only ``stype='default'`` exists in distnet."""
    if stype != "default":
        raise MXNetError(f"rand_ndarray: storage type {stype!r} is not supported by "
                         "distnet; only 'default' (dense) arrays exist")
    from .ndarray import array
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
