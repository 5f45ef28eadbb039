"""``random_pdf_<dist>``: densities (or log-densities with ``is_log``) of samples under
per-row distribution parameters, with gradients for the samples and the parameters.

``sample`` has shape ``param.shape + extra``: the parameters of row ``i`` apply to every
sample in ``sample[i]`` (for ``dirichlet`` the last axis of both is the category).
Each distribution is written once as its log-density and the log-density's partial
derivatives; ``pdf = exp(logpdf)`` and ``d pdf = pdf * d logpdf``.
"""

import math

import numpy as np

from .attrs import Attr, Bool
from .registry import Op, register
from .special import _gammaln, digamma
from ._util import xp_of

_LOG_2PI = math.log(2 * math.pi)


def _normal(xp, x, mu, sigma):
    z = (x - mu) / sigma
    logp = -0.5 * z * z - xp.log(sigma) - 0.5 * _LOG_2PI
    return logp, (-z / sigma, z / sigma, (z * z - 1) / sigma)


def _uniform(xp, x, low, high):
    width = high - low
    inside = (x >= low) & (x <= high)
    with np.errstate(divide="ignore"):
        logp = xp.where(inside, -xp.log(width), -np.inf)
    return logp, (xp.zeros_like(x), 1 / width + 0 * x, -1 / width + 0 * x)


def _gamma(xp, x, alpha, beta):
    """``beta`` is the rate, as MXNet's pdf (its sampler takes a scale)."""
    logp = alpha * xp.log(beta) + (alpha - 1) * xp.log(x) - beta * x - _gammaln(xp, alpha)
    return logp, (
        (alpha - 1) / x - beta,
        xp.log(beta) + xp.log(x) - digamma(xp, alpha),
        alpha / beta - x,
    )


def _exponential(xp, x, lam):
    return xp.log(lam) - lam * x, (-lam + 0 * x, 1 / lam - x)


def _poisson(xp, x, lam):
    logp = x * xp.log(lam) - lam - _gammaln(xp, x + 1)
    return logp, (xp.zeros_like(x), x / lam - 1)


def _nb_terms(xp, x, k, p):
    logp = (
        _gammaln(xp, x + k)
        - _gammaln(xp, x + 1)
        - _gammaln(xp, k)
        + k * xp.log(p)
        + x * xp.log1p(-p)
    )
    dk = digamma(xp, x + k) - digamma(xp, k) + xp.log(p)
    dp = k / p - x / (1 - p)
    return logp, dk, dp


def _negative_binomial(xp, x, k, p):
    logp, dk, dp = _nb_terms(xp, x, k, p)
    return logp, (xp.zeros_like(x), dk, dp)


def _generalized_negative_binomial(xp, x, mu, alpha):
    """NB with ``k = 1/alpha`` and ``p = 1/(mu*alpha + 1)``."""
    k, p = 1 / alpha, 1 / (mu * alpha + 1)
    logp, dk, dp = _nb_terms(xp, x, k, p)
    q = (mu * alpha + 1) ** 2
    return logp, (xp.zeros_like(x), dp * (-alpha / q), dk * (-1 / alpha**2) + dp * (-mu / q))


def _dirichlet(xp, x, alpha):
    """Categories on the last axis; the log-density sums over it."""
    total = alpha.sum(axis=-1, keepdims=True)
    logp = (
        ((alpha - 1) * xp.log(x)).sum(axis=-1)
        + _gammaln(xp, total)[..., 0]
        - _gammaln(xp, alpha).sum(axis=-1)
    )
    return logp, ((alpha - 1) / x, xp.log(x) + digamma(xp, total) - digamma(xp, alpha))


class _Pdf(Op):
    """Base of the pdf operators: ``logpdf(xp, sample, *params)`` gives the log-density
    and its partial derivatives (sample first)."""

    params = {"is_log": Attr(Bool, False)}
    category_axis = False  # dirichlet: the last axis is the category

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [tuple(s[:-1]) if self.category_axis else tuple(s)], aux_shapes

    def _spread(self, x, p):
        """Parameter ``p`` reshaped to broadcast against the samples ``x``."""
        cat = 1 if self.category_axis else 0
        extra = x.ndim - p.ndim
        lead = p.shape[: p.ndim - cat]
        return p.reshape(lead + (1,) * extra + p.shape[p.ndim - cat :])

    def _terms(self, ins):
        x = ins[0]
        xp = xp_of(x)
        x64 = x.astype(np.float64)
        ps = [self._spread(x64, p.astype(np.float64)) for p in ins[1:]]
        return xp, self.logpdf(xp, x64, *ps)

    def forward(self, a, ins, aux, is_train):
        xp, (logp, _) = self._terms(ins)
        out = logp if a["is_log"] else xp.exp(logp)
        return (out.astype(ins[0].dtype),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        xp, (logp, grads) = self._terms(ins)
        scale = ograds[0].astype(np.float64)
        if not a["is_log"]:
            scale = scale * xp.exp(logp)
        if self.category_axis:
            scale = scale[..., None]
        res = []
        for inp, g in zip(ins, grads):
            g = g * scale
            if inp is not ins[0]:
                g = self._reduce(g, inp)
            res.append(g.astype(inp.dtype))
        return tuple(res)

    def _reduce(self, g, p):
        """Sum the gradient over the sample axes down to the parameter's shape."""
        cat = 1 if self.category_axis else 0
        lead = p.ndim - cat
        axes = tuple(range(lead, g.ndim - cat))
        return g.sum(axis=axes).reshape(p.shape) if axes else g.reshape(p.shape)


def _pdf(dist, inputs, fn, doc, category_axis=False):
    name = f"_random_pdf_{dist}"
    register(
        type(
            name,
            (_Pdf,),
            {
                "name": name,
                "aliases": (f"random_pdf_{dist}",),
                "inputs": ("sample",) + inputs,
                "logpdf": staticmethod(fn),
                "category_axis": category_axis,
                "__doc__": doc,
            },
        )
    )


_pdf("normal", ("mu", "sigma"), _normal, "Normal density of ``sample``.")
_pdf("uniform", ("low", "high"), _uniform, "Uniform density of ``sample`` on [low, high].")
_pdf(
    "gamma",
    ("alpha", "beta"),
    _gamma,
    "Gamma density of ``sample`` with shape ``alpha`` and rate ``beta``.",
)
_pdf("exponential", ("lam",), _exponential, "Exponential density with rate ``lam``.")
_pdf("poisson", ("lam",), _poisson, "Poisson probability of the counts ``sample``.")
_pdf(
    "negative_binomial",
    ("k", "p"),
    _negative_binomial,
    "Negative binomial probability: ``sample`` failures before ``k`` successes.",
)
_pdf(
    "generalized_negative_binomial",
    ("mu", "alpha"),
    _generalized_negative_binomial,
    "Generalized negative binomial probability with mean ``mu``, dispersion ``alpha``.",
)
_pdf(
    "dirichlet",
    ("alpha",),
    _dirichlet,
    "Dirichlet density of ``sample`` (categories on the last axis).",
    category_axis=True,
)
