"""Random number state: ``mx.random.seed`` and the generators operators draw from.

CPU operators draw from one numpy ``Generator`` (PCG64); GPU operators from cupy's
generator of their device. ``seed`` resets both (each GPU's lazily, when it is next used,
so seeding before cupy is loaded works too), so runs are reproducible.
"""

import numpy as np

__all__ = ["seed", "uniform", "normal", "randint", "shuffle", "generator"]

# GPU generators start from seed 0 too, like the CPU one, until seed() is called
_state = {"cpu": np.random.default_rng(0), "gpu_seed": 0, "gpu_seeded": set()}


def seed(seed_state, ctx="all"):
    """Seed distnet's random generators (all devices by default).

    As in MXNet, numpy's global generator is left alone: code that draws from it
    (``NDArrayIter``'s shuffle, a user's augmentation) is seeded with ``np.random.seed``.
    """
    # MXNet takes any int, negative ones too: use its 64-bit two's complement
    seed_state = int(seed_state) & 0xFFFFFFFFFFFFFFFF
    _state["cpu"] = np.random.default_rng(seed_state)
    if ctx == "all" or getattr(ctx, "device_typeid", 1) == 2:
        # cupy keeps one generator per device, made on first use: each GPU's generator is
        # seeded when an operator first draws from it after this call (see generator)
        _state["gpu_seed"], _state["gpu_seeded"] = seed_state, set()


def generator(xp=np):
    """The generator operators on arrays of module ``xp`` draw from."""
    if xp is np:
        return _state["cpu"]
    if not hasattr(xp.random, "get_random_state"):
        return xp.random.default_rng(int(_state["cpu"].integers(2**63)))
    rs = xp.random.get_random_state()  # the current device's generator
    device = xp.cuda.Device().id
    if device not in _state["gpu_seeded"]:
        _state["gpu_seeded"].add(device)
        rs.seed(_state["gpu_seed"])
    return rs


def __getattr__(name):
    # mx.random.uniform etc. are the nd.random functions, as in MXNet
    if name in (
        "uniform",
        "normal",
        "randint",
        "shuffle",
        "exponential",
        "gamma",
        "poisson",
        "multinomial",
        "randn",
        "negative_binomial",
        "generalized_negative_binomial",
    ):
        from .ndarray import random as nd_random

        return getattr(nd_random, name)
    raise AttributeError(f"module 'distnet.random' has no attribute {name!r}")
