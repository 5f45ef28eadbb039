"""Spatial sampling operators: ``GridGenerator``, ``BilinearSampler``,
``SpatialTransformer`` and the bilinear mode of ``UpSampling`` (which ``UpSampling``
in ``index_layout`` hands over to the functions here).

Sampling grids hold normalised coordinates: channel 0 is x, channel 1 is y, with -1 the
first pixel's centre and +1 the last's, as in MXNet. Samples outside the input read 0.
"""

import math

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Shape, enum
from .registry import Op, register, get_op
from ._indexing import scatter_add
from ._util import xp_of


# ---------------------------------------------------------------- bilinear sampling
def _corners(xp, data, sx, sy, clamp=False):
    """The four taps of bilinear sampling at pixel coordinates ``sx``/``sy``
    (N, Ho, Wo): yields (index tuple into data moved to (N, H, W, C), weight, dw/dx,
    dw/dy). Taps outside the image weigh 0. With ``clamp`` (deformable convolution's
    rule) a sample is 0 unless ``0 <= x < W`` and ``0 <= y < H``, and one past the last
    pixel's centre reads that pixel."""
    n, _, h, w = data.shape
    x0, y0 = xp.floor(sx), xp.floor(sy)
    gx = gy = 1
    if clamp:
        ok = ((sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)).astype(sx.dtype)
        gx, gy = (x0 < w - 1) * ok, (y0 < h - 1) * ok  # no slope where clamped
        fx, fy = (sx - x0) * gx, (sy - y0) * gy
        x0, y0 = xp.minimum(x0, w - 1), xp.minimum(y0, h - 1)
    else:
        fx, fy = sx - x0, sy - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    nidx = xp.arange(n).reshape(n, 1, 1)
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            inside = ((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)).astype(sx.dtype)
            if clamp:
                inside = inside * ok
            wx = fx if dx else 1 - fx
            wy = fy if dy else 1 - fy
            key = (nidx, xp.clip(yi, 0, h - 1), xp.clip(xi, 0, w - 1))
            sgn_x, sgn_y = (gx if dx else -gx), (gy if dy else -gy)
            yield key, wx * wy * inside, sgn_x * wy * inside, sgn_y * wx * inside


def bilinear_sample(data, sx, sy, clamp=False):
    """``data`` (N, C, H, W) sampled at pixel coordinates ``sx``/``sy`` (N, Ho, Wo):
    (N, C, Ho, Wo); ``clamp`` as in ``_corners``."""
    xp = xp_of(data)
    nhwc = data.transpose(0, 2, 3, 1)
    out = 0
    for key, wgt, _, _ in _corners(xp, data, sx, sy, clamp):
        out = out + nhwc[key] * wgt[..., None]
    return xp.ascontiguousarray(out.transpose(0, 3, 1, 2)).astype(data.dtype, copy=False)


def bilinear_sample_backward(data, sx, sy, g, clamp=False):
    """Gradients of ``bilinear_sample`` for data and for the pixel coordinates."""
    xp = xp_of(data)
    nhwc = data.transpose(0, 2, 3, 1)
    g_nhwc = g.transpose(0, 2, 3, 1)
    ddata = xp.zeros(nhwc.shape, data.dtype)
    dsx = xp.zeros(sx.shape, data.dtype)
    dsy = xp.zeros(sy.shape, data.dtype)
    for key, wgt, dwx, dwy in _corners(xp, data, sx, sy, clamp):
        scatter_add(xp, ddata, key, g_nhwc * wgt[..., None])
        tap = (nhwc[key] * g_nhwc).sum(axis=-1)
        dsx += tap * dwx
        dsy += tap * dwy
    return xp.ascontiguousarray(ddata.transpose(0, 3, 1, 2)), dsx, dsy


def _grid_to_pixels(grid, h, w):
    """Normalised (N, 2, Ho, Wo) grid -> pixel x, y and the scale factors."""
    kx, ky = (w - 1) / 2.0, (h - 1) / 2.0
    return (grid[:, 0] + 1) * kx, (grid[:, 1] + 1) * ky, kx, ky


