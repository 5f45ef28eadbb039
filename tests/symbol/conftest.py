"""Fixtures of the symbol tests: each test names its symbols with fresh counters."""

import pytest

import distnet as mx


@pytest.fixture(autouse=True)
def fresh_names():
    """Automatic names start at 0 in every test (``fullyconnected0``...)."""
    with mx.name.NameManager():
        yield
