"""``Correlation``: the cost volume of FlowNet, MXNet's operator of that name.

For each output position and each displacement (dy, dx) on a grid of
``2 * (max_displacement // stride2) + 1`` steps per axis, the ``kernel_size`` x
``kernel_size`` patch of ``data1`` is compared with the patch of ``data2`` displaced by
(dy, dx): the sum over the patch and the channels of ``data1 * data2`` (or of
``|data1 - data2|`` when ``is_multiply`` is False), divided by
``kernel_size**2 * channels``. Both inputs are zero-padded by ``pad_size``; output
channel ``(dy / stride2 + r) * grid + (dx / stride2 + r)`` holds displacement (dy, dx).
"""

import math

from ..base import MXNetError
from .attrs import Attr, Bool, Int
from .registry import Op, register
from ._util import xp_of


def _geometry(a, shape):
    """Output (channels, height, width), grid radius and the patch-origin span."""
    k, md, s1, s2, pad = (
        a["kernel_size"],
        a["max_displacement"],
        a["stride1"],
        a["stride2"],
        a["pad_size"],
    )
    if len(shape) != 4:
        raise MXNetError(f"operator Correlation: data must be (N, C, H, W), got {tuple(shape)}")
    if k < 1 or k % 2 == 0 or min(s1, s2) < 1 or md < 0 or pad < 0:
        raise MXNetError(
            f"operator Correlation: kernel_size must be odd and >= 1, strides >= 1, "
            f"max_displacement and pad_size >= 0; got kernel_size={k}, stride1={s1}, "
            f"stride2={s2}, max_displacement={md}, pad_size={pad}"
        )
    border = md + (k - 1) // 2
    hp, wp = shape[2] + 2 * pad, shape[3] + 2 * pad
    top_h = int(math.ceil((hp - 2 * border) / s1))
    top_w = int(math.ceil((wp - 2 * border) / s1))
    if top_h < 1 or top_w < 1:
        raise MXNetError(
            f"operator Correlation: the output would be empty: data {tuple(shape)} padded "
            f"by {pad} is too small for kernel_size={k} and max_displacement={md} "
            f"(each side loses {border})"
        )
    r = md // s2
    return (2 * r + 1) ** 2, top_h, top_w, r


def _displacements(a, r):
    """(output channel, dy, dx) for every displacement on the grid."""
    grid, s2 = 2 * r + 1, a["stride2"]
    for p in range(-r, r + 1):
        for o in range(-r, r + 1):
            yield (p + r) * grid + (o + r), p * s2, o * s2


@register
class Correlation(Op):
    """FlowNet's correlation of two (N, C, H, W) feature maps (see the module doc)."""

    name = "Correlation"
    inputs = ("data1", "data2")
    params = {
        "kernel_size": Attr(Int, 1),
        "max_displacement": Attr(Int, 1),
        "stride1": Attr(Int, 1),
        "stride2": Attr(Int, 1),
        "pad_size": Attr(Int, 0),
        "is_multiply": Attr(Bool, True),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        d = next((s for s in in_shapes if s is not None), None)
        if d is None:
            return in_shapes, [None], aux_shapes
        c, h, w, _ = _geometry(a, d)
        return [tuple(d), tuple(d)], [(d[0], c, h, w)], aux_shapes

    def _windows(self, a, x1, x2):
        """Padded inputs and, per displacement, the regions compared."""
        xp = xp_of(x1)
        if tuple(x1.shape) != tuple(x2.shape):
            raise MXNetError(
                f"operator Correlation: data1 {tuple(x1.shape)} and data2 "
                f"{tuple(x2.shape)} must have the same shape"
            )
        channels, top_h, top_w, r = _geometry(a, x1.shape)
        pad, md, s1, k = a["pad_size"], a["max_displacement"], a["stride1"], a["kernel_size"]
        widths = ((0, 0), (0, 0), (pad, pad), (pad, pad))
        p1, p2 = xp.pad(x1, widths), xp.pad(x2, widths)
        lh, lw = (top_h - 1) * s1 + k, (top_w - 1) * s1 + k
        reg1 = (slice(None), slice(None), slice(md, md + lh), slice(md, md + lw))
        regions = [
            (
                ch,
                (
                    slice(None),
                    slice(None),
                    slice(md + dy, md + dy + lh),
                    slice(md + dx, md + dx + lw),
                ),
            )
            for ch, dy, dx in _displacements(a, r)
        ]
        return xp, p1, p2, reg1, regions, (channels, top_h, top_w)

    def _taps(self, a, top_h, top_w):
        """Per kernel offset, the strided slice of the compared region it reads."""
        s1, k = a["stride1"], a["kernel_size"]
        for h in range(k):
            for w in range(k):
                yield (
                    slice(None),
                    slice(h, h + (top_h - 1) * s1 + 1, s1),
                    slice(w, w + (top_w - 1) * s1 + 1, s1),
                )

    def forward(self, a, ins, aux, is_train):
        x1, x2 = ins
        xp, p1, p2, reg1, regions, (c, th, tw) = self._windows(a, x1, x2)
        out = xp.zeros((x1.shape[0], c, th, tw), x1.dtype)
        norm = x1.dtype.type(a["kernel_size"] ** 2 * x1.shape[1])
        a1 = p1[reg1]
        for ch, reg2 in regions:
            diff = a1 * p2[reg2] if a["is_multiply"] else xp.abs(a1 - p2[reg2])
            m = diff.sum(axis=1)
            for tap in self._taps(a, th, tw):
                out[:, ch] += m[tap]
        return (out / norm,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x1, x2 = ins
        xp, p1, p2, reg1, regions, (c, th, tw) = self._windows(a, x1, x2)
        g = ograds[0] / x1.dtype.type(a["kernel_size"] ** 2 * x1.shape[1])
        d1, d2 = xp.zeros_like(p1), xp.zeros_like(p2)
        a1 = p1[reg1]
        for ch, reg2 in regions:
            gm = xp.zeros(a1.shape[:1] + a1.shape[2:], g.dtype)
            for tap in self._taps(a, th, tw):
                gm[tap] += g[:, ch]
            gm = gm[:, None]
            if a["is_multiply"]:
                d1[reg1] += gm * p2[reg2]
                d2[reg2] += gm * a1
            else:
                # MXNet's convention: a tie counts as data1 > data2
                sgn = xp.where(a1 >= p2[reg2], gm, -gm)
                d1[reg1] += sgn
                d2[reg2] -= sgn
        pad = a["pad_size"]
        crop = (Ellipsis, slice(pad, pad + x1.shape[2]), slice(pad, pad + x1.shape[3]))
        return d1[crop], d2[crop]
