"""Quantization to 8-bit integers: ``contrib.quantize``, ``contrib.quantize_v2`` and
``contrib.dequantize``, with the formulas MXNet 1.9.1 documents (its reference kernels):

* int8 keeps zero at zero: ``scale = 127 / max(|min_range|, |max_range|)``,
  ``q = sign(x) * min(floor(|x| * scale + 0.5), 127)``; the output range is
  ``(-r, r)`` with ``r = max(|min_range|, |max_range|)``.
* uint8 maps the range onto 0..255: ``q = floor((x - min_range) * 255 / (max_range -
  min_range) + 0.5)`` clipped to 0..255; the output range is ``(min_range, max_range)``.

MXNet's MKLDNN CPU build differs for out-of-range int8 values (it saturates at -128)
and maps uint8 from 0 rather than from ``min_range``; distnet follows the documented
formulas, which ``dequantize`` inverts. None of these operators has a gradient.
"""

import numpy as np

from ..base import MXNetError
from .attrs import Attr, OptFloat, enum
from .registry import Op, register
from ._util import xp_of

_F32 = np.dtype(np.float32)


def _scalar(arr, name, op):
    if arr.size != 1:
        raise MXNetError(f"operator {op}: {name} must hold one value, got shape {tuple(arr.shape)}")
    return float(arr.reshape(-1)[0])


def _quantize(xp, x, lo, hi, out_type):
    """(q, out_min, out_max) for ``x`` in [lo, hi] by the documented formulas."""
    x = x.astype(np.float32, copy=False)
    if out_type == "int8":
        r = max(abs(lo), abs(hi))
        scale = np.float32(127.0 / r) if r > 0 else np.float32(0.0)
        q = xp.sign(x) * xp.minimum(xp.floor(xp.abs(x) * scale + np.float32(0.5)), 127)
        return q.astype(np.int8), -r, r
    span = hi - lo
    scale = np.float32(255.0 / span) if span > 0 else np.float32(0.0)
    q = xp.clip(xp.floor((x - np.float32(lo)) * scale + np.float32(0.5)), 0, 255)
    return q.astype(np.uint8), lo, hi


def _range_out(xp, v):
    return xp.full((1,), v, np.float32)


class _NoGrad(Op):
    def backward(self, F, a, ins, outs, saved, ograds):
        return (None,) * len(ins)


@register
class _contrib_quantize(_NoGrad):
    """Quantize float ``data`` given its range ``min_range``/``max_range`` (one-element
    arrays) to ``out_type``; outputs the quantized data and its float32 range."""

    name = "_contrib_quantize"
    inputs = ("data", "min_range", "max_range")
    params = {"out_type": Attr(enum("int8", "uint8"), "uint8")}

    def output_names(self, a):
        return ("output", "min_output", "max_output")

    def infer_shape(self, a, in_shapes, aux_shapes):
        return [in_shapes[0], (1,), (1,)], [in_shapes[0], (1,), (1,)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return [in_types[0] or _F32, _F32, _F32], [np.dtype(a["out_type"]), _F32, _F32], aux_types

    def forward(self, a, ins, aux, is_train):
        x, lo, hi = ins
        xp = xp_of(x)
        lo, hi = _scalar(lo, "min_range", self.name), _scalar(hi, "max_range", self.name)
        q, qlo, qhi = _quantize(xp, x, lo, hi, a["out_type"])
        return (q, _range_out(xp, qlo), _range_out(xp, qhi)), None


@register
class _contrib_quantize_v2(_NoGrad):
    """Quantize float ``data`` over its own min/max, or over ``min_calib_range`` /
    ``max_calib_range`` when given; ``out_type='auto'`` picks uint8 for a range that
    starts at >= 0, else int8."""

    name = "_contrib_quantize_v2"
    params = {
        "out_type": Attr(enum("auto", "int8", "uint8"), "int8"),
        "min_calib_range": Attr(OptFloat, None),
        "max_calib_range": Attr(OptFloat, None),
    }

    def output_names(self, a):
        return ("output", "min_output", "max_output")

    def infer_shape(self, a, in_shapes, aux_shapes):
        return in_shapes, [in_shapes[0], (1,), (1,)], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        out = a["out_type"]
        if out == "auto":
            calib = a["min_calib_range"]
            out = "uint8" if calib is not None and calib >= 0 else "int8"
        return in_types, [np.dtype(out), _F32, _F32], aux_types

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        if x.dtype.kind != "f" or x.size == 0:
            raise MXNetError(
                f"operator quantize_v2: data must be a non-empty float array, got {x.dtype} "
                f"{tuple(x.shape)}"
            )
        if a["min_calib_range"] is not None and a["max_calib_range"] is not None:
            lo, hi = a["min_calib_range"], a["max_calib_range"]
        else:
            lo, hi = float(x.min()), float(x.max())
        out = a["out_type"]
        if out == "auto":
            out = "uint8" if lo >= 0 else "int8"
        q, qlo, qhi = _quantize(xp, x, lo, hi, out)
        return (q, _range_out(xp, qlo), _range_out(xp, qhi)), None


@register
class _contrib_dequantize(_NoGrad):
    """Float values of int8/uint8 ``data`` quantized over ``min_range``/``max_range``
    (the inverse of ``quantize``'s formulas)."""

    name = "_contrib_dequantize"
    inputs = ("data", "min_range", "max_range")
    params = {"out_type": Attr(enum("float32"), "float32")}

    def infer_shape(self, a, in_shapes, aux_shapes):
        return [in_shapes[0], (1,), (1,)], [in_shapes[0]], aux_shapes

    def infer_type(self, a, in_types, aux_types):
        return in_types, [_F32], aux_types

    def forward(self, a, ins, aux, is_train):
        q, lo, hi = ins
        lo, hi = _scalar(lo, "min_range", self.name), _scalar(hi, "max_range", self.name)
        qf = q.astype(np.float32)
        if q.dtype == np.int8:
            return (qf * np.float32(max(abs(lo), abs(hi)) / 127.0),), None
        if q.dtype == np.uint8:
            return (qf * np.float32((hi - lo) / 255.0) + np.float32(lo),), None
        raise MXNetError(f"operator dequantize: data must be int8 or uint8, got {q.dtype}")
