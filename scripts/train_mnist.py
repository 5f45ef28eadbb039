#!/usr/bin/env python3
"""``python scripts/train_mnist.py ...`` runs ``distnet.examples.train_mnist`` (the
script ships inside the package, so an installed wheel runs it as
``python -m distnet.examples.train_mnist``). Imported, this module exposes the example's
functions.
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("distnet.examples.train_mnist", run_name="__main__", alter_sys=True)
else:
    from distnet.examples import train_mnist as _example

    globals().update({k: v for k, v in vars(_example).items() if not k.startswith("__")})
