"""Layout operators: tile, repeat, reverse (``flip``), SwapAxis, Pad, UpSampling (nearest)
and depth_to_space / space_to_depth.

Registered when ``distnet.ops.index`` is imported.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Float, Int, OptInt, Shape, enum
from .registry import Op, register
from ._util import xp_of
from ._indexing import axis_slice, check_axis, check_num_args, fresh, scatter_add
from . import spatial


def _tile_layout(shape, reps):
    """``(padded input shape, padded reps)`` with both brought to the same length."""
    n = max(len(shape), len(reps))
    return ((1,) * (n - len(shape)) + tuple(shape), (1,) * (n - len(reps)) + tuple(reps))


@register
class tile(Op):
    """Repeat the whole array ``reps[i]`` times along axis i (as ``numpy.tile``)."""

    name = "tile"
    params = {"reps": Attr(Shape)}
    nd_backward = True

    def _check(self, a):
        if any(r < 1 for r in a["reps"]):
            raise MXNetError(f"tile: reps must be positive, got {tuple(a['reps'])}")

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        self._check(a)
        shape, reps = _tile_layout(s, a["reps"])
        return in_shapes, [tuple(d * r for d, r in zip(shape, reps))], aux_shapes

    def forward(self, a, ins, aux, is_train):
        self._check(a)
        x = ins[0]
        return (xp_of(x).tile(x, tuple(a["reps"])),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        shape, reps = _tile_layout(ins[0].shape, a["reps"])
        # Output axis i holds reps[i] copies of shape[i]: view it as (reps[i], shape[i]).
        split = tuple(d for pair in zip(reps, shape) for d in pair)
        g = ograds[0].reshape(split)
        g = F.sum(g, axis=tuple(range(0, len(split), 2)))
        return (g.reshape(tuple(ins[0].shape)),)


@register
class repeat(Op):
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened array when
    ``axis`` is None)."""

    name = "repeat"
    params = {"repeats": Attr(Int), "axis": Attr(OptInt, None)}
    nd_backward = True

    def _check(self, a, ndim):
        if a["repeats"] < 0:
            raise MXNetError(f"repeat: repeats cannot be a negative number, got {a['repeats']}")
        return None if a["axis"] is None else check_axis("repeat", a["axis"], ndim)

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        axis = self._check(a, len(s))
        if axis is None:
            return in_shapes, [(int(np.prod(s, dtype=np.int64)) * a["repeats"],)], aux_shapes
        out = list(s)
        out[axis] *= a["repeats"]
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        axis = self._check(a, x.ndim)
        return (xp_of(x).repeat(x, a["repeats"], axis=axis),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        shape = tuple(ins[0].shape)
        axis, r = self._check(a, len(shape)), a["repeats"]
        if axis is None:
            g = ograds[0].reshape((int(np.prod(shape, dtype=np.int64)), r))
            return (F.sum(g, axis=1).reshape(shape),)
        g = ograds[0].reshape(shape[: axis + 1] + (r,) + shape[axis + 1 :])
        return (F.sum(g, axis=axis + 1).reshape(shape),)


@register
class reverse(Op):
    """Reverse the order of elements along the axes in ``axis`` (negative axes allowed;
    MXNet 1.9.1 rejected them)."""

    name = "reverse"
    aliases = ("flip",)
    params = {"axis": Attr(Shape)}
    nd_backward = True

    def _axes(self, a, ndim):
        return tuple(check_axis("reverse", ax, ndim) for ax in a["axis"])

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0]], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (fresh(xp_of(x).flip(x, self._axes(a, x.ndim))),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (F.flip(ograds[0], axis=self._axes(a, len(ins[0].shape))),)


@register
class SwapAxis(Op):
    """Interchange axes ``dim1`` and ``dim2``. Returns a copy."""

    name = "SwapAxis"
    aliases = ("swapaxes",)
    params = {"dim1": Attr(Int, 0), "dim2": Attr(Int, 0)}
    nd_backward = True

    def _dims(self, a, ndim):
        return (
            check_axis("SwapAxis", a["dim1"], ndim, "dim1"),
            check_axis("SwapAxis", a["dim2"], ndim, "dim2"),
        )

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        d1, d2 = self._dims(a, len(s))
        out = list(s)
        out[d1], out[d2] = s[d2], s[d1]
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (fresh(xp_of(x).swapaxes(x, *self._dims(a, x.ndim))),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (F.swapaxes(ograds[0], *self._dims(a, len(ins[0].shape))),)


# ---------------------------------------------------------------- Pad
def _pad_pairs(a, ndim):
    width = tuple(a["pad_width"])
    if len(width) != 2 * ndim:
        raise MXNetError(
            f"Pad: pad_width {width} must have 2 entries per axis ({2 * ndim} for a {ndim}-D input)"
        )
    if any(w < 0 for w in width):
        raise MXNetError(f"Pad: pad_width {width} must not be negative")
    return [(width[2 * i], width[2 * i + 1]) for i in range(ndim)]


def _source_index(n, before, after, mode):
    """For each output position along an axis, the input position it copies."""
    p = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(p, 0, n - 1)
    if before >= n or after >= n:
        raise MXNetError(
            f"Pad: reflect padding ({before}, {after}) must be smaller than "
            f"the input size {n} along each axis"
        )
    period = 2 * (n - 1)
    m = np.mod(p, period) if period else np.zeros_like(p)
    return np.where(m < n, m, period - m)


@register
class Pad(Op):
    """Pad with a constant, the edge values or their reflection. ``pad_width`` lists
    (before, after) for every axis. MXNet accepted only 4-D/5-D inputs with no padding on
    the first two axes; any rank works here."""

    name = "Pad"
    aliases = ("pad",)
    params = {
        "mode": Attr(enum("constant", "edge", "reflect")),
        "pad_width": Attr(Shape),
        "constant_value": Attr(Float, 0.0),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        pairs = _pad_pairs(a, len(s))
        return in_shapes, [tuple(d + b + e for d, (b, e) in zip(s, pairs))], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        pairs = _pad_pairs(a, x.ndim)
        if a["mode"] == "constant":
            fill = np.asarray(a["constant_value"]).astype(x.dtype)
            return (xp.pad(x, pairs, mode="constant", constant_values=fill),), None
        out = x
        for axis, (b, e) in enumerate(pairs):
            if b or e:
                src = xp.asarray(_source_index(x.shape[axis], b, e, a["mode"]))
                out = xp.take(out, src, axis=axis)
        return (out if out is not x else fresh(x),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x, g = ins[0], ograds[0]
        xp = xp_of(x)
        pairs = _pad_pairs(a, x.ndim)
        if a["mode"] == "constant":
            inner = tuple(slice(b, b + n) for (b, _), n in zip(pairs, x.shape))
            return (g[inner],)
        for axis in reversed(range(x.ndim)):
            b, e = pairs[axis]
            if b or e:
                src = xp.asarray(_source_index(x.shape[axis], b, e, a["mode"]))
                moved = xp.moveaxis(g, axis, 0)
                acc = xp.zeros((x.shape[axis],) + moved.shape[1:], dtype=g.dtype)
                g = xp.moveaxis(scatter_add(xp, acc, src, moved), 0, axis)
        return (g,)


# ---------------------------------------------------------------- UpSampling
def _up_scales(a, shapes):
    """Per input, the integer (height, width) factor reaching the output size
    (sample_type='nearest'; 'bilinear' goes to ops/spatial.py)."""
    for i, s in enumerate(shapes):
        if len(s) != 4:
            raise MXNetError(f"UpSampling: input arg{i} must be 4-D (N, C, H, W), got {s}")
    oh, ow = shapes[0][2] * a["scale"], shapes[0][3] * a["scale"]
    scales = []
    for i, s in enumerate(shapes):
        if oh % s[2] or ow % s[3]:
            raise MXNetError(
                f"UpSampling: input arg{i} of shape {s} does not scale to the "
                f"output size ({oh}, {ow}) by an integer factor"
            )
        scales.append((oh // s[2], ow // s[3]))
    if a["multi_input_mode"] == "sum" and any(s[1] != shapes[0][1] for s in shapes):
        raise MXNetError(
            f"UpSampling: multi_input_mode='sum' needs the same number of "
            f"channels in every input, got {[s[1] for s in shapes]}"
        )
    return (oh, ow), scales


def _nearest(xp, x, sh, sw):
    n, c, h, w = x.shape
    big = xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, sh, w, sw))
    return big.reshape(n, c, h * sh, w * sw)


@register
class UpSampling(Op):
    """Nearest-neighbour upsampling of NCHW inputs by ``scale``; several inputs are scaled
    to the first one's output size and concatenated on channels (or summed)."""

    name = "UpSampling"
    variadic = True
    params = {
        "scale": Attr(Int),
        "num_filter": Attr(Int, 0),
        "sample_type": Attr(enum("bilinear", "nearest")),
        "multi_input_mode": Attr(enum("concat", "sum"), "concat"),
        "num_args": Attr(Int),
        "workspace": Attr(Int, 512),
    }

    def input_names(self, a):
        if a["sample_type"] == "bilinear":
            return ("data", "weight")
        return tuple(f"arg{i}" for i in range(a["num_args"]))

    def infer_shape(self, a, in_shapes, aux_shapes):
        if a["sample_type"] == "bilinear":  # a grouped Deconvolution: ops/spatial.py
            return spatial.bilinear_upsampling_infer_shape(a, in_shapes) + (aux_shapes,)
        if not in_shapes or any(s is None for s in in_shapes):
            return in_shapes, [None], aux_shapes
        (oh, ow), _ = _up_scales(a, in_shapes)
        c = in_shapes[0][1] if a["multi_input_mode"] == "sum" else sum(s[1] for s in in_shapes)
        return in_shapes, [(in_shapes[0][0], c, oh, ow)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        if a["sample_type"] == "bilinear":
            return spatial.bilinear_upsampling_forward(a, ins, is_train)
        check_num_args("UpSampling", a, ins)
        xp = xp_of(ins[0])
        _, scales = _up_scales(a, [x.shape for x in ins])
        ups = [_nearest(xp, x, sh, sw) for x, (sh, sw) in zip(ins, scales)]
        if len(ups) == 1:
            return (ups[0],), None
        if a["multi_input_mode"] == "sum":
            out = ups[0].copy()
            for u in ups[1:]:
                out += u
            return (out,), None
        return (xp.concatenate(ups, axis=1),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        if a["sample_type"] == "bilinear":
            return spatial.bilinear_upsampling_backward(F, a, ins, outs, saved, ograds)
        g = ograds[0]
        _, scales = _up_scales(a, [x.shape for x in ins])
        grads, c0 = [], 0
        for x, (sh, sw) in zip(ins, scales):
            n, c, h, w = x.shape
            part = g if a["multi_input_mode"] == "sum" else g[axis_slice(1, c0, c0 + c)]
            c0 += c
            grads.append(part.reshape(n, c, h, sh, w, sw).sum(axis=(3, 5)))
        return grads


# ---------------------------------------------------------------- depth/space
def _check_block(op, shape, b, space):
    if len(shape) != 4:
        raise MXNetError(f"{op}: data must be 4-D (N, C, H, W), got {tuple(shape)}")
    if 0 in shape:  # as MXNet, which checks every dimension
        raise MXNetError(f"{op}: no dimension of the data may be 0, got {tuple(shape)}")
    if b < 1:
        raise MXNetError(f"{op}: block_size must be positive, got {b}")
    if space and (shape[2] % b or shape[3] % b):
        raise MXNetError(
            f"{op}: height and width of {tuple(shape)} must be multiples of block_size={b}"
        )
    if not space and shape[1] % (b * b):
        raise MXNetError(
            f"{op}: channels of {tuple(shape)} must be a multiple of block_size^2={b * b}"
        )


def _d2s(xp, x, b):
    n, c, h, w = x.shape
    y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return xp.ascontiguousarray(y).reshape(n, c // (b * b), h * b, w * b)


def _s2d(xp, x, b):
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return xp.ascontiguousarray(y).reshape(n, c * b * b, h // b, w // b)


@register
class depth_to_space(Op):
    """Move blocks of channels into ``block_size x block_size`` spatial blocks (DCR
    order): ``(N, C, H, W)`` to ``(N, C/b^2, H*b, W*b)``."""

    name = "depth_to_space"
    params = {"block_size": Attr(Int)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        s, b = in_shapes[0], a["block_size"]
        if s is None:
            return in_shapes, [None], aux_shapes
        _check_block("depth_to_space", s, b, False)
        return in_shapes, [(s[0], s[1] // (b * b), s[2] * b, s[3] * b)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        _check_block("depth_to_space", x.shape, a["block_size"], False)
        return (_d2s(xp_of(x), x, a["block_size"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        return (_s2d(xp_of(g), g, a["block_size"]),)


@register
class space_to_depth(Op):
    """The inverse of depth_to_space: ``(N, C, H, W)`` to ``(N, C*b^2, H/b, W/b)``."""

    name = "space_to_depth"
    params = {"block_size": Attr(Int)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        s, b = in_shapes[0], a["block_size"]
        if s is None:
            return in_shapes, [None], aux_shapes
        _check_block("space_to_depth", s, b, True)
        return in_shapes, [(s[0], s[1] * b * b, s[2] // b, s[3] // b)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        _check_block("space_to_depth", x.shape, a["block_size"], True)
        return (_s2d(xp_of(x), x, a["block_size"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        return (_d2s(xp_of(g), g, a["block_size"]),)
