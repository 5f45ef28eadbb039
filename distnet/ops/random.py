"""Random sampling operators (``_random_uniform``, ``_random_normal``, ...) and ``_shuffle``.

They draw from ``distnet.random``'s generator so that ``mx.random.seed`` makes runs
reproducible.
"""

import numpy as np

from .attrs import Attr, Float, Shape, Dtype, Int
from .registry import Op, OpRuntimeError, register
from ._util import xp_of
from .. import random as _random
from ..context import current_context


class _Sampler(Op):
    """Draws an array of ``shape`` from a distribution; no inputs."""

    inputs = ()
    default_dtype = np.float32

    def _dtype(self, a):
        return a["dtype"] if a["dtype"] is not None else np.dtype(self.default_dtype)

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [tuple(a["shape"])], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [self._dtype(a)], aux_types

    # (param, strict, text): MXNet's run-time checks, `param > 0` (strict) or `>= 0`
    checks = ()

    def check(self, a):
        """Raise OpRuntimeError (reported at the next read) when a distribution
        parameter is out of range, with MXNet's message."""
        for key, strict, text in self.checks:
            value = a[key]
            if value < 0 or (strict and value == 0):
                raise OpRuntimeError(
                    f"operator {self.name}: Check failed: param.{key} {'>' if strict else '>='} "
                    f"0 ({value:g} vs. 0) : {text}"
                )

    def forward(self, a, ins, aux, is_train):
        self.check(a)
        rng = _random.generator(np)
        out = self.sample(rng, a, tuple(a["shape"]) or (1,)).astype(self._dtype(a))
        return (_place(out, a),), None


def _place(out, a):
    # no ctx attribute (a graph node): the current context, which an executor sets
    ctx = a.get("ctx") or current_context()
    if getattr(ctx, "device_typeid", 1) == 2:
        with ctx.xp.cuda.Device(ctx.device_id):
            return ctx.xp.asarray(out)
    return out


_COMMON = {"shape": Attr(Shape, ()), "ctx": Attr(lambda c: c, None), "dtype": Attr(Dtype, None)}


@register
class _random_uniform(_Sampler):
    """Uniform samples in ``[low, high)``."""

    name = "_random_uniform"
    aliases = ("random_uniform", "uniform")
    params = dict(low=Attr(Float, 0.0), high=Attr(Float, 1.0), **_COMMON)

    def check(self, a):
        if a["high"] < a["low"]:
            raise OpRuntimeError(
                f"operator {self.name}: Check failed: param.high >= param.low "
                f"({a['high']:g} vs. {a['low']:g}) : low must be less or equal to high in "
                "uniform distribution"
            )

    def sample(self, rng, a, shape):
        return rng.uniform(a["low"], a["high"], shape)


@register
class _random_normal(_Sampler):
    """Normal samples with mean ``loc`` and standard deviation ``scale``."""

    name = "_random_normal"
    aliases = ("random_normal", "normal")
    params = dict(loc=Attr(Float, 0.0), scale=Attr(Float, 1.0), **_COMMON)

    checks = (("scale", True, "scale parameter in gaussian has to be positive"),)

    def sample(self, rng, a, shape):
        return rng.normal(a["loc"], a["scale"], shape)


@register
class _random_randint(_Sampler):
    """Integers uniformly drawn from ``[low, high)`` (int32 by default)."""

    name = "_random_randint"
    aliases = ("random_randint", "randint")
    default_dtype = np.int32
    params = dict(low=Attr(Int), high=Attr(Int), **_COMMON)

    def sample(self, rng, a, shape):
        return rng.integers(a["low"], a["high"], shape)


@register
class _random_exponential(_Sampler):
    """Exponential samples with rate ``lam``."""

    name = "_random_exponential"
    aliases = ("random_exponential", "exponential")
    params = dict(lam=Attr(Float, 1.0), **_COMMON)

    checks = (("lam", True, "lambda parameter in exponential distribution has to be positive"),)

    def sample(self, rng, a, shape):
        return rng.exponential(1.0 / a["lam"], shape)


