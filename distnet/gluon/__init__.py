"""``mx.gluon``: the imperative API (Blocks, Parameters, Trainer, losses, data loading).

Submodules and the main classes load on first use, so ``import distnet.gluon`` is cheap and
a part that does not exist yet fails only when it is used. This file is deliberately tiny;
the Gluon engineer (parameter.py, block.py, nn/, loss.py, trainer.py) takes it over.
"""

import importlib

# Public name -> submodule that provides it.
_SUBMODULES = {
    name: name
    for name in (
        "data",
        "utils",
        "nn",
        "loss",
        "rnn",
        "model_zoo",
        "contrib",
        "parameter",
        "block",
        "trainer",
    )
}
# Public class -> the submodule that defines it.
_CLASSES = {
    "Parameter": "parameter",
    "ParameterDict": "parameter",
    "Constant": "parameter",
    "Block": "block",
    "HybridBlock": "block",
    "SymbolBlock": "block",
    "Trainer": "trainer",
}


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{_SUBMODULES[name]}", __name__)
        globals()[name] = module
        return module
    if name in _CLASSES:
        value = getattr(importlib.import_module(f".{_CLASSES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'distnet.gluon' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_CLASSES))
