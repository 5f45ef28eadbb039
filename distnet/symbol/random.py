"""``mx.sym.random``: sampling operators as Symbols, with MXNet's signatures and JSON
(``_random_uniform`` with attributes ``low``/``high`` and, when given, ``shape``/``dtype``)."""

from ..base import MXNetError
from .symbol import Symbol

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "multinomial"]


def _sample(op_name, params, shape, dtype, name, attr, kwargs):
    from ..ops.registry import get_op
    from .compose import create
    for key, value in params.items():
        if isinstance(value, Symbol):
            raise MXNetError(f"sym.random: {key} must be a number; distribution parameters "
                             "given as Symbols (MXNet's _sample_* operators) are not "
                             "supported by distnet")
    attrs = dict(params)
    if shape is not None:
        attrs["shape"] = shape
    if dtype is not None:
        attrs["dtype"] = dtype
    attrs.update(kwargs)
    return create(get_op(op_name), op_name, (), attrs, name, attr)


def uniform(low=0, high=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Samples uniformly from ``[low, high)``."""
    return _sample("_random_uniform", {"low": low, "high": high}, shape, dtype, name, attr,
                   kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Samples from a normal distribution."""
    return _sample("_random_normal", {"loc": loc, "scale": scale}, shape, dtype, name, attr,
                   kwargs)


def randn(*shape, loc=0, scale=1, dtype=None, name=None, attr=None, **kwargs):
    """Normal samples of the given shape."""
    return normal(loc, scale, shape=shape or None, dtype=dtype, name=name, attr=attr,
                  **kwargs)


def randint(low, high, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Integers from ``[low, high)``."""
    return _sample("_random_randint", {"low": low, "high": high}, shape, dtype, name, attr,
                   kwargs)


def exponential(scale=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Exponential samples with the given scale (rate ``lam = 1 / scale``)."""
    return _sample("_random_exponential", {"lam": 1.0 / scale}, shape, dtype, name, attr,
                   kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Gamma samples."""
    return _sample("_random_gamma", {"alpha": alpha, "beta": beta}, shape, dtype, name,
                   attr, kwargs)


def poisson(lam=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Poisson samples."""
    return _sample("_random_poisson", {"lam": lam}, shape, dtype, name, attr, kwargs)


def multinomial(data, shape=None, get_prob=False, dtype="int32", name=None, attr=None,
                **kwargs):
    """Draws from the distributions in the last axis of ``data`` (see ``nd.random``)."""
    from ..ops.registry import get_op
    from .compose import create
    attrs = {"get_prob": get_prob, "dtype": dtype}
    if shape is not None:
        attrs["shape"] = shape
    attrs.update(kwargs)
    return create(get_op("_sample_multinomial"), "_sample_multinomial", (data,), attrs, name,
                  attr)