@register
class _random_gamma(_Sampler):
    """Gamma samples with shape ``alpha`` and scale ``beta``."""

    name = "_random_gamma"
    aliases = ("random_gamma",)  # MXNet's `gamma` is the gamma function
    params = dict(alpha=Attr(Float, 1.0), beta=Attr(Float, 1.0), **_COMMON)

    checks = (
        ("alpha", True, "alpha parameter in gamma distribution has to be positive"),
        ("beta", True, "beta parameter in gamma distribution has to be positive"),
    )

    def sample(self, rng, a, shape):
        return rng.gamma(a["alpha"], a["beta"], shape)


@register
class _random_poisson(_Sampler):
    """Poisson samples with rate ``lam``."""

    name = "_random_poisson"
    aliases = ("random_poisson", "poisson")
    params = dict(lam=Attr(Float, 1.0), **_COMMON)

    checks = (("lam", False, "lambda parameter in poisson distribution has to be non-negative"),)

    def sample(self, rng, a, shape):
        return rng.poisson(a["lam"], shape)


def _negative_binomial(rng, k, p, shape):
    """Failures before the ``k``-th success of probability ``p``: MXNet draws
    ``poisson(gamma(k, (1 - p) / p))``, which numpy's negative_binomial equals in law."""
    return rng.negative_binomial(k, p, shape)


def _generalized_negative_binomial(rng, mu, alpha, shape):
    """``poisson(gamma(1/alpha, mu*alpha))``: mean ``mu``, variance ``mu + alpha*mu^2``;
    ``alpha == 0`` is ``poisson(mu)``."""
    mu, alpha = np.asarray(mu, np.float64), np.asarray(alpha, np.float64)
    safe = np.where(alpha > 0, alpha, 1.0)
    lam = np.where(alpha > 0, rng.gamma(1.0 / safe, mu * safe, shape), mu)
    return rng.poisson(np.broadcast_to(lam, shape))


@register
class _random_negative_binomial(_Sampler):
    """Negative binomial samples: failures before ``k`` successes of probability ``p``."""

    name = "_random_negative_binomial"
    aliases = ("random_negative_binomial",)
    params = dict(k=Attr(Int, 1), p=Attr(Float, 1.0), **_COMMON)

    checks = (("k", False, "k parameter in negative binomial distribution has to be non-negative"),)

    def sample(self, rng, a, shape):
        return _negative_binomial(rng, a["k"], a["p"], shape)


@register
class _random_generalized_negative_binomial(_Sampler):
    """Generalized negative binomial samples with mean ``mu`` and dispersion ``alpha``."""

    name = "_random_generalized_negative_binomial"
    aliases = ("random_generalized_negative_binomial",)
    params = dict(mu=Attr(Float, 1.0), alpha=Attr(Float, 1.0), **_COMMON)

    checks = (
        (
            "mu",
            False,
            "mu parameter in generalized negative binomial distribution has to be non-negative",
        ),
        (
            "alpha",
            False,
            "alpha parameter in generalized negative binomial distribution has to be non-negative",
        ),
    )

    def sample(self, rng, a, shape):
        return _generalized_negative_binomial(rng, a["mu"], a["alpha"], shape)


