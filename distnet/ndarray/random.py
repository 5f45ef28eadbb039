"""``mx.nd.random``: sampling functions with MXNet's signatures."""

from ..context import current_context
from .ndarray import invoke
from ..ops.registry import get_op

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "shuffle", "multinomial"]


def _sample(opname, shape, ctx, dtype, out, **params):
    op = get_op(opname)
    if shape is None or shape == ():
        shape = (1,) if out is None else out.shape
    params.update(shape=shape, ctx=ctx or current_context(), dtype=dtype)
    a = op.parse(params)
    res = invoke(op, [], a)[0]
    if out is not None:
        out[:] = res
        return out
    return res


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples uniformly from ``[low, high)``."""
    return _sample("_random_uniform", shape, ctx, dtype, out, low=low, high=high)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from a normal distribution."""
    return _sample("_random_normal", shape, ctx, dtype, out, loc=loc, scale=scale)


def randn(*shape, **kwargs):
    """Standard normal samples of the given shape."""
    return normal(0, 1, shape=shape, **kwargs)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers from ``[low, high)`` (int32 by default)."""
    return _sample("_random_randint", shape, ctx, dtype or "int32", out, low=low, high=high)


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Exponential samples with the given scale."""
    return _sample("_random_exponential", shape, ctx, dtype, out, lam=1.0 / scale)


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Gamma samples."""
    return _sample("_random_gamma", shape, ctx, dtype, out, alpha=alpha, beta=beta)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Poisson samples."""
    return _sample("_random_poisson", shape, ctx, dtype, out, lam=lam)


def shuffle(data, **kwargs):
    """A copy of ``data`` shuffled along the first axis."""
    return invoke(get_op("_shuffle"), [data], {})[0]


def multinomial(data, shape=None, get_prob=False, out=None, dtype="int32", **kwargs):
    """``shape`` draws from each distribution in the last axis of ``data``; with
    ``get_prob`` also their log-probabilities (differentiable w.r.t. ``data``)."""
    op = get_op("_sample_multinomial")
    a = op.parse({"shape": shape or (), "get_prob": get_prob, "dtype": dtype})
    res = invoke(op, [data], a)
    return list(res) if get_prob else res[0]
