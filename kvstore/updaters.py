"""Turn an optimizer description (registered name + hyperparameters) into an updater.

An updater is `updater(key, grad, weight)` updating `weight` (numpy) in place, with
`get_states(dump_optimizer=False) -> bytes` and `set_states(bytes)`.  By default the
description is rebuilt with distnet.optimizer (imported lazily: the kvstore package does
not depend on distnet); tests and other frameworks inject a factory with
`register_updater_factory`.
"""

_factory = None


def register_updater_factory(factory):
    """Use factory(name, hyperparams) -> updater instead of distnet.optimizer (None resets)."""
    global _factory
    _factory = factory


def make_updater(name, hyperparams):
    """Build the updater for optimizer `name` with `hyperparams`."""
    if _factory is not None:
        return _factory(name, dict(hyperparams))
    return _DistnetUpdater(name, dict(hyperparams))


class _DistnetUpdater:
    """Runs a distnet optimizer on numpy arrays by wrapping them as NDArrays without copying."""

    def __init__(self, name, hyperparams):
        import distnet.optimizer as opt_mod
        from distnet.ndarray import NDArray
        self._nd = NDArray
        self.optimizer = opt_mod.create(name, **hyperparams)
        self._updater = opt_mod.get_updater(self.optimizer)
        self.multi_precision = bool(hyperparams.get('multi_precision', False))

    def __call__(self, key, grad, weight):
        self._updater(key, self._nd(grad), self._nd(weight))

    def get_states(self, dump_optimizer=False):
        return self._updater.get_states(dump_optimizer=dump_optimizer)

    def set_states(self, states):
        self._updater.set_states(states)