class _LikeSampler(Op):
    """``_random_<dist>_like``: samples of the shape and dtype of ``data`` (not its values)."""

    base = None

    def infer_shape(self, a, in_shapes, aux_shapes):
        # not the default (a forward on zeros), which would draw from the seeded stream
        return in_shapes, [in_shapes[0]], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [in_types[0]], aux_types

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        self.base.check(self, a)
        out = self.base.sample(self, _random.generator(np), a, tuple(x.shape))
        out = out.astype(x.dtype)
        xp = xp_of(x)
        return (out if xp is np else xp.asarray(out),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


def _like(base):
    """Register the ``_like`` variant of the sampler ``base`` (same distribution params)."""
    params = {k: v for k, v in base.params.items() if k not in _COMMON}
    short = base.name[len("_random_") :]
    cls = type(
        f"{base.name}_like",
        (_LikeSampler,),
        dict(
            name=f"{base.name}_like",
            aliases=(),
            params=params,
            base=base,
            checks=base.checks,
            __doc__=f"Samples of the {short} distribution shaped like ``data``.",
        ),
    )
    return register(cls)


for _base in (
    _random_uniform,
    _random_normal,
    _random_gamma,
    _random_exponential,
    _random_poisson,
    _random_negative_binomial,
    _random_generalized_negative_binomial,
):
    _like(_base)


class _MultiSampler(Op):
    """``_sample_<dist>``: one draw (or ``shape`` draws) per element of the parameter
    arrays; the output has shape ``param.shape + shape``."""

    params = {"shape": Attr(Shape, ()), "dtype": Attr(Dtype, None)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        known = next((s for s in in_shapes if s is not None), None)
        if known is None:
            return in_shapes, [None], aux_shapes
        return [known] * len(in_shapes), [tuple(known) + tuple(a["shape"])], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        out = a["dtype"] if a["dtype"] is not None else np.dtype(np.float32)
        known = next((t for t in in_types if t is not None), np.dtype(np.float32))
        return [known if t is None else t for t in in_types], [out], aux_types

    def forward(self, a, ins, aux, is_train):
        from ..base import MXNetError

        if any(x.shape != ins[0].shape for x in ins[1:]):
            raise MXNetError(
                f"{self.name}: the parameter arrays must have one shape, got "
                f"{[tuple(x.shape) for x in ins]}"
            )
        extra = tuple(a["shape"])
        host = [
            np.asarray(x.get() if hasattr(x, "get") else x, np.float64).reshape(
                x.shape + (1,) * len(extra)
            )
            for x in ins
        ]
        out = self.draw(_random.generator(np), *host, tuple(ins[0].shape) + extra)
        out = out.astype(a["dtype"] if a["dtype"] is not None else np.float32)
        xp = xp_of(ins[0])
        return (out if xp is np else xp.asarray(out),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * len(ins)


def _multi(name, inputs, draw, doc):
    cls = type(
        name,
        (_MultiSampler,),
        dict(name=name, aliases=(name[1:],), inputs=inputs, draw=staticmethod(draw), __doc__=doc),
    )
    return register(cls)


_multi(
    "_sample_uniform",
    ("low", "high"),
    lambda r, lo, hi, s: r.uniform(lo, hi, s),
    "Uniform samples in ``[low, high)`` per element of ``low``/``high``.",
)
_multi(
    "_sample_normal",
    ("mu", "sigma"),
    lambda r, mu, sd, s: r.normal(mu, sd, s),
    "Normal samples per element of the mean ``mu`` and deviation ``sigma``.",
)
_multi(
    "_sample_gamma",
    ("alpha", "beta"),
    lambda r, al, be, s: r.gamma(al, be, s),
    "Gamma samples per element of the shape ``alpha`` and scale ``beta``.",
)
_multi(
    "_sample_exponential",
    ("lam",),
    lambda r, lam, s: r.exponential(1.0 / lam, s),
    "Exponential samples per element of the rate ``lam``.",
)
_multi(
    "_sample_poisson",
    ("lam",),
    lambda r, lam, s: r.poisson(lam, s),
    "Poisson samples per element of the rate ``lam``.",
)
_multi(
    "_sample_negative_binomial",
    ("k", "p"),
    _negative_binomial,
    "Negative binomial samples per element of ``k`` (successes) and ``p``.",
)
_multi(
    "_sample_generalized_negative_binomial",
    ("mu", "alpha"),
    _generalized_negative_binomial,
    "Generalized negative binomial samples per element of ``mu`` and ``alpha``.",
)


@register
class _shuffle(Op):
    """A copy of the input with its first axis randomly permuted."""

    name = "_shuffle"
    aliases = ("shuffle",)

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        perm = _random.generator(np).permutation(x.shape[0])
        xp = xp_of(x)
        return (x[xp.asarray(perm)],), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


from . import random_zipfian  # noqa: E402,F401 - registers the Zipfian samplers with these
