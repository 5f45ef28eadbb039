"""MXNet's older indexing helpers still used by its tests and scripts: ``batch_take``,
``onehot_encode``, ``fill_element_0index``, ``ravel_multi_index``, ``unravel_index`` and
``_histogram``."""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, FloatTuple, OptInt, Shape, _optional
from .registry import Op, register
from ._util import xp_of


def _rows(x, n, name):
    idx = x.astype(np.int64).reshape(-1)
    if idx.size != n:
        raise MXNetError(f"{name}: {idx.size} indices for {n} rows")
    return idx


@register
class batch_take(Op):
    """``out[i] = a[i, indices[i]]`` for a 2-d ``a`` (deprecated in MXNet for ``pick``)."""

    name = "batch_take"
    inputs = ("a", "indices")

    def forward(self, a, ins, aux, is_train):
        x, ind = ins
        xp = xp_of(x)
        idx = xp.clip(_rows(ind, x.shape[0], self.name), 0, x.shape[1] - 1)
        return (x[xp.arange(x.shape[0]), idx],), idx

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        xp = xp_of(x)
        g = xp.zeros_like(x)
        g[xp.arange(x.shape[0]), saved] = ograds[0]
        return (g, None)


@register
class onehot_encode(Op):
    """One-hot rows of ``lhs`` (class indices) written into ``rhs`` (which gives the shape
    ``(n, classes)``) and returned, as MXNet's legacy NDArray function."""

    name = "onehot_encode"
    inputs = ("lhs",)
    aux = ("rhs",)

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [aux_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        out = aux[0]
        xp = xp_of(out)
        idx = _rows(ins[0], out.shape[0], self.name)
        out[...] = 0
        out[xp.arange(out.shape[0]), idx] = 1
        return (out.copy(),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class fill_element_0index(Op):
    """``lhs`` with ``out[i, rhs[i]] = mhs[i]`` for every row ``i``."""

    name = "fill_element_0index"
    inputs = ("lhs", "mhs", "rhs")

    def forward(self, a, ins, aux, is_train):
        x, vals, ind = ins
        xp = xp_of(x)
        out = x.copy()
        idx = _rows(ind, x.shape[0], self.name)
        out[xp.arange(x.shape[0]), idx] = vals.reshape(-1)
        return (out,), idx

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        xp = xp_of(g)
        rows = xp.arange(g.shape[0])
        gx = g.copy()
        gx[rows, saved] = 0
        return (gx, g[rows, saved].reshape(ins[1].shape), None)


@register
class ravel_multi_index(Op):
    """Flat indices of the coordinates in the rows of ``data`` for an array of ``shape``
    (``data`` has shape ``(len(shape), n)``)."""

    name = "ravel_multi_index"
    aliases = ("_ravel_multi_index",)
    params = {"shape": Attr(Shape, None)}

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        shape = tuple(a["shape"])
        if x.shape[0] != len(shape):
            raise MXNetError(
                f"ravel_multi_index: data has {x.shape[0]} rows of coordinates "
                f"for a shape of {len(shape)} dimensions {shape}"
            )
        strides = np.cumprod((1,) + shape[:0:-1])[::-1].astype(np.float64)
        xp = xp_of(x)
        out = x.astype(np.float64) * xp.asarray(strides).reshape((-1,) + (1,) * (x.ndim - 1))
        return (out.sum(axis=0).astype(x.dtype),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class unravel_index(Op):
    """Coordinates (one row per dimension of ``shape``) of the flat indices in ``data``;
    the leading size of ``shape`` may be -1 (it is not used)."""

    name = "unravel_index"
    aliases = ("_unravel_index",)
    params = {"shape": Attr(Shape, None)}

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        flat = x.astype(np.int64)
        shape = tuple(a["shape"])
        coords = []
        for d in reversed(shape[1:]):
            coords.append(flat % d)
            flat = flat // d
        coords.append(flat)  # the leading axis is not wrapped (its size may be -1)
        return (xp.stack(coords[::-1]).astype(x.dtype),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)


@register
class _histogram(Op):
    """Counts (int64) of ``data`` in ``bin_cnt`` equal bins over ``range``, or in the bins
    whose edges are the input ``bins``; returns the counts and the bin edges."""

    name = "_histogram"
    inputs = ("data", "bins")
    params = {"bin_cnt": Attr(OptInt, None), "range": Attr(_optional(FloatTuple), None)}

    def input_names(self, a):
        return ("data",) if a["bin_cnt"] is not None else ("data", "bins")

    def output_names(self, a):
        return ("output0", "output1")

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        if a["bin_cnt"] is not None:
            lo, hi = a["range"] if a["range"] is not None else (float(x.min()), float(x.max()))
            edges = xp.linspace(lo, hi, a["bin_cnt"] + 1)
        else:
            edges = ins[1].astype(np.float64)
        counts, _ = xp.histogram(x.astype(np.float64), bins=edges)
        return (counts.astype(np.int64), edges.astype(x.dtype)), None

    def infer_type(self, a, in_types, aux_types):
        t = in_types[0] or np.dtype(np.float32)
        return [t] * len(in_types), [np.dtype(np.int64), t], aux_types

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * len(ins)
