"""Masking and selection: where, clip, SequenceMask, diag and _contrib_boolean_mask.

Registered when ``distnet.ops.index`` is imported.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Float, Int
from .registry import Op, register
from ._util import xp_of
from ._indexing import IndexingOp, check_axis, fresh


def _where_mask(xp, cond, shape):
    if tuple(cond.shape) == tuple(shape):
        return cond != 0
    if cond.ndim == 1 and len(shape) and cond.shape[0] == shape[0]:
        return (cond != 0).reshape((-1,) + (1,) * (len(shape) - 1))
    raise MXNetError(
        f"where: condition has shape {tuple(cond.shape)}; expected the shape "
        f"of x and y {tuple(shape)} or ({shape[0] if shape else 0},)"
    )


@register
class where(Op):
    """``x`` where ``condition`` is non-zero, else ``y``. ``condition`` has the shape of
    ``x`` or is 1-D over the first axis (choosing whole rows)."""

    name = "where"
    inputs = ("condition", "x", "y")
    needs_known = ("condition",)  # as MXNet: nothing inferred before its shape is known

    def infer_shape(self, a, in_shapes, aux_shapes):
        c, x, y = in_shapes
        s = x if x is not None else y
        return [c, s, s], [s], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        c, x, y = in_types
        t = x or y or np.dtype(np.float32)
        return [c or t, t, t], [t], aux_types

    def forward(self, a, ins, aux, is_train):
        cond, x, y = ins
        if tuple(x.shape) != tuple(y.shape):
            raise MXNetError(
                f"where: x and y must have the same shape, got {tuple(x.shape)} "
                f"and {tuple(y.shape)}"
            )
        xp = xp_of(x)
        mask = _where_mask(xp, cond, x.shape)
        return (xp.where(mask, x, y.astype(x.dtype, copy=False)),), mask

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        xp = xp_of(g)
        zero = g.dtype.type(0)
        return None, xp.where(saved, g, zero), xp.where(saved, zero, g)


def _bound(dtype, v):
    """``v`` as a scalar of ``dtype`` (integers: truncated and clamped to its range)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return dtype.type(min(max(v, info.min), info.max))
    return dtype.type(v)


