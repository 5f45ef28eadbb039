"""Helpers shared by the indexing operators (``index.py`` and its ``index_*`` siblings)."""

import numpy as np

from ..base import MXNetError
from .registry import Op


def check_axis(op, axis, ndim, what="axis"):
    """``axis`` (negative allowed) as a non-negative int; MXNetError naming ``op`` if it
    is out of range for an array of ``ndim`` dimensions."""
    if not -ndim <= axis < ndim:
        raise MXNetError(f"{op}: {what} {axis} is out of bounds for array of ndim {ndim}")
    return axis % ndim


def check_num_args(op, a, ins):
    """A variadic operator got ``num_args`` inputs; MXNetError saying both counts if not."""
    if len(ins) != a["num_args"]:
        raise MXNetError(f"{op}: num_args={a['num_args']} but {len(ins)} inputs were given")


def as_indices(xp, idx, n, mode, op="take"):
    """Float or int index array as int64 positions in ``[0, n)``.

    MXNet truncates fractional indices toward zero (``static_cast<int>``); ``clip`` clamps
    out-of-range positions to the ends, ``wrap`` takes them modulo ``n``, ``raise`` rejects
    anything outside ``[0, n)``.
    """
    pos = idx.astype(np.int64, copy=False)
    if mode == "wrap":
        return pos % n if n else pos
    if mode == "raise":
        if pos.size and (int(pos.min()) < 0 or int(pos.max()) >= n):
            raise MXNetError(
                f"{op} operator contains indices out of bound: valid range is "
                f"[0, {n}), got values from {int(pos.min())} to "
                f"{int(pos.max())}"
            )
        return pos
    # maximum/minimum, not clip: np.clip's Python wrapper costs ~4 us per call (a fresh
    # array first: astype(copy=False) may have returned the caller's own index array)
    pos = xp.maximum(pos, 0)
    return xp.minimum(pos, max(n - 1, 0), out=pos)


def scatter_add(xp, target, key, values):
    """``target[key] += values`` with repeated indices accumulating (numpy ``add.at``)."""
    if xp is np:
        np.add.at(target, key, values)
    else:
        import cupyx  # noqa: PLC0415 - only reached with cupy arrays

        cupyx.scatter_add(target, key, values)
    return target


def along_axis_key(xp, idx, axis):
    """A fancy-index tuple selecting ``idx[..., j, ...]`` along ``axis`` of an array whose
    other dims match ``idx``'s (a ``take_along_axis`` key usable for assignment)."""
    key = []
    for d, n in enumerate(idx.shape):
        if d == axis:
            key.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[d] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


def fresh(x):
    """A C-contiguous copy: operator outputs never alias their inputs, as in MXNet."""
    return x.copy()


def axis_slice(axis, start, stop, step=None):
    """The key selecting ``start:stop:step`` along ``axis`` (all of the other axes)."""
    return (slice(None),) * axis + (slice(start, stop, step),)


class IndexingOp(Op):
    """An operator whose output has the dtype of its first input; index inputs keep their
    own dtype (float32 when unknown, MXNet's default)."""

    def infer_type(self, a, in_types, aux_types):
        data = in_types[0] if in_types[0] is not None else np.dtype(np.float32)
        rest = [t if t is not None else np.dtype(np.float32) for t in in_types[1:]]
        return [data] + rest, [data] * self.num_outputs(a), aux_types
