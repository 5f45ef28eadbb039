"""Special functions as elementwise operators: ``gamma``, ``gammaln``, ``erfinv``.

numpy has none of them (and scipy is not a dependency), so on the CPU they are computed
here in float64 with vectorised series; on the GPU cupyx.scipy.special is used.
"""

import math

import numpy as np

from .elemwise import _Unary
from .registry import register

# math.erf is exact to double precision; the Newton steps of erfinv need that accuracy
_erf64 = np.vectorize(math.erf, otypes=[np.float64])

# Lanczos approximation, g = 7, 9 terms (|relative error| < 1e-13 for x > 0.5)
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def _lgamma_pos(x):
    """log Gamma(x) for x >= 0.5 (float64)."""
    x = x - 1.0
    s = np.full_like(x, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        s += c / (x + i)
    t = x + 7.5
    return 0.5 * math.log(2 * math.pi) + (x + 0.5) * np.log(t) - t + np.log(s)


def _gammaln(xp, x):
    """log |Gamma(x)|, with the reflection formula below 0.5."""
    if xp is not np:
        from cupyx.scipy.special import gammaln

        return gammaln(x)
    z = np.asarray(x, np.float64)
    small = z < 0.5
    pos = _lgamma_pos(np.where(small, 1.0 - z, z))
    with np.errstate(divide="ignore"):
        refl = math.log(math.pi) - np.log(np.abs(np.sin(math.pi * z))) - pos
    return np.where(small, refl, pos).astype(x.dtype, copy=False)


def _gamma(xp, x):
    """Gamma(x): exp of gammaln with the sign of Gamma (negative on (-2k-1, -2k))."""
    if xp is not np:
        from cupyx.scipy.special import gamma

        return gamma(x)
    z = np.asarray(x, np.float64)
    sign = np.where((z < 0) & (np.floor(z) % 2 == 1), -1.0, 1.0)
    return (sign * np.exp(_gammaln(np, z))).astype(x.dtype, copy=False)


def digamma(xp, x):
    """psi(x) = d/dx log Gamma(x): recurrence up to x >= 6, then the asymptotic series;
    reflection for x < 0."""
    if xp is not np:
        from cupyx.scipy.special import digamma as cp_digamma

        return cp_digamma(x)
    z = np.asarray(x, np.float64)
    neg = z < 0
    w = np.where(neg, 1.0 - z, z)
    acc = np.zeros_like(w)
    for _ in range(6):
        low = w < 6
        acc -= np.where(low, 1.0 / w, 0.0)
        w = np.where(low, w + 1.0, w)
    inv2 = 1.0 / (w * w)
    res = acc + np.log(w) - 0.5 / w - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 / 252))
    with np.errstate(divide="ignore", invalid="ignore"):
        res = np.where(neg, res - math.pi / np.tan(math.pi * z), res)
    return res.astype(x.dtype, copy=False)


def _erfinv(xp, x):
    """Inverse error function: Giles' (2010) approximation, then two Newton steps."""
    if xp is not np:
        from cupyx.scipy.special import erfinv

        return erfinv(x)
    z = np.asarray(x, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - z) * (1.0 + z))
        a = w - 2.5
        p = 2.81022636e-08
        for c in (
            3.43273939e-07,
            -3.5233877e-06,
            -4.39150654e-06,
            0.00021858087,
            -0.00125372503,
            -0.00417768164,
            0.246640727,
            1.50140941,
        ):
            p = c + p * a
        b = np.sqrt(np.maximum(w, 5.0)) - 3.0
        q = -0.000200214257
        for c in (
            0.000100950558,
            0.00134934322,
            -0.00367342844,
            0.00573950773,
            -0.0076224613,
            0.00943887047,
            1.00167406,
            2.83297682,
        ):
            q = c + q * b
        y = np.where(w < 5.0, p, q) * z
        for _ in range(2):  # Newton on erf(y) = z
            y = y - (_erf64(y) - z) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
            y = np.where(np.abs(z) < 1, y, 0.0)  # keep the steps finite
        edge = np.where(np.abs(z) == 1, np.copysign(np.inf, z), np.nan)
        y = np.where(np.abs(z) < 1, y, edge)
    return y.astype(x.dtype, copy=False)


def _special(name, fn, grad, doc):
    # nd_backward off: ``F`` in ``grad`` is numpy or cupy, which digamma needs
    register(
        type(
            name,
            (_Unary,),
            {
                "name": name,
                "aliases": (),
                "fn": staticmethod(fn),
                "grad": staticmethod(grad),
                "nd_backward": False,
                "__doc__": doc,
            },
        )
    )


_special(
    "gamma", _gamma, lambda F, x, y, g: g * y * digamma(F, x), "The gamma function, elementwise."
)
_special(
    "gammaln",
    _gammaln,
    lambda F, x, y, g: g * digamma(F, x),
    "The log of the absolute value of the gamma function, elementwise.",
)
_special(
    "erfinv",
    _erfinv,
    lambda F, x, y, g: g * (math.sqrt(math.pi) / 2) * F.exp(y * y),
    "The inverse error function, elementwise.",
)
