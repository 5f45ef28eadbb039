"""Generate the ``sym.*`` functions and Symbol methods from the operator registry."""

from .compose import create
from ..ndarray._gen import make_method  # noqa: F401 - one definition for nd and sym

__all__ = ["make_function", "make_method"]


def make_function(op, fname):
    """The ``sym.<fname>`` function for ``op``.

    Positional Symbols are the inputs in order (``None`` skips one), further positional
    values are attributes in declaration order; keyword Symbols are inputs by name, other
    keywords attributes. ``name`` and ``attr`` as in MXNet; the automatic name is the
    lower-cased function name plus a counter (``fullyconnected0``).
    """
    hint = fname.lower()

    def fn(*args, name=None, attr=None, out=None, **kwargs):
        return create(op, hint, args, kwargs, name, attr)

    fn.__name__ = fname
    fn.__qualname__ = fname
    fn.__doc__ = (
        op.__class__.__doc__ or f"The {op.name} operator."
    ) + "\n\nReturns a Symbol (the symbolic form of ``nd.%s``)." % fname
    return fn
