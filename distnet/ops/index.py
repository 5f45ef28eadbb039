"""Indexing operators: slice, slice_axis, slice_like, take, pick, one_hot, gather_nd and
scatter_nd.

Importing this module also registers the masking (``index_mask``), joining
(``index_join``), sorting (``index_sort``) and layout (``index_layout``) operators, so the
registry's ``index`` entry loads them all.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Dtype, Float, Int, IntOrNoneTuple, OptInt, Shape, enum
from .registry import Op, register
from ._util import xp_of
from ._indexing import IndexingOp, along_axis_key, as_indices, check_axis, fresh, scatter_add


# ---------------------------------------------------------------- slicing
def _slice_key(a, shape):
    begin, end, step = a["begin"], a["end"], a["step"] or ()
    if len(begin) != len(end):
        raise MXNetError(f"slice: begin {begin} and end {end} must have the same length")
    if len(begin) > len(shape):
        raise MXNetError(f"slice: begin {begin} has more axes than the data shape {shape}")
    key = []
    for i, (b, e) in enumerate(zip(begin, end)):
        s = step[i] if i < len(step) else None
        if s == 0:
            raise MXNetError(f"slice: step[{i}] cannot be 0")
        key.append(slice(b, e, s))
    return tuple(key)


def _sliced_shape(key, shape):
    out = list(shape)
    for i, k in enumerate(key):
        out[i] = len(range(*k.indices(shape[i])))
    return tuple(out)


@register
class _Slice(IndexingOp):
    """``data[begin:end:step]`` per axis; ``None`` entries take the default of Python
    slicing (so negative steps walk backwards from the end). Returns a copy."""

    name = "slice"
    aliases = ("crop",)
    params = {
        "begin": Attr(IntOrNoneTuple),
        "end": Attr(IntOrNoneTuple),
        "step": Attr(IntOrNoneTuple, ()),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else _sliced_shape(_slice_key(a, s), s)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (fresh(x[_slice_key(a, x.shape)]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        g = xp_of(x).zeros_like(x)
        g[_slice_key(a, x.shape)] = ograds[0]
        return (g,)


@register
class _slice_assign(IndexingOp):
    """``lhs`` with ``lhs[begin:end:step] = rhs`` (a new array; ``out=lhs`` writes in
    place), as MXNet's ``_slice_assign`` (alias ``_crop_assign``)."""

    name = "_slice_assign"
    aliases = ("_crop_assign",)
    inputs = ("lhs", "rhs")
    params = _Slice.params

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, v = ins
        key = _slice_key(a, x.shape)
        if tuple(v.shape) != _sliced_shape(key, x.shape):
            raise MXNetError(
                f"_slice_assign: rhs has shape {tuple(v.shape)}, the slice of lhs "
                f"{tuple(x.shape)} from begin={a['begin']} to end={a['end']} has shape "
                f"{_sliced_shape(key, x.shape)}"
            )
        out = x.copy()
        out[key] = v
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        key = _slice_key(a, ins[0].shape)
        g = ograds[0].copy()
        g[key] = 0
        return (g, fresh(ograds[0][key]))


@register
class _slice_assign_scalar(IndexingOp):
    """``data`` with ``data[begin:end:step] = scalar`` (alias ``_crop_assign_scalar``)."""

    name = "_slice_assign_scalar"
    aliases = ("_crop_assign_scalar",)
    params = dict(_Slice.params, scalar=Attr(Float, 0.0))

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        out = ins[0].copy()
        out[_slice_key(a, out.shape)] = a["scalar"]
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0].copy()
        g[_slice_key(a, g.shape)] = 0
        return (g,)


def _axis_range(a, shape):
    """``(axis, begin, end)`` of slice_axis, checked as MXNet does."""
    axis = check_axis("slice_axis", a["axis"], len(shape))
    n = shape[axis]
    begin, end = a["begin"], a["end"]
    begin = begin + n if begin < 0 else begin
    end = n if end is None else (end + n if end < 0 else end)
    if begin < 0:
        raise MXNetError(f"slice_axis: invalid begin={a['begin']} for axis {axis} of size {n}")
    if end > n:
        raise MXNetError(f"slice_axis: invalid end={a['end']}: axis {axis} has size {n}")
    if begin >= end:
        raise MXNetError(
            f"slice_axis: invalid begin, end: begin={begin} must be smaller than end={end}"
        )
    return axis, begin, end


