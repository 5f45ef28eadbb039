"""Helpers shared by operator definitions."""

import numpy as np

from ..backend import xp_of

__all__ = ["xp_of", "unbroadcast", "broadcast_shape", "normalize_axis", "as_dtype"]


def broadcast_shape(a, b):
    """The numpy broadcast of two shapes; ValueError naming both if they don't match."""
    return tuple(np.broadcast_shapes(tuple(a), tuple(b)))


def unbroadcast(F, g, shape):
    """Sum ``g`` over the axes that broadcasting added to reach ``shape``.

    Written with ``F`` calls only, so it runs on arrays and on NDArrays alike.
    """
    shape = tuple(shape)
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, s in enumerate(shape) if s == 1 and gshape[i + extra] != 1
    )
    if axes:
        g = F.sum(g, axis=axes, keepdims=True)
    return g.reshape(shape)


def normalize_axis(axis, ndim, exclude=False):
    """Axis attribute (None, int, tuple) as a sorted tuple of non-negative axes."""
    if axis is None or axis == ():
        axes = tuple(range(ndim))
    elif isinstance(axis, int):
        axes = (axis % ndim,) if ndim else ()
    else:
        axes = tuple(sorted(a % ndim for a in axis))
    if exclude:
        axes = tuple(i for i in range(ndim) if i not in axes)
    return axes


def as_dtype(x, dtype):
    """``x`` cast to ``dtype`` only if it differs (no copy otherwise)."""
    return x if x.dtype == dtype else x.astype(dtype)


def erf(xp, x):
    """Error function for numpy/cupy arrays (numpy has none; rational approximation,
    |error| < 1.2e-7, Numerical Recipes erfc)."""
    if xp is not np:
        from cupyx.scipy.special import erf as cp_erf

        return cp_erf(x)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    ans = 1.0 - t * np.exp(poly)
    return (np.where(x >= 0, ans, -ans)).astype(x.dtype, copy=False)


# Largest zero block relu compares against at once (4 MB of float32).
_ZERO_BLOCK = 1 << 20
_ZEROS = {}


def relu(xp, x):
    """``xp.maximum(x, 0)``, bitwise, faster on numpy.

    numpy's ``maximum`` vectorizes two arrays but not an array and a scalar: against a
    read-only block of zeros it runs 2.5x faster (8,192 float32: 3.9 -> 1.5 us; a LeNet
    convolution output of 737,280: 278 -> 102 us). Arrays over ``_ZERO_BLOCK`` elements
    go through in blocks; other dtypes, layouts and cupy keep the scalar form."""
    if xp is not np or x.dtype.kind != "f" or not x.flags.c_contiguous:
        return xp.maximum(x, 0)
    n = x.size
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or zeros.size < min(n, _ZERO_BLOCK):
        zeros = np.zeros(max(min(n, _ZERO_BLOCK), 1024), x.dtype)
        zeros.flags.writeable = False
        _ZEROS[x.dtype] = zeros
    if n <= _ZERO_BLOCK:
        return np.maximum(x, zeros[:n].reshape(x.shape))
    out = np.empty_like(x)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for i in range(0, n, _ZERO_BLOCK):
        j = min(i + _ZERO_BLOCK, n)
        np.maximum(flat_x[i:j], zeros[: j - i], out=flat_out[i:j])
    return out
