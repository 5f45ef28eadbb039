"""Class registries by lower-cased name (initializers, metrics), as MXNet's ``registry``."""

import warnings

from .base import MXNetError

__all__ = ["register_func", "alias_func"]


def register_func(base, kind, registry):
    """A ``register(klass, name=None)`` storing subclasses of ``base`` in ``registry``."""

    def register(klass, name=None):
        if not (isinstance(klass, type) and issubclass(klass, base)):
            raise MXNetError(f"Can only register subclass of {base.__name__}, got {klass!r}")
        name = (name or klass.__name__).lower()
        old = registry.get(name)
        if old is not None and old is not klass:
            warnings.warn(
                f"New {kind} {klass.__module__}.{klass.__name__} registered with "
                f"name {name} is overriding existing {kind} "
                f"{old.__module__}.{old.__name__}",
                UserWarning,
                stacklevel=2,
            )
        registry[name] = klass
        return klass

    register.__doc__ = f"Register a {kind} class under its lower-cased class name (or name)."
    return register


def alias_func(register):
    """An ``alias(*names)`` decorator registering a class under extra names."""

    def alias(*aliases):
        def reg(klass):
            for name in aliases:
                register(klass, name)
            return klass

        return reg

    alias.__doc__ = "Decorator registering a class under extra names."
    return alias
