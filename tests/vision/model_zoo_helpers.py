"""Deterministic parameter values shared with scripts/fixtures/make_model_zoo_fixtures.py."""

import zlib

import numpy as np


def param_values(name, shape):
    """Values of the parameter whose ``save_parameters`` key is ``name``."""
    rng = np.random.RandomState(zlib.crc32(name.encode()))
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("gamma", "running_var"):
        return rng.uniform(0.5, 1.5, shape)
    if leaf in ("beta", "running_mean", "bias"):
        return rng.uniform(-0.2, 0.2, shape)
    fan_in = int(np.prod(shape[1:]))
    return rng.uniform(-1, 1, shape) * np.sqrt(3.0 / fan_in)
