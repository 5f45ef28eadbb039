"""``mx.np``: MXNet's NumPy-compatible front end, which distnet does not implement.

The module exists so that code importing it (``import mxnet.numpy as np``, as MXNet's own
tests do next to their ``mx.nd`` tests) loads; any name looked up in it raises an
AttributeError saying that ``mx.np`` is not implemented. Use ``mx.nd`` NDArrays.
"""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(
        f"mx.np.{name}: the NumPy front end (mx.np/mx.npx) is not "
        "implemented in distnet; use mx.nd NDArrays"
    )