@register
class slice_axis(IndexingOp):
    """``data`` sliced to ``[begin, end)`` along ``axis`` (``end=None``: to the end)."""

    name = "slice_axis"
    params = {"axis": Attr(Int), "begin": Attr(Int), "end": Attr(OptInt)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        axis, b, e = _axis_range(a, s)
        return in_shapes, [tuple(s[:axis]) + (e - b,) + tuple(s[axis + 1 :])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        axis, b, e = _axis_range(a, x.shape)
        return (fresh(x[(np.s_[:],) * axis + (np.s_[b:e],)]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        axis, b, e = _axis_range(a, x.shape)
        g = xp_of(x).zeros_like(x)
        g[(np.s_[:],) * axis + (np.s_[b:e],)] = ograds[0]
        return (g,)


def _like_key(a, shape, like):
    axes = a["axes"]
    if not axes:
        if len(shape) != len(like):
            raise MXNetError(
                f"slice_like: without axes the inputs need the same number of "
                f"dimensions, got data {shape} and shape_like {like}"
            )
        axes = range(len(shape))
    key = [np.s_[:]] * len(shape)
    for ax in axes:
        i = check_axis("slice_like", ax, len(shape))
        j = check_axis("slice_like", ax, len(like), "axis of shape_like")
        if like[j] > shape[i]:
            raise MXNetError(
                f"slice_like: shape_like {like} is larger than data {shape} on axis {ax}"
            )
        key[i] = np.s_[: like[j]]
    return tuple(key)


@register
class slice_like(IndexingOp):
    """``data`` sliced from the start to the sizes of ``shape_like`` on ``axes`` (all
    axes when empty)."""

    name = "slice_like"
    inputs = ("data", "shape_like")
    params = {"axes": Attr(Shape, ())}

    def infer_shape(self, a, in_shapes, aux_shapes):
        s, like = in_shapes
        if s is None or like is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [_sliced_shape(_like_key(a, s, like), s)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, like = ins
        return (fresh(x[_like_key(a, x.shape, like.shape)]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x, like = ins
        g = xp_of(x).zeros_like(x)
        g[_like_key(a, x.shape, like.shape)] = ograds[0]
        return (g, None)


# ---------------------------------------------------------------- gathering
@register
class take(IndexingOp):
    """Entries of ``a`` at ``indices`` along ``axis``: the result has shape
    ``a.shape[:axis] + indices.shape + a.shape[axis+1:]``. Out-of-range indices are
    clipped, wrapped or rejected (``mode``); the gradient accumulates repeated indices."""

    name = "take"
    inputs = ("a", "indices")
    params = {"axis": Attr(Int, 0), "mode": Attr(enum("clip", "raise", "wrap"), "clip")}

    def infer_shape(self, a, in_shapes, aux_shapes):
        s, idx = in_shapes
        if s is None or idx is None:
            return in_shapes, [None], aux_shapes
        axis = check_axis("take", a["axis"], len(s))
        return in_shapes, [tuple(s[:axis]) + tuple(idx) + tuple(s[axis + 1 :])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, idx = ins
        xp = xp_of(x)
        axis = check_axis("take", a["axis"], x.ndim)
        pos = as_indices(xp, idx, x.shape[axis], a["mode"])
        return (xp.take(x, pos, axis=axis),), pos

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        axis = check_axis("take", a["axis"], x.ndim)
        g = xp.zeros_like(x)
        scatter_add(xp, g, (np.s_[:],) * axis + (saved,), ograds[0])
        return (g, None)


def _pick_positions(xp, a, x, idx):
    """Index positions of pick shaped like ``x`` with the picked axis of length 1."""
    if a["axis"] is None:
        raise MXNetError("pick: axis=None is not supported by pick yet. Must specify an axis.")
    axis = check_axis("pick", a["axis"], x.ndim)
    reduced = x.shape[:axis] + x.shape[axis + 1 :]
    kept = x.shape[:axis] + (1,) + x.shape[axis + 1 :]
    if tuple(idx.shape) not in (reduced, kept):
        raise MXNetError(
            f"pick: index has shape {tuple(idx.shape)}, expected {reduced} "
            f"for data of shape {x.shape} and axis={a['axis']}"
        )
    pos = as_indices(xp, idx.reshape(kept), x.shape[axis], a["mode"], "pick")
    return axis, pos


def _pick_shape(a, s):
    axis = check_axis("pick", a["axis"], len(s)) if a["axis"] is not None else 0
    if a["keepdims"]:
        return tuple(s[:axis]) + (1,) + tuple(s[axis + 1 :])
    return (tuple(s[:axis]) + tuple(s[axis + 1 :])) or (1,)


@register
class pick(IndexingOp):
    """One entry of ``data`` per position along ``axis``, chosen by ``index`` (``clip`` or
    ``wrap`` out-of-range values); ``keepdims`` keeps the axis with length 1."""

    name = "pick"
    aliases = ("choose_element_0index",)
    inputs = ("data", "index")
    params = {
        "axis": Attr(OptInt, -1),
        "keepdims": Attr(Bool, False),
        "mode": Attr(enum("clip", "wrap"), "clip"),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else _pick_shape(a, s)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, idx = ins
        xp = xp_of(x)
        axis, pos = _pick_positions(xp, a, x, idx)
        out = x[along_axis_key(xp, pos, axis)]
        return (out.reshape(_pick_shape(a, x.shape)),), pos

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        axis = check_axis("pick", a["axis"], x.ndim)
        g = xp.zeros_like(x)
        g[along_axis_key(xp, saved, axis)] = ograds[0].reshape(saved.shape)
        return (g, None)


@register
class one_hot(Op):
    """A ``depth``-long one-hot vector per index (``on_value`` at the index, ``off_value``
    elsewhere; indices outside ``[0, depth)`` give all ``off_value``)."""

    name = "one_hot"
    zero_grad = True
    inputs = ("indices",)
    params = {
        "depth": Attr(Int),
        "on_value": Attr(Float, 1.0),
        "off_value": Attr(Float, 0.0),
        "dtype": Attr(Dtype, np.dtype(np.float32)),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else tuple(s) + (a["depth"],)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return [in_types[0] or np.dtype(np.float32)], [a["dtype"]], aux_types

    def forward(self, a, ins, aux, is_train):
        idx = ins[0]
        xp = xp_of(idx)
        pos = idx.astype(np.int64, copy=False)
        hit = pos[..., None] == xp.arange(a["depth"])
        out = xp.full(hit.shape, a["off_value"], dtype=a["dtype"])
        out[hit] = a["on_value"]
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


def _nd_key(op, indices, data_ndim):
    if indices.ndim < 2:
        raise MXNetError(
            f"{op}: indices need at least 2 dimensions (M, ...), got shape {tuple(indices.shape)}"
        )
    if indices.shape[0] > data_ndim:
        raise MXNetError(
            f"{op}: indices.shape[0]={indices.shape[0]} exceeds the number of "
            f"dimensions of the data ({data_ndim})"
        )
    pos = indices.astype(np.int64, copy=False)
    return tuple(pos[i] for i in range(indices.shape[0]))


class GatherIndexError(MXNetError, IndexError):
    """An index out of bounds in ``gather_nd``: MXNet raises IndexError there, distnet an
    error that is both an MXNetError and an IndexError."""


@register
class gather_nd(IndexingOp):
    """``data[indices[0], indices[1], ...]``: indices of shape ``(M, ...)`` address the
    first M axes; negative indices count from the end. The gradient accumulates."""

    name = "gather_nd"
    inputs = ("data", "indices")

    def infer_shape(self, a, in_shapes, aux_shapes):
        s, idx = in_shapes
        if s is None or idx is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [tuple(idx[1:]) + tuple(s[idx[0] :])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, idx = ins
        key = _nd_key("gather_nd", idx, x.ndim)
        try:
            return (x[key],), key
        except IndexError as err:
            raise GatherIndexError(f"gather_nd: {err} (data shape {x.shape})") from None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        return (scatter_add(xp, xp.zeros_like(x), saved, ograds[0]), None)


@register
class scatter_nd(IndexingOp):
    """A zero array of ``shape`` with ``data`` written at ``indices`` (the inverse of
    ``gather_nd``; with repeated indices one of the values is kept)."""

    name = "scatter_nd"
    inputs = ("data", "indices")
    params = {"shape": Attr(Shape)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [tuple(a["shape"])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x, idx = ins
        shape = tuple(a["shape"])
        key = _nd_key("scatter_nd", idx, len(shape))
        want = tuple(idx.shape[1:]) + shape[idx.shape[0] :]
        if tuple(x.shape) != want:
            raise MXNetError(
                f"scatter_nd: data has shape {tuple(x.shape)}, expected {want} "
                f"for indices {tuple(idx.shape)} and shape {shape}"
            )
        out = xp_of(x).zeros(shape, dtype=x.dtype)
        try:
            out[key] = x
        except IndexError as err:
            raise MXNetError(f"scatter_nd: {err} (shape {shape})") from None
        return (out,), key

    def backward(self, F, a, ins, outs, saved, ograds):
        return (ograds[0][saved], None)


# Registered with the rest of the indexing operators (the registry imports this module).
from . import index_mask, index_join, index_sort, index_layout  # noqa: E402,F401