@register
class clip(IndexingOp):
    """Values limited to ``[a_min, a_max]``; the gradient passes where
    ``a_min <= x <= a_max``."""

    name = "clip"
    params = {"a_min": Attr(Float), "a_max": Attr(Float)}
    nd_backward = True

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        lo, hi = _bound(x.dtype, a["a_min"]), _bound(x.dtype, a["a_max"])
        if lo <= hi:
            return (xp.clip(x, lo, hi),), None
        # MXNet tests x > a_max first, then x < a_min.
        return (xp.where(x > hi, hi, xp.where(x < lo, lo, x)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        lo, hi = _bound(x.dtype, a["a_min"]), _bound(x.dtype, a["a_max"])
        return (ograds[0] * ((x >= lo) * (x <= hi)),)


def _sequence_keep(xp, a, x, lengths):
    """Boolean mask shaped to broadcast against ``x``: True where a step is kept."""
    axis = a["axis"]
    if axis not in (0, 1):
        raise MXNetError(f"SequenceMask: axis must be 0 or 1, got {axis}")
    if x.ndim < 2:
        raise MXNetError(f"SequenceMask: data needs at least 2 dimensions, got {x.shape}")
    steps, batch = (x.shape[0], x.shape[1]) if axis == 0 else (x.shape[1], x.shape[0])
    if tuple(lengths.shape) != (batch,):
        raise MXNetError(
            f"SequenceMask: sequence_length has shape {tuple(lengths.shape)}, "
            f"expected ({batch},) for data {x.shape} and axis={axis}"
        )
    length = lengths.astype(np.int64, copy=False)
    t = xp.arange(steps)
    keep = t[:, None] < length[None, :] if axis == 0 else t[None, :] < length[:, None]
    return keep.reshape(keep.shape + (1,) * (x.ndim - 2))


@register
class SequenceMask(IndexingOp):
    """Set the steps at or after each sequence's length to ``value``. Data is
    ``(T, B, ...)`` for ``axis=0`` or ``(B, T, ...)`` for ``axis=1``; without
    ``use_sequence_length`` the data passes unchanged."""

    name = "SequenceMask"
    inputs = ("data", "sequence_length")
    params = {
        "use_sequence_length": Attr(Bool, False),
        "value": Attr(Float, 0.0),
        "axis": Attr(Int, 0),
    }

    def input_names(self, a):
        return self.inputs if a["use_sequence_length"] else ("data",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        if not a["use_sequence_length"]:
            return (fresh(x),), None
        xp = xp_of(x)
        keep = _sequence_keep(xp, a, x, ins[1])
        out = xp.where(keep, x, _bound(x.dtype, a["value"]))
        return (out,), keep

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        if saved is None:
            return (g,)
        return (g * saved, None)


# ---------------------------------------------------------------- diag, boolean_mask
def _diag_positions(xp, k, n1, n2):
    """Row and column positions of the ``k``-th diagonal of an ``n1 x n2`` matrix."""
    length = min(n1, n2 - k) if k >= 0 else min(n1 + k, n2)
    if length <= 0:
        raise MXNetError(f"diag: diagonal k={k} does not exist in a {n1}x{n2} matrix")
    r = xp.arange(length)
    return r + max(-k, 0), r + max(k, 0)


def _diag_axes(a, ndim):
    a1 = check_axis("diag", a["axis1"], ndim, "axis1")
    a2 = check_axis("diag", a["axis2"], ndim, "axis2")
    if a1 == a2:
        raise MXNetError(f"diag: axis1 and axis2 must differ, both are {a1}")
    return a1, a2


@register
class diag(IndexingOp):
    """1-D input: a square matrix with the input on diagonal ``k``. N-D input: the
    ``k``-th diagonal of the ``axis1``/``axis2`` planes, as the last axis."""

    name = "diag"
    params = {"k": Attr(Int, 0), "axis1": Attr(Int, 0), "axis2": Attr(Int, 1)}

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        k = a["k"]
        if x.ndim == 1:
            n = x.shape[0] + abs(k)
            out = xp.zeros((n, n), dtype=x.dtype)
            rows, cols = _diag_positions(xp, k, n, n)
            out[rows, cols] = x
            return (out,), None
        if x.ndim == 0:
            raise MXNetError("diag: the input must have at least 1 dimension")
        a1, a2 = _diag_axes(a, x.ndim)
        _diag_positions(xp, k, x.shape[a1], x.shape[a2])  # checks the diagonal exists
        return (fresh(xp.diagonal(x, k, a1, a2)),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x, g = ins[0], ograds[0]
        xp = xp_of(x)
        k = a["k"]
        if x.ndim == 1:
            n = x.shape[0] + abs(k)
            rows, cols = _diag_positions(xp, k, n, n)
            return (fresh(g[rows, cols]),)
        a1, a2 = _diag_axes(a, x.ndim)
        out = xp.zeros_like(x)
        rows, cols = _diag_positions(xp, k, x.shape[a1], x.shape[a2])
        xp.moveaxis(out, (a1, a2), (-2, -1))[..., rows, cols] = g
        return (out,)


@register
class _contrib_boolean_mask(IndexingOp):
    """The slices of ``data`` along ``axis`` where ``index`` is non-zero (the output
    length depends on the values, so graphs cannot infer it)."""

    name = "_contrib_boolean_mask"
    inputs = ("data", "index")
    params = {"axis": Attr(Int, 0)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [None], aux_shapes

    def _key(self, a, x, idx):
        axis = check_axis("boolean_mask", a["axis"], x.ndim)
        if idx.ndim != 1 or idx.shape[0] != x.shape[axis]:
            raise MXNetError(
                f"boolean_mask: index must be 1-D of length {x.shape[axis]} "
                f"(axis {axis} of data {x.shape}), got shape {tuple(idx.shape)}"
            )
        return (np.s_[:],) * axis + (idx != 0,)

    def forward(self, a, ins, aux, is_train):
        x, idx = ins
        key = self._key(a, x, idx)
        return (x[key],), key

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        g = xp_of(x).zeros_like(x)
        g[saved] = ograds[0]
        return (g, None)
