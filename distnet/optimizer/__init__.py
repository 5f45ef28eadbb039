"""``mx.optimizer``: optimizers, their registry, descriptions and the Updater.

Interface used by kvstores and parameter servers::

    name, hyperparams = opt.describe()            # msgpack-safe
    opt = distnet.optimizer.create(name, **hyperparams)
    updater = distnet.optimizer.get_updater(opt)
    updater(key, grad_ndarray, weight_ndarray)    # weight updated in place
    blob = updater.get_states(dump_optimizer=False)   # bytes (msgpack, no pickle)
    updater.set_states(blob)
"""

from .optimizer import Optimizer, UnknownOptimizerError, register, create, from_description
from .sgd import SGD, ccSGD, NAG, Signum, SGLD, LARS, DCASGD, Test
from .adaptive import Adam, AdaGrad, RMSProp, AdaDelta, Adamax, Nadam, Ftrl, FTML, LAMB
from .updater import Updater, get_updater

__all__ = [
    "Optimizer",
    "register",
    "create",
    "from_description",
    "Updater",
    "get_updater",
    "SGD",
    "ccSGD",
    "NAG",
    "Signum",
    "SGLD",
    "LARS",
    "DCASGD",
    "Test",
    "Adam",
    "AdaGrad",
    "RMSProp",
    "AdaDelta",
    "Adamax",
    "Nadam",
    "Ftrl",
    "FTML",
    "LAMB",
    "UnknownOptimizerError",
]
