"""Random number state: ``mx.random.seed`` and the generators operators draw from.

CPU operators draw from one numpy ``Generator`` (PCG64); GPU operators from cupy's
generator. ``seed`` resets both, so runs are reproducible.
"""

import numpy as np

__all__ = ["seed", "uniform", "normal", "randint", "shuffle", "generator"]

_state = {"cpu": np.random.default_rng(0)}


def seed(seed_state, ctx="all"):
    """Seed the random generators (all devices by default)."""
    seed_state = int(seed_state)
    _state["cpu"] = np.random.default_rng(seed_state)
    from .backend import _cupy
    if _cupy is not None and ctx in ("all",) or getattr(ctx, "device_typeid", 1) == 2:
        if _cupy is not None:
            _cupy.random.seed(seed_state)
    np.random.seed(seed_state % (2 ** 32))  # shuffling helpers that use numpy's global RNG


def generator(xp=np):
    """The generator operators on arrays of module ``xp`` draw from."""
    if xp is np:
        return _state["cpu"]
    return xp.random.default_rng(int(_state["cpu"].integers(2 ** 63))) if not hasattr(
        xp.random, "get_random_state") else xp.random.get_random_state()


def __getattr__(name):
    # mx.random.uniform etc. are the nd.random functions, as in MXNet
    if name in ("uniform", "normal", "randint", "shuffle", "exponential", "gamma",
                "poisson", "multinomial", "randn", "negative_binomial",
                "generalized_negative_binomial"):
        from .ndarray import random as nd_random
        return getattr(nd_random, name)
    raise AttributeError(f"module 'distnet.random' has no attribute {name!r}")
