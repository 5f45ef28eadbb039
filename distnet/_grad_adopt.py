"""Whether backward may hand a fresh gradient array to a gradient NDArray instead of
copying it into the old one (``autograd._write_leaf_grad``): a full pass over every
gradient saved per step, where nobody can tell the difference.
"""

import sys as _sys

from numpy import ndarray as _ndarray

__all__ = ["adoptable"]


def adoptable(buf, g, _measure=False):
    """Whether the gradient buffer NDArray ``buf`` may take the fresh gradient array ``g``
    as its data instead of copying it (a full pass over the gradient saved).

    Safe only when no one can tell: both are C-contiguous numpy arrays of the same shape
    and dtype; the old array owns its memory (it is no view of a larger buffer the user
    packed gradients into) and ``g`` owns its memory or views all of an array nothing else
    uses (an operator's ``reshape`` of its result); and no other reference to any of them
    exists: none to ``g`` (not aliased by another leaf's gradient, a saved value or an
    output on the tape), none to the old array (no view of it, no raw handle held by a
    user or a kvstore send in flight). Reference counts say so, compared with those of
    unshared arrays measured once through the same call structure (``_adopt_refs``).
    Otherwise the gradient is copied, as before."""
    old = buf._data
    if type(g) is not _ndarray or type(old) is not _ndarray:
        return False
    owner = g.base
    if _measure:
        return _sys.getrefcount(g), _sys.getrefcount(old), _sys.getrefcount(owner)
    refs = _ADOPT_REFS[0]
    if refs is None:
        refs = _ADOPT_REFS[0] = _adopt_refs()
    return (
        refs is not False
        and old.base is None
        and g.shape == old.shape
        and g.dtype == old.dtype
        and g.flags.c_contiguous
        and old.flags.c_contiguous
        and _sys.getrefcount(g) == refs[0]
        and _sys.getrefcount(old) == refs[1]
        and (
            owner is None
            or (
                type(owner) is _ndarray
                and owner.base is None
                and owner.nbytes == g.nbytes
                and _sys.getrefcount(owner) == refs[2]
            )
        )
    )


_ADOPT_REFS = [None]


def _adopt_refs():
    """The reference counts ``adoptable`` sees for an unshared ``g``, old buffer and
    owner of ``g``'s memory; False where counts cannot tell shared arrays from unshared
    ones (not CPython; or CPython >= 3.14, whose borrowed stack references may hide one)."""
    if _sys.implementation.name != "cpython" or _sys.version_info >= (3, 14):
        return False
    import numpy as np

    class _Buf:
        __slots__ = ("_data",)

    def write_frame(buf, g):  # stands for _write_leaf_grad, whose caller holds g in a local
        return adoptable(buf, g, True)

    buf = _Buf()
    buf._data = np.zeros(2)
    g = np.zeros(2).reshape(1, 2)  # a view: its owner is referenced by g alone
    sole = write_frame(buf, g)
    more = g, buf._data[:], g.base  # noqa: F841 - one more reference to each
    shared = write_frame(buf, g)
    return sole if shared == tuple(n + 1 for n in sole) else False
