"""The ``im2col`` and ``col2im`` operators (sliding blocks to columns and back), each the
other's gradient. Written directly with strided slices, independent of the convolution
internals in ``_im2col``: one slice copy per kernel offset."""

import itertools
import math

from ..base import MXNetError
from .attrs import Attr, Shape
from .registry import Op, register
from ._util import xp_of

_GEOMETRY = {
    "kernel": Attr(Shape),
    "stride": Attr(Shape, ()),
    "dilate": Attr(Shape, ()),
    "pad": Attr(Shape, ()),
}


def _geometry(a, spatial, name):
    """Per-axis (kernel, stride, dilate, pad) and the number of block positions."""
    k = tuple(a["kernel"])
    nd = len(k)
    if len(spatial) != nd:
        raise MXNetError(
            f"{name}: kernel {k} is {nd}-d but the data has {len(spatial)} spatial axes"
        )
    s, d = (tuple(a[key]) or (1,) * nd for key in ("stride", "dilate"))
    p = tuple(a["pad"]) or (0,) * nd
    out = tuple(
        (n + 2 * pp - dd * (kk - 1) - 1) // ss + 1 for n, kk, ss, dd, pp in zip(spatial, k, s, d, p)
    )
    if any(o <= 0 for o in out):
        raise MXNetError(
            f"{name}: kernel {k} (dilate {d}) does not fit the padded input "
            f"{tuple(spatial)} (pad {p})"
        )
    return k, s, d, p, out


def _blocks(k, s, d, out):
    """(column index, tuple of slices into the padded input) for every kernel offset."""
    for idx, offs in enumerate(itertools.product(*(range(kk) for kk in k))):
        yield (
            idx,
            tuple(
                slice(o * dd, o * dd + ss * (n - 1) + 1, ss)
                for o, dd, ss, n in zip(offs, d, s, out)
            ),
        )


def _im2col(xp, x, a, name="im2col"):
    n, c, spatial = x.shape[0], x.shape[1], x.shape[2:]
    k, s, d, p, out = _geometry(a, spatial, name)
    padded = xp.pad(x, ((0, 0), (0, 0)) + tuple((pp, pp) for pp in p))
    cols = xp.empty((n, c, math.prod(k)) + out, x.dtype)
    for idx, sl in _blocks(k, s, d, out):
        cols[:, :, idx] = padded[(slice(None), slice(None)) + sl]
    return cols.reshape(n, c * math.prod(k), math.prod(out))


def _col2im(xp, cols, a, spatial, name="col2im"):
    k, s, d, p, out = _geometry(a, spatial, name)
    n, ck = cols.shape[0], cols.shape[1]
    if ck % math.prod(k) or cols.shape[2] != math.prod(out):
        raise MXNetError(
            f"{name}: data of shape {tuple(cols.shape)} does not hold blocks "
            f"of kernel {k} at {math.prod(out)} positions"
        )
    c = ck // math.prod(k)
    blocks = cols.reshape((n, c, math.prod(k)) + out)
    padded = xp.zeros((n, c) + tuple(m + 2 * pp for m, pp in zip(spatial, p)), cols.dtype)
    for idx, sl in _blocks(k, s, d, out):
        padded[(slice(None), slice(None)) + sl] += blocks[:, :, idx]
    crop = tuple(slice(pp, pp + m) for pp, m in zip(p, spatial))
    return padded[(slice(None), slice(None)) + crop]


@register
class im2col(Op):
    """Sliding blocks of ``data`` (N, C, *spatial) as columns: (N, C*prod(kernel), L)."""

    name = "im2col"
    params = _GEOMETRY

    def forward(self, a, ins, aux, is_train):
        return (_im2col(xp_of(ins[0]), ins[0], a),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        return (_col2im(xp_of(x), ograds[0], a, x.shape[2:], self.name),)


@register
class col2im(Op):
    """Sum of column blocks back into an image of ``output_size`` (the inverse layout of
    ``im2col``; overlapping blocks add up)."""

    name = "col2im"
    params = dict(output_size=Attr(Shape), **_GEOMETRY)

    def forward(self, a, ins, aux, is_train):
        cols = ins[0]
        return (_col2im(xp_of(cols), cols, a, tuple(a["output_size"])),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (_im2col(xp_of(ograds[0]), ograds[0], a, self.name),)
