"""``contrib.DeformableConvolution`` (Deformable ConvNets v1): a convolution whose kernel
taps are displaced by learned per-position ``offset``\\ s and read by bilinear
interpolation (zero outside the input).

``offset`` is (N, num_deformable_group * 2 * kh * kw, H_out, W_out): for deformable
group ``d`` and kernel tap ``k = i * kw + j``, channel ``d*2*kh*kw + 2*k`` displaces the
row and ``+1`` the column. Deformable group ``d`` covers input channels
``d*C/groups .. (d+1)*C/groups``.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Int
from .conv import _CONV_PARAMS
from .registry import Op, register
from .spatial import bilinear_sample, bilinear_sample_backward
from ._util import xp_of


def _geometry(a, dshape):
    """(kh, kw), stride, dilate, pad and the output (H_out, W_out)."""
    kernel = tuple(a["kernel"])
    if a["layout"] not in (None, "NCHW"):
        raise MXNetError(
            f"operator DeformableConvolution: only layout NCHW is supported (as in MXNet), "
            f"got {a['layout']}"
        )
    if len(kernel) != 2 or len(dshape) != 4:
        raise MXNetError(
            f"operator DeformableConvolution: needs a 2-d kernel and (N, C, H, W) data, got "
            f"kernel={kernel} and data {tuple(dshape)}"
        )

    def pair(v, default):
        v = tuple(v) or (default, default)
        return v * 2 if len(v) == 1 else v

    stride, dilate, pad = pair(a["stride"], 1), pair(a["dilate"], 1), pair(a["pad"], 0)
    out = tuple(
        (dshape[2 + i] + 2 * pad[i] - dilate[i] * (kernel[i] - 1) - 1) // stride[i] + 1
        for i in range(2)
    )
    if min(out) < 1:
        raise MXNetError(
            f"operator DeformableConvolution: kernel {kernel} with dilate {dilate} does not fit "
            f"data {tuple(dshape)} padded by {pad}"
        )
    return kernel, stride, dilate, pad, out


@register
class _contrib_DeformableConvolution(Op):
    """Deformable convolution (see the module doc): ``data`` (N, C, H, W), ``offset``,
    ``weight`` (num_filter, C / num_group, kh, kw) and ``bias`` (unless ``no_bias``)."""

    name = "_contrib_DeformableConvolution"
    inputs = ("data", "offset", "weight", "bias")
    # Convolution's attributes less the cuDNN ones, plus the deformable groups
    params = {
        **{k: v for k, v in _CONV_PARAMS.items() if not k.startswith("cudnn")},
        "num_deformable_group": Attr(Int, 1),
    }

    def input_names(self, a):
        return self.inputs[:3] if a["no_bias"] else self.inputs

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = in_shapes[0]
        if d is None:
            return in_shapes, [None], aux_shapes
        (kh, kw), _, _, _, (ho, wo) = _geometry(a, d)
        f, g, dg = a["num_filter"], a["num_group"], a["num_deformable_group"]
        shapes = [tuple(d), (d[0], dg * 2 * kh * kw, ho, wo), (f, d[1] // g, kh, kw), (f,)]
        return shapes[: len(in_shapes)], [(d[0], f, ho, wo)], aux_shapes

    def _positions(self, a, x, offset):
        """Sampling rows/columns (N, dg, K*H_out, W_out) of every kernel tap."""
        xp = xp_of(x)
        (kh, kw), stride, dilate, pad, (ho, wo) = _geometry(a, x.shape)
        dg, k = a["num_deformable_group"], kh * kw
        if x.shape[1] % dg or tuple(offset.shape) != (x.shape[0], dg * 2 * k, ho, wo):
            raise MXNetError(
                f"operator DeformableConvolution: offset must be {(x.shape[0], dg * 2 * k, ho, wo)} "
                f"and channels ({x.shape[1]}) divisible by num_deformable_group ({dg}), "
                f"got offset {tuple(offset.shape)}"
            )
        ti, tj = np.divmod(np.arange(k), kw)
        base_y = (np.arange(ho) * stride[0] - pad[0])[None, :, None] + (ti * dilate[0])[
            :, None, None
        ]
        base_x = (np.arange(wo) * stride[1] - pad[1])[None, None, :] + (tj * dilate[1])[
            :, None, None
        ]
        off = offset.reshape(x.shape[0], dg, k, 2, ho, wo)
        sy = off[:, :, :, 0] + xp.asarray(base_y, x.dtype)
        sx = off[:, :, :, 1] + xp.asarray(base_x, x.dtype)
        return sy.reshape(x.shape[0], dg, k * ho, wo), sx.reshape(x.shape[0], dg, k * ho, wo)

    def _columns(self, a, x, sy, sx):
        """(N, C, K, H_out*W_out) bilinear samples of every tap."""
        xp = xp_of(x)
        n, c = x.shape[:2]
        dg = a["num_deformable_group"]
        cg = c // dg
        cols = [
            bilinear_sample(x[:, d * cg : (d + 1) * cg], sx[:, d], sy[:, d], clamp=True)
            for d in range(dg)
        ]
        k = a["kernel"][0] * a["kernel"][1]
        return xp.concatenate(cols, axis=1).reshape(n, c, k, -1)

    def forward(self, a, ins, aux, is_train):
        x, offset, w = ins[:3]
        xp = xp_of(x)
        sy, sx = self._positions(a, x, offset)
        cols = self._columns(a, x, sy, sx)
        n, c, k, l = cols.shape
        g, f = a["num_group"], a["num_filter"]
        (_, _, _, _, (ho, wo)) = _geometry(a, x.shape)
        cols_g = cols.reshape(n, g, (c // g) * k, l)
        out = xp.einsum("gfq,ngql->ngfl", w.reshape(g, f // g, -1), cols_g).reshape(n, f, ho, wo)
        if not a["no_bias"]:
            out = out + ins[3].reshape(1, f, 1, 1)
        return (out.astype(x.dtype, copy=False),), (sy, sx, cols_g)

    def backward(self, F, a, ins, outs, saved, ograds):
        x, offset, w = ins[:3]
        xp = xp_of(x)
        sy, sx, cols_g = saved
        n, g, q, l = cols_g.shape
        f, dg = a["num_filter"], a["num_deformable_group"]
        go = ograds[0].reshape(n, g, f // g, l)
        wg = w.reshape(g, f // g, q)
        dw = xp.einsum("ngfl,ngql->gfq", go, cols_g).reshape(w.shape)
        dcols = xp.einsum("gfq,ngfl->ngql", wg, go).reshape(n, x.shape[1], -1, sy.shape[3])
        cg = x.shape[1] // dg
        dx, dy_all, dx_all = xp.zeros_like(x), [], []
        for d in range(dg):
            part = slice(d * cg, (d + 1) * cg)
            ddata, dsx, dsy = bilinear_sample_backward(
                x[:, part], sx[:, d], sy[:, d], dcols[:, part], clamp=True
            )
            dx[:, part] = ddata
            dy_all.append(dsy)
            dx_all.append(dsx)
        k = a["kernel"][0] * a["kernel"][1]
        ho, wo = offset.shape[2], offset.shape[3]
        doff = xp.stack(
            [
                xp.stack(dy_all, 1).reshape(n, dg, k, ho, wo),
                xp.stack(dx_all, 1).reshape(n, dg, k, ho, wo),
            ],
            axis=3,
        ).reshape(offset.shape)
        grads = [dx, doff.astype(offset.dtype, copy=False), dw.astype(w.dtype, copy=False)]
        if not a["no_bias"]:
            grads.append(ograds[0].sum(axis=(0, 2, 3)).astype(ins[3].dtype, copy=False))
        return tuple(grads)
