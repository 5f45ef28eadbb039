"""Pooling (max, avg, sum, lp; 1-, 2- and 3-D; global; valid/full/same conventions).

Windows are strided slices of a padded canvas, one per kernel offset, so the work is a few
whole-array operations per offset and never a loop over pixels. Registered from ``conv``.
"""

import itertools
import math

import numpy as np

from ..base import MXNetError
from .attrs import Attr, Bool, Shape, OptInt, enum, _optional
from .registry import Op, register
from ._util import xp_of

_LAYOUT = _optional(enum("NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC"))


class _PoolPlan:
    """Geometry of one pooling: canvas size, windows per kernel offset, divisors."""

    def __init__(self, a, shape):
        d = len(shape) - 2
        spatial = tuple(shape[2:])
        if d not in (1, 2, 3):
            raise MXNetError(
                f"operator Pooling: data must be 3-, 4- or 5-D, got shape {tuple(shape)}"
            )
        if a["global_pool"]:
            kernel, stride, pad, out = spatial, (1,) * d, (0,) * d, (1,) * d
        else:
            kernel, stride, pad = self._attrs(a, d, shape)
            out = tuple(
                self._out(a["pooling_convention"], n, k, s, p)
                for n, k, s, p in zip(spatial, kernel, stride, pad)
            )
            if min(out) < 1:
                raise MXNetError(
                    f"operator Pooling: kernel {kernel} is larger than the "
                    f"padded data of shape {tuple(shape)} (pad {pad})"
                )
        self.spatial, self.kernel, self.stride, self.pad, self.out = (
            spatial,
            kernel,
            stride,
            pad,
            out,
        )
        self.canvas = tuple(
            max(n + 2 * p, (o - 1) * s + k)
            for n, p, o, s, k in zip(spatial, pad, out, stride, kernel)
        )
        self.interior = tuple(slice(p, p + n) for n, p in zip(spatial, pad))
        self.windows = [
            tuple(slice(k, k + (o - 1) * s + 1, s) for k, o, s in zip(ks, out, stride))
            for ks in itertools.product(*(range(k) for k in kernel))
        ]
        self.is_global = all(k == n for k, n in zip(kernel, spatial)) and not any(pad)
        self._divisors = {}

    @staticmethod
    def _attrs(a, d, shape):
        kernel = a["kernel"]
        if len(kernel) != d:
            raise MXNetError(
                f"operator Pooling: kernel {kernel} must have {d} entries for "
                f"data of shape {tuple(shape)}"
            )
        stride = a["stride"] or (1,) * d
        pad = a["pad"] or (0,) * d
        if len(stride) < d or len(pad) < d:
            raise MXNetError(
                f"operator Pooling: stride {stride} and pad {pad} must have {d} "
                f"entries like kernel {kernel}"
            )
        if a["pooling_convention"] == "same" and any(pad):
            raise MXNetError(
                f"operator Pooling: pooling_convention='same' pads by itself, so pad must "
                f"be 0, got pad={pad}"
            )
        # MXNet reads the first entries of a longer stride/pad (pad=(0, 0, 0) for 1-D)
        stride, pad = stride[:d], pad[:d]
        if min(kernel) < 1 or min(stride) < 1 or min(pad) < 0:
            raise MXNetError(
                f"operator Pooling: kernel and stride must be >= 1, pad >= 0; "
                f"got kernel={kernel}, stride={stride}, pad={pad}"
            )
        return tuple(kernel), tuple(stride), tuple(pad)

    @staticmethod
    def _out(convention, n, k, s, p):
        if convention == "valid":
            return (n + 2 * p - k) // s + 1
        if convention == "full":
            return int(math.ceil((n + 2 * p - k) / s)) + 1
        return int(math.ceil(n / s))  # 'same'

    def divisor(self, xp, include_pad, dtype):
        """Per-window element counts for avg pooling, as MXNet counts them: with
        ``count_include_pad`` the padding counts but not the part beyond it."""
        # per device: a cupy array is usable only on the GPU it was made on
        key = (
            xp.__name__,
            include_pad,
            np.dtype(dtype).str,
            -1 if xp is np else xp.cuda.Device().id,
        )
        if key not in self._divisors:
            div = np.ones((1,), np.float64)
            for n, k, s, p, o in zip(self.spatial, self.kernel, self.stride, self.pad, self.out):
                start = np.arange(o) * s - p
                end = np.minimum(start + k, n + p)
                if not include_pad:
                    start, end = np.maximum(start, 0), np.minimum(end, n)
                div = np.multiply.outer(div, np.maximum(end - start, 1))
            self._divisors[key] = xp.asarray(div.reshape((1, 1) + self.out).astype(dtype))
        return self._divisors[key]


