"""Turn an optimizer description (registered name + hyperparameters) into an updater.

An updater is `updater(key, grad, weight)` updating `weight` (numpy) in place, with
`get_states(dump_optimizer=False) -> bytes` and `set_states(bytes)`.  An updater whose
`multi_precision` attribute is true gets a float32 master copy (kept by the server) and
float32 gradients in place of float16 weights and gradients.  By default the
description is rebuilt with distnet.optimizer (imported lazily: the kvstore package does
not depend on distnet); tests and other frameworks inject a factory with
`register_updater_factory`.
"""

_factory = None
SUM_PREFIX = "__sum__:"


def summed_only(key):
    """Keys named '__sum__:...' hold plain sums (metric statistics combined across the
    workers): stores keep the round's sum and never run the optimizer on them."""
    return isinstance(key, str) and key.startswith(SUM_PREFIX)


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
    """Runs a distnet optimizer on numpy arrays by wrapping them as NDArrays without copying.

    It has no `multi_precision` attribute on purpose: the server then hands it float16
    weights as they are, and the optimizer keeps its float32 master copy in its own states,
    so save_optimizer_states/load_optimizer_states carry the master copy too.
    """

    def __init__(self, name, hyperparams):
        import distnet.optimizer as opt_mod
        from distnet.ndarray import NDArray

        self._nd = NDArray
        self.optimizer = opt_mod.create(name, **hyperparams)
        self._updater = opt_mod.get_updater(self.optimizer)

    def __call__(self, key, grad, weight):
        from distnet._kvstore_sparse import kv_value  # RowSparse pushes: lazy updates

        self._updater(key, kv_value(grad), self._nd(weight))

    def get_states(self, dump_optimizer=False):
        return self._updater.get_states(dump_optimizer=dump_optimizer)

    def set_states(self, states):
        self._updater.set_states(states)
