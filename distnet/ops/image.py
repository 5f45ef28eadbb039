"""MXNet's image operators (``nd.image.*`` / ``sym.image.*``, registered as ``_image_*``):
``to_tensor``, ``normalize``, ``flip_left_right``, ``flip_top_bottom``, their random
variants, ``crop`` and ``resize``.

Images are (H, W, C) or (N, H, W, C) before ``to_tensor`` and (C, H, W) or (N, C, H, W)
after it, as in MXNet.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, FloatTuple, Int, Bool, Shape
from .registry import Op, register
from ._util import xp_of
from .. import random as _random


def _check_ndim(name, x, layout):
    if x.ndim not in (3, 4):
        raise MXNetError(
            f"operator image.{name}: data must be {layout} or N{layout}, got shape {tuple(x.shape)}"
        )


@register
class _image_to_tensor(Op):
    """(H, W, C) or (N, H, W, C) images in [0, 255] -> float32 (C, H, W) or
    (N, C, H, W) tensors in [0, 1]."""

    name = "_image_to_tensor"

    def infer_type(self, a, in_types, aux_types):
        return in_types, [np.dtype(np.float32)], aux_types

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        _check_ndim("to_tensor", x, "(H, W, C)")
        axes = (2, 0, 1) if x.ndim == 3 else (0, 3, 1, 2)
        xp = xp_of(x)
        out = xp.ascontiguousarray(x.transpose(axes)).astype(np.float32) / np.float32(255.0)
        return (out,), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)  # MXNet gives to_tensor no gradient either


@register
class _image_normalize(Op):
    """``(data - mean) / std`` per channel of (C, H, W) or (N, C, H, W) tensors; ``mean``
    and ``std`` hold one value for every channel or one per channel (up to 4)."""

    name = "_image_normalize"
    params = {
        "mean": Attr(FloatTuple, (0.0, 0.0, 0.0, 0.0)),
        "std": Attr(FloatTuple, (1.0, 1.0, 1.0, 1.0)),
    }

    @staticmethod
    def _per_channel(a, x):
        c = x.shape[-3]
        out = []
        for key in ("mean", "std"):
            vals = a[key]
            if len(vals) == 1:
                vals = vals * c
            elif len(vals) < c:
                raise MXNetError(
                    f"operator image.normalize: {key} has {len(vals)} values but the "
                    f"data has {c} channels (axis -3); give one value or {c}"
                )
            out.append(np.asarray(vals[:c], dtype=x.dtype).reshape(c, 1, 1))
        if (out[1] == 0).any():
            raise MXNetError("operator image.normalize: std must not contain 0")
        return out

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        _check_ndim("normalize", x, "(C, H, W)")
        if x.dtype.kind != "f":
            raise MXNetError(
                f"operator image.normalize: data must be a float tensor (apply "
                f"to_tensor first), got {x.dtype}"
            )
        xp = xp_of(x)
        mean, std = self._per_channel(a, x)
        return ((x - xp.asarray(mean)) / xp.asarray(std),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        _, std = self._per_channel(a, ins[0])
        return (ograds[0] / xp_of(ograds[0]).asarray(std),)


class _Flip(Op):
    """Flip (H, W, C) or (N, H, W, C) images along ``axis`` (counted from H)."""

    axis = None
    random = False

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        _check_ndim(self.name[len("_image_") :], x, "(H, W, C)")
        xp = xp_of(x)
        flip = True
        if self.random:
            flip = bool(_random.generator(np).random() < 0.5)
        axis = self.axis + x.ndim - 3
        out = xp.ascontiguousarray(xp.flip(x, axis)) if flip else x.copy()
        return (out,), flip

    def backward(self, F, a, ins, outs, saved, ograds):
        g = ograds[0]
        xp = xp_of(g)
        return (xp.ascontiguousarray(xp.flip(g, self.axis + g.ndim - 3)) if saved else g,)


def _flip(name, axis, random, doc):
    attrs = {"name": name, "axis": axis, "random": random, "__doc__": doc}
    register(type(name, (_Flip,), attrs))


_flip("_image_flip_left_right", 1, False, "Flip (H, W, C) images left to right.")
_flip("_image_flip_top_bottom", 0, False, "Flip (H, W, C) images top to bottom.")
_flip(
    "_image_random_flip_left_right",
    1,
    True,
    "Flip (H, W, C) images (a whole batch at once) left to right with probability 0.5.",
)
_flip(
    "_image_random_flip_top_bottom",
    0,
    True,
    "Flip (H, W, C) images (a whole batch at once) top to bottom with probability 0.5.",
)


@register
class _image_crop(Op):
    """The ``width`` x ``height`` region at column ``x``, row ``y`` of (H, W, C) or
    (N, H, W, C) images; the gradient goes back to that region."""

    name = "_image_crop"
    params = {"x": Attr(Int), "y": Attr(Int), "width": Attr(Int), "height": Attr(Int)}

    def _region(self, a, x):
        _check_ndim("crop", x, "(H, W, C)")
        rows, cols = x.shape[-3], x.shape[-2]
        x0, y0, w, h = a["x"], a["y"], a["width"], a["height"]
        if w <= 0 or h <= 0 or x0 < 0 or y0 < 0 or x0 + w > cols or y0 + h > rows:
            raise MXNetError(
                f"operator image.crop: region x={x0}, y={y0}, width={w}, height={h} "
                f"must be non-empty and inside the {rows}x{cols} (HxW) image"
            )
        return (Ellipsis, slice(y0, y0 + h), slice(x0, x0 + w), slice(None))

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        return (x[self._region(a, x)].copy(),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        x = ins[0]
        dx = xp_of(x).zeros(x.shape, ograds[0].dtype)
        dx[self._region(a, x)] = ograds[0]
        return (dx,)


@register
class _image_resize(Op):
    """Resize (H, W, C) or (N, H, W, C) images to ``size`` ((width, height), or one int:
    a square, or the shorter side with ``keep_ratio``); ``interp`` 0 nearest, 1 bilinear
    (OpenCV's codes, as MXNet). No gradient, as in MXNet."""

    name = "_image_resize"
    params = {"size": Attr(Shape, ()), "keep_ratio": Attr(Bool, False), "interp": Attr(Int, 1)}

    def forward(self, a, ins, aux, is_train):
        from ..gluon.data.vision import _imgops

        x = ins[0]
        _check_ndim("resize", x, "(H, W, C)")
        size = a["size"]
        if len(size) not in (1, 2) or min(size) <= 0:
            raise MXNetError(
                f"operator image.resize: size must be one positive int or a positive "
                f"(width, height), got {size}"
            )
        height, width = _imgops.output_size(x.shape[-3], x.shape[-2], size, a["keep_ratio"])
        return (_imgops.resize(x, width, height, a["interp"]),), None

    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,)
