"""``mx.sym.random``: sampling operators as Symbols, with MXNet's signatures and JSON
(``_random_uniform`` with attributes ``low``/``high`` and, when given, ``shape``/``dtype``)."""

from ..base import MXNetError
from .symbol import Symbol

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
    "uniform_like",
    "normal_like",
    "gamma_like",
    "exponential_like",
    "poisson_like",
    "negative_binomial_like",
    "generalized_negative_binomial_like",
    "shuffle",
    "multinomial",
]


def _sample(op_name, params, shape, dtype, name, attr, kwargs):
    from ..ops.registry import all_ops, get_op
    from .compose import create

    symbols = [v for v in params.values() if isinstance(v, Symbol)]
    if symbols:  # parameters per element: MXNet's _sample_<dist>
        if len(symbols) != len(params):
            raise MXNetError(
                f"sym.random: the distribution parameters {sorted(params)} "
                "must all be Symbols or all numbers"
            )
        multi = "_sample_" + op_name[len("_random_") :]
        attrs = {"shape": shape} if shape is not None else {}
        if dtype is not None:
            attrs["dtype"] = dtype
        attrs.update(kwargs)
        return create(get_op(multi), multi, tuple(symbols), attrs, name, attr)
    data = kwargs.pop("data", None)
    if isinstance(data, Symbol) and not shape and op_name + "_like" in all_ops():
        # MXNet drops a `data=` Symbol of a sampler with no inputs and infers the shape
        # from the graph; distnet samples like `data` (its _like operator) instead
        out = _like(op_name + "_like", data, params, name, attr, kwargs)
        return out if dtype is None else out.astype(dtype)
    attrs = dict(params)
    if shape is not None:
        attrs["shape"] = shape
    if dtype is not None:
        attrs["dtype"] = dtype
    attrs.update(kwargs)
    return create(get_op(op_name), op_name, (), attrs, name, attr)


def uniform(low=0, high=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Samples uniformly from ``[low, high)``."""
    return _sample("_random_uniform", {"low": low, "high": high}, shape, dtype, name, attr, kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Samples from a normal distribution."""
    return _sample("_random_normal", {"loc": loc, "scale": scale}, shape, dtype, name, attr, kwargs)


def randn(*shape, loc=0, scale=1, dtype=None, name=None, attr=None, **kwargs):
    """Normal samples of the given shape."""
    return normal(loc, scale, shape=shape or None, dtype=dtype, name=name, attr=attr, **kwargs)


def randint(low, high, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Integers from ``[low, high)``."""
    return _sample("_random_randint", {"low": low, "high": high}, shape, dtype, name, attr, kwargs)


def exponential(scale=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Exponential samples with the given scale (rate ``lam = 1 / scale``)."""
    lam = scale.__rtruediv__(1.0) if isinstance(scale, Symbol) else 1.0 / scale
    return _sample("_random_exponential", {"lam": lam}, shape, dtype, name, attr, kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Gamma samples."""
    return _sample(
        "_random_gamma", {"alpha": alpha, "beta": beta}, shape, dtype, name, attr, kwargs
    )


def poisson(lam=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Poisson samples."""
    return _sample("_random_poisson", {"lam": lam}, shape, dtype, name, attr, kwargs)


def multinomial(data, shape=None, get_prob=False, dtype="int32", name=None, attr=None, **kwargs):
    """Draws from the distributions in the last axis of ``data`` (see ``nd.random``)."""
    from ..ops.registry import get_op
    from .compose import create

    attrs = {"get_prob": get_prob, "dtype": dtype}
    if shape is not None:
        attrs["shape"] = shape
    attrs.update(kwargs)
    return create(get_op("_sample_multinomial"), "_sample_multinomial", (data,), attrs, name, attr)


def negative_binomial(k=1, p=1, shape=None, dtype=None, name=None, attr=None, **kwargs):
    """Negative binomial samples: failures before ``k`` successes of probability ``p``."""
    return _sample("_random_negative_binomial", {"k": k, "p": p}, shape, dtype, name, attr, kwargs)


def generalized_negative_binomial(
    mu=1, alpha=1, shape=None, dtype=None, name=None, attr=None, **kwargs
):
    """Generalized negative binomial samples of mean ``mu`` and dispersion ``alpha``."""
    return _sample(
        "_random_generalized_negative_binomial",
        {"mu": mu, "alpha": alpha},
        shape,
        dtype,
        name,
        attr,
        kwargs,
    )


def _like(op_name, data, params, name, attr, kwargs):
    from ..ops.registry import get_op
    from .compose import create

    return create(
        get_op(op_name), op_name[len("_random_") :], (data,), dict(params, **kwargs), name, attr
    )


def uniform_like(data=None, low=0, high=1, name=None, attr=None, **kwargs):
    """Uniform samples in ``[low, high)`` shaped like ``data``."""
    return _like("_random_uniform_like", data, {"low": low, "high": high}, name, attr, kwargs)


def normal_like(data=None, loc=0, scale=1, name=None, attr=None, **kwargs):
    """Normal samples shaped like ``data``."""
    return _like("_random_normal_like", data, {"loc": loc, "scale": scale}, name, attr, kwargs)


def gamma_like(data=None, alpha=1, beta=1, name=None, attr=None, **kwargs):
    """Gamma samples shaped like ``data``."""
    return _like("_random_gamma_like", data, {"alpha": alpha, "beta": beta}, name, attr, kwargs)


def exponential_like(data=None, lam=1, name=None, attr=None, **kwargs):
    """Exponential samples of rate ``lam`` shaped like ``data``."""
    return _like("_random_exponential_like", data, {"lam": lam}, name, attr, kwargs)


def poisson_like(data=None, lam=1, name=None, attr=None, **kwargs):
    """Poisson samples shaped like ``data``."""
    return _like("_random_poisson_like", data, {"lam": lam}, name, attr, kwargs)


def negative_binomial_like(data=None, k=1, p=1, name=None, attr=None, **kwargs):
    """Negative binomial samples shaped like ``data``."""
    return _like("_random_negative_binomial_like", data, {"k": k, "p": p}, name, attr, kwargs)


def generalized_negative_binomial_like(data=None, mu=1, alpha=1, name=None, attr=None, **kwargs):
    """Generalized negative binomial samples shaped like ``data``."""
    return _like(
        "_random_generalized_negative_binomial_like",
        data,
        {"mu": mu, "alpha": alpha},
        name,
        attr,
        kwargs,
    )


def shuffle(data, name=None, attr=None, **kwargs):
    """``data`` with its first axis randomly permuted (MXNet's ``_shuffle``)."""
    from ..ops.registry import get_op
    from .compose import create

    return create(get_op("_shuffle"), "shuffle", (data,), kwargs, name, attr)