_PLANS = {}


def _plan(a, shape):
    key = (
        tuple(shape),
        a["kernel"],
        a["stride"],
        a["pad"],
        a["global_pool"],
        a["pooling_convention"],
    )
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 256:
            _PLANS.clear()
        plan = _PLANS[key] = _PoolPlan(a, shape)
    return plan


def _lp_power(x, p):
    return x if p == 1 else x * x if p == 2 else x * x * x if p == 3 else x**p


def _lp_root(xp, s, p):
    return s if p == 1 else xp.sqrt(s) if p == 2 else xp.cbrt(s) if p == 3 else s ** (1.0 / p)


@register
class Pooling(Op):
    """Max/avg/sum/lp pooling over 1-3 spatial axes.

    ``pooling_convention='full'`` rounds the output size up, ``'same'`` gives
    ``ceil(size/stride)``; MXNet 1.9.1 fails on 'same' for every input, distnet computes it.
    Max pooling routes the gradient to the first maximum of each window, as MXNet.
    """

    name = "Pooling"
    params = {
        "kernel": Attr(Shape, ()),
        "pool_type": Attr(enum("max", "avg", "sum", "lp"), "max"),
        "global_pool": Attr(Bool, False),
        "cudnn_off": Attr(Bool, False),
        "pooling_convention": Attr(enum("valid", "full", "same"), "valid"),
        "stride": Attr(Shape, ()),
        "pad": Attr(Shape, ()),
        "p_value": Attr(OptInt, None),
        "count_include_pad": Attr(_optional(Bool), None),
        "layout": Attr(_LAYOUT, None),
    }

    def infer_shape(self, a, in_shapes, aux_shapes):
        shape = in_shapes[0]
        if shape is None:
            return in_shapes, [None], aux_shapes
        last = a["layout"] is not None and a["layout"].endswith("C")
        if last:
            shape = (shape[0], shape[-1]) + tuple(shape[1:-1])
        plan = _plan(a, shape)
        out = (shape[0], shape[1]) + plan.out
        if last:
            out = (out[0],) + out[2:] + (out[1],)
        return in_shapes, [out], aux_shapes

    def forward(self, a, ins, aux, is_train):
        x = ins[0]
        xp = xp_of(x)
        last = a["layout"] is not None and a["layout"].endswith("C")
        if last:
            x = xp.moveaxis(x, -1, 1)
        plan = _plan(a, x.shape)
        kind = a["pool_type"]
        if plan.is_global and plan.out == (1,) * len(plan.out):
            y, saved = self._global(xp, a, x, kind)
        elif kind == "max":
            y, saved = self._max(xp, plan, x)
        else:
            canvas = self._canvas(xp, plan, x, 0)
            src = _lp_power(canvas, self._p(a)) if kind == "lp" else canvas
            y = src[(slice(None), slice(None)) + plan.windows[0]].copy()
            for win in plan.windows[1:]:
                y += src[(slice(None), slice(None)) + win]
            if kind == "avg":
                y /= plan.divisor(xp, a["count_include_pad"] is not False, y.dtype)
            elif kind == "lp":
                y = _lp_root(xp, y, self._p(a))
            saved = canvas if kind == "lp" else None
        if last:
            y = xp.ascontiguousarray(xp.moveaxis(y, 1, -1))
        return (y,), (plan, last, saved)

    @staticmethod
    def _p(a):
        return 2 if a["p_value"] is None else a["p_value"]

    @staticmethod
    def _canvas(xp, plan, x, fill):
        if plan.canvas == plan.spatial:
            return x
        canvas = xp.full(x.shape[:2] + plan.canvas, fill, x.dtype)
        canvas[(slice(None), slice(None)) + plan.interior] = x
        return canvas

    def _global(self, xp, a, x, kind):
        axes = tuple(range(2, x.ndim))
        flat = x.reshape(x.shape[:2] + (-1,))
        if kind == "max":
            idx = flat.argmax(axis=-1)
            return xp.take_along_axis(flat, idx[..., None], -1).reshape(
                x.shape[:2] + (1,) * len(axes)
            ), idx
        if kind == "lp":
            p = self._p(a)
            return _lp_root(xp, _lp_power(x, p).sum(axis=axes, keepdims=True), p), x
        y = x.sum(axis=axes, keepdims=True)
        return (y / flat.shape[-1] if kind == "avg" else y), None

    def _max(self, xp, plan, x):
        # the lowest finite value, as MXNet: windows wholly in the padding of a 'full'
        # pooling give it instead of -inf
        fill = np.finfo(x.dtype).min if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        canvas = self._canvas(xp, plan, x, fill)
        lead = (slice(None), slice(None))
        y = canvas[lead + plan.windows[0]].copy()
        for win in plan.windows[1:]:
            xp.maximum(y, canvas[lead + win], out=y)
        # the canvas is kept, not an argmax: recovering the first maximum in backward is
        # several times cheaper than tracking it here (masked copies are slow in numpy)
        return y, canvas

    def backward(self, F, a, ins, outs, saved, ograds):
        plan, last, state = saved
        x, g = ins[0], ograds[0]
        xp = xp_of(x)
        if last:
            x, g, y = xp.moveaxis(x, -1, 1), xp.moveaxis(g, -1, 1), xp.moveaxis(outs[0], -1, 1)
        else:
            y = outs[0]
        kind = a["pool_type"]
        if plan.is_global and plan.out == (1,) * len(plan.out):
            dx = self._global_grad(xp, a, x, g, y, kind, state)
        else:
            dx = self._window_grad(xp, a, plan, x, g, y, kind, state)
        if last:
            dx = xp.ascontiguousarray(xp.moveaxis(dx, 1, -1))
        return (dx,)

    def _global_grad(self, xp, a, x, g, y, kind, aux):
        if kind == "max":
            rows = aux.size
            dx = xp.zeros((rows, x.size // rows), g.dtype)
            dx[xp.arange(rows), aux.reshape(-1)] = g.reshape(-1)
            return dx.reshape(x.shape)
        if kind == "lp":
            p = self._p(a)
            return _lp_power(x, p - 1) * (g * y ** (1 - p))
        n = int(np.prod(x.shape[2:]))
        scale = g / n if kind == "avg" else g
        return xp.broadcast_to(scale, x.shape).astype(g.dtype, copy=True)

    def _window_grad(self, xp, a, plan, x, g, y, kind, aux):
        lead = (slice(None), slice(None))
        # disjoint windows (stride >= kernel) are written, overlapping ones accumulated
        disjoint = all(s >= k for s, k in zip(plan.stride, plan.kernel))
        # windows that tile the canvas exactly write every element: no zero fill needed
        tiled = disjoint and all(
            s == k and o * s == c
            for s, k, o, c in zip(plan.stride, plan.kernel, plan.out, plan.canvas)
        )
        dcanvas = (xp.empty if tiled else xp.zeros)(x.shape[:2] + plan.canvas, g.dtype)
        if kind == "max":
            self._route_max(xp, plan, dcanvas, aux, y, g, disjoint)
        else:
            if kind == "avg":
                g = g / plan.divisor(xp, a["count_include_pad"] is not False, g.dtype)
            elif kind == "lp":
                p = self._p(a)
                g = g * y ** (1 - p)
            for win in plan.windows:
                part = g * _lp_power(aux[lead + win], self._p(a) - 1) if kind == "lp" else g
                if disjoint:
                    dcanvas[lead + win] = part
                else:
                    dcanvas[lead + win] += part
        if plan.canvas == plan.spatial:
            return dcanvas
        return xp.ascontiguousarray(dcanvas[lead + plan.interior])

    @staticmethod
    def _route_max(xp, plan, dcanvas, canvas, y, g, disjoint):
        """Send each window's gradient to its first maximum (MXNet's choice on ties)."""
        lead = (slice(None), slice(None))
        todo = None  # windows whose maximum is not found yet
        hit = xp.empty(y.shape, bool)
        last = len(plan.windows) - 1
        for k, win in enumerate(plan.windows):
            xp.equal(canvas[lead + win], y, out=hit)
            if todo is None:
                todo = ~hit
            else:
                hit &= todo
                if k < last:
                    todo ^= hit
            if disjoint:
                xp.multiply(g, hit, out=dcanvas[lead + win])
            else:
                dcanvas[lead + win] += g * hit