def _check_sampler(name, data, grid):
    if data.ndim != 4 or grid.ndim != 4 or grid.shape[1] != 2 or grid.shape[0] != data.shape[0]:
        raise MXNetError(
            f"operator {name}: data must be (N, C, H, W) and grid (N, 2, H_out, W_out) "
            f"with the same N, got {tuple(data.shape)} and {tuple(grid.shape)}"
        )


@register
class BilinearSampler(Op):
    """Sample ``data`` (N, C, H, W) bilinearly at the normalised coordinates of ``grid``
    (N, 2, H_out, W_out): (N, C, H_out, W_out); zero outside the input."""

    name = "BilinearSampler"
    inputs = ("data", "grid")
    params = {"cudnn_off": Attr(Bool, False)}

    def infer_shape(self, a, in_shapes, aux_shapes):
        d, g = in_shapes
        if d is None or g is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [(d[0], d[1], g[2], g[3])], aux_shapes

    def forward(self, a, ins, aux, is_train):
        data, grid = ins
        _check_sampler(self.name, data, grid)
        sx, sy, _, _ = _grid_to_pixels(grid, data.shape[2], data.shape[3])
        return (bilinear_sample(data, sx, sy),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        data, grid = ins
        xp = xp_of(data)
        sx, sy, kx, ky = _grid_to_pixels(grid, data.shape[2], data.shape[3])
        ddata, dsx, dsy = bilinear_sample_backward(data, sx, sy, ograds[0])
        dgrid = xp.stack([dsx * kx, dsy * ky], axis=1).astype(grid.dtype, copy=False)
        return ddata, dgrid


# ---------------------------------------------------------------- grids
def _affine_base(xp, h, w, dtype):
    """(3, H*W): normalised x, y and 1 of every target pixel, row-major."""
    xs = xp.linspace(-1.0, 1.0, w) if w > 1 else xp.full((1,), -1.0)
    ys = xp.linspace(-1.0, 1.0, h) if h > 1 else xp.full((1,), -1.0)
    gx, gy = xp.meshgrid(xs, ys)
    return xp.stack([gx.ravel(), gy.ravel(), xp.ones(h * w)]).astype(dtype)


def _target(name, a):
    shape = a["target_shape"]
    if len(shape) != 2 or min(shape) <= 0:
        raise MXNetError(f"operator {name}: target_shape must be (H, W) > 0, got {shape}")
    return shape


@register
class GridGenerator(Op):
    """A sampling grid (N, 2, H, W) for ``BilinearSampler``.

    ``affine``: ``data`` (N, 6) is a 2x3 matrix per sample applied to the normalised
    target coordinates (x, y, 1) of a ``target_shape`` (H, W) grid. ``warp``: ``data``
    (N, 2, H, W) is an optical flow in pixels added to each pixel's own position.
    """

    name = "GridGenerator"
    params = {
        "transform_type": Attr(enum("affine", "warp")),
        "target_shape": Attr(Shape, (0, 0)),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None], aux_shapes
        if a["transform_type"] == "affine":
            return in_shapes, [(d[0], 2) + tuple(_target(self.name, a))], aux_shapes
        return in_shapes, [tuple(d)], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        if a["transform_type"] == "affine":
            h, w = _target(self.name, a)
            if x.ndim != 2 or x.shape[1] != 6:
                raise MXNetError(
                    f"operator GridGenerator: affine data must be (N, 6), got {tuple(x.shape)}"
                )
            out = xp.matmul(x.reshape(-1, 2, 3), _affine_base(xp, h, w, x.dtype))
            return (out.reshape(x.shape[0], 2, h, w),), None
        if x.ndim != 4 or x.shape[1] != 2:
            raise MXNetError(
                f"operator GridGenerator: warp data must be (N, 2, H, W), got {tuple(x.shape)}"
            )
        h, w = x.shape[2], x.shape[3]
        ys, xs = xp.meshgrid(xp.arange(h), xp.arange(w), indexing="ij")
        out = xp.stack(
            [(x[:, 0] + xs) / ((w - 1) / 2.0) - 1, (x[:, 1] + ys) / ((h - 1) / 2.0) - 1], axis=1
        )
        return (out.astype(x.dtype, copy=False),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x, g = ins[0], ograds[0]
        xp = xp_of(x)
        if a["transform_type"] == "affine":
            h, w = g.shape[2], g.shape[3]
            base = _affine_base(xp, h, w, g.dtype)
            dtheta = xp.matmul(g.reshape(g.shape[0], 2, h * w), base.T)
            return (dtheta.reshape(x.shape),)
        h, w = x.shape[2], x.shape[3]
        scale = xp.asarray([2.0 / (w - 1), 2.0 / (h - 1)], g.dtype).reshape(1, 2, 1, 1)
        return (g * scale,)


@register
class SpatialTransformer(Op):
    """Warp ``data`` (N, C, H, W) by the affine transform ``loc`` (N, 6) onto a
    ``target_shape`` (H_out, W_out) grid: GridGenerator then BilinearSampler."""

    name = "SpatialTransformer"
    inputs = ("data", "loc")
    params = {
        "target_shape": Attr(Shape, (0, 0)),
        "transform_type": Attr(enum("affine")),
        "sampler_type": Attr(enum("bilinear")),
        "cudnn_off": Attr(Bool, False),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None], aux_shapes
        in_shapes = [tuple(d), (d[0], 6)]
        return in_shapes, [tuple(d[:2]) + tuple(_target(self.name, a))], aux_shapes

    @staticmethod
    def _grid_attrs(a):
        return get_op("GridGenerator").parse(
            {"transform_type": "affine", "target_shape": a["target_shape"]}
        )

    def forward(self, a, ins, aux, is_train):
        data, loc = ins
        (grid,), _ = get_op("GridGenerator").forward(self._grid_attrs(a), [loc], [], is_train)
        (out,), _ = get_op("BilinearSampler").forward({}, [data, grid], [], is_train)
        return (out,), grid

    def backward(self, F, a, ins, outs, saved, ograds):
        data, loc = ins
        ddata, dgrid = get_op("BilinearSampler").backward(F, {}, [data, saved], None, None, ograds)
        (dloc,) = get_op("GridGenerator").backward(
            F, self._grid_attrs(a), [loc], None, None, [dgrid]
        )
        return ddata, dloc


# ---------------------------------------------------------------- UpSampling bilinear
def _bilinear_deconv_attrs(a, channels):
    """UpSampling(bilinear) is a grouped Deconvolution with MXNet's kernel and pad."""
    s = a["scale"]
    k, p = 2 * s - s % 2, int(math.ceil((s - 1) / 2.0))
    num = a["num_filter"] or channels
    return get_op("Deconvolution").parse(
        {
            "kernel": (k, k),
            "stride": (s, s),
            "pad": (p, p),
            "num_filter": num,
            "num_group": num,
            "no_bias": True,
        }
    )


def _check_bilinear_inputs(count):
    if count != 2:
        raise MXNetError(
            f"UpSampling: sample_type='bilinear' takes data and weight (num_args=2), "
            f"got {count} input(s)"
        )


def bilinear_upsampling_infer_shape(a, in_shapes):
    """UpSampling(sample_type='bilinear'): (data, weight) shapes and the output shape."""
    d = in_shapes[0]
    if d is None:
        return in_shapes, [None]
    _check_bilinear_inputs(len(in_shapes))
    attrs = _bilinear_deconv_attrs(a, d[1])
    k = attrs["kernel"][0]
    s, p = a["scale"], attrs["pad"][0]
    out = (d[0], d[1], (d[2] - 1) * s - 2 * p + k, (d[3] - 1) * s - 2 * p + k)
    return [tuple(d), (attrs["num_filter"], 1, k, k)], [out]


def bilinear_upsampling_forward(a, ins, is_train):
    """UpSampling(sample_type='bilinear') forward: ``(outputs, saved)``."""
    _check_bilinear_inputs(len(ins))
    attrs = _bilinear_deconv_attrs(a, ins[0].shape[1])
    return get_op("Deconvolution").forward(attrs, list(ins), [], is_train)


def bilinear_upsampling_backward(F, a, ins, outs, saved, ograds):
    """UpSampling(sample_type='bilinear') backward: gradients of data and weight."""
    attrs = _bilinear_deconv_attrs(a, ins[0].shape[1])
    grads = get_op("Deconvolution").backward(F, attrs, list(ins), outs, saved, ograds)
    return list(grads)[:2]
