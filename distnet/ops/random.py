"""Random sampling operators (``_random_uniform``, ``_random_normal``, ...) and ``_shuffle``.

They draw from ``distnet.random``'s generator so that ``mx.random.seed`` makes runs
reproducible.
"""

import numpy as np

from .attrs import Attr, Float, Shape, Dtype, Int
from .registry import Op, register
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

    def forward(self, a, ins, aux, is_train):
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


_COMMON = {"shape": Attr(Shape, ()), "ctx": Attr(lambda c: c, None),
           "dtype": Attr(Dtype, None)}


@register
class _random_uniform(_Sampler):
    """Uniform samples in ``[low, high)``."""

    name = "_random_uniform"
    aliases = ("random_uniform", "uniform", "_sample_uniform")
    params = dict(low=Attr(Float, 0.0), high=Attr(Float, 1.0), **_COMMON)

    def sample(self, rng, a, shape):
        return rng.uniform(a["low"], a["high"], shape)


@register
class _random_normal(_Sampler):
    """Normal samples with mean ``loc`` and standard deviation ``scale``."""

    name = "_random_normal"
    aliases = ("random_normal", "normal", "_sample_normal")
    params = dict(loc=Attr(Float, 0.0), scale=Attr(Float, 1.0), **_COMMON)

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

    def sample(self, rng, a, shape):
        return rng.exponential(1.0 / a["lam"], shape)


@register
class _random_gamma(_Sampler):
    """Gamma samples with shape ``alpha`` and scale ``beta``."""

    name = "_random_gamma"
    aliases = ("random_gamma", "gamma")
    params = dict(alpha=Attr(Float, 1.0), beta=Attr(Float, 1.0), **_COMMON)

    def sample(self, rng, a, shape):
        return rng.gamma(a["alpha"], a["beta"], shape)


@register
class _random_poisson(_Sampler):
    """Poisson samples with rate ``lam``."""

    name = "_random_poisson"
    aliases = ("random_poisson", "poisson")
    params = dict(lam=Attr(Float, 1.0), **_COMMON)

    def sample(self, rng, a, shape):
        return rng.poisson(a["lam"], shape)


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


