"""Shared helpers of the Gluon tests: MXNet 1.9.1 fixtures and small nets."""

import json
import os

import numpy as np

import distnet as mx
from distnet.gluon import nn

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "mxnet")


def fixture(name):
    """Path of a file in tests/fixtures/mxnet."""
    return os.path.join(FIXTURES, name)


def load_json(name):
    """A JSON fixture."""
    with open(fixture(name)) as f:
        return json.load(f)


def mxnet_strings():
    """MXNet's reprs recorded in strings.json."""
    return load_json("strings.json")


def fresh_names():
    """A fresh name manager, so top-level prefixes restart at 0 (as in a new process)."""
    return mx.name.NameManager()


def mlp(prefix=None):
    """Seed 000's MLP: Flatten, Dense 128 relu, Dense 64 relu, Dense 10."""
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(
            nn.Flatten(),
            nn.Dense(128, activation="relu"),
            nn.Dense(64, activation="relu"),
            nn.Dense(10),
        )
    return net


def lenet(container=nn.HybridSequential):
    """Seed 004's LeNet."""
    net = container()
    with net.name_scope():
        net.add(
            nn.Conv2D(channels=20, kernel_size=5, activation="relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=50, kernel_size=5, activation="relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Flatten(),
            nn.Dense(128, activation="relu"),
            nn.Dense(10),
        )
    return net


def assert_close(a, b, rtol=1e-5, atol=1e-6, msg=""):
    """Compare NDArrays / numpy arrays."""
    a = a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)
    b = b.asnumpy() if hasattr(b, "asnumpy") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=msg)
