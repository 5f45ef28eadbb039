"""``mx.nd.random``: sampling functions with MXNet's signatures."""

from ..base import MXNetError
from ..context import current_context
from .ndarray import NDArray, invoke
from ..ops.registry import get_op

__all__ = [
    "uniform",
    "normal",
    "randn",
    "randint",
    "exponential",
    "gamma",
    "poisson",
    "negative_binomial",
    "generalized_negative_binomial",
    "shuffle",
    "multinomial",
    "uniform_like",
    "normal_like",
    "gamma_like",
    "exponential_like",
    "poisson_like",
    "negative_binomial_like",
    "generalized_negative_binomial_like",
]


def _sample(opname, shape, ctx, dtype, out, **params):
    arrays = [v for v in params.values() if isinstance(v, NDArray)]
    if arrays:  # parameters given per element: MXNet's _sample_<dist>
        return _sample_multi(opname, arrays, params, shape, dtype, out)
    op = get_op(opname)
    if shape is None or shape == ():
        shape = (1,) if out is None else out.shape
    params.update(shape=shape, ctx=ctx or current_context(), dtype=dtype)
    a = op.parse(params)
    if out is not None:
        invoke(op, [], a, out)  # a failed draw leaves its error on `out`
        return out
    return invoke(op, [], a)[0]


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples uniformly from ``[low, high)``."""
    return _sample("_random_uniform", shape, ctx, dtype, out, low=low, high=high)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from a normal distribution."""
    return _sample("_random_normal", shape, ctx, dtype, out, loc=loc, scale=scale)


def randn(*shape, loc=0, scale=1, **kwargs):
    """Normal samples of the given shape (``loc``/``scale`` numbers or NDArrays, as
    ``normal``)."""
    return normal(loc, scale, shape=shape, **kwargs)


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


def _sample_multi(opname, arrays, params, shape, dtype, out):
    if len(arrays) != len(params):
        raise MXNetError(
            f"nd.random: the distribution parameters must all be NDArrays or "
            f"all numbers, got {sorted(params)} with {len(arrays)} NDArray(s)"
        )
    op = get_op("_sample_" + opname[len("_random_") :])
    a = op.parse({"shape": shape if shape is not None else (), "dtype": dtype})
    res = invoke(op, list(params.values()), a, out)  # in the distribution's order
    return res[0]


def negative_binomial(k=1, p=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Negative binomial samples: failures before ``k`` successes of probability ``p``."""
    return _sample("_random_negative_binomial", shape, ctx, dtype, out, k=k, p=p)


def generalized_negative_binomial(
    mu=1, alpha=1, shape=None, dtype=None, ctx=None, out=None, **kwargs
):
    """Generalized negative binomial samples of mean ``mu`` and dispersion ``alpha``."""
    return _sample(
        "_random_generalized_negative_binomial", shape, ctx, dtype, out, mu=mu, alpha=alpha
    )


def _like(opname, data, out, **params):
    op = get_op(opname)
    return invoke(op, [data], op.parse(params), out)[0]


def uniform_like(data=None, low=0, high=1, out=None, **kwargs):
    """Uniform samples in ``[low, high)`` with the shape and dtype of ``data``."""
    return _like("_random_uniform_like", data, out, low=low, high=high)


def normal_like(data=None, loc=0, scale=1, out=None, **kwargs):
    """Normal samples with the shape and dtype of ``data``."""
    return _like("_random_normal_like", data, out, loc=loc, scale=scale)


def gamma_like(data=None, alpha=1, beta=1, out=None, **kwargs):
    """Gamma samples with the shape and dtype of ``data``."""
    return _like("_random_gamma_like", data, out, alpha=alpha, beta=beta)


def exponential_like(data=None, lam=1, out=None, **kwargs):
    """Exponential samples of rate ``lam`` with the shape and dtype of ``data``."""
    return _like("_random_exponential_like", data, out, lam=lam)


def poisson_like(data=None, lam=1, out=None, **kwargs):
    """Poisson samples with the shape and dtype of ``data``."""
    return _like("_random_poisson_like", data, out, lam=lam)


def negative_binomial_like(data=None, k=1, p=1, out=None, **kwargs):
    """Negative binomial samples with the shape and dtype of ``data``."""
    return _like("_random_negative_binomial_like", data, out, k=k, p=p)


def generalized_negative_binomial_like(data=None, mu=1, alpha=1, out=None, **kwargs):
    """Generalized negative binomial samples with the shape and dtype of ``data``."""
    return _like("_random_generalized_negative_binomial_like", data, out, mu=mu, alpha=alpha)


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
